//! PayPal Orders v2 integration: the [`Payments`] trait with plain Rust types,
//! and the real blocking client ([`client::PayPalClient`], ureq 3). Its simulator
//! lives apart, in `crate::sim::paypal` (docs/paypal.md, "Simulator").
//!
//! Rules this module follows (see `docs/architecture.md`):
//! - money is integer minor units ([`Amount`]); conversion to PayPal's decimal
//!   strings is exact and malformed amounts are rejected;
//! - every call that changes something takes a caller-supplied
//!   `PayPal-Request-Id`, derived by the caller from stored ids so a retry
//!   after a crash or a timeout reuses it;
//! - a capture is paid only if [`CaptureOutcome::Captured`] holds a capture
//!   whose status is [`CaptureStatus::Completed`] and whose amount and
//!   currency equal the stored expected values ([`Capture::is_paid`]);
//! - webhooks are verified with PayPal's postback, passing the raw body
//!   through byte for byte ([`Payments::verify_webhook`]);
//! - no ureq or tiny_http type appears in this API, and secrets never appear
//!   in errors or logs.

mod amount;
pub mod client;
mod config;
mod webhook;
mod wire;

#[cfg(test)]
#[cfg(feature = "demo")]
mod tests;

use std::fmt;

pub use amount::{Amount, currency_decimals, format_value, parse_value};
pub use client::PayPalClient;
pub use config::{DEFAULT_TIMEOUT, LIVE_API, PayPalClientConfig, SANDBOX_API};
pub use webhook::{WebhookEvent, WebhookHeaders, parse_webhook_event};

/// Where PayPal's own pages for buyers live (the approve links of live and sandbox orders).
pub const BUYER_ORIGINS: [&str; 2] = ["https://www.paypal.com", "https://www.sandbox.paypal.com"];

/// What the portal needs from a payment gateway, blocking.
///
/// Implemented by [`PayPalClient`]; tests and the `demo` mode point that same
/// client at the PayPal simulator (`crate::sim::paypal`).
pub trait Payments: Send + Sync {
    /// The origins whose pages `create_order`'s approve links lead a buyer to. A checkout form
    /// is answered with a redirect there, so the portal's CSP `form-action` must allow them.
    fn buyer_origins(&self) -> Vec<String> {
        BUYER_ORIGINS.iter().map(|o| o.to_string()).collect()
    }

    /// Creates an order with intent `CAPTURE` for one purchase unit.
    ///
    /// `order.request_id` is sent as `PayPal-Request-Id`: repeating it returns
    /// the same PayPal order (`replayed == true`) instead of a new one.
    fn create_order(&self, order: &NewPayPalOrder) -> Result<CreatedOrder, PayPalError>;

    /// Reads an order. A 404 (unknown or expired, issue `INVALID_RESOURCE_ID`)
    /// is an [`PayPalError::Api`]; see [`PayPalError::is_not_found`].
    fn get_order(&self, order_id: &str) -> Result<PayPalOrder, PayPalError>;

    /// Captures an approved order. `request_id` must be stable for this order
    /// (e.g. `capture-<paypalOrderId>`) so that a retry after a timeout or a 5xx
    /// returns the original capture instead of failing.
    ///
    /// PayPal's expected business answers come back as `Ok(CaptureOutcome)`;
    /// `Err` means a transport problem, an unexpected status, or a 5xx —
    /// see [`PayPalError::outcome_unknown`].
    fn capture_order(
        &self,
        order_id: &str,
        request_id: &str,
    ) -> Result<CaptureOutcome, PayPalError>;

    /// Reads one capture (`GET /v2/payments/captures/{id}`), e.g. when an order
    /// read does not show its payments.
    fn get_capture(&self, capture_id: &str) -> Result<Capture, PayPalError>;

    /// Refunds a capture, fully (`amount: None`) or partly.
    fn refund_capture(
        &self,
        capture_id: &str,
        refund: &RefundRequest,
    ) -> Result<Refund, PayPalError>;

    /// Asks PayPal whether a webhook delivery is genuine
    /// (`POST /v1/notifications/verify-webhook-signature`).
    ///
    /// `raw_body` must be the request body exactly as received; it is spliced
    /// into the verification request without being parsed and re-serialised.
    /// Returns `Ok(false)` for `FAILURE` and for a body that is not a JSON
    /// object; [`PayPalError::NotConfigured`] without a webhook id.
    fn verify_webhook(
        &self,
        headers: &WebhookHeaders,
        raw_body: &[u8],
    ) -> Result<bool, PayPalError>;

    /// Fetches a fresh access token with the configured client id and secret (for
    /// `check-upstream`): `Ok` when PayPal accepts them.
    fn check_credentials(&self) -> Result<(), PayPalError>;

    /// Whether the configured webhook id exists for these credentials
    /// (`GET /v1/notifications/webhooks/{id}`); [`PayPalError::NotConfigured`] without one.
    fn webhook_exists(&self) -> Result<bool, PayPalError>;

    /// Parses a (verified) webhook event body. No network.
    fn parse_webhook_event(&self, raw_body: &[u8]) -> Result<WebhookEvent, PayPalError> {
        parse_webhook_event(raw_body)
    }
}

/// Input for [`Payments::create_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPayPalOrder {
    /// `PayPal-Request-Id` (1–108 characters), e.g. `create-<localOrderId>-<attempt>`.
    pub request_id: String,
    /// What the buyer pays; computed by the server, never taken from the browser.
    pub amount: Amount,
    /// Our own reference (the local order id), echoed on the capture and in webhooks.
    pub custom_id: String,
    /// Invoice number shown to the payer; `None` leaves it out.
    pub invoice_id: Option<String>,
    /// Purchase-unit description shown to the payer (at most 127 characters).
    pub description: Option<String>,
    /// Shop name on PayPal's pages.
    pub brand_name: Option<String>,
    /// Where PayPal sends the browser after approval (`?token=<order>&PayerID=…` is appended).
    pub return_url: String,
    /// Where PayPal sends the browser when the buyer cancels (`?token=<order>`).
    pub cancel_url: String,
}

/// Result of [`Payments::create_order`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedOrder {
    /// PayPal's order id (also the `token` on the return URL).
    pub id: String,
    /// Usually [`OrderStatus::PayerActionRequired`] or [`OrderStatus::Created`].
    pub status: OrderStatus,
    /// Where to redirect the buyer (`rel` `payer-action` or `approve`).
    pub approve_url: String,
    /// True when PayPal answered 200, i.e. replayed an earlier request with the
    /// same `PayPal-Request-Id`, instead of 201.
    pub replayed: bool,
}

/// An order's status (`order_status` in the spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    Created,
    Saved,
    Approved,
    Voided,
    Completed,
    PayerActionRequired,
    /// A value this code does not know.
    Other(String),
}

impl OrderStatus {
    /// Maps PayPal's status string.
    pub fn parse(s: &str) -> Self {
        match s {
            "CREATED" => OrderStatus::Created,
            "SAVED" => OrderStatus::Saved,
            "APPROVED" => OrderStatus::Approved,
            "VOIDED" => OrderStatus::Voided,
            "COMPLETED" => OrderStatus::Completed,
            "PAYER_ACTION_REQUIRED" => OrderStatus::PayerActionRequired,
            other => OrderStatus::Other(other.to_string()),
        }
    }

    /// PayPal's status string.
    pub fn as_str(&self) -> &str {
        match self {
            OrderStatus::Created => "CREATED",
            OrderStatus::Saved => "SAVED",
            OrderStatus::Approved => "APPROVED",
            OrderStatus::Voided => "VOIDED",
            OrderStatus::Completed => "COMPLETED",
            OrderStatus::PayerActionRequired => "PAYER_ACTION_REQUIRED",
            OrderStatus::Other(s) => s,
        }
    }
}

/// An order as read back from PayPal (first purchase unit only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayPalOrder {
    pub id: String,
    pub status: OrderStatus,
    /// The purchase unit's amount, when the response included it.
    pub amount: Option<Amount>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    /// `purchase_units[0].payments.captures`, empty before capture (and, per
    /// real-world reports, sometimes missing; then use [`Payments::get_capture`]).
    pub captures: Vec<Capture>,
    /// `purchase_units[0].payments.refunds`.
    pub refunds: Vec<Refund>,
    /// The payer, once approved.
    pub payer: Option<Payer>,
    /// The `payer-action`/`approve` link while the order awaits approval.
    pub approve_url: Option<String>,
}

/// The buyer's PayPal account, as far as PayPal tells us.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Payer {
    /// PayPal's payer id (`account_id` / `payer_id`, the `PayerID` on the return URL).
    pub payer_id: Option<String>,
    pub email: Option<String>,
    /// Given name and surname joined by a space.
    pub name: Option<String>,
}

/// A capture (the money movement of an order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The capture (transaction) id; store it under a UNIQUE constraint.
    pub id: String,
    pub status: CaptureStatus,
    /// What was captured; `None` only if PayPal left it out.
    pub amount: Option<Amount>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
    /// The order this capture belongs to, when the response says
    /// (`supplementary_data.related_ids.order_id`).
    pub order_id: Option<String>,
}

impl Capture {
    /// True only for a `COMPLETED` capture of exactly `expected` (amount and
    /// currency). Anything else — pending, declined, a different amount — is
    /// not paid.
    pub fn is_paid(&self, expected: &Amount) -> bool {
        self.status == CaptureStatus::Completed && self.amount.as_ref() == Some(expected)
    }
}

/// A capture's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureStatus {
    /// Money received.
    Completed,
    /// Not paid yet; wait for `PAYMENT.CAPTURE.COMPLETED` or `…DENIED`.
    /// `reason` is `status_details.reason`, e.g. `PENDING_REVIEW`.
    Pending {
        reason: Option<String>,
    },
    /// Declined by the processor or bank; not paid.
    Declined,
    /// Failed; not paid.
    Failed,
    PartiallyRefunded,
    Refunded,
    /// A value this code does not know.
    Other(String),
}

impl CaptureStatus {
    /// Maps PayPal's status string and `status_details.reason`.
    pub fn parse(status: &str, reason: Option<String>) -> Self {
        match status {
            "COMPLETED" => CaptureStatus::Completed,
            "PENDING" => CaptureStatus::Pending { reason },
            "DECLINED" => CaptureStatus::Declined,
            "FAILED" => CaptureStatus::Failed,
            "PARTIALLY_REFUNDED" => CaptureStatus::PartiallyRefunded,
            "REFUNDED" => CaptureStatus::Refunded,
            other => CaptureStatus::Other(other.to_string()),
        }
    }

    /// PayPal's status string.
    pub fn as_str(&self) -> &str {
        match self {
            CaptureStatus::Completed => "COMPLETED",
            CaptureStatus::Pending { .. } => "PENDING",
            CaptureStatus::Declined => "DECLINED",
            CaptureStatus::Failed => "FAILED",
            CaptureStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            CaptureStatus::Refunded => "REFUNDED",
            CaptureStatus::Other(s) => s,
        }
    }
}

/// What a capture call achieved. Errors that leave the outcome unknown
/// (timeouts, 5xx) are `Err`, not a variant here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureOutcome {
    /// PayPal created (or, on a replayed request id, returned) a capture.
    /// Check [`Capture::is_paid`] before treating the order as paid: a
    /// COMPLETED order can hold a PENDING or DECLINED capture.
    Captured(Box<CapturedOrder>),
    /// 422 `ORDER_NOT_APPROVED`: the buyer has not approved (yet).
    NotApproved,
    /// 422 `ORDER_ALREADY_CAPTURED`: someone captured this order before (a
    /// race, or a retry with another request id). Not a failure: read the
    /// order with [`Payments::get_order`] and reconcile.
    AlreadyCaptured,
    /// 422 `INSTRUMENT_DECLINED`: send the buyer back to PayPal
    /// (`redirect_url`, else the approve link) to pick another funding source.
    InstrumentDeclined { redirect_url: Option<String> },
    /// 422 `PAYER_ACTION_REQUIRED` or `REDIRECT_PAYER_FOR_ALTERNATE_FUNDING`:
    /// the buyer must return to PayPal.
    PayerActionRequired { redirect_url: Option<String> },
    /// Any other 422 issue, e.g. `TRANSACTION_REFUSED`, `PAYER_CANNOT_PAY`,
    /// `DUPLICATE_INVOICE_ID`, `ORDER_COMPLETION_IN_PROGRESS` (retry later).
    Unprocessable {
        issue: String,
        message: String,
        debug_id: Option<String>,
    },
}

/// A successful capture answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedOrder {
    pub order_id: String,
    /// Normally `COMPLETED`.
    pub order_status: OrderStatus,
    /// The order's (first) capture.
    pub capture: Capture,
    pub payer: Option<Payer>,
    /// True when PayPal answered 200: an earlier capture with the same
    /// `PayPal-Request-Id` was replayed, nothing new was charged.
    pub replayed: bool,
}

/// Input for [`Payments::refund_capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// `PayPal-Request-Id`, e.g. `refund-<localRefundId>` (kept 45 days by PayPal).
    pub request_id: String,
    /// `None` refunds whatever remains of the capture.
    pub amount: Option<Amount>,
    /// Shown to the payer (at most 255 characters).
    pub note_to_payer: Option<String>,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: String,
    pub status: RefundStatus,
    pub amount: Option<Amount>,
    /// The refunded capture, when the response says (`up` link or related ids).
    pub capture_id: Option<String>,
}

/// A refund's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundStatus {
    Completed,
    Pending { reason: Option<String> },
    Failed,
    Cancelled,
    Other(String),
}

impl RefundStatus {
    /// Maps PayPal's status string and `status_details.reason`.
    pub fn parse(status: &str, reason: Option<String>) -> Self {
        match status {
            "COMPLETED" => RefundStatus::Completed,
            "PENDING" => RefundStatus::Pending { reason },
            "FAILED" => RefundStatus::Failed,
            "CANCELLED" => RefundStatus::Cancelled,
            other => RefundStatus::Other(other.to_string()),
        }
    }
}

/// Everything that can go wrong talking to PayPal. `Display` is a short
/// message fit for a log line or an admin email; it never contains a secret
/// or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayPalError {
    /// PayPal answered with an error body: `name` (e.g. `UNPROCESSABLE_ENTITY`,
    /// or the OAuth `error` such as `invalid_client`), the first
    /// `details[].issue`, `message` and `debug_id` (quote it to PayPal support).
    Api {
        status: u16,
        name: String,
        issue: Option<String>,
        message: String,
        debug_id: Option<String>,
    },
    /// An error status whose body could not be read as a PayPal error.
    Http(u16),
    /// No answer within the configured timeout; the outcome is unknown.
    Timeout,
    /// Connection-level failure (refused, reset, DNS, TLS…).
    Transport(String),
    /// A response (or an input, such as a negative amount) that does not
    /// have the expected shape.
    Malformed(String),
    /// Credentials or webhook id missing.
    NotConfigured,
}

impl PayPalError {
    /// The HTTP status, for [`PayPalError::Api`] and [`PayPalError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            PayPalError::Api { status, .. } | PayPalError::Http(status) => Some(*status),
            _ => None,
        }
    }

    /// The first `details[].issue` of an API error, e.g. `INVALID_RESOURCE_ID`.
    pub fn issue(&self) -> Option<&str> {
        match self {
            PayPalError::Api { issue, .. } => issue.as_deref(),
            _ => None,
        }
    }

    /// True for 404: the order (or capture) is unknown or expired.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }

    /// True when the request may or may not have taken effect (timeout,
    /// transport failure, 5xx): retry with the same `PayPal-Request-Id`, then
    /// read the order before telling the buyer anything.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            PayPalError::Timeout | PayPalError::Transport(_) => true,
            PayPalError::Api { status, .. } | PayPalError::Http(status) => *status >= 500,
            PayPalError::Malformed(_) | PayPalError::NotConfigured => false,
        }
    }
}

impl fmt::Display for PayPalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PayPalError::Api {
                status,
                name,
                issue,
                message,
                debug_id,
            } => {
                write!(f, "PayPal error {status} {name}")?;
                if let Some(issue) = issue {
                    write!(f, " ({issue})")?;
                }
                if !message.is_empty() {
                    let short: String = message.chars().take(200).collect();
                    write!(f, ": {short}")?;
                }
                if let Some(id) = debug_id {
                    write!(f, " [debug_id {id}]")?;
                }
                Ok(())
            }
            PayPalError::Http(status) => write!(f, "PayPal answered HTTP {status}"),
            PayPalError::Timeout => write!(f, "PayPal did not answer in time"),
            PayPalError::Transport(text) => write!(f, "cannot reach PayPal: {text}"),
            PayPalError::Malformed(text) => write!(f, "unexpected PayPal data: {text}"),
            PayPalError::NotConfigured => write!(f, "PayPal is not configured"),
        }
    }
}

impl std::error::Error for PayPalError {}
