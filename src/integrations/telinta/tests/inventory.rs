//! DID inventory, customers, accounts, follow-me and voicemail PIN through the client.

use std::collections::HashSet;

use super::{client, sim};
use crate::integrations::telinta::{
    AccountUpdate, ErrorKind, FollowMeNumberUpdate, ForwardMode, NewAccount, NewCustomer,
    NewFollowMeNumber, Telinta,
};

#[test]
fn paging_through_thousands_of_free_numbers_has_no_gaps_or_repeats() {
    let sim = sim();
    let seeded = sim.seed_free_numbers(3000, Some(1));
    assert_eq!(seeded.len(), 3000);
    let c = client(&sim);
    let mut got = Vec::new();
    let mut offset = 0u64;
    loop {
        let page = c.list_free_numbers(250, offset).expect("page");
        assert!(page.len() <= 250);
        if page.is_empty() {
            break;
        }
        offset += page.len() as u64;
        got.extend(page);
    }
    let numbers: Vec<&str> = got.iter().map(|d| d.number.as_str()).collect();
    let unique: HashSet<&str> = numbers.iter().copied().collect();
    assert_eq!(numbers.len(), 3000);
    assert_eq!(unique.len(), 3000, "no repeats");
    assert_eq!(
        unique,
        seeded.iter().map(String::as_str).collect::<HashSet<_>>(),
        "no gaps"
    );
    assert!(
        got.iter()
            .all(|d| d.number.len() == 10 && d.has_pricing_batch())
    );
    let all = c.list_all_free_numbers(700).expect("all pages");
    assert_eq!(all.len(), 3000);
    assert_eq!(sim.call_count("DID/get_number_list"), 13 + 6);
}

#[test]
fn paging_that_does_not_advance_is_reported() {
    let sim = sim();
    let c = client(&sim);
    let stuck = r#"{"number_list":[{"i_did_number":5,"number":"12125550005"}]}"#;
    sim.fail_always(
        "DID/get_number_list",
        crate::sim::telinta::Failure::Reply {
            status: 200,
            body: stuck.into(),
        },
    );
    let err = c.list_all_free_numbers(1).expect_err("stuck server");
    assert_eq!(
        err.kind(),
        &ErrorKind::Malformed("paging does not advance".into())
    );
    assert_eq!(sim.call_count("DID/get_number_list"), 2);
}

#[test]
fn one_hundred_thousand_numbers_page_correctly_at_the_end() {
    let sim = sim();
    let seeded = sim.seed_free_numbers(100_000, None);
    assert_eq!(sim.did_count(), 100_000);
    let c = client(&sim);
    let page = c.list_free_numbers(100, 99_950).expect("deep page");
    assert_eq!(page.len(), 50);
    assert_eq!(page[0].number, seeded[99_950]);
    assert_eq!(page[49].number, seeded[99_999]);
    assert!(
        c.list_free_numbers(100, 100_000)
            .expect("past the end")
            .is_empty()
    );
}

#[test]
fn assigned_and_used_numbers_are_not_free() {
    let sim = sim();
    let seeded = sim.seed_free_numbers(20, Some(1));
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    let d0 = c.find_number(&seeded[0]).expect("lookup").expect("present");
    c.assign_number_to_customer(d0.i_did_number, acme)
        .expect("assign");
    c.add_account(&NewAccount::new(seeded[1].clone(), acme, 1, "svc-pass-1"))
        .expect("account");
    assert!(sim.set_owner(&seeded[2], Some(acme)));
    assert!(sim.set_frozen(&seeded[3], true));
    let free = c.list_all_free_numbers(6).expect("free list");
    let free_numbers: HashSet<&str> = free.iter().map(|d| d.number.as_str()).collect();
    assert_eq!(free.len(), 17);
    for taken in &seeded[..3] {
        assert!(
            !free_numbers.contains(taken.as_str()),
            "{taken} listed as free"
        );
    }
    let frozen = free
        .iter()
        .find(|d| d.number == seeded[3])
        .expect("frozen still listed");
    assert!(frozen.frozen, "but flagged frozen");
    assert!(sim.did(&seeded[1]).expect("did").is_used);
    let used = c.find_number(&seeded[1]).expect("lookup").expect("present");
    assert!(used.is_used && used.i_customer.is_none());
}

#[test]
fn add_number_pricing_batch_and_assignment() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let other = sim.add_customer("other");
    let c = client(&sim);
    assert_eq!(c.find_number("3055550001").expect("lookup"), None);
    let id = c
        .add_number("3055550001", 9, None, Some("didport"))
        .expect("added");
    let d = c
        .find_number("3055550001")
        .expect("lookup")
        .expect("now present");
    assert_eq!((d.i_did_number, d.number.as_str()), (id, "3055550001"));
    assert!(!d.has_pricing_batch());
    assert_eq!(sim.did("3055550001").expect("sim").number, "13055550001");
    assert_eq!(sim.did("3055550001").expect("sim").i_dv_batch, Some(9));

    let err = c
        .assign_number_to_customer(id, acme)
        .expect_err("no pricing batch");
    assert_eq!(err.fault_code(), Some("Server.DID.no_pricing_batch"));

    let batches = c.list_pricing_batches().expect("batches");
    let us = batches
        .iter()
        .find(|b| b.name == "US-local")
        .expect("default batch");
    c.attach_pricing_batch(id, us.i_do_batch).expect("attach");
    let d = c
        .find_number("3055550001")
        .expect("lookup")
        .expect("present");
    assert!(d.has_pricing_batch());
    assert_eq!(d.owner_batch_name.as_deref(), Some("US-local"));
    assert_eq!(
        c.attach_pricing_batch(id, 4242)
            .expect_err("unknown batch")
            .fault_code(),
        Some("Server.DID.batch_not_found")
    );

    c.assign_number_to_customer(id, acme).expect("assign");
    assert_eq!(sim.did("3055550001").expect("sim").i_customer, Some(acme));
    c.assign_number_to_customer(id, acme)
        .expect("again: already theirs");
    let err = c.assign_number_to_customer(id, other).expect_err("taken");
    assert_eq!(err.fault_code(), Some("Server.DID.number_not_available"));
    let err = c
        .add_number("3055550001", 9, None, None)
        .expect_err("duplicate");
    assert_eq!(err.fault_code(), Some("Server.DID.duplicate_number"));
}

#[test]
fn customers_get_find_and_add() {
    let sim = sim();
    let c = client(&sim);
    assert_eq!(
        c.find_customer_by_name("bob@example.com").expect("lookup"),
        None
    );
    assert_eq!(c.get_customer(999_999).expect("lookup"), None);
    let id = c
        .add_customer(&NewCustomer::new("bob@example.com"))
        .expect("added");
    let found = c
        .find_customer_by_name("bob@example.com")
        .expect("lookup")
        .expect("found");
    assert_eq!(
        (
            found.i_customer,
            found.iso_4217.as_str(),
            found.bill_status.as_str()
        ),
        (id, "USD", "O")
    );
    assert_eq!(
        c.get_customer(id).expect("lookup").expect("found").name,
        "bob@example.com"
    );
    assert_eq!(
        sim.customer(id).expect("sim").email.as_deref(),
        Some("bob@example.com")
    );
    let err = c
        .add_customer(&NewCustomer::new("bob@example.com"))
        .expect_err("dup");
    assert_eq!(err.fault_code(), Some("Server.Customer.duplicate_name"));
}

#[test]
fn accounts_add_get_duplicate_and_update() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    assert!(
        c.get_account("2125550199")
            .expect("not found is not an error")
            .is_none()
    );
    let mut new = NewAccount::new("2125550199", acme, 1, "first-pass");
    new.activation_date = Some("2026-01-02".into());
    let i = c.add_account(&new).expect("added");
    let a = c
        .get_account("2125550199")
        .expect("lookup")
        .expect("exists");
    assert_eq!(
        (a.i_account, a.number.as_str(), a.i_customer),
        (i, "2125550199", Some(acme))
    );
    assert_eq!(
        (a.forward_mode.clone(), a.billing_model),
        (ForwardMode::Off, Some(1))
    );
    let stored = sim.account("2125550199").expect("sim");
    assert_eq!(
        (stored.id.as_str(), stored.activation_date.as_str()),
        ("12125550199", "2026-01-02")
    );

    let err = c.add_account(&new).expect_err("duplicate");
    assert!(err.is_duplicate_id(), "{err:?}");
    let mut stray = NewAccount::new("2125550198", 424_242, 1, "pw-pw-pw");
    assert_eq!(
        c.add_account(&stray).expect_err("no customer").fault_code(),
        Some("Server.Account.customer_not_found")
    );
    stray.i_customer = acme;
    stray.i_product = 77;
    assert_eq!(
        c.add_account(&stray).expect_err("no product").fault_code(),
        Some("Server.Account.product_not_found")
    );

    c.set_service_password(
        &c.get_account("2125550199").expect("read").expect("exists"),
        "4821",
    )
    .expect("service password");
    assert_eq!(
        sim.account("2125550199").expect("sim").h323_password,
        "4821"
    );
    let mut u = AccountUpdate::new(i);
    u.blocked = Some(true);
    c.update_account(&u).expect("block");
    assert!(
        c.get_account("2125550199")
            .expect("lookup")
            .expect("exists")
            .blocked
    );
    let err = c
        .update_account(&AccountUpdate::new(999_999))
        .expect_err("unknown");
    assert_eq!(err.fault_code(), Some("Server.Account.not_found"));
}

#[test]
fn forwarding_adds_then_updates_one_number() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    let i = c
        .add_account(&NewAccount::new("2125550150", acme, 1, "pw-pw-pw"))
        .expect("account");
    assert_eq!(c.get_follow_me(i).expect("empty"), Default::default());

    c.set_forwarding(i, "3105550000").expect("first forwarding");
    assert_eq!(sim.call_count("Account/add_followme_number"), 1);
    assert_eq!(sim.call_count("Account/update_followme_number"), 0);
    assert_eq!(sim.call_count("Account/update_account_followme"), 1);
    let fm = sim.follow_me("2125550150").expect("record");
    assert_eq!(fm.numbers.len(), 1);
    assert_eq!(fm.numbers[0].redirect_number, "13105550000");
    assert_eq!(
        sim.account("2125550150").expect("sim").follow_me_enabled,
        "C"
    );
    let read = c.get_follow_me(i).expect("read");
    assert!(read.settings.is_some());
    assert_eq!(read.numbers[0].redirect_number, "3105550000");
    assert_eq!(
        c.get_account("2125550150")
            .expect("a")
            .expect("a")
            .forward_mode,
        ForwardMode::Simple
    );

    c.set_forwarding(i, "3105550001")
        .expect("second forwarding");
    assert_eq!(sim.call_count("Account/add_followme_number"), 1);
    assert_eq!(sim.call_count("Account/update_followme_number"), 1);
    assert_eq!(sim.call_count("Account/update_account_followme"), 1);
    let fm = sim.follow_me("2125550150").expect("record");
    assert_eq!(fm.numbers.len(), 1);
    assert_eq!(fm.numbers[0].redirect_number, "13105550001");
    assert!(fm.numbers[0].active);
}

#[test]
fn follow_me_number_methods_directly() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    let i = c
        .add_account(&NewAccount::new("2125550151", acme, 1, "pw-pw-pw"))
        .expect("account");
    c.set_follow_me_settings(i, 25).expect("settings");
    let n = c
        .add_follow_me_number(&NewFollowMeNumber::new(i, "6465550000"))
        .expect("added");
    let mut u = FollowMeNumberUpdate::new(n);
    u.active = Some(false);
    u.timeout = Some(30);
    c.update_follow_me_number(&u).expect("updated");
    let fm = c.get_follow_me(i).expect("read");
    assert_eq!(fm.settings.as_ref().and_then(|s| s.timeout), Some(25));
    assert_eq!(fm.numbers.len(), 1);
    assert_eq!(
        (fm.numbers[0].active, fm.numbers[0].timeout),
        (false, Some(30))
    );
    assert_eq!(fm.numbers[0].redirect_number, "6465550000");
    let err = c
        .update_follow_me_number(&FollowMeNumberUpdate::new(987_654))
        .expect_err("unknown");
    assert_eq!(
        err.fault_code(),
        Some("Server.Account.followme_number_not_found")
    );
    c.set_forward_mode(i, ForwardMode::FollowMe)
        .expect("mode Y");
    assert_eq!(
        sim.account("2125550151").expect("sim").follow_me_enabled,
        "Y"
    );
}

#[test]
fn voicemail_pin_goes_to_the_um_server() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    let mut new = NewAccount::new("2125550160", acme, 1, "svc-pass-160");
    new.web_password = Some("web-pass-160".into());
    c.add_account(&new).expect("account");
    let a = c.get_account("2125550160").expect("a").expect("a");
    let web = a.web_password.clone().expect("web password readable");
    assert!(!format!("{a:?}").contains("web-pass-160"));

    c.set_voicemail_pin("2125550160", &web, "1234")
        .expect("pin set");
    assert_eq!(sim.voicemail_pin("2125550160").as_deref(), Some("1234"));
    assert_eq!(sim.call_count("Voicemail/set_vm_settings"), 1);
    c.set_voicemail_pin("2125550160", "svc-pass-160", "5678")
        .expect("service password too");
    assert_eq!(sim.voicemail_pin("2125550160").as_deref(), Some("5678"));

    let err = c
        .set_voicemail_pin("2125550160", &web, "12a4")
        .expect_err("bad pin");
    assert_eq!(err.fault_code(), Some("Server.Voicemail.invalid_password"));
    assert!(!err.to_string().contains("12a4"));
    let err = c
        .set_voicemail_pin("2125550160", "wrong-pass", "4321")
        .expect_err("bad login");
    assert!(err.is_auth_failed(), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("wrong-pass"));
    let err = c
        .set_voicemail_pin("2125550161", &web, "4321")
        .expect_err("no such account");
    assert!(matches!(err.kind(), ErrorKind::AuthFailed { .. }));
    assert_eq!(sim.voicemail_pin("2125550160").as_deref(), Some("5678"));
    assert_eq!(sim.call_count("Voicemail/set_vm_settings"), 5);
    assert_eq!(sim.call_count("Account/update_account"), 0);
}

#[test]
fn add_number_sends_frozen_n_and_the_batch_and_the_sim_freezes_without_it() {
    let sim = sim();
    let c = client(&sim);
    let i = c.add_number("3055550101", 9, Some(1), None).expect("added");
    let d = c.find_number("3055550101").expect("read").expect("found");
    assert_eq!(d.i_did_number, i);
    assert!(!d.frozen, "frozen: N was sent");
    assert_eq!(d.i_do_batch, Some(1));
    // A client that leaves `frozen` out gets a frozen number, as from PortaBilling's upload.
    let raw = sim.add_free_numbers(["3055550102"], None);
    assert_eq!(raw, 1);
    assert!(
        !sim.did("3055550102").expect("seeded").frozen,
        "seeding is not add_number"
    );
    sim.set_frozen_on_add(true);
    sim.set_frozen("3055550102", true);
    let d = c.find_number("3055550102").expect("read").expect("found");
    assert!(d.frozen);
    c.unfreeze_number(d.i_did_number).expect("unfrozen");
    assert!(!sim.did("3055550102").expect("there").frozen);
}

#[test]
fn service_features_round_trip_and_answering_mode_is_checked() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let c = client(&sim);
    let i = c
        .add_account(&NewAccount::new("2125550170", acme, 1, "pw-pw-pw"))
        .expect("account");
    c.set_forward_mode(i, ForwardMode::Simple).expect("mode C");
    let f = c.get_service_features(i).expect("features");
    let mode = f
        .iter()
        .find(|f| f.name == "forward_mode")
        .expect("reported");
    assert_eq!(mode.value(), Some("C"));
    assert!(sim.set_answering_mode("2125550170", "voicemail"));
    let err = c
        .set_forward_mode(i, ForwardMode::Simple)
        .expect_err("answering mode does not forward");
    assert!(matches!(err.kind(), ErrorKind::NotApplied(_)), "{err}");
    // Turning forwarding off does not depend on the answering mode.
    c.clear_forwarding(i).expect("off");
    assert_eq!(sim.account("2125550170").expect("a").follow_me_enabled, "N");
    sim.ignore_writes("Account/update_service_features");
    let err = c
        .set_forward_mode(i, ForwardMode::FollowMe)
        .expect_err("ignored");
    assert!(
        err.to_string().contains("forward_mode is N instead of Y"),
        "{err}"
    );
}

#[test]
fn a_limited_login_gets_a_permission_fault_that_is_recognised() {
    let sim = sim();
    sim.deny("DID/add_number");
    let c = client(&sim);
    let err = c
        .add_number("3055550103", 9, None, None)
        .expect_err("denied");
    assert!(err.is_permission_fault(), "{err:?}");
    assert!(!err.is_auth_failed());
    assert!(sim.did("3055550103").is_none());
    sim.allow("DID/add_number");
    c.add_number("3055550103", 9, None, None)
        .expect("allowed again");
}

#[test]
fn the_voicemail_login_always_sends_the_um_domain() {
    let sim = sim();
    let acme = sim.add_customer("acme");
    let mut cfg = sim.client_config();
    c_add(&sim, acme);
    cfg.voicemail_domain = None;
    let c = crate::integrations::telinta::TelintaClient::new(cfg.clone()).expect("client");
    let err = c
        .set_voicemail_pin("2125550180", "svc-pass-180", "1234")
        .expect_err("no domain");
    assert!(matches!(err.kind(), ErrorKind::NotConfigured(_)), "{err}");
    assert_eq!(sim.call_count("Voicemail/set_vm_settings"), 0);
    cfg.voicemail_domain = Some("other.domain".into());
    let c = crate::integrations::telinta::TelintaClient::new(cfg).expect("client");
    let err = c
        .set_voicemail_pin("2125550180", "svc-pass-180", "1234")
        .expect_err("wrong domain");
    assert!(err.is_auth_failed(), "{err}");
    client(&sim)
        .set_voicemail_pin("2125550180", "svc-pass-180", "1234")
        .expect("right domain");
    assert_eq!(sim.voicemail_pin("2125550180").as_deref(), Some("1234"));
}

fn c_add(sim: &crate::sim::telinta::TelintaSim, acme: i64) {
    client(sim)
        .add_account(&NewAccount::new("2125550180", acme, 1, "svc-pass-180"))
        .expect("account");
}
