//! What a black-box probe of a running portal broke in sign-in, CSRF and password reset
//! (issue 13), each finding replayed over the wire as a browser (or a script) would.

use crate::support::{Client, TestPortal};
use didport::domain::Role;

// ---- 3. a visitor's CSRF token ends at sign-in ----

#[test]
fn a_visitor_token_is_refused_once_signed_in_and_the_visitor_cookie_is_rotated() {
    let p = TestPortal::start();
    p.add_user("probe-csrf@example.com", Role::Customer);
    let mut c = p.client();
    c.get("/login");
    let visitor_token = c.csrf.clone().unwrap();
    let visitor_cookie = c.cookies["didport_visitor"].clone();
    let r = c.post(
        "/login",
        &[
            ("email", "probe-csrf@example.com"),
            ("password", crate::support::PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let rotated = c.cookies.get("didport_visitor").cloned();
    assert!(
        rotated.is_some() && rotated.as_deref() != Some(visitor_cookie.as_str()),
        "the visitor cookie is replaced at sign-in"
    );
    // Signed in, a token made for the visitor does not count, even with the old visitor
    // cookie sent back beside the session.
    c.cookies.insert("didport_visitor".into(), visitor_cookie);
    let r = c.post("/logout", &[("csrf", &visitor_token)]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(c.get("/my").status, 200, "still signed in");
    // The session's own token does.
    let r = c.post("/logout", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/my").status, 303, "signed out");
}

#[test]
fn cookies_get_the_host_prefix_on_https() {
    let p = TestPortal::start_with(|c, _| c.base_url = Some("https://shop.example".into()));
    p.add_user("probe-host@example.com", Role::Customer);
    let mut c = p.client();
    let page = c.get("/login");
    let set: Vec<&str> = page
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(!set.is_empty());
    for cookie in &set {
        assert!(cookie.starts_with("__Host-didport_"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    c.login("probe-host@example.com", crate::support::PASSWORD);
    assert!(
        c.cookies.contains_key("__Host-didport_session"),
        "{:?}",
        c.cookies
    );
    assert!(!c.cookies.contains_key("didport_session"));
    assert_eq!(c.get("/my").status, 200);
    // A cookie without the prefix is not a session on an https portal.
    let token = c.cookies.remove("__Host-didport_session").unwrap();
    c.cookies.insert("didport_session".into(), token);
    assert_eq!(c.get("/my").status, 303);
}

// ---- 6. password-reset mails are limited ----

/// Asks for a reset link from client address `from` (the trusted proxy passes it on) and
/// returns the message the next page shows.
fn ask_reset(p: &TestPortal, email: &str, from: &str) -> String {
    let mut c = p.client();
    c.headers = vec![("X-Forwarded-For".into(), from.into())];
    c.get("/password/forgot");
    let r = c.post("/password/forgot", &[("email", email)]);
    assert_eq!(r.status, 303, "{}", r.body);
    c.follow(r).text("#flash")
}

fn behind_proxy() -> TestPortal {
    TestPortal::start_with(|c, _| c.trusted_proxy = Some("127.0.0.1".parse().unwrap()))
}

#[test]
fn reset_mails_to_one_address_are_limited() {
    let p = behind_proxy();
    p.add_user("probe-reset@example.com", Role::Customer);
    let mails = || {
        p.count(
            "SELECT count(*) FROM outbox WHERE event = 'password_reset' \
             AND to_addr = 'probe-reset@example.com'",
        )
    };
    // Forty asks from forty clients in a minute.
    let answers: Vec<String> = (0..40)
        .map(|i| ask_reset(&p, "probe-reset@example.com", &format!("10.0.1.{i}")))
        .collect();
    assert_eq!(mails(), 3, "three links an hour reach one address");
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every ask gets the same neutral answer: {answers:?}"
    );
    assert_eq!(
        answers[0],
        ask_reset(&p, "probe-nobody@example.com", "10.0.2.1"),
        "the same as for an unknown address"
    );
    p.clock.advance(3601);
    ask_reset(&p, "probe-reset@example.com", "10.0.3.1");
    assert_eq!(mails(), 4, "an hour later a new link is sent");
}

#[test]
fn reset_asks_from_one_client_are_limited() {
    let p = behind_proxy();
    let users: Vec<String> = (0..15)
        .map(|i| format!("probe-reset-{i}@example.com"))
        .collect();
    for u in &users {
        p.add_user(u, Role::Customer);
    }
    let mails = || p.count("SELECT count(*) FROM outbox WHERE event = 'password_reset'");
    let answers: Vec<String> = users.iter().map(|u| ask_reset(&p, u, "10.9.9.9")).collect();
    assert_eq!(mails(), 10, "ten asks an hour from one client send mail");
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    // Another client is not held back by this one.
    ask_reset(&p, &users[14], "10.9.9.10");
    assert_eq!(mails(), 11);
}

// ---- 2. nobody can lock an owner out of sign-in ----

/// A client whose requests come from `from` (through the trusted proxy).
fn client_at(p: &TestPortal, from: &str) -> Client {
    let mut c = p.client();
    c.headers = vec![("X-Forwarded-For".into(), from.into())];
    c
}

fn try_login(c: &mut Client, email: &str, password: &str) -> u16 {
    c.get("/login");
    c.post("/login", &[("email", email), ("password", password)])
        .status
}

#[test]
fn failures_from_strangers_do_not_lock_the_owner_out() {
    let p = behind_proxy();
    let owner = "probe-lock@example.com";
    p.add_user(owner, Role::Customer);
    // Thirty wrong passwords for the owner's account from one address…
    let mut attacker = client_at(&p, "10.0.5.1");
    let statuses: Vec<u16> = (0..30)
        .map(|_| try_login(&mut attacker, owner, "wrong password"))
        .collect();
    assert!(
        statuses.contains(&429),
        "the attacker is slowed: {statuses:?}"
    );
    // …and twenty-five for other accounts from the owner's own (shared, NAT) address.
    let mut neighbour = client_at(&p, "10.0.0.1");
    for i in 0..25 {
        try_login(&mut neighbour, &format!("other-{i}@example.com"), "wrong");
    }
    // The owner, from that address, with a browser that never signed in before: let in.
    let mut fresh = client_at(&p, "10.0.0.1");
    assert_eq!(try_login(&mut fresh, owner, crate::support::PASSWORD), 303);
}

#[test]
fn sign_in_delays_grow_per_account_and_client() {
    let p = behind_proxy();
    let owner = "probe-delay@example.com";
    p.add_user(owner, Role::Customer);
    let mut c = client_at(&p, "10.0.6.1");
    for _ in 0..3 {
        assert_eq!(try_login(&mut c, owner, "wrong"), 401);
    }
    // After three failures, even the right password waits.
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 429);
    p.clock.advance(31);
    assert_eq!(try_login(&mut c, owner, "wrong"), 401);
    // The next wait is longer than the first.
    p.clock.advance(31);
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 429);
    p.clock.advance(30);
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 303);
}

#[test]
fn a_browser_that_signed_in_before_is_kept_out_of_the_account_lockout() {
    let p = behind_proxy();
    let owner = "probe-device@example.com";
    p.add_user(owner, Role::Customer);
    let mut known = client_at(&p, "10.0.7.1");
    known.login(owner, crate::support::PASSWORD);
    assert!(
        known.cookies.contains_key("didport_device"),
        "{:?}",
        known.cookies
    );
    let r = known.post("/logout", &[]);
    assert_eq!(r.status, 303);
    // A botnet: two wrong passwords each from sixty addresses locks the account for every
    // browser it has not seen…
    for i in 0..60 {
        let mut bot = client_at(&p, &format!("10.1.{i}.1"));
        try_login(&mut bot, owner, "wrong");
        try_login(&mut bot, owner, "wrong");
    }
    let mut stranger = client_at(&p, "10.2.0.1");
    assert_eq!(
        try_login(&mut stranger, owner, crate::support::PASSWORD),
        429
    );
    // …but not for the owner's own browser, wherever it is now.
    known.headers = vec![("X-Forwarded-For".into(), "10.1.0.1".into())];
    assert_eq!(try_login(&mut known, owner, crate::support::PASSWORD), 303);
    // A device cookie is bound to its account and cannot be forged.
    let mut forger = client_at(&p, "10.2.0.2");
    let cookie = known.cookies["didport_device"].clone();
    let (uid, rest) = cookie.split_once('.').unwrap();
    forger.cookies.insert(
        "didport_device".into(),
        format!("{}.{rest}", uid.parse::<i64>().unwrap() + 1),
    );
    assert_eq!(try_login(&mut forger, owner, crate::support::PASSWORD), 429);
}
