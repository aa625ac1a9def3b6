//! Garbage, truncated and wrong-typed replies from a switch, through the real client over
//! HTTP: every call answers with an error value (or a value, when the garbage happens to
//! hold what the call needs), never a panic, and the error text stays one bounded line.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use super::{client_with_timeout, sim};
use crate::integrations::telinta::{NewAccount, NewCustomer, Telinta};
use crate::proptest_json::reply_bytes;
use crate::sim::telinta::Failure;

/// A Telinta call the portal makes, and the PortaBilling method it uses.
type Call = fn(&dyn Telinta) -> Result<String, crate::integrations::telinta::TelintaError>;

const CALLS: &[(&str, Call)] = &[
    ("DID/get_number_list", |t| {
        t.list_free_numbers(10, 0).map(|v| format!("{v:?}"))
    }),
    ("DID/get_number_list", |t| {
        t.find_number("2125550100").map(|v| format!("{v:?}"))
    }),
    ("DID/add_number", |t| {
        t.add_number("2125550100", 1, None, Some("x"))
            .map(|v| v.to_string())
    }),
    ("DID/get_owner_batch_list", |t| {
        t.list_pricing_batches().map(|v| format!("{v:?}"))
    }),
    ("Customer/get_customer_info", |t| {
        t.get_customer(1).map(|v| format!("{v:?}"))
    }),
    ("Customer/get_customer_info", |t| {
        t.find_customer_by_name("ann@example.com")
            .map(|v| format!("{v:?}"))
    }),
    ("Customer/add_customer", |t| {
        t.add_customer(&NewCustomer::new("ann@example.com"))
            .map(|v| v.to_string())
    }),
    ("Account/get_account_info", |t| {
        t.get_account("2125550100").map(|v| format!("{v:?}"))
    }),
    ("Account/add_account", |t| {
        t.add_account(&NewAccount::new("2125550100", 1, 1, "pw-123456"))
            .map(|v| v.to_string())
    }),
    ("Account/get_account_followme", |t| {
        t.get_follow_me(1).map(|v| format!("{v:?}"))
    }),
];

const KEYS: &[&str] = &[
    "faultcode",
    "faultstring",
    "number_list",
    "owner_batch_list",
    "customer_info",
    "account_info",
    "followme_info",
    "followme_numbers",
    "i_did_number",
    "i_customer",
    "i_account",
    "success",
];

#[test]
fn garbage_replies_are_errors_not_panics() {
    let sim = sim();
    let client = client_with_timeout(&sim, 3000);
    client.login().expect("login works");
    let mut runner = TestRunner::new(Config::with_cases(64));
    let strategy = (
        0..CALLS.len(),
        prop_oneof![Just(200u16), Just(500u16), 400u16..600],
        reply_bytes(KEYS),
    );
    let result = runner.run(&strategy, |(which, status, body)| {
        let (method, call) = CALLS[which];
        let body = String::from_utf8_lossy(&body).into_owned();
        sim.fail_once(method, Failure::Reply { status, body });
        match call(&client) {
            Ok(_) => {}
            Err(e) => {
                let text = e.to_string();
                prop_assert!(text.contains(method), "{text}");
                prop_assert!(!text.chars().any(char::is_control), "{text:?}");
                prop_assert!(text.chars().count() < 700, "{}", text.len());
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The client still works after all that.
    assert!(client.list_free_numbers(1, 0).is_ok());
}
