//! The home page: what the shop sells and the number search form.

use maud::html;

use super::page;
use crate::web::{Ctx, Reply};

pub fn show(ctx: &Ctx<'_>) -> Reply {
    let site = &ctx.app.config().site_name;
    Ok(page(
        ctx,
        200,
        "Phone numbers",
        html! {
            section.hero {
                h1 { "Find your next phone number" }
                p.lead { "Local and toll-free numbers, ready to ring wherever you are. "
                    "Search by area code, state or a word you want people to remember." }
                (super::numbers::search_form(&std::collections::HashMap::new(), &[]))
            }
            section.features {
                div.feature { h2 { "Pay once, keep it monthly" } p { "A clear setup fee and a monthly price, shown before you buy." } }
                div.feature { h2 { "Held while you pay" } p { "The number you pick is reserved for you during checkout; nobody else can take it." } }
                div.feature { h2 { "Yours to manage" } p { "Set your PIN and call forwarding from " (site) " whenever you like." } }
            }
        },
    ))
}
