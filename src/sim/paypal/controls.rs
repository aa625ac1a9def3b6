//! Test-only controls under `/__fake/…` (docs/paypal.md, "Simulator"),
//! for tests that drive the simulator over HTTP rather than through
//! [`super::PayPalSim`].

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::server::{Out, Reply, Req};
use super::state::{FailRule, Shared};
use super::{CaptureScript, PayPalFailure, Settle, SimError, orders, payments, webhooks};

fn ok_json(v: Value) -> Out {
    (Reply::json(200, &v), Vec::new())
}

fn sim_error(e: SimError) -> Out {
    let status = match e {
        SimError::InvalidState(_) => 409,
        SimError::NoWebhookUrl => 400,
        _ => 404,
    };
    (
        Reply::json(status, &json!({ "error": e.to_string() })),
        Vec::new(),
    )
}

/// `/__fake/…`: test controls mirroring the [`super::PayPalSim`] methods.
pub(super) fn controls(shared: &Arc<Shared>, req: &Req) -> Out {
    let body = match req.json_object() {
        Ok(v) => v,
        Err(r) => return (r, Vec::new()),
    };
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').skip(1).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["orders", id, "approve"]) => {
            let mut st = shared.lock();
            match orders::approve(&mut st, id) {
                Ok((_, pending)) => {
                    let order = st.orders.get(*id).map(|o| st.order_json(o));
                    (Reply::json(200, &order.unwrap_or(Value::Null)), pending)
                }
                Err(e) => sim_error(e),
            }
        }
        ("POST", ["orders", id, "expire"]) => match shared.lock().orders.get_mut(*id) {
            Some(o) => {
                o.expired = true;
                ok_json(json!({ "ok": true }))
            }
            None => sim_error(SimError::UnknownOrder(id.to_string())),
        },
        ("POST", ["orders", id, "next-capture"]) | ("POST", [id @ "next-capture"]) => {
            let Some(code) = s("outcome") else {
                return (
                    Reply::json(400, &json!({ "error": "outcome required" })),
                    Vec::new(),
                );
            };
            let script = match (CaptureScript::from_code(&code), s("reason")) {
                (CaptureScript::Pending { .. }, Some(reason)) => CaptureScript::Pending { reason },
                (other, _) => other,
            };
            let mut st = shared.lock();
            if *id == "next-capture" {
                st.next_capture.push_back(script);
            } else if st.orders.contains_key(*id) {
                st.order_scripts
                    .entry(id.to_string())
                    .or_default()
                    .push_back(script);
            } else {
                return sim_error(SimError::UnknownOrder(id.to_string()));
            }
            ok_json(json!({ "ok": true }))
        }
        ("POST", ["captures", id, "settle"]) => {
            let to = if s("to").as_deref() == Some("DENIED") {
                Settle::Denied
            } else {
                Settle::Completed
            };
            let result = payments::settle(&mut shared.lock(), id, to);
            match result {
                Ok(pending) => (Reply::json(200, &json!({ "ok": true })), pending),
                Err(e) => sim_error(e),
            }
        }
        (
            "POST",
            [
                "captures",
                id,
                action @ ("dashboard-refund" | "reverse" | "dispute"),
            ],
        ) => {
            let mut st = shared.lock();
            let cents = body.get("cents").and_then(Value::as_i64);
            let made = match *action {
                "dashboard-refund" => payments::dashboard_refund(&mut st, id, cents),
                "reverse" => payments::reverse(&mut st, id),
                _ => payments::dispute(&mut st, id),
            };
            match made {
                Ok(p) => (Reply::json(200, &json!({ "ok": true })), vec![p]),
                Err(e) => sim_error(e),
            }
        }
        ("POST", ["tokens", "expire"]) => {
            shared.lock().tokens.clear();
            ok_json(json!({ "ok": true }))
        }
        ("POST", ["webhooks", "config"]) => {
            let mut st = shared.lock();
            if body.get("url").is_some() {
                st.cfg.webhook_url = s("url");
            }
            if let Some(id) = s("webhook_id") {
                st.cfg.webhook_id = id;
            }
            if let Some(a) = body.get("auto_emit").and_then(Value::as_bool) {
                st.cfg.auto_emit = a;
            }
            if let Some(ms) = body.get("delay_ms").and_then(Value::as_u64) {
                st.cfg.webhook_delay = Duration::from_millis(ms);
            }
            if let Some(strict) = body.get("strict").and_then(Value::as_bool) {
                st.cfg.strict_verification = strict;
            }
            ok_json(json!({ "ok": true }))
        }
        ("POST", ["webhooks", "emit"]) => {
            let event_type = s("event_type").unwrap_or_default();
            let id = s("order_id")
                .or_else(|| s("capture_id"))
                .or_else(|| s("refund_id"))
                .unwrap_or_default();
            let pending = webhooks::event_for(&mut shared.lock(), &event_type, &id);
            match pending.and_then(|p| webhooks::deliver_event(shared, &p.event_id)) {
                Ok(d) => ok_json(delivery_json(&d)),
                Err(e) => sim_error(e),
            }
        }
        ("POST", ["webhooks", "redeliver", event_id]) => {
            match webhooks::deliver_event(shared, event_id) {
                Ok(d) => ok_json(delivery_json(&d)),
                Err(e) => sim_error(e),
            }
        }
        ("POST", ["webhooks", "forge"]) => {
            let text = match body.get("body") {
                Some(Value::String(t)) => t.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            };
            match webhooks::deliver_forged(shared, &text) {
                Ok(d) => ok_json(delivery_json(&d)),
                Err(e) => sim_error(e),
            }
        }
        ("POST", ["fail-next"]) => {
            let failure = if body.get("hang").and_then(Value::as_bool) == Some(true) {
                PayPalFailure::Hang
            } else {
                let status = body.get("status").and_then(Value::as_u64).unwrap_or(500);
                PayPalFailure::Status(u16::try_from(status).unwrap_or(500))
            };
            shared.lock().fail_rules.push(FailRule {
                method: s("method")
                    .unwrap_or_else(|| "POST".into())
                    .to_ascii_uppercase(),
                path_prefix: s("path_prefix").unwrap_or_else(|| "/".into()),
                failure,
            });
            ok_json(json!({ "ok": true }))
        }
        ("GET", ["requests"]) => {
            let list: Vec<Value> = shared
                .lock()
                .requests
                .iter()
                .map(|r| {
                    json!({
                        "method": r.method, "path": r.path,
                        "paypal_request_id": r.paypal_request_id, "prefer": r.prefer,
                        "auth_kind": r.auth_kind, "body": r.body, "status": r.status,
                    })
                })
                .collect();
            ok_json(Value::Array(list))
        }
        ("GET", ["orders"]) => {
            let st = shared.lock();
            let list: Vec<Value> = st
                .orders
                .values()
                .map(|o| {
                    let mut v = st.order_json(o);
                    v["expired"] = json!(o.expired);
                    v
                })
                .collect();
            ok_json(Value::Array(list))
        }
        ("POST", ["reset"]) => {
            shared.lock().reset();
            ok_json(json!({ "ok": true }))
        }
        _ => (
            Reply::json(404, &json!({ "error": "unknown control" })),
            Vec::new(),
        ),
    }
}

fn delivery_json(d: &super::Delivery) -> Value {
    json!({
        "event_id": d.event_id,
        "transmission_id": d.transmission_id,
        "status": d.status,
        "error": d.error,
    })
}
