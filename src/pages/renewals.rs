//! Renewals as the customer and the admin see them: the renewal panel of a number, stopping
//! and resuming renewals, paying a renewal invoice, the customer's invoices, and the admin's
//! billing page with revenue by month.

use maud::{Markup, html};

use super::orders::{money, refused};
use super::{csrf_field, page};
use crate::app::{Ctx, FlashKind, require_admin, require_user};
use crate::clock::format_utc;
use crate::domain::billing::{DAY, day_of, format_day};
use crate::domain::phone::pretty;
use crate::domain::{InvoiceStatus, NumberStatus, Role};
use crate::http::Response;
use crate::store::billing::{self, Renewable};
use crate::workflow::billing::{self as cycle, InvoiceReturn, PayError, RenewalOutcome};

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

fn owner_number<'c>(ctx: &'c Ctx<'_>) -> Result<&'c crate::store::users::User, Response> {
    require_user(ctx)
}

/// `POST /my/numbers/{number}/cancel`: without `confirm=yes` it explains and changes nothing.
pub fn stop(ctx: &Ctx<'_>, number: &str) -> Response {
    let user = match owner_number(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let s = &ctx.app.services;
    let owned = match s
        .store
        .read(|tx| crate::store::purchased::owned(tx, user.id, number))
    {
        Ok(Some(o)) => o,
        Ok(None) => return super::errors::not_found(ctx),
        Err(e) => return super::errors::internal(ctx, &e),
    };
    if ctx.req.form().get("confirm").map(String::as_str) != Some("yes") {
        let phone = pretty(&owned.p.number);
        return page(
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
        );
    }
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
        Err(e) => super::errors::internal(ctx, &e),
    }
}

/// `POST /my/numbers/{number}/resume`: undo a scheduled cancellation.
pub fn resume(ctx: &Ctx<'_>, number: &str) -> Response {
    let user = match owner_number(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let s = &ctx.app.services;
    match s
        .store
        .read(|tx| crate::store::purchased::owned(tx, user.id, number))
    {
        Ok(Some(_)) => {}
        Ok(None) => return super::errors::not_found(ctx),
        Err(e) => return super::errors::internal(ctx, &e),
    }
    let back = format!("/my/numbers/{number}");
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
        Err(e) => super::errors::internal(ctx, &e),
    }
}

fn invoice_id(ctx: &Ctx<'_>, id: &str) -> Result<i64, Response> {
    id.parse::<i64>().map_err(|_| super::errors::not_found(ctx))
}

/// `POST /invoices/{id}/pay`: to PayPal for an open renewal invoice.
pub fn pay_invoice(ctx: &Ctx<'_>, id: &str) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = match invoice_id(ctx, id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let back = format!("/invoices/{id}");
    match cycle::begin_invoice_payment(&ctx.app.services, user.id, id) {
        Ok(url) => Response::see_other(&url),
        Err(PayError::NotFound) => super::errors::not_found(ctx),
        Err(PayError::Refused(m)) => refused(
            ctx,
            "This invoice cannot be paid",
            &m,
            &back,
            "Back to the invoice",
        ),
        Err(PayError::Gateway(m)) => {
            log::warn!("invoice {id}: PayPal could not start the payment: {m}");
            ctx.redirect_with(
                &back,
                FlashKind::Error,
                "PayPal did not answer. Nothing was charged; please try again in a moment.",
            )
        }
        Err(PayError::Internal(e)) => super::errors::internal(ctx, &e),
    }
}

/// The buyer's return from PayPal for a renewal invoice; `None` when `token` is not one.
pub fn paypal_return(ctx: &Ctx<'_>, user_id: i64, token: &str) -> Option<Response> {
    match cycle::invoice_return(&ctx.app.services, user_id, token) {
        Ok(None) => None,
        Ok(Some(InvoiceReturn::Paid(id))) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Notice,
            "Thank you! The renewal is paid.",
        )),
        Ok(Some(InvoiceReturn::Pending(id))) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Notice,
            "PayPal is still confirming your payment; we will email you when it is through.",
        )),
        Ok(Some(InvoiceReturn::BackToPayPal(url))) => Some(Response::see_other(&url)),
        Ok(Some(InvoiceReturn::NotPaid(id))) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Error,
            "The payment did not go through. Nothing was charged.",
        )),
        Err(e) => Some(super::errors::internal(ctx, &e)),
    }
}

/// `POST /invoices/{id}/record-payment`: the admin records an offline payment of a renewal.
pub fn record_invoice_payment(ctx: &Ctx<'_>, id: &str) -> Response {
    let admin = match require_admin(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let id = match invoice_id(ctx, id) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let back = format!("/invoices/{id}");
    match cycle::record_payment(&ctx.app.services, id, None, &admin.email) {
        Ok(RenewalOutcome::Paid { paid_through }) => ctx.redirect_with(
            &back,
            FlashKind::Notice,
            &format!(
                "Payment recorded; paid through {}.",
                format_day(paid_through)
            ),
        ),
        Ok(RenewalOutcome::NotOpen) => refused(
            ctx,
            "No payment can be recorded",
            "This invoice is not an open renewal: it is paid or void already.",
            &back,
            "Back to the invoice",
        ),
        Err(e) => super::errors::internal(ctx, &e),
    }
}

/// What an invoice page adds for a renewal: its state and, while open, the way to pay.
pub fn invoice_actions(ctx: &Ctx<'_>, inv: &crate::store::orders::Invoice) -> Markup {
    let is_admin = ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin);
    let is_owner = ctx.user.as_ref().is_some_and(|u| u.id == inv.user_id);
    html! {
        @if inv.status == InvoiceStatus::Open {
            div.notice id="invoice-open" {
                p { "Due " strong { (format_day(inv.period_start)) } ". Unpaid." }
                @if is_owner {
                    form method="post" action={ "/invoices/" (inv.id) "/pay" } {
                        (csrf_field(ctx))
                        button type="submit" id="pay-invoice" { "Pay " (money(inv.total_cents, &inv.currency)) " with PayPal" }
                    }
                }
                @if is_admin {
                    form method="post" action={ "/invoices/" (inv.id) "/record-payment" } {
                        (csrf_field(ctx))
                        p.hint { "For a payment received outside PayPal." }
                        button.secondary type="submit" id="record-invoice-payment" { "Record payment received" }
                    }
                }
            }
        } @else if inv.status == InvoiceStatus::Void {
            p.notice id="invoice-void" { "Void: the number was cancelled before this month began. Nothing is owed." }
        }
    }
}

/// `GET /my/invoices`: every invoice and credit note of the customer.
pub fn my_invoices(ctx: &Ctx<'_>) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let rows = match ctx
        .app
        .services
        .store
        .read(|tx| billing::statements(tx, user.id))
    {
        Ok(r) => r,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    page(
        ctx,
        200,
        "My invoices",
        html! {
            h1 { "My invoices" }
            p.muted { a href="/my" { "← My numbers" } }
            @if rows.is_empty() {
                p.empty id="no-invoices" { "No invoices yet." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="invoices" {
                        thead { tr { th { "Document" } th { "Number" } th { "Date" } th.num { "Amount" } th { "State" } } }
                        tbody {
                            @for r in &rows {
                                tr data-status=(r.status.map_or("credit", InvoiceStatus::as_str)) {
                                    td.title-cell {
                                        @if r.credit_note { "Credit note " (r.number) }
                                        @else { a href={ "/invoices/" (r.invoice_id) } { "Invoice " (r.number) } }
                                    }
                                    td.tel data-label="Number" { (pretty(&r.phone)) }
                                    td data-label="Date" { (format_utc(r.issued_at)) }
                                    td.num data-label="Amount" { span.price { (money(r.total_cents, &r.currency)) } }
                                    td data-label="State" {
                                        @match r.status {
                                            Some(InvoiceStatus::Open) => span.badge.badge-wait { "Open" },
                                            Some(InvoiceStatus::Paid) => span.badge.badge-ok { "Paid" },
                                            Some(InvoiceStatus::Void) => span.badge.badge-off { "Void" },
                                            None => span.badge.badge-info { "Credit" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// `GET /admin/billing`: renewals due soon, overdue and suspended numbers, failed suspensions,
/// and revenue by month.
pub fn admin_billing(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let today = day_of(ctx.app.now());
    let since = crate::domain::billing::add_months_anchored(today, -11, 1);
    let loaded = ctx.app.services.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            billing::admin_rows(tx, today + 14 * DAY)?,
            billing::revenue_by_month(tx, since)?,
        ))
    });
    let (rows, revenue) = match loaded {
        Ok(v) => v,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let currency = ctx.app.config().currency;
    let cur = currency.as_str();
    let (due, late): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.n.paid_through > today);
    let row = |r: &billing::BillingRow| -> Markup {
        let n: &Renewable = &r.n;
        let days = (today - n.paid_through) / DAY;
        html! {
            tr id={ "billing-" (n.order_id) } data-status=(n.status.as_str()) {
                td.tel.title-cell { (pretty(&n.number)) }
                td data-label="Customer" { a href={ "/admin/customers/" (n.user_id) } { (n.email) } }
                td data-label="Paid through" { (format_day(n.paid_through)) @if days > 0 { " (" (days) " days overdue)" } }
                td.num data-label="Monthly" { (money(n.monthly_cents, &n.currency)) }
                td data-label="Status" { (super::badges::number(n.status))
                    @if n.cancel_at_period_end { " " span.badge.badge-off { "Stops renewing" } }
                    @if r.suspension_failed { " " span.badge.badge-bad id={ "suspension-failed-" (n.order_id) } { "Suspension failed" } } }
                td data-label="Invoice" { @if let Some((id, number)) = &r.open_invoice { a href={ "/invoices/" (id) } { (number) } } @else { span.muted { "—" } } }
            }
        }
    };
    let head = html! { thead { tr { th { "Number" } th { "Customer" } th { "Paid through" } th.num { "Monthly" } th { "Status" } th { "Open invoice" } } } };
    page(
        ctx,
        200,
        "Billing",
        html! {
            h1 { "Billing" }
            section id="billing-late" {
                h2 { "Overdue and suspended" }
                @if late.is_empty() { p.empty { "Nothing overdue." } } @else {
                    div.table-wrap { table.data.stacked { (head) tbody { @for r in &late { (row(r)) } } } }
                }
            }
            section id="billing-due" {
                h2 { "Renewing in the next 14 days" }
                @if due.is_empty() { p.empty { "No renewals in the next 14 days." } } @else {
                    div.table-wrap { table.data.stacked { (head) tbody { @for r in &due { (row(r)) } } } }
                }
            }
            section id="billing-revenue" {
                h2 { "Revenue by month" }
                @if revenue.is_empty() { p.empty { "No payments in the last 12 months." } } @else {
                    @let bars: Vec<(String, i64)> = revenue.iter().map(|(m, c)| (m.get(5..).unwrap_or(m).to_string(), *c)).collect();
                    (super::charts::bars("revenue-chart", "Revenue by month, last 12 months", &bars, 1))
                    div.table-wrap {
                        table.data.stacked id="revenue-table" {
                            thead { tr { th { "Month" } th.num { "Revenue" } } }
                            tbody { @for (m, c) in &revenue { tr { td.title-cell { (m) } td.num data-label="Revenue" { (money(*c, cur)) } } } }
                        }
                    }
                }
            }
        },
    )
}
