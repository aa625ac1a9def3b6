//! An invoice: the printable page of an order's or a renewal's invoice with its credit note,
//! and the ways to settle an open renewal invoice (PayPal for its owner, an offline payment
//! recorded by the admin).

use maud::{Markup, html};

use super::orders::{money, refused};
use super::{csrf_field, page};
use crate::clock::format_utc;
use crate::domain::billing::format_day;
use crate::domain::{InvoiceStatus, Role};
use crate::http::Response;
use crate::store::orders;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin, require_user};
use crate::workflow::billing::{self as cycle, InvoiceReturn, PayError, RenewalOutcome};

/// `GET /invoices/{id}`: the invoice as its owner or the admin sees it; `?print=1` for paper.
pub fn show(ctx: &Ctx<'_>, id: &str) -> Reply {
    let user = require_user(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let inv = match ctx.read(|tx| orders::invoice(tx, id))? {
        Some(i) if i.user_id == user.id || user.role == Role::Admin => i,
        _ => return Err(Stop::NotFound),
    };
    let credit = ctx.read(|tx| orders::credit_note_for_order(tx, inv.order_id))?;
    let config = ctx.app.config();
    let print_view = ctx.req.query_params().contains_key("print");
    let tax = config
        .tax_rate
        .map(|rate| (rate, rate.included_in(inv.total_cents)));
    let method = match inv.gateway.as_str() {
        "paypal" => "PayPal",
        _ => "Recorded by the seller",
    };
    let content = html! {
        @if print_view {
            div.print-bar.no-print id="print-bar" role="note" {
                p { "Ready to print: use your browser's Print command (Ctrl+P, or ⌘P on a Mac), or Share → Print on a phone. "
                    a href={ "/invoices/" (inv.id) } { "Back to the invoice" } }
            }
        }
        article.invoice id="invoice" data-number=(inv.number) {
            header.invoice-head {
                div.seller id="invoice-seller" {
                    strong.seller-name { (config.seller()) }
                    @for line in &config.seller_address { span.seller-line { (line) } }
                    @if let Some(e) = &config.support_email { span.seller-line { (e.as_str()) } }
                }
                div.invoice-title {
                    h1 { "Invoice " span.nowrap { (inv.number) } }
                    p.muted { "Issued " span.nowrap { (format_utc(inv.issued_at)) } }
                }
            }
            dl.facts.invoice-facts {
                div { dt { "Billed to" } dd id="invoice-customer" { (inv.customer_name) br; span.muted.break { (inv.customer_email) } } }
                div { dt { "Service period" } dd id="invoice-period" { span.nowrap { (crate::domain::billing::format_day(inv.period_start)) } " to " span.nowrap { (crate::domain::billing::format_day(inv.period_end)) } } }
                div { dt { "Order" } dd { a href={ "/orders/" (inv.order_id) } { (inv.order_id) } } }
            }
            table.data.invoice-lines id="invoice-lines" {
                thead { tr { th { "Item" } th.num { "Amount" } } }
                tbody {
                    @for (desc, cents) in &inv.lines {
                        tr { td { (whole_numbers(desc)) } td.num { (money(*cents, &inv.currency)) } }
                    }
                }
                tfoot {
                    @if let Some((rate, tax_cents)) = tax {
                        tr.subtotal { th { "Amount before tax" } td.num id="invoice-net" { (money(inv.total_cents - tax_cents, &inv.currency)) } }
                        tr.tax { th { "Tax included (" (rate) ")" } td.num id="invoice-tax" { (money(tax_cents, &inv.currency)) } }
                    }
                    tr { th { @match inv.status { InvoiceStatus::Paid => "Total paid", InvoiceStatus::Open => "Total due", InvoiceStatus::Void => "Total" } } td.num id="invoice-total" { strong { (money(inv.total_cents, &inv.currency)) } } }
                }
            }
            @if inv.status == InvoiceStatus::Paid {
                dl.facts.invoice-facts id="invoice-payment" {
                    div { dt { "Paid" } dd { @match inv.paid_at { Some(p) => span.nowrap { (format_utc(p)) }, None => "Yes" } } }
                    div { dt { "Payment method" } dd id="invoice-method" { (method) } }
                    @if let Some(r) = &inv.payment_ref {
                        div { dt { "Transaction" } dd { code.break id="invoice-transaction" { (r) } } }
                    }
                }
            }
            @if let Some(c) = &credit {
                section.credit-note id="credit-note" data-number=(c.number) {
                    h2 { "Credit note " (c.number) }
                    p.muted { "Issued " (format_utc(c.issued_at)) " against invoice " (inv.number) "." }
                    table.data {
                        tbody {
                            tr { td { "Refund of invoice " (inv.number) } td.num { "−" (money(c.amount_cents, &c.currency)) } }
                        }
                        tfoot { tr { th { "Balance" } td.num id="invoice-balance" { strong { (money(inv.total_cents - c.amount_cents, &inv.currency)) } } } }
                    }
                    p id="invoice-state" { "Refunded in full." }
                }
            } @else if inv.status == InvoiceStatus::Paid {
                p.muted id="invoice-state" { "Paid in full." }
            } @else if inv.status == InvoiceStatus::Open {
                p.muted id="invoice-state" { "Not paid yet." }
            } @else {
                p.muted id="invoice-state" { "This invoice is void." }
            }
            (invoice_actions(ctx, &inv))
            @if !print_view {
                p.no-print.print-action {
                    a.button.secondary id="print-invoice" href={ "/invoices/" (inv.id) "?print=1" } { "Print" }
                    span.hint { " Opens a page ready to print or save as PDF." }
                }
            }
        }
    };
    let title = format!("Invoice {}", inv.number);
    Ok(if print_view {
        super::page_print(ctx, 200, &title, content)
    } else {
        page(ctx, 200, &title, content)
    })
}

/// A line's text with each `(212) 555-0142` kept on one line, so a phone never breaks a
/// number across two.
fn whole_numbers(text: &str) -> maud::Markup {
    let bytes = text.as_bytes();
    let is_number = |at: usize| {
        bytes.get(at..at + 14).is_some_and(|w| {
            w.iter().enumerate().all(|(i, b)| match i {
                0 => *b == b'(',
                4 => *b == b')',
                5 => *b == b' ',
                9 => *b == b'-',
                _ => b.is_ascii_digit(),
            })
        })
    };
    let mut parts: Vec<(&str, bool)> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if is_number(i) {
            parts.push((&text[start..i], false));
            parts.push((&text[i..i + 14], true));
            i += 14;
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push((&text[start..], false));
    html! {
        @for (part, number) in parts {
            @if number { span.nowrap { (part) } } @else { (part) }
        }
    }
}

fn invoice_id(id: &str) -> Result<i64, Stop> {
    id.parse::<i64>().map_err(|_| Stop::NotFound)
}

/// `POST /invoices/{id}/pay`: to PayPal for an open renewal invoice.
pub fn pay(ctx: &Ctx<'_>, id: &str) -> Reply {
    let user = require_user(ctx)?;
    let id = invoice_id(id)?;
    let back = format!("/invoices/{id}");
    Ok(
        match cycle::begin_invoice_payment(&ctx.app.services, user.id, id) {
            Ok(url) => Response::see_other(&url),
            Err(PayError::NotFound) => return Err(Stop::NotFound),
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
            Err(PayError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}

/// The buyer's return from PayPal for a renewal invoice; `None` when `token` is not one.
pub fn paypal_return(ctx: &Ctx<'_>, user_id: i64, token: &str) -> Result<Option<Response>, Stop> {
    let returned =
        cycle::invoice_return(&ctx.app.services, user_id, token).map_err(Stop::internal)?;
    Ok(match returned {
        None => None,
        Some(InvoiceReturn::Paid(id)) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Notice,
            "Thank you! The renewal is paid.",
        )),
        Some(InvoiceReturn::Pending(id)) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Notice,
            "PayPal is still confirming your payment; we will email you when it is through.",
        )),
        Some(InvoiceReturn::BackToPayPal(url)) => Some(Response::see_other(&url)),
        Some(InvoiceReturn::NotPaid(id)) => Some(ctx.redirect_with(
            &format!("/invoices/{id}"),
            FlashKind::Error,
            "The payment did not go through. Nothing was charged.",
        )),
    })
}

/// `POST /invoices/{id}/record-payment`: the admin records an offline payment of a renewal.
pub fn record_payment(ctx: &Ctx<'_>, id: &str) -> Reply {
    let admin = require_admin(ctx)?;
    let id = invoice_id(id)?;
    let back = format!("/invoices/{id}");
    Ok(
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
            Err(e) => return Err(Stop::internal(e)),
        },
    )
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

#[cfg(test)]
mod tests {
    use super::whole_numbers;

    #[test]
    fn phone_numbers_in_a_line_stay_whole() {
        assert_eq!(
            whole_numbers("Setup fee, (212) 356-9377").into_string(),
            "Setup fee, <span class=\"nowrap\">(212) 356-9377</span>"
        );
        assert_eq!(whole_numbers("Café (21) x").into_string(), "Café (21) x");
        assert_eq!(
            whole_numbers("(212) 356-9377 and (310) 555-0123").into_string(),
            "<span class=\"nowrap\">(212) 356-9377</span> and <span class=\"nowrap\">(310) 555-0123</span>"
        );
    }
}
