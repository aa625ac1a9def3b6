//! Reconciliation: finds what an interruption (a crash, a killed process, a buyer who closed
//! the tab) left behind and settles each case by reading the upstream state, never by
//! guessing.
//!
//! - Unpaid PayPal orders whose hold ran out, or that are older than the grace period, are
//!   read back from PayPal: approved or captured ones are captured and recorded (the same path
//!   as the buyer's return); ones PayPal never saw approved are ended when their hold runs out.
//!   If PayPal cannot be read, the order is left as it is for the next pass.
//! - PayPal orders that never got a PayPal order id are ended: the buyer never got a link.
//! - Activations whose run died midway are run again; each step looks before it acts.
//! - Settings changes cut short at Telinta are read back from Telinta: a forwarding number
//!   Telinta has is saved; the admin is told what happened, including that a PIN cannot be
//!   read back and the customer should set it again.
//!
//! It runs in the housekeeping thread (at start, then every pass) and from the admin's
//! button. Everything it does is safe to run twice and concurrently with the normal flows:
//! captures use the order's stable request id and payments are recorded by compare-and-set.

use super::runs::Work;
use super::{Internal, Services, activation, notify, payments};
use crate::domain::phone::pretty;
use crate::domain::{MailEvent, PaymentStatus};
use crate::integrations::paypal::{Amount, CaptureStatus, OrderStatus};
use crate::integrations::telinta::ForwardMode;
use crate::store::audit::{Entry, Outcome};
use crate::store::{orders, purchased, users};

/// An unpaid PayPal order older than this is read back from PayPal: long enough for a buyer at
/// PayPal's page.
pub const GRACE_SECS: i64 = 300;

/// What one pass settled.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Orders recorded as paid after reading PayPal.
    pub paid: usize,
    /// Orders ended and their numbers put back on sale.
    pub released: usize,
    /// Interrupted activations run again (finished or failed, with the admin told).
    pub activations: usize,
    /// Interrupted settings changes settled.
    pub settings: usize,
    /// Cases left for the next pass, with why (an upstream could not be read).
    pub unsettled: Vec<String>,
}

impl ReconcileReport {
    pub fn is_empty(&self) -> bool {
        *self == ReconcileReport::default()
    }

    /// One line for a log or a flash message.
    pub fn summary(&self) -> String {
        let mut parts = vec![
            format!("{} paid", self.paid),
            format!("{} released", self.released),
            format!("{} activations resumed", self.activations),
            format!("{} settings changes settled", self.settings),
        ];
        if !self.unsettled.is_empty() {
            parts.push(format!(
                "{} left for later ({})",
                self.unsettled.len(),
                self.unsettled.join("; ")
            ));
        }
        parts.join(", ")
    }
}

/// One pass. Unpaid PayPal orders started before `stale_before` are read back from PayPal;
/// activations and settings changes count as interrupted when the run that claimed them is
/// gone, or when this run's flow no longer holds them or is stuck (see workflow/runs.rs).
pub fn run(s: &Services, stale_before: i64) -> Result<ReconcileReport, Internal> {
    let mut report = ReconcileReport::default();
    paypal_orders(s, stale_before, &mut report)?;
    renewal_payments(s, &mut report)?;
    activations(s, &mut report)?;
    settings_changes(s, &mut report)?;
    if !report.is_empty() {
        log::info!("reconciliation: {}", report.summary());
    }
    Ok(report)
}

fn paypal_orders(
    s: &Services,
    stale_before: i64,
    report: &mut ReconcileReport,
) -> Result<(), Internal> {
    let now = s.now();
    let never_sent = s
        .store
        .read(|tx| orders::never_sent_to_paypal(tx, stale_before))?;
    for id in never_sent {
        let released = s.store.write(|tx| {
            orders::release(
                tx,
                id,
                PaymentStatus::Failed,
                "the payment never reached PayPal; nothing was charged",
                now,
            )
        })?;
        report.released += usize::from(released);
    }
    let Some(paypal) = &s.payments else {
        return Ok(());
    };
    let waiting = s
        .store
        .read(|tx| orders::awaiting_paypal(tx, stale_before, now))?;
    for (order, paypal_id) in waiting {
        let upstream = match paypal.get_order(&paypal_id) {
            Ok(o) => Some(o),
            Err(e) if e.is_not_found() => None,
            Err(e) => {
                report
                    .unsettled
                    .push(format!("order {}: PayPal could not be read: {e}", order.id));
                continue;
            }
        };
        let hold_over = order.hold_until <= now;
        let Some(user) = s.store.read(|tx| users::by_id(tx, order.user_id))? else {
            continue;
        };
        match upstream.as_ref().map(|o| (&o.status, o.captures.first())) {
            // Captured at PayPal, and the portal never heard: record it from PayPal's record.
            Some((OrderStatus::Completed, Some(capture))) => {
                let expected = Amount::new(order.amount_cents, &order.currency);
                if capture.is_paid(&expected) {
                    payments::record_paid(s, &order, &user, Some(&capture.id), None)?;
                    report.paid += 1;
                } else if matches!(capture.status, CaptureStatus::Completed)
                    && order.failure.is_none()
                {
                    // Money moved, but not the amount ordered, and nobody has said so yet: the
                    // buyer's return path notes it on the order and sends the admin a CHECK
                    // email (once: the order carries the note afterwards).
                    payments::paypal_return(s, &user, &paypal_id)?;
                    report.unsettled.push(format!(
                        "order {}: PayPal captured a different amount; the admin was told",
                        order.id
                    ));
                } else if matches!(capture.status, CaptureStatus::Pending { .. })
                    || matches!(capture.status, CaptureStatus::Completed)
                {
                    // Pending review (the webhook finishes it), or an amount the admin was
                    // already told to check: not for a guess here.
                    report.unsettled.push(format!(
                        "order {}: PayPal capture {} is {}",
                        order.id,
                        capture.id,
                        capture.status.as_str()
                    ));
                } else {
                    let released = s.store.write(|tx| {
                        orders::release(
                            tx,
                            order.id,
                            PaymentStatus::Failed,
                            "PayPal declined the payment",
                            now,
                        )
                    })?;
                    report.released += usize::from(released);
                }
            }
            // The buyer approved and never came back (or the capture was cut short before
            // PayPal took it): capture it as the buyer's return would, while the hold lasts.
            // An approval whose hold ran out is not captured: the number may be sold.
            Some((OrderStatus::Approved, _)) | Some((OrderStatus::Completed, None))
                if !hold_over =>
            {
                match payments::paypal_return(s, &user, &paypal_id)? {
                    payments::Returned::Paid(_) => report.paid += 1,
                    payments::Returned::NotPaid(_) => report.released += 1,
                    other => report
                        .unsettled
                        .push(format!("order {}: after capture, {other:?}", order.id)),
                }
            }
            Some((OrderStatus::Voided, _)) | None => {
                let released = s.store.write(|tx| {
                    orders::release(
                        tx,
                        order.id,
                        PaymentStatus::Failed,
                        "PayPal has no payment for this order; nothing was charged",
                        now,
                    )
                })?;
                report.released += usize::from(released);
            }
            _ if hold_over => {
                let released = s.store.write(|tx| {
                    orders::release(
                        tx,
                        order.id,
                        PaymentStatus::Expired,
                        "the hold ran out before payment; nothing was charged",
                        now,
                    )
                })?;
                report.released += usize::from(released);
            }
            // Still at PayPal's page within the hold: leave it to the buyer.
            _ => {}
        }
    }
    Ok(())
}

/// Renewal invoices whose customer approved at PayPal but never came back (or whose capture
/// answer was lost): captured and recorded as the return would.
fn renewal_payments(s: &Services, report: &mut ReconcileReport) -> Result<(), Internal> {
    let Some(paypal) = &s.payments else {
        return Ok(());
    };
    let waiting = s.store.read(crate::store::billing::open_at_paypal)?;
    for (invoice_id, paypal_id, owner) in waiting {
        match paypal.get_order(&paypal_id) {
            Ok(o) if matches!(o.status, OrderStatus::Approved | OrderStatus::Completed) => {
                if let Some(super::billing::InvoiceReturn::Paid(_)) =
                    super::billing::invoice_return(s, owner, &paypal_id)?
                {
                    report.paid += 1;
                }
            }
            Ok(_) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => report.unsettled.push(format!(
                "invoice {invoice_id}: PayPal could not be read: {e}"
            )),
        }
    }
    Ok(())
}

fn activations(s: &Services, report: &mut ReconcileReport) -> Result<(), Internal> {
    let claimed = s.store.read(purchased::claimed_activations)?;
    let stalled = claimed.into_iter().filter(|p| {
        s.run
            .interrupted(&s.store, Work::Activation, p.order_id, p.activating_run)
    });
    for p in stalled {
        log::warn!(
            "order {}: the activation of {} stopped midway; running it again",
            p.order_id,
            pretty(&p.number)
        );
        match activation::resume(s, &p) {
            // A failure was recorded and the admin emailed by the flow itself.
            Ok(()) | Err(activation::StatusChangeError::Activation { .. }) => {
                report.activations += 1
            }
            // Someone else took it over, or its status moved on: nothing left to do here.
            Err(activation::StatusChangeError::Moved(_))
            | Err(activation::StatusChangeError::NoNumber) => {}
            Err(activation::StatusChangeError::BadStatus) => {}
            // The rules no longer allow it (refunded meanwhile): the claim is let go, with why.
            Err(activation::StatusChangeError::Refused(why)) => {
                let now = s.now();
                s.store
                    .write(|tx| purchased::release_claim(tx, p.order_id, Some(&why), now))?;
                report.activations += 1;
            }
            Err(activation::StatusChangeError::Internal(e)) => return Err(e),
        }
    }
    Ok(())
}

fn settings_changes(s: &Services, report: &mut ReconcileReport) -> Result<(), Internal> {
    let cut_short: Vec<_> = s
        .store
        .read(purchased::pending_settings)?
        .into_iter()
        .filter(|c| {
            s.run
                .interrupted(&s.store, Work::Settings, c.p.order_id, c.run)
        })
        .collect();
    if cut_short.is_empty() {
        return Ok(());
    }
    let Some(t) = &s.telinta else {
        report
            .unsettled
            .push("settings changes: Telinta is not configured".into());
        return Ok(());
    };
    for c in cut_short {
        let n = &c.p.number;
        // What Telinta holds now: the forwarding mode and the first follow-me number.
        let found = t.get_account(n).and_then(|a| match a {
            None => Ok((true, None)),
            Some(a) => t.get_follow_me(a.i_account).map(|f| {
                (
                    a.forward_mode == ForwardMode::Off,
                    f.numbers.first().map(|x| x.redirect_number.clone()),
                )
            }),
        });
        let (upstream_off, upstream_forwarding) = match found {
            Ok(f) => f,
            Err(e) => {
                report.unsettled.push(format!(
                    "settings of {}: Telinta could not be read: {e}",
                    pretty(n)
                ));
                continue;
            }
        };
        let asked_off = c.forwarding.as_deref() == Some(purchased::FORWARDING_OFF);
        let took_off = asked_off && upstream_off;
        let took_forwarding =
            !asked_off && c.forwarding.is_some() && upstream_forwarding == c.forwarding;
        let now = s.now();
        let site = notify::site(s);
        let admin_email = s.config.admin_email.as_ref().map(ToString::to_string);
        let customer = s.store.read(|tx| users::by_id(tx, c.p.user_id))?;
        let customer_email = customer.as_ref().map_or("", |u| u.email.as_str());
        let customer_name = customer.as_ref().map_or("", |u| u.name.as_str());
        let mut found_lines = Vec::new();
        if asked_off {
            found_lines.push(if took_off {
                "Telinta has forwarding off, as asked; the portal now shows it off too.".to_string()
            } else {
                "Telinta still forwards calls; the portal kept its old value.".to_string()
            });
        } else if let Some(f) = &c.forwarding {
            found_lines.push(if took_forwarding {
                format!("Telinta forwards calls to {f}, as asked; the portal now shows it too.")
            } else {
                format!(
                    "Telinta does not forward to {f} (it has {}); the portal kept its old value.",
                    upstream_forwarding.as_deref().unwrap_or("no forwarding")
                )
            });
        }
        if c.pin {
            found_lines.push(
                "A new PIN was asked for; Telinta does not show PINs, so ask the customer to set it again."
                    .to_string(),
            );
        }
        super::change(s, now, |tx, r| {
            if took_forwarding {
                purchased::save_settings(tx, c.p.order_id, false, c.forwarding.as_deref(), now)?;
            }
            if took_off {
                purchased::clear_forwarding(tx, c.p.order_id, now)?;
            }
            purchased::end_settings(tx, c.p.order_id)?;
            r.admin_email(
                MailEvent::SettingsChangeFailed,
                admin_email.as_deref(),
                || {
                    crate::emails::numbers::settings_interrupted_admin(
                        &site,
                        &crate::emails::numbers::SettingsInterrupted {
                            number: n,
                            findings: &found_lines,
                            customer: crate::emails::AccountHolder {
                                name: customer_name,
                                email: customer_email,
                            },
                        },
                    )
                },
            )?;
            r.audit(&Entry {
                actor_id: None,
                actor: "reconciliation",
                action: "number_settings",
                subject: n,
                outcome: Outcome::Failed,
                detail: &format!(
                    "interrupted change settled: forwarding {}",
                    if took_forwarding || took_off {
                        "saved from Telinta"
                    } else {
                        "unchanged"
                    }
                ),
                address: "",
            })
        })?;
        report.settings += 1;
    }
    Ok(())
}
