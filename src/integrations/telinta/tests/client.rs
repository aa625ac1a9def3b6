//! Sessions, re-login, and every failure kind surfacing as the right error kind.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{client, client_with_timeout, sim};
use crate::integrations::telinta::{
    AccountUpdate, Credential, ErrorKind, NewAccount, Telinta, TelintaClient,
};
use crate::sim::telinta::{Failure, SimOptions, TelintaSim, Times};

const AUTH_FAULT: &str = "Server.Session.check_auth.auth_failed";

#[test]
fn one_login_shared_by_calls_and_threads() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = Arc::new(client(&sim));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            thread::spawn(move || {
                for _ in 0..5 {
                    let found = c.get_customer(acme).expect("call works");
                    assert_eq!(found.map(|x| x.name).as_deref(), Some("acme"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread ok");
    }
    assert!(
        c.list_pricing_batches()
            .expect("batches")
            .iter()
            .any(|b| b.i_do_batch == 1)
    );
    assert_eq!(sim.call_count("Session/login"), 1);
    assert_eq!(sim.call_count("Customer/get_customer_info"), 20);
    assert_eq!(sim.session_count(), 1);
}

#[test]
fn expired_session_relogs_in_and_retries_once() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    assert!(c.get_customer(acme).expect("first call").is_some());
    sim.expire_sessions();
    let again = c.get_customer(acme).expect("retried after re-login");
    assert_eq!(again.map(|x| x.i_customer), Some(acme));
    assert_eq!(sim.call_count("Session/login"), 2);
    // first call, refused call, retried call
    assert_eq!(sim.call_count("Customer/get_customer_info"), 3);
    // the new session is reused afterwards
    c.get_customer(acme).expect("third call");
    assert_eq!(sim.call_count("Session/login"), 2);
}

#[test]
fn auth_fault_after_relogin_is_auth_failed_and_not_retried_again() {
    let sim = sim();
    let c = client(&sim);
    sim.fail_always(
        "Customer/get_customer_info",
        Failure::fault(AUTH_FAULT, "expired"),
    );
    let err = c.get_customer(1).expect_err("must fail");
    assert!(err.is_auth_failed(), "{err:?}");
    assert_eq!(err.fault_code(), Some(AUTH_FAULT));
    assert_eq!(err.method(), "Customer/get_customer_info");
    assert_eq!(sim.call_count("Customer/get_customer_info"), 2);
    assert_eq!(sim.call_count("Session/login"), 2);
}

#[test]
fn token_fault_code_also_triggers_relogin() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    sim.fail_once(
        "Customer/get_customer_info",
        Failure::fault(
            "Client.Session.check_auth.failed_to_process_access_token",
            "bad token",
        ),
    );
    assert!(c.get_customer(acme).expect("retried").is_some());
    assert_eq!(sim.call_count("Session/login"), 2);
    assert_eq!(sim.call_count("Customer/get_customer_info"), 2);
}

#[test]
fn bad_credentials_are_auth_failed_without_leaking_the_password() {
    let sim = sim();
    let mut cfg = sim.client_config();
    cfg.credential = Credential::Password("Wrong-Pass-123".into());
    let c = TelintaClient::new(cfg).expect("config ok");
    let err = c.get_customer(1).expect_err("login refused");
    assert_eq!(
        err.kind(),
        &ErrorKind::AuthFailed {
            code: "Server.Session.auth_failed".into()
        }
    );
    assert_eq!(err.method(), "Session/login");
    let shown = format!("{err} {err:?} {c:?}");
    assert!(!shown.contains("Wrong-Pass-123"), "{shown}");
    assert_eq!(sim.call_count("Session/login"), 1);
    assert_eq!(sim.call_count("Customer/get_customer_info"), 0);
}

#[test]
fn api_token_login_works_and_a_wrong_token_is_refused() {
    let sim = TelintaSim::start_with(SimOptions {
        token: Some("tok-abc-123".into()),
        ..SimOptions::default()
    })
    .expect("sim");
    let acme = sim.add_customer("acme");
    let mut cfg = sim.client_config();
    cfg.credential = Credential::Token("tok-abc-123".into());
    let c = TelintaClient::new(cfg.clone()).expect("config");
    assert!(c.get_customer(acme).expect("token login").is_some());
    cfg.credential = Credential::Token("tok-wrong".into());
    let bad = TelintaClient::new(cfg).expect("config");
    assert!(
        bad.get_customer(acme)
            .expect_err("refused")
            .is_auth_failed()
    );
}

#[test]
fn injected_fault_is_a_fault_with_code_and_message() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    sim.fail_once(
        "Customer/get_customer_info",
        Failure::fault("Server.Customer.internal", "boom"),
    );
    let err = c.get_customer(acme).expect_err("fault");
    assert_eq!(
        err.kind(),
        &ErrorKind::Fault {
            code: "Server.Customer.internal".into(),
            message: "boom".into()
        }
    );
    let shown = err.to_string();
    assert!(
        shown.contains("Customer/get_customer_info") && shown.contains("Server.Customer.internal")
    );
    assert!(c.get_customer(acme).expect("once only").is_some());
}

#[test]
fn http_503_is_http_and_always_means_always() {
    let sim = sim();
    let c = client(&sim);
    sim.fail_always("DID/get_number_list", Failure::Http(503));
    for _ in 0..2 {
        assert_eq!(
            c.list_free_numbers(10, 0).expect_err("503").kind(),
            &ErrorKind::Http(503)
        );
    }
    sim.clear_failure("DID/get_number_list");
    assert!(c.list_free_numbers(10, 0).expect("works again").is_empty());
    assert_eq!(sim.call_count("DID/get_number_list"), 3);
}

#[test]
fn count_and_wildcard_failures() {
    let sim = sim();
    let c = client(&sim);
    c.list_pricing_batches().expect("login first");
    sim.fail(
        "DID/get_owner_batch_list",
        Failure::Http(502),
        Times::Count(2),
    );
    assert!(c.list_pricing_batches().is_err());
    assert!(c.list_pricing_batches().is_err());
    assert!(c.list_pricing_batches().is_ok());
    sim.fail_always("*", Failure::fault("Server.Down", "maintenance"));
    assert_eq!(
        c.get_customer(1).expect_err("wildcard").fault_code(),
        Some("Server.Down")
    );
    sim.clear_failures();
    assert!(c.get_customer(1).is_ok());
}

#[test]
fn timeout_is_timeout_and_the_client_recovers() {
    let sim = sim();
    let c = client_with_timeout(&sim, 300);
    c.list_free_numbers(1, 0).expect("login first");
    sim.fail_once("DID/add_number", Failure::Timeout(Duration::from_secs(3)));
    let err = c
        .add_number("2125550100", 1, None, None)
        .expect_err("times out");
    assert!(err.is_timeout(), "{err:?}");
    assert!(
        sim.did("2125550100").is_none(),
        "a Timeout failure does not apply the call"
    );
    assert!(c.add_number("2125550100", 1, None, None).is_ok());
}

#[test]
fn delay_applies_the_call_after_the_client_gave_up() {
    let sim = sim();
    let c = client_with_timeout(&sim, 300);
    c.list_free_numbers(1, 0).expect("login first");
    sim.fail_once("DID/add_number", Failure::Delay(Duration::from_millis(800)));
    assert!(
        c.add_number("2125550101", 1, None, None)
            .expect_err("slow")
            .is_timeout()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.did("2125550101").is_none() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert!(
        sim.did("2125550101").is_some(),
        "the delayed call took effect"
    );
    // looking before acting again finds it
    assert!(c.find_number("2125550101").expect("lookup").is_some());
}

#[test]
fn malformed_and_unexpected_bodies() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    sim.fail_once("DID/get_number_list", Failure::Malformed);
    assert!(matches!(
        c.list_free_numbers(5, 0).expect_err("bad").kind(),
        ErrorKind::Malformed(_)
    ));

    sim.fail_once(
        "Account/add_account",
        Failure::Reply {
            status: 200,
            body: "{}".into(),
        },
    );
    let err = c
        .add_account(&NewAccount::new("2125550102", acme, 1, "pw-pw-pw"))
        .expect_err("no i_account");
    assert_eq!(
        err.kind(),
        &ErrorKind::Malformed("reply lacks i_account".into())
    );

    sim.fail_once(
        "DID/get_number_list",
        Failure::Reply {
            status: 200,
            body: "[1,2]".into(),
        },
    );
    assert!(matches!(
        c.list_free_numbers(5, 0).expect_err("array").kind(),
        ErrorKind::Malformed(_)
    ));

    sim.fail_once(
        "DID/get_number_list",
        Failure::Reply {
            status: 500,
            body: "<html>oops</html>".into(),
        },
    );
    assert_eq!(
        c.list_free_numbers(5, 0).expect_err("500").kind(),
        &ErrorKind::Http(500)
    );

    sim.fail_once(
        "DID/get_number_list",
        Failure::Reply {
            status: 200,
            body: r#"{"other":1}"#.into(),
        },
    );
    assert_eq!(
        c.list_free_numbers(5, 0).expect_err("no list").kind(),
        &ErrorKind::Malformed("reply lacks number_list".into())
    );
}

#[test]
fn connection_refused_is_transport() {
    let sim = sim();
    let cfg = sim.client_config();
    sim.stop();
    let c = TelintaClient::new(cfg).expect("config");
    let err = c.get_customer(1).expect_err("nobody listens");
    assert!(
        matches!(err.kind(), ErrorKind::Transport(_) | ErrorKind::Timeout),
        "{err:?}"
    );
    assert_eq!(err.method(), "Session/login");
}

#[test]
fn settings_and_inputs_are_checked_before_sending() {
    let sim = sim();
    let mut cfg = sim.client_config();
    cfg.base_url = "ftp://example".into();
    assert!(matches!(
        TelintaClient::new(cfg).expect_err("bad url").kind(),
        ErrorKind::NotConfigured(_)
    ));
    let mut cfg = sim.client_config();
    cfg.voicemail_url = None;
    let c = TelintaClient::new(cfg).expect("config");
    assert!(matches!(
        c.set_voicemail_pin("2125550103", "pw", "1234")
            .expect_err("no url")
            .kind(),
        ErrorKind::NotConfigured(_)
    ));
    for bad in ["212555010", "12125550103", "21255501x3", ""] {
        let err = c.find_number(bad).expect_err("not 10 digits");
        assert!(
            matches!(err.kind(), ErrorKind::InvalidInput(_)),
            "{bad}: {err:?}"
        );
    }
    assert!(c.set_forwarding(5, "310555").is_err());
    assert_eq!(
        sim.call_counts().values().sum::<u64>(),
        0,
        "nothing was sent"
    );
}

#[test]
fn secrets_echoed_by_the_server_are_scrubbed_from_errors() {
    let sim = sim();
    let c = client(&sim);
    let echo = format!(
        "rejected h323_password S3cret-Pin-99 for login with {}",
        sim.password()
    );
    sim.fail_once(
        "Account/update_account",
        Failure::fault("Server.Account.bad", &echo),
    );
    let mut u = AccountUpdate::new(1);
    u.service_password = Some("S3cret-Pin-99".into());
    let err = c.update_account(&u).expect_err("fault");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("S3cret-Pin-99"), "{shown}");
    assert!(!shown.contains(sim.password()), "{shown}");
    assert!(shown.contains("Server.Account.bad"));
}

#[test]
fn logout_ends_the_session_and_the_next_call_logs_in_again() {
    let sim = sim();
    let c = client(&sim);
    c.login().expect("login");
    assert_eq!(sim.session_count(), 1);
    c.logout().expect("logout");
    assert_eq!(sim.session_count(), 0);
    c.get_customer(1).expect("call after logout");
    assert_eq!(sim.call_count("Session/login"), 2);
}
