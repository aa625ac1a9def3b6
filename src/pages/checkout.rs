//! Checkout and orders as the customer sees them.

use maud::html;

use super::page;
use crate::app::FlashKind;
use crate::app::{Ctx, require_user};
use crate::clock::format_utc;
use crate::domain::{InvoiceStatus, PhoneNumber, Role};
use crate::http::{Response, encode_query};
use crate::store::orders;
use crate::workflow::checkout::{self, CheckoutError};
use crate::workflow::orders::CancelReturn;
use crate::workflow::payments;

pub fn submit(ctx: &Ctx<'_>) -> Response {
    let f = ctx.req.form();
    let number = f.get("number").map_or("", String::as_str);
    let plan = f.get("plan").map_or("", String::as_str);
    let Some(user) = &ctx.user else {
        // Sign in first, then come back to the same number with the same plan chosen.
        let back = match PhoneNumber::parse(number) {
            Ok(n) => format!(
                "/numbers/{}?{}",
                n.digits(),
                encode_query(&[("plan", plan)])
            ),
            Err(_) => "/numbers".to_string(),
        };
        return Response::see_other(&format!("/login?{}", encode_query(&[("next", &back)])));
    };
    match checkout::start(&ctx.app.services, user, number, plan, &ctx.client) {
        Ok(id) if ctx.app.services.payments.is_some() => {
            match payments::begin_paypal(&ctx.app.services, id) {
                Ok(approve) => Response::see_other(&approve),
                Err(payments::StartError::Internal(e)) => super::errors::internal(ctx, &e),
                Err(payments::StartError::Gateway(_)) => page(
                    ctx,
                    502,
                    "Payment could not start",
                    html! {
                        section.narrow id="checkout-error" {
                            h1 { "The payment could not start" }
                            p { "PayPal did not answer. Nothing was charged and the number is back on sale. Please try again in a few minutes." }
                            p { a.button href={ "/numbers/" (number) } { "Back to the number" } }
                        }
                    },
                ),
            }
        }
        Ok(id) => Response::see_other(&format!("/orders/{id}")),
        Err(CheckoutError::Internal(e)) => super::errors::internal(ctx, &e),
        Err(CheckoutError::PlanDoesNotFit { plan, number_type }) => super::orders::refused(
            ctx,
            "That plan is not for this number",
            &format!(
                "The plan {plan} is not offered for {} numbers. Nothing was held or charged; \
                 choose one of the plans shown for this number.",
                number_type.to_lowercase()
            ),
            &format!(
                "/numbers/{}",
                PhoneNumber::parse(number)
                    .map_or_else(|_| String::new(), |n| n.digits().to_string())
            ),
            "Back to the number",
        ),
        Err(e) => {
            let (status, title, text) = match e {
                CheckoutError::NotAvailable => (
                    409,
                    "Someone else got there first",
                    "This number was just taken by another buyer, or is being paid for right now. Nothing was charged. Please pick another number.",
                ),
                CheckoutError::BadPlan => (
                    400,
                    "That plan is not available",
                    "The plan you chose is not on sale. Nothing was held or charged. Go back to the number and choose one of the plans shown.",
                ),
                _ => (
                    400,
                    "That number is not for sale",
                    "The number in your order is not in our inventory. Nothing was held or charged.",
                ),
            };
            page(
                ctx,
                status,
                title,
                html! {
                    section.narrow id="checkout-error" {
                        h1 { (title) }
                        p { (text) }
                        p { a.button href="/numbers" { "Find another number" } }
                    }
                },
            )
        }
    }
}

use super::orders::money;
use crate::domain::phone::pretty;

pub fn paypal_return(ctx: &Ctx<'_>) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = ctx
        .req
        .query_params()
        .get("token")
        .cloned()
        .unwrap_or_default();
    // A renewal invoice paid at PayPal comes back here too.
    if let Some(r) = super::renewals::paypal_return(ctx, user.id, &token) {
        return r;
    }
    match payments::paypal_return(&ctx.app.services, user, &token) {
        Ok(returned) => super::orders::after_return(ctx, returned),
        Err(e) => super::errors::internal(ctx, &e),
    }
}

pub fn paypal_cancel(ctx: &Ctx<'_>) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let token = ctx
        .req
        .query_params()
        .get("token")
        .cloned()
        .unwrap_or_default();
    match crate::workflow::orders::paypal_cancel(&ctx.app.services, user, &token, &ctx.client) {
        Ok(Some(CancelReturn::Cancelled(o))) => ctx.redirect_with(
            &format!("/orders/{}", o.id),
            FlashKind::Notice,
            &format!(
                "You cancelled the payment at PayPal. Nothing was charged, and {} is released.",
                pretty(&o.number)
            ),
        ),
        // Any other order is left as it is: the page tells its real state.
        Ok(Some(CancelReturn::Unchanged(o))) => ctx.redirect_with(
            &format!("/orders/{}", o.id),
            FlashKind::Notice,
            &format!(
                "You left PayPal's page. This order is {}; nothing was changed.",
                o.payment_status.label().to_lowercase()
            ),
        ),
        Ok(None) => super::errors::not_found(ctx),
        Err(e) => super::errors::internal(ctx, &e),
    }
}

pub fn invoice(ctx: &Ctx<'_>, id: &str) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return super::errors::not_found(ctx);
    };
    let inv = match ctx.app.services.store.read(|tx| orders::invoice(tx, id)) {
        Ok(Some(i)) if i.user_id == user.id || user.role == Role::Admin => i,
        Ok(_) => return super::errors::not_found(ctx),
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let credit = match ctx
        .app
        .services
        .store
        .read(|tx| orders::credit_note_for_order(tx, inv.order_id))
    {
        Ok(c) => c,
        Err(e) => return super::errors::internal(ctx, &e),
    };
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
            (super::renewals::invoice_actions(ctx, &inv))
            @if !print_view {
                p.no-print.print-action {
                    a.button.secondary id="print-invoice" href={ "/invoices/" (inv.id) "?print=1" } { "Print" }
                    span.hint { " Opens a page ready to print or save as PDF." }
                }
            }
        }
    };
    let title = format!("Invoice {}", inv.number);
    if print_view {
        super::page_print(ctx, 200, &title, content)
    } else {
        page(ctx, 200, &title, content)
    }
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

/// `POST /webhooks/paypal`: machine to machine, so plain JSON answers.
pub fn paypal_webhook(ctx: &Ctx<'_>) -> Response {
    let lookup = |name: &str| {
        ctx.req
            .header(&name.to_ascii_lowercase())
            .map(str::to_string)
    };
    match payments::webhook(&ctx.app.services, lookup, &ctx.req.body) {
        Ok(payments::WebhookResult::Handled | payments::WebhookResult::Duplicate) => {
            Response::json(200, &serde_json::json!({"status": "ok"}))
        }
        Ok(payments::WebhookResult::Refused) => {
            Response::json(400, &serde_json::json!({"error": "not verified"}))
        }
        Ok(payments::WebhookResult::RetryLater) => {
            Response::json(503, &serde_json::json!({"error": "try again later"}))
        }
        Err(e) => {
            let id = crate::secure::short_id();
            log::error!("incident {id}: PayPal webhook: {e}");
            Response::json(500, &serde_json::json!({"error": format!("incident {id}")}))
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
