//! Payments v2 in the simulator: read captures and refunds, refund a
//! capture, settle a pending capture (docs/paypal.md, "Simulator").

use serde_json::{Value, json};

use super::orders::{check_money, wants_representation};
use super::server::{Out, Reply, Req};
use super::state::{PendingEvent, State, money};
use super::wire::rfc3339_now;
use super::wire::{SimAmount, SimCaptureStatus};
use super::{Settle, SimError, SimRefund};

/// `GET /v2/payments/captures/<id>`.
pub(super) fn get_capture(st: &State, id: &str) -> Reply {
    match st.captures.get(id) {
        Some(c) => Reply::json(200, &st.capture_json(c)),
        None => Reply::not_found(),
    }
}

/// `GET /v2/payments/refunds/<id>`.
pub(super) fn get_refund(st: &State, id: &str) -> Reply {
    match st.refunds.get(id) {
        Some(r) => Reply::json(200, &st.refund_json(r)),
        None => Reply::not_found(),
    }
}

/// `POST /v2/payments/captures/<id>/refund`, body `{}` or `{"amount": …}`.
pub(super) fn refund(st: &mut State, req: &Req, capture_id: &str) -> Out {
    let none = Vec::new;
    let request_id = req.header("paypal-request-id").map(str::to_string);
    if let Some(stored) = request_id.as_ref().and_then(|k| st.refund_keys.get(k)) {
        let body = stored.clone();
        st.idempotency_hits += 1;
        return (Reply::json_text(200, body), none());
    }
    let Some(capture) = st.captures.get(capture_id).cloned() else {
        return (Reply::not_found(), none());
    };
    let body = match req.json_object() {
        Ok(v) => v,
        Err(r) => return (r, none()),
    };
    let refuse =
        |issue: &str, description: &str| (Reply::unprocessable(issue, description), none());
    match capture.status {
        SimCaptureStatus::Pending { .. } => {
            return refuse(
                "PENDING_CAPTURE",
                "Cannot initiate a refund as the capture is pending.",
            );
        }
        SimCaptureStatus::Declined => {
            return refuse(
                "REFUND_NOT_ALLOWED",
                "Refund cannot be issued for this capture.",
            );
        }
        SimCaptureStatus::Refunded => {
            return refuse(
                "CAPTURE_FULLY_REFUNDED",
                "The capture has already been fully refunded.",
            );
        }
        _ => {}
    }
    let remaining = capture.amount.cents - capture.refunded_cents;
    let amount = match body.get("amount") {
        None => SimAmount::new(remaining, &capture.amount.currency),
        Some(m) => match check_money(Some(m), "/amount", false) {
            Err(r) => return (r, none()),
            Ok(a) if a.currency != capture.amount.currency => {
                return refuse(
                    "REFUND_CAPTURE_CURRENCY_MISMATCH",
                    "Refund must be in the same currency as the capture.",
                );
            }
            Ok(a) if a.cents > remaining => {
                return refuse(
                    "REFUND_AMOUNT_EXCEEDED",
                    "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
                );
            }
            Ok(a) => a,
        },
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let id = st.next_refund_id();
    let now = rfc3339_now();
    // A pending refund has not moved the money yet: the capture is unchanged.
    let pending = st.next_refund_pending.take();
    if let Some(c) = st
        .captures
        .get_mut(capture_id)
        .filter(|_| pending.is_none())
    {
        c.refunded_cents += amount.cents;
        c.status = if c.refunded_cents >= c.amount.cents {
            SimCaptureStatus::Refunded
        } else {
            SimCaptureStatus::PartiallyRefunded
        };
        c.refund_ids.push(id.clone());
        c.update_time = now.clone();
    }
    let refund = SimRefund {
        id: id.clone(),
        capture_id: capture_id.to_string(),
        order_id: capture.order_id.clone(),
        amount,
        request_id: request_id.clone(),
        custom_id: text("custom_id").or(capture.custom_id),
        invoice_id: text("invoice_id").or(capture.invoice_id),
        note_to_payer: text("note_to_payer"),
        create_time: now,
        pending,
    };
    let reply_body = if wants_representation(req) {
        st.refund_json(&refund)
    } else {
        json!({
            "id": refund.id,
            "status": if refund.pending.is_some() { "PENDING" } else { "COMPLETED" },
            "links": st.refund_json(&refund)["links"].clone(),
        })
    }
    .to_string();
    let held = refund.pending.is_some();
    st.refunds.insert(id.clone(), refund);
    if let Some(k) = request_id {
        st.refund_keys.insert(k, reply_body.clone());
    }
    // PAYMENT.CAPTURE.REFUNDED is sent when the money moves, so not for a pending refund.
    let event = if held {
        None
    } else {
        st.refund_event("PAYMENT.CAPTURE.REFUNDED", &id)
    };
    (
        Reply::json_text(201, reply_body),
        event.into_iter().collect(),
    )
}

/// Settles a PENDING capture; returns the follow-up event.
pub(super) fn settle(
    st: &mut State,
    capture_id: &str,
    to: Settle,
) -> Result<Vec<PendingEvent>, SimError> {
    let c = st
        .captures
        .get_mut(capture_id)
        .ok_or_else(|| SimError::UnknownCapture(capture_id.into()))?;
    if !matches!(c.status, SimCaptureStatus::Pending { .. }) {
        return Err(SimError::InvalidState(format!(
            "capture {capture_id} is {}",
            c.status.wire()
        )));
    }
    let event_type = match to {
        Settle::Completed => {
            c.status = SimCaptureStatus::Completed;
            "PAYMENT.CAPTURE.COMPLETED"
        }
        Settle::Denied => {
            c.status = SimCaptureStatus::Declined;
            "PAYMENT.CAPTURE.DENIED"
        }
    };
    c.update_time = rfc3339_now();
    Ok(st
        .capture_event(event_type, capture_id)
        .into_iter()
        .collect())
}

/// A refund made by the merchant in PayPal's dashboard (not through the API): the refund
/// carries no `custom_id` or `invoice_id`, and its event names the capture only through the
/// refund's `up` link (docs/paypal.md, "Dashboard refunds"). `cents` = `None` refunds the
/// rest. Returns the `PAYMENT.CAPTURE.REFUNDED` event.
pub(super) fn dashboard_refund(
    st: &mut State,
    capture_id: &str,
    cents: Option<i64>,
) -> Result<PendingEvent, SimError> {
    let capture = st
        .captures
        .get(capture_id)
        .cloned()
        .ok_or_else(|| SimError::UnknownCapture(capture_id.into()))?;
    let remaining = capture.amount.cents - capture.refunded_cents;
    let cents = cents.unwrap_or(remaining);
    if remaining <= 0 || cents <= 0 || cents > remaining {
        return Err(SimError::InvalidState(format!(
            "capture {capture_id} has {remaining} cents left to refund"
        )));
    }
    let id = st.next_refund_id();
    let now = rfc3339_now();
    if let Some(c) = st.captures.get_mut(capture_id) {
        c.refunded_cents += cents;
        c.status = if c.refunded_cents >= c.amount.cents {
            SimCaptureStatus::Refunded
        } else {
            SimCaptureStatus::PartiallyRefunded
        };
        c.refund_ids.push(id.clone());
        c.update_time = now.clone();
    }
    let refund = SimRefund {
        id: id.clone(),
        capture_id: capture_id.to_string(),
        order_id: capture.order_id.clone(),
        amount: SimAmount::new(cents, &capture.amount.currency),
        request_id: None,
        custom_id: None,
        invoice_id: None,
        note_to_payer: None,
        create_time: now,
        pending: None,
    };
    st.refunds.insert(id.clone(), refund);
    st.refund_event("PAYMENT.CAPTURE.REFUNDED", &id)
        .ok_or(SimError::InvalidState(format!("refund {id} vanished")))
}

/// PayPal reverses a capture (a chargeback, or a payment the buyer's bank took back). The
/// event's resource is the capture with status `REVERSED`, reduced to its id, status, amount
/// and links: no `custom_id` or related order id, so the receiver must match the capture id.
pub(super) fn reverse(st: &mut State, capture_id: &str) -> Result<PendingEvent, SimError> {
    let c = st
        .captures
        .get(capture_id)
        .ok_or_else(|| SimError::UnknownCapture(capture_id.into()))?;
    let full = st.capture_json(c);
    let resource = json!({
        "id": capture_id,
        "status": "REVERSED",
        "amount": full["amount"].clone(),
        "links": full["links"].clone(),
    });
    let summary = format!("A payment of {} was reversed", c.amount);
    Ok(st.new_event(
        "PAYMENT.CAPTURE.REVERSED",
        "capture",
        capture_id,
        summary,
        &resource,
    ))
}

/// The buyer opens a dispute on a capture: `CUSTOMER.DISPUTE.CREATED` with a dispute resource
/// whose `disputed_transactions[].seller_transaction_id` is the capture id.
pub(super) fn dispute(st: &mut State, capture_id: &str) -> Result<PendingEvent, SimError> {
    let c = st
        .captures
        .get(capture_id)
        .ok_or_else(|| SimError::UnknownCapture(capture_id.into()))?;
    let dispute_id = format!("PP-D-{}", capture_id.trim_start_matches("FAKECAP"));
    let resource = json!({
        "dispute_id": dispute_id,
        "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
        "status": "OPEN",
        "dispute_amount": money(&c.amount),
        "disputed_transactions": [{ "seller_transaction_id": capture_id }],
    });
    let summary = "A new dispute opened".to_string();
    Ok(st.new_event(
        "CUSTOMER.DISPUTE.CREATED",
        "dispute",
        &dispute_id,
        summary,
        &resource,
    ))
}
