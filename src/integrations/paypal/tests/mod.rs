//! The real client against the simulator, over real HTTP on loopback.
//!
//! `mod.rs` holds the helpers plus token and order tests; `capture.rs` the
//! capture outcomes; `webhooks.rs` webhook delivery and verification, and
//! refunds are in `refunds.rs`.

mod capture;
mod garbage;
mod refunds;
mod webhooks;

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine as _;

use super::{
    Amount, CaptureOutcome, CapturedOrder, NewPayPalOrder, OrderStatus, PayPalClient,
    PayPalClientConfig, PayPalError, Payments, WebhookHeaders,
};
use crate::sim::paypal::{PayPalSim, SimAmount, SimConfig};

pub(super) const RETURN_URL: &str = "http://portal.test/checkout/paypal/return";
pub(super) const CANCEL_URL: &str = "http://portal.test/checkout/paypal/cancel";

/// A simulator whose "hang" is short enough for tests but longer than
/// [`short_timeout_client`]'s timeout.
pub(super) fn start_sim() -> PayPalSim {
    start_sim_with(SimConfig {
        hang: Duration::from_millis(1200),
        ..SimConfig::default()
    })
}

pub(super) fn start_sim_with(cfg: SimConfig) -> PayPalSim {
    PayPalSim::start(cfg).expect("simulator starts")
}

pub(super) fn client_for(sim: &PayPalSim) -> PayPalClient {
    PayPalClient::new(sim.client_config()).expect("client")
}

/// A client that gives up after 300 ms.
pub(super) fn short_timeout_client(sim: &PayPalSim) -> PayPalClient {
    let mut c = sim.client_config();
    c.timeout = Duration::from_millis(300);
    PayPalClient::new(c).expect("client")
}

pub(super) fn new_order(request_id: &str, cents: i64) -> NewPayPalOrder {
    NewPayPalOrder {
        request_id: request_id.to_string(),
        amount: Amount::new(cents, "USD"),
        custom_id: "ord_42".into(),
        invoice_id: Some("INV-2025-0042".into()),
        description: Some("Number (212) 555-1234, plan Basic".into()),
        brand_name: Some("didport test".into()),
        return_url: RETURN_URL.into(),
        cancel_url: CANCEL_URL.into(),
    }
}

/// Creates and approves an order; returns its id.
pub(super) fn approved_order(sim: &PayPalSim, client: &PayPalClient, cents: i64) -> String {
    let created = client
        .create_order(&new_order(
            &format!("create-{cents}-{}", sim.orders().len()),
            cents,
        ))
        .expect("create");
    sim.approve(&created.id).expect("approve");
    created.id
}

/// Unwraps a `Captured` outcome.
pub(super) fn captured(outcome: Result<CaptureOutcome, PayPalError>) -> CapturedOrder {
    match outcome {
        Ok(CaptureOutcome::Captured(c)) => *c,
        other => panic!("expected a capture, got {other:?}"),
    }
}

/// A plain HTTP agent for driving the approval page like a browser (no
/// redirects followed) and for raw API calls.
pub(super) fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into()
}

/// A bearer token obtained directly from the simulator.
pub(super) fn raw_token(sim: &PayPalSim) -> String {
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", sim.client_id(), sim.client_secret()).as_bytes());
    let mut resp = raw_agent()
        .post(&format!("{}/v1/oauth2/token", sim.base_url()))
        .header("Authorization", &format!("Basic {auth}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send("grant_type=client_credentials")
        .expect("token call");
    let v: serde_json::Value = resp.body_mut().read_json().expect("token json");
    v["access_token"].as_str().expect("token").to_string()
}

/// One webhook delivery as the receiving portal saw it.
#[derive(Clone, Debug)]
pub(super) struct Received {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn webhook_headers(&self) -> WebhookHeaders {
        WebhookHeaders::from_lookup(|name| {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        })
        .expect("all PayPal transmission headers present")
    }
}

/// A tiny HTTP endpoint standing in for the portal's `/webhooks/paypal`:
/// records every delivery and answers 200.
pub(super) struct Receiver {
    pub url: String,
    got: Arc<Mutex<Vec<Received>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl Receiver {
    pub fn start() -> Self {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("receiver"));
        let port = server.server_addr().to_ip().expect("ip").port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (Arc::clone(&server), Arc::clone(&got));
        let thread = std::thread::spawn(move || {
            for mut rq in s.incoming_requests() {
                let mut body = Vec::new();
                let _ = rq.as_reader().read_to_end(&mut body);
                let headers = rq
                    .headers()
                    .iter()
                    .map(|h| (h.field.to_string(), h.value.to_string()))
                    .collect();
                g.lock().expect("lock").push(Received { headers, body });
                let _ = rq.respond(tiny_http::Response::empty(200));
            }
        });
        Receiver {
            url: format!("http://127.0.0.1:{port}/webhooks/paypal"),
            got,
            server,
            thread: Some(thread),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().expect("lock").clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------- tokens

#[test]
fn one_token_serves_many_calls() {
    let sim = start_sim();
    let client = client_for(&sim);
    let created = client
        .create_order(&new_order("create-1", 1490))
        .expect("create");
    for _ in 0..5 {
        client.get_order(&created.id).expect("get");
    }
    assert_eq!(sim.token_requests(), 1);
    let api_calls: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/v2/"))
        .collect();
    assert_eq!(api_calls.len(), 6);
    assert!(
        api_calls
            .iter()
            .all(|r| r.auth_kind == "bearer" && r.status < 300)
    );
}

#[test]
fn concurrent_callers_share_one_token() {
    let sim = start_sim();
    let client = Arc::new(client_for(&sim));
    let id = client
        .create_order(&new_order("create-1", 100))
        .expect("create")
        .id;
    client.forget_token();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (c, id) = (Arc::clone(&client), id.clone());
            std::thread::spawn(move || c.get_order(&id).map(|o| o.status))
        })
        .collect();
    for t in threads {
        assert_eq!(
            t.join().expect("thread").expect("get"),
            OrderStatus::PayerActionRequired
        );
    }
    assert_eq!(sim.token_requests(), 2);
}

#[test]
fn revoked_token_is_refreshed_once_and_the_call_retried() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = client
        .create_order(&new_order("create-1", 100))
        .expect("create")
        .id;
    sim.expire_tokens();
    let order = client.get_order(&id).expect("get after refresh");
    assert_eq!(order.id, id);
    assert_eq!(sim.token_requests(), 2);
    let gets: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| r.status)
        .collect();
    assert_eq!(gets, vec![401, 200]);
}

#[test]
fn token_is_refreshed_before_expires_in() {
    let sim = start_sim_with(SimConfig {
        token_expires_in: 1,
        ..SimConfig::default()
    });
    let client = client_for(&sim);
    let id = client
        .create_order(&new_order("create-1", 100))
        .expect("create")
        .id;
    client.get_order(&id).expect("get with first token");
    assert_eq!(sim.token_requests(), 1);
    // A 1-second token is refreshed after half its life.
    std::thread::sleep(Duration::from_millis(600));
    client.get_order(&id).expect("get with second token");
    assert_eq!(sim.token_requests(), 2);
    assert!(sim.requests().iter().all(|r| r.status != 401));
}

#[test]
fn wrong_secret_is_an_api_error_without_the_secret() {
    let sim = start_sim();
    let mut cfg = sim.client_config();
    cfg.client_secret = "wrong-secret-value".into();
    let client = PayPalClient::new(cfg).expect("client");
    let err = client.get_order("FAKEORD000001").expect_err("must fail");
    match &err {
        PayPalError::Api { status, name, .. } => {
            assert_eq!(*status, 401);
            assert_eq!(name, "invalid_client");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!err.to_string().contains("wrong-secret-value"));
    assert_eq!(sim.count_requests("GET", "/v2/"), 0);
}

#[test]
fn unreachable_api_is_a_transport_error() {
    let sim = start_sim();
    let mut cfg: PayPalClientConfig = sim.client_config();
    drop(sim);
    cfg.timeout = Duration::from_secs(2);
    let client = PayPalClient::new(cfg).expect("client");
    let err = client
        .get_order("FAKEORD000001")
        .expect_err("nothing listens");
    assert!(
        matches!(err, PayPalError::Transport(_) | PayPalError::Timeout),
        "{err:?}"
    );
    assert!(err.outcome_unknown());
}

// ---------------------------------------------------------------- orders

#[test]
fn create_order_sends_the_wire_format_and_returns_the_approve_link() {
    let sim = start_sim();
    let client = client_for(&sim);
    let created = client
        .create_order(&new_order("create-ord_42-1", 123_450))
        .expect("create");
    assert_eq!(created.status, OrderStatus::PayerActionRequired);
    assert_eq!(
        created.approve_url,
        format!("{}/checkoutnow?token={}", sim.base_url(), created.id)
    );
    assert!(!created.replayed);
    let req = sim
        .requests()
        .into_iter()
        .find(|r| r.path == "/v2/checkout/orders")
        .expect("create request");
    assert_eq!(req.paypal_request_id.as_deref(), Some("create-ord_42-1"));
    let body: serde_json::Value = serde_json::from_str(&req.body).expect("json");
    assert_eq!(body["intent"], "CAPTURE");
    assert_eq!(body["purchase_units"][0]["amount"]["value"], "1234.50");
    assert_eq!(body["purchase_units"][0]["amount"]["currency_code"], "USD");
    assert_eq!(body["purchase_units"][0]["invoice_id"], "INV-2025-0042");
    let ctx = &body["payment_source"]["paypal"]["experience_context"];
    assert_eq!(ctx["return_url"], RETURN_URL);
    assert_eq!(
        ctx["payment_method_preference"],
        "IMMEDIATE_PAYMENT_REQUIRED"
    );
    let order = sim.order(&created.id).expect("sim order");
    assert_eq!(order.amount, SimAmount::new(123_450, "USD"));
    assert_eq!(order.custom_id.as_deref(), Some("ord_42"));
}

#[test]
fn same_request_id_creates_one_order() {
    let sim = start_sim();
    let client = client_for(&sim);
    let first = client
        .create_order(&new_order("create-7-1", 999))
        .expect("first");
    let second = client
        .create_order(&new_order("create-7-1", 999))
        .expect("second");
    assert_eq!(first.id, second.id);
    assert!(second.replayed);
    assert_eq!(sim.orders().len(), 1);
    assert_eq!(sim.idempotency_hits(), 1);
    let third = client
        .create_order(&new_order("create-7-2", 999))
        .expect("third");
    assert_ne!(third.id, first.id);
    assert_eq!(sim.orders().len(), 2);
}

#[test]
fn bad_inputs_are_rejected_before_any_request() {
    let sim = start_sim();
    let client = client_for(&sim);
    for cents in [0, -1] {
        let err = client
            .create_order(&new_order("c", cents))
            .expect_err("rejected");
        assert!(matches!(err, PayPalError::Malformed(_)), "{err:?}");
    }
    let mut bad_currency = new_order("c", 100);
    bad_currency.amount.currency = "usd".into();
    assert!(client.create_order(&bad_currency).is_err());
    assert!(matches!(
        client.get_order("../v1/oauth2/token"),
        Err(PayPalError::Malformed(_))
    ));
    assert!(matches!(
        client.capture_order("FAKEORD000001", ""),
        Err(PayPalError::Malformed(_))
    ));
    assert!(sim.requests().is_empty());
}

#[test]
fn approval_page_approves_and_redirects_like_paypal() {
    let sim = start_sim();
    let client = client_for(&sim);
    let created = client
        .create_order(&new_order("create-1", 1490))
        .expect("create");
    let agent = raw_agent();

    let mut page = agent.get(&created.approve_url).call().expect("page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.body_mut().read_to_string().expect("html");
    assert!(html.contains("id=\"approve\"") && html.contains("id=\"cancel\""));
    assert!(html.contains("name=\"fake_action\" value=\"approve\""));
    assert!(html.contains("14.90 USD"));
    assert!(!html.to_ascii_lowercase().contains("<script"));

    // The Cancel button: back to cancel_url, nothing changes.
    let cancel = agent
        .get(&format!("{}&fake_action=cancel", created.approve_url))
        .call()
        .expect("cancel");
    assert_eq!(cancel.status().as_u16(), 302);
    assert_eq!(
        cancel
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("{CANCEL_URL}?token={}", created.id).as_str())
    );
    assert_eq!(
        client.get_order(&created.id).expect("get").status,
        OrderStatus::PayerActionRequired
    );

    // The Approve button: back to return_url with token and PayerID.
    let approve = agent
        .get(&format!("{}&fake_action=approve", created.approve_url))
        .call()
        .expect("approve");
    assert_eq!(approve.status().as_u16(), 302);
    assert_eq!(
        approve
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some(format!("{RETURN_URL}?token={}&PayerID=FAKEPAYER01", created.id).as_str())
    );
    let order = client.get_order(&created.id).expect("get");
    assert_eq!(order.status, OrderStatus::Approved);
    assert_eq!(
        order.payer.and_then(|p| p.payer_id).as_deref(),
        Some("FAKEPAYER01")
    );

    let mut unknown = agent
        .get(&format!(
            "{}/checkoutnow?token=%3Cscript%3E",
            sim.base_url()
        ))
        .call()
        .expect("unknown");
    assert_eq!(unknown.status().as_u16(), 404);
    let html = unknown.body_mut().read_to_string().expect("html");
    assert!(!html.contains("<script"));
}

#[test]
fn expired_order_is_not_found() {
    let sim = start_sim();
    let client = client_for(&sim);
    let id = approved_order(&sim, &client, 500);
    sim.expire_order(&id).expect("expire");
    let err = client.get_order(&id).expect_err("gone");
    assert!(err.is_not_found());
    assert_eq!(err.issue(), Some("INVALID_RESOURCE_ID"));
    assert!(!err.outcome_unknown());
    let err = client.capture_order(&id, "capture-x").expect_err("gone");
    assert!(err.is_not_found());
    assert!(sim.captures().is_empty());
}

#[test]
fn injected_503_is_an_unknown_outcome_and_a_retry_succeeds() {
    let sim = start_sim();
    let client = client_for(&sim);
    sim.fail_next(
        "POST",
        "/v2/checkout/orders",
        crate::sim::paypal::PayPalFailure::Status(503),
    );
    let err = client
        .create_order(&new_order("create-1", 100))
        .expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert!(err.outcome_unknown());
    assert!(sim.orders().is_empty());
    let created = client
        .create_order(&new_order("create-1", 100))
        .expect("retry");
    assert!(!created.replayed);
    assert_eq!(sim.orders().len(), 1);
}

#[test]
fn simulator_validates_amounts_like_paypal() {
    let sim = start_sim();
    let token = raw_token(&sim);
    let post = |value: &str, extra: serde_json::Value| {
        let mut unit = serde_json::json!({ "amount": { "currency_code": "USD", "value": value } });
        if let Some(obj) = extra.as_object() {
            for (k, v) in obj {
                if k == "breakdown" {
                    unit["amount"]["breakdown"] = v.clone();
                } else {
                    unit[k] = v.clone();
                }
            }
        }
        let body = serde_json::json!({ "intent": "CAPTURE", "purchase_units": [unit] });
        let mut resp = raw_agent()
            .post(&format!("{}/v2/checkout/orders", sim.base_url()))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_str())
            .expect("call");
        let status = resp.status().as_u16();
        let v: serde_json::Value = resp.body_mut().read_json().expect("json");
        (
            status,
            v["details"][0]["issue"].as_str().unwrap_or("").to_string(),
        )
    };
    let none = serde_json::json!({});
    assert_eq!(
        post("1.234", none.clone()),
        (422, "DECIMAL_PRECISION".into())
    );
    assert_eq!(
        post("abc", none.clone()),
        (400, "INVALID_PARAMETER_SYNTAX".into())
    );
    assert_eq!(
        post("1.", none.clone()),
        (400, "INVALID_PARAMETER_SYNTAX".into())
    );
    assert_eq!(
        post("-1.00", none.clone()),
        (422, "CANNOT_BE_ZERO_OR_NEGATIVE".into())
    );
    assert_eq!(
        post("0.00", none.clone()),
        (422, "CANNOT_BE_ZERO_OR_NEGATIVE".into())
    );
    let breakdown = serde_json::json!({ "breakdown": {
        "item_total": { "currency_code": "USD", "value": "10.00" },
        "tax_total": { "currency_code": "USD", "value": "1.00" } } });
    assert_eq!(
        post("10.00", breakdown.clone()),
        (422, "AMOUNT_MISMATCH".into())
    );
    assert_eq!(post("11.00", breakdown).0, 201);
    let items = serde_json::json!({
        "breakdown": { "item_total": { "currency_code": "USD", "value": "14.90" } },
        "items": [
            { "name": "Setup", "quantity": "1", "unit_amount": { "currency_code": "USD", "value": "9.95" } },
            { "name": "Month", "quantity": "2", "unit_amount": { "currency_code": "USD", "value": "4.95" } } ] });
    assert_eq!(post("14.90", items), (422, "ITEM_TOTAL_MISMATCH".into()));
    assert_eq!(post("10", none).0, 201);
    assert_eq!(sim.orders().len(), 2);
}
