//! The monthly renewal cycle (docs: README "Renewals").
//!
//! For each number that renews, judged by its own dates against the day of the run:
//! - `DIDPORT_RENEWAL_NOTICE_DAYS` before `paid_through`: the renewal invoice for the next
//!   month, and `renewal_due` to the customer;
//! - on `paid_through`, still unpaid: `payment_overdue` to the customer;
//! - `DIDPORT_GRACE_DAYS` after it, still unpaid and active: the Telinta account is blocked
//!   (and read back), then the portal says `suspended`, then `number_suspended_unpaid` to both;
//!   a Telinta failure changes nothing here and sends `suspension_failed` to the admin (once);
//! - a number set to cancel becomes `cancelled` on `paid_through` (`number_cancelled` to both).
//!
//! Every step is recorded in `billing_events` in the transaction that queues its email, and
//! runs only if it was not recorded before, so two runs for one day, a run for a later day, or
//! a run cut short and started again, never do a step twice. Upstream first: the Telinta call
//! of a suspension is made before anything is written, and blocking twice is harmless.

use super::{Internal, Services, notify};
use crate::clock::year_of;
use crate::domain::billing::{DAY, add_months_anchored, due, format_day};
use crate::domain::money::Currency;
use crate::domain::phone::pretty;
use crate::domain::{BillingStep, InvoiceStatus, MailEvent, Money, NumberStatus};
use crate::emails;
use crate::integrations::telinta::AccountUpdate;
use crate::store::audit::{Entry, Outcome};
use crate::store::billing::{self, Renewable};
use crate::store::purchased;

/// What one run did (or, dry, would do).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BillingReport {
    pub invoices: usize,
    pub overdue_notices: usize,
    pub suspended: usize,
    pub suspension_failures: usize,
    pub cancelled: usize,
    pub reactivated: usize,
    /// One line per action, for `--dry-run` and the log.
    pub actions: Vec<String>,
}

impl BillingReport {
    pub fn summary(&self) -> String {
        format!(
            "{} renewal invoices, {} overdue notices, {} suspended, {} suspensions failed, \
             {} cancelled, {} reactivated",
            self.invoices,
            self.overdue_notices,
            self.suspended,
            self.suspension_failures,
            self.cancelled,
            self.reactivated
        )
    }
}

/// The audit entry of a step the cycle took by itself.
fn system_audit(
    r: &mut super::change::Report<'_>,
    action: &str,
    number: &str,
    outcome: Outcome,
    detail: &str,
) -> crate::store::Result<()> {
    r.audit(&Entry {
        actor_id: None,
        actor: "billing",
        action,
        subject: number,
        outcome,
        detail,
        address: "",
    })
}

fn money(cents: i64, currency: &str) -> Money {
    Money::new(cents, Currency::parse(currency).unwrap_or(Currency::USD))
}

/// One run of the cycle as if today were `today` (midnight UTC). With `dry_run` nothing is
/// written and no upstream is called; the report lists what would be done.
pub fn run(s: &Services, today: i64, dry_run: bool) -> Result<BillingReport, Internal> {
    let notice = i64::from(s.config.renewal_notice_days);
    let grace = i64::from(s.config.grace_days);
    let mut report = BillingReport::default();
    let numbers = s
        .store
        .read(|tx| billing::due_by(tx, today + notice * DAY))?;
    for n in numbers {
        let d = due(today, n.paid_through, notice, grace, n.cancel_at_period_end);
        if d.cancel {
            cancel(s, &n, dry_run, &mut report)?;
            continue;
        }
        if d.invoice {
            invoice(s, &n, dry_run, &mut report)?;
        }
        let open = s
            .store
            .read(|tx| billing::renewal_for(tx, n.order_id, n.paid_through))?
            .filter(|i| i.status == InvoiceStatus::Open);
        if open.is_none() && !dry_run {
            continue;
        }
        if d.overdue_notice {
            overdue(s, &n, dry_run, &mut report)?;
        }
        if d.suspend && n.status == NumberStatus::Active {
            suspend(s, &n, today, dry_run, &mut report)?;
        }
    }
    if !dry_run {
        retry_reactivations(s, today, &mut report)?;
        if report != BillingReport::default() {
            s.mail.wake();
            log::info!("renewals for {}: {}", format_day(today), report.summary());
        }
    }
    Ok(report)
}

fn invoice(
    s: &Services,
    n: &Renewable,
    dry: bool,
    report: &mut BillingReport,
) -> Result<(), Internal> {
    let end = add_months_anchored(n.paid_through, 1, n.anchor_day);
    let amount = money(n.monthly_cents, &n.currency);
    let phone = pretty(&n.number);
    if dry {
        let exists = s
            .store
            .read(|tx| billing::renewal_for(tx, n.order_id, n.paid_through))?
            .is_some();
        if !exists {
            report.invoices += 1;
            report.actions.push(format!(
                "invoice {phone} ({}) {amount} for {} to {}",
                n.email,
                format_day(n.paid_through),
                format_day(end)
            ));
        }
        return Ok(());
    }
    let now = s.now();
    let site = notify::site(s);
    let line = format!(
        "Monthly fee, plan {}, {phone}, {} to {}",
        n.plan_name,
        format_day(n.paid_through),
        format_day(end)
    );
    let issued = super::change::change(s, now, |tx, r| {
        r.leave_wake_to_caller();
        let Some((id, number)) = billing::issue_renewal(tx, n, end, &line, year_of(now), now)?
        else {
            return Ok::<_, crate::store::Error>(false);
        };
        if billing::mark(tx, n.order_id, n.paid_through, BillingStep::RenewalDue, now)? {
            let (paid_through, period_end) = (format_day(n.paid_through), format_day(end));
            r.email(
                MailEvent::RenewalDue,
                &n.email,
                &emails::renewals::renewal_due_customer(
                    &site,
                    &emails::renewals::RenewalDue {
                        number: &n.number,
                        invoice_id: id,
                        invoice_number: &number,
                        amount,
                        paid_through: &paid_through,
                        period_end: &period_end,
                        grace_days: s.config.grace_days,
                    },
                ),
            )?;
        }
        system_audit(
            r,
            "renewal_invoice",
            &n.number,
            Outcome::Ok,
            &format!("order {}: {number}, {amount}", n.order_id),
        )?;
        Ok(true)
    })?;
    if issued {
        report.invoices += 1;
        report.actions.push(format!("invoiced {phone}"));
    }
    Ok(())
}

fn overdue(
    s: &Services,
    n: &Renewable,
    dry: bool,
    report: &mut BillingReport,
) -> Result<(), Internal> {
    let phone = pretty(&n.number);
    if dry {
        if !s
            .store
            .read(|tx| billing::marked(tx, n.order_id, n.paid_through, BillingStep::Overdue))?
        {
            report.overdue_notices += 1;
            report
                .actions
                .push(format!("overdue notice {phone} ({})", n.email));
        }
        return Ok(());
    }
    let now = s.now();
    let site = notify::site(s);
    let sent = super::change::change(s, now, |tx, r| {
        r.leave_wake_to_caller();
        if !billing::mark(tx, n.order_id, n.paid_through, BillingStep::Overdue, now)? {
            return Ok::<_, crate::store::Error>(false);
        }
        let invoice_id = billing::renewal_for(tx, n.order_id, n.paid_through)?.map(|i| i.id);
        let paid_through = format_day(n.paid_through);
        r.email(
            MailEvent::PaymentOverdue,
            &n.email,
            &emails::renewals::payment_overdue_customer(
                &site,
                &emails::renewals::PaymentOverdue {
                    number: &n.number,
                    paid_through: &paid_through,
                    invoice_id,
                    grace_days: s.config.grace_days,
                },
            ),
        )?;
        Ok(true)
    })?;
    if sent {
        report.overdue_notices += 1;
        report.actions.push(format!("overdue notice {phone}"));
    }
    Ok(())
}

/// Blocks the account at Telinta and reads it back; the error for the admin otherwise.
fn set_blocked(s: &Services, number: &str, blocked: bool) -> Result<(), String> {
    let t = s.telinta.as_ref().ok_or("Telinta is not configured")?;
    let account = t
        .get_account(number)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the number account 1{number} does not exist at Telinta"))?;
    if account.blocked != blocked {
        let mut update = AccountUpdate::new(account.i_account);
        update.blocked = Some(blocked);
        t.update_account(&update).map_err(|e| e.to_string())?;
    }
    let back = t
        .get_account(number)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("the number account 1{number} vanished at Telinta"))?;
    if back.blocked != blocked {
        return Err(format!(
            "Telinta answered success, but the account is {} blocked",
            if back.blocked { "still" } else { "not" }
        ));
    }
    Ok(())
}

fn suspend(
    s: &Services,
    n: &Renewable,
    today: i64,
    dry: bool,
    report: &mut BillingReport,
) -> Result<(), Internal> {
    let phone = pretty(&n.number);
    let days = (today - n.paid_through) / DAY;
    if dry {
        report.suspended += 1;
        report.actions.push(format!(
            "suspend {phone} ({}), {days} days overdue: block at Telinta, then suspended",
            n.email
        ));
        return Ok(());
    }
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    match set_blocked(s, &n.number, true) {
        Ok(()) => {
            let now = s.now();
            let done = super::change::change(s, now, |tx, r| {
                r.leave_wake_to_caller();
                if !purchased::set_status(
                    tx,
                    n.order_id,
                    NumberStatus::Active,
                    NumberStatus::Suspended,
                    now,
                )? {
                    return Ok::<_, crate::store::Error>(false);
                }
                billing::mark(tx, n.order_id, n.paid_through, BillingStep::Suspended, now)?;
                let invoice_id =
                    billing::renewal_for(tx, n.order_id, n.paid_through)?.map(|i| i.id);
                let since = format_day(n.paid_through);
                let facts = emails::renewals::Suspended {
                    number: &n.number,
                    since: &since,
                    days_overdue: days,
                    invoice_id,
                    customer: emails::AccountHolder {
                        name: &n.name,
                        email: &n.email,
                    },
                };
                r.email(
                    MailEvent::NumberSuspendedUnpaid,
                    &n.email,
                    &emails::renewals::suspended_customer(&site, &facts),
                )?;
                r.admin_email(
                    MailEvent::NumberSuspendedUnpaid,
                    admin_to.as_deref(),
                    || emails::renewals::suspended_admin(&site, &facts),
                )?;
                system_audit(
                    r,
                    "number_suspend",
                    &n.number,
                    Outcome::Ok,
                    &format!("order {}: {days} days overdue", n.order_id),
                )?;
                Ok(true)
            })?;
            if done {
                report.suspended += 1;
                report.actions.push(format!("suspended {phone}"));
            }
        }
        Err(e) => {
            let now = s.now();
            let first = super::change::change(s, now, |tx, r| {
                r.leave_wake_to_caller();
                let first = billing::mark(
                    tx,
                    n.order_id,
                    n.paid_through,
                    BillingStep::SuspensionFailed,
                    now,
                )?;
                if first {
                    r.admin_email(MailEvent::SuspensionFailed, admin_to.as_deref(), || {
                        emails::renewals::suspension_failed_admin(
                            &site,
                            &emails::renewals::SuspensionFailed {
                                number: &n.number,
                                days_overdue: days,
                                error: &e,
                                customer: emails::AccountHolder {
                                    name: &n.name,
                                    email: &n.email,
                                },
                            },
                        )
                    })?;
                }
                system_audit(r, "number_suspend", &n.number, Outcome::Failed, &e)?;
                Ok::<_, crate::store::Error>(first)
            })?;
            report.suspension_failures += 1;
            report
                .actions
                .push(format!("suspension of {phone} failed: {e}"));
            if first {
                log::warn!("suspension of {phone} failed: {e}");
            }
        }
    }
    Ok(())
}

fn cancel(
    s: &Services,
    n: &Renewable,
    dry: bool,
    report: &mut BillingReport,
) -> Result<(), Internal> {
    let phone = pretty(&n.number);
    if dry {
        report.cancelled += 1;
        report
            .actions
            .push(format!("cancel {phone} ({}) as they asked", n.email));
        return Ok(());
    }
    let now = s.now();
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    let done = super::change::change(s, now, |tx, r| {
        r.leave_wake_to_caller();
        if !billing::cancel_at_end(tx, n.order_id, now)? {
            return Ok::<_, crate::store::Error>(false);
        }
        billing::mark(tx, n.order_id, n.paid_through, BillingStep::Cancelled, now)?;
        let as_of = format_day(n.paid_through);
        let facts = emails::renewals::Cancelled {
            number: &n.number,
            as_of: &as_of,
            customer: emails::AccountHolder {
                name: &n.name,
                email: &n.email,
            },
        };
        r.email(
            MailEvent::NumberCancelled,
            &n.email,
            &emails::renewals::cancelled_customer(&site, &facts),
        )?;
        r.admin_email(MailEvent::NumberCancelled, admin_to.as_deref(), || {
            emails::renewals::cancelled_admin(&site, &facts)
        })?;
        system_audit(
            r,
            "number_cancel",
            &n.number,
            Outcome::Ok,
            &format!("order {}: stopped renewing", n.order_id),
        )?;
        Ok(true)
    })?;
    if done {
        report.cancelled += 1;
        report.actions.push(format!("cancelled {phone}"));
    }
    Ok(())
}

/// What recording a renewal payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RenewalOutcome {
    /// Paid now: `paid_through` moved to this day.
    Paid { paid_through: i64 },
    /// The invoice was not open (paid before, void): nothing changed.
    NotOpen,
}

/// Records the payment of renewal invoice `invoice_id` (the gateway's capture, or the admin's
/// offline payment): invoice paid, `paid_through` one month on, `renewal_paid` to both; a
/// number suspended for this renewal is unblocked at Telinta first and then made active.
pub fn record_payment(
    s: &Services,
    invoice_id: i64,
    capture_id: Option<&str>,
    actor: &str,
) -> Result<RenewalOutcome, Internal> {
    let now = s.now();
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    let paid = super::change(s, now, |tx, r| {
        let Some(paid) = billing::pay_renewal(tx, invoice_id, capture_id, now)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        let Some(n) = billing::renewable_by_order(tx, paid.order_id)? else {
            return Ok(Some(paid));
        };
        let paid_through = format_day(paid.period_end);
        let facts = emails::renewals::RenewalPayment {
            number: &n.number,
            invoice_id,
            amount: money(n.monthly_cents, &n.currency),
            paid_through: &paid_through,
            by: actor,
            customer: emails::AccountHolder {
                name: &n.name,
                email: &n.email,
            },
        };
        r.email(
            MailEvent::RenewalPaid,
            &n.email,
            &emails::renewals::renewal_paid_customer(&site, &facts),
        )?;
        r.admin_email(MailEvent::RenewalPaid, admin_to.as_deref(), || {
            emails::renewals::renewal_paid_admin(&site, &facts)
        })?;
        r.audit(&Entry {
            actor_id: None,
            actor,
            action: "renewal_paid",
            subject: &n.number,
            outcome: Outcome::Ok,
            detail: &format!(
                "invoice {invoice_id}, through {}",
                format_day(paid.period_end)
            ),
            address: "",
        })?;
        Ok(Some(paid))
    })?;
    let Some(paid) = paid else {
        return Ok(RenewalOutcome::NotOpen);
    };
    reactivate_if_suspended_for(s, paid.order_id, paid.period_start)?;
    Ok(RenewalOutcome::Paid {
        paid_through: paid.period_end,
    })
}

/// A number suspended because the renewal of `period_start` was unpaid, and now paid: unblock
/// at Telinta first, then `active` and `number_reactivated` to both. A Telinta failure keeps
/// the payment and the suspension and tells the admin (once); the next run tries again.
/// Returns whether it was reactivated.
fn reactivate_if_suspended_for(
    s: &Services,
    order_id: i64,
    period_start: i64,
) -> Result<bool, Internal> {
    let found = s.store.read(|tx| {
        let n = billing::renewable_by_order(tx, order_id)?;
        let suspended_for_it = billing::marked(tx, order_id, period_start, BillingStep::Suspended)?
            && !billing::marked(tx, order_id, period_start, BillingStep::Reactivated)?;
        Ok::<_, crate::store::Error>(n.filter(|n| {
            suspended_for_it && n.status == NumberStatus::Suspended && n.paid_through > period_start
        }))
    })?;
    let Some(n) = found else {
        return Ok(false);
    };
    let phone = pretty(&n.number);
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    let now = s.now();
    match set_blocked(s, &n.number, false) {
        Ok(()) => {
            let done = super::change(s, now, |tx, r| {
                if !purchased::set_status(
                    tx,
                    order_id,
                    NumberStatus::Suspended,
                    NumberStatus::Active,
                    now,
                )? {
                    return Ok::<_, crate::store::Error>(false);
                }
                billing::mark(tx, order_id, period_start, BillingStep::Reactivated, now)?;
                let facts = emails::renewals::Reactivated {
                    number: &n.number,
                    customer: emails::AccountHolder {
                        name: &n.name,
                        email: &n.email,
                    },
                };
                r.email(
                    MailEvent::NumberReactivated,
                    &n.email,
                    &emails::renewals::reactivated_customer(&site, &facts),
                )?;
                r.admin_email(MailEvent::NumberReactivated, admin_to.as_deref(), || {
                    emails::renewals::reactivated_admin(&site, &facts)
                })?;
                Ok(true)
            })?;
            Ok(done)
        }
        Err(e) => {
            super::change(s, now, |tx, r| {
                if billing::mark(
                    tx,
                    order_id,
                    period_start,
                    BillingStep::ReactivationFailed,
                    now,
                )? {
                    r.admin_email(MailEvent::ActivationFailed, admin_to.as_deref(), || {
                        emails::numbers::reactivation_failed_admin(
                            &site,
                            &emails::numbers::ReactivationFailed {
                                number: &n.number,
                                error: &e,
                                customer: emails::AccountHolder {
                                    name: &n.name,
                                    email: &n.email,
                                },
                            },
                        )
                    })?;
                }
                Ok::<_, crate::store::Error>(())
            })?;
            log::warn!("reactivation of {phone} failed: {e}");
            Ok(false)
        }
    }
}

/// Numbers paid up again but still suspended because unblocking failed: try again.
fn retry_reactivations(
    s: &Services,
    _today: i64,
    report: &mut BillingReport,
) -> Result<(), Internal> {
    let waiting = s.store.read(billing::suspended_paid_up)?;
    for (order_id, period_start) in waiting {
        if reactivate_if_suspended_for(s, order_id, period_start)? {
            report.reactivated += 1;
        }
    }
    Ok(())
}

/// Why a renewal invoice cannot be paid now, or what the gateway said.
#[derive(Debug)]
pub enum PayError {
    /// No such invoice for this customer.
    NotFound,
    /// Not open (paid, void) or not a renewal: the reason for the customer.
    Refused(String),
    /// PayPal could not be asked; nothing changed.
    Gateway(String),
    Internal(Internal),
}

internal_errors!(PayError);

fn open_invoice_of(
    s: &Services,
    user_id: i64,
    invoice_id: i64,
) -> Result<crate::store::orders::Invoice, PayError> {
    let inv = s
        .store
        .read(|tx| crate::store::orders::invoice(tx, invoice_id))?
        .filter(|i| i.user_id == user_id)
        .ok_or(PayError::NotFound)?;
    if inv.kind != "renewal" {
        return Err(PayError::Refused(
            "This invoice was paid with its order.".into(),
        ));
    }
    if inv.status != InvoiceStatus::Open {
        return Err(PayError::Refused(format!(
            "Invoice {} is {}; there is nothing to pay.",
            inv.number, inv.status
        )));
    }
    Ok(inv)
}

/// Starts paying an open renewal invoice at PayPal: the approval link (of the PayPal order
/// made for it before, while PayPal still takes it, else a new one).
pub fn begin_invoice_payment(
    s: &Services,
    user_id: i64,
    invoice_id: i64,
) -> Result<String, PayError> {
    let inv = open_invoice_of(s, user_id, invoice_id)?;
    let Some(paypal) = &s.payments else {
        return Err(PayError::Refused(
            "Online payment is not available right now; the shop will tell you how to pay.".into(),
        ));
    };
    let existing = s
        .store
        .read(|tx| billing::invoice_paypal_order(tx, invoice_id))?;
    if let Some(old) = &existing
        && let Ok(o) = paypal.get_order(old)
        && let Some(url) = o.approve_url
    {
        return Ok(url);
    }
    let created = paypal
        .create_order(&crate::integrations::paypal::NewPayPalOrder {
            request_id: match &existing {
                None => format!("didport-invoice-{invoice_id}"),
                Some(old) => format!("didport-invoice-{invoice_id}-after-{old}"),
            },
            amount: crate::integrations::paypal::Amount::new(inv.total_cents, &inv.currency),
            custom_id: format!("invoice-{invoice_id}"),
            invoice_id: None,
            description: Some(format!(
                "Renewal of {}, invoice {}",
                pretty(&inv.number_digits),
                inv.number
            )),
            brand_name: Some(s.config.site_name.clone()),
            return_url: format!("{}/checkout/paypal/return", s.public_url),
            cancel_url: format!("{}/checkout/paypal/cancel", s.public_url),
        })
        .map_err(|e| PayError::Gateway(e.to_string()))?;
    s.store
        .write(|tx| billing::set_invoice_paypal_order(tx, invoice_id, &created.id))?;
    Ok(created.approve_url)
}

/// What the buyer's return from PayPal did for a renewal invoice.
#[derive(Debug, PartialEq, Eq)]
pub enum InvoiceReturn {
    Paid(i64),
    /// PayPal has not finished (pending review) or the outcome is unknown: nothing recorded.
    Pending(i64),
    BackToPayPal(String),
    NotPaid(i64),
}

/// The buyer came back from PayPal with `token` for a renewal invoice: capture (a request id
/// per invoice, so a retry never pays twice), check the amount, record the payment.
/// `None` when the token is not an invoice of this customer.
pub fn invoice_return(
    s: &Services,
    user_id: i64,
    token: &str,
) -> Result<Option<InvoiceReturn>, Internal> {
    let Some((invoice_id, owner)) = s
        .store
        .read(|tx| billing::invoice_by_paypal_order(tx, token))?
    else {
        return Ok(None);
    };
    if owner != user_id {
        return Ok(None);
    }
    let Some(paypal) = &s.payments else {
        return Ok(Some(InvoiceReturn::Pending(invoice_id)));
    };
    let inv = s
        .store
        .read(|tx| crate::store::orders::invoice(tx, invoice_id))?
        .ok_or_else(|| Internal(format!("invoice {invoice_id} vanished")))?;
    if inv.status == InvoiceStatus::Paid {
        return Ok(Some(InvoiceReturn::Paid(invoice_id)));
    }
    if inv.status != InvoiceStatus::Open {
        return Ok(Some(InvoiceReturn::NotPaid(invoice_id)));
    }
    use crate::integrations::paypal::CaptureOutcome;
    let expected = crate::integrations::paypal::Amount::new(inv.total_cents, &inv.currency);
    // One PayPal-Request-Id per capture attempt, as for orders (docs/paypal.md, "Idempotency").
    let attempt = s
        .store
        .read(|tx| crate::store::settings::invoice_capture_attempt(tx, invoice_id))?;
    let capture = match paypal.capture_order(
        token,
        &format!("didport-invoice-capture-{invoice_id}-{attempt}"),
    ) {
        Ok(CaptureOutcome::Captured(c)) => c.capture,
        Ok(CaptureOutcome::AlreadyCaptured) | Err(_) => match paypal.get_order(token) {
            Ok(o) => match o.captures.into_iter().next() {
                Some(c) => c,
                None => return Ok(Some(InvoiceReturn::Pending(invoice_id))),
            },
            Err(_) => return Ok(Some(InvoiceReturn::Pending(invoice_id))),
        },
        Ok(CaptureOutcome::NotApproved) => {
            return Ok(Some(
                match paypal.get_order(token).ok().and_then(|o| o.approve_url) {
                    Some(url) => InvoiceReturn::BackToPayPal(url),
                    None => InvoiceReturn::Pending(invoice_id),
                },
            ));
        }
        Ok(CaptureOutcome::InstrumentDeclined { redirect_url })
        | Ok(CaptureOutcome::PayerActionRequired { redirect_url }) => {
            s.store
                .write(|tx| crate::store::settings::next_invoice_capture_attempt(tx, invoice_id))?;
            return Ok(Some(match redirect_url {
                Some(url) => InvoiceReturn::BackToPayPal(url),
                None => InvoiceReturn::Pending(invoice_id),
            }));
        }
        Ok(CaptureOutcome::Unprocessable { .. }) => {
            return Ok(Some(InvoiceReturn::NotPaid(invoice_id)));
        }
    };
    if !capture.is_paid(&expected) {
        log::warn!(
            "invoice {invoice_id}: PayPal capture {} is {} or of another amount; not recorded",
            capture.id,
            capture.status.as_str()
        );
        return Ok(Some(InvoiceReturn::Pending(invoice_id)));
    }
    record_payment(s, invoice_id, Some(&capture.id), "PayPal")?;
    Ok(Some(InvoiceReturn::Paid(invoice_id)))
}

/// The customer stops renewing `number` (it stays usable until `paid_through`), or, with
/// `stop` false, keeps it after all. Returns the new `paid_through` when something changed.
pub fn set_renewing(
    s: &Services,
    user: &crate::store::users::User,
    number: &str,
    stop: bool,
    address: &str,
) -> Result<Option<i64>, Internal> {
    let now = s.now();
    let site = notify::site(s);
    let admin_to = s.config.admin_email.as_ref().map(ToString::to_string);
    let done = super::change(s, now, |tx, r| {
        let Some(owned) = purchased::owned(tx, user.id, number)? else {
            return Ok::<_, crate::store::Error>(None);
        };
        let order_id = owned.p.order_id;
        if !billing::set_cancel_at_period_end(tx, order_id, stop, now)? {
            return Ok(None);
        }
        let until = format_day(owned.p.paid_through);
        if stop {
            let facts = emails::renewals::CancellationScheduled {
                number: &owned.p.number,
                until: &until,
                customer: emails::AccountHolder {
                    name: &user.name,
                    email: &user.email,
                },
            };
            r.email(
                MailEvent::CancellationScheduled,
                &user.email,
                &emails::renewals::cancellation_scheduled_customer(&site, &facts),
            )?;
            r.admin_email(
                MailEvent::CancellationScheduled,
                admin_to.as_deref(),
                || emails::renewals::cancellation_scheduled_admin(&site, &facts),
            )?;
        }
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: if stop {
                "renewal_stop"
            } else {
                "renewal_resume"
            },
            subject: &owned.p.number,
            outcome: Outcome::Ok,
            detail: &format!("order {order_id}, paid through {until}"),
            address,
        })?;
        Ok(Some(owned.p.paid_through))
    })?;
    Ok(done)
}
