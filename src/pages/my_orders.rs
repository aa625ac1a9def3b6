//! `GET /orders`: the buyer's orders.

use maud::html;

use super::orders::money;
use super::{badges, page};
use crate::clock::format_utc;
use crate::domain::phone::pretty;
use crate::store::orders;
use crate::web::{Ctx, Reply, require_user};

/// `GET /orders`: the signed-in buyer's orders, newest first.
pub fn list(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let mine = ctx.read(|tx| orders::for_user(tx, user.id))?;
    Ok(page(
        ctx,
        200,
        "My orders",
        html! {
            h1 { "My orders" }
            @if mine.is_empty() {
                div.empty id="no-orders" { p { "No orders yet." } p { a.button href="/numbers" { "Find a number" } } }
            } @else {
                div.table-wrap {
                    table.data.stacked id="orders" {
                        thead { tr { th { "Order" } th { "Number" } th { "Plan" } th.num { "Total" } th { "Payment" } th { "Date" } } }
                        tbody {
                            @for o in &mine {
                                tr id={ "order-" (o.id) } data-status=(o.payment_status.as_str()) {
                                    td.title-cell { a href={ "/orders/" (o.id) } { "Order " (o.id) } }
                                    td.tel data-label="Number" { (pretty(&o.number)) }
                                    td data-label="Plan" { (o.plan_name) }
                                    td.num data-label="Total" { span.price { (money(o.amount_cents, &o.currency)) } }
                                    td data-label="Payment" { (badges::payment(o.payment_status)) }
                                    td data-label="Date" { (format_utc(o.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}
