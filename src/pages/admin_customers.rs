//! A customer as the admin sees them: the account and its link to a Telinta customer
//! (`i_customer`).

use maud::html;

use super::{csrf_field, page};
use crate::clock::format_utc;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};
use crate::workflow::customers as workflow;

/// `GET /admin/customers/{id}`: the customer and their Telinta link.
pub fn show(ctx: &Ctx<'_>, id: &str) -> Reply {
    require_admin(ctx)?;
    customer_page(ctx, id, 200, None)
}

fn customer_page(ctx: &Ctx<'_>, id: &str, status: u16, error: Option<&str>) -> Reply {
    let Ok(id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let user = match ctx.read(|tx| crate::store::users::by_id(tx, id))? {
        Some(u) => u,
        None => return Err(Stop::NotFound),
    };
    let current = user
        .telinta_customer
        .map(|c| c.to_string())
        .unwrap_or_default();
    Ok(page(
        ctx,
        status,
        &user.email,
        html! {
            section.narrow id="customer" {
                h1 { (user.name) }
                p.muted { (user.email) " · " (user.role) " · since " (format_utc(user.created_at)) }
                form.stack id="telinta-link" method="post" action={ "/admin/customers/" (user.id) } {
                    (csrf_field(ctx))
                    div class=(if error.is_some() { "field has-error" } else { "field" }) {
                        label for="f-telinta_customer" { "Telinta customer (i_customer)" }
                        p.hint { "Leave empty to look the customer up by email at the next activation." }
                        input id="f-telinta_customer" name="telinta_customer" type="text" inputmode="numeric" value=(current)
                            autofocus[error.is_some()] aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "telinta_customer-error")];
                        @if let Some(e) = error { p.field-error id="telinta_customer-error" { (e) } }
                    }
                    button type="submit" { "Save" }
                }
            }
        },
    ))
}

pub fn link(ctx: &Ctx<'_>, id: &str) -> Reply {
    let admin = require_admin(ctx)?;
    let raw = ctx
        .form()
        .get("telinta_customer")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let value = if raw.is_empty() {
        None
    } else {
        match raw.parse::<i64>() {
            Ok(v) if v > 0 => Some(v),
            _ => {
                return customer_page(
                    ctx,
                    id,
                    400,
                    Some(
                        "Enter the customer's number at Telinta (a positive whole number), or leave it empty.",
                    ),
                );
            }
        }
    };
    let Ok(uid) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let found = workflow::link_telinta(&ctx.app.services, admin, uid, value, &ctx.client)
        .map_err(Stop::internal)?;
    if !found {
        return Err(Stop::NotFound);
    }
    Ok(ctx.redirect_with(
        &format!("/admin/customers/{uid}"),
        FlashKind::Notice,
        "Saved.",
    ))
}
