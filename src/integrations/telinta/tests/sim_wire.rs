//! The simulator's wire format checked with raw HTTP (docs/telinta.md, "Simulator").

use serde_json::json;

use super::{form_post, raw_post, sim};

#[test]
fn json_body_with_bearer_token() {
    let sim = sim();
    sim.add_customer("acme");
    let base = sim.base_url();
    let login =
        json!({ "params": { "login": sim.login(), "password": sim.password() } }).to_string();
    let (status, reply) = raw_post(
        &format!("{base}/rest/Session/login/"),
        "application/json",
        None,
        &login,
    );
    assert_eq!(status, 200);
    let token = reply["access_token"]
        .as_str()
        .expect("access_token")
        .to_string();
    assert!(reply["session_id"].is_string() && reply["expires_at"].is_string());

    let body = json!({ "params": { "name": "acme" } }).to_string();
    let url = format!("{base}/rest/Customer/get_customer_info");
    let (status, reply) = raw_post(&url, "application/json; charset=utf-8", Some(&token), &body);
    assert_eq!(status, 200);
    assert_eq!(reply["customer_info"]["name"], "acme");

    let (status, reply) = raw_post(&url, "application/json", Some("nope"), &body);
    assert_eq!(status, 500);
    assert_eq!(reply["faultcode"], "Server.Session.check_auth.auth_failed");

    sim.expire_sessions();
    let (status, _) = raw_post(&url, "application/json", Some(&token), &body);
    assert_eq!(status, 500, "expired token refused");
}

#[test]
fn form_encoding_with_session_or_login_on_every_call() {
    let sim = sim();
    let base = sim.base_url();
    let creds = json!({ "login": sim.login(), "password": sim.password() }).to_string();
    let (status, reply) = form_post(&format!("{base}/rest/Session/login"), None, &creds);
    assert_eq!(status, 200);
    let sid = reply["session_id"].as_str().expect("session_id");
    let auth = json!({ "session_id": sid }).to_string();
    let url = format!("{base}/rest/Account/get_account_info");
    let (status, reply) = form_post(&url, Some(&auth), r#"{"id":"12125550000"}"#);
    assert_eq!(
        (status, reply),
        (200, json!({})),
        "not found is an empty object"
    );
    let (status, reply) = form_post(&url, Some(&creds), r#"{"id":"12125550000"}"#);
    assert_eq!(
        (status, reply),
        (200, json!({})),
        "login+password in auth_info works"
    );
    let wrong = json!({ "login": sim.login(), "password": "x" }).to_string();
    let (status, reply) = form_post(&url, Some(&wrong), r#"{"id":"1"}"#);
    assert_eq!(
        (status, reply["faultcode"].as_str()),
        (500, Some("Server.Session.auth_failed"))
    );
    let (status, reply) = form_post(&url, Some(&auth), "{}");
    assert_eq!(
        (status, reply["faultcode"].as_str()),
        (500, Some("Client.bad_params"))
    );
}

#[test]
fn errors_for_routes_credentials_methods_and_params() {
    let sim = sim();
    let base = sim.base_url();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = agent
        .get(&format!("{base}/rest/Session/login"))
        .call()
        .expect("sent");
    assert_eq!(get.status().as_u16(), 404);
    for path in ["/", "/rest/Session", "/soap/Session/login", "/rest/A/b/c"] {
        let (status, _) = raw_post(&format!("{base}{path}"), "application/json", None, "{}");
        assert_eq!(status, 404, "{path}");
    }
    let url = format!("{base}/rest/DID/get_number_list");
    let (status, reply) = form_post(&url, None, "{}");
    assert_eq!(
        (status, reply["faultcode"].as_str()),
        (500, Some("Client.check_auth.envelope_missed"))
    );

    let creds = json!({ "login": sim.login(), "password": sim.password() }).to_string();
    let (_, reply) = form_post(
        &format!("{base}/rest/DID/no_such_method"),
        Some(&creds),
        "{}",
    );
    assert_eq!(reply["faultcode"], "Client.unknown_method");
    let (_, reply) = form_post(&url, Some(&creds), "not json");
    assert_eq!(reply["faultcode"], "Client.bad_params");
    let (_, reply) = form_post(&url, Some(&creds), r#"{"usage":"Q"}"#);
    assert_eq!(reply["faultcode"], "Client.bad_params");
    let (_, reply) = form_post(&url, Some(&creds), r#"{"limit":"lots"}"#);
    assert_eq!(reply["faultcode"], "Client.bad_params");
    let add = format!("{base}/rest/Account/add_account");
    let (_, reply) = form_post(
        &add,
        Some(&creds),
        r#"{"account_info":{"id":"12125550000"}}"#,
    );
    assert_eq!(
        reply["faultcode"], "Client.bad_params",
        "i_customer missing"
    );
    let (_, reply) = form_post(
        &format!("{base}/rest/Account/update_account"),
        Some(&creds),
        r#"{"account_info":{"i_account":1,"follow_me_enabled":"Z"}}"#,
    );
    assert_eq!(reply["faultcode"], "Client.bad_params");
    // the voicemail methods live only on the voicemail listener, and vice versa
    let (_, reply) = form_post(
        &format!("{base}/rest/Voicemail/set_vm_settings"),
        Some(&creds),
        "{}",
    );
    assert_eq!(reply["faultcode"], "Client.unknown_method");
    let vm = format!("{}/rest/DID/get_number_list", sim.voicemail_url());
    let (_, reply) = form_post(&vm, Some(&creds), "{}");
    assert_eq!(reply["faultcode"], "Client.unknown_method");
    assert_eq!(sim.call_count("DID/get_number_list"), 5);
}

#[test]
fn number_list_filters_and_wildcards() {
    let sim = sim();
    assert_eq!(
        sim.add_free_numbers(["2125550001", "2125550002", "13105550003", "bad"], Some(1)),
        3
    );
    assert_eq!(
        sim.add_free_numbers(["2125550001"], None),
        0,
        "duplicates skipped"
    );
    let acme = sim.add_customer("acme");
    sim.set_owner("2125550002", Some(acme));
    sim.set_frozen("3105550003", true);
    let creds = json!({ "login": sim.login(), "password": sim.password() }).to_string();
    let url = format!("{}/rest/DID/get_number_list", sim.base_url());
    let count = |params: &str| {
        let (status, reply) = form_post(&url, Some(&creds), params);
        assert_eq!(status, 200, "{params}");
        reply["number_list"].as_array().map_or(usize::MAX, Vec::len)
    };
    assert_eq!(count("{}"), 3);
    assert_eq!(count(r#"{"number":"1212%"}"#), 2);
    assert_eq!(count(r#"{"number":"1212%","usage":"I"}"#), 1);
    assert_eq!(count(r#"{"number":"12125550002"}"#), 1);
    assert_eq!(
        count(r#"{"number":"2125550002"}"#),
        0,
        "exact match needs the leading 1"
    );
    assert_eq!(count(r#"{"usage":"Z"}"#), 1);
    assert_eq!(count(&format!(r#"{{"i_customer":{acme}}}"#)), 1);
    assert_eq!(count(r#"{"usage":"I","limit":5,"offset":1}"#), 1);
    assert_eq!(count(r#"{"usage":"I","limit":1}"#), 1);
    let (_, reply) = form_post(&url, Some(&creds), r#"{"number":"12125550001"}"#);
    let entry = &reply["number_list"][0];
    assert_eq!(
        (entry["frozen"].as_str(), entry["is_used"].as_i64()),
        (Some("N"), Some(0))
    );
    assert_eq!(entry["owner_batch_name"], "US-local");
    let (_, reply) = form_post(&url, Some(&creds), r#"{"number":"12125550000"}"#);
    assert_eq!(reply, json!({ "number_list": [] }));
}
