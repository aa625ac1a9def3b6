//! The order page as its buyer and the admin see it: pay, give up, a payment recorded by the
//! admin, and the way back from PayPal. The buyer's list is `my_orders`, the admin's refund
//! `admin_refunds`.

use maud::{Markup, html};

use super::{badges, csrf_field, page};
use crate::clock::format_utc;
use crate::domain::money::Currency;
use crate::domain::phone::pretty;
use crate::domain::{Money, NumberStatus, PaymentStatus, Role};
use crate::http::Response;
use crate::store::orders::{self, CreditNote, Order};
use crate::store::purchased::{self, Purchased};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin, require_user};
use crate::workflow::orders::{self as order_flow, Continue, OrderError};
use crate::workflow::payments::{self, AdminPaymentError, Returned};

pub(crate) fn money(cents: i64, currency: &str) -> Money {
    Money::new(cents, Currency::parse(currency).unwrap_or(Currency::USD))
}

/// A change the rules refuse: 409, the reason, and the way back. Nothing changed.
pub fn refused(ctx: &Ctx<'_>, title: &str, reason: &str, back: &str, back_label: &str) -> Response {
    page(
        ctx,
        409,
        title,
        html! {
            section.narrow id="refused" {
                h1 { (title) }
                p id="refused-reason" { (reason) }
                p.muted { "Nothing was changed." }
                p { a.button href=(back) { (back_label) } }
            }
        },
    )
}

/// The order if this user may see it: its owner or an admin. Anyone else gets 404.
fn visible(ctx: &Ctx<'_>, id: &str) -> Result<Order, Stop> {
    let user = require_user(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    match ctx.read(|tx| orders::get(tx, id))? {
        Some(o) if o.user_id == user.id || user.role == Role::Admin => Ok(o),
        _ => Err(Stop::NotFound),
    }
}

/// "12 minutes", "1 minute", "less than a minute".
fn time_left(seconds: i64) -> String {
    match seconds / 60 {
        0 => "less than a minute".to_string(),
        1 => "1 minute".to_string(),
        m => format!("{m} minutes"),
    }
}

pub fn show(ctx: &Ctx<'_>, id: &str) -> Reply {
    let o = visible(ctx, id)?;
    let (invoice_id, credit, bought) = ctx.read(|tx| {
        Ok((
            orders::invoice_for_order(tx, o.id)?,
            orders::credit_note_for_order(tx, o.id)?,
            purchased::by_order(tx, o.id)?,
        ))
    })?;
    let is_admin = ctx.user.as_ref().is_some_and(|u| u.role == Role::Admin);
    let is_owner = ctx.user.as_ref().is_some_and(|u| u.id == o.user_id);
    let now = ctx.app.now();
    Ok(page(
        ctx,
        200,
        &format!("Order {}", o.id),
        html! {
            section.order id="order" data-status=(o.payment_status.as_str()) {
                p.muted { a href="/orders" { "← My orders" } }
                div.title-row {
                    h1 { "Order " (o.id) }
                    (badges::payment(o.payment_status))
                }
                table.data.summary {
                    tbody {
                        tr { th { "Number" } td.tel id="order-number" { (pretty(&o.number)) } }
                        tr { th { "Plan" } td { (o.plan_name) } }
                        tr { th { "Setup fee" } td.num { (money(o.setup_cents, &o.currency)) } }
                        tr { th { "First month" } td.num { (money(o.monthly_cents, &o.currency)) } }
                        tr { th { "Total" } td.num id="order-total" { strong { (money(o.amount_cents, &o.currency)) } } }
                        tr { th { "Ordered" } td { (format_utc(o.created_at)) } }
                        @if let Some(paid) = o.paid_at { tr { th { "Paid" } td { (format_utc(paid)) } } }
                    }
                }
                (state_panel(ctx, &o, invoice_id, credit.as_ref(), bought.as_ref(), is_owner, now))
                @if is_admin {
                    (admin_panel(ctx, &o, bought.as_ref()))
                }
            }
        },
    ))
}

/// What the order's state means for its buyer, and what they can do next.
fn state_panel(
    ctx: &Ctx<'_>,
    o: &Order,
    invoice_id: Option<i64>,
    credit: Option<&CreditNote>,
    bought: Option<&Purchased>,
    is_owner: bool,
    now: i64,
) -> Markup {
    let number_link = format!("/numbers/{}", o.number);
    match o.payment_status {
        PaymentStatus::AwaitingPayment if o.hold_until > now => html! {
            div.notice id="awaiting-payment" role="status" {
                p { (pretty(&o.number)) " is held for you for another "
                    strong id="time-left" { (time_left(o.hold_until - now)) }
                    ", until " (format_utc(o.hold_until)) "." }
                @if o.failure.is_some() {
                    p { "There is a question about this payment; the shop has been told and will contact you." }
                }
                @if ctx.app.services.payments.is_some() {
                    @if is_owner {
                        p.actions {
                            a.button id="pay" href={ "/orders/" (o.id) "/pay" } { "Pay " (money(o.amount_cents, &o.currency)) " with PayPal" }
                        }
                    }
                } @else {
                    p { "Online payment is not available right now. The shop will send you bank transfer "
                        "details and confirm the order when the payment arrives." }
                }
                @if is_owner {
                    form.inline-form id="cancel-order-form" method="post" action={ "/orders/" (o.id) "/cancel" } {
                        (csrf_field(ctx))
                        p.hint { "Changed your mind? Giving up releases the number at once; nothing is charged." }
                        button.secondary type="submit" id="cancel-order" { "Give up this order" }
                    }
                }
            }
        },
        PaymentStatus::AwaitingPayment => html! {
            div.notice id="hold-over" role="status" {
                p { "The hold on " (pretty(&o.number)) " has run out, so the order can no longer be paid here. "
                    "Nothing was charged." }
                p { a.button href=(number_link) { "See if the number is still free" } }
            }
        },
        PaymentStatus::Paid => html! {
            @if bought.is_none() {
                // Paid after the hold ended and the number went to someone else.
                div.flash.flash-error id="number-lost" role="status" {
                    "Your payment arrived after the hold ended, and " (pretty(&o.number))
                    " had gone to another buyer. The shop has been told and will refund you in full."
                }
            } @else {
                div.notice id="next-steps" role="status" {
                    @match bought.map(|b| b.status) {
                        Some(NumberStatus::Pending) | None => p { "Paid. The shop now sets up " (pretty(&o.number))
                            " at the phone company; you get an email as soon as it is active, and can then set its PIN and forwarding." },
                        Some(NumberStatus::Active) => p { (pretty(&o.number)) " is active. "
                            a href={ "/my/numbers/" (o.number) } { "Set its PIN and forwarding" } "." },
                        Some(NumberStatus::Suspended) => p id="suspended-help" { (pretty(&o.number)) " is suspended. To restore it, write to " (super::support_contact(ctx.app)) "." },
                        Some(NumberStatus::Cancelled) => p { (pretty(&o.number)) " is cancelled." },
                    }
                }
            }
            @if let Some(inv) = invoice_id {
                p { a.button id="invoice-link" href={ "/invoices/" (inv) } { "View the invoice" } }
            }
        },
        PaymentStatus::Refunded => html! {
            div.notice id="refunded" role="status" {
                p { "This order was refunded"
                    @if let Some(c) = credit { " on " (format_utc(c.issued_at)) ": "
                        strong { (money(c.amount_cents, &c.currency)) } " went back to you, credit note "
                        strong id="credit-note-number" { (c.number) } }
                    "." }
                p { (pretty(&o.number)) " is no longer yours." }
                @if let Some(inv) = invoice_id {
                    p { a.button id="invoice-link" href={ "/invoices/" (inv) } { "View the invoice and credit note" } }
                }
            }
        },
        PaymentStatus::Expired => html! {
            div.notice id="expired" role="status" {
                p { "The hold ran out before the payment arrived, so the number went back on sale. Nothing was charged." }
                p { a.button href=(number_link) { "See if the number is still free" } }
            }
        },
        PaymentStatus::Cancelled => html! {
            div.notice id="cancelled" role="status" {
                p { "You gave up this order, so the number went back on sale. Nothing was charged." }
                p { a.button href=(number_link) { "See if the number is still free" } }
            }
        },
        PaymentStatus::Failed => html! {
            div.notice id="failed" role="status" {
                p { "The payment did not go through, and nothing was charged."
                    @if let Some(f) = &o.failure { " (" (f) ")" } }
                p { a.button href=(number_link) { "Try again" } }
            }
        },
    }
}

fn admin_panel(ctx: &Ctx<'_>, o: &Order, bought: Option<&Purchased>) -> Markup {
    html! {
        div.panel.admin-actions id="admin-actions" {
            h2 { "Admin" }
            @if let Some(f) = &o.failure {
                p.flash.flash-error id="admin-check" { "Check: " (f) }
            }
            @if let Some(b) = bought {
                p { "Number status: " (badges::number(b.status)) " · "
                    a href={ "/admin/orders?q=" (o.number) } { "change it on View Orders" } }
            }
            @if matches!(o.payment_status, PaymentStatus::AwaitingPayment | PaymentStatus::Expired) {
                form method="post" action={ "/orders/" (o.id) "/record-payment" } {
                    (csrf_field(ctx))
                    p.hint { "For a payment received outside PayPal, such as a bank transfer." }
                    button type="submit" id="record-payment" { "Record payment received" }
                }
            }
            @if o.payment_status == PaymentStatus::Paid {
                form method="post" action={ "/orders/" (o.id) "/refund" } {
                    (csrf_field(ctx))
                    p.hint { "You will see what the refund does, and confirm it, on the next page." }
                    button type="submit" id="refund" { "Refund this order…" }
                }
            }
        }
    }
}

fn order_id(id: &str) -> Result<i64, Stop> {
    id.parse::<i64>().map_err(|_| Stop::NotFound)
}

/// The signed-in user and the order id of the path, or the page that says why not.
fn user_and_order<'c>(
    ctx: &'c Ctx<'_>,
    id: &str,
) -> Result<(&'c crate::store::users::User, i64), Stop> {
    let user = require_user(ctx)?;
    Ok((user, order_id(id)?))
}

/// The signed-in admin and the order id of the path.
pub(super) fn admin_and_order<'c>(
    ctx: &'c Ctx<'_>,
    id: &str,
) -> Result<(&'c crate::store::users::User, i64), Stop> {
    let admin = require_admin(ctx)?;
    Ok((admin, order_id(id)?))
}

/// `GET /orders/{id}/pay`: the `#pay` link. Continues at the gateway while the hold lasts.
pub fn pay(ctx: &Ctx<'_>, id: &str) -> Reply {
    let (user, id) = user_and_order(ctx, id)?;
    let back = format!("/orders/{id}");
    Ok(
        match order_flow::continue_payment(&ctx.app.services, user, id) {
            Ok(Continue::Gateway(url)) => Response::see_other(&url),
            Ok(Continue::Order(returned)) => after_return(ctx, returned)?,
            Err(OrderError::NotFound) => return Err(Stop::NotFound),
            Err(OrderError::Refused(reason)) => refused(
                ctx,
                "This order cannot be paid",
                &reason,
                &back,
                "Back to the order",
            ),
            Err(OrderError::Gateway(m)) => {
                log::warn!("order {id}: PayPal could not continue the payment: {m}");
                ctx.redirect_with(
                &back,
                FlashKind::Error,
                "PayPal did not answer. The number is still held for you; please try again in a moment.",
            )
            }
            Err(OrderError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}

/// `POST /orders/{id}/cancel`: the buyer gives up an order awaiting payment.
pub fn cancel(ctx: &Ctx<'_>, id: &str) -> Reply {
    let (user, id) = user_and_order(ctx, id)?;
    let back = format!("/orders/{id}");
    Ok(
        match order_flow::cancel(&ctx.app.services, user, id, &ctx.client) {
            Ok(o) => ctx.redirect_with(
                &back,
                FlashKind::Notice,
                &format!(
                    "Order {id} is cancelled and {} is released. Nothing was charged.",
                    pretty(&o.number)
                ),
            ),
            Err(OrderError::NotFound) => return Err(Stop::NotFound),
            Err(OrderError::Refused(reason)) => refused(
                ctx,
                "This order cannot be cancelled",
                &reason,
                &back,
                "Back to the order",
            ),
            Err(OrderError::Gateway(m))
            | Err(OrderError::Internal(crate::workflow::Internal(m))) => {
                return Err(Stop::internal(m));
            }
        },
    )
}

/// Where the buyer lands after a capture (the gateway's return, or the `#pay` link finding an
/// approval already given).
pub fn after_return(ctx: &Ctx<'_>, returned: Returned) -> Reply {
    Ok(match returned {
        Returned::Paid(id) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Notice,
            "Thank you! Your payment is received and your invoice is ready.",
        ),
        Returned::Pending(id) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Notice,
            "PayPal is still confirming your payment. We will email you as soon as it is through; the number stays held for you.",
        ),
        Returned::BackToPayPal(url) => Response::see_other(&url),
        Returned::NotPaid(id) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Error,
            "The payment did not go through. Nothing was charged.",
        ),
        Returned::NeedsReview(id) => ctx.redirect_with(
            &format!("/orders/{id}"),
            FlashKind::Error,
            "PayPal reported a payment that does not match this order as it stands. The shop has been told and will sort it out with you, by refund or otherwise.",
        ),
        Returned::Unknown => return Err(Stop::NotFound),
    })
}

pub(super) fn admin_refusal(ctx: &Ctx<'_>, id: i64, e: AdminPaymentError, title: &str) -> Reply {
    let back = format!("/orders/{id}");
    Ok(match e {
        AdminPaymentError::WrongState(m) => refused(ctx, title, &m, &back, "Back to the order"),
        AdminPaymentError::Gateway(m) => ctx.redirect_with(
            &back,
            FlashKind::Error,
            &format!("PayPal did not accept it, so nothing changed: {m}"),
        ),
        AdminPaymentError::RefundPending(reason) => ctx.redirect_with(
            &back,
            FlashKind::Notice,
            &format!(
                "PayPal has taken the refund but holds it as pending{}. Nothing changed here \
                 yet: the order is marked refunded when PayPal reports the refund done. \
                 Refunding again asks PayPal about this same refund; it never pays twice.",
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            ),
        ),
        AdminPaymentError::Internal(e) => return Err(Stop::internal(e)),
    })
}

pub fn record_payment(ctx: &Ctx<'_>, id: &str) -> Reply {
    let (admin, id) = admin_and_order(ctx, id)?;
    Ok(
        match payments::record_offline(&ctx.app.services, admin, id) {
            Ok(done) => {
                let msg = match done {
                crate::store::orders::Completed::Invoiced { invoice_number, .. } => {
                    format!("Payment recorded; invoice {invoice_number} sent to the customer.")
                }
                crate::store::orders::Completed::AlreadyPaid => {
                    "The order was already paid.".to_string()
                }
                crate::store::orders::Completed::NumberLost => {
                    "Payment recorded, but the number went to another buyer meanwhile: refund it."
                        .to_string()
                }
            };
                ctx.redirect_with(&format!("/orders/{id}"), FlashKind::Notice, &msg)
            }
            Err(e) => admin_refusal(ctx, id, e, "No payment can be recorded")?,
        },
    )
}
