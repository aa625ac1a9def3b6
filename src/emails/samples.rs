//! Every template with sample facts: what `/admin/outbox` previews and what the mail-client
//! check reads. A template missing here is neither previewed nor checked, so each new one gets
//! a line.

use super::{AccountHolder, Email, Reader, Site, access, numbers, orders, renewals};
use crate::domain::money::{Currency, Money};
use crate::domain::{MailEvent, NumberStatus};

/// One template with its sample facts.
pub struct Sample {
    pub event: MailEvent,
    pub reader: Reader,
    /// Which message of this event and reader, when there are several (the payment checks).
    pub variant: &'static str,
    pub email: Email,
}

const NUMBER: &str = "2125550100";
const FORWARD_TO: &str = "3105550199";
const CUSTOMER: AccountHolder<'static> = AccountHolder {
    name: "Pat Example",
    email: "pat@example.com",
};

fn usd(cents: i64) -> Money {
    Money::new(cents, Currency::USD)
}

fn one(event: MailEvent, reader: Reader, variant: &'static str, email: Email) -> Sample {
    Sample {
        event,
        reader,
        variant,
        email,
    }
}

/// All templates, in the order of `MailEvent::ALL`, the customer's copy first.
pub fn all(site: &Site) -> Vec<Sample> {
    use MailEvent as E;
    use Reader::{Admin, Customer as Cust};
    let placed = orders::OrderPlaced {
        order_id: 42,
        number: NUMBER,
        plan: "Local",
        setup: usd(300),
        monthly: usd(500),
        total: usd(800),
        hold_minutes: 30,
        hold_until: "2026-03-01 14:30 UTC",
        customer: CUSTOMER,
    };
    let paid = orders::PaymentReceived {
        order_id: 42,
        number: NUMBER,
        plan: "Local",
        setup: usd(300),
        monthly: usd(500),
        total: usd(800),
        invoice_id: 7,
        invoice_number: "INV-2026-000007",
        paid_through: "2026-03-31",
        customer: CUSTOMER,
    };
    let activated = numbers::NumberActivated {
        order_id: 42,
        number: NUMBER,
        customer: CUSTOMER,
    };
    let status = numbers::StatusChanged {
        number: NUMBER,
        from: NumberStatus::Active,
        to: NumberStatus::Suspended,
        customer: CUSTOMER,
    };
    let settings = numbers::SettingsChanged {
        number: NUMBER,
        pin: true,
        forwarding: Some(FORWARD_TO),
        forwarding_off: false,
        customer: CUSTOMER,
    };
    let refunded = orders::OrderRefunded {
        order_id: 42,
        number: NUMBER,
        amount: usd(800),
        credit_note: "CN-2026-000002",
        invoice_id: Some(7),
        was_active: true,
        reason: "asked by the customer",
        customer: CUSTOMER,
    };
    let renewal_paid = renewals::RenewalPayment {
        number: NUMBER,
        invoice_id: 9,
        amount: usd(500),
        paid_through: "2026-04-30",
        by: "PayPal",
        customer: CUSTOMER,
    };
    let suspended = renewals::Suspended {
        number: NUMBER,
        since: "2026-03-31",
        days_overdue: 7,
        invoice_id: Some(9),
        customer: CUSTOMER,
    };
    let reactivated = renewals::Reactivated {
        number: NUMBER,
        customer: CUSTOMER,
    };
    let scheduled = renewals::CancellationScheduled {
        number: NUMBER,
        until: "2026-03-31",
        customer: CUSTOMER,
    };
    let cancelled = renewals::Cancelled {
        number: NUMBER,
        as_of: "2026-03-31",
        customer: CUSTOMER,
    };
    let findings = vec![
        "Telinta forwards calls as asked; the portal saved it.".to_string(),
        "A new PIN was asked for; Telinta does not show PINs, so ask the customer to set it again."
            .to_string(),
    ];
    vec![
        one(
            E::OrderPlaced,
            Cust,
            "",
            orders::order_placed_customer(site, &placed),
        ),
        one(
            E::OrderPlaced,
            Admin,
            "",
            orders::order_placed_admin(site, &placed),
        ),
        one(
            E::PaymentReceived,
            Cust,
            "",
            orders::payment_received_customer(site, &paid),
        ),
        one(
            E::PaymentReceived,
            Admin,
            "",
            orders::payment_received_admin(site, &paid),
        ),
        one(
            E::PaymentReceived,
            Admin,
            "amount differs",
            orders::amount_differs_admin(
                site,
                &orders::AmountDiffers {
                    order_id: 42,
                    number: NUMBER,
                    reason: "PayPal captured 700 USD instead of 800 USD; the admin will check it",
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::PaymentReceived,
            Admin,
            "number already sold",
            orders::number_lost_admin(
                site,
                &orders::NumberLost {
                    order_id: 42,
                    number: NUMBER,
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::PaymentReceived,
            Admin,
            "reversal or dispute",
            orders::payment_alert_admin(
                site,
                &orders::PaymentAlert {
                    order_id: 42,
                    number: NUMBER,
                    what: "PayPal reversed the payment (a chargeback)",
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::PaymentReceived,
            Admin,
            "no known order",
            orders::unmatched_payment_event_admin(
                site,
                &orders::UnmatchedPaymentEvent {
                    event_type: "PAYMENT.CAPTURE.REVERSED",
                    event_id: "WH-1AB23456CD789012E",
                    capture_id: "3GG279541U471931P",
                    paypal_order_id: "-",
                },
            ),
        ),
        one(
            E::NumberActivated,
            Cust,
            "",
            numbers::number_activated_customer(site, &activated),
        ),
        one(
            E::NumberActivated,
            Admin,
            "",
            numbers::number_activated_admin(site, &activated),
        ),
        one(
            E::ActivationFailed,
            Admin,
            "",
            numbers::activation_failed_admin(
                site,
                &numbers::ActivationFailed {
                    order_id: 42,
                    number: NUMBER,
                    step: "assign the number",
                    message: "Server.Customer.DID: the DID is assigned to another customer",
                    status: NumberStatus::Pending,
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::ActivationFailed,
            Admin,
            "reactivation",
            numbers::reactivation_failed_admin(
                site,
                &numbers::ReactivationFailed {
                    number: NUMBER,
                    error: "connection refused",
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::NumberStatusChanged,
            Cust,
            "",
            numbers::status_changed_customer(site, &status),
        ),
        one(
            E::NumberStatusChanged,
            Admin,
            "",
            numbers::status_changed_admin(site, &status),
        ),
        one(
            E::SettingsChanged,
            Cust,
            "",
            numbers::settings_changed_customer(site, &settings),
        ),
        one(
            E::SettingsChanged,
            Admin,
            "",
            numbers::settings_changed_admin(site, &settings),
        ),
        one(
            E::SettingsChangeFailed,
            Admin,
            "",
            numbers::settings_change_failed_admin(
                site,
                &numbers::SettingsChangeFailed {
                    number: NUMBER,
                    asked: "a new PIN and new call forwarding",
                    message: "Server.Internal: follow-me is down",
                    took: "Telinta had already accepted the PIN before the failure",
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::SettingsChangeFailed,
            Admin,
            "interrupted",
            numbers::settings_interrupted_admin(
                site,
                &numbers::SettingsInterrupted {
                    number: NUMBER,
                    findings: &findings,
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::PasswordReset,
            Cust,
            "",
            access::password_reset_customer(
                site,
                &access::PasswordReset {
                    link: &site.link("/password/reset?token=sample-token-not-valid"),
                    minutes: 60,
                },
            ),
        ),
        one(
            E::EmailChangeRequested,
            Cust,
            "",
            access::email_change_requested_customer(
                site,
                &access::EmailChangeRequested {
                    link: &site.link("/account/email/confirm?token=sample-token-not-valid"),
                    hours: 24,
                },
            ),
        ),
        one(
            E::EmailChanged,
            Cust,
            "",
            access::email_changed_customer(
                site,
                &access::EmailChanged {
                    new: "new.address@example.com",
                    help: "help@example.com",
                },
            ),
        ),
        one(
            E::PasswordChanged,
            Cust,
            "",
            access::password_changed_customer(
                site,
                &access::PasswordChanged {
                    help: "help@example.com",
                },
            ),
        ),
        one(
            E::OrderCancelled,
            Cust,
            "",
            orders::order_cancelled_customer(
                site,
                &orders::OrderCancelled {
                    order_id: 42,
                    number: NUMBER,
                },
            ),
        ),
        one(
            E::OrderRefunded,
            Cust,
            "",
            orders::order_refunded_customer(site, &refunded),
        ),
        one(
            E::OrderRefunded,
            Admin,
            "",
            orders::order_refunded_admin(site, &refunded),
        ),
        one(
            E::RenewalDue,
            Cust,
            "",
            renewals::renewal_due_customer(
                site,
                &renewals::RenewalDue {
                    number: NUMBER,
                    invoice_id: 9,
                    invoice_number: "INV-2026-000009",
                    amount: usd(500),
                    paid_through: "2026-03-31",
                    period_end: "2026-04-30",
                    grace_days: 7,
                },
            ),
        ),
        one(
            E::RenewalPaid,
            Cust,
            "",
            renewals::renewal_paid_customer(site, &renewal_paid),
        ),
        one(
            E::RenewalPaid,
            Admin,
            "",
            renewals::renewal_paid_admin(site, &renewal_paid),
        ),
        one(
            E::PaymentOverdue,
            Cust,
            "",
            renewals::payment_overdue_customer(
                site,
                &renewals::PaymentOverdue {
                    number: NUMBER,
                    paid_through: "2026-03-31",
                    invoice_id: Some(9),
                    grace_days: 7,
                },
            ),
        ),
        one(
            E::NumberSuspendedUnpaid,
            Cust,
            "",
            renewals::suspended_customer(site, &suspended),
        ),
        one(
            E::NumberSuspendedUnpaid,
            Admin,
            "",
            renewals::suspended_admin(site, &suspended),
        ),
        one(
            E::SuspensionFailed,
            Admin,
            "",
            renewals::suspension_failed_admin(
                site,
                &renewals::SuspensionFailed {
                    number: NUMBER,
                    days_overdue: 7,
                    error: "Telinta answered success, but the account is not blocked",
                    customer: CUSTOMER,
                },
            ),
        ),
        one(
            E::NumberReactivated,
            Cust,
            "",
            renewals::reactivated_customer(site, &reactivated),
        ),
        one(
            E::NumberReactivated,
            Admin,
            "",
            renewals::reactivated_admin(site, &reactivated),
        ),
        one(
            E::CancellationScheduled,
            Cust,
            "",
            renewals::cancellation_scheduled_customer(site, &scheduled),
        ),
        one(
            E::CancellationScheduled,
            Admin,
            "",
            renewals::cancellation_scheduled_admin(site, &scheduled),
        ),
        one(
            E::NumberCancelled,
            Cust,
            "",
            renewals::cancelled_customer(site, &cancelled),
        ),
        one(
            E::NumberCancelled,
            Admin,
            "",
            renewals::cancelled_admin(site, &cancelled),
        ),
    ]
}
