//! Checkout: holding the number, the order, its emails, races, tampering and expiry.

use crate::support::{PASSWORD, TestPortal};
use didport::domain::{PhoneNumber, Role};
use didport::store::numbers::{NewNumber, insert_new};
use didport::store::plans::{NewPlan, insert};

const NUMBER: &str = "2125550123";

/// A portal with one number for sale and two plans (the second retired); returns plan ids.
fn shop() -> (TestPortal, i64, i64) {
    let p = TestPortal::start();
    let (a, b) = p
        .store()
        .write(|tx| {
            insert_new(
                tx,
                &[NewNumber {
                    number: &PhoneNumber::parse(NUMBER).unwrap(),
                    state: "NY",
                    rate_center: "",
                    kind: None,
                    source: "import",
                }],
                0,
            )?;
            let a = insert(
                tx,
                &NewPlan {
                    name: "Starter",
                    description: "",
                    setup_cents: 500,
                    monthly_cents: 300,
                    number_type: didport::domain::plan::PlanNumberType::Any,
                },
                0,
            )?;
            let b = insert(
                tx,
                &NewPlan {
                    name: "Old",
                    description: "",
                    setup_cents: 1,
                    monthly_cents: 1,
                    number_type: didport::domain::plan::PlanNumberType::Any,
                },
                0,
            )?;
            tx.execute("UPDATE plans SET active = 0 WHERE id = ?1", [b])?;
            Ok::<_, didport::store::Error>((a, b))
        })
        .unwrap();
    (p, a, b)
}

fn availability(p: &TestPortal) -> String {
    let conn = crate::support::rusqlite_conn(&p.db);
    conn.query_row(
        &format!("SELECT availability FROM numbers WHERE number = {NUMBER}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn a_visitor_signs_in_and_comes_back_to_the_same_choice() {
    let (p, plan, _) = shop();
    p.add_user("buyer@example.com", Role::Customer);
    let mut c = p.client();
    let page = c.get(&format!("/numbers/{NUMBER}"));
    assert!(page.has("#buy-form"));
    let plan_s = plan.to_string();
    let r = c.post("/checkout", &[("number", NUMBER), ("plan", &plan_s)]);
    assert_eq!(r.status, 303);
    assert!(r.location().starts_with("/login?next="), "{}", r.location());
    assert_eq!(
        availability(&p),
        "available",
        "nothing is held for an anonymous visitor"
    );
    let login = c.follow(r);
    assert!(login.has("#login-form"));
    let back = c.post(
        "/login",
        &[
            ("email", "buyer@example.com"),
            ("password", PASSWORD),
            ("next", &format!("/numbers/{NUMBER}?plan={plan}")),
        ],
    );
    let page = c.follow(back);
    assert_eq!(
        page.attr(&format!("#plan-{plan}"), "checked").as_deref(),
        Some("")
    );
}

#[test]
fn checkout_holds_the_number_and_creates_the_order_with_server_prices() {
    let (p, plan, _) = shop();
    let mut c = p.signed_in("buyer@example.com", Role::Customer);
    c.get(&format!("/numbers/{NUMBER}"));
    let plan_s = plan.to_string();
    let r = c.post(
        "/checkout",
        &[("number", NUMBER), ("plan", &plan_s), ("amount", "1")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(r.location().starts_with("/orders/"));
    let order = c.follow(r);
    assert_eq!(
        order.attr("#order", "data-status").as_deref(),
        Some("awaiting_payment")
    );
    assert_eq!(order.text("#order-total"), "$8.00");
    assert!(order.has("#awaiting-payment"));
    assert_eq!(availability(&p), "held");
    assert_eq!(
        p.count("SELECT amount_cents FROM orders"),
        800,
        "the amount comes from the plan, not the form"
    );
    // Held numbers leave the shop.
    let mut other = p.client();
    assert_eq!(other.get(&format!("/numbers/{NUMBER}")).status, 404);
    assert!(!other.get("/api/v1/numbers").body.contains(NUMBER));
    // Customer and admin are told, with the number in the subject.
    let conn = crate::support::rusqlite_conn(&p.db);
    let mut stmt = conn
        .prepare(
            "SELECT to_addr, subject FROM outbox WHERE event = 'order_placed' ORDER BY to_addr",
        )
        .unwrap();
    let mails: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(mails.len(), 2);
    assert_eq!(mails[0].0, "admin@example.com");
    assert_eq!(mails[1].0, "buyer@example.com");
    assert!(mails.iter().all(|(_, s)| s.contains("(212) 555-0123")));
    // The order list shows it.
    let list = c.get("/orders");
    assert_eq!(list.texts("#orders tbody tr").len(), 1);
}

#[test]
fn tampered_forms_are_refused_and_hold_nothing() {
    let (p, plan, retired) = shop();
    let mut c = p.signed_in("tamper@example.com", Role::Customer);
    c.get(&format!("/numbers/{NUMBER}"));
    let (plan_s, retired_s) = (plan.to_string(), retired.to_string());
    for (number, plan, status) in [
        (NUMBER, "99999", 400),
        (NUMBER, retired_s.as_str(), 400),
        (NUMBER, "1 OR 1=1", 400),
        ("3105550000", plan_s.as_str(), 400),
        ("not-a-number", plan_s.as_str(), 400),
    ] {
        let r = c.post("/checkout", &[("number", number), ("plan", plan)]);
        assert_eq!(r.status, status, "{number} {plan}");
        assert!(r.has("#checkout-error"));
    }
    assert_eq!(p.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(availability(&p), "available");
}

#[test]
fn two_buyers_racing_for_one_number_one_wins() {
    let (p, plan, _) = shop();
    let plan_s = plan.to_string();
    let mut buyers: Vec<_> = (0..6)
        .map(|i| {
            let mut c = p.signed_in(&format!("racer{i}@example.com"), Role::Customer);
            c.get(&format!("/numbers/{NUMBER}"));
            c
        })
        .collect();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = buyers
            .iter_mut()
            .map(|c| {
                let plan_s = plan_s.clone();
                scope.spawn(move || {
                    c.post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
                        .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(p.count("SELECT count(*) FROM orders"), 1);
}

#[test]
fn an_expired_hold_returns_the_number_to_the_shelf() {
    let (p, plan, _) = shop();
    let plan_s = plan.to_string();
    let mut first = p.signed_in("slow@example.com", Role::Customer);
    first.get(&format!("/numbers/{NUMBER}"));
    let r = first.post("/checkout", &[("number", NUMBER), ("plan", &plan_s)]);
    let order_path = r.location().to_string();
    assert_eq!(availability(&p), "held");
    // Before the hold runs out nobody else can take it…
    let mut second = p.signed_in("quick@example.com", Role::Customer);
    second.get("/my");
    assert_eq!(
        second
            .post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
            .status,
        409
    );
    // …after it, housekeeping releases it and the order says so.
    p.clock.advance(15 * 60 + 1);
    let released = didport::workflow::checkout::expire_holds(p.services()).unwrap();
    assert_eq!(released, 1);
    assert_eq!(availability(&p), "available");
    let page = first.get(&order_path);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("expired")
    );
    assert_eq!(
        second
            .post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
            .status,
        303
    );
    assert_eq!(availability(&p), "held");
}

#[test]
fn a_stale_hold_does_not_block_the_next_buyer_before_housekeeping_runs() {
    let (p, plan, _) = shop();
    let plan_s = plan.to_string();
    let mut first = p.signed_in("a@example.com", Role::Customer);
    first.get("/my");
    assert_eq!(
        first
            .post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
            .status,
        303
    );
    p.clock.advance(15 * 60 + 1);
    let mut second = p.signed_in("b@example.com", Role::Customer);
    second.get("/my");
    assert_eq!(
        second
            .post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
            .status,
        303
    );
    assert_eq!(
        p.count("SELECT count(*) FROM orders WHERE payment_status = 'expired'"),
        1
    );
    assert_eq!(
        p.count("SELECT count(*) FROM orders WHERE payment_status = 'awaiting_payment'"),
        1
    );
}

#[test]
fn orders_are_private_to_their_owner_and_the_admin() {
    let (p, plan, _) = shop();
    let plan_s = plan.to_string();
    let mut owner = p.signed_in("owner@example.com", Role::Customer);
    owner.get("/my");
    let path = owner
        .post("/checkout", &[("number", NUMBER), ("plan", &plan_s)])
        .location()
        .to_string();
    assert_eq!(owner.get(&path).status, 200);
    let mut other = p.signed_in("other@example.com", Role::Customer);
    assert_eq!(other.get(&path).status, 404);
    assert!(other.get("/orders").has("#no-orders"));
    let mut admin = p.signed_in("root@example.com", Role::Admin);
    assert_eq!(admin.get(&path).status, 200);
    let mut anon = p.client();
    assert_eq!(anon.get(&path).status, 303);
    assert_eq!(anon.get("/orders/abc").status, 303);
    assert_eq!(owner.get("/orders/99999").status, 404);
}
