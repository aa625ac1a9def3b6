//! Two-factor sign-in for admins (TOTP, RFC 6238) over the wire: enrolment, the code step,
//! recovery codes, throttling, the `required` mode and the operator's reset.

use crate::support::{Client, PASSWORD, TestPortal};
use didport::clock::Clock;
use didport::domain::Role;
use didport::domain::totp::TotpSecret;

/// The current code for the secret shown on the enrolment page, at the portal's clock.
fn code(p: &TestPortal, secret: &TotpSecret) -> String {
    secret.code_at(p.clock.now(), 6)
}

/// Turns two-factor on for a signed-in client; returns the secret and the recovery codes.
fn enrol(p: &TestPortal, c: &mut Client) -> (TotpSecret, Vec<String>) {
    let page = c.get("/account/2fa");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.has("#totp-qr svg"),
        "a QR code is drawn: {}",
        page.body
    );
    let secret = TotpSecret::from_base32(&page.text("#totp-secret")).expect("a base32 key");
    let wrong = c.post("/account/2fa", &[("code", "000000")]);
    assert_eq!(wrong.status, 400);
    assert_eq!(
        TotpSecret::from_base32(&wrong.text("#totp-secret")),
        Some(secret.clone()),
        "the same key is shown again"
    );
    let done = c.post("/account/2fa", &[("code", &code(p, &secret))]);
    assert_eq!(done.status, 200, "{}", done.body);
    let codes = done.texts("#recovery-codes li");
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Signs out, then in with the password: the portal asks for the code.
fn password_step(c: &mut Client, email: &str) {
    c.get("/my");
    c.post("/logout", &[]);
    c.get("/login");
    let r = c.post("/login", &[("email", email), ("password", PASSWORD)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/login/2fa");
    assert!(!c.cookies.contains_key("didport_session"), "no session yet");
    assert_eq!(c.get("/admin").status, 303, "not signed in yet");
    assert_eq!(c.get("/login/2fa").status, 200);
}

#[test]
fn an_admin_enrols_then_signs_in_with_a_code_and_with_a_recovery_code() {
    let p = TestPortal::start();
    let email = "tfa-admin@example.com";
    let mut c = p.signed_in(email, Role::Admin);
    assert!(
        c.get("/admin").has("#two-factor-off"),
        "the dashboard says it is off"
    );
    let (secret, codes) = enrol(&p, &mut c);
    assert!(!c.get("/admin").has("#two-factor-off"));
    assert_eq!(
        c.get("/account/2fa").text("#recovery-left"),
        "10 of 10 recovery codes unused."
    );
    assert_eq!(p.count("SELECT count(*) FROM recovery_codes"), 10);

    // A code: the one used at enrolment cannot be used again, the next step's can.
    password_step(&mut c, email);
    let replay = c.post("/login/2fa", &[("code", &code(&p, &secret))]);
    assert_eq!(replay.status, 401, "a code is accepted once");
    p.clock.advance(30);
    let r = c.post("/login/2fa", &[("code", &code(&p, &secret))]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location(), "/admin");
    assert_eq!(c.get("/admin").status, 200);

    // A recovery code, typed in capitals without dashes: once.
    password_step(&mut c, email);
    let typed = codes[3].replace('-', "").to_uppercase();
    let r = c.post("/login/2fa", &[("code", &typed)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/admin").status, 200);
    password_step(&mut c, email);
    assert_eq!(c.post("/login/2fa", &[("code", &codes[3])]).status, 401);
    assert_eq!(c.get("/account/2fa").status, 303, "still not signed in");

    // Neither the secret nor a code is in the audit log, a log line or the outbox.
    let key = secret.to_base32();
    let audit = rusqlite_dump(&p);
    for needle in std::iter::once(key.as_str()).chain(codes.iter().map(String::as_str)) {
        assert!(!audit.contains(needle), "{needle} in the audit log");
        for line in crate::support::logs() {
            assert!(!line.contains(needle), "{needle} in {line}");
        }
    }
    assert!(!audit.contains(&secret.to_hex()));
}

/// Everything the audit and outbox tables hold, as text.
fn rusqlite_dump(p: &TestPortal) -> String {
    let conn = crate::support::rusqlite_conn(&p.db);
    let mut out = String::new();
    for sql in [
        "SELECT actor || ' ' || action || ' ' || subject || ' ' || detail FROM audit",
        "SELECT subject || ' ' || body FROM outbox",
    ] {
        let mut stmt = conn.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        for r in rows {
            out.push_str(&r.unwrap());
            out.push('\n');
        }
    }
    out
}

#[test]
fn wrong_codes_are_throttled_like_passwords() {
    let p = TestPortal::start();
    let email = "tfa-throttle@example.com";
    let mut c = p.signed_in(email, Role::Admin);
    let (secret, _) = enrol(&p, &mut c);
    p.clock.advance(30);
    password_step(&mut c, email);
    for _ in 0..3 {
        assert_eq!(c.post("/login/2fa", &[("code", "123456")]).status, 401);
    }
    let r = c.post("/login/2fa", &[("code", &code(&p, &secret))]);
    assert_eq!(r.status, 429, "{}", r.body);
    // Once the wait is over, the right code works.
    p.clock.advance(31);
    password_step(&mut c, email);
    assert_eq!(
        c.post("/login/2fa", &[("code", &code(&p, &secret))]).status,
        303
    );
}

#[test]
fn wrong_codes_from_many_addresses_lock_the_code_step_of_the_account() {
    let p = TestPortal::start_with(|c, _| c.trusted_proxy = Some("127.0.0.1".parse().unwrap()));
    let email = "tfa-spread@example.com";
    let mut owner = p.signed_in(email, Role::Admin);
    let (secret, _) = enrol(&p, &mut owner);
    p.clock.advance(30);
    // Someone with the password guesses once from each of ten addresses…
    for i in 0..didport::workflow::twofactor::SECOND_STEP_ACCOUNT_LIMIT {
        let mut c = p.client();
        c.headers = vec![("X-Forwarded-For".into(), format!("10.3.{i}.1"))];
        password_step(&mut c, email);
        assert_eq!(c.post("/login/2fa", &[("code", "000000")]).status, 401);
    }
    // …and then no address gets a code accepted for the rest of the window.
    let mut c = p.client();
    c.headers = vec![("X-Forwarded-For".into(), "10.4.0.1".into())];
    password_step(&mut c, email);
    assert_eq!(
        c.post("/login/2fa", &[("code", &code(&p, &secret))]).status,
        429
    );
    p.clock
        .advance(didport::workflow::accounts::THROTTLE_WINDOW_SECS + 1);
    password_step(&mut c, email);
    assert_eq!(
        c.post("/login/2fa", &[("code", &code(&p, &secret))]).status,
        303
    );
}

#[test]
fn the_code_step_needs_a_right_password_first() {
    let p = TestPortal::start();
    p.add_user("tfa-skip@example.com", Role::Admin);
    let mut c = p.client();
    assert_eq!(c.get("/login/2fa").location(), "/login");
    c.get("/login");
    let r = c.post("/login/2fa", &[("code", "123456")]);
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/login");
    // A forged second-step cookie (the signature does not match) is no way in either.
    c.cookies.insert(
        "didport_2fa".into(),
        format!("1.{}.00", p.clock.now() + 100),
    );
    assert_eq!(c.get("/login/2fa").location(), "/login");
    // And a wrong password never reaches it.
    c.cookies.remove("didport_2fa");
    c.get("/login");
    let r = c.post(
        "/login",
        &[("email", "tfa-skip@example.com"), ("password", "wrong")],
    );
    assert_eq!(r.status, 401);
    assert!(!c.cookies.contains_key("didport_2fa"));
}

#[test]
fn required_mode_sends_admins_without_it_to_enrol() {
    let p = TestPortal::start_with(|c, _| {
        c.admin_2fa = didport::config::AdminTwoFactor::Required;
    });
    let mut admin = p.signed_in("tfa-required@example.com", Role::Admin);
    for path in ["/admin", "/admin/orders", "/my"] {
        let r = admin.get(path);
        assert_eq!(r.status, 303, "{path}");
        assert_eq!(r.location(), "/account/2fa", "{path}");
    }
    admin.get("/account/2fa");
    let r = admin.post("/admin/plans", &[("name", "X")]);
    assert_eq!(r.location(), "/account/2fa");
    assert_eq!(p.count("SELECT count(*) FROM plans"), 0);
    // Customers are not asked.
    let mut cust = p.signed_in("tfa-required-cust@example.com", Role::Customer);
    assert_eq!(cust.get("/my").status, 200);
    // Once enrolled, the admin pages open.
    enrol(&p, &mut admin);
    assert_eq!(admin.get("/admin").status, 200);
}
