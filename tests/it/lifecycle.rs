//! One lifecycle for orders and numbers: every rule of the transition table over the wire,
//! allowed and refused, with the database checked afterwards.

use crate::activation::{mails, paid_order, setup};
use crate::paypal::{availability, checkout, shop};
use crate::support::TestPortal;
use didport::domain::Role;

fn one(p: &TestPortal, sql: &str) -> String {
    let conn = crate::support::rusqlite_conn(&p.db);
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn payment(p: &TestPortal, order: i64) -> String {
    one(
        p,
        &format!("SELECT payment_status FROM orders WHERE id = {order}"),
    )
}

fn number_status(p: &TestPortal, order: i64) -> String {
    one(
        p,
        &format!("SELECT status FROM purchased_numbers WHERE order_id = {order}"),
    )
}

/// The case that sold a number twice: refunded, then "active" chosen anyway.
#[test]
fn a_refunded_order_can_never_be_activated_and_its_number_sells_cleanly_again() {
    let mut s = setup(Some(1), true);
    let first = paid_order(&s, "first@example.com", "2125550701");
    // The refund, confirmed.
    s.admin.get(&format!("/orders/{first}"));
    let r = s
        .admin
        .post(&format!("/orders/{first}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(payment(&s.p, first), "refunded");
    assert_eq!(number_status(&s.p, first), "cancelled");
    assert_eq!(availability(&s.p, "2125550701"), "available");

    // View Orders offers no change for it, and a forged one is refused with the reason.
    let list = s.admin.get("/admin/orders");
    assert!(!list.has(&format!("#status-{first}")), "no select offered");
    assert!(list.has(&format!("#status-final-{first}")));
    s.sim.reset_call_counts();
    let r = s.admin.post(
        &format!("/admin/orders/{first}/status"),
        &[("status", "active")],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.text("#refused-reason").contains("refunded"));
    assert!(
        s.sim.call_counts().values().all(|n| *n == 0),
        "no Telinta call at all: {:?}",
        s.sim.call_counts()
    );
    assert_eq!(number_status(&s.p, first), "cancelled");
    assert!(mails(&s, "number_activated").is_empty());
    for other in ["pending", "suspended"] {
        let r = s.admin.post(
            &format!("/admin/orders/{first}/status"),
            &[("status", other)],
        );
        assert_eq!(r.status, 409, "{other}");
        assert_eq!(number_status(&s.p, first), "cancelled");
    }

    // A second buyer gets the number with nothing to refund, and it activates for them.
    let second = {
        let user = s.p.add_user("second@example.com", Role::Customer);
        let services = s.p.services();
        let plan = s.p.stock(&[]);
        let id = didport::workflow::checkout::start(
            services,
            &user,
            "2125550701",
            &plan.to_string(),
            "test",
        )
        .unwrap();
        let order = services
            .store
            .read(|tx| didport::store::orders::get(tx, id))
            .unwrap()
            .unwrap();
        didport::workflow::payments::record_paid(services, &order, &user, None, None).unwrap();
        id
    };
    assert_eq!(payment(&s.p, second), "paid");
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM orders WHERE id = {second} AND failure IS NULL"
        )),
        1,
        "no 'refund it' note on the new buyer's order"
    );
    let r = crate::activation::set(&mut s, second, "active");
    assert!(r.text("#flash").contains("active"), "{}", r.text("#flash"));
    assert_eq!(number_status(&s.p, second), "active");
    assert_eq!(number_status(&s.p, first), "cancelled");
}

#[test]
fn the_status_table_allows_every_other_change_of_a_paid_order() {
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "moves@example.com", "2125550702");
    for (to, now) in [
        ("suspended", "suspended"),
        ("cancelled", "cancelled"),
        ("pending", "pending"),
        ("active", "active"),
        ("suspended", "suspended"),
        ("active", "active"),
        ("cancelled", "cancelled"),
        ("active", "active"),
    ] {
        crate::activation::set(&mut s, order, to);
        assert_eq!(number_status(&s.p, order), now, "→ {to}");
    }
    // The same status again is no change, and no email.
    let before = mails(&s, "number_status_changed").len();
    crate::activation::set(&mut s, order, "active");
    assert_eq!(mails(&s, "number_status_changed").len(), before);
    // A status that does not exist is refused without a change.
    s.admin.get("/admin/orders");
    let r = s.admin.post(
        &format!("/admin/orders/{order}/status"),
        &[("status", "gone")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(number_status(&s.p, order), "active");
}

#[test]
fn an_unpaid_order_can_be_paid_later_from_its_page() {
    let s = shop(&["2125550703"]);
    let mut c = s.p.signed_in("later@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550703");
    let id = s.p.count("SELECT id FROM orders");
    // The buyer left PayPal's page without paying and comes back to the order.
    let page = c.get(&format!("/orders/{id}"));
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("awaiting_payment")
    );
    assert!(page.text("#time-left").contains("minutes"));
    assert_eq!(page.attr("#pay", "href"), Some(format!("/orders/{id}/pay")));
    assert!(page.has("#cancel-order"));
    // The number page says it is theirs, not someone else's.
    let number = c.get("/numbers/2125550703");
    assert!(number.has("#your-order"), "{}", number.body);
    // The same PayPal order while PayPal still takes it.
    let r = c.get(&format!("/orders/{id}/pay"));
    assert_eq!(r.status, 303);
    assert_eq!(crate::paypal::paypal_id(r.location()), pp);
    assert_eq!(s.sim.orders().len(), 1);
    let back = s.sim.approve(&pp).unwrap().unwrap();
    let paid = c.get_follow(&back);
    assert_eq!(paid.attr("#order", "data-status").as_deref(), Some("paid"));
    assert!(paid.has("#next-steps"));
    assert!(!paid.has("#pay"));
    // Paid now: the link refuses with the reason, and nothing changes.
    let r = c.get(&format!("/orders/{id}/pay"));
    assert_eq!(r.status, 409);
    assert_eq!(s.sim.captures().len(), 1);
}

#[test]
fn pay_after_approving_captures_and_a_gone_paypal_order_is_replaced() {
    let s = shop(&["2125550704", "2125550705"]);
    let mut c = s.p.signed_in("approved@example.com", Role::Customer);
    // Approved at PayPal, but the return never reached the shop: the link captures it.
    let pp = checkout(&s, &mut c, "2125550704");
    let id = s.p.count("SELECT max(id) FROM orders");
    s.sim.approve(&pp).unwrap();
    let page = c.get_follow(&format!("/orders/{id}/pay"));
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    assert_eq!(s.sim.captures().len(), 1);

    // PayPal forgot the order (it expired there): a new one for the same hold.
    let pp2 = checkout(&s, &mut c, "2125550705");
    let id2 = s.p.count("SELECT max(id) FROM orders");
    s.sim.expire_order(&pp2).unwrap();
    let r = c.get(&format!("/orders/{id2}/pay"));
    assert_eq!(r.status, 303, "{}", r.body);
    let pp3 = crate::paypal::paypal_id(r.location());
    assert_ne!(pp3, pp2);
    assert_eq!(
        one(
            &s.p,
            &format!("SELECT paypal_order_id FROM orders WHERE id = {id2}")
        ),
        pp3
    );
    assert_eq!(availability(&s.p, "2125550705"), "held");
    let back = s.sim.approve(&pp3).unwrap().unwrap();
    let paid = c.get_follow(&back);
    assert_eq!(paid.attr("#order", "data-status").as_deref(), Some("paid"));
}

#[test]
fn giving_up_an_order_releases_the_number_and_says_so_once() {
    let s = shop(&["2125550706"]);
    let mut c = s.p.signed_in("quitter@example.com", Role::Customer);
    checkout(&s, &mut c, "2125550706");
    let id = s.p.count("SELECT id FROM orders");
    // Another customer cannot cancel it.
    let mut other = s.p.signed_in("other@example.com", Role::Customer);
    other.get("/my");
    assert_eq!(other.post(&format!("/orders/{id}/cancel"), &[]).status, 404);
    assert_eq!(payment(&s.p, id), "awaiting_payment");

    c.get(&format!("/orders/{id}"));
    let r = c.post(&format!("/orders/{id}/cancel"), &[]);
    assert_eq!(r.status, 303);
    let page = c.follow(r);
    assert_eq!(
        page.attr("#order", "data-status").as_deref(),
        Some("cancelled")
    );
    assert!(page.has("#cancelled"));
    assert_eq!(
        page.attr("[data-payment]", "data-payment").as_deref(),
        Some("cancelled"),
        "a cancelled order is not shown as failed"
    );
    assert!(!page.has("#pay"));
    assert_eq!(availability(&s.p, "2125550706"), "available");
    assert_eq!(
        s.p.count(
            "SELECT count(*) FROM outbox WHERE event = 'order_cancelled' AND to_addr = 'quitter@example.com'"
        ),
        1
    );
    // Again: refused with the reason, nothing more sent.
    let r = c.post(&format!("/orders/{id}/cancel"), &[]);
    assert_eq!(r.status, 409);
    assert!(r.text("#refused-reason").contains("cancelled"));
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'order_cancelled'"),
        1
    );
    // A late return from PayPal does not capture a cancelled order.
    let pp = s.sim.orders()[0].id.clone();
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    assert!(s.sim.captures().is_empty());
    assert_eq!(payment(&s.p, id), "cancelled");
}

#[test]
fn the_paypal_cancel_return_changes_only_an_order_awaiting_payment() {
    let s = shop(&["2125550707"]);
    let mut c = s.p.signed_in("returner@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550707");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let id = s.p.count("SELECT id FROM orders");
    assert_eq!(payment(&s.p, id), "paid");
    // The cancel link of a paid order: nothing changes, and the page tells the truth.
    let r = c.get(&format!("/checkout/paypal/cancel?token={pp}"));
    assert_eq!(r.status, 303);
    let page = c.follow(r);
    assert_eq!(page.attr("#order", "data-status").as_deref(), Some("paid"));
    assert!(
        page.text("#flash").contains("paid"),
        "{}",
        page.text("#flash")
    );
    assert!(!page.text("#flash").contains("released"));
    assert_eq!(payment(&s.p, id), "paid");
    assert_eq!(availability(&s.p, "2125550707"), "sold");
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'order_cancelled'"),
        0
    );
}

#[test]
fn a_refund_is_explained_first_then_credited_with_a_gap_free_number() {
    let s = shop(&["2125550708", "2125550709"]);
    let mut c = s.p.signed_in("refunded@example.com", Role::Customer);
    let mut ids = Vec::new();
    for n in ["2125550708", "2125550709"] {
        let pp = checkout(&s, &mut c, n);
        let back = s.sim.approve(&pp).unwrap().unwrap();
        c.get_follow(&back);
        ids.push(s.p.count("SELECT max(id) FROM orders"));
    }
    let mut admin = s.p.signed_in("boss@example.com", Role::Admin);
    admin.get(&format!("/orders/{}", ids[0]));
    let confirm = admin.post(&format!("/orders/{}/refund", ids[0]), &[]);
    assert_eq!(confirm.status, 200);
    assert_eq!(confirm.text("#refund-amount"), "$8.00");
    assert!(confirm.text("#refund-effects").contains("back on sale"));
    assert!(
        !confirm.has("#refund-telinta"),
        "not active: no Telinta step"
    );
    assert!(confirm.has("#refund-confirm-button"));
    assert!(s.sim.refunds().is_empty(), "nothing happened yet");
    assert_eq!(payment(&s.p, ids[0]), "paid");
    // A confirm value other than "yes" is still only the explanation.
    let r = admin.post(&format!("/orders/{}/refund", ids[0]), &[("confirm", "no")]);
    assert_eq!(r.status, 200);
    assert!(s.sim.refunds().is_empty());

    for (i, id) in ids.iter().enumerate() {
        let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
        assert_eq!(r.status, 303, "{}", r.body);
        let cn = format!("CN-2026-{:06}", i + 1);
        assert!(admin.follow(r).text("#flash").contains(&cn));
        let order = c.get(&format!("/orders/{id}"));
        assert_eq!(order.text("#credit-note-number"), cn);
        let invoice = c.get(&order.attr("#invoice-link", "href").unwrap());
        assert_eq!(
            invoice.attr("#credit-note", "data-number").as_deref(),
            Some(cn.as_str())
        );
        assert_eq!(invoice.text("#invoice-state"), "Refunded in full.");
        assert_eq!(invoice.text("#invoice-balance"), "$0.00");
    }
    assert_eq!(s.sim.refunds().len(), 2);
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'order_refunded'"),
        4,
        "customer and admin, for each refund"
    );
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'order_refunded' AND to_addr = 'refunded@example.com'"),
        2
    );
    // Invoice numbers and credit-note numbers are separate sequences, both without gaps.
    assert_eq!(s.p.count("SELECT max(seq) FROM invoices"), 2);
    assert_eq!(s.p.count("SELECT max(seq) FROM credit_notes"), 2);
}

#[test]
fn refunding_an_active_number_tells_the_admin_what_telinta_still_has() {
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "active@example.com", "2125550710");
    crate::activation::set(&mut s, order, "active");
    let confirm = s.admin.post(&format!("/orders/{order}/refund"), &[]);
    assert_eq!(confirm.status, 200);
    assert!(confirm.text("#refund-telinta").contains("12125550710"));
    let r = s
        .admin
        .post(&format!("/orders/{order}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303);
    // The admin's copy (to the configured admin address) says what to do at Telinta.
    let admin_copies = s.p.count(
        "SELECT count(*) FROM outbox WHERE event = 'order_refunded' AND to_addr <> 'active@example.com'",
    );
    assert_eq!(admin_copies, 1);
    let body = one(
        &s.p,
        "SELECT body FROM outbox WHERE event = 'order_refunded' AND to_addr <> 'active@example.com'",
    );
    assert!(body.contains("Telinta still has it assigned"), "{body}");
    assert_eq!(number_status(&s.p, order), "cancelled");
}

#[test]
fn plans_are_offered_and_sold_only_for_their_number_type() {
    let s = shop(&["2125550711", "8005550712"]);
    let store = s.p.store();
    let (local, tollfree) = store
        .write(|tx| {
            use didport::domain::plan::PlanNumberType;
            use didport::store::plans::{NewPlan, insert};
            let mk = |name, t| {
                insert(
                    tx,
                    &NewPlan {
                        name,
                        description: "",
                        setup_cents: 100,
                        monthly_cents: 100,
                        number_type: t,
                    },
                    0,
                )
            };
            Ok::<_, didport::store::Error>((
                mk("Local only", PlanNumberType::Local)?,
                mk("Toll-free only", PlanNumberType::TollFree)?,
            ))
        })
        .unwrap();
    let mut c = s.p.signed_in("typed@example.com", Role::Customer);
    let tf = c.get("/numbers/8005550712");
    assert!(tf.has(&format!("#plan-{tollfree}")));
    assert!(
        !tf.has(&format!("#plan-{local}")),
        "a local plan is not offered for an 800 number"
    );
    let loc = c.get("/numbers/2125550711");
    assert!(loc.has(&format!("#plan-{local}")));
    assert!(!loc.has(&format!("#plan-{tollfree}")));
    // A forged form: refused, nothing held, no order, no PayPal order.
    let r = c.post(
        "/checkout",
        &[("number", "8005550712"), ("plan", &local.to_string())],
    );
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.text("#refused-reason").contains("toll-free"));
    assert_eq!(availability(&s.p, "8005550712"), "available");
    assert_eq!(s.p.count("SELECT count(*) FROM orders"), 0);
    assert!(s.sim.orders().is_empty());
    // The fitting plan works.
    let r = c.post(
        "/checkout",
        &[("number", "8005550712"), ("plan", &tollfree.to_string())],
    );
    assert_eq!(r.status, 303);
    assert_eq!(availability(&s.p, "8005550712"), "held");
}

#[test]
fn the_admin_plans_page_sets_the_number_type() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("plans@example.com", Role::Admin);
    admin.get("/admin/plans");
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", "Toll-free plus"),
            ("setup_cents", "1000"),
            ("monthly_cents", "900"),
            ("number_type", "tollfree"),
            ("active", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        p.count(
            "SELECT count(*) FROM plans WHERE name = 'Toll-free plus' AND number_type = 'tollfree'"
        ),
        1
    );
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", "Odd"),
            ("setup_cents", "1"),
            ("monthly_cents", "1"),
            ("number_type", "mobile"),
        ],
    );
    assert_eq!(r.status, 400);
    assert!(r.has("#pnew-number_type-error"));
    assert_eq!(p.count("SELECT count(*) FROM plans WHERE name = 'Odd'"), 0);
}

#[test]
fn the_admin_dashboard_counts_the_work_waiting() {
    let mut s = setup(Some(1), true);
    let a = paid_order(&s, "q1@example.com", "2125550713");
    paid_order(&s, "q2@example.com", "2125550714");
    let dash = s.admin.get("/admin");
    assert_eq!(
        dash.attr("#queue-awaiting-activation", "data-count")
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        dash.attr("#queue-activation-failed", "data-count")
            .as_deref(),
        Some("0")
    );
    // A failed activation moves one from the first count to the second.
    s.sim.fail_once(
        "DID/get_number_list",
        didport::sim::telinta::Failure::fault("Server.Error", "down"),
    );
    s.admin.get("/admin/orders");
    let r = s.admin.post(
        &format!("/admin/orders/{a}/status"),
        &[("status", "active")],
    );
    assert_eq!(r.status, 303);
    let dash = s.admin.get("/admin");
    assert_eq!(
        dash.attr("#queue-awaiting-activation", "data-count")
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        dash.attr("#queue-activation-failed", "data-count")
            .as_deref(),
        Some("1")
    );
    // Each count links to exactly those orders.
    let list = s.admin.get("/admin/orders?status=activation_failed");
    assert_eq!(list.texts("#orders tbody tr").len(), 1);
    assert!(list.has(&format!("#order-{a}")));
}

#[test]
fn the_refund_webhook_after_an_admin_refund_issues_nothing_twice() {
    let s = shop(&["2125550715"]);
    crate::paypal::with_webhooks(&s);
    let mut c = s.p.signed_in("hooked@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550715");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let id = s.p.count("SELECT id FROM orders");
    let mut admin = s.p.signed_in("hookboss@example.com", Role::Admin);
    admin.get(&format!("/orders/{id}"));
    let before = s.sim.deliveries().len();
    let r = admin.post(&format!("/orders/{id}/refund"), &[("confirm", "yes")]);
    assert_eq!(r.status, 303);
    crate::support::wait_until("the refund webhook is answered", || {
        s.sim
            .deliveries()
            .iter()
            .skip(before)
            .any(|d| d.body.contains("PAYMENT.CAPTURE.REFUNDED") && d.status == Some(200))
    });
    assert_eq!(s.p.count("SELECT count(*) FROM credit_notes"), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'order_refunded'"),
        2
    );
    assert_eq!(payment(&s.p, id), "refunded");
}

/// PayPal down when the buyer comes back to pay: the page says so, the hold stays, and the
/// next click goes through; a renewal invoice the same.
#[test]
fn pay_links_keep_the_hold_when_paypal_does_not_answer() {
    let s = shop(&["2125550716"]);
    let mut c = s.p.signed_in("patient@example.com", Role::Customer);
    let pp = checkout(&s, &mut c, "2125550716");
    let id = s.p.count("SELECT id FROM orders");
    s.sim.expire_order(&pp).unwrap();
    s.sim.fail_next(
        "POST",
        "/v2/checkout/orders",
        didport::sim::paypal::PayPalFailure::Status(503),
    );
    c.get(&format!("/orders/{id}"));
    let r = c.get(&format!("/orders/{id}/pay"));
    assert_eq!(r.status, 303);
    let page = c.follow(r);
    assert!(
        page.text("#flash").contains("still held"),
        "{}",
        page.text("#flash")
    );
    assert_eq!(payment(&s.p, id), "awaiting_payment");
    assert_eq!(availability(&s.p, "2125550716"), "held");
    // PayPal back: the same link makes the new PayPal order.
    let r = c.get(&format!("/orders/{id}/pay"));
    assert_eq!(r.status, 303);
    assert_ne!(crate::paypal::paypal_id(r.location()), pp);
}
