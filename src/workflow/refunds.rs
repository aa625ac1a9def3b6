//! Refunds: deliberate (the admin confirms what will happen), gateway first, then one
//! transaction that marks the payment `refunded`, makes the number `cancelled` for good and
//! puts it back on sale, issues a credit note, and tells the customer and the admin.
//! A refund made in PayPal's own dashboard arrives as a webhook and is recorded the same way.

use super::payments::AdminPaymentError;
use super::{Internal, Services, notify};
use crate::clock::year_of;
use crate::domain::money::Currency;
use crate::domain::status::payment_change;
use crate::domain::{MailEvent, Money, NumberStatus, PaymentStatus};
use crate::emails;
use crate::integrations::paypal::RefundStatus;
use crate::store::audit::{Entry, Outcome};
use crate::store::orders::{self, CreditNote, Order};
use crate::store::purchased;
use crate::store::users::User;

/// Who refunded.
pub enum Refunder<'a> {
    /// An admin, from the order page.
    Admin { user: &'a User, address: &'a str },
    /// The gateway told us (a refund made in PayPal's dashboard).
    Gateway,
}

/// What a refund of an order would do, for the confirmation page.
#[derive(Debug, Clone)]
pub struct Preview {
    pub order: Order,
    pub customer: User,
    /// The purchased number's status, if the order has one.
    pub number_status: Option<NumberStatus>,
    /// The payment went through PayPal (else it was recorded offline).
    pub through_paypal: bool,
}

fn load(s: &Services, id: i64) -> Result<Preview, AdminPaymentError> {
    let found = s.store.read(|tx| {
        let Some(order) = orders::get(tx, id)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        let Some(customer) = crate::store::users::by_id(tx, order.user_id)? else {
            return Ok(None);
        };
        let p = purchased::by_order(tx, id)?;
        Ok(Some((order, customer, p)))
    })?;
    let (order, customer, p) =
        found.ok_or_else(|| AdminPaymentError::WrongState("There is no such order.".into()))?;
    if let Err(refused) = payment_change(order.payment_status, PaymentStatus::Refunded) {
        return Err(AdminPaymentError::WrongState(refused.0));
    }
    if p.as_ref().is_some_and(|p| p.activating_since.is_some()) {
        return Err(AdminPaymentError::WrongState(
            "An activation of this number is running at Telinta right now. Wait for it to end, \
             then refund."
                .into(),
        ));
    }
    Ok(Preview {
        through_paypal: order.capture_id.is_some(),
        number_status: p.map(|p| p.status),
        order,
        customer,
    })
}

/// What a refund would do, or why it cannot be done. Changes nothing.
pub fn preview(s: &Services, id: i64) -> Result<Preview, AdminPaymentError> {
    load(s, id)
}

/// Refunds a paid order: PayPal first (for PayPal orders), then everything else in one
/// transaction. A refund PayPal refused changes nothing here.
pub fn refund(
    s: &Services,
    admin: &User,
    id: i64,
    address: &str,
) -> Result<CreditNote, AdminPaymentError> {
    let p = load(s, id)?;
    if let Some(capture) = &p.order.capture_id {
        let Some(paypal) = &s.payments else {
            return Err(AdminPaymentError::Gateway(
                "PayPal is not configured".into(),
            ));
        };
        let refund = paypal
            .refund_capture(
                capture,
                &crate::integrations::paypal::RefundRequest {
                    request_id: format!("didport-refund-{id}"),
                    amount: None,
                    note_to_payer: Some(format!("Refund of order {id}")),
                },
            )
            .map_err(|e| AdminPaymentError::Gateway(e.to_string()))?;
        // Only a completed refund has given the money back. A pending one is recorded when
        // PayPal reports it done (PAYMENT.CAPTURE.REFUNDED); asking again with the same
        // request id gets the same refund, not a second one.
        match refund.status {
            RefundStatus::Completed => {}
            RefundStatus::Pending { reason } => {
                return Err(AdminPaymentError::RefundPending(reason));
            }
            RefundStatus::Failed => {
                return Err(AdminPaymentError::Gateway("the refund failed".into()));
            }
            RefundStatus::Cancelled => {
                return Err(AdminPaymentError::Gateway(
                    "the refund was cancelled".into(),
                ));
            }
            RefundStatus::Other(status) => {
                return Err(AdminPaymentError::Gateway(format!(
                    "the refund's status is {status}"
                )));
            }
        }
    }
    let reason = if p.through_paypal {
        "refunded at PayPal"
    } else {
        "paid offline: the money goes back the same way"
    };
    record(
        s,
        &p.order,
        &Refunder::Admin {
            user: admin,
            address,
        },
        reason,
    )?
    .ok_or_else(|| {
        AdminPaymentError::WrongState(
            "The order changed while the refund was made; reload it to see its state.".into(),
        )
    })
}

/// Records a refund that happened at the gateway: `None` when the order was not paid here
/// (already refunded, a replayed webhook), in which case nothing changed.
pub fn record(
    s: &Services,
    order: &Order,
    who: &Refunder<'_>,
    reason: &str,
) -> Result<Option<CreditNote>, Internal> {
    let now = s.now();
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    let currency = Currency::parse(&order.currency).unwrap_or(Currency::USD);
    let note = super::change(s, now, |tx, r| {
        let before = purchased::by_order(tx, order.id)?.map(|p| p.status);
        let Some(customer) = crate::store::users::by_id(tx, order.user_id)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        let Some(note) = orders::refund(tx, order.id, reason, year_of(now), now)? else {
            return Ok(None);
        };
        let facts = emails::orders::OrderRefunded {
            order_id: order.id,
            number: &order.number,
            amount: Money::new(note.amount_cents, currency),
            credit_note: &note.number,
            invoice_id: note.invoice_id,
            was_active: before == Some(NumberStatus::Active),
            reason,
            customer: emails::AccountHolder {
                name: &customer.name,
                email: &customer.email,
            },
        };
        r.email(
            MailEvent::OrderRefunded,
            &customer.email,
            &emails::orders::order_refunded_customer(&site, &facts),
        )?;
        r.admin_email(MailEvent::OrderRefunded, admin_to.as_deref(), || {
            emails::orders::order_refunded_admin(&site, &facts)
        })?;
        let (actor_id, actor, address) = match who {
            Refunder::Admin { user, address } => (Some(user.id), user.email.as_str(), *address),
            Refunder::Gateway => (None, "PayPal", ""),
        };
        r.audit(&Entry {
            actor_id,
            actor,
            action: "payment_refund",
            subject: &order.number,
            outcome: Outcome::Ok,
            detail: &format!("order {}: {reason}; credit note {}", order.id, note.number),
            address,
        })?;
        Ok(Some(note))
    })?;
    Ok(note)
}
