//! Sign-up, sign-in, sign-out, sessions, CSRF, throttling and password reset over real HTTP.

use crate::support::{PASSWORD, TestPortal};
use didport::domain::Role;

#[test]
fn signup_then_home_then_logout() {
    let p = TestPortal::start();
    let mut c = p.client();
    let form = c.get("/signup");
    assert_eq!(form.status, 200);
    assert!(form.has("#signup-form"));
    let r = c.post(
        "/signup",
        &[
            ("name", "Ann Lee"),
            ("email", "Ann@Example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/my");
    let cookie = r
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("didport_session="))
        .map(|(_, v)| v.clone())
        .expect("session cookie");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    assert!(
        !cookie.contains("Secure"),
        "plain http must not mark the cookie Secure"
    );

    let home = c.get("/my");
    assert_eq!(home.status, 200);
    assert!(home.body.contains("ann@example.com"));
    assert_eq!(home.text("#flash"), "Welcome! Your account is ready.");
    // The flash shows once.
    assert!(!c.get("/my").has("#flash"));

    // The stored password is an Argon2id hash, never the password.
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE password_hash LIKE '$argon2id$%'"),
        1
    );
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM users WHERE password_hash LIKE '%{PASSWORD}%'"
        )),
        0
    );

    let out = c.post("/logout", &[]);
    assert_eq!(out.status, 303);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 0);
    let again = c.get("/my");
    assert_eq!(again.status, 303);
    assert_eq!(again.location(), "/login?next=%2Fmy");
}

#[test]
fn signup_validation_shows_errors_next_to_fields_and_creates_nothing() {
    let p = TestPortal::start();
    let mut c = p.client();
    c.get("/signup");
    let r = c.post(
        "/signup",
        &[
            ("name", ""),
            ("email", "not-an-email"),
            ("password", "short"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.has("#name-error"));
    assert!(r.has("#email-error"));
    assert!(r.text("#password-error").contains("at least 10"));
    assert_eq!(r.attr("#f-email", "value").as_deref(), Some("not-an-email"));
    assert_eq!(r.attr("#f-email", "aria-invalid").as_deref(), Some("true"));
    assert_eq!(p.count("SELECT count(*) FROM users"), 0);

    p.add_user("taken@example.com", Role::Customer);
    let dup = c.post(
        "/signup",
        &[
            ("name", "X"),
            ("email", "TAKEN@example.com"),
            ("password", PASSWORD),
        ],
    );
    assert_eq!(dup.status, 400);
    assert!(dup.text("#email-error").contains("already exists"));
    assert_eq!(p.count("SELECT count(*) FROM users"), 1);
}

#[test]
fn login_wrong_password_and_unknown_account_look_the_same() {
    let p = TestPortal::start();
    p.add_user("bob@example.com", Role::Customer);
    let mut c = p.client();
    c.get("/login");
    let wrong = c.post(
        "/login",
        &[("email", "bob@example.com"), ("password", "wrong password")],
    );
    let unknown = c.post(
        "/login",
        &[
            ("email", "nobody@example.com"),
            ("password", "wrong password"),
        ],
    );
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.text("#login-error"), unknown.text("#login-error"));
    assert!(!c.cookies.contains_key("didport_session"));
    assert_eq!(
        p.count("SELECT count(*) FROM audit WHERE action = 'login' AND outcome = 'failed'"),
        2
    );
}

#[test]
fn login_goes_to_next_and_rotates_the_session() {
    let p = TestPortal::start();
    p.add_user("cat@example.com", Role::Customer);
    let mut c = p.client();
    let to_login = c.get("/my");
    assert_eq!(to_login.status, 303);
    c.get(to_login.location());
    let r = c.post(
        "/login",
        &[
            ("email", "cat@example.com"),
            ("password", PASSWORD),
            ("next", "/my"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/my");
    let first = c.cookies["didport_session"].clone();

    // Signing in again replaces the old session instead of adding one (with the token of a
    // page seen while signed in).
    c.get("/my");
    let r2 = c.post(
        "/login",
        &[("email", "cat@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(r2.status, 303);
    let second = c.cookies["didport_session"].clone();
    assert_ne!(first, second);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 1);

    // An off-site `next` is ignored.
    let mut d = p.client();
    d.get("/login");
    let r3 = d.post(
        "/login",
        &[
            ("email", "cat@example.com"),
            ("password", PASSWORD),
            ("next", "//evil.example/x"),
        ],
    );
    assert_eq!(r3.location(), "/my");
}

#[test]
fn csrf_missing_or_wrong_is_refused_and_changes_nothing() {
    let p = TestPortal::start();
    let mut c = p.client();
    c.get("/signup");
    let fields = |csrf: Option<&str>| {
        let mut v = vec![
            ("name".to_string(), "Eve".to_string()),
            ("email".to_string(), "eve@example.com".to_string()),
            ("password".to_string(), PASSWORD.to_string()),
        ];
        if let Some(t) = csrf {
            v.push(("csrf".into(), t.into()));
        }
        v
    };
    let missing = c.post_raw("/signup", &fields(None));
    assert_eq!(missing.status, 403);
    assert!(missing.has("#error-csrf"));
    let wrong = c.post_raw("/signup", &fields(Some("00ff")));
    assert_eq!(wrong.status, 403);
    // A token from another visitor does not work either.
    let mut other = p.client();
    other.get("/signup");
    let foreign = c.post_raw("/signup", &fields(other.csrf.as_deref()));
    assert_eq!(foreign.status, 403);
    assert_eq!(p.count("SELECT count(*) FROM users"), 0);

    // Signed in: logout without the token is refused and the session survives.
    let mut s = p.signed_in("sam@example.com", Role::Customer);
    let out = s.post_raw("/logout", &[]);
    assert_eq!(out.status, 403);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 1);
    assert_eq!(s.get("/my").status, 200);
}

#[test]
fn sessions_expire_when_idle() {
    let p = TestPortal::start();
    let mut c = p.signed_in("idle@example.com", Role::Customer);
    assert_eq!(c.get("/my").status, 200);
    p.clock
        .advance(didport::workflow::accounts::SESSION_IDLE_SECS - 60);
    assert_eq!(
        c.get("/my").status,
        200,
        "still alive just before the idle limit"
    );
    // That visit counted as activity, so the session lives on from here…
    p.clock
        .advance(didport::workflow::accounts::SESSION_IDLE_SECS - 60);
    assert_eq!(c.get("/my").status, 200);
    // …until it is left alone for longer than the limit.
    p.clock
        .advance(didport::workflow::accounts::SESSION_IDLE_SECS + 1);
    let r = c.get("/my");
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login"));
    assert!(
        !c.cookies.contains_key("didport_session"),
        "dead cookie is cleared"
    );
}

#[test]
fn sessions_end_at_their_lifetime_even_when_busy() {
    let p = TestPortal::start();
    let mut c = p.signed_in("busy@example.com", Role::Customer);
    let step = 6 * 3600;
    let mut elapsed = 0;
    while elapsed + step < didport::workflow::accounts::SESSION_LIFETIME_SECS {
        p.clock.advance(step);
        elapsed += step;
        assert_eq!(c.get("/my").status, 200);
    }
    p.clock.advance(step);
    assert_eq!(c.get("/my").status, 303);
}

#[test]
fn login_is_throttled_per_account_and_client_after_repeated_failures() {
    let p = TestPortal::start();
    p.add_user("target@example.com", Role::Customer);
    let mut c = p.client();
    c.get("/login");
    for _ in 0..didport::workflow::accounts::CLIENT_FREE_FAILURES {
        let r = c.post(
            "/login",
            &[("email", "target@example.com"), ("password", "guess guess")],
        );
        assert_eq!(r.status, 401);
    }
    // Now even the right password is refused for a while.
    let locked = c.post(
        "/login",
        &[("email", "target@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(locked.status, 429);
    assert!(
        locked
            .text("#login-error")
            .contains("Too many failed sign-in attempts")
    );
    assert!(!c.cookies.contains_key("didport_session"));
    // Another account is not affected.
    p.add_user("other@example.com", Role::Customer);
    let mut o = p.client();
    o.login("other@example.com", PASSWORD);
    // After the window passes, the right password works again.
    p.clock
        .advance(didport::workflow::accounts::THROTTLE_WINDOW_SECS + 1);
    c.login("target@example.com", PASSWORD);
}

#[test]
fn login_is_throttled_per_address_across_accounts() {
    let p = TestPortal::start();
    p.add_user("victim@example.com", Role::Customer);
    let mut c = p.client();
    c.get("/login");
    for i in 0..didport::workflow::accounts::ADDRESS_FAILURE_LIMIT {
        let email = format!("user{i}@example.com");
        let r = c.post(
            "/login",
            &[("email", email.as_str()), ("password", "guess guess")],
        );
        assert_eq!(r.status, 401);
    }
    let r = c.post(
        "/login",
        &[("email", "victim@example.com"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 429);
}

#[test]
fn password_reset_link_works_once_and_ends_all_sessions() {
    let p = TestPortal::start();
    p.add_user("reset@example.com", Role::Customer);
    let mut old_device = p.client();
    old_device.login("reset@example.com", PASSWORD);

    let mut c = p.client();
    c.get("/password/forgot");
    let r = c.post("/password/forgot", &[("email", "reset@example.com")]);
    assert_eq!(r.status, 303);
    // Unknown accounts get the same answer and no mail.
    let r2 = c.post("/password/forgot", &[("email", "ghost@example.com")]);
    assert_eq!(r2.status, 303);
    assert_eq!(r.location(), r2.location());
    assert_eq!(p.count("SELECT count(*) FROM outbox"), 1);

    let conn = crate::support::rusqlite_conn(&p.db);
    let (event, to, body): (String, String, String) = conn
        .query_row("SELECT event, to_addr, body FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(event, "password_reset");
    assert_eq!(to, "reset@example.com");
    assert!(!body.contains(PASSWORD));
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/password/reset?token="))
        .expect("link in mail");
    let path = &link[link.find("/password/reset").unwrap()..];
    let token = path.split("token=").nth(1).unwrap();
    // Only a digest of the token is stored.
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM password_resets WHERE token_hash = '{token}'"
        )),
        0
    );

    let form = c.get(path);
    assert_eq!(form.status, 200);
    let weak = c.post(
        "/password/reset",
        &[("token", token), ("password", "short")],
    );
    assert_eq!(weak.status, 400);
    assert!(weak.has("#password-error"));
    let done = c.post(
        "/password/reset",
        &[("token", token), ("password", "a brand new passphrase")],
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        p.count("SELECT count(*) FROM sessions"),
        0,
        "all sessions revoked"
    );
    assert_eq!(old_device.get("/my").status, 303);

    // Second use of the same link is refused and changes nothing.
    let again = c.post(
        "/password/reset",
        &[("token", token), ("password", "yet another passphrase")],
    );
    assert_eq!(again.status, 400);
    assert!(again.has("#reset-invalid"));
    assert_eq!(c.get(path).status, 400);

    let mut n = p.client();
    n.login("reset@example.com", "a brand new passphrase");
    let mut o = p.client();
    o.get("/login");
    let bad = o.post(
        "/login",
        &[
            ("email", "reset@example.com"),
            ("password", "yet another passphrase"),
        ],
    );
    assert_eq!(bad.status, 401);
}

#[test]
fn password_reset_link_expires() {
    let p = TestPortal::start();
    p.add_user("late@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "late@example.com", "test").unwrap();
    let conn = crate::support::rusqlite_conn(&p.db);
    let body: String = conn
        .query_row("SELECT body FROM outbox", [], |r| r.get(0))
        .unwrap();
    let token = body
        .split("token=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    p.clock
        .advance(didport::workflow::accounts::RESET_LIFETIME_SECS + 1);
    let mut c = p.client();
    c.get("/password/forgot");
    let r = c.post(
        "/password/reset",
        &[("token", &token), ("password", "a brand new passphrase")],
    );
    assert_eq!(r.status, 400);
    assert!(r.has("#reset-invalid"));
}

#[test]
fn password_change_revokes_other_sessions() {
    let p = TestPortal::start();
    let mut a = p.signed_in("change@example.com", Role::Customer);
    let mut b = p.client();
    b.login("change@example.com", PASSWORD);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 2);
    a.get("/account/password");
    let wrong = a.post(
        "/account/password",
        &[
            ("current", "not it at all"),
            ("password", "another long passphrase"),
        ],
    );
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("#current-error"));
    let ok = a.post(
        "/account/password",
        &[
            ("current", PASSWORD),
            ("password", "another long passphrase"),
        ],
    );
    assert_eq!(ok.status, 303);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 1);
    assert_eq!(
        a.get("/my").status,
        200,
        "the device that changed it stays signed in"
    );
    assert_eq!(b.get("/my").status, 303, "the other device is signed out");
}

#[test]
fn roles_guard_pages() {
    let p = TestPortal::start();
    let mut anon = p.client();
    let r = anon.get("/admin/outbox");
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/login?next=%2Fadmin%2Foutbox");
    let mut cust = p.signed_in("cust@example.com", Role::Customer);
    assert_eq!(cust.get("/admin/outbox").status, 403);
    assert_eq!(cust.get("/admin").status, 403);
    assert_eq!(cust.get("/admin/audit").status, 403);
    let mut admin = p.signed_in("boss@example.com", Role::Admin);
    assert_eq!(admin.get("/admin/outbox").status, 200);
    let audit = admin.get("/admin/audit");
    assert_eq!(audit.status, 200);
    assert!(audit.body.contains("boss@example.com"));
}

#[test]
fn housekeeping_removes_dead_sessions_and_old_failures_only() {
    let p = TestPortal::start();
    let mut live = p.signed_in("live@example.com", Role::Customer);
    let mut old = p.client();
    old.login("live@example.com", PASSWORD);
    let mut c = p.client();
    c.get("/login");
    c.post(
        "/login",
        &[
            ("email", "live@example.com"),
            ("password", "not the password"),
        ],
    );
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 2);
    // One session stays in use; the other is left idle past the limit.
    p.clock
        .advance(didport::workflow::accounts::SESSION_IDLE_SECS - 100);
    assert_eq!(live.get("/my").status, 200);
    p.clock.advance(200);
    let removed = didport::workflow::housekeeping::run_once(p.services(), 0).unwrap();
    assert_eq!(
        removed, 4,
        "the idle session and the three day-old failure counters (account, address, both)"
    );
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 1);
    assert_eq!(p.count("SELECT count(*) FROM login_failures"), 0);
    assert_eq!(live.get("/my").status, 200);
    assert_eq!(old.get("/my").status, 303);
}
