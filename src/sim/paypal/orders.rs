//! Orders v2 in the simulator: create, get, approve/cancel, capture
//! (docs/paypal.md, "Simulator").

use serde_json::{Value, json};

use super::server::{Out, Reply, Req};
use super::state::{PAYER_ID, PendingEvent, State};
use super::wire::rfc3339_now;
use super::wire::{SimAmount, SimCaptureStatus, SimOrderStatus, cents, decimals};
use super::{CaptureScript, SimError, SimOrder};

/// Whether the request asked for the full representation.
pub(super) fn wants_representation(req: &Req) -> bool {
    req.header("prefer")
        .is_some_and(|p| p.contains("return=representation"))
}

/// Checks a money object the way PayPal does and returns it in minor units.
/// `field` is the JSON pointer used in error details.
pub(super) fn check_money(
    v: Option<&Value>,
    field: &str,
    allow_zero: bool,
) -> Result<SimAmount, Reply> {
    let missing = || {
        Reply::api_error(
            400,
            Some("MISSING_REQUIRED_PARAMETER"),
            "A required field / parameter is missing.",
            Some(field),
            Some("body"),
        )
    };
    let v = v.ok_or_else(missing)?;
    let currency = v
        .get("currency_code")
        .and_then(Value::as_str)
        .ok_or_else(missing)?;
    let value = v.get("value").and_then(Value::as_str).ok_or_else(missing)?;
    if currency.len() != 3 || !currency.bytes().all(|c| c.is_ascii_uppercase()) {
        return Err(Reply::api_error(
            422,
            Some("INVALID_CURRENCY_CODE"),
            "Currency code is invalid or is not currently supported.",
            Some(&format!("{field}/currency_code")),
            Some("body"),
        ));
    }
    // ^((-?[0-9]+)|(-?([0-9]+)?[.][0-9]+))$
    let unsigned = value.strip_prefix('-').unwrap_or(value);
    let (int, frac) = match unsigned.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let syntax_ok = value.len() <= 32
        && digits(int)
        && match frac {
            None => !int.is_empty(),
            Some(f) => !f.is_empty() && digits(f),
        };
    if !syntax_ok {
        return Err(Reply::api_error(
            400,
            Some("INVALID_PARAMETER_SYNTAX"),
            "The value of a field does not conform to the expected format.",
            Some(&format!("{field}/value")),
            Some("body"),
        ));
    }
    if frac.map_or(0, str::len) > decimals(currency) as usize {
        return Err(Reply::api_error(
            422,
            Some("DECIMAL_PRECISION"),
            "If the currency supports decimals, only two decimal place precision is supported.",
            Some(&format!("{field}/value")),
            Some("body"),
        ));
    }
    let zero = !value.bytes().any(|c| (b'1'..=b'9').contains(&c));
    if (value.starts_with('-') && !zero) || (zero && !allow_zero) {
        return Err(Reply::api_error(
            422,
            Some("CANNOT_BE_ZERO_OR_NEGATIVE"),
            "Must be greater than zero.",
            Some(&format!("{field}/value")),
            Some("body"),
        ));
    }
    let normalised = if int.is_empty() {
        format!("0{unsigned}")
    } else {
        unsigned.to_string()
    };
    let minor = cents(&normalised, currency).ok_or_else(|| {
        Reply::api_error(
            422,
            Some("MAX_VALUE_EXCEEDED"),
            "Should be less than or equal to 999999999999999.99.",
            Some(&format!("{field}/value")),
            Some("body"),
        )
    })?;
    Ok(SimAmount::new(minor, currency))
}

fn invalid(issue: &str, description: &str, field: &str) -> Out {
    (
        Reply::api_error(400, Some(issue), description, Some(field), Some("body")),
        Vec::new(),
    )
}

/// `POST /v2/checkout/orders`.
pub(super) fn create(st: &mut State, req: &Req) -> Out {
    let request_id = req.header("paypal-request-id").map(str::to_string);
    if let Some(stored) = request_id.as_ref().and_then(|k| st.create_keys.get(k)) {
        let body = stored.clone();
        st.idempotency_hits += 1;
        return (Reply::json_text(200, body), Vec::new());
    }
    let body = match req.json_object() {
        Ok(v) => v,
        Err(r) => return (r, Vec::new()),
    };
    let intent = body.get("intent").and_then(Value::as_str).unwrap_or("");
    if intent != "CAPTURE" && intent != "AUTHORIZE" {
        return invalid(
            "INVALID_PARAMETER_VALUE",
            "The value of a field is invalid.",
            "/intent",
        );
    }
    let Some(unit) = body
        .get("purchase_units")
        .and_then(Value::as_array)
        .and_then(|u| u.first())
        .filter(|u| u.is_object())
        .cloned()
    else {
        return invalid(
            "MISSING_REQUIRED_PARAMETER",
            "A required field / parameter is missing.",
            "/purchase_units",
        );
    };
    let amount = match check_money(unit.get("amount"), "/purchase_units/0/amount", false) {
        Ok(a) => a,
        Err(r) => return (r, Vec::new()),
    };
    if let Err(r) = check_breakdown(&unit, &amount) {
        return (r, Vec::new());
    }
    let ps = body.pointer("/payment_source/paypal");
    let ctx = ps
        .and_then(|p| p.get("experience_context"))
        .or_else(|| body.get("application_context"));
    let url = |k: &str| {
        ctx.and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let text = |k: &str| unit.get(k).and_then(Value::as_str).map(str::to_string);
    let id = st.next_order_id();
    let now = rfc3339_now();
    let order = SimOrder {
        id: id.clone(),
        status: if ps.is_some() {
            SimOrderStatus::PayerActionRequired
        } else {
            SimOrderStatus::Created
        },
        intent: intent.to_string(),
        amount,
        custom_id: text("custom_id"),
        invoice_id: text("invoice_id"),
        return_url: url("return_url"),
        cancel_url: url("cancel_url"),
        payer_id: None,
        capture_ids: Vec::new(),
        expired: false,
        approvals: 0,
        create_request_id: request_id.clone(),
        uses_payment_source: ps.is_some(),
        create_time: now.clone(),
        update_time: now,
        unit,
    };
    let reply_body = if wants_representation(req) {
        st.order_json(&order)
    } else {
        st.order_minimal_json(&order)
    }
    .to_string();
    st.orders.insert(id, order);
    if let Some(k) = request_id {
        st.create_keys.insert(k, reply_body.clone());
    }
    (Reply::json_text(201, reply_body), Vec::new())
}

/// `breakdown` must add up to `value`; items must add up to `item_total`.
fn check_breakdown(unit: &Value, amount: &SimAmount) -> Result<(), Reply> {
    let breakdown = unit.pointer("/amount/breakdown");
    let part = |name: &str| -> Result<i64, Reply> {
        match breakdown.and_then(|b| b.get(name)) {
            None => Ok(0),
            Some(m) => {
                let a = check_money(
                    Some(m),
                    &format!("/purchase_units/0/amount/breakdown/{name}"),
                    true,
                )?;
                Ok(a.cents)
            }
        }
    };
    if breakdown.is_some() {
        let total = part("item_total")?
            + part("tax_total")?
            + part("shipping")?
            + part("handling")?
            + part("insurance")?
            - part("shipping_discount")?
            - part("discount")?;
        if total != amount.cents {
            return Err(Reply::unprocessable(
                "AMOUNT_MISMATCH",
                "Should equal item_total + tax_total + shipping + handling + insurance - shipping_discount - discount.",
            ));
        }
    }
    let items = unit.get("items").and_then(Value::as_array);
    let mut item_sum = 0i64;
    let mut priced = false;
    for (i, item) in items.into_iter().flatten().enumerate() {
        if let Some(m) = item.get("unit_amount") {
            priced = true;
            let a = check_money(
                Some(m),
                &format!("/purchase_units/0/items/{i}/unit_amount"),
                true,
            )?;
            let qty: i64 = item
                .get("quantity")
                .and_then(Value::as_str)
                .and_then(|q| q.parse().ok())
                .unwrap_or(1);
            item_sum += a.cents * qty;
        }
    }
    if priced {
        let Some(item_total) = breakdown.and_then(|b| b.get("item_total")) else {
            return Err(Reply::unprocessable(
                "ITEM_TOTAL_REQUIRED",
                "If item details are specified, amount.breakdown.item_total is required.",
            ));
        };
        let total = check_money(
            Some(item_total),
            "/purchase_units/0/amount/breakdown/item_total",
            true,
        )?;
        if total.cents != item_sum {
            return Err(Reply::unprocessable(
                "ITEM_TOTAL_MISMATCH",
                "Should equal sum of (unit_amount * quantity) across all items.",
            ));
        }
    }
    Ok(())
}

/// `GET /v2/checkout/orders/<id>`: always the full representation.
pub(super) fn get(st: &State, _req: &Req, id: &str) -> Reply {
    match st.live_order(id) {
        Some(o) => Reply::json(200, &st.order_json(o)),
        None => Reply::not_found(),
    }
}

/// `return_url` (or `cancel_url`) with the given query pairs appended.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{q}")
}

/// Approves an order (the Approve button). Returns the redirect and the
/// `CHECKOUT.ORDER.APPROVED` event.
pub(super) fn approve(
    st: &mut State,
    order_id: &str,
) -> Result<(Option<String>, Vec<PendingEvent>), SimError> {
    let order = st
        .orders
        .get_mut(order_id)
        .filter(|o| !o.expired)
        .ok_or_else(|| SimError::UnknownOrder(order_id.into()))?;
    match order.status {
        SimOrderStatus::Created
        | SimOrderStatus::PayerActionRequired
        | SimOrderStatus::Approved => {}
        ref other => {
            return Err(SimError::InvalidState(format!(
                "order {order_id} is {}",
                other.wire()
            )));
        }
    }
    order.status = SimOrderStatus::Approved;
    order.payer_id = Some(PAYER_ID.to_string());
    order.approvals += 1;
    order.update_time = rfc3339_now();
    let redirect = order
        .return_url
        .as_deref()
        .map(|u| with_query(u, &[("token", order_id), ("PayerID", PAYER_ID)]));
    let pending = st.order_event("CHECKOUT.ORDER.APPROVED", order_id);
    Ok((redirect, pending.into_iter().collect()))
}

/// Where the Cancel button sends the browser (`cancel_url?token=<id>`).
pub(super) fn cancel_redirect(st: &State, order_id: &str) -> Result<Option<String>, SimError> {
    let order = st
        .live_order(order_id)
        .ok_or_else(|| SimError::UnknownOrder(order_id.into()))?;
    Ok(order
        .cancel_url
        .as_deref()
        .map(|u| with_query(u, &[("token", order_id)])))
}

/// The capture event type for a capture status.
fn capture_event_type(status: &SimCaptureStatus) -> &'static str {
    match status {
        SimCaptureStatus::Pending { .. } => "PAYMENT.CAPTURE.PENDING",
        SimCaptureStatus::Declined => "PAYMENT.CAPTURE.DECLINED",
        _ => "PAYMENT.CAPTURE.COMPLETED",
    }
}

/// The script for this capture: `PayPal-Mock-Response`, then the order's
/// queue, then the global queue.
fn take_script(st: &mut State, req: &Req, order_id: &str) -> Option<CaptureScript> {
    if let Some(mock) = req.header("paypal-mock-response") {
        let code = serde_json::from_str::<Value>(mock).ok().and_then(|v| {
            v.get("mock_application_codes")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        if let Some(code) = code {
            return Some(CaptureScript::from_code(&code));
        }
    }
    if let Some(s) = st
        .order_scripts
        .get_mut(order_id)
        .and_then(|q| q.pop_front())
    {
        return Some(s);
    }
    st.next_capture.pop_front()
}

/// `POST /v2/checkout/orders/<id>/capture`, deciding in the order docs/paypal.md ("Simulator") gives.
/// 422 `INSTRUMENT_DECLINED` with the `redirect` link back to the approval page.
fn instrument_declined(st: &State, order_id: &str) -> Reply {
    let approve = st.approve_url(order_id);
    Reply::api_error_with_links(
        422,
        Some("INSTRUMENT_DECLINED"),
        "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
        None,
        None,
        vec![json!({ "href": approve, "rel": "redirect", "method": "GET" })],
    )
}

pub(super) fn capture(st: &mut State, req: &Req, order_id: &str) -> Out {
    let none = Vec::new;
    let Some(order) = st.live_order(order_id) else {
        return (Reply::not_found(), none());
    };
    let request_id = req.header("paypal-request-id").map(str::to_string);
    let key = request_id.map(|k| (order_id.to_string(), k));
    if let Some(stored) = key.as_ref().and_then(|k| st.capture_keys.get(k)) {
        let body = stored.clone();
        st.idempotency_hits += 1;
        return (Reply::json_text(200, body), none());
    }
    if key
        .as_ref()
        .is_some_and(|k| st.declined_capture_keys.contains(k))
    {
        st.idempotency_hits += 1;
        return (instrument_declined(st, order_id), none());
    }
    if let Err(r) = req.json_object() {
        return (r, none());
    }
    if order.intent != "CAPTURE" {
        return (
            Reply::unprocessable(
                "ACTION_DOES_NOT_MATCH_INTENT",
                "Order was created with an intent to 'AUTHORIZE'. Please use v2/checkout/orders/order_id/authorize to complete the transaction.",
            ),
            none(),
        );
    }
    match order.status {
        SimOrderStatus::Completed => {
            return (
                Reply::unprocessable(
                    "ORDER_ALREADY_CAPTURED",
                    "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
                ),
                none(),
            );
        }
        SimOrderStatus::Approved => {}
        _ => {
            return (
                Reply::unprocessable(
                    "ORDER_NOT_APPROVED",
                    "Payer has not yet approved the Order for payment.",
                ),
                none(),
            );
        }
    }
    let amount = order.amount.clone();
    let hang = st.cfg.hang;
    let script = take_script(st, req, order_id).unwrap_or(CaptureScript::Completed);
    // Outcomes that record nothing.
    match &script {
        CaptureScript::InstrumentDeclined => {
            if let Some(o) = st.orders.get_mut(order_id) {
                o.status = if o.uses_payment_source {
                    SimOrderStatus::PayerActionRequired
                } else {
                    SimOrderStatus::Created
                };
            }
            if let Some(k) = key {
                st.declined_capture_keys.insert(k);
            }
            return (instrument_declined(st, order_id), none());
        }
        CaptureScript::Issue(issue) => {
            let reply = Reply::unprocessable(issue, "Scripted failure.");
            return (reply, none());
        }
        CaptureScript::ServerError => return (Reply::api_error(500, None, "", None, None), none()),
        CaptureScript::Timeout => {
            let reply = Reply::api_error(500, None, "", None, None).delayed(hang);
            return (reply, none());
        }
        _ => {}
    }
    // Outcomes that record a capture.
    let (status, amount) = match &script {
        CaptureScript::Pending { reason } => (
            SimCaptureStatus::Pending {
                reason: Some(reason.clone()),
            },
            amount,
        ),
        CaptureScript::Declined => (SimCaptureStatus::Declined, amount),
        CaptureScript::AmountMismatch => (
            SimCaptureStatus::Completed,
            SimAmount::new(1, &amount.currency),
        ),
        _ => (SimCaptureStatus::Completed, amount),
    };
    let event_type = capture_event_type(&status);
    let Some(capture_id) = st.commit_capture(order_id, status, amount) else {
        return (Reply::not_found(), none());
    };
    let pending: Vec<PendingEvent> = st
        .capture_event(event_type, &capture_id)
        .into_iter()
        .collect();
    let body = match st.orders.get(order_id) {
        Some(o) if wants_representation(req) => st.order_json(o),
        Some(o) => st.order_minimal_json(o),
        None => Value::Null,
    }
    .to_string();
    if script == CaptureScript::AlreadyCaptured {
        let reply = Reply::unprocessable(
            "ORDER_ALREADY_CAPTURED",
            "Order already captured. If 'intent=CAPTURE' only one capture per order is allowed.",
        );
        return (reply, pending);
    }
    if let Some(k) = key {
        st.capture_keys.insert(k, body.clone());
    }
    let reply = match script {
        CaptureScript::CommitThenError => Reply::api_error(500, None, "", None, None),
        CaptureScript::LostResponse => Reply::json_text(201, body).delayed(hang),
        _ => Reply::json_text(201, body),
    };
    (reply, pending)
}
