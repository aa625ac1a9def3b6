//! PayPal bodies that are garbage, truncated or wrong-typed: webhook events, API replies,
//! error bodies and amounts give an error value or a consistent value, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::integrations::paypal::webhook::{raw_event_text, raw_member};
use crate::integrations::paypal::wire::{WCapture, WOrder, WRefund, api_error, parse};
use crate::integrations::paypal::{
    Amount, PayPalError, format_value, parse_value, parse_webhook_event,
};
use crate::proptest_json::{any_json, object_with, reply_bytes};

const EVENT_TYPES: &[&str] = &[
    "PAYMENT.CAPTURE.COMPLETED",
    "PAYMENT.CAPTURE.DENIED",
    "PAYMENT.CAPTURE.REFUNDED",
    "PAYMENT.CAPTURE.PENDING",
    "CHECKOUT.ORDER.APPROVED",
    "PAYMENT.REFUND.COMPLETED",
    "BILLING.SUBSCRIPTION.CREATED",
];

/// A well-formed event: (body, id, event type, resource type, resource id, cents, currency).
fn event() -> impl Strategy<Value = (Value, String, String, Option<String>, String, i64, String)> {
    (
        "WH-[A-Z0-9]{1,20}",
        proptest::sample::select(EVENT_TYPES),
        proptest::option::of(proptest::sample::select(
            &["capture", "refund", "checkout-order", "sale"][..],
        )),
        "[A-Z0-9]{1,17}",
        0i64..1_000_000_000,
        proptest::sample::select(&["USD", "EUR", "JPY"][..]),
    )
        .prop_map(|(id, et, rt, rid, cents, cur)| {
            let value = format_value(cents, cur).unwrap();
            let money = json!({"currency_code": cur, "value": value});
            let order =
                rt == Some("checkout-order") || (rt.is_none() && et.starts_with("CHECKOUT."));
            let resource = if order {
                json!({"id": rid, "status": "APPROVED",
                       "purchase_units": [{"amount": money, "custom_id": "17"}]})
            } else {
                json!({"id": rid, "status": "COMPLETED", "amount": money, "custom_id": "17",
                       "supplementary_data": {"related_ids": {"order_id": "ORD1"}}})
            };
            let mut body = json!({"id": id, "event_type": et, "resource": resource});
            if let Some(rt) = rt {
                body["resource_type"] = json!(rt);
            }
            (
                body,
                id,
                et.to_string(),
                rt.map(str::to_string),
                rid,
                cents,
                cur.to_string(),
            )
        })
}

/// Replaces one member somewhere in `v` (chosen by `pick`) with `with`.
fn corrupt(v: &mut Value, pick: usize, with: Value) {
    fn members(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if let Value::Object(m) = v {
            for (k, child) in m {
                path.push(k.clone());
                out.push(path.clone());
                members(child, path, out);
                path.pop();
            }
        }
        if let Value::Array(items) = v {
            for (i, child) in items.iter().enumerate() {
                path.push(i.to_string());
                members(child, path, out);
                path.pop();
            }
        }
    }
    let mut all = Vec::new();
    members(v, &mut Vec::new(), &mut all);
    if all.is_empty() {
        return;
    }
    let path = &all[pick % all.len()];
    let mut at = v;
    for k in path {
        at = match at {
            Value::Object(m) => m.get_mut(k).unwrap(),
            Value::Array(items) => &mut items[k.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    *at = with;
}

fn malformed_only(e: &PayPalError) -> Result<(), TestCaseError> {
    prop_assert!(matches!(e, PayPalError::Malformed(_)), "{e:?}");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A well-formed event reads back as what was sent.
    #[test]
    fn well_formed_events_parse(e in event()) {
        let (body, id, et, rt, rid, cents, cur) = e;
        let other = rt.as_deref() == Some("sale") || (rt.is_none() && et.starts_with("BILLING."));
        let got = parse_webhook_event(body.to_string().as_bytes()).unwrap();
        prop_assert_eq!(got.id, id);
        prop_assert_eq!(got.event_type, et);
        prop_assert_eq!(got.resource_type, rt);
        prop_assert_eq!(got.amount, Some(Amount::new(cents, &cur)));
        prop_assert_eq!(got.custom_id.as_deref(), Some("17"));
        let ids = [got.order_id, got.capture_id, got.refund_id];
        prop_assert_eq!(ids.iter().any(|i| i.as_deref() == Some(rid.as_str())), !other);
    }

    /// Any member replaced by a value of another type, or the body cut short: an error
    /// value (`Malformed`) or an event, never a panic.
    #[test]
    fn corrupted_events_are_errors_not_panics(
        e in event(), pick in any::<usize>(), with in any_json(), cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut body = e.0;
        corrupt(&mut body, pick, with);
        let mut bytes = body.to_string().into_bytes();
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        match parse_webhook_event(&bytes) {
            Ok(ev) => {
                if let Some(a) = ev.amount {
                    prop_assert!(a.cents >= 0);
                    prop_assert!(a.to_value().is_ok());
                }
            }
            Err(e) => malformed_only(&e)?,
        }
        let as_text = raw_event_text(&bytes);
        if let Some(t) = as_text {
            prop_assert!(t.trim_start().starts_with('{'), "{:?}", t);
        }
    }

    #[test]
    fn any_bytes_as_an_event(bytes in reply_bytes(&["id", "event_type", "resource", "resource_type"])) {
        if let Err(e) = parse_webhook_event(&bytes) {
            malformed_only(&e)?;
        }
        let _ = raw_event_text(&bytes);
    }

    /// The raw member scanner used to pass the event to PayPal untouched finds exactly the
    /// text serde_json wrote, and never panics on anything else.
    #[test]
    fn raw_member_scanner(m in object_with(&["webhook_event", "id", "a"]), junk in any::<String>()) {
        let text = Value::Object(m.clone()).to_string();
        for (k, v) in &m {
            let raw = raw_member(&text, k);
            prop_assert_eq!(raw, Some(v.to_string()));
        }
        let _ = raw_member(&junk, "webhook_event");
        let cut: String = text.chars().take(junk.len() % (text.len() + 1)).collect();
        let _ = raw_member(&cut, "webhook_event");
    }

    /// API replies of any shape: orders, captures, refunds and error bodies.
    #[test]
    fn api_replies_of_any_shape(
        body in reply_bytes(&["id", "status", "purchase_units", "amount", "links", "name", "details", "error"]),
        status in 400u16..600,
    ) {
        let text = String::from_utf8_lossy(&body);
        if let Err(e) = parse::<WOrder>("order", &text).and_then(WOrder::into_order) {
            malformed_only(&e)?;
        }
        if let Err(e) = parse::<WCapture>("capture", &text).and_then(WCapture::into_capture) {
            malformed_only(&e)?;
        }
        if let Err(e) = parse::<WRefund>("refund", &text).and_then(WRefund::into_refund) {
            malformed_only(&e)?;
        }
        let e = api_error(status, &text, None).error;
        prop_assert_eq!(e.status(), Some(status));
        prop_assert!(e.to_string().chars().count() < 2000);
    }

    #[test]
    fn amounts_parse_or_refuse(value in "\\PC{0,24}|[0-9]{0,18}(\\.[0-9]{0,3})?", cur in "[A-Z]{3}|\\PC{0,4}") {
        if let Ok(cents) = parse_value(&value, &cur) {
            prop_assert!(cents >= 0);
            prop_assert_eq!(parse_value(&format_value(cents, &cur).unwrap(), &cur).unwrap(), cents);
        }
    }

    #[test]
    fn amounts_round_trip(cents in 0i64..1_000_000_000_000_000, cur in proptest::sample::select(&["USD", "EUR", "JPY", "HUF"][..])) {
        let a = Amount::new(cents, cur);
        let v = a.to_value();
        if let Ok(v) = v {
            prop_assert_eq!(Amount::from_paypal(&v, cur).unwrap(), a);
        }
    }
}
