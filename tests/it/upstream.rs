//! `didport check-upstream`: the read-only preflight against the Telinta and PayPal
//! simulators, as the real binary (exit codes, one line per check) and on the dashboard.

use std::process::{Command, Stdio};

use didport::domain::Role;
use didport::sim::paypal::{PayPalSim, SimConfig};
use didport::sim::telinta::{SimOptions, TelintaSim};

fn didport() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_didport"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIDPORT_") {
            c.env_remove(k);
        }
    }
    c.env("DIDPORT_LOG", "warn");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// The one line that names `check`.
    fn line(&self, check: &str) -> String {
        let found: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.contains(&format!(" {check}")))
            .collect();
        assert_eq!(found.len(), 1, "one line for {check}:\n{}", self.stdout);
        found[0].to_string()
    }
}

struct Upstreams {
    telinta: TelintaSim,
    paypal: PayPalSim,
    dir: tempfile::TempDir,
}

fn upstreams(opts: SimOptions) -> Upstreams {
    Upstreams {
        telinta: TelintaSim::start_with(opts).unwrap(),
        paypal: PayPalSim::start(SimConfig::default()).unwrap(),
        dir: tempfile::tempdir().unwrap(),
    }
}

/// `check-upstream` with a good configuration for `u`, changed by `adjust`.
fn check(u: &Upstreams, adjust: &[(&str, &str)]) -> Out {
    let mut cmd = didport();
    cmd.arg("check-upstream")
        .env("DIDPORT_DB", u.dir.path().join("db.sqlite3"))
        .env("DIDPORT_TELINTA_URL", u.telinta.base_url())
        .env("DIDPORT_TELINTA_LOGIN", u.telinta.login())
        .env("DIDPORT_TELINTA_PASSWORD", u.telinta.password())
        .env("DIDPORT_TELINTA_PRODUCT", "1")
        .env("DIDPORT_TELINTA_VENDOR_BATCH", "1")
        .env("DIDPORT_TELINTA_PRICING_BATCH", "1")
        .env("DIDPORT_TELINTA_CREATE_CUSTOMERS", "true")
        .env("DIDPORT_PAYPAL_API", u.paypal.base_url())
        .env("DIDPORT_PAYPAL_CLIENT_ID", u.paypal.client_id())
        .env("DIDPORT_PAYPAL_SECRET", u.paypal.client_secret())
        .env("DIDPORT_PAYPAL_WEBHOOK_ID", u.paypal.webhook_id());
    for (k, v) in adjust {
        cmd.env(k, v);
    }
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("didport runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn a_good_setup_passes_every_check_and_exits_0() {
    let u = upstreams(SimOptions::default());
    let before = u.telinta.did_count();
    let out = check(&u, &[]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for l in out.stdout.lines().filter(|l| *l != "upstream OK") {
        assert!(l.starts_with("ok   "), "{l}");
    }
    assert!(out.line("telinta login").starts_with("ok"));
    assert!(out.line("telinta product").contains("1 (Product 1)"));
    assert!(
        out.line("telinta may call DID/add_number")
            .starts_with("ok")
    );
    assert!(out.line("paypal webhook id").starts_with("ok"));
    assert!(out.stdout.ends_with("upstream OK\n"), "{}", out.stdout);
    // Read-only: nothing was created upstream.
    assert_eq!(u.telinta.did_count(), before);
    assert!(u.telinta.customer_by_name("").is_none());
    assert!(u.paypal.orders().is_empty());
    // The result is kept for the dashboard.
    let conn = crate::support::rusqlite_conn(&u.dir.path().join("db.sqlite3"));
    let kept: String = conn
        .query_row(
            "SELECT value FROM settings WHERE key = 'upstream_check_result'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(kept.starts_with("ok\n"), "{kept}");
}

#[test]
fn a_wrong_product_id_fails_with_what_to_change_and_exits_1() {
    let u = upstreams(SimOptions::default());
    let out = check(&u, &[("DIDPORT_TELINTA_PRODUCT", "77")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let l = out.line("telinta product");
    assert!(
        l.starts_with("FAIL telinta product: product 77 does not exist"),
        "{l}"
    );
    assert!(l.contains("change DIDPORT_TELINTA_PRODUCT"), "{l}");
    assert!(
        out.line("telinta login").starts_with("ok"),
        "only the product fails"
    );
    assert!(
        out.stderr.contains("1 upstream check(s) failed"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_wrong_password_fails_the_login_and_exits_1() {
    let u = upstreams(SimOptions::default());
    let out = check(&u, &[("DIDPORT_TELINTA_PASSWORD", "not-the-password")]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let l = out.line("telinta login");
    assert!(
        l.starts_with("FAIL telinta login: Telinta refused the login (Server.Session.auth_failed)"),
        "{l}"
    );
    assert!(l.contains("DIDPORT_TELINTA_PASSWORD"), "{l}");
    assert!(
        !out.stdout.contains("not-the-password"),
        "no secret in the output"
    );
    assert!(
        !out.stdout.contains("telinta product"),
        "nothing else is tried without a login"
    );
    assert!(
        out.line("paypal credentials").starts_with("ok"),
        "PayPal is still checked"
    );
}

#[test]
fn a_login_without_permission_for_add_number_fails_that_line_and_exits_1() {
    let u = upstreams(SimOptions {
        denied_methods: vec!["DID/add_number".into()],
        ..SimOptions::default()
    });
    let out = check(&u, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    let l = out.line("telinta may call DID/add_number");
    assert!(l.starts_with("FAIL"), "{l}");
    assert!(l.contains("this login has no permission"), "{l}");
    assert!(l.contains("give the API login didport access"), "{l}");
    let failed: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("FAIL"))
        .collect();
    assert_eq!(failed.len(), 1, "only that method: {failed:?}");
}

#[test]
fn wrong_paypal_settings_are_named() {
    let u = upstreams(SimOptions::default());
    let out = check(&u, &[("DIDPORT_PAYPAL_WEBHOOK_ID", "WH-NOT-OURS")]);
    assert_eq!(out.code, 1);
    let l = out.line("paypal webhook id");
    assert!(l.contains("PayPal knows no webhook WH-NOT-OURS"), "{l}");
    let out = check(&u, &[("DIDPORT_PAYPAL_SECRET", "wrong-secret")]);
    assert_eq!(out.code, 1);
    let l = out.line("paypal credentials");
    assert!(l.starts_with("FAIL paypal credentials"), "{l}");
    assert!(l.contains("DIDPORT_PAYPAL_SECRET"), "{l}");
    assert!(!out.stdout.contains("wrong-secret"));
}

#[test]
fn configuration_problems_exit_2_before_anything_is_asked() {
    let u = upstreams(SimOptions::default());
    u.telinta.reset_call_counts();
    let out = check(&u, &[("DIDPORT_TELINTA_PRODUCT", "seventy")]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("DIDPORT_TELINTA_PRODUCT"),
        "{}",
        out.stderr
    );
    assert_eq!(u.telinta.call_count("Session/login"), 0);
    // Nothing configured at all: nothing to check.
    let dir = tempfile::tempdir().unwrap();
    let out = didport()
        .arg("check-upstream")
        .env("DIDPORT_DB", dir.path().join("db.sqlite3"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to check"));
}

#[test]
fn the_dashboard_shows_the_last_result_and_when_it_ran() {
    let s = crate::activation::setup(Some(1), true);
    let mut admin = s.p.signed_in("boss@example.com", Role::Admin);
    let page = admin.get("/admin");
    assert!(page.has("#upstream-never"));
    let services = s.p.services();
    let report = didport::workflow::upstream::check(services);
    assert!(report.ok(), "{report:?}");
    didport::workflow::upstream::record(services, &report).unwrap();
    let page = admin.get("/admin");
    assert_eq!(
        page.attr("#upstream-check", "data-ok").as_deref(),
        Some("true")
    );
    assert!(page.text("#upstream-summary").contains("All checks passed"));
    assert!(!page.text("#upstream-at").is_empty());

    s.sim.deny("DID/add_number");
    let report = didport::workflow::upstream::check(services);
    assert!(!report.ok());
    didport::workflow::upstream::record(services, &report).unwrap();
    let page = admin.get("/admin");
    assert_eq!(
        page.attr("#upstream-check", "data-ok").as_deref(),
        Some("false")
    );
    let failures = page.text("#upstream-failures");
    assert!(failures.contains("DID/add_number"), "{failures}");
    assert!(!failures.contains("sim-password"), "no secret on the page");
}
