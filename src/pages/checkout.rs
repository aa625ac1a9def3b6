//! Checkout and orders as the customer sees them.

use maud::html;

use super::page;
use crate::app::FlashKind;
use crate::app::{Ctx, require_user};
use crate::clock::format_utc;
use crate::domain::money::Currency;
use crate::domain::{Money, PhoneNumber, Role};
use crate::http::{Response, encode_query};
use crate::store::orders::{self, Order};
use crate::workflow::checkout::{self, CheckoutError};
use crate::workflow::payments::{self, Returned};

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

fn status_badge(status: &str) -> maud::Markup {
    html! {
        @match status {
            "paid" => span.badge.badge-ok { "Paid" },
            "awaiting_payment" => span.badge.badge-wait { "Awaiting payment" },
            "refunded" => span.badge.badge-info { "Refunded" },
            "expired" => span.badge.badge-off { "Expired" },
            _ => span.badge.badge-bad { "Failed" },
        }
    }
}

fn money(cents: i64, currency: &str) -> Money {
    Money::new(cents, Currency::parse(currency).unwrap_or(Currency::USD))
}

use crate::domain::phone::pretty;

/// The order if this user may see it: its owner or an admin. Anyone else gets 404.
fn visible(ctx: &Ctx<'_>, id: &str) -> Result<Order, Response> {
    let user = require_user(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(super::errors::not_found(ctx));
    };
    match ctx.app.services.store.read(|tx| orders::get(tx, id)) {
        Ok(Some(o)) if o.user_id == user.id || user.role == Role::Admin => Ok(o),
        Ok(_) => Err(super::errors::not_found(ctx)),
        Err(e) => Err(super::errors::internal(ctx, &e)),
    }
}

pub fn show(ctx: &Ctx<'_>, id: &str) -> Response {
    let o = match visible(ctx, id) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let invoice_id = match ctx
        .app
        .services
        .store
        .read(|tx| orders::invoice_for_order(tx, o.id))
    {
        Ok(i) => i,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    page(
        ctx,
        200,
        &format!("Order {}", o.id),
        html! {
            section.order id="order" data-status=(o.payment_status) {
                p.muted { a href="/orders" { "← My orders" } }
                div.title-row {
                    h1 { "Order " (o.id) }
                    (status_badge(&o.payment_status))
                }
                table.data.summary {
                    tbody {
                        tr { th { "Number" } td.tel id="order-number" { (pretty(&o.number)) } }
                        tr { th { "Plan" } td { (o.plan_name) } }
                        tr { th { "Setup fee" } td.num { (money(o.setup_cents, &o.currency)) } }
                        tr { th { "First month" } td.num { (money(o.monthly_cents, &o.currency)) } }
                        tr { th { "Total" } td.num id="order-total" { strong { (money(o.amount_cents, &o.currency)) } } }
                        tr { th { "Ordered" } td { (format_utc(o.created_at)) } }
                    }
                }
                @if ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin) {
                    div.panel.admin-actions id="admin-actions" {
                        h2 { "Admin" }
                        @if o.payment_status == "awaiting_payment" || o.payment_status == "expired" {
                            form method="post" action={ "/orders/" (o.id) "/record-payment" } {
                                (super::csrf_field(ctx))
                                p.hint { "For a payment received outside PayPal, such as a bank transfer." }
                                button type="submit" id="record-payment" { "Record payment received" }
                            }
                        }
                        @if o.payment_status == "paid" {
                            form method="post" action={ "/orders/" (o.id) "/refund" } {
                                (super::csrf_field(ctx))
                                p.hint { "Gives the money back and puts the number back on sale." }
                                button type="submit" id="refund" { "Refund this order" }
                            }
                        }
                    }
                }
                @match o.payment_status.as_str() {
                    "awaiting_payment" => {
                        div.notice id="awaiting-payment" role="status" {
                            p { "The number is held for you until " strong { (format_utc(o.hold_until)) } "." }
                            @if let Some(f) = &o.failure { p { (f) } }
                            @if o.gateway == "manual" {
                                p { "Online payment is not available right now. The shop will send you bank transfer "
                                    "details and confirm the order when the payment arrives." }
                            }
                        }
                    }
                    "paid" => {
                        @if let Some(inv) = invoice_id {
                            p { a.button id="invoice-link" href={ "/invoices/" (inv) } { "View the invoice" } }
                        }
                        @if let Some(f) = &o.failure { p.flash.flash-error { (f) } }
                    }
                    "expired" => p.notice { "The hold ran out before the payment arrived, so the number went back on sale. Nothing was charged." }
                    "failed" => p.notice { "The payment did not go through, and nothing was charged. " (o.failure.clone().unwrap_or_default()) }
                    _ => {}
                }
            }
        },
    )
}

pub fn list(ctx: &Ctx<'_>) -> Response {
    let user = match require_user(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let mine = match ctx
        .app
        .services
        .store
        .read(|tx| orders::for_user(tx, user.id))
    {
        Ok(v) => v,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    page(
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
                                tr id={ "order-" (o.id) } data-status=(o.payment_status) {
                                    td.title-cell { a href={ "/orders/" (o.id) } { "Order " (o.id) } }
                                    td.tel data-label="Number" { (pretty(&o.number)) }
                                    td data-label="Plan" { (o.plan_name) }
                                    td.num data-label="Total" { span.price { (money(o.amount_cents, &o.currency)) } }
                                    td data-label="Payment" { (status_badge(&o.payment_status)) }
                                    td data-label="Date" { (format_utc(o.created_at)) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

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
    match payments::paypal_return(&ctx.app.services, user, &token) {
        Ok(Returned::Paid(id)) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Notice,
            "Thank you! Your payment is received and your invoice is ready.",
        ),
        Ok(Returned::Pending(id)) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Notice,
            "PayPal is still confirming your payment. We will email you as soon as it is through; the number stays held for you.",
        ),
        Ok(Returned::BackToPayPal(url)) => Response::see_other(&url),
        Ok(Returned::NotPaid(id)) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Error,
            "The payment did not go through. Nothing was charged.",
        ),
        Ok(Returned::NeedsReview(id)) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Error,
            "PayPal reported a payment that does not match this order as it stands. The shop has been told and will sort it out with you, by refund or otherwise.",
        ),
        Ok(Returned::Unknown) => super::errors::not_found(ctx),
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
    match payments::paypal_cancel(&ctx.app.services, user, &token) {
        Ok(Some(o)) => ctx.redirect_with(
            &format!("/numbers/{}", o.number),
            FlashKind::Notice,
            "You cancelled the payment. Nothing was charged, and the number is released.",
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
    page(
        ctx,
        200,
        &format!("Invoice {}", inv.number),
        html! {
            article.invoice id="invoice" data-number=(inv.number) {
                header.invoice-head {
                    div { h1 { "Invoice " (inv.number) } p.muted { "Issued " (format_utc(inv.issued_at)) } }
                    div { strong { (ctx.app.config().site_name) } }
                }
                p { "Billed to " strong { (inv.customer_name) } " <" (inv.customer_email) ">" }
                table.data id="invoice-lines" {
                    thead { tr { th { "Item" } th.num { "Amount" } } }
                    tbody {
                        @for (desc, cents) in &inv.lines {
                            tr { td { (desc) } td.num { (money(*cents, &inv.currency)) } }
                        }
                    }
                    tfoot { tr { th { "Total paid" } td.num id="invoice-total" { strong { (money(inv.total_cents, &inv.currency)) } } } }
                }
                p.muted { "Order " a href={ "/orders/" (inv.order_id) } { (inv.order_id) } ". Paid in full." }
                p.no-print { "Use your browser's Print command to save or print this invoice." }
            }
        },
    )
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

fn admin_action(
    ctx: &Ctx<'_>,
    id: &str,
    act: impl FnOnce(&crate::store::users::User, i64) -> Result<String, payments::AdminPaymentError>,
) -> Response {
    let admin = match crate::app::require_admin(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return super::errors::not_found(ctx);
    };
    let back = format!("/orders/{id}");
    match act(admin, id) {
        Ok(msg) => ctx.redirect_with(&back, FlashKind::Notice, &msg),
        Err(payments::AdminPaymentError::WrongState(m)) => {
            ctx.redirect_with(&back, FlashKind::Error, &m)
        }
        Err(payments::AdminPaymentError::Gateway(m)) => ctx.redirect_with(
            &back,
            FlashKind::Error,
            &format!("PayPal did not accept it, so nothing changed: {m}"),
        ),
        Err(payments::AdminPaymentError::Internal(e)) => super::errors::internal(ctx, &e),
    }
}

pub fn record_payment(ctx: &Ctx<'_>, id: &str) -> Response {
    admin_action(ctx, id, |admin, id| {
        payments::record_offline(&ctx.app.services, admin, id).map(|done| match done {
            crate::store::orders::Completed::Invoiced { invoice_number, .. } => {
                format!("Payment recorded; invoice {invoice_number} sent to the customer.")
            }
            crate::store::orders::Completed::AlreadyPaid => "The order was already paid.".into(),
            crate::store::orders::Completed::NumberLost => {
                "Payment recorded, but the number went to another buyer meanwhile: refund it."
                    .into()
            }
        })
    })
}

pub fn refund(ctx: &Ctx<'_>, id: &str) -> Response {
    admin_action(ctx, id, |admin, id| {
        payments::refund(&ctx.app.services, admin, id)
            .map(|()| "Refunded; the number is back on sale.".to_string())
    })
}
