//! PayPal checkout against the PayPal simulator over real HTTP.

use std::sync::Arc;

use crate::support::{Client, TestPortal};
use didport::domain::Role;
use didport::integrations::paypal::PayPalClient;
use didport::sim::paypal::{CaptureScript, PayPalFailure, PayPalSim, SimConfig};

pub struct Shop {
    pub p: TestPortal,
    pub sim: PayPalSim,
    pub plan: String,
}

pub fn shop(numbers: &[&str]) -> Shop {
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let p = TestPortal::start_with(move |_, opts| opts.payments = Some(Arc::new(client)));
    let plan = p.stock(numbers);
    Shop {
        p,
        sim,
        plan: plan.to_string(),
    }
}

pub fn paypal_id(approve_url: &str) -> String {
    approve_url
        .split("token=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string()
}

/// Checks out and returns the PayPal order id the buyer was sent to approve.
pub fn checkout(shop: &Shop, c: &mut Client, number: &str) -> String {
    c.get(&format!("/numbers/{number}"));
    let r = c.post("/checkout", &[("number", number), ("plan", &shop.plan)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location().starts_with(shop.sim.base_url()),
        "sent to PayPal: {}",
        r.location()
    );
    paypal_id(r.location())
}

pub fn availability(p: &TestPortal, number: &str) -> String {
    let conn = crate::support::rusqlite_conn(&p.db);
    conn.query_row(
        &format!("SELECT availability FROM numbers WHERE number = {number}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn approve_then_return_pays_the_order_with_an_invoice_and_emails() {
    let s = shop(&["2125550101"]);
    let mut c = s.p.signed_in("payer@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550101");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    assert!(back.contains("/checkout/paypal/return?token="), "{back}");
    let r = c.get(&back);
    assert_eq!(r.status, 303, "{}", r.body);
    let order = c.follow(r);
    assert_eq!(order.attr("#order", "data-status").as_deref(), Some("paid"));
    let invoice = c.get(&order.attr("#invoice-link", "href").unwrap());
    assert_eq!(
        invoice.attr("#invoice", "data-number").as_deref(),
        Some("INV-2026-000001")
    );
    assert_eq!(invoice.text("#invoice-total"), "$8.00");
    assert_eq!(invoice.texts("#invoice-lines tbody tr").len(), 2);
    assert_eq!(availability(&s.p, "2125550101"), "sold");
    assert_eq!(
        s.p.count("SELECT count(*) FROM purchased_numbers WHERE status = 'pending'"),
        1
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'payment_received'"),
        2
    );
    assert_eq!(s.sim.captures().len(), 1);
    // Another customer cannot read the invoice.
    let mut other = s.p.signed_in("nosy@example.com", Role::Customer);
    assert_eq!(
        other
            .get(&order.attr("#invoice-link", "href").unwrap())
            .status,
        404
    );
}

#[test]
fn a_double_clicked_return_captures_once_and_invoices_once() {
    let s = shop(&["2125550102"]);
    let mut c = s.p.signed_in("double@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550102");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let first = c.get(&back);
    let second = c.get(&back);
    assert_eq!(first.status, 303);
    assert_eq!(second.status, 303);
    assert_eq!(s.sim.captures().len(), 1);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'payment_received'"),
        2
    );
}

#[test]
fn cancelling_at_paypal_releases_the_number() {
    let s = shop(&["2125550103"]);
    let mut c = s.p.signed_in("cancel@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550103");
    assert_eq!(availability(&s.p, "2125550103"), "held");
    let back = s.sim.cancel(&pp).unwrap().unwrap();
    let r = c.get(&back);
    assert_eq!(r.status, 303);
    let page = c.follow(r);
    assert!(page.text("#flash").contains("cancelled"));
    assert_eq!(availability(&s.p, "2125550103"), "available");
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'cancelled'"),
        1
    );
    assert!(s.sim.captures().is_empty());
}

#[test]
fn a_declined_capture_is_not_paid_and_releases_the_number() {
    let s = shop(&["2125550104"]);
    let mut c = s.p.signed_in("declined@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550104");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::Declined);
    let page = c.get_follow(&back);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("failed")
    );
    assert_eq!(availability(&s.p, "2125550104"), "available");
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 0);
    assert_eq!(
        s.p.count(
            "SELECT count(*) FROM audit WHERE action = 'payment_capture' AND outcome = 'failed'
             AND actor = 'declined@example.com' AND detail LIKE '%declined%'"
        ),
        1,
        "the audit log says why the order failed"
    );
}

#[test]
fn an_amount_mismatch_is_never_paid_and_is_flagged() {
    let s = shop(&["2125550105"]);
    let mut c = s.p.signed_in("mismatch@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550105");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::AmountMismatch);
    let page = c.get_follow(&back);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("awaiting_payment")
    );
    assert!(page.text("#flash").contains("does not match"));
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 0);
    assert_eq!(
        s.p.count(
            "SELECT count(*) FROM audit WHERE action = 'payment_capture' AND outcome = 'failed'"
        ),
        1
    );
    assert_eq!(availability(&s.p, "2125550105"), "held");
}

#[test]
fn a_pending_capture_keeps_the_hold_and_says_so() {
    let s = shop(&["2125550106"]);
    let mut c = s.p.signed_in("pending@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550106");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::Pending {
        reason: "PENDING_REVIEW".into(),
    });
    let page = c.get_follow(&back);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("awaiting_payment")
    );
    assert!(page.text("#flash").contains("still confirming"));
    assert_eq!(availability(&s.p, "2125550106"), "held");
}

#[test]
fn paypal_down_at_checkout_charges_nothing_and_releases_the_number() {
    let s = shop(&["2125550107"]);
    let mut c = s.p.signed_in("down@example.com", Role::Customer);
    c.get("/numbers/2125550107");
    s.sim
        .fail_next("POST", "/v2/checkout/orders", PayPalFailure::Status(503));
    let r = c.post("/checkout", &[("number", "2125550107"), ("plan", &s.plan)]);
    assert_eq!(r.status, 502, "{}", r.body);
    assert!(r.has("#checkout-error"));
    assert_eq!(availability(&s.p, "2125550107"), "available");
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'failed'"),
        1
    );
}

#[test]
fn invoice_numbers_stay_gap_free_and_unique_under_concurrent_payments() {
    let numbers = [
        "2125550111",
        "2125550112",
        "2125550113",
        "2125550114",
        "2125550115",
        "2125550116",
    ];
    let s = shop(&numbers);
    let mut buyers: Vec<(Client, String)> = numbers
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut c =
                s.p.signed_in(&format!("concurrent{i}@example.com"), Role::Customer);
            let pp = checkout(&s, &mut c, n);
            let back = s.sim.approve(&pp).unwrap().unwrap();
            (c, back)
        })
        .collect();
    std::thread::scope(|scope| {
        for (c, back) in buyers.iter_mut() {
            scope.spawn(move || assert_eq!(c.get(back).status, 303));
        }
    });
    let conn = crate::support::rusqlite_conn(&s.p.db);
    let mut stmt = conn
        .prepare("SELECT seq FROM invoices ORDER BY seq")
        .unwrap();
    let seqs: Vec<i64> = stmt
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(seqs, (1..=numbers.len() as i64).collect::<Vec<_>>());
}

#[test]
fn a_return_for_someone_elses_order_is_404() {
    let s = shop(&["2125550108"]);
    let mut c = s.p.signed_in("owner2@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550108");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let mut thief = s.p.signed_in("thief@example.com", Role::Customer);
    assert_eq!(thief.get(&back).status, 404);
    assert!(
        s.sim.captures().is_empty(),
        "nothing captured for the wrong buyer"
    );
}

pub fn with_webhooks(s: &Shop) {
    s.sim.set_webhook_target(
        Some(&format!("{}/webhooks/paypal", s.p.url)),
        true,
        std::time::Duration::ZERO,
    );
}

#[test]
fn a_webhook_completes_a_pending_payment_once_and_replays_change_nothing() {
    let s = shop(&["2125550121"]);
    with_webhooks(&s);
    let mut c = s.p.signed_in("hook@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550121");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::Pending {
        reason: "PENDING_REVIEW".into(),
    });
    let page = c.get_follow(&back);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("awaiting_payment")
    );
    let capture = s.sim.captures()[0].id.clone();
    let before = s.sim.deliveries().len();
    s.sim
        .settle_capture(&capture, didport::sim::paypal::Settle::Completed)
        .unwrap();
    crate::support::wait_until("the webhook is answered", || {
        s.sim
            .deliveries()
            .iter()
            .skip(before)
            .any(|d| d.body.contains("PAYMENT.CAPTURE.COMPLETED") && d.status == Some(200))
    });
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        1
    );
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
    // The same event again: accepted, nothing new.
    let event = s
        .sim
        .deliveries()
        .iter()
        .rev()
        .find(|d| d.body.contains("PAYMENT.CAPTURE.COMPLETED"))
        .and_then(|d| d.event_id.clone())
        .unwrap();
    let again = s.sim.resend_webhook(&event).unwrap();
    assert_eq!(again.status, Some(200));
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'payment_received'"),
        2
    );
    // And the buyer coming back afterwards changes nothing either.
    c.get(&back);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
}

#[test]
fn a_forged_webhook_is_refused_and_changes_nothing() {
    let s = shop(&["2125550122"]);
    with_webhooks(&s);
    let mut c = s.p.signed_in("forge@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550122");
    let order_id = s.p.count("SELECT id FROM orders");
    let body = format!(
        r#"{{"id":"WH-FORGED-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource_type":"capture","resource":{{"id":"CAP-FAKE","status":"COMPLETED","amount":{{"currency_code":"USD","value":"8.00"}},"custom_id":"{order_id}","supplementary_data":{{"related_ids":{{"order_id":"{pp}"}}}}}}}}"#
    );
    let d = s.sim.forge_webhook(&body).unwrap();
    assert_eq!(d.status, Some(400));
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        0
    );
    assert_eq!(s.p.count("SELECT count(*) FROM webhook_events"), 0);
    // A request without PayPal's headers at all is refused too.
    let mut anyone = s.p.client();
    let r = anyone.post_bytes("/webhooks/paypal", "application/json", body.as_bytes());
    assert_eq!(r.status, 400);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 0);
}

#[test]
fn a_denied_capture_webhook_releases_the_number() {
    let s = shop(&["2125550123"]);
    with_webhooks(&s);
    let mut c = s.p.signed_in("denied@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550123");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::Pending {
        reason: "PENDING_REVIEW".into(),
    });
    c.get(&back);
    let capture = s.sim.captures()[0].id.clone();
    s.sim
        .settle_capture(&capture, didport::sim::paypal::Settle::Denied)
        .unwrap();
    crate::support::wait_until("the number is released", || {
        availability(&s.p, "2125550123") == "available"
    });
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'failed'"),
        1
    );
}

#[test]
fn the_admin_refunds_a_paid_order_and_the_number_returns_to_the_shelf() {
    let s = shop(&["2125550131"]);
    let mut c = s.p.signed_in("refundme@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550131");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let order = c.get_follow(&back);
    assert_eq!(order.attr("#order", "data-status").as_deref(), Some("paid"));
    assert!(!order.has("#refund"), "customers see no admin buttons");
    let id = s.p.count("SELECT id FROM orders");
    let mut admin = s.p.signed_in("boss@example.com", Role::Admin);
    let page = admin.get(&format!("/orders/{id}"));
    assert!(page.has("#refund"));
    // Without confirm=yes the refund is only explained.
    let r = admin.post(&format!("/orders/{id}/refund"), &[]);
    assert_eq!(r.status, 200);
    assert!(s.sim.refunds().is_empty());
    let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303);
    assert_eq!(s.sim.refunds().len(), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'refunded'"),
        1
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM purchased_numbers WHERE status = 'cancelled'"),
        1
    );
    assert_eq!(availability(&s.p, "2125550131"), "available");
    // A second click changes nothing and says why.
    let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 409);
    assert!(r.text("#refused-reason").contains("refunded"));
    assert_eq!(s.sim.refunds().len(), 1);
    // Customers cannot refund.
    c.get("/my");
    assert_eq!(c.post(&format!("/orders/{id}/refund"), &[]).status, 403);
}

#[test]
fn a_refund_paypal_holds_as_pending_changes_nothing_until_it_is_done() {
    let s = shop(&["2125550135"]);
    let mut c = s.p.signed_in("pendingrefund@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550135");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let id = s.p.count("SELECT id FROM orders");
    let mut admin = s.p.signed_in("boss@example.com", Role::Admin);
    let mails = s.p.count("SELECT count(*) FROM outbox");
    s.sim.hold_next_refund("ECHECK");
    let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303);
    let page = admin.follow(r);
    let flash = page.text("#flash");
    assert!(flash.contains("pending (ECHECK)"), "{flash}");
    assert!(flash.contains("Nothing changed"), "{flash}");
    // Still paid, still sold, nobody told anything, no credit note.
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        1
    );
    assert_eq!(availability(&s.p, "2125550135"), "sold");
    assert_eq!(s.p.count("SELECT count(*) FROM outbox"), mails);
    assert_eq!(s.sim.refunds().len(), 1);
    // Asking again is the same refund at PayPal (same request id), not a second one.
    let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303);
    assert_eq!(s.sim.refunds().len(), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        1
    );
}

#[test]
fn a_capture_that_failed_after_paypal_recorded_it_is_settled_by_reading_the_order() {
    let s = shop(&["2125550132"]);
    let mut c = s.p.signed_in("lost@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550132");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::CommitThenError);
    let page = c.get_follow(&back);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    assert_eq!(s.sim.captures().len(), 1, "one capture, not two");
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
}

#[test]
fn an_expired_token_is_refreshed_once() {
    let s = shop(&["2125550133"]);
    let mut c = s.p.signed_in("token@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550133");
    let tokens_before = s.sim.token_requests();
    s.sim.expire_tokens();
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let page = c.get_follow(&back);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    assert_eq!(s.sim.token_requests(), tokens_before + 1);
}

#[test]
fn without_paypal_the_admin_records_an_offline_payment() {
    let p = TestPortal::start();
    let plan = p.stock(&["2125550134"]).to_string();
    let mut c = p.signed_in("bank@example.com", Role::Customer);
    c.get("/numbers/2125550134");
    let r = c.post("/checkout", &[("number", "2125550134"), ("plan", &plan)]);
    let path = r.location().to_string();
    assert!(path.starts_with("/orders/"));
    assert!(c.get(&path).has("#awaiting-payment"));
    assert_eq!(c.post(&format!("{path}/record-payment"), &[]).status, 403);
    let mut admin = p.signed_in("cashier@example.com", Role::Admin);
    assert!(admin.get(&path).has("#record-payment"));
    let r = admin.post(&format!("{path}/record-payment"), &[]);
    let done = admin.follow(r);
    assert!(
        done.text("#flash").contains("INV-2026-000001"),
        "{}",
        done.text("#flash")
    );
    assert_eq!(
        p.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        1
    );
    assert_eq!(
        p.count("SELECT count(*) FROM outbox WHERE event = 'payment_received'"),
        2
    );
    assert_eq!(availability(&p, "2125550134"), "sold");
    // The audit log says which admin recorded it.
    assert_eq!(
        p.count(
            "SELECT count(*) FROM audit WHERE action = 'payment_offline'
             AND actor = 'cashier@example.com' AND outcome = 'ok'"
        ),
        1
    );
    let r = admin.post(&format!("{path}/record-payment"), &[]);
    assert_eq!(r.status, 409);
    assert!(r.text("#refused-reason").contains("already paid"));
    assert_eq!(p.count("SELECT count(*) FROM invoices"), 1);
}

#[test]
fn the_whole_purchase_from_search_to_emails_in_the_mailbox() {
    let sink = crate::support::smtp::SmtpSink::start();
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let smtp = didport::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.port,
        tls: didport::config::SmtpTls::None,
        user: None,
        password: None,
    };
    let mailer: Arc<dyn didport::integrations::mail::Mailer> =
        Arc::new(didport::integrations::mail::SmtpMailer::new(smtp.clone()).unwrap());
    let p = TestPortal::start_with(move |cfg, opts| {
        cfg.smtp = Some(smtp);
        opts.payments = Some(Arc::new(client));
        opts.mailer = Some(mailer);
    });
    let plan = p.stock(&["3105550140"]);
    let mut c = p.client();
    let results = c.get("/numbers?npa=310");
    let link = results.attr("#result-3105550140 a.number", "href").unwrap();
    let number_page = c.get(&link);
    assert!(number_page.has(&format!("#plan-{plan}")));
    let plan_s = plan.to_string();
    let to_login = c.post("/checkout", &[("number", "3105550140"), ("plan", &plan_s)]);
    let next = to_login
        .location()
        .split("next=")
        .nth(1)
        .unwrap()
        .to_string();
    c.get(&format!("/signup?next={next}"));
    let signed = c.post(
        "/signup",
        &[
            ("name", "Pat Buyer"),
            ("email", "pat@example.com"),
            ("password", crate::support::PASSWORD),
            ("next", &didport::http::percent_decode(&next)),
        ],
    );
    let back_at_number = c.follow(signed);
    assert_eq!(
        back_at_number
            .attr(&format!("#plan-{plan}"), "checked")
            .as_deref(),
        Some("")
    );
    let to_paypal = c.post("/checkout", &[("number", "3105550140"), ("plan", &plan_s)]);
    let approve_page = c.get(to_paypal.location());
    assert_eq!(approve_page.status, 200, "the simulator's approval page");
    let back = sim
        .approve(&paypal_id(to_paypal.location()))
        .unwrap()
        .unwrap();
    let order = c.get_follow(&back);
    assert_eq!(order.attr("#order", "data-status").as_deref(), Some("paid"));
    assert!(order.has("#invoice-link"));
    crate::support::wait_until("order and payment mails are delivered", || {
        sink.received().len() >= 4
    });
    let got = sink.received();
    let events: Vec<(String, String)> = got
        .iter()
        .map(|m| {
            (
                m.header("X-Didport-Event").unwrap_or_default(),
                m.to.join(","),
            )
        })
        .collect();
    for want in [
        ("order_placed", "pat@example.com"),
        ("order_placed", "admin@example.com"),
        ("payment_received", "pat@example.com"),
        ("payment_received", "admin@example.com"),
    ] {
        assert!(
            events.iter().any(|(e, t)| e == want.0 && t == want.1),
            "{want:?} not in {events:?}"
        );
    }
    let receipt = got
        .iter()
        .find(|m| {
            m.header("X-Didport-Event").as_deref() == Some("payment_received")
                && m.to[0] == "pat@example.com"
        })
        .unwrap();
    assert!(
        receipt
            .header("Subject")
            .unwrap()
            .contains("(310) 555-0140")
    );
    assert!(receipt.body().contains("INV-2026-000001"));
}

#[test]
fn a_declined_instrument_sends_the_buyer_back_to_paypal() {
    let s = shop(&["2125550141"]);
    let mut c = s.p.signed_in("card@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550141");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::InstrumentDeclined);
    let r = c.get(&back);
    assert_eq!(r.status, 303);
    assert!(
        r.location().starts_with(s.sim.base_url()),
        "back to PayPal: {}",
        r.location()
    );
    assert_eq!(availability(&s.p, "2125550141"), "held");
    // The buyer picks another card and approves again: now it is paid.
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let page = c.get_follow(&back);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
}

#[test]
fn an_order_already_captured_elsewhere_is_reconciled_not_charged_again() {
    let s = shop(&["2125550142"]);
    let mut c = s.p.signed_in("race@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550142");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::AlreadyCaptured);
    let page = c.get_follow(&back);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    assert_eq!(s.sim.captures().len(), 1);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
}

#[test]
fn paying_after_the_hold_ran_out_and_the_number_was_sold_is_flagged_not_celebrated() {
    let s = shop(&["2125550151"]);
    let mut slow = s.p.signed_in("slowpayer@example.com", Role::Customer);
    let pp = checkout(&s, &mut slow, "2125550151");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    // The hold runs out; someone else buys and pays for the number meanwhile.
    s.p.clock.advance(15 * 60 + 1);
    let mut quick = s.p.signed_in("quickpayer@example.com", Role::Customer);
    let pp2 = checkout(&s, &mut quick, "2125550151");
    let back2 = s.sim.approve(&pp2).unwrap().unwrap();
    assert_eq!(
        quick
            .get_follow(&back2)
            .attr("#order", "data-status")
            .as_deref(),
        Some("paid")
    );
    // The first buyer's money arrives now.
    let page = slow.get_follow(&back);
    assert!(
        page.text("#flash").contains("does not match"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM purchased_numbers"),
        1,
        "sold once"
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM orders WHERE failure LIKE '%refund%'"),
        1
    );
    assert_eq!(
        s.p.count(
            "SELECT count(*) FROM audit WHERE action = 'payment_capture' AND outcome = 'failed'"
        ),
        1
    );
}

// ---- issue 14: one request id per capture attempt, dashboard refunds, reversals, disputes --

/// A paid order for `number` through PayPal with webhooks on; returns (order id, capture id).
fn paid_through_paypal(s: &Shop, email: &str, number: &str) -> (i64, String) {
    with_webhooks(s);
    let mut c = s.p.signed_in(email, Role::Customer);
    let pp = checkout(s, &mut c, number);
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let page = c.get_follow(&back);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    let capture = s.sim.captures()[0].id.clone();
    let id = s.p.count(&format!(
        "SELECT id FROM orders WHERE capture_id = '{capture}'"
    ));
    (id, capture)
}

#[test]
fn each_capture_attempt_gets_its_own_request_id_so_a_new_approval_is_not_refused() {
    let s = shop(&["2125550161"]);
    let mut c = s.p.signed_in("retry@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550161");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    s.sim.script_next_capture(CaptureScript::InstrumentDeclined);
    let r = c.get(&back);
    assert!(r.location().starts_with(s.sim.base_url()));
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let page = c.get_follow(&back);
    // PayPal answers a repeated key with the earlier failure; a new key per attempt pays.
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    let keys: Vec<String> = s
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/capture"))
        .filter_map(|r| r.paypal_request_id)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_ne!(keys[0], keys[1], "one key per attempt");
}

#[test]
fn a_refund_made_in_the_paypal_dashboard_is_matched_by_its_capture_and_recorded() {
    let s = shop(&["2125550162"]);
    let (order, capture) = paid_through_paypal(&s, "dash@example.com", "2125550162");
    let d = s.sim.dashboard_refund(&capture, None).unwrap();
    assert_eq!(d.status, Some(200), "{:?}", d.error);
    assert!(
        !d.body.contains("custom_id"),
        "a dashboard refund carries no custom_id"
    );
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {order} AND payment_status = 'refunded'"
        )),
        1
    );
    assert_eq!(s.p.count("SELECT count(*) FROM credit_notes"), 1);
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM webhook_events WHERE order_id = {order} AND outcome = 'refunded'"
        )),
        1
    );
    // Delivered again: nothing more.
    s.sim
        .resend_webhook(d.event_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(s.p.count("SELECT count(*) FROM credit_notes"), 1);
}

fn check_mail_for(s: &Shop, number_pretty: &str, customer: &str) -> i64 {
    s.p.count(&format!(
        "SELECT count(*) FROM outbox WHERE to_addr = 'admin@example.com' AND subject LIKE '%CHECK%' \
         AND subject LIKE '%{number_pretty}%' AND subject LIKE '%{customer}%'"
    ))
}

#[test]
fn a_reversal_marks_the_order_and_sends_the_admin_a_check_naming_number_and_customer() {
    let s = shop(&["2125550163"]);
    let (order, capture) = paid_through_paypal(&s, "chargeback@example.com", "2125550163");
    let d = s.sim.reverse_capture(&capture).unwrap();
    assert_eq!(d.status, Some(200), "{:?}", d.error);
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {order} AND failure LIKE 'CHECK:%reversed%'"
        )),
        1
    );
    assert_eq!(
        check_mail_for(&s, "(212) 555-0163", "chargeback@example.com"),
        1
    );
    // Nothing was changed on its own: still paid, the admin decides.
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {order} AND payment_status = 'paid'"
        )),
        1
    );
}

#[test]
fn a_dispute_marks_the_order_and_sends_the_admin_a_check() {
    let s = shop(&["2125550164"]);
    let (order, capture) = paid_through_paypal(&s, "dispute@example.com", "2125550164");
    let d = s.sim.open_dispute(&capture).unwrap();
    assert_eq!(d.status, Some(200), "{:?}", d.error);
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {order} AND failure LIKE 'CHECK:%dispute%'"
        )),
        1
    );
    assert_eq!(
        check_mail_for(&s, "(212) 555-0164", "dispute@example.com"),
        1
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM audit WHERE action = 'payment_alert'"),
        1
    );
}
