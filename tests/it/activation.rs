//! View Orders and the activation flow against the Telinta simulator over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use crate::support::{Client, TestPortal};
use didport::config::{PinField, TelintaConfig};
use didport::domain::Role;
use didport::integrations::telinta::TelintaClient;
use didport::sim::telinta::{Failure, TelintaSim, Times};

pub struct Setup {
    pub p: TestPortal,
    pub sim: TelintaSim,
    pub admin: Client,
}

pub fn setup(pricing_batch: Option<i64>, create_customers: bool) -> Setup {
    setup_with_pin(pricing_batch, create_customers, PinField::ServicePassword)
}

pub fn setup_with_pin(
    pricing_batch: Option<i64>,
    create_customers: bool,
    pin_field: PinField,
) -> Setup {
    let sim = TelintaSim::start(11).unwrap();
    let mut cfg = sim.client_config();
    cfg.timeout = Duration::from_millis(700);
    let client = TelintaClient::new(cfg).unwrap();
    let base = sim.base_url().to_string();
    let voicemail = sim.voicemail_url().to_string();
    let p = TestPortal::start_with(move |c, opts| {
        c.telinta = Some(TelintaConfig {
            url: base,
            login: "didport".into(),
            password: Some("sim-password".into()),
            token: None,
            product: Some(1),
            vendor_batch: Some(1),
            pricing_batch,
            pin_field,
            voicemail_url: Some(voicemail),
            voicemail_domain: Some(didport::sim::telinta::UM_DOMAIN.into()),
            create_customers,
        });
        opts.telinta = Some(Arc::new(client));
    });
    let admin = p.signed_in("ops@example.com", Role::Admin);
    Setup { p, sim, admin }
}

/// A paid order for `number` by a new customer `email`; returns the order id.
pub fn paid_order(s: &Setup, email: &str, number: &str) -> i64 {
    let user = s.p.add_user(email, Role::Customer);
    let services = s.p.services();
    let plan = s.p.stock(&[number]);
    let id = didport::workflow::checkout::start(services, &user, number, &plan.to_string(), "test")
        .unwrap();
    let order = services
        .store
        .read(|tx| didport::store::orders::get(tx, id))
        .unwrap()
        .unwrap();
    didport::workflow::payments::record_paid(services, &order, &user, None, None).unwrap();
    id
}

fn status(s: &Setup, order: i64) -> String {
    let conn = crate::support::rusqlite_conn(&s.p.db);
    conn.query_row(
        &format!("SELECT status FROM purchased_numbers WHERE order_id = {order}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

pub fn mails(s: &Setup, event: &str) -> Vec<String> {
    let conn = crate::support::rusqlite_conn(&s.p.db);
    let mut stmt = conn
        .prepare("SELECT to_addr FROM outbox WHERE event = ?1 ORDER BY id")
        .unwrap();
    stmt.query_map([event], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

pub fn set(s: &mut Setup, order: i64, to: &str) -> crate::support::Resp {
    s.admin.get("/admin/orders");
    let r = s.admin.post(
        &format!("/admin/orders/{order}/status"),
        &[("status", to), ("confirm", "yes")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    s.admin.follow(r)
}

#[test]
fn a_fresh_number_is_added_priced_assigned_and_given_its_account() {
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "fresh@example.com", "2125550301");
    let page = s.admin.get("/admin/orders");
    assert_eq!(
        page.attr(&format!("#order-{order}"), "data-status")
            .as_deref(),
        Some("pending")
    );
    let after = set(&mut s, order, "active");
    assert_eq!(
        after
            .attr(&format!("#order-{order}"), "data-status")
            .as_deref(),
        Some("active"),
        "{}",
        after.text("#flash")
    );
    let did = s.sim.did("2125550301").expect("added to the DID inventory");
    let customer = s
        .sim
        .customer_by_name("fresh@example.com")
        .expect("customer created");
    assert_eq!(did.i_customer, Some(customer.i_customer));
    assert_eq!(did.i_do_batch, Some(1));
    let account = s.sim.account("2125550301").expect("account");
    assert_eq!(account.id, "12125550301");
    assert_eq!(account.i_customer, customer.i_customer);
    assert_eq!(
        mails(&s, "number_activated"),
        vec!["fresh@example.com", "admin@example.com"]
    );
    assert_eq!(
        s.p.count("SELECT telinta_customer FROM users WHERE email = 'fresh@example.com'"),
        customer.i_customer
    );
    assert!(s.admin.get("/admin/audit").body.contains("number_activate"));
    // Active again: nothing to do, and it says so.
    let again = set(&mut s, order, "active");
    assert!(again.text("#flash").contains("already active"));
    assert_eq!(mails(&s, "number_activated").len(), 2);
}

#[test]
fn a_number_already_in_the_inventory_and_assigned_is_not_touched_again() {
    let mut s = setup(None, false);
    let order = paid_order(&s, "known@example.com", "2125550302");
    let c = s.sim.add_customer("known@example.com");
    s.sim.add_free_numbers(["2125550302"], Some(1));
    s.sim.set_owner("2125550302", Some(c));
    s.sim.reset_call_counts();
    let after = set(&mut s, order, "active");
    assert_eq!(
        after
            .attr(&format!("#order-{order}"), "data-status")
            .as_deref(),
        Some("active"),
        "{}",
        after.text("#flash")
    );
    assert_eq!(s.sim.call_count("DID/add_number"), 0);
    assert_eq!(s.sim.account("2125550302").unwrap().i_customer, c);
}

#[test]
fn every_failing_call_leaves_the_status_and_a_retry_finishes_without_duplicates() {
    // Learn which calls a full activation makes, from a clean run.
    let mut probe = setup(Some(1), true);
    let o = paid_order(&probe, "probe@example.com", "2125550310");
    probe.sim.reset_call_counts();
    set(&mut probe, o, "active");
    let calls: Vec<String> = probe
        .sim
        .call_counts()
        .into_iter()
        .filter(|(m, n)| *n > 0 && !m.starts_with("Session/"))
        .map(|(m, _)| m)
        .collect();
    assert!(calls.len() >= 5, "{calls:?}");

    let kinds = [
        Failure::fault("Server.Internal", "upstream is unhappy"),
        Failure::Http(503),
        Failure::Timeout(Duration::from_millis(1500)),
        Failure::Malformed,
    ];
    let mut n = 0;
    for method in &calls {
        for kind in &kinds {
            n += 1;
            let mut s = setup(Some(1), true);
            let number = format!("21255504{n:02}");
            let email = format!("f{n}@example.com");
            let order = paid_order(&s, &email, &number);
            s.sim.fail(method, kind.clone(), Times::Once);
            let page = set(&mut s, order, "active");
            assert_eq!(status(&s, order), "pending", "{method} {kind:?}");
            assert!(
                page.text("#flash").contains("failed"),
                "{method} {kind:?}: {}",
                page.text("#flash")
            );
            assert!(
                page.has(&format!("#error-{order}")),
                "the error shows on the page"
            );
            assert_eq!(
                mails(&s, "activation_failed"),
                vec!["admin@example.com"],
                "{method} {kind:?}"
            );
            assert!(mails(&s, "number_activated").is_empty());
            // The retry finishes the job: one account, one assignment.
            let page = set(&mut s, order, "active");
            assert_eq!(
                status(&s, order),
                "active",
                "{method} {kind:?} retry: {}",
                page.text("#flash")
            );
            let c = s.sim.customer_by_name(&email).unwrap().i_customer;
            assert_eq!(s.sim.did(&number).unwrap().i_customer, Some(c));
            assert!(
                s.sim.call_count("Account/add_account") <= 2,
                "{method} {kind:?}"
            );
            assert_eq!(s.sim.account(&number).unwrap().i_customer, c);
            assert_eq!(mails(&s, "number_activated").len(), 2);
        }
    }
}

#[test]
fn no_pricing_batch_fails_without_a_default_and_uses_it_with_one() {
    let mut without = setup(None, true);
    let o = paid_order(&without, "nobatch@example.com", "2125550320");
    without.sim.add_free_numbers(["2125550320"], None);
    let page = set(&mut without, o, "active");
    assert!(
        page.text("#flash").contains("number has no pricing batch"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(status(&without, o), "pending");

    let mut with = setup(Some(1), true);
    let o = paid_order(&with, "batch@example.com", "2125550321");
    with.sim.add_free_numbers(["2125550321"], None);
    set(&mut with, o, "active");
    assert_eq!(status(&with, o), "active");
    assert_eq!(with.sim.did("2125550321").unwrap().i_do_batch, Some(1));
}

#[test]
fn a_number_owned_by_another_customer_is_refused() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "mine@example.com", "2125550322");
    let other = s.sim.add_customer("someone-else");
    s.sim.add_free_numbers(["2125550322"], Some(1));
    s.sim.set_owner("2125550322", Some(other));
    let page = set(&mut s, o, "active");
    assert!(
        page.text("#flash").contains("another Telinta customer"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(status(&s, o), "pending");
    assert_eq!(s.sim.did("2125550322").unwrap().i_customer, Some(other));
}

#[test]
fn an_unlinked_customer_is_found_by_email_or_refused_when_creating_is_off() {
    let mut s = setup(Some(1), false);
    let o = paid_order(&s, "lookup@example.com", "2125550323");
    let existing = s.sim.add_customer("lookup@example.com");
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
    assert_eq!(
        s.p.count("SELECT telinta_customer FROM users WHERE email = 'lookup@example.com'"),
        existing
    );

    let o2 = paid_order(&s, "stranger@example.com", "2125550324");
    let page = set(&mut s, o2, "active");
    assert!(
        page.text("#flash").contains("no Telinta customer"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(status(&s, o2), "pending");
    // The admin links one by hand; then it works.
    let c = s.sim.add_customer("Stranger Ltd");
    let uid =
        s.p.count("SELECT id FROM users WHERE email = 'stranger@example.com'");
    s.admin.get(&format!("/admin/customers/{uid}"));
    let r = s.admin.post(
        &format!("/admin/customers/{uid}"),
        &[("telinta_customer", &c.to_string())],
    );
    assert_eq!(r.status, 303);
    let bad = s.admin.post(
        &format!("/admin/customers/{uid}"),
        &[("telinta_customer", "abc")],
    );
    assert_eq!(bad.status, 400);
    set(&mut s, o2, "active");
    assert_eq!(status(&s, o2), "active");
    assert_eq!(s.sim.did("2125550324").unwrap().i_customer, Some(c));
}

#[test]
fn an_expired_session_mid_flow_logs_in_again_and_continues() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "session@example.com", "2125550325");
    s.sim.expire_sessions();
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
}

#[test]
fn other_statuses_change_only_the_portal_and_tell_both() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "local@example.com", "2125550326");
    s.sim.reset_call_counts();
    set(&mut s, o, "suspended");
    assert_eq!(status(&s, o), "suspended");
    assert!(
        s.sim.call_counts().values().all(|n| *n == 0),
        "no Telinta call"
    );
    assert_eq!(
        mails(&s, "number_status_changed"),
        vec!["local@example.com", "admin@example.com"]
    );
    set(&mut s, o, "cancelled");
    assert_eq!(status(&s, o), "cancelled");
    assert_eq!(mails(&s, "number_status_changed").len(), 4);
}

#[test]
fn two_admins_at_once_cannot_both_run_the_flow() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "race@example.com", "2125550327");
    // Slow Telinta so the two requests overlap.
    s.sim.fail(
        "DID/get_number_list",
        Failure::Delay(Duration::from_millis(300)),
        Times::Always,
    );
    let mut second = s.p.signed_in("ops2@example.com", Role::Admin);
    second.get("/admin/orders");
    s.admin.get("/admin/orders");
    let path = format!("/admin/orders/{o}/status");
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| s.admin.post(&path, &[("status", "active")]));
        std::thread::sleep(Duration::from_millis(50));
        let b = scope.spawn(|| second.post(&path, &[("status", "active")]));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(a.status, 303);
    assert_eq!(b.status, 303);
    assert_eq!(status(&s, o), "active");
    assert_eq!(
        s.sim.call_count("Account/add_account"),
        1,
        "the flow ran once"
    );
    assert_eq!(mails(&s, "number_activated").len(), 2);
}

#[test]
fn cancelling_asks_first_and_the_list_keeps_its_filter() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "keep@example.com", "8137662255");
    s.admin.get("/admin/orders");
    // The list as the admin filtered it: by a formatted number and a status.
    for typed in ["(813) 766-2255", "766-2255", "+1 813 766 2255"] {
        let encoded = typed
            .replace('+', "%2B")
            .replace(' ', "%20")
            .replace('(', "%28")
            .replace(')', "%29");
        let r = s
            .admin
            .get(&format!("/admin/orders?q={encoded}&status=pending"));
        assert!(r.has(&format!("#order-{o}")), "{typed} finds the order");
    }
    let r = s.admin.post(
        &format!("/admin/orders/{o}/status"),
        &[
            ("status", "cancelled"),
            ("back_status", "pending"),
            ("back_q", "766-2255"),
        ],
    );
    assert_eq!(r.status, 200, "asked, not done");
    assert!(r.has("#confirm-cancel"));
    assert_eq!(status(&s, o), "pending");
    assert_eq!(
        r.attr("#keep-number", "href").as_deref(),
        Some("/admin/orders?status=pending&q=766-2255")
    );
    let r = s.admin.post(
        &format!("/admin/orders/{o}/status"),
        &[
            ("status", "cancelled"),
            ("confirm", "yes"),
            ("back_status", "pending"),
            ("back_q", "766-2255"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/admin/orders?status=pending&q=766-2255");
    assert_eq!(status(&s, o), "cancelled");
    // Other changes need no question and also go back to the same list.
    let r = s.admin.post(
        &format!("/admin/orders/{o}/status"),
        &[
            ("status", "suspended"),
            ("back_status", "cancelled"),
            ("back_page", "2"),
        ],
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.location(), "/admin/orders?status=cancelled&page=2");
    // The status picker and the badge use the same words.
    let list = s.admin.get("/admin/orders");
    let options = list.texts(&format!("#status-{o} option"));
    assert!(options.contains(&"Suspended".to_string()), "{options:?}");
}

#[test]
fn the_audit_log_reads_as_sentences_and_filters_by_who_number_and_kind() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "audited@example.com", "2125550777");
    let other = paid_order(&s, "other@example.com", "3105550888");
    set(&mut s, o, "suspended");
    set(&mut s, other, "suspended");
    let all = s.admin.get("/admin/audit");
    assert!(
        all.texts("#audit td.sentence")
            .iter()
            .any(|t| t.contains("changed the status of (212) 555-0777")),
        "{:?}",
        all.texts("#audit td.sentence")
    );
    let by_number = s.admin.get("/admin/audit?number=%28212%29+555-0777");
    let sentences = by_number.texts("#audit td.sentence");
    assert!(!sentences.is_empty());
    assert!(
        sentences.iter().all(|t| !t.contains("(310)")),
        "{sentences:?}"
    );
    let by_kind = s.admin.get("/admin/audit?kind=number_status");
    let kinds = by_kind.texts("#audit tbody tr td.sentence");
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    let nobody = s.admin.get("/admin/audit?actor=nobody%40example.com");
    assert!(nobody.has("#audit-empty") && !nobody.has("#audit"));
    let mine = s.admin.get("/admin/audit?actor=ops%40example");
    assert!(!mine.texts("#audit td.sentence").is_empty());
    // No debug output: a payment reads as words.
    assert!(
        !all.body.contains("Invoiced {"),
        "debug text in the audit log"
    );
}

#[test]
fn customers_and_visitors_cannot_change_statuses() {
    let s = setup(Some(1), true);
    let o = paid_order(&s, "victim@example.com", "2125550328");
    let mut cust = s.p.signed_in("evil@example.com", Role::Customer);
    cust.get("/my");
    assert_eq!(
        cust.post(
            &format!("/admin/orders/{o}/status"),
            &[("status", "cancelled")]
        )
        .status,
        403
    );
    assert_eq!(cust.get("/admin/orders").status, 403);
    let mut anon = s.p.client();
    anon.get("/login");
    assert_eq!(
        anon.post(
            &format!("/admin/orders/{o}/status"),
            &[("status", "cancelled")]
        )
        .status,
        303
    );
    assert_eq!(status(&s, o), "pending");
}

// ---- issue 14: frozen numbers, read-back, blocked accounts ---------------------------------

fn flash_of(s: &mut Setup, order: i64) -> String {
    set(s, order, "active").text("#flash")
}

#[test]
fn a_new_number_is_added_unfrozen_with_its_pricing_batch() {
    let mut s = setup(Some(1), true);
    // The simulator creates numbers frozen unless add_number says otherwise, as PortaBilling's
    // upload does.
    let o = paid_order(&s, "unfrozen@example.com", "2125550601");
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
    let did = s.sim.did("2125550601").unwrap();
    assert!(!did.frozen, "added unfrozen");
    assert_eq!(did.i_do_batch, Some(1), "batch sent inside add_number");
    assert_eq!(s.sim.call_count("DID/assign_did_to_owner_batch"), 0);
    assert_eq!(s.sim.call_count("DID/update_number"), 0);
}

#[test]
fn a_frozen_number_found_in_the_inventory_is_unfrozen_before_it_is_assigned() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "thaw@example.com", "2125550602");
    s.sim.add_free_numbers(["2125550602"], Some(1));
    s.sim.set_frozen("2125550602", true);
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
    let did = s.sim.did("2125550602").unwrap();
    assert!(!did.frozen);
    assert!(did.i_customer.is_some());
    assert_eq!(s.sim.call_count("DID/update_number"), 1);
}

#[test]
fn a_number_that_stays_frozen_fails_the_step_and_tells_the_admin() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "ice@example.com", "2125550603");
    s.sim.add_free_numbers(["2125550603"], Some(1));
    s.sim.set_frozen("2125550603", true);
    s.sim.ignore_writes("DID/update_number");
    let flash = flash_of(&mut s, o);
    assert!(flash.contains("unfreeze the number"), "{flash}");
    assert!(flash.contains("still frozen"), "{flash}");
    assert_eq!(status(&s, o), "pending");
    assert_eq!(mails(&s, "activation_failed"), vec!["admin@example.com"]);
    assert_eq!(s.sim.call_count("DID/assign_did_to_customer"), 0);
    // Once Telinta applies it, the retry finishes.
    s.sim.honour_writes("DID/update_number");
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
}

#[test]
fn a_pricing_batch_or_assignment_that_does_not_take_fails_its_step() {
    for (method, step) in [
        ("DID/assign_did_to_owner_batch", "attach the pricing batch"),
        ("DID/assign_did_to_customer", "assign the number"),
    ] {
        let mut s = setup(Some(1), true);
        let o = paid_order(&s, "rb@example.com", "2125550604");
        s.sim.add_free_numbers(["2125550604"], None);
        s.sim.ignore_writes(method);
        let flash = flash_of(&mut s, o);
        assert!(flash.contains(step), "{method}: {flash}");
        assert!(flash.contains("reads back wrong"), "{method}: {flash}");
        assert_eq!(status(&s, o), "pending", "{method}");
        assert_eq!(mails(&s, "activation_failed").len(), 1, "{method}");
        assert!(
            s.sim.account("2125550604").is_none(),
            "{method}: no account"
        );
    }
}

#[test]
fn an_account_that_does_not_read_back_fails_the_step() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "ghost@example.com", "2125550605");
    s.sim.ignore_writes("Account/add_account");
    let flash = flash_of(&mut s, o);
    assert!(flash.contains("create the number account"), "{flash}");
    assert!(flash.contains("cannot be read back"), "{flash}");
    assert_eq!(status(&s, o), "pending");
}

#[test]
fn a_blocked_number_account_is_refused_with_what_to_do() {
    let mut s = setup(Some(1), true);
    let o = paid_order(&s, "blocked@example.com", "2125550606");
    let c = s.sim.add_customer("blocked@example.com");
    s.sim.add_free_numbers(["2125550606"], Some(1));
    s.sim.set_owner("2125550606", Some(c));
    let client = TelintaClient::new(s.sim.client_config()).unwrap();
    didport::integrations::telinta::Telinta::add_account(
        &client,
        &didport::integrations::telinta::NewAccount::new("2125550606", c, 1, "svc-pass-606"),
    )
    .unwrap();
    assert!(s.sim.set_blocked("2125550606", true));
    let flash = flash_of(&mut s, o);
    assert!(flash.contains("blocked"), "{flash}");
    assert_eq!(status(&s, o), "pending");
    assert_eq!(mails(&s, "activation_failed"), vec!["admin@example.com"]);
    s.sim.set_blocked("2125550606", false);
    set(&mut s, o, "active");
    assert_eq!(status(&s, o), "active");
}
