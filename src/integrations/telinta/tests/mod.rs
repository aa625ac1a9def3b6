//! Tests of the real client against the simulator over real HTTP, and of the
//! simulator's wire format with raw requests.

mod client;
mod garbage;
mod inventory;
mod sim_wire;

use std::time::Duration;

use serde_json::Value;

use super::TelintaClient;
use crate::sim::telinta::TelintaSim;

/// A client for `sim` with a 5-second timeout.
fn client(sim: &TelintaSim) -> TelintaClient {
    TelintaClient::new(sim.client_config()).expect("client config")
}

/// A client for `sim` whose timeout is `ms` milliseconds.
fn client_with_timeout(sim: &TelintaSim, ms: u64) -> TelintaClient {
    let mut cfg = sim.client_config();
    cfg.timeout = Duration::from_millis(ms);
    TelintaClient::new(cfg).expect("client config")
}

/// A started simulator with the default options.
fn sim() -> TelintaSim {
    TelintaSim::start(7).expect("simulator starts")
}

/// A raw POST: returns the status and the body parsed as JSON (`Null` if it is not).
fn raw_post(url: &str, content_type: &str, bearer: Option<&str>, body: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut req = agent.post(url).header("Content-Type", content_type);
    if let Some(b) = bearer {
        req = req.header("Authorization", &format!("Bearer {b}"));
    }
    let mut resp = req.send(body).expect("request sent");
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string().expect("body read");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A form-encoded call with `auth_info` and `params` given as JSON text.
fn form_post(url: &str, auth_info: Option<&str>, params: &str) -> (u16, Value) {
    let mut fields = Vec::new();
    if let Some(a) = auth_info {
        fields.push(("auth_info", a));
    }
    fields.push(("params", params));
    let body = serde_urlencoded::to_string(&fields).expect("form encodes");
    raw_post(url, "application/x-www-form-urlencoded", None, &body)
}

#[test]
fn shared_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<TelintaClient>();
    check::<TelintaSim>();
    check::<super::TelintaError>();
    check::<std::sync::Arc<dyn super::Telinta>>();
}

#[test]
fn random_service_passwords_are_long_and_differ() {
    let a = super::random_service_password().expect("randomness");
    let b = super::random_service_password().expect("randomness");
    assert_eq!(a.len(), 16);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b);
}
