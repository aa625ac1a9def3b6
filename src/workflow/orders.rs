//! An unpaid order from the buyer's side: continue paying at the gateway, or give up. Both
//! obey the payment table in `domain/status.rs`: only an order still awaiting payment can be
//! cancelled, and only one whose hold lasts can be paid.

use super::payments::{self, Returned};
use super::{Internal, Services, notify};
use crate::domain::status::payment_change;
use crate::domain::{MailEvent, PaymentStatus};
use crate::integrations::paypal::{Amount, NewPayPalOrder, OrderStatus};
use crate::store::audit::{Entry, Outcome};
use crate::store::orders::{self, Order};
use crate::store::users::User;

#[derive(Debug)]
pub enum OrderError {
    /// No such order for this buyer.
    NotFound,
    /// The rules refuse it; nothing changed. The reason is for the buyer.
    Refused(String),
    /// The gateway could not be asked; nothing changed and the hold stays.
    Gateway(String),
    Internal(Internal),
}

internal_errors!(OrderError);

fn own_order(s: &Services, user: &User, id: i64) -> Result<Order, OrderError> {
    match s.store.read(|tx| orders::get(tx, id))? {
        Some(o) if o.user_id == user.id => Ok(o),
        _ => Err(OrderError::NotFound),
    }
}

/// The buyer gives up an order awaiting payment: the hold ends, the number goes back on sale,
/// the order is `cancelled`, and `order_cancelled` tells the buyer so.
pub fn cancel(s: &Services, user: &User, id: i64, address: &str) -> Result<Order, OrderError> {
    let order = own_order(s, user, id)?;
    payment_change(order.payment_status, PaymentStatus::Cancelled)
        .map_err(|r| OrderError::Refused(r.0))?;
    if release_cancelled(s, user, &order, "you cancelled the order", address)? {
        Ok(order)
    } else {
        // Paid or ended between the read and the write: say what it is now.
        let now = own_order(s, user, id)?;
        Err(OrderError::Refused(
            payment_change(now.payment_status, PaymentStatus::Cancelled)
                .err()
                .map_or_else(|| "The order changed meanwhile.".to_string(), |r| r.0),
        ))
    }
}

/// Ends `order` as cancelled by its buyer, with the email and the audit entry, in one
/// transaction. False when it was no longer awaiting payment.
fn release_cancelled(
    s: &Services,
    user: &User,
    order: &Order,
    reason: &str,
    address: &str,
) -> Result<bool, Internal> {
    let now = s.now();
    let site = notify::site(s);
    let done = super::change(s, now, |tx, r| {
        if !orders::release(tx, order.id, PaymentStatus::Cancelled, reason, now)? {
            return Ok::<_, crate::store::Error>(false);
        }
        r.email(
            MailEvent::OrderCancelled,
            &user.email,
            &crate::emails::orders::order_cancelled_customer(
                &site,
                &crate::emails::orders::OrderCancelled {
                    order_id: order.id,
                    number: &order.number,
                },
            ),
        )?;
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "order_cancel",
            subject: &order.number,
            outcome: Outcome::Ok,
            detail: &format!("order {}: {reason}", order.id),
            address,
        })?;
        Ok(true)
    })?;
    Ok(done)
}

/// What the gateway's cancel return did.
#[derive(Debug)]
pub enum CancelReturn {
    /// The order was awaiting payment and is now cancelled.
    Cancelled(Order),
    /// The order was in another state, which the return did not change.
    Unchanged(Order),
}

/// The buyer pressed "cancel" at PayPal. Only an order still awaiting payment is released;
/// any other order is left exactly as it is, and the page says its real state.
pub fn paypal_cancel(
    s: &Services,
    user: &User,
    token: &str,
    address: &str,
) -> Result<Option<CancelReturn>, Internal> {
    let Some(order) = s.store.read(|tx| orders::by_paypal_order(tx, token))? else {
        return Ok(None);
    };
    if order.user_id != user.id {
        return Ok(None);
    }
    if order.payment_status == PaymentStatus::AwaitingPayment
        && release_cancelled(
            s,
            user,
            &order,
            "you cancelled the payment at PayPal",
            address,
        )?
    {
        return Ok(Some(CancelReturn::Cancelled(order)));
    }
    let now = s
        .store
        .read(|tx| orders::get(tx, order.id))?
        .unwrap_or(order);
    Ok(Some(CancelReturn::Unchanged(now)))
}

/// Where the `#pay` link leads.
#[derive(Debug)]
pub enum Continue {
    /// To the gateway's approval page.
    Gateway(String),
    /// Back to the order: it is paid, or its state says why it cannot be paid.
    Order(Returned),
}

/// Continues paying an order awaiting payment: the same PayPal order while PayPal still
/// accepts it (an approval the buyer already gave is captured at once), else a new PayPal
/// order for the same hold. The hold is never shortened or released here.
pub fn continue_payment(s: &Services, user: &User, id: i64) -> Result<Continue, OrderError> {
    let order = own_order(s, user, id)?;
    let now = s.now();
    if !order.payable(now) {
        return Err(OrderError::Refused(match order.payment_status {
            PaymentStatus::AwaitingPayment => {
                "The hold on this number has run out, so it can no longer be paid. \
                 The number may still be free: order it again."
                    .to_string()
            }
            PaymentStatus::Paid => "This order is already paid.".to_string(),
            other => format!(
                "This order is {}, so it can no longer be paid.",
                other.label().to_lowercase()
            ),
        }));
    }
    let Some(paypal) = &s.payments else {
        return Err(OrderError::Refused(
            "Online payment is not available right now; the shop will tell you how to pay."
                .to_string(),
        ));
    };
    let Some(existing) = order.paypal_order_id.clone() else {
        // The PayPal order was never made (cut short on the way): make it now.
        return match payments::begin_paypal_keeping_hold(s, &order, None) {
            Ok(url) => Ok(Continue::Gateway(url)),
            Err(e) => Err(OrderError::Gateway(e)),
        };
    };
    let upstream = match paypal.get_order(&existing) {
        Ok(o) => Some(o),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(OrderError::Gateway(e.to_string())),
    };
    match upstream {
        Some(o) => match o.status {
            OrderStatus::Approved | OrderStatus::Completed => Ok(Continue::Order(
                payments::paypal_return(s, user, &existing)?,
            )),
            OrderStatus::Voided => replace(s, &order, &existing),
            OrderStatus::Created
            | OrderStatus::Saved
            | OrderStatus::PayerActionRequired
            | OrderStatus::Other(_) => match o.approve_url {
                Some(url) => Ok(Continue::Gateway(url)),
                None => replace(s, &order, &existing),
            },
        },
        None => replace(s, &order, &existing),
    }
}

fn replace(s: &Services, order: &Order, old: &str) -> Result<Continue, OrderError> {
    log::info!(
        "order {}: PayPal no longer accepts its PayPal order; making a new one",
        order.id
    );
    payments::begin_paypal_keeping_hold(s, order, Some(old))
        .map(Continue::Gateway)
        .map_err(OrderError::Gateway)
}

/// The request for a new PayPal order that takes the place of `old`: stable for retries of
/// the same replacement, different from the first order's.
pub(crate) fn new_order_request(s: &Services, order: &Order, old: Option<&str>) -> NewPayPalOrder {
    let pretty = crate::domain::phone::pretty(&order.number);
    NewPayPalOrder {
        request_id: match old {
            None => format!("didport-order-{}", order.id),
            Some(old) => format!("didport-order-{}-after-{old}", order.id),
        },
        amount: Amount::new(order.amount_cents, &order.currency),
        custom_id: order.id.to_string(),
        invoice_id: None,
        description: Some(format!("Phone number {pretty}, plan {}", order.plan_name)),
        brand_name: Some(s.config.site_name.clone()),
        return_url: format!("{}/checkout/paypal/return", s.public_url),
        cancel_url: format!("{}/checkout/paypal/cancel", s.public_url),
    }
}
