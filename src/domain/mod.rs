//! Plain types and rules. No I/O here.

pub mod account;
pub mod area_codes;
pub mod billing;
pub mod inventory;
pub mod money;
pub mod phone;
pub mod plan;
pub mod records;
pub mod search;
pub mod status;
pub mod tax;
pub mod totp;

pub use account::{EmailAddress, Role};
pub use money::Money;
pub use phone::PhoneNumber;
pub use records::{BillingStep, InvoiceStatus, OutboxStatus};
pub use status::{NumberStatus, PaymentStatus};

/// The notification events of the outside contract (docs/contract.md §6), sent as `X-Didport-Event`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailEvent {
    OrderPlaced,
    PaymentReceived,
    NumberActivated,
    ActivationFailed,
    NumberStatusChanged,
    SettingsChanged,
    SettingsChangeFailed,
    PasswordReset,
    OrderCancelled,
    OrderRefunded,
    RenewalDue,
    RenewalPaid,
    PaymentOverdue,
    NumberSuspendedUnpaid,
    SuspensionFailed,
    NumberReactivated,
    CancellationScheduled,
    NumberCancelled,
    EmailChangeRequested,
    EmailChanged,
    PasswordChanged,
}

impl MailEvent {
    pub const ALL: [MailEvent; 21] = [
        MailEvent::OrderPlaced,
        MailEvent::PaymentReceived,
        MailEvent::NumberActivated,
        MailEvent::ActivationFailed,
        MailEvent::NumberStatusChanged,
        MailEvent::SettingsChanged,
        MailEvent::SettingsChangeFailed,
        MailEvent::PasswordReset,
        MailEvent::OrderCancelled,
        MailEvent::OrderRefunded,
        MailEvent::RenewalDue,
        MailEvent::RenewalPaid,
        MailEvent::PaymentOverdue,
        MailEvent::NumberSuspendedUnpaid,
        MailEvent::SuspensionFailed,
        MailEvent::NumberReactivated,
        MailEvent::CancellationScheduled,
        MailEvent::NumberCancelled,
        MailEvent::EmailChangeRequested,
        MailEvent::EmailChanged,
        MailEvent::PasswordChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailEvent::OrderPlaced => "order_placed",
            MailEvent::PaymentReceived => "payment_received",
            MailEvent::NumberActivated => "number_activated",
            MailEvent::ActivationFailed => "activation_failed",
            MailEvent::NumberStatusChanged => "number_status_changed",
            MailEvent::SettingsChanged => "settings_changed",
            MailEvent::SettingsChangeFailed => "settings_change_failed",
            MailEvent::PasswordReset => "password_reset",
            MailEvent::OrderCancelled => "order_cancelled",
            MailEvent::OrderRefunded => "order_refunded",
            MailEvent::RenewalDue => "renewal_due",
            MailEvent::RenewalPaid => "renewal_paid",
            MailEvent::PaymentOverdue => "payment_overdue",
            MailEvent::NumberSuspendedUnpaid => "number_suspended_unpaid",
            MailEvent::SuspensionFailed => "suspension_failed",
            MailEvent::NumberReactivated => "number_reactivated",
            MailEvent::CancellationScheduled => "cancellation_scheduled",
            MailEvent::NumberCancelled => "number_cancelled",
            MailEvent::EmailChangeRequested => "email_change_requested",
            MailEvent::EmailChanged => "email_changed",
            MailEvent::PasswordChanged => "password_changed",
        }
    }

    pub fn parse(s: &str) -> Option<MailEvent> {
        MailEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }
}
