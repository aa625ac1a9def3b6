//! Webhooks in the simulator: creating events for a resource, delivering
//! them with PayPal's transmission headers, forged deliveries, and
//! `verify-webhook-signature` (docs/paypal.md, "Webhooks").

use std::sync::Arc;
use std::thread;

use serde_json::{Value, json};

use super::server::{Reply, Req};
use super::state::{PendingEvent, Shared, State, Transmission};
use super::wire::{base64, random_bytes, raw_member, rfc3339_now, uuid_v4};
use super::{Delivery, SimError};

const AUTH_ALGO: &str = "SHA256withRSA";

/// Delivers freshly created events in the background if auto-emit is on and
/// a URL is set (each on its own thread, after the configured delay, so
/// delivery order is not guaranteed — as with PayPal).
pub(super) fn dispatch_auto(shared: &Arc<Shared>, pending: Vec<PendingEvent>) {
    if pending.is_empty() {
        return;
    }
    let (auto, has_url, delay) = {
        let st = shared.lock();
        (
            st.cfg.auto_emit,
            st.cfg.webhook_url.is_some(),
            st.cfg.webhook_delay,
        )
    };
    if !auto || !has_url {
        return;
    }
    for p in pending {
        let s = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name("paypal-sim-webhook".into())
            .spawn(move || {
                if !delay.is_zero() {
                    thread::sleep(delay);
                }
                if let Err(e) = deliver_event(&s, &p.event_id) {
                    log::debug!("PayPal simulator: event {} not delivered: {e}", p.event_id);
                }
            });
        if let Err(e) = spawned {
            log::warn!("PayPal simulator: cannot start webhook thread: {e}");
        }
    }
}

/// Creates an `event_type` event for the resource `id` (an order, capture or
/// refund id, mapped to what the event type needs).
pub(super) fn event_for(
    st: &mut State,
    event_type: &str,
    id: &str,
) -> Result<PendingEvent, SimError> {
    let unknown = || SimError::UnknownOrder(id.to_string());
    // The order, capture and refund that `id` leads to.
    let order_id = if st.orders.contains_key(id) {
        Some(id.to_string())
    } else if let Some(c) = st.captures.get(id) {
        Some(c.order_id.clone())
    } else {
        st.refunds.get(id).map(|r| r.order_id.clone())
    };
    let capture_id = if st.captures.contains_key(id) {
        Some(id.to_string())
    } else if let Some(r) = st.refunds.get(id) {
        Some(r.capture_id.clone())
    } else {
        order_id
            .as_ref()
            .and_then(|o| st.orders.get(o))
            .and_then(|o| o.capture_ids.last().cloned())
    };
    let refund_id = if st.refunds.contains_key(id) {
        Some(id.to_string())
    } else {
        capture_id
            .as_ref()
            .and_then(|c| st.captures.get(c))
            .and_then(|c| c.refund_ids.last().cloned())
    };
    let event = if event_type.starts_with("CHECKOUT.") {
        let o = order_id.ok_or_else(unknown)?;
        st.order_event(event_type, &o)
    } else if event_type == "PAYMENT.CAPTURE.REFUNDED" || event_type.starts_with("PAYMENT.REFUND.")
    {
        let r = refund_id.ok_or_else(|| SimError::InvalidState(format!("no refund for {id}")))?;
        st.refund_event(event_type, &r)
    } else {
        let c = capture_id.ok_or_else(|| SimError::UnknownCapture(id.to_string()))?;
        st.capture_event(event_type, &c)
    };
    event.ok_or_else(unknown)
}

/// Delivers a recorded event now, with a new transmission id, and records
/// the transmission so verification can recognise it.
pub(super) fn deliver_event(shared: &Shared, event_id: &str) -> Result<Delivery, SimError> {
    let (url, body, tid, headers) = {
        let mut st = shared.lock();
        let body = st
            .events
            .iter()
            .find(|e| e.id == event_id)
            .map(|e| e.body.clone())
            .ok_or_else(|| SimError::UnknownEvent(event_id.to_string()))?;
        let url = st.cfg.webhook_url.clone().ok_or(SimError::NoWebhookUrl)?;
        let (tid, headers) = transmission_headers(&shared.base_url);
        st.transmissions.insert(
            tid.clone(),
            Transmission {
                time: headers.time.clone(),
                sig: headers.sig.clone(),
                cert_url: headers.cert_url.clone(),
                auth_algo: AUTH_ALGO.to_string(),
                body: body.clone(),
            },
        );
        (url, body, tid, headers)
    };
    Ok(post(shared, &url, body, tid, &headers, Some(event_id)))
}

/// Delivers `body` with headers the simulator never recorded.
pub(super) fn deliver_forged(shared: &Shared, body: &str) -> Result<Delivery, SimError> {
    let url = shared
        .lock()
        .cfg
        .webhook_url
        .clone()
        .ok_or(SimError::NoWebhookUrl)?;
    let (tid, headers) = transmission_headers(&shared.base_url);
    Ok(post(shared, &url, body.to_string(), tid, &headers, None))
}

struct Headers {
    time: String,
    sig: String,
    cert_url: String,
}

fn transmission_headers(base_url: &str) -> (String, Headers) {
    let mut sig = [0u8; 256];
    random_bytes(&mut sig);
    (
        uuid_v4(),
        Headers {
            time: rfc3339_now(),
            sig: base64(&sig),
            cert_url: format!("{base_url}/v1/notifications/certs/CERT-FAKE"),
        },
    )
}

fn post(
    shared: &Shared,
    url: &str,
    body: String,
    tid: String,
    h: &Headers,
    event_id: Option<&str>,
) -> Delivery {
    let result = shared
        .agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "PayPal/AUHD-214.0-58229262")
        .header("PAYPAL-TRANSMISSION-ID", tid.as_str())
        .header("PAYPAL-TRANSMISSION-TIME", h.time.as_str())
        .header("PAYPAL-TRANSMISSION-SIG", h.sig.as_str())
        .header("PAYPAL-CERT-URL", h.cert_url.as_str())
        .header("PAYPAL-AUTH-ALGO", AUTH_ALGO)
        .send(body.as_str());
    let (status, error) = match result {
        Ok(resp) => (Some(resp.status().as_u16()), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let delivery = Delivery {
        event_id: event_id.map(str::to_string),
        transmission_id: tid,
        url: url.to_string(),
        status,
        error,
        body,
        forged: event_id.is_none(),
    };
    shared.lock().deliveries.push(delivery.clone());
    delivery
}

/// The Webhooks v1 error shape (400 for a missing field).
fn v1_error(field: &str) -> Reply {
    let debug_id = State::debug_id();
    let body = json!({
        "name": "VALIDATION_ERROR",
        "message": "Invalid request - see details",
        "debug_id": debug_id,
        "information_link": "https://developer.paypal.com/docs/api/webhooks/v1/#error-VALIDATION_ERROR",
        "details": [{ "field": field, "location": "body", "issue": "MISSING_REQUIRED_PARAMETER" }],
    });
    Reply {
        debug_id,
        ..Reply::json(400, &body)
    }
}

/// `POST /v1/notifications/verify-webhook-signature`: SUCCESS only for a
/// transmission this simulator sent, with the configured webhook id and the
/// very body it sent.
pub(super) fn verify(st: &State, req: &Req) -> Reply {
    let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(&req.body) else {
        return Reply::api_error(
            400,
            Some("MALFORMED_REQUEST_JSON"),
            "The request JSON is not well formed.",
            None,
            Some("body"),
        );
    };
    let mut fields = Vec::new();
    for name in [
        "auth_algo",
        "cert_url",
        "transmission_id",
        "transmission_sig",
        "transmission_time",
        "webhook_id",
    ] {
        match v.get(name).and_then(Value::as_str) {
            Some(s) if !s.is_empty() => fields.push(s),
            _ => return v1_error(name),
        }
    }
    let [algo, cert_url, tid, sig, time, webhook_id] = fields[..] else {
        return v1_error("auth_algo");
    };
    let Some(event @ Value::Object(_)) = v.get("webhook_event") else {
        return v1_error("webhook_event");
    };
    let ok = st.transmissions.get(tid).is_some_and(|t| {
        let body_matches = if st.cfg.strict_verification {
            raw_member(&req.body, "webhook_event").as_deref() == Some(t.body.as_str())
        } else {
            serde_json::from_str::<Value>(&t.body).ok().as_ref() == Some(event)
        };
        t.sig == sig
            && t.cert_url == cert_url
            && t.auth_algo == algo
            && t.time == time
            && webhook_id == st.cfg.webhook_id
            && body_matches
    });
    let status = if ok { "SUCCESS" } else { "FAILURE" };
    Reply::json(200, &json!({ "verification_status": status }))
}

/// `GET /v1/notifications/webhooks-events[?event_type=…]`: every event created.
pub(super) fn list_events(st: &State, req: &Req) -> Reply {
    let wanted = req.query("event_type");
    let events: Vec<Value> = st
        .events
        .iter()
        .filter(|e| wanted.is_none_or(|w| w == e.event_type))
        .filter_map(|e| serde_json::from_str(&e.body).ok())
        .collect();
    Reply::json(200, &json!({ "events": events, "count": events.len() }))
}
