//! The customer's home.

use maud::html;

use super::page;
use crate::app::{Ctx, require_user};
use crate::http::Response;

pub fn home(ctx: &Ctx<'_>) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    page(
        ctx,
        200,
        "My numbers",
        html! {
            h1 { "My numbers" }
            p.muted { "Signed in as " (user.email) ". " a href="/orders" id="my-orders-link" { "Your orders" } }
            div.empty id="my-numbers-empty" {
                p { "You have no numbers yet." }
                p { a.button href="/numbers" { "Find a number" } }
            }
        },
    )
}
