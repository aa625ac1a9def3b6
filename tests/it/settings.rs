//! Number settings: PIN and call forwarding through Telinta, over real HTTP.

use std::time::Duration;

use crate::activation::{Setup, mails, paid_order, set, setup};
use crate::support::{Client, PASSWORD, logs};
use didport::sim::telinta::{Failure, Times};

const N: &str = "2125550501";
const PIN: &str = "7392";

/// An active number owned by a signed-in customer.
fn active() -> (Setup, Client, i64) {
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "owner@example.com", N);
    set(&mut s, order, "active");
    let mut c = s.p.client();
    c.login("owner@example.com", PASSWORD);
    (s, c, order)
}

fn save(c: &mut Client, pin: &str, forwarding: &str) -> crate::support::Resp {
    c.get(&format!("/my/numbers/{N}"));
    c.post(
        &format!("/my/numbers/{N}/settings"),
        &[("pin", pin), ("forwarding", forwarding)],
    )
}

fn local(s: &Setup) -> (i64, Option<String>) {
    let conn = crate::support::rusqlite_conn(&s.p.db);
    conn.query_row(
        "SELECT pin_set, forwarding FROM purchased_numbers",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// The PIN appears nowhere: not in pages, emails, audit rows or the log.
fn assert_pin_nowhere(s: &Setup, page: &str) {
    // The form's random CSRF token may spell the four digits by chance; it is not the PIN.
    let mut text = page.to_string();
    while let Some(at) = text.find("name=\"csrf\" value=\"") {
        let start = at + "name=\"csrf\" value=\"".len();
        let end = text[start..].find('"').map_or(text.len(), |e| start + e);
        text.replace_range(at..end, "");
    }
    assert!(!text.contains(PIN), "PIN in a page");
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM outbox WHERE body LIKE '%{PIN}%' OR subject LIKE '%{PIN}%'"
        )),
        0
    );
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM audit WHERE detail LIKE '%{PIN}%' OR subject LIKE '%{PIN}%'"
        )),
        0
    );
    // The PIN as a word of its own: ports, timings, phone numbers and temporary paths logged by
    // other tests in this binary can hold the same four digits inside a longer word.
    let leaks: Vec<String> = logs()
        .into_iter()
        .filter(|l| {
            l.split(|c: char| !c.is_ascii_alphanumeric())
                .any(|w| w == PIN)
        })
        .collect();
    assert!(leaks.is_empty(), "PIN in the log: {leaks:?}");
}

#[test]
fn pin_only_goes_to_telinta_then_the_portal_then_the_emails() {
    let (s, mut c, _) = active();
    let r = save(&mut c, PIN, "");
    assert_eq!(r.status, 303, "{}", r.body);
    let page = c.follow(r);
    assert!(page.text("#flash").contains("new PIN"));
    assert_eq!(s.sim.account(N).unwrap().h323_password, PIN);
    assert_eq!(local(&s), (1, None));
    assert_eq!(
        mails(&s, "settings_changed"),
        vec!["owner@example.com", "admin@example.com"]
    );
    let home = c.get("/my");
    assert!(home.text(&format!("#number-{N}")).contains("Set"));
    assert_pin_nowhere(&s, &format!("{}{}", page.body, home.body));
}

#[test]
fn forwarding_only_creates_then_updates_the_follow_me_record() {
    let (s, mut c, _) = active();
    assert!(s.sim.follow_me(N).is_none_or(|f| f.numbers.is_empty()));
    let r = save(&mut c, "", "3105550199");
    assert_eq!(r.status, 303, "{}", r.body);
    let fm = s.sim.follow_me(N).unwrap();
    assert_eq!(fm.numbers.len(), 1);
    assert_eq!(fm.numbers[0].redirect_number, "13105550199");
    assert_eq!(s.sim.account(N).unwrap().follow_me_enabled, "C");
    assert_eq!(local(&s), (0, Some("3105550199".into())));
    // Changing it again updates the same record.
    save(&mut c, "", "4155550100");
    let fm = s.sim.follow_me(N).unwrap();
    assert_eq!(fm.numbers.len(), 1);
    assert_eq!(fm.numbers[0].redirect_number, "14155550100");
    assert_eq!(local(&s).1.as_deref(), Some("4155550100"));
}

#[test]
fn both_at_once() {
    let (s, mut c, _) = active();
    let r = save(&mut c, PIN, "3105550199");
    let page = c.follow(r);
    assert!(page.text("#current-forwarding").contains("(310) 555-0199"));
    assert_eq!(s.sim.account(N).unwrap().h323_password, PIN);
    assert_eq!(local(&s), (1, Some("3105550199".into())));
    assert_pin_nowhere(&s, &page.body);
}

#[test]
fn bad_input_is_shown_by_its_field_and_changes_nothing_anywhere() {
    let (s, mut c, _) = active();
    s.sim.reset_call_counts();
    let before = s.sim.account(N).unwrap().h323_password;
    for (pin, fwd, field) in [
        ("123", "", "pin"),
        ("12345", "", "pin"),
        ("12a4", "", "pin"),
        ("12 4", "", "pin"),
        ("١٢٣٤", "", "pin"),
        ("", "310555019", "forwarding"),
        ("", "31055501999", "forwarding"),
        ("", "310-555-019", "forwarding"),
        ("", "٣١٠٥٥٥٠١٩٩", "forwarding"),
        ("", N, "forwarding"),
        ("", "0125551234", "forwarding"),
        ("", "(310) 155-0199", "forwarding"),
        ("", "+44 20 7946 0958", "forwarding"),
        ("", "", "pin"),
        ("1234", "abc", "forwarding"),
    ] {
        let r = save(&mut c, pin, fwd);
        assert_eq!(r.status, 400, "{pin:?} {fwd:?}");
        assert!(r.has(&format!("#{field}-error")), "{pin:?} {fwd:?}");
        if field == "pin" && !fwd.is_empty() {
            assert_eq!(
                r.attr("#f-forwarding", "value").as_deref(),
                Some(fwd),
                "the other field is kept"
            );
        }
    }
    assert!(
        s.sim.call_counts().values().all(|n| *n == 0),
        "nothing went upstream"
    );
    assert_eq!(s.sim.account(N).unwrap().h323_password, before);
    assert_eq!(local(&s), (0, None));
    assert!(mails(&s, "settings_changed").is_empty());
}

#[test]
fn other_customers_numbers_are_404() {
    let (s, _, _) = active();
    s.p.add_user("intruder@example.com", didport::domain::Role::Customer);
    let mut other = s.p.client();
    other.login("intruder@example.com", PASSWORD);
    assert_eq!(other.get(&format!("/my/numbers/{N}")).status, 404);
    let r = other.post(
        &format!("/my/numbers/{N}/settings"),
        &[("pin", PIN), ("forwarding", "")],
    );
    assert_eq!(r.status, 404);
    assert_ne!(s.sim.account(N).unwrap().h323_password, PIN);
    let mut anon = s.p.client();
    assert_eq!(anon.get(&format!("/my/numbers/{N}")).status, 303);
}

#[test]
fn settings_wait_until_the_number_is_active() {
    let s = setup(Some(1), true);
    paid_order(&s, "early@example.com", "2125550502");
    let mut c = s.p.client();
    c.login("early@example.com", PASSWORD);
    let page = c.get("/my/numbers/2125550502");
    assert!(page.has("#not-active"));
    assert!(!page.has("#settings-form"));
    c.get("/my");
    let r = c.post(
        "/my/numbers/2125550502/settings",
        &[("pin", PIN), ("forwarding", "")],
    );
    assert_eq!(r.status, 409);
}

#[test]
fn every_telinta_failure_leaves_the_portal_unchanged_and_tells_admin_and_customer() {
    // Every call a PIN-and-forwarding change makes on a number without a follow-me record.
    let calls = [
        "Account/get_account_info",
        "Account/update_account",
        "Account/get_account_followme",
        "Account/update_account_followme",
        "Account/add_followme_number",
    ];
    let kinds = [
        Failure::fault("Server.Internal", "upstream is unhappy"),
        Failure::Http(503),
        Failure::Timeout(Duration::from_millis(1500)),
        Failure::Malformed,
    ];
    for method in calls {
        for kind in &kinds {
            let (s, mut c, _) = active();
            let fails_before = mails(&s, "settings_change_failed").len();
            s.sim.fail(method, kind.clone(), Times::Once);
            let r = save(&mut c, PIN, "3105550199");
            assert_eq!(r.status, 502, "{method} {kind:?}");
            assert!(
                r.text("#settings-error").contains("try again later"),
                "{method} {kind:?}"
            );
            assert_eq!(
                local(&s),
                (0, None),
                "{method} {kind:?}: nothing changed locally"
            );
            assert_eq!(mails(&s, "settings_change_failed").len(), fails_before + 1);
            assert_eq!(
                mails(&s, "settings_change_failed")
                    .last()
                    .map(String::as_str),
                Some("admin@example.com")
            );
            assert!(mails(&s, "settings_changed").is_empty());
            assert_pin_nowhere(&s, &r.body);
        }
    }
}

#[test]
fn a_half_accepted_change_says_exactly_what_telinta_took() {
    let (s, mut c, _) = active();
    // The PIN goes through; the forwarding step fails.
    s.sim.fail(
        "Account/get_account_followme",
        Failure::fault("Server.Internal", "follow-me is down"),
        Times::Always,
    );
    let r = save(&mut c, PIN, "3105550199");
    assert_eq!(r.status, 502);
    assert!(
        r.text("#settings-error").contains("already taken the PIN"),
        "{}",
        r.text("#settings-error")
    );
    assert_eq!(local(&s), (0, None), "the portal changes nothing");
    let conn = crate::support::rusqlite_conn(&s.p.db);
    let body: String = conn
        .query_row(
            "SELECT body FROM outbox WHERE event = 'settings_change_failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(body.contains("already accepted the PIN"), "{body}");
    assert_pin_nowhere(&s, &r.body);
}

#[test]
fn with_the_voicemail_pin_field_the_pin_goes_to_voicemail() {
    let mut s =
        crate::activation::setup_with_pin(Some(1), true, didport::config::PinField::Voicemail);
    let order = paid_order(&s, "owner@example.com", N);
    set(&mut s, order, "active");
    let service_password = s.sim.account(N).unwrap().h323_password;
    let mut c = s.p.client();
    c.login("owner@example.com", PASSWORD);
    let r = save(&mut c, PIN, "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.sim.voicemail_pin(N).as_deref(), Some(PIN));
    assert_eq!(
        s.sim.account(N).unwrap().h323_password,
        service_password,
        "the service password is untouched"
    );
    assert_eq!(local(&s), (1, None));
}

// ---- issue 14: forwarding through forward_mode, read-back, forwarding off ------------------

fn turn_off(c: &mut Client, forwarding: &str) -> crate::support::Resp {
    c.get(&format!("/my/numbers/{N}"));
    c.post(
        &format!("/my/numbers/{N}/settings"),
        &[
            ("pin", ""),
            ("forwarding", forwarding),
            ("forwarding_off", "1"),
        ],
    )
}

fn admin_mail_bodies(s: &Setup) -> Vec<String> {
    let conn = crate::support::rusqlite_conn(&s.p.db);
    let mut stmt = conn
        .prepare("SELECT body FROM outbox WHERE event = 'settings_change_failed' ORDER BY id")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn forwarding_is_set_through_the_forward_mode_feature_and_read_back() {
    let (s, mut c, _) = active();
    s.sim.reset_call_counts();
    let r = save(&mut c, "", "3105550199");
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(s.sim.call_count("Account/update_service_features") >= 1);
    assert!(s.sim.call_count("Account/get_service_features") >= 1);
    assert_eq!(s.sim.call_count("Account/update_account"), 0);
    assert_eq!(s.sim.account(N).unwrap().follow_me_enabled, "C");
    // Read back: the follow-me numbers are fetched again after the writes.
    assert!(s.sim.call_count("Account/get_account_followme") >= 2);
}

#[test]
fn forwarding_that_does_not_take_changes_nothing_here_and_tells_the_admin() {
    for method in [
        "Account/add_followme_number",
        "Account/update_service_features",
    ] {
        let (s, mut c, _) = active();
        s.sim.ignore_writes(method);
        let r = save(&mut c, "", "3105550199");
        assert_eq!(r.status, 502, "{method}");
        assert!(r.has("#settings-error"), "{method}");
        assert_eq!(local(&s), (0, None), "{method}");
        let bodies = admin_mail_bodies(&s);
        assert_eq!(bodies.len(), 1, "{method}");
        assert!(
            bodies[0].contains("did not take"),
            "{method}: {}",
            bodies[0]
        );
        assert!(
            bodies[0].contains("the portal changed nothing"),
            "{}",
            bodies[0]
        );
    }
}

#[test]
fn an_answering_mode_without_forwarding_is_named_to_the_admin() {
    let (s, mut c, _) = active();
    assert!(s.sim.set_answering_mode(N, "ring"));
    let r = save(&mut c, "", "3105550199");
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(local(&s), (0, None));
    let bodies = admin_mail_bodies(&s);
    assert!(
        bodies[0].contains("answering mode is ring"),
        "{}",
        bodies[0]
    );
}

#[test]
fn a_pin_that_does_not_take_is_not_recorded() {
    let (s, mut c, _) = active();
    s.sim.ignore_writes("Account/update_account");
    let r = save(&mut c, PIN, "");
    assert_eq!(r.status, 502, "{}", r.body);
    assert_eq!(local(&s), (0, None));
    assert!(admin_mail_bodies(&s)[0].contains("did not take"));
    assert_pin_nowhere(&s, &r.body);
}

#[test]
fn forwarding_off_goes_to_telinta_first_then_the_portal() {
    let (s, mut c, _) = active();
    save(&mut c, "", "3105550199");
    assert_eq!(local(&s).1.as_deref(), Some("3105550199"));
    let page = c.get(&format!("/my/numbers/{N}"));
    assert!(
        page.has("#f-forwarding-off"),
        "the control shows while forwarding is on"
    );

    // Telinta fails: the portal keeps forwarding on.
    s.sim.fail_once(
        "Account/update_service_features",
        Failure::fault("Server.Internal", "boom"),
    );
    let r = turn_off(&mut c, "");
    assert_eq!(r.status, 502);
    assert_eq!(local(&s).1.as_deref(), Some("3105550199"));
    assert_eq!(s.sim.account(N).unwrap().follow_me_enabled, "C");

    let r = turn_off(&mut c, "");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(s.sim.account(N).unwrap().follow_me_enabled, "N");
    assert_eq!(local(&s), (0, None));
    let page = c.follow(r);
    assert!(page.text("#flash").contains("forwarding is off"));
    assert!(!page.has("#current-forwarding"));
    assert!(
        !page.has("#f-forwarding-off"),
        "nothing to turn off any more"
    );
}

#[test]
fn forwarding_off_with_a_number_is_refused() {
    let (s, mut c, _) = active();
    s.sim.reset_call_counts();
    let r = turn_off(&mut c, "3105550199");
    assert_eq!(r.status, 400);
    assert!(r.has("#forwarding-error"));
    assert_eq!(s.sim.call_count("Account/update_service_features"), 0);
}

#[test]
fn forwarding_is_accepted_as_people_write_it_and_saved_as_ten_digits() {
    let (s, mut c, _) = active();
    for (typed, saved) in [
        ("(310) 555-0123", "3105550123"),
        ("+1 310 555 0124", "3105550124"),
        ("1-310-555-0125", "3105550125"),
    ] {
        let r = save(&mut c, "", typed);
        assert_eq!(r.status, 303, "{typed:?}: {}", r.body);
        assert_eq!(local(&s).1.as_deref(), Some(saved), "{typed:?}");
    }
}
