//! The account page over the wire: name, email change confirmed by a link to the new address,
//! password change, two-factor state and billing history.

use std::sync::Arc;

use crate::support::smtp::SmtpSink;
use crate::support::{Client, PASSWORD, TestPortal, wait_until};
use didport::config::{SmtpConfig, SmtpTls};
use didport::domain::Role;
use didport::integrations::mail::{Mailer, SmtpMailer};

const NEW_PASSWORD: &str = "a different long passphrase";

fn portal_with_smtp(port: u16) -> TestPortal {
    TestPortal::start_with(|cfg, opts| {
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            user: None,
            password: None,
        };
        cfg.smtp = Some(smtp.clone());
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(smtp).unwrap());
        opts.mailer = Some(mailer);
    })
}

fn one_string(p: &TestPortal, sql: &str) -> String {
    crate::support::rusqlite_conn(&p.db)
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The path and query of the confirmation link in the last `email_change_requested` message.
fn confirm_path(p: &TestPortal) -> String {
    let body = one_string(
        p,
        "SELECT body FROM outbox WHERE event = 'email_change_requested' ORDER BY id DESC LIMIT 1",
    );
    let link = body
        .split_whitespace()
        .find(|w| w.contains("/account/email/confirm?token="))
        .expect("a link in the message");
    link[link.find("/account/email/confirm").unwrap()..].to_string()
}

fn ask_for(c: &mut Client, email: &str, password: &str) -> crate::support::Resp {
    c.get("/account");
    c.post(
        "/account/email",
        &[("email", email), ("password", password)],
    )
}

#[test]
fn the_page_has_every_section_and_is_linked_from_the_header() {
    let p = TestPortal::start();
    let mut c = p.signed_in("page@example.com", Role::Customer);
    let home = c.get("/my");
    assert_eq!(
        home.attr("#nav-account", "href").as_deref(),
        Some("/account")
    );
    let r = c.get("/account");
    assert_eq!(r.status, 200);
    for id in [
        "#name-form",
        "#email-form",
        "#password-form",
        "#two-factor",
        "#billing",
        "#no-billing",
        "#account-2fa",
    ] {
        assert!(r.has(id), "{id} missing");
    }
    assert_eq!(r.attr("#f-name", "value").as_deref(), Some("Test User"));
    assert_eq!(r.text("#account-email"), "page@example.com");
    assert_eq!(
        r.attr("#two-factor-state", "data-on").as_deref(),
        Some("false")
    );
    // Two forms ask for the current password; their elements keep apart.
    assert!(r.has("#f-email-password") && r.has("#f-current"));
    // The old address of the password form shows the same page.
    assert_eq!(c.get("/account/password").status, 200);
    assert_eq!(
        p.client().get("/account").location(),
        "/login?next=%2Faccount"
    );
}

#[test]
fn the_name_is_changed_and_a_bad_one_changes_nothing() {
    let p = TestPortal::start();
    let mut c = p.signed_in("name@example.com", Role::Customer);
    c.get("/account");
    let ok = c.post("/account/name", &[("name", "  Ann Lee ")]);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/account");
    let page = c.get("/account");
    assert_eq!(page.text("#flash"), "Your name is saved.");
    assert_eq!(page.attr("#f-name", "value").as_deref(), Some("Ann Lee"));
    assert_eq!(
        p.count("SELECT count(*) FROM audit WHERE action = 'name_change' AND outcome = 'ok'"),
        1
    );

    for bad in ["   ", &"x".repeat(101), "tab\there"] {
        let r = c.post("/account/name", &[("name", bad)]);
        assert_eq!(r.status, 400, "{bad:?}");
        assert!(r.has("#name-error"), "{bad:?}");
        assert_eq!(
            r.attr("#f-name", "aria-invalid").as_deref(),
            Some("true"),
            "{bad:?}"
        );
    }
    assert_eq!(
        one_string(
            &p,
            "SELECT name FROM users WHERE email = 'name@example.com'"
        ),
        "Ann Lee"
    );
}

#[test]
fn an_email_change_is_confirmed_by_a_link_mailed_to_the_new_address() {
    let sink = SmtpSink::start();
    let p = portal_with_smtp(sink.port);
    let mut c = p.signed_in("old@example.com", Role::Customer);
    let r = ask_for(&mut c, " New@Example.com ", PASSWORD);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(c.get("/account").text("#flash").contains("new@example.com"));
    // Nothing changes until the link is opened.
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE email = 'old@example.com'"),
        1
    );

    wait_until("the link reaches the new address", || {
        sink.received().len() == 1
    });
    let m = &sink.received()[0];
    assert_eq!(m.to, vec!["new@example.com".to_string()]);
    assert_eq!(
        m.header("X-Didport-Event").as_deref(),
        Some("email_change_requested")
    );
    assert!(
        m.header("Subject")
            .unwrap()
            .contains("confirm your new email")
    );
    assert!(
        !m.body().contains("old@example.com"),
        "the old address stays private"
    );
    let path = confirm_path(&p);
    assert!(m.body().contains(&path));

    // Opened without a session, the link asks to sign in and comes back.
    let mut stranger = p.client();
    let r = stranger.get(&path);
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?next="));
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE email = 'old@example.com'"),
        1
    );

    let done = c.get(&path);
    assert_eq!(done.status, 303);
    assert_eq!(done.location(), "/account");
    let page = c.get("/account");
    assert!(page.text("#flash").contains("now new@example.com"));
    assert_eq!(page.text("#account-email"), "new@example.com");
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE email = 'new@example.com'"),
        1
    );

    // The old address is told.
    wait_until("the notice reaches the old address", || {
        sink.received().len() == 2
    });
    let notice = &sink.received()[1];
    assert_eq!(notice.to, vec!["old@example.com".to_string()]);
    assert_eq!(
        notice.header("X-Didport-Event").as_deref(),
        Some("email_changed")
    );
    assert!(notice.body().contains("new@example.com"));

    // The audit says who and what, never the token or a password.
    let token = path.split("token=").nth(1).unwrap();
    assert_eq!(
        p.count(
            "SELECT count(*) FROM audit WHERE action = 'email_change' AND outcome = 'ok'
             AND subject = 'new@example.com' AND detail = 'from old@example.com'"
        ),
        1
    );
    let mac = token.rsplit('.').next().unwrap();
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM audit WHERE detail LIKE '%{mac}%' OR detail LIKE '%{PASSWORD}%'"
        )),
        0
    );

    // The link works once.
    let again = c.get(&path);
    assert_eq!(again.status, 400);
    assert!(again.has("#email-confirm-failed"));

    // Sign-in is with the new address now.
    let mut later = p.client();
    later.login("new@example.com", PASSWORD);
    assert_eq!(later.get("/account").status, 200);
}

#[test]
fn email_requests_with_mistakes_send_nothing() {
    let p = TestPortal::start();
    p.add_user("taken@example.com", Role::Customer);
    let mut c = p.signed_in("me@example.com", Role::Customer);

    let wrong = ask_for(&mut c, "fresh@example.com", "not my password");
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("#email-password-error"));
    assert_eq!(
        wrong.attr("#f-email", "value").as_deref(),
        Some("fresh@example.com"),
        "the typed address is kept"
    );
    assert_eq!(
        wrong.attr("#f-email-password", "value").as_deref(),
        Some("")
    );

    let bad = ask_for(&mut c, "no-at-sign", PASSWORD);
    assert_eq!(bad.status, 400);
    assert!(bad.has("#email-error"));

    let own = ask_for(&mut c, "ME@example.com", PASSWORD);
    assert_eq!(own.status, 400);
    assert!(own.text("#email-error").contains("already your email"));

    // As sign-up would: the address has an account.
    let taken = ask_for(&mut c, "taken@example.com", PASSWORD);
    assert_eq!(taken.status, 400);
    assert!(taken.text("#email-error").contains("Another account"));

    assert_eq!(p.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE email = 'me@example.com'"),
        1
    );
}

#[test]
fn expired_forged_foreign_and_overtaken_links_change_nothing() {
    let p = TestPortal::start();
    let mut c = p.signed_in("holder@example.com", Role::Customer);
    assert_eq!(ask_for(&mut c, "next@example.com", PASSWORD).status, 303);
    let path = confirm_path(&p);
    let unchanged = |p: &TestPortal| {
        assert_eq!(
            p.count("SELECT count(*) FROM users WHERE email = 'holder@example.com'"),
            1
        );
    };

    // Forged: another address in a genuine link, a changed MAC, garbage.
    let token = path.split("token=").nth(1).unwrap().to_string();
    let parts: Vec<&str> = token.split('.').collect();
    let other_address = didport::secure::hex(b"thief@example.com");
    let forged = [
        format!("{}.{}.{}.{}", parts[0], parts[1], other_address, parts[3]),
        format!("{}.{}0.{}.{}", parts[0], parts[1], parts[2], parts[3]),
        format!(
            "{}.{}.{}.{}00",
            parts[0],
            parts[1],
            parts[2],
            &parts[3][2..]
        ),
        "nonsense".to_string(),
        String::new(),
    ];
    for t in &forged {
        let r = c.get(&format!("/account/email/confirm?token={t}"));
        assert_eq!(r.status, 400, "{t}");
        assert!(r.has("#email-confirm-failed"), "{t}");
    }
    unchanged(&p);

    // Another signed-in account cannot use it.
    let mut other = p.signed_in("other@example.com", Role::Customer);
    assert_eq!(other.get(&path).status, 403);
    unchanged(&p);

    // Someone takes the address meanwhile.
    let mut squatter = p.client();
    squatter.get("/signup");
    let r = squatter.post(
        "/signup",
        &[
            ("name", "Squatter"),
            ("email", "next@example.com"),
            ("password", "a squatter's passphrase"),
        ],
    );
    assert_eq!(r.status, 303);
    let taken = c.get(&path);
    assert_eq!(taken.status, 409);
    assert!(
        taken
            .text("#email-confirm-failed")
            .contains("another account")
    );
    unchanged(&p);

    // A genuine link after 24 hours.
    assert_eq!(ask_for(&mut c, "later@example.com", PASSWORD).status, 303);
    let late = confirm_path(&p);
    p.clock.advance(24 * 3600 + 1);
    let mut c = p.client();
    c.login("holder@example.com", PASSWORD);
    let expired = c.get(&late);
    assert_eq!(expired.status, 400);
    assert!(expired.text("h1").contains("expired"));
    unchanged(&p);
}

#[test]
fn a_link_is_spent_by_any_change_after_it_even_one_back_to_its_address() {
    let p = TestPortal::start();
    let mut c = p.signed_in("a@example.com", Role::Customer);
    // Two links made while the account is at a@: to b@ and to c@.
    assert_eq!(ask_for(&mut c, "b@example.com", PASSWORD).status, 303);
    let to_b = confirm_path(&p);
    p.clock.advance(2);
    assert_eq!(ask_for(&mut c, "c@example.com", PASSWORD).status, 303);
    let to_c = confirm_path(&p);
    p.clock.advance(2);
    // a@ → b@, then back to a@ with a new link.
    assert_eq!(c.get(&to_b).status, 303);
    p.clock.advance(2);
    assert_eq!(ask_for(&mut c, "a@example.com", PASSWORD).status, 303);
    let back = confirm_path(&p);
    assert_eq!(c.get(&back).status, 303);
    p.clock.advance(2);
    // The account is at a@ again, the address both old links were made for: still spent.
    for spent in [&to_b, &to_c] {
        let r = c.get(spent);
        assert_eq!(r.status, 400, "{spent}");
        assert!(r.has("#email-confirm-failed"));
    }
    assert_eq!(
        p.count("SELECT count(*) FROM users WHERE email = 'a@example.com'"),
        1
    );
}

#[test]
fn confirmation_links_are_limited_to_five_an_hour() {
    let p = TestPortal::start();
    let mut c = p.signed_in("many@example.com", Role::Customer);
    for i in 0..5 {
        let r = ask_for(&mut c, &format!("new{i}@example.com"), PASSWORD);
        assert_eq!(r.status, 303, "{i}");
    }
    let sent = |p: &TestPortal| {
        p.count("SELECT count(*) FROM outbox WHERE event = 'email_change_requested'")
    };
    assert_eq!(sent(&p), 5);
    let sixth = ask_for(&mut c, "new5@example.com", PASSWORD);
    assert_eq!(sixth.status, 429);
    assert_eq!(sent(&p), 5, "no sixth message to a stranger's address");
    // An hour later the form works again.
    p.clock.advance(3601);
    assert_eq!(ask_for(&mut c, "new5@example.com", PASSWORD).status, 303);
    assert_eq!(sent(&p), 6);
}

#[test]
fn a_confirmed_change_spends_reset_links_sent_to_the_old_address() {
    let p = TestPortal::start();
    let mut c = p.signed_in("spend@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "spend@example.com", "test").unwrap();
    assert_eq!(ask_for(&mut c, "kept@example.com", PASSWORD).status, 303);
    assert_eq!(c.get(&confirm_path(&p)).status, 303);
    assert_eq!(
        p.count("SELECT count(*) FROM password_resets WHERE used_at IS NULL"),
        0
    );
}

#[test]
fn a_password_change_signs_out_other_devices_and_tells_the_holder() {
    let p = TestPortal::start();
    let mut a = p.signed_in("pw@example.com", Role::Customer);
    let mut b = p.client();
    b.login("pw@example.com", PASSWORD);
    a.get("/account");
    let post = |a: &mut Client, current: &str, new: &str, confirm: &str| {
        a.post(
            "/account/password",
            &[
                ("current", current),
                ("password", new),
                ("confirm", confirm),
            ],
        )
    };

    let weak = post(&mut a, PASSWORD, "short", "short");
    assert_eq!(weak.status, 400);
    assert!(weak.text("#password-error").contains("at least 10"));
    let mismatch = post(&mut a, PASSWORD, NEW_PASSWORD, "something else entirely");
    assert_eq!(mismatch.status, 400);
    assert!(mismatch.has("#confirm-error"));
    let wrong = post(&mut a, "not the password", NEW_PASSWORD, NEW_PASSWORD);
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("#current-error"));
    assert_eq!(p.count("SELECT count(*) FROM outbox"), 0);
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 2);

    let ok = post(&mut a, PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
    assert_eq!(ok.status, 303);
    assert_eq!(ok.location(), "/account");
    assert_eq!(a.get("/account").status, 200, "this device stays signed in");
    assert_eq!(b.get("/my").status, 303, "the other device is signed out");
    assert_eq!(p.count("SELECT count(*) FROM sessions"), 1);

    let (event, to, body): (String, String, String) = crate::support::rusqlite_conn(&p.db)
        .query_row("SELECT event, to_addr, body FROM outbox", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    assert_eq!(
        (event.as_str(), to.as_str()),
        ("password_changed", "pw@example.com")
    );
    assert!(body.contains("/password/forgot"));
    assert!(!body.contains(NEW_PASSWORD) && !body.contains(PASSWORD));
    assert_eq!(
        p.count(&format!(
            "SELECT count(*) FROM audit WHERE detail LIKE '%{NEW_PASSWORD}%'
             OR detail LIKE '%{PASSWORD}%'"
        )),
        0
    );

    let mut c = p.client();
    c.login("pw@example.com", NEW_PASSWORD);
}

#[test]
fn wrong_current_passwords_are_limited() {
    let p = TestPortal::start();
    let mut c = p.signed_in("guess@example.com", Role::Customer);
    c.get("/account");
    for i in 0..5 {
        let r = c.post(
            "/account/password",
            &[
                ("current", &format!("guess number {i}")),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ],
        );
        assert_eq!(r.status, 400, "try {i}");
    }
    // Even the right password waits now, on either form.
    let r = c.post(
        "/account/password",
        &[
            ("current", PASSWORD),
            ("password", NEW_PASSWORD),
            ("confirm", NEW_PASSWORD),
        ],
    );
    assert_eq!(r.status, 429);
    assert!(r.has("#current-error"));
    assert_eq!(
        ask_for(&mut c, "elsewhere@example.com", PASSWORD).status,
        429
    );
    p.clock.advance(15 * 60 + 1);
    let mut c = p.client();
    c.login("guess@example.com", PASSWORD);
    assert_eq!(
        ask_for(&mut c, "elsewhere@example.com", PASSWORD).status,
        303
    );
}

#[test]
fn admins_see_their_two_factor_state_and_customers_their_invoices() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("boss@example.com", Role::Admin);
    let r = admin.get("/account");
    assert_eq!(r.status, 200);
    assert!(r.text("#account-summary").contains("administrator"));
    assert_eq!(
        r.attr("#account-2fa", "href").as_deref(),
        Some("/account/2fa")
    );

    let plan = p.stock(&["2125550701"]);
    let buyer = p.add_user("buyer@example.com", Role::Customer);
    let s = p.services();
    let id = didport::workflow::checkout::start(s, &buyer, "2125550701", &plan.to_string(), "t")
        .unwrap();
    let order = s
        .store
        .read(|tx| didport::store::orders::get(tx, id))
        .unwrap()
        .unwrap();
    didport::workflow::payments::record_paid(s, &order, &buyer, None, None).unwrap();
    let mut c = p.client();
    c.login("buyer@example.com", PASSWORD);
    let page = c.get("/account");
    let rows = page.texts("#billing-history tbody tr");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].contains("(212) 555-0701"), "{rows:?}");
    let link = page
        .attr("#billing-history tbody a", "href")
        .expect("a link to the invoice");
    assert_eq!(c.get(&link).status, 200);
}
