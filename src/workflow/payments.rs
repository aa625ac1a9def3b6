//! PayPal checkout: create the PayPal order, capture it when the buyer returns, and record the
//! payment with its invoice and emails. No database transaction is open during a PayPal call.

use super::{Internal, Services, notify};
use crate::clock::{format_date, year_of};
use crate::domain::money::Currency;
use crate::domain::status::payment_change;
use crate::domain::{MailEvent, Money, PaymentStatus};
use crate::emails;
use crate::integrations::paypal::{Amount, CaptureOutcome};
use crate::store::audit::{Entry, Outcome};
use crate::store::orders::{self, Completed, Order, Payment};
use crate::store::users::User;

/// The `PayPal-Request-Id` of one capture attempt of an order: stable within the attempt, so a
/// retry never pays twice, and new after PayPal sent the buyer back to approve again, so the
/// new approval does not get the earlier failure back (docs/paypal.md, "Idempotency").
fn capture_request_id(order_id: i64, attempt: i64) -> String {
    format!("didport-capture-{order_id}-{attempt}")
}

#[derive(Debug)]
pub enum StartError {
    /// PayPal could not be asked; the order was released.
    Gateway(String),
    Internal(Internal),
}

internal_errors!(StartError);

/// Creates the PayPal order for a new local order and returns the approval link. On failure
/// the hold is released and the order marked failed: nothing was charged.
pub fn begin_paypal(s: &Services, order_id: i64) -> Result<String, StartError> {
    let Some(paypal) = &s.payments else {
        return Err(StartError::Gateway("PayPal is not configured".into()));
    };
    let order = s
        .store
        .read(|tx| orders::get(tx, order_id))?
        .ok_or_else(|| StartError::Internal(Internal(format!("order {order_id} vanished"))))?;
    let created = paypal.create_order(&super::orders::new_order_request(s, &order, None));
    let now = s.now();
    match created {
        Ok(c) => {
            s.store
                .write(|tx| orders::set_paypal_order(tx, order.id, &c.id, now))?;
            Ok(c.approve_url)
        }
        Err(e) => {
            let msg = e.to_string();
            log::warn!("order {}: PayPal order not created: {msg}", order.id);
            s.store.write(|tx| {
                orders::release(
                    tx,
                    order.id,
                    PaymentStatus::Failed,
                    "PayPal could not start the payment",
                    now,
                )
            })?;
            Err(StartError::Gateway(msg))
        }
    }
}

/// Makes a PayPal order for an order whose buyer comes back to pay (none was made, or PayPal
/// no longer accepts the one in place of `old`). Unlike [`begin_paypal`], a failure keeps the
/// hold: the buyer may try again while it lasts. The error is for the buyer.
pub fn begin_paypal_keeping_hold(
    s: &Services,
    order: &Order,
    old: Option<&str>,
) -> Result<String, String> {
    let Some(paypal) = &s.payments else {
        return Err("PayPal is not configured".into());
    };
    let created = paypal
        .create_order(&super::orders::new_order_request(s, order, old))
        .map_err(|e| e.to_string())?;
    let now = s.now();
    let stored = s
        .store
        .write(|tx| match old {
            None => orders::set_paypal_order(tx, order.id, &created.id, now),
            Some(old) => orders::replace_paypal_order(tx, order.id, old, &created.id, now),
        })
        .map_err(|e: crate::store::Error| e.to_string())?;
    if stored {
        Ok(created.approve_url)
    } else {
        Err("the order changed meanwhile; reload it".into())
    }
}

/// What the buyer's return from PayPal led to.
#[derive(Debug)]
pub enum Returned {
    Paid(i64),
    /// PayPal holds the money for review; the webhook will finish the order.
    Pending(i64),
    /// The buyer must go back to PayPal (declined card, not approved yet).
    BackToPayPal(String),
    /// Not paid, with the reason shown on the order.
    NotPaid(i64),
    /// Money moved but not as ordered (a different amount): the admin checks it.
    NeedsReview(i64),
    /// No such order for this buyer.
    Unknown,
}

/// Captures the PayPal order `token` for `user` and records the payment.
pub fn paypal_return(s: &Services, user: &User, token: &str) -> Result<Returned, Internal> {
    let Some(paypal) = &s.payments else {
        return Ok(Returned::Unknown);
    };
    let Some(order) = s.store.read(|tx| orders::by_paypal_order(tx, token))? else {
        return Ok(Returned::Unknown);
    };
    if order.user_id != user.id {
        return Ok(Returned::Unknown);
    }
    match order.payment_status {
        PaymentStatus::Paid => return Ok(Returned::Paid(order.id)),
        // A capture is asked for only while the buyer still wants the number: awaiting
        // payment, or a hold that ran out (the store flags it if the number went elsewhere).
        PaymentStatus::AwaitingPayment | PaymentStatus::Expired => {}
        PaymentStatus::Failed | PaymentStatus::Cancelled | PaymentStatus::Refunded => {
            return Ok(Returned::NotPaid(order.id));
        }
    }
    let expected = Amount::new(order.amount_cents, &order.currency);
    let attempt = s
        .store
        .read(|tx| crate::store::settings::capture_attempt(tx, order.id))?;
    let outcome = paypal.capture_order(token, &capture_request_id(order.id, attempt));
    let capture = match outcome {
        Ok(CaptureOutcome::Captured(c)) => c.capture,
        Ok(CaptureOutcome::AlreadyCaptured) | Err(_) => {
            // A race or a lost answer: read the order to learn what happened, never guess.
            match paypal.get_order(token) {
                Ok(o) => match o.captures.into_iter().next() {
                    Some(c) => c,
                    None => return Ok(Returned::Pending(order.id)),
                },
                Err(e) => {
                    log::warn!("order {}: capture outcome unknown: {e}", order.id);
                    return Ok(Returned::Pending(order.id));
                }
            }
        }
        Ok(CaptureOutcome::NotApproved) => {
            return Ok(
                match paypal.get_order(token).ok().and_then(|o| o.approve_url) {
                    Some(url) => Returned::BackToPayPal(url),
                    None => Returned::Pending(order.id),
                },
            );
        }
        Ok(CaptureOutcome::InstrumentDeclined { redirect_url })
        | Ok(CaptureOutcome::PayerActionRequired { redirect_url }) => {
            // The buyer approves again: the capture after that is a new attempt.
            s.store
                .write(|tx| crate::store::settings::next_capture_attempt(tx, order.id))?;
            return Ok(match redirect_url {
                Some(url) => Returned::BackToPayPal(url),
                None => Returned::Pending(order.id),
            });
        }
        Ok(CaptureOutcome::Unprocessable { issue, message, .. }) => {
            let reason = format!("PayPal refused the payment ({issue}): {message}");
            release_unpaid(s, &order, user, &reason)?;
            return Ok(Returned::NotPaid(order.id));
        }
    };
    if capture.is_paid(&expected) {
        return Ok(
            match record_paid(s, &order, user, Some(&capture.id), None)? {
                // Paid after the hold ran out and the number went to someone else: the admin must
                // refund; the buyer must not be told all is well.
                Completed::NumberLost => Returned::NeedsReview(order.id),
                _ => Returned::Paid(order.id),
            },
        );
    }
    match capture.status {
        crate::integrations::paypal::CaptureStatus::Pending { .. } => {
            Ok(Returned::Pending(order.id))
        }
        crate::integrations::paypal::CaptureStatus::Completed => {
            // Money moved, but not the amount we asked for: never mark it paid; the admin checks.
            let now = s.now();
            let got = capture.amount.as_ref().map_or_else(
                || "no amount".to_string(),
                |a| format!("{} {}", a.cents, a.currency),
            );
            let reason = format!(
                "PayPal captured {got} instead of {} {}; the admin will check it",
                expected.cents, expected.currency
            );
            log::error!("order {}: {reason}", order.id);
            let admin = s.config.admin_email.as_ref().map(ToString::to_string);
            let site = notify::site(s);
            super::change(s, now, |tx, r| {
                orders::note_failure(tx, order.id, &reason, now)?;
                // Money did move, so this is a payment the admin must look at.
                r.admin_email(MailEvent::PaymentReceived, admin.as_deref(), || {
                    emails::orders::amount_differs_admin(
                        &site,
                        &emails::orders::AmountDiffers {
                            order_id: order.id,
                            number: &order.number,
                            reason: &reason,
                            customer: emails::AccountHolder {
                                name: &user.name,
                                email: &user.email,
                            },
                        },
                    )
                })?;
                r.audit(&Entry {
                    actor_id: Some(user.id),
                    actor: &user.email,
                    action: "payment_capture",
                    subject: &order.number,
                    outcome: Outcome::Failed,
                    detail: &reason,
                    address: "",
                })
            })?;
            Ok(Returned::NeedsReview(order.id))
        }
        _ => {
            release_unpaid(s, &order, user, "PayPal declined the payment")?;
            Ok(Returned::NotPaid(order.id))
        }
    }
}

/// A capture PayPal refused or declined: the order fails, its number goes back on sale, and
/// the audit log says why, in one transaction.
fn release_unpaid(s: &Services, order: &Order, user: &User, reason: &str) -> Result<(), Internal> {
    let now = s.now();
    super::change(s, now, |tx, r| {
        if orders::release(tx, order.id, PaymentStatus::Failed, reason, now)? {
            r.audit(&Entry {
                actor_id: Some(user.id),
                actor: &user.email,
                action: "payment_capture",
                subject: &order.number,
                outcome: Outcome::Failed,
                detail: reason,
                address: "",
            })?;
        }
        Ok::<_, crate::store::Error>(())
    })?;
    Ok(())
}

/// Records a payment: order paid, number sold, purchased number, invoice, emails, audit — in
/// one transaction. Safe to call twice: the second call changes nothing.
pub fn record_paid(
    s: &Services,
    order: &Order,
    user: &User,
    capture_id: Option<&str>,
    recorded_by: Option<&User>,
) -> Result<Completed, Internal> {
    let now = s.now();
    let currency = Currency::parse(&order.currency).unwrap_or(Currency::USD);
    let site = notify::site(s);
    let admin = s.config.admin_email.as_ref().map(ToString::to_string);
    // The first month runs from the purchase day; renewals keep its day of the month.
    let period_start = crate::domain::billing::day_of(now);
    let anchor_day = crate::domain::billing::day_of_month(period_start);
    let paid_through = crate::domain::billing::add_months_anchored(period_start, 1, anchor_day);
    let done = super::change(s, now, |tx, r| {
        let done = orders::complete_payment(
            tx,
            order.id,
            &Payment {
                capture_id,
                customer_email: &user.email,
                customer_name: &user.name,
                period_start,
                paid_through,
                anchor_day,
                year: year_of(now),
            },
            now,
        )?;
        let customer = emails::AccountHolder {
            name: &user.name,
            email: &user.email,
        };
        if let Completed::Invoiced {
            invoice_id,
            invoice_number,
        } = &done
        {
            let paid_through = format_date(paid_through);
            let facts = emails::orders::PaymentReceived {
                order_id: order.id,
                number: &order.number,
                plan: &order.plan_name,
                setup: Money::new(order.setup_cents, currency),
                monthly: Money::new(order.monthly_cents, currency),
                total: Money::new(order.amount_cents, currency),
                invoice_id: *invoice_id,
                invoice_number,
                paid_through: &paid_through,
                customer,
            };
            r.email(
                MailEvent::PaymentReceived,
                &user.email,
                &emails::orders::payment_received_customer(&site, &facts),
            )?;
            r.admin_email(MailEvent::PaymentReceived, admin.as_deref(), || {
                emails::orders::payment_received_admin(&site, &facts)
            })?;
        }
        if matches!(done, Completed::NumberLost) {
            r.admin_email(MailEvent::PaymentReceived, admin.as_deref(), || {
                emails::orders::number_lost_admin(
                    &site,
                    &emails::orders::NumberLost {
                        order_id: order.id,
                        number: &order.number,
                        customer,
                    },
                )
            })?;
        }
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "payment_capture",
            subject: &order.number,
            outcome: if matches!(done, Completed::NumberLost) {
                Outcome::Failed
            } else {
                Outcome::Ok
            },
            detail: &format!("order {}: {}", order.id, done.describe()),
            address: "",
        })?;
        // A payment an admin recorded by hand says who, in the same transaction.
        if let Some(admin) = recorded_by {
            r.audit(&Entry {
                actor_id: Some(admin.id),
                actor: &admin.email,
                action: "payment_offline",
                subject: &order.number,
                outcome: Outcome::Ok,
                detail: &format!("order {}: {}", order.id, done.describe()),
                address: "",
            })?;
        }
        Ok::<_, crate::store::Error>(done)
    })?;
    Ok(done)
}

/// How a webhook delivery was answered.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookResult {
    /// Verified and acted on (or verified and of no interest).
    Handled,
    /// Verified, but handled before: nothing changed.
    Duplicate,
    /// PayPal did not vouch for it: refused, nothing changed.
    Refused,
    /// PayPal could not be asked; PayPal will deliver again.
    RetryLater,
}

/// Verifies a webhook with PayPal (the body passed on byte for byte), then applies it once.
pub fn webhook(
    s: &Services,
    header: impl Fn(&str) -> Option<String>,
    body: &[u8],
) -> Result<WebhookResult, Internal> {
    let Some(paypal) = &s.payments else {
        return Ok(WebhookResult::Refused);
    };
    let Some(headers) = crate::integrations::paypal::WebhookHeaders::from_lookup(header) else {
        log::warn!("PayPal webhook refused: transmission headers missing");
        return Ok(WebhookResult::Refused);
    };
    match paypal.verify_webhook(&headers, body) {
        Ok(true) => {}
        Ok(false) => {
            log::warn!("PayPal webhook refused: verification failed");
            return Ok(WebhookResult::Refused);
        }
        Err(e) => {
            log::warn!("PayPal webhook not verified now: {e}");
            return Ok(WebhookResult::RetryLater);
        }
    }
    let Ok(event) = paypal.parse_webhook_event(body) else {
        log::warn!("PayPal webhook refused: not an event");
        return Ok(WebhookResult::Refused);
    };
    if s.store.read(|tx| orders::webhook_seen(tx, &event.id))? {
        return Ok(WebhookResult::Duplicate);
    }
    // A renewal invoice paid at PayPal (custom_id `invoice-<id>`).
    if let Some(invoice_id) = event
        .custom_id
        .as_deref()
        .and_then(|c| c.strip_prefix("invoice-"))
        .and_then(|c| c.parse::<i64>().ok())
    {
        let outcome = invoice_webhook(s, invoice_id, &event)?;
        let now = s.now();
        s.store.write(|tx| {
            orders::record_webhook(tx, &event.id, &event.event_type, None, outcome, now)
        })?;
        log::info!(
            "PayPal webhook {} {} for invoice {invoice_id}: {outcome}",
            event.id,
            event.event_type
        );
        return Ok(WebhookResult::Handled);
    }
    let order = s.store.read(|tx| {
        let by_custom = event
            .custom_id
            .as_deref()
            .and_then(|c| c.parse::<i64>().ok())
            .map(|id| orders::get(tx, id))
            .transpose()?
            .flatten();
        if let Some(o) = by_custom {
            return Ok::<_, crate::store::Error>(Some(o));
        }
        if let Some(o) = event
            .order_id
            .as_deref()
            .map(|pp| orders::by_paypal_order(tx, pp))
            .transpose()?
            .flatten()
        {
            return Ok(Some(o));
        }
        // A refund made in PayPal's dashboard, a reversal or a dispute names only the
        // capture (a refund through its `up` link): match it by the stored capture id.
        match &event.capture_id {
            Some(c) => orders::by_capture(tx, c),
            None => Ok(None),
        }
    })?;
    let now = s.now();
    let outcome = match (event.event_type.as_str(), &order) {
        ("PAYMENT.CAPTURE.COMPLETED", Some(o)) => {
            let expected = Amount::new(o.amount_cents, &o.currency);
            if event.amount.as_ref() != Some(&expected) {
                log::error!(
                    "order {}: webhook capture amount differs from the order",
                    o.id
                );
                s.store.write(|tx| {
                    orders::note_failure(
                        tx,
                        o.id,
                        "PayPal reported a capture of another amount; the admin will check it",
                        now,
                    )
                })?;
                "amount differs"
            } else {
                let user = s
                    .store
                    .read(|tx| crate::store::users::by_id(tx, o.user_id))?
                    .ok_or_else(|| Internal(format!("order {} has no customer", o.id)))?;
                match record_paid(s, o, &user, event.capture_id.as_deref(), None)? {
                    Completed::Invoiced { .. } => "paid",
                    Completed::AlreadyPaid => "already paid",
                    Completed::NumberLost => "paid, number lost",
                }
            }
        }
        ("PAYMENT.CAPTURE.DENIED", Some(o)) => {
            s.store.write(|tx| {
                orders::release(
                    tx,
                    o.id,
                    PaymentStatus::Failed,
                    "PayPal denied the payment",
                    now,
                )
            })?;
            "released"
        }
        ("PAYMENT.CAPTURE.REFUNDED", Some(o)) => {
            match super::refunds::record(
                s,
                o,
                &super::refunds::Refunder::Gateway,
                "refunded in PayPal",
            )? {
                Some(_) => "refunded",
                None => "not paid here: nothing to refund",
            }
        }
        ("PAYMENT.CAPTURE.REVERSED", Some(o)) => {
            alert_admin(
                s,
                o,
                "PayPal reversed the payment (a chargeback or reversal)",
            )?;
            "reversed: admin told"
        }
        ("CUSTOMER.DISPUTE.CREATED", Some(o)) => {
            alert_admin(s, o, "the buyer opened a dispute in PayPal")?;
            "dispute: admin told"
        }
        ("PAYMENT.CAPTURE.REVERSED" | "CUSTOMER.DISPUTE.CREATED", None) => {
            // Money is at stake and no order matches: the admin must still hear of it.
            alert_admin_unmatched(s, &event)?;
            "no matching order: admin told"
        }
        (_, None) => "no matching order",
        _ => "ignored",
    };
    let order_id = order.as_ref().map(|o| o.id);
    s.store.write(|tx| {
        orders::record_webhook(tx, &event.id, &event.event_type, order_id, outcome, now)
    })?;
    log::info!(
        "PayPal webhook {} {}: {outcome}",
        event.id,
        event.event_type
    );
    Ok(WebhookResult::Handled)
}

/// Marks the order (its `failure` note) and emails the admin a CHECK message naming the
/// number and the customer. The order's status is left alone: what to do (suspend the number,
/// answer the dispute) is the admin's call.
fn alert_admin(s: &Services, o: &Order, what: &str) -> Result<(), Internal> {
    let now = s.now();
    let site = notify::site(s);
    let admin = s.config.admin_email.as_ref().map(ToString::to_string);
    let customer = s
        .store
        .read(|tx| crate::store::users::by_id(tx, o.user_id))?
        .map_or_else(
            || (String::new(), format!("user {}", o.user_id)),
            |u| (u.name, u.email),
        );
    let note = format!("CHECK: {what}; see PayPal");
    super::change(s, now, |tx, r| {
        orders::note_failure(tx, o.id, &note, now)?;
        r.admin_email(MailEvent::PaymentReceived, admin.as_deref(), || {
            emails::orders::payment_alert_admin(
                &site,
                &emails::orders::PaymentAlert {
                    order_id: o.id,
                    number: &o.number,
                    what,
                    customer: emails::AccountHolder {
                        name: &customer.0,
                        email: &customer.1,
                    },
                },
            )
        })?;
        r.audit(&Entry {
            actor_id: None,
            actor: "paypal",
            action: "payment_alert",
            subject: &o.number,
            outcome: Outcome::Failed,
            detail: &format!("order {}: {what}", o.id),
            address: "",
        })
    })?;
    Ok(())
}

/// A reversal or dispute that matches no order: the admin gets the PayPal ids to look up.
fn alert_admin_unmatched(
    s: &Services,
    event: &crate::integrations::paypal::WebhookEvent,
) -> Result<(), Internal> {
    let Some(admin) = s.config.admin_email.as_ref().map(ToString::to_string) else {
        return Ok(());
    };
    let now = s.now();
    let site = notify::site(s);
    super::change(s, now, |_, r| {
        r.email(
            MailEvent::PaymentReceived,
            &admin,
            &emails::orders::unmatched_payment_event_admin(
                &site,
                &emails::orders::UnmatchedPaymentEvent {
                    event_type: &event.event_type,
                    event_id: &event.id,
                    capture_id: event.capture_id.as_deref().unwrap_or("-"),
                    paypal_order_id: event.order_id.as_deref().unwrap_or("-"),
                },
            ),
        )
        .map(|_| ())
    })?;
    Ok(())
}

/// A webhook about a renewal invoice: a completed capture of its exact amount pays it.
fn invoice_webhook(
    s: &Services,
    invoice_id: i64,
    event: &crate::integrations::paypal::WebhookEvent,
) -> Result<&'static str, Internal> {
    let Some(inv) = s.store.read(|tx| orders::invoice(tx, invoice_id))? else {
        return Ok("no matching invoice");
    };
    if event.event_type != "PAYMENT.CAPTURE.COMPLETED" {
        return Ok("ignored");
    }
    if event.amount.as_ref() != Some(&Amount::new(inv.total_cents, &inv.currency)) {
        log::error!("invoice {invoice_id}: webhook capture amount differs from the invoice");
        return Ok("amount differs");
    }
    Ok(
        match super::billing::record_payment(s, invoice_id, event.capture_id.as_deref(), "PayPal")?
        {
            super::billing::RenewalOutcome::Paid { .. } => "renewal paid",
            super::billing::RenewalOutcome::NotOpen => "already paid",
        },
    )
}

#[derive(Debug)]
pub enum AdminPaymentError {
    /// The order is not in a state that allows this.
    WrongState(String),
    /// PayPal refused or could not be reached; nothing changed here.
    Gateway(String),
    /// PayPal took the refund but holds it as pending (its reason, when given); nothing
    /// changed here until PayPal reports it done.
    RefundPending(Option<String>),
    Internal(Internal),
}

internal_errors!(AdminPaymentError);

fn load_with_customer(s: &Services, id: i64) -> Result<(Order, User), AdminPaymentError> {
    let found = s.store.read(|tx| {
        let Some(o) = orders::get(tx, id)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        Ok(crate::store::users::by_id(tx, o.user_id)?.map(|u| (o, u)))
    })?;
    found.ok_or_else(|| AdminPaymentError::WrongState("There is no such order.".into()))
}

/// The manual gateway: the admin records a payment received outside PayPal (a bank transfer).
/// Same invoice and emails as a PayPal payment.
pub fn record_offline(s: &Services, admin: &User, id: i64) -> Result<Completed, AdminPaymentError> {
    let (order, customer) = load_with_customer(s, id)?;
    // An offline payment is recorded for an order the buyer still wants: awaiting payment, or
    // a hold that ran out (the number may have gone elsewhere, which the store flags).
    if !matches!(
        order.payment_status,
        PaymentStatus::AwaitingPayment | PaymentStatus::Expired
    ) {
        return Err(AdminPaymentError::WrongState(
            payment_change(order.payment_status, PaymentStatus::Paid)
                .err()
                .map_or_else(
                    || {
                        format!(
                            "Order {id} is {}, so no payment can be recorded for it.",
                            order.payment_status.label().to_lowercase()
                        )
                    },
                    |r| r.0,
                ),
        ));
    }
    Ok(record_paid(s, &order, &customer, None, Some(admin))?)
}
