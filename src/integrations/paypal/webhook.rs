//! Webhook deliveries: the transmission headers, the verification request
//! built around the raw body, and parsing an event into plain types.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::wire::{WLink, WMoney, WPurchaseUnit, WStatusDetails, WSupplementary, find_link};
use super::{Amount, PayPalError};

/// The five `PAYPAL-*` transmission headers of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookHeaders {
    /// `PAYPAL-TRANSMISSION-ID`
    pub transmission_id: String,
    /// `PAYPAL-TRANSMISSION-TIME`
    pub transmission_time: String,
    /// `PAYPAL-TRANSMISSION-SIG`
    pub transmission_sig: String,
    /// `PAYPAL-CERT-URL`
    pub cert_url: String,
    /// `PAYPAL-AUTH-ALGO`
    pub auth_algo: String,
}

impl WebhookHeaders {
    /// Header names, upper case as PayPal sends them (HTTP header names are
    /// case-insensitive).
    pub const TRANSMISSION_ID: &'static str = "PAYPAL-TRANSMISSION-ID";
    pub const TRANSMISSION_TIME: &'static str = "PAYPAL-TRANSMISSION-TIME";
    pub const TRANSMISSION_SIG: &'static str = "PAYPAL-TRANSMISSION-SIG";
    pub const CERT_URL: &'static str = "PAYPAL-CERT-URL";
    pub const AUTH_ALGO: &'static str = "PAYPAL-AUTH-ALGO";

    /// Collects the headers through `get`, which must look a name up
    /// case-insensitively in the incoming request. Returns `None` if any is
    /// missing or empty (such a delivery cannot be genuine).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let take = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Some(WebhookHeaders {
            transmission_id: take(Self::TRANSMISSION_ID)?,
            transmission_time: take(Self::TRANSMISSION_TIME)?,
            transmission_sig: take(Self::TRANSMISSION_SIG)?,
            cert_url: take(Self::CERT_URL)?,
            auth_algo: take(Self::AUTH_ALGO)?,
        })
    }
}

/// Builds the `verify-webhook-signature` request body as text, passing
/// `raw_event` through verbatim as the value of `webhook_event` (re-serialising it
/// would change key order or number formatting and make PayPal answer
/// FAILURE). `raw_event` must already be known to be a JSON object.
pub(super) fn verify_request_body(
    headers: &WebhookHeaders,
    webhook_id: &str,
    raw_event: &str,
) -> Result<String, PayPalError> {
    #[derive(serde::Serialize)]
    struct VerifyRequest<'a> {
        auth_algo: &'a str,
        cert_url: &'a str,
        transmission_id: &'a str,
        transmission_sig: &'a str,
        transmission_time: &'a str,
        webhook_id: &'a str,
        webhook_event: &'a RawValue,
    }
    let bad = |e: serde_json::Error| PayPalError::Malformed(format!("webhook event: {e}"));
    let webhook_event: &RawValue = serde_json::from_str(raw_event).map_err(bad)?;
    serde_json::to_string(&VerifyRequest {
        auth_algo: &headers.auth_algo,
        cert_url: &headers.cert_url,
        transmission_id: &headers.transmission_id,
        transmission_sig: &headers.transmission_sig,
        transmission_time: &headers.transmission_time,
        webhook_id,
        webhook_event,
    })
    .map_err(bad)
}

/// The exact text of top-level member `key` of the JSON object `json`, as written there
/// (what `verify_request_body` puts under `webhook_event`).
#[cfg(test)]
pub(super) fn raw_member(json: &str, key: &str) -> Option<String> {
    let members: std::collections::BTreeMap<String, Box<RawValue>> =
        serde_json::from_str(json).ok()?;
    members.get(key).map(|v| v.get().to_string())
}

/// The raw body as text if it is a JSON object, else `None`.
pub(super) fn raw_event_text(raw_body: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(raw_body).ok()?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(_)) => Some(text),
        _ => None,
    }
}

/// A webhook event reduced to what the portal acts on. Which ids are set
/// depends on the resource: an order event sets `order_id`; a capture event
/// sets `capture_id` (and `order_id` from the related ids); a refund event
/// sets `refund_id` and, where PayPal says, `capture_id` and `order_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `WH-…`; the same across redeliveries: the de-duplication key.
    pub id: String,
    /// e.g. `PAYMENT.CAPTURE.COMPLETED`.
    pub event_type: String,
    /// `checkout-order`, `capture` or `refund`.
    pub resource_type: Option<String>,
    pub summary: Option<String>,
    pub create_time: Option<String>,
    pub order_id: Option<String>,
    pub capture_id: Option<String>,
    pub refund_id: Option<String>,
    /// The resource's `status`, e.g. `COMPLETED`, `PENDING`, `APPROVED`.
    pub status: Option<String>,
    /// `status_details.reason`, e.g. `PENDING_REVIEW`.
    pub status_reason: Option<String>,
    /// The resource's amount (for an order, its first purchase unit's).
    pub amount: Option<Amount>,
    pub custom_id: Option<String>,
    pub invoice_id: Option<String>,
}

#[derive(Deserialize)]
struct WEvent {
    id: String,
    event_type: String,
    resource_type: Option<String>,
    summary: Option<String>,
    create_time: Option<String>,
    #[serde(default)]
    resource: Option<WResource>,
}

#[derive(Deserialize, Default)]
struct WResource {
    id: Option<String>,
    status: Option<String>,
    status_details: Option<WStatusDetails>,
    amount: Option<WMoney>,
    custom_id: Option<String>,
    invoice_id: Option<String>,
    supplementary_data: Option<WSupplementary>,
    #[serde(default)]
    links: Vec<WLink>,
    #[serde(default)]
    purchase_units: Vec<WPurchaseUnit>,
    /// A dispute's transactions (`CUSTOMER.DISPUTE.*`); `seller_transaction_id` is the
    /// capture id (docs/paypal.md, "Reversals and disputes").
    #[serde(default)]
    disputed_transactions: Vec<WDisputedTransaction>,
}

#[derive(Deserialize, Default)]
struct WDisputedTransaction {
    seller_transaction_id: Option<String>,
}

#[derive(PartialEq)]
enum Kind {
    Order,
    Capture,
    Refund,
    Other,
}

/// Parses a webhook event body (verify it first). Errors with
/// [`PayPalError::Malformed`] if it is not an event or carries a malformed amount.
pub fn parse_webhook_event(raw_body: &[u8]) -> Result<WebhookEvent, PayPalError> {
    let ev: WEvent = serde_json::from_slice(raw_body)
        .map_err(|e| PayPalError::Malformed(format!("webhook event: {e}")))?;
    let kind = match (ev.resource_type.as_deref(), ev.event_type.as_str()) {
        (Some("checkout-order"), _) => Kind::Order,
        (Some("capture"), _) => Kind::Capture,
        (Some("refund"), _) => Kind::Refund,
        (Some(_), _) => Kind::Other,
        (None, t) if t.starts_with("CHECKOUT.") => Kind::Order,
        (None, "PAYMENT.CAPTURE.REFUNDED") => Kind::Refund,
        (None, t) if t.starts_with("PAYMENT.CAPTURE.") => Kind::Capture,
        (None, t) if t.starts_with("PAYMENT.REFUND.") => Kind::Refund,
        (None, _) => Kind::Other,
    };
    let r = ev.resource.unwrap_or_default();
    let related = r
        .supplementary_data
        .map(|s| s.related_ids)
        .unwrap_or_default();
    let unit = r.purchase_units.into_iter().next().unwrap_or_default();
    let money = if kind == Kind::Order {
        unit.amount
    } else {
        r.amount
    };
    let amount = money.as_ref().map(WMoney::to_amount).transpose()?;
    let up_capture = find_link(&r.links, &["up"])
        .filter(|href| href.contains("/captures/"))
        .and_then(|href| super::wire::last_segment(&href));
    let disputed = r
        .disputed_transactions
        .into_iter()
        .find_map(|t| t.seller_transaction_id);
    let (order_id, capture_id, refund_id) = match kind {
        Kind::Order => (r.id, None, None),
        Kind::Capture => (related.order_id, r.id, None),
        Kind::Refund => (related.order_id, related.capture_id.or(up_capture), r.id),
        Kind::Other => (
            related.order_id,
            related.capture_id.or(disputed).or(up_capture),
            None,
        ),
    };
    let (custom_id, invoice_id) = if kind == Kind::Order {
        (unit.custom_id, unit.invoice_id)
    } else {
        (r.custom_id, r.invoice_id)
    };
    Ok(WebhookEvent {
        id: ev.id,
        event_type: ev.event_type,
        resource_type: ev.resource_type,
        summary: ev.summary,
        create_time: ev.create_time,
        order_id,
        capture_id,
        refund_id,
        status: r.status,
        status_reason: r.status_details.and_then(|d| d.reason),
        amount,
        custom_id,
        invoice_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> WebhookHeaders {
        WebhookHeaders {
            transmission_id: "t-1".into(),
            transmission_time: "2025-01-01T00:00:00Z".into(),
            transmission_sig: "c2ln\"".into(),
            cert_url: "https://api.paypal.com/v1/notifications/certs/CERT-1".into(),
            auth_algo: "SHA256withRSA".into(),
        }
    }

    #[test]
    fn verify_body_splices_raw_event_verbatim() {
        let raw = "{ \"b\":1.0,\n \"a\" : {} }";
        let body = verify_request_body(&headers(), "WH1", raw).expect("body");
        assert!(body.ends_with(",\"webhook_event\":{ \"b\":1.0,\n \"a\" : {} }}"));
        let v: serde_json::Value = serde_json::from_str(&body).expect("valid json");
        assert_eq!(v["transmission_sig"], "c2ln\"");
        assert_eq!(v["webhook_id"], "WH1");
        assert_eq!(raw_member(&body, "webhook_event").as_deref(), Some(raw));
    }

    #[test]
    fn raw_member_returns_exact_text() {
        let doc = r#" { "a" : [1, "x}" ,{"b":2}] , "we\"ird":1,"webhook_event" :  {"v": 1.0 , "s":"\"}"}  } "#;
        assert_eq!(
            raw_member(doc, "webhook_event").as_deref(),
            Some(r#"{"v": 1.0 , "s":"\"}"}"#)
        );
        assert_eq!(
            raw_member(doc, "a").as_deref(),
            Some(r#"[1, "x}" ,{"b":2}]"#)
        );
        assert_eq!(raw_member(doc, "we\"ird").as_deref(), Some("1"));
        assert_eq!(raw_member(doc, "missing"), None);
        assert_eq!(raw_member("[1]", "a"), None);
        assert_eq!(raw_member(r#"{"a":"#, "a"), None);
    }

    #[test]
    fn raw_event_text_requires_json_object() {
        assert!(raw_event_text(b"{\"id\":1}").is_some());
        assert!(raw_event_text(b"[1]").is_none());
        assert!(raw_event_text(b"{\"id\":").is_none());
        assert!(raw_event_text(&[0xff, 0xfe]).is_none());
    }

    #[test]
    fn header_lookup_requires_all_five() {
        let all = |n: &str| Some(format!("v-{n}"));
        let h = WebhookHeaders::from_lookup(all).expect("all present");
        assert_eq!(h.cert_url, "v-PAYPAL-CERT-URL");
        let missing = |n: &str| (n != WebhookHeaders::AUTH_ALGO).then(|| "x".to_string());
        assert!(WebhookHeaders::from_lookup(missing).is_none());
    }

    #[test]
    fn parses_capture_refund_and_order_events() {
        let cap = br#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture",
            "resource":{"id":"CAP1","status":"COMPLETED","amount":{"currency_code":"USD","value":"14.90"},
            "custom_id":"ord_1","supplementary_data":{"related_ids":{"order_id":"ORD1"}}}}"#;
        let e = parse_webhook_event(cap).expect("capture event");
        assert_eq!(e.capture_id.as_deref(), Some("CAP1"));
        assert_eq!(e.order_id.as_deref(), Some("ORD1"));
        assert_eq!(e.amount, Some(Amount::new(1490, "USD")));
        assert_eq!(e.custom_id.as_deref(), Some("ord_1"));

        let refund = br#"{"id":"WH-2","event_type":"PAYMENT.CAPTURE.REFUNDED","resource_type":"refund",
            "resource":{"id":"REF1","status":"COMPLETED","amount":{"currency_code":"USD","value":"1.00"},
            "links":[{"rel":"up","href":"https://api/v2/payments/captures/CAP9"}]}}"#;
        let e = parse_webhook_event(refund).expect("refund event");
        assert_eq!(e.refund_id.as_deref(), Some("REF1"));
        assert_eq!(e.capture_id.as_deref(), Some("CAP9"));

        let order = br#"{"id":"WH-3","event_type":"CHECKOUT.ORDER.APPROVED",
            "resource":{"id":"ORD2","status":"APPROVED","purchase_units":[{"custom_id":"c",
            "amount":{"currency_code":"EUR","value":"5"}}]}}"#;
        let e = parse_webhook_event(order).expect("order event");
        assert_eq!(e.order_id.as_deref(), Some("ORD2"));
        assert_eq!(e.amount, Some(Amount::new(500, "EUR")));
        assert_eq!(e.custom_id.as_deref(), Some("c"));

        let dispute = br#"{"id":"WH-4","event_type":"CUSTOMER.DISPUTE.CREATED","resource_type":"dispute",
            "resource":{"dispute_id":"PP-D-1","disputed_transactions":[{"seller_transaction_id":"CAP7"}]}}"#;
        let e = parse_webhook_event(dispute).expect("dispute event");
        assert_eq!(e.capture_id.as_deref(), Some("CAP7"));

        assert!(parse_webhook_event(b"{\"event_type\":\"X\"}").is_err());
        let bad_amount = String::from_utf8_lossy(cap).replace("14.90", "-14.90");
        assert!(parse_webhook_event(bad_amount.as_bytes()).is_err());
    }
}
