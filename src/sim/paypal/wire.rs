//! The simulator's own reading and writing of PayPal's wire format: money as
//! `{currency_code, value}`, the status words, ids, timestamps and signatures.
//!
//! Written apart from the real client on purpose (docs/architecture.md,
//! "Simulators"): were both sides to share one parser, a mistake in it would
//! pass every test.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde_json::value::RawValue;

/// Most digits PayPal accepts before the decimal point.
const MAX_INTEGER_DIGITS: usize = 15;

/// An amount as the simulator holds it: minor units of a currency.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SimAmount {
    /// Minor units (cents; whole units for currencies without decimals).
    pub cents: i64,
    /// ISO 4217 code, upper case.
    pub currency: String,
}

impl SimAmount {
    pub fn new(cents: i64, currency: &str) -> Self {
        SimAmount {
            cents,
            currency: currency.to_string(),
        }
    }

    /// PayPal's decimal string, e.g. `"14.90"`, or `"500"` for JPY.
    pub fn value(&self) -> String {
        let decimals = decimals(&self.currency);
        let cents = self.cents.max(0);
        if decimals == 0 {
            return cents.to_string();
        }
        let scale = 10i64.pow(decimals);
        format!(
            "{}.{:0width$}",
            cents / scale,
            cents % scale,
            width = decimals as usize
        )
    }
}

impl fmt::Display for SimAmount {
    /// `14.90 EUR`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.value(), self.currency)
    }
}

/// Decimal places PayPal uses for `currency` (none for HUF, JPY and TWD).
pub fn decimals(currency: &str) -> u32 {
    match currency {
        "HUF" | "JPY" | "TWD" => 0,
        _ => 2,
    }
}

/// Minor units of a plain non-negative decimal (`"10"`, `"0.5"`, `"1234.50"`),
/// or `None` when it has too many digits or decimals for `currency`.
pub fn cents(value: &str, currency: &str) -> Option<i64> {
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    let places = decimals(currency) as usize;
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int.is_empty() || int.len() > MAX_INTEGER_DIGITS || !digits(int) || !digits(frac) {
        return None;
    }
    if frac.len() > places {
        return None;
    }
    let mut n: i64 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        n = n.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    for _ in frac.len()..places {
        n = n.checked_mul(10)?;
    }
    Some(n)
}

/// An order's status in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimOrderStatus {
    Created,
    PayerActionRequired,
    Approved,
    Completed,
}

impl SimOrderStatus {
    /// The word PayPal writes.
    pub fn wire(&self) -> &'static str {
        match self {
            SimOrderStatus::Created => "CREATED",
            SimOrderStatus::PayerActionRequired => "PAYER_ACTION_REQUIRED",
            SimOrderStatus::Approved => "APPROVED",
            SimOrderStatus::Completed => "COMPLETED",
        }
    }
}

/// A capture's status in the simulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimCaptureStatus {
    Completed,
    /// `reason` is written as `status_details.reason`.
    Pending {
        reason: Option<String>,
    },
    Declined,
    PartiallyRefunded,
    Refunded,
}

impl SimCaptureStatus {
    /// The word PayPal writes.
    pub fn wire(&self) -> &'static str {
        match self {
            SimCaptureStatus::Completed => "COMPLETED",
            SimCaptureStatus::Pending { .. } => "PENDING",
            SimCaptureStatus::Declined => "DECLINED",
            SimCaptureStatus::PartiallyRefunded => "PARTIALLY_REFUNDED",
            SimCaptureStatus::Refunded => "REFUNDED",
        }
    }
}

/// Fills `buf` with random bytes; all zeros if the system refuses (they only
/// make simulator ids and fake signatures, never secrets).
pub(super) fn random_bytes(buf: &mut [u8]) {
    if getrandom::fill(buf).is_err() {
        buf.fill(0);
    }
}

/// `n` random bytes as lowercase hex.
pub(super) fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    random_bytes(&mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random (version 4) UUID, as PayPal's transmission ids are.
pub(super) fn uuid_v4() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The current time as RFC 3339 UTC with second precision.
pub(super) fn rfc3339_now() -> String {
    let now = jiff::Timestamp::now();
    jiff::Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

/// Standard base64 with padding.
pub(super) fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The exact source text of top-level member `key` of the JSON object `json`,
/// as received (no re-serialising), or `None` when `json` is no such object.
pub(super) fn raw_member(json: &str, key: &str) -> Option<String> {
    let members: BTreeMap<String, Box<RawValue>> = serde_json::from_str(json).ok()?;
    members.get(key).map(|v| v.get().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_round_trip() {
        assert_eq!(SimAmount::new(1490, "EUR").value(), "14.90");
        assert_eq!(SimAmount::new(1, "USD").value(), "0.01");
        assert_eq!(SimAmount::new(500, "JPY").value(), "500");
        assert_eq!(cents("14.9", "EUR"), Some(1490));
        assert_eq!(cents("500", "JPY"), Some(500));
        assert_eq!(cents("1.5", "JPY"), None);
        assert_eq!(cents("1.234", "USD"), None);
        assert_eq!(cents("1000000000000000", "USD"), None);
    }

    #[test]
    fn helpers_have_their_shapes() {
        assert_eq!(base64(b"id:secret"), "aWQ6c2VjcmV0");
        let u = uuid_v4();
        assert_eq!((u.len(), &u[14..15]), (36, "4"));
        let t = rfc3339_now();
        assert!(t.ends_with('Z') && t.len() == 20, "{t}");
        let doc = r#"{"a": [1, "x}"], "webhook_event" :  {"v": 1.0 , "s":"\"}"} }"#;
        assert_eq!(
            raw_member(doc, "webhook_event").as_deref(),
            Some(r#"{"v": 1.0 , "s":"\"}"}"#)
        );
        assert_eq!(raw_member(doc, "missing"), None);
        assert_eq!(raw_member("[1]", "a"), None);
    }
}
