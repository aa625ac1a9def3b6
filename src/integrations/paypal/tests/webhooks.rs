//! Webhook delivery by the simulator and verification by the client.

use std::time::Duration;

use super::{Receiver, approved_order, captured, client_for, start_sim, start_sim_with};
use crate::integrations::paypal::{
    Amount, PayPalClient, PayPalError, Payments, parse_webhook_event,
};
use crate::sim::paypal::SimConfig;

#[test]
fn sim_sent_events_verify_and_parse() {
    let sim = start_sim();
    let client = client_for(&sim);
    let rx = Receiver::start();
    sim.set_webhook_target(Some(&rx.url), true, Duration::ZERO);
    let id = approved_order(&sim, &client, 1490);
    let c = captured(client.capture_order(&id, "capture-1"));
    assert!(sim.wait_for_deliveries(2, Duration::from_secs(5)));
    let got = rx.received();
    assert_eq!(got.len(), 2);
    let mut types = Vec::new();
    for delivery in &got {
        let headers = delivery.webhook_headers();
        assert_eq!(headers.auth_algo, "SHA256withRSA");
        assert!(
            client
                .verify_webhook(&headers, &delivery.body)
                .expect("verify"),
            "genuine delivery must verify"
        );
        let event = client.parse_webhook_event(&delivery.body).expect("parse");
        assert!(event.id.starts_with("WH-FAKE"));
        types.push(event.event_type.clone());
        if event.event_type == "PAYMENT.CAPTURE.COMPLETED" {
            assert_eq!(event.capture_id.as_deref(), Some(c.capture.id.as_str()));
            assert_eq!(event.order_id.as_deref(), Some(id.as_str()));
            assert_eq!(event.amount, Some(Amount::new(1490, "USD")));
            assert_eq!(event.custom_id.as_deref(), Some("ord_42"));
            assert_eq!(event.status.as_deref(), Some("COMPLETED"));
        } else {
            assert_eq!(event.order_id.as_deref(), Some(id.as_str()));
            assert_eq!(event.status.as_deref(), Some("APPROVED"));
        }
    }
    types.sort();
    assert_eq!(
        types,
        vec!["CHECKOUT.ORDER.APPROVED", "PAYMENT.CAPTURE.COMPLETED"]
    );
}

#[test]
fn tampered_reserialised_forged_and_foreign_events_fail() {
    let sim = start_sim();
    let client = client_for(&sim);
    let rx = Receiver::start();
    sim.set_webhook_target(Some(&rx.url), false, Duration::ZERO);
    let id = approved_order(&sim, &client, 1490);
    captured(client.capture_order(&id, "capture-1"));
    let d = sim
        .send_webhook("PAYMENT.CAPTURE.COMPLETED", &id)
        .expect("send");
    assert_eq!(d.status, Some(200));
    let got = rx.received();
    assert_eq!(got.len(), 1);
    let genuine = &got[0];
    let headers = genuine.webhook_headers();
    assert!(
        client
            .verify_webhook(&headers, &genuine.body)
            .expect("verify")
    );

    // One byte changed.
    let mut tampered = genuine.body.clone();
    let pos = tampered
        .windows(5)
        .position(|w| w == b"14.90")
        .expect("amount in body");
    tampered[pos + 4] = b'1';
    assert!(!client.verify_webhook(&headers, &tampered).expect("verify"));

    // Parsed and re-serialised: same JSON, different bytes.
    let value: serde_json::Value = serde_json::from_slice(&genuine.body).expect("json");
    let reserialised = serde_json::to_vec(&value).expect("to_vec");
    assert_ne!(reserialised, genuine.body);
    assert!(
        !client
            .verify_webhook(&headers, &reserialised)
            .expect("verify")
    );
    // The simulator's lenient mode accepts it.
    sim.set_strict_verification(false);
    assert!(
        client
            .verify_webhook(&headers, &reserialised)
            .expect("verify")
    );
    sim.set_strict_verification(true);

    // Not JSON at all: not verified, and nothing sent.
    let verifies_before = sim.count_requests("POST", "/v1/notifications/verify");
    assert!(
        !client
            .verify_webhook(&headers, b"not json")
            .expect("verify")
    );
    assert_eq!(
        sim.count_requests("POST", "/v1/notifications/verify"),
        verifies_before
    );

    // A forged delivery of the genuine body with made-up headers.
    let forged = sim
        .forge_webhook(&String::from_utf8_lossy(&genuine.body))
        .expect("forge");
    assert!(forged.forged);
    let got = rx.received();
    let forged_rx = got.last().expect("forged delivery");
    assert_eq!(forged_rx.body, genuine.body);
    assert!(
        !client
            .verify_webhook(&forged_rx.webhook_headers(), &forged_rx.body)
            .expect("verify")
    );

    // A client configured with another webhook id.
    let mut cfg = sim.client_config();
    cfg.webhook_id = Some("OTHERWEBHOOK".into());
    let other = PayPalClient::new(cfg).expect("client");
    assert!(
        !other
            .verify_webhook(&headers, &genuine.body)
            .expect("verify")
    );
}

#[test]
fn redelivery_keeps_the_event_id_and_verifies() {
    let sim = start_sim();
    let client = client_for(&sim);
    let rx = Receiver::start();
    sim.set_webhook_target(Some(&rx.url), false, Duration::ZERO);
    let id = approved_order(&sim, &client, 100);
    let first = sim
        .send_webhook("CHECKOUT.ORDER.APPROVED", &id)
        .expect("send");
    let event_id = first.event_id.clone().expect("event id");
    let second = sim.resend_webhook(&event_id).expect("resend");
    assert_eq!(second.event_id.as_deref(), Some(event_id.as_str()));
    assert_ne!(second.transmission_id, first.transmission_id);
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].body, got[1].body);
    for d in &got {
        assert!(
            client
                .verify_webhook(&d.webhook_headers(), &d.body)
                .expect("verify")
        );
        assert_eq!(parse_webhook_event(&d.body).expect("parse").id, event_id);
    }
    assert!(sim.resend_webhook("WH-NOPE").is_err());
}

#[test]
fn delivery_headers_of_one_event_do_not_verify_another() {
    let sim = start_sim();
    let client = client_for(&sim);
    let rx = Receiver::start();
    sim.set_webhook_target(Some(&rx.url), false, Duration::ZERO);
    let a = approved_order(&sim, &client, 100);
    let b = approved_order(&sim, &client, 200);
    sim.send_webhook("CHECKOUT.ORDER.APPROVED", &a).expect("a");
    sim.send_webhook("CHECKOUT.ORDER.APPROVED", &b).expect("b");
    let got = rx.received();
    assert_eq!(got.len(), 2);
    assert!(
        !client
            .verify_webhook(&got[0].webhook_headers(), &got[1].body)
            .expect("verify")
    );
}

#[test]
fn verification_needs_a_webhook_id() {
    let sim = start_sim();
    let mut cfg = sim.client_config();
    cfg.webhook_id = None;
    let client = PayPalClient::new(cfg).expect("client");
    let headers = crate::integrations::paypal::WebhookHeaders {
        transmission_id: "t".into(),
        transmission_time: "2025-01-01T00:00:00Z".into(),
        transmission_sig: "c2ln".into(),
        cert_url: "https://api.paypal.com/v1/notifications/certs/CERT-1".into(),
        auth_algo: "SHA256withRSA".into(),
    };
    assert_eq!(
        client.verify_webhook(&headers, b"{}"),
        Err(PayPalError::NotConfigured)
    );
    assert!(sim.requests().is_empty());
}

#[test]
fn delayed_auto_delivery_and_unreachable_receiver_are_recorded() {
    let sim = start_sim_with(SimConfig {
        webhook_url: Some("http://127.0.0.1:9/unreachable".into()),
        webhook_delay: Duration::from_millis(50),
        ..SimConfig::default()
    });
    let client = client_for(&sim);
    approved_order(&sim, &client, 100);
    assert!(sim.wait_for_deliveries(1, Duration::from_secs(5)));
    let d = &sim.deliveries()[0];
    assert_eq!(d.status, None);
    assert!(d.error.is_some());
    assert_eq!(sim.events()[0].event_type, "CHECKOUT.ORDER.APPROVED");
}
