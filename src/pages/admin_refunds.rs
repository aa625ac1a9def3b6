//! The admin's refund of an order: the confirmation page, then the refund at PayPal (or of a
//! payment recorded by hand).

use maud::html;

use super::orders::{admin_and_order, admin_refusal, money};
use super::{csrf_field, page};
use crate::domain::NumberStatus;
use crate::domain::phone::pretty;
use crate::http::Response;
use crate::web::{Ctx, FlashKind, Reply};
use crate::workflow::refunds;

/// `POST /orders/{id}/refund`: without `confirm=yes` it shows what the refund will do and
/// changes nothing; with it, the refund is made.
pub fn refund(ctx: &Ctx<'_>, id: &str) -> Reply {
    let (admin, id) = admin_and_order(ctx, id)?;
    let s = &ctx.app.services;
    let confirmed = ctx.form().get("confirm").map(String::as_str) == Some("yes");
    if !confirmed {
        return Ok(match refunds::preview(s, id) {
            Ok(p) => confirm_page(ctx, &p),
            Err(e) => admin_refusal(ctx, id, e, "This order cannot be refunded")?,
        });
    }
    Ok(match refunds::refund(s, admin, id, &ctx.client) {
        Ok(note) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Notice,
            &format!(
                "Refunded {}; credit note {} issued, the customer emailed, and the number is back on sale.",
                money(note.amount_cents, &note.currency),
                note.number
            ),
        ),
        Err(e) => admin_refusal(ctx, id, e, "This order cannot be refunded")?,
    })
}

fn confirm_page(ctx: &Ctx<'_>, p: &refunds::Preview) -> Response {
    let o = &p.order;
    let amount = money(o.amount_cents, &o.currency);
    page(
        ctx,
        200,
        &format!("Refund order {}?", o.id),
        html! {
            section.narrow id="refund-confirm" {
                p.muted { a href={ "/orders/" (o.id) } { "← Order " (o.id) } }
                h1 { "Refund order " (o.id) "?" }
                p { "This gives " strong id="refund-amount" { (amount) } " back to " strong { (p.customer.email) } "." }
                ul.plain-list id="refund-effects" {
                    @if p.through_paypal {
                        li { "PayPal refunds the payment in full first. If PayPal refuses, nothing here changes." }
                    } @else {
                        li { "The payment was recorded offline, so send the money back the same way; didport records the refund." }
                    }
                    li { "The order becomes " strong { "refunded" } " and a credit note with the next number is issued against its invoice." }
                    li { (pretty(&o.number)) " is " strong { "cancelled" } " for this customer for good and goes back on sale." }
                    li { "The customer and you get an email." }
                    @if p.number_status == Some(NumberStatus::Active) {
                        li id="refund-telinta" { strong { "The number is active at Telinta. " }
                            "didport does not undo that: in Telinta, block or delete the account 1" (o.number)
                            " and release the number from the customer in the DID inventory, or the next buyer's activation stops at \"assign the number\"." }
                    }
                }
                form.stack method="post" action={ "/orders/" (o.id) "/refund" } {
                    (csrf_field(ctx))
                    input type="hidden" name="confirm" value="yes";
                    div.actions {
                        button.danger type="submit" id="refund-confirm-button" { "Refund " (amount) }
                        " "
                        a.button.secondary href={ "/orders/" (o.id) } { "Keep the order" }
                    }
                }
            }
        },
    )
}
