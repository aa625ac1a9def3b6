//! Renewals on the number's page: its renewal panel, and stopping or resuming renewals.
//! Paying a renewal invoice is `invoice`, the customer's invoices `my_invoices`, the admin's
//! billing page `admin_billing`.

use maud::{Markup, html};

use super::orders::{money, refused};
use super::{csrf_field, page};
use crate::domain::billing::format_day;
use crate::domain::phone::pretty;
use crate::domain::{InvoiceStatus, NumberStatus};
use crate::store::billing::{self};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_user};
use crate::workflow::billing::{self as cycle};

/// The renewal facts of one number and what its owner can do: pay an open invoice, stop
/// renewing, or keep the number after all.
pub fn panel(ctx: &Ctx<'_>, order_id: i64) -> Markup {
    let loaded = ctx.app.services.store.read(|tx| {
        let Some(n) = billing::renewable_by_order(tx, order_id)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        let open = billing::renewal_for(tx, order_id, n.paid_through)?
            .filter(|i| i.status == InvoiceStatus::Open);
        Ok(Some((n, open)))
    });
    let Ok(Some((n, open))) = loaded else {
        return html! {};
    };
    if n.status == NumberStatus::Cancelled {
        return html! {};
    }
    let next = crate::domain::billing::add_months_anchored(n.paid_through, 1, n.anchor_day);
    html! {
        section.panel id="renewal" data-cancel=(if n.cancel_at_period_end { "1" } else { "0" }) {
            h2 { "Renewal" }
            @if n.status == NumberStatus::Suspended {
                div.flash.flash-error id="suspended-help" role="status" {
                    (pretty(&n.number)) " is suspended because the renewal is unpaid. Paying the open invoice restores it; "
                    "for anything else, write to " (super::support_contact(ctx.app)) "."
                }
            }
            @if n.cancel_at_period_end {
                p id="renewal-state" { "Not renewing: " (pretty(&n.number)) " works until "
                    strong { (format_day(n.paid_through)) } ", then it is cancelled." }
                form method="post" action={ "/my/numbers/" (n.number) "/resume" } {
                    (csrf_field(ctx))
                    button type="submit" id="resume-renewal" { "Keep my number" }
                }
            } @else {
                p id="renewal-state" { "Paid through " strong id="paid-through" { (format_day(n.paid_through)) }
                    ". Next month (to " (format_day(next)) "): "
                    strong id="renewal-amount" { (money(n.monthly_cents, &n.currency)) } "." }
                @if let Some(inv) = &open {
                    div.notice id="renewal-open" {
                        p { "Invoice " (inv.number) " for the next month is open." }
                        p { a.button id="pay-renewal" href={ "/invoices/" (inv.id) } { "Pay now" } }
                    }
                }
                form method="post" action={ "/my/numbers/" (n.number) "/cancel" } {
                    (csrf_field(ctx))
                    button.secondary type="submit" id="stop-renewing" { "Stop renewing…" }
                }
            }
        }
    }
}

/// `POST /my/numbers/{number}/cancel`: without `confirm=yes` it explains and changes nothing.
pub fn stop(ctx: &Ctx<'_>, number: &str) -> Reply {
    let user = require_user(ctx)?;
    let s = &ctx.app.services;
    let owned = match ctx.read(|tx| crate::store::purchased::owned(tx, user.id, number))? {
        Some(o) => o,
        None => return Err(Stop::NotFound),
    };
    if ctx.form().get("confirm").map(String::as_str) != Some("yes") {
        let phone = pretty(&owned.p.number);
        return Ok(page(
            ctx,
            200,
            &format!("Stop renewing {phone}?"),
            html! {
                section.narrow id="stop-confirm" {
                    h1 { "Stop renewing " (phone) "?" }
                    p { (phone) " keeps working until " strong { (format_day(owned.p.paid_through)) }
                        ". Then it is cancelled: calls to it stop, and nothing more is charged." }
                    p { "You can change your mind until then." }
                    form.stack method="post" action={ "/my/numbers/" (owned.p.number) "/cancel" } {
                        (csrf_field(ctx))
                        input type="hidden" name="confirm" value="yes";
                        div.actions {
                            button.danger type="submit" id="stop-confirm-button" { "Stop renewing" }
                            " "
                            a.button.secondary href={ "/my/numbers/" (owned.p.number) } { "Keep my number" }
                        }
                    }
                }
            },
        ));
    }
    Ok(
        match cycle::set_renewing(s, user, number, true, &ctx.client) {
            Ok(Some(until)) => ctx.redirect_with(
                &format!("/my/numbers/{}", owned.p.number),
                FlashKind::Notice,
                &format!(
                    "{} will not renew; it works until {}.",
                    pretty(&owned.p.number),
                    format_day(until)
                ),
            ),
            Ok(None) => refused(
                ctx,
                "Renewal already stopped",
                "This number is already set to stop renewing.",
                &format!("/my/numbers/{}", owned.p.number),
                "Back to the number",
            ),
            Err(e) => return Err(Stop::internal(e)),
        },
    )
}

/// `POST /my/numbers/{number}/resume`: undo a scheduled cancellation.
pub fn resume(ctx: &Ctx<'_>, number: &str) -> Reply {
    let user = require_user(ctx)?;
    let s = &ctx.app.services;
    match ctx.read(|tx| crate::store::purchased::owned(tx, user.id, number))? {
        Some(_) => {}
        None => return Err(Stop::NotFound),
    }
    let back = format!("/my/numbers/{number}");
    Ok(
        match cycle::set_renewing(s, user, number, false, &ctx.client) {
            Ok(Some(_)) => ctx.redirect_with(
                &back,
                FlashKind::Notice,
                "Good to have you: the number renews as before.",
            ),
            Ok(None) => refused(
                ctx,
                "Nothing to undo",
                "This number was not set to stop renewing.",
                &back,
                "Back to the number",
            ),
            Err(e) => return Err(Stop::internal(e)),
        },
    )
}
