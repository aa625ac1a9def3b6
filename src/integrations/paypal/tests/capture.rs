//! Capture outcomes: success, idempotency, every scripted outcome.

use super::{
    approved_order, captured, client_for, new_order, raw_agent, short_timeout_client, start_sim,
};
use crate::integrations::paypal::{
    Amount, CaptureOutcome, CaptureStatus, OrderStatus, PayPalError, Payments,
};
use crate::sim::paypal::{CaptureScript, Settle};

#[test]
fn create_approve_capture_completed_with_amount_check() {
    let sim = start_sim();
    let client = client_for(&sim);
    let expected = Amount::new(1490, "USD");
    let id = approved_order(&sim, &client, 1490);
    let c = captured(client.capture_order(&id, &format!("capture-{id}")));
    assert_eq!(c.order_id, id);
    assert_eq!(c.order_status, OrderStatus::Completed);
    assert_eq!(c.capture.status, CaptureStatus::Completed);
    assert_eq!(c.capture.amount, Some(expected.clone()));
    assert!(c.capture.is_paid(&expected));
    assert!(!c.capture.is_paid(&Amount::new(1490, "EUR")));
    assert!(!c.capture.is_paid(&Amount::new(1491, "USD")));
    assert_eq!(c.capture.custom_id.as_deref(), Some("ord_42"));
    assert_eq!(c.capture.invoice_id.as_deref(), Some("INV-2025-0042"));
    assert_eq!(
        c.payer.as_ref().and_then(|p| p.email.as_deref()),
        Some("buyer@example.test")
    );
    assert!(!c.replayed);

    let req = sim
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/capture"))
        .expect("capture request");
    assert_eq!(req.paypal_request_id, Some(format!("capture-{id}")));
    assert_eq!(req.prefer.as_deref(), Some("return=representation"));

    let order = client.get_order(&id).expect("get");
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.captures.len(), 1);
    assert_eq!(order.captures[0].id, c.capture.id);
    let cap = client.get_capture(&c.capture.id).expect("get capture");
    assert_eq!(cap.order_id.as_deref(), Some(id.as_str()));
    assert!(cap.is_paid(&expected));
}

#[test]
fn same_capture_request_id_captures_once() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 500);
    let first = captured(client.capture_order(&id, "capture-A"));
    let second = captured(client.capture_order(&id, "capture-A"));
    assert_eq!(first.capture.id, second.capture.id);
    assert!(second.replayed);
    assert_eq!(sim.captures().len(), 1);
    assert_eq!(sim.idempotency_hits(), 1);
    // Another key for the same order is a second capture attempt.
    assert_eq!(
        client.capture_order(&id, "capture-B").expect("answer"),
        CaptureOutcome::AlreadyCaptured
    );
    assert_eq!(sim.captures().len(), 1);
}

#[test]
fn capture_before_approval_is_not_approved() {
    let sim = start_sim();
    let client = client_for(&sim);
    let created = client
        .create_order(&new_order("create-1", 500))
        .expect("create");
    assert_eq!(
        client
            .capture_order(&created.id, "capture-1")
            .expect("answer"),
        CaptureOutcome::NotApproved
    );
    assert!(sim.captures().is_empty());
    // After approval the same key works: the refusal was not stored.
    sim.approve(&created.id).expect("approve");
    let c = captured(client.capture_order(&created.id, "capture-1"));
    assert!(!c.replayed);
}

#[test]
fn instrument_declined_sends_the_buyer_back_then_succeeds() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1490);
    sim.script_capture(&id, CaptureScript::InstrumentDeclined)
        .expect("script");
    match client.capture_order(&id, "capture-1").expect("answer") {
        CaptureOutcome::InstrumentDeclined { redirect_url } => {
            assert_eq!(redirect_url, Some(sim.approve_url(&id)));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(sim.captures().is_empty());
    assert_eq!(
        client.get_order(&id).expect("get").status,
        OrderStatus::PayerActionRequired
    );
    // Until the buyer approves again, capture is refused. Each attempt has its own key: a
    // repeated key would get the cached decline back.
    assert_eq!(
        client.capture_order(&id, "capture-2").expect("answer"),
        CaptureOutcome::NotApproved
    );
    sim.approve(&id).expect("approve again");
    let c = captured(client.capture_order(&id, "capture-3"));
    assert!(c.capture.is_paid(&Amount::new(1490, "USD")));
    assert_eq!(sim.order(&id).expect("order").approvals, 2);
}

#[test]
fn already_captured_race_is_reconciled_by_reading_the_order() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 700);
    sim.script_next_capture(CaptureScript::AlreadyCaptured);
    assert_eq!(
        client.capture_order(&id, "capture-1").expect("answer"),
        CaptureOutcome::AlreadyCaptured
    );
    let order = client.get_order(&id).expect("reconcile");
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.captures.len(), 1);
    assert!(order.captures[0].is_paid(&Amount::new(700, "USD")));
}

#[test]
fn pending_capture_is_not_paid_until_settled() {
    let sim = start_sim();
    let client = client_for(&sim);
    let expected = Amount::new(2500, "USD");
    let id = approved_order(&sim, &client, 2500);
    sim.script_capture(
        &id,
        CaptureScript::Pending {
            reason: "PENDING_REVIEW".into(),
        },
    )
    .expect("script");
    let c = captured(client.capture_order(&id, "capture-1"));
    assert_eq!(c.order_status, OrderStatus::Completed);
    assert_eq!(
        c.capture.status,
        CaptureStatus::Pending {
            reason: Some("PENDING_REVIEW".into())
        }
    );
    assert!(!c.capture.is_paid(&expected));
    sim.settle_capture(&c.capture.id, Settle::Completed)
        .expect("settle");
    assert!(
        client
            .get_capture(&c.capture.id)
            .expect("get")
            .is_paid(&expected)
    );
    assert!(sim.settle_capture(&c.capture.id, Settle::Denied).is_err());
}

#[test]
fn declined_capture_inside_a_completed_order_is_not_paid() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 900);
    sim.script_next_capture(CaptureScript::Declined);
    let c = captured(client.capture_order(&id, "capture-1"));
    assert_eq!(c.order_status, OrderStatus::Completed);
    assert_eq!(c.capture.status, CaptureStatus::Declined);
    assert!(!c.capture.is_paid(&Amount::new(900, "USD")));
}

#[test]
fn amount_mismatch_is_caught_by_is_paid() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1490);
    sim.script_capture(&id, CaptureScript::AmountMismatch)
        .expect("script");
    let c = captured(client.capture_order(&id, "capture-1"));
    assert_eq!(c.capture.status, CaptureStatus::Completed);
    assert_eq!(c.capture.amount, Some(Amount::new(1, "USD")));
    assert!(!c.capture.is_paid(&Amount::new(1490, "USD")));
}

#[test]
fn other_issues_are_unprocessable_with_the_issue() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 300);
    sim.script_next_capture(CaptureScript::Issue("TRANSACTION_REFUSED".into()));
    match client.capture_order(&id, "capture-1").expect("answer") {
        CaptureOutcome::Unprocessable {
            issue, debug_id, ..
        } => {
            assert_eq!(issue, "TRANSACTION_REFUSED");
            assert!(debug_id.is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
    sim.script_next_capture(CaptureScript::Issue("PAYER_ACTION_REQUIRED".into()));
    assert!(matches!(
        client.capture_order(&id, "capture-1").expect("answer"),
        CaptureOutcome::PayerActionRequired { .. }
    ));
    assert!(sim.captures().is_empty());
}

#[test]
fn timeout_leaves_nothing_captured_and_a_retry_captures() {
    let sim = start_sim();
    let client = short_timeout_client(&sim);
    let id = approved_order(&sim, &client, 1000);
    sim.script_next_capture(CaptureScript::Timeout);
    let err = client.capture_order(&id, "capture-1").expect_err("timeout");
    assert_eq!(err, PayPalError::Timeout);
    assert!(err.outcome_unknown());
    assert!(sim.captures().is_empty());
    let c = captured(client.capture_order(&id, "capture-1"));
    assert!(!c.replayed);
    assert_eq!(sim.captures().len(), 1);
}

#[test]
fn lost_response_is_recovered_by_retrying_the_same_request_id() {
    let sim = start_sim();
    let client = short_timeout_client(&sim);
    let id = approved_order(&sim, &client, 1490);
    sim.script_capture(&id, CaptureScript::LostResponse)
        .expect("script");
    let err = client.capture_order(&id, "capture-1").expect_err("lost");
    assert_eq!(err, PayPalError::Timeout);
    // PayPal did capture.
    let committed = sim.captures();
    assert_eq!(committed.len(), 1);
    let c = captured(client.capture_order(&id, "capture-1"));
    assert!(c.replayed);
    assert_eq!(c.capture.id, committed[0].id);
    assert!(c.capture.is_paid(&Amount::new(1490, "USD")));
    assert_eq!(sim.captures().len(), 1);
}

#[test]
fn commit_then_500_is_recovered_by_retrying_the_same_request_id() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 450);
    sim.script_next_capture(CaptureScript::CommitThenError);
    let err = client.capture_order(&id, "capture-1").expect_err("500");
    assert_eq!(err.status(), Some(500));
    assert!(err.outcome_unknown());
    let c = captured(client.capture_order(&id, "capture-1"));
    assert!(c.replayed);
    assert_eq!(sim.captures().len(), 1);
}

#[test]
fn server_error_captures_nothing() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 450);
    sim.script_next_capture(CaptureScript::ServerError);
    let err = client.capture_order(&id, "capture-1").expect_err("500");
    assert!(
        matches!(err, PayPalError::Api { status: 500, .. }),
        "{err:?}"
    );
    assert!(sim.captures().is_empty());
    let c = captured(client.capture_order(&id, "capture-1"));
    assert!(!c.replayed);
}

#[test]
fn http_control_scripts_the_next_capture() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1200);
    let resp = raw_agent()
        .post(&format!(
            "{}/__fake/orders/{id}/next-capture",
            sim.base_url()
        ))
        .header("Content-Type", "application/json")
        .send(r#"{"outcome":"PENDING","reason":"ECHECK"}"#)
        .expect("control");
    assert_eq!(resp.status().as_u16(), 200);
    let c = captured(client.capture_order(&id, "capture-1"));
    assert_eq!(
        c.capture.status,
        CaptureStatus::Pending {
            reason: Some("ECHECK".into())
        }
    );
}

#[test]
fn a_declined_capture_key_replays_the_decline_even_after_a_new_approval() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 1490);
    sim.script_next_capture(CaptureScript::InstrumentDeclined);
    let first = client.capture_order(&id, "capture-A").expect("answer");
    assert!(
        matches!(first, CaptureOutcome::InstrumentDeclined { .. }),
        "{first:?}"
    );
    sim.approve(&id).expect("approved again");
    let again = client.capture_order(&id, "capture-A").expect("answer");
    assert!(
        matches!(again, CaptureOutcome::InstrumentDeclined { .. }),
        "the same key gets the cached failure: {again:?}"
    );
    let fresh = captured(client.capture_order(&id, "capture-B"));
    assert_eq!(fresh.capture.status, CaptureStatus::Completed);
}
