//! Refunds of a capture.

use super::{approved_order, captured, client_for, start_sim};
use crate::integrations::paypal::{Amount, CaptureStatus, Payments, RefundRequest, RefundStatus};
use crate::sim::paypal::CaptureScript;

fn refund(request_id: &str, cents: Option<i64>) -> RefundRequest {
    RefundRequest {
        request_id: request_id.into(),
        amount: cents.map(|c| Amount::new(c, "USD")),
        note_to_payer: Some("Number cancelled".into()),
    }
}

#[test]
fn partial_then_full_refund_with_idempotency() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1490);
    let cap = captured(client.capture_order(&id, "capture-1")).capture;

    let r1 = client
        .refund_capture(&cap.id, &refund("refund-1", Some(495)))
        .expect("partial refund");
    assert_eq!(r1.status, RefundStatus::Completed);
    assert_eq!(r1.amount, Some(Amount::new(495, "USD")));
    assert_eq!(r1.capture_id.as_deref(), Some(cap.id.as_str()));
    assert_eq!(
        client.get_capture(&cap.id).expect("capture").status,
        CaptureStatus::PartiallyRefunded
    );

    // A double click with the same request id: one refund.
    let again = client
        .refund_capture(&cap.id, &refund("refund-1", Some(495)))
        .expect("replay");
    assert_eq!(again.id, r1.id);
    assert_eq!(sim.refunds().len(), 1);

    // More than what remains.
    let err = client
        .refund_capture(&cap.id, &refund("refund-2", Some(996)))
        .expect_err("too much");
    assert_eq!(err.issue(), Some("REFUND_AMOUNT_EXCEEDED"));

    // The rest.
    let r2 = client
        .refund_capture(&cap.id, &refund("refund-3", None))
        .expect("full refund");
    assert_eq!(r2.amount, Some(Amount::new(995, "USD")));
    assert_eq!(
        client.get_capture(&cap.id).expect("capture").status,
        CaptureStatus::Refunded
    );
    let order = client.get_order(&id).expect("order");
    assert_eq!(order.refunds.len(), 2);

    let err = client
        .refund_capture(&cap.id, &refund("refund-4", None))
        .expect_err("nothing left");
    assert_eq!(err.issue(), Some("CAPTURE_FULLY_REFUNDED"));
    assert_eq!(sim.refunds().len(), 2);
}

#[test]
fn refund_refusals() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1000);
    sim.script_next_capture(CaptureScript::Pending {
        reason: "ECHECK".into(),
    });
    let cap = captured(client.capture_order(&id, "capture-1")).capture;
    let err = client
        .refund_capture(&cap.id, &refund("refund-1", None))
        .expect_err("pending");
    assert_eq!(err.issue(), Some("PENDING_CAPTURE"));

    let id = approved_order(&sim, &client, 1000);
    let cap = captured(client.capture_order(&id, "capture-2")).capture;
    let mut eur = refund("refund-2", None);
    eur.amount = Some(Amount::new(100, "EUR"));
    let err = client.refund_capture(&cap.id, &eur).expect_err("currency");
    assert_eq!(err.issue(), Some("REFUND_CAPTURE_CURRENCY_MISMATCH"));

    let err = client
        .refund_capture("FAKECAP999999", &refund("refund-3", None))
        .expect_err("unknown");
    assert!(err.is_not_found());
    assert!(sim.refunds().is_empty());
}
