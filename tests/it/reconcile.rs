//! Reconciliation in the running portal: the admin's button and the housekeeping pass settle
//! unpaid PayPal orders by reading PayPal, and leave alone what PayPal cannot tell.

use std::sync::Arc;

use crate::support::{Client, TestPortal};
use didport::domain::Role;
use didport::integrations::paypal::PayPalClient;
use didport::sim::paypal::{PayPalFailure, PayPalSim, SimConfig};

struct Shop {
    p: TestPortal,
    sim: PayPalSim,
    plan: String,
    admin: Client,
}

fn shop(numbers: &[&str]) -> Shop {
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let p = TestPortal::start_with(move |_, opts| opts.payments = Some(Arc::new(client)));
    let plan = p.stock(numbers).to_string();
    let admin = p.signed_in("ops@example.com", Role::Admin);
    Shop {
        p,
        sim,
        plan,
        admin,
    }
}

/// Checks out `number` and approves at PayPal without coming back; returns the order id.
fn approved_and_gone(s: &Shop, email: &str, number: &str) -> i64 {
    let mut c = s.p.signed_in(email, Role::Customer);
    c.get(&format!("/numbers/{number}"));
    let r = c.post("/checkout", &[("number", number), ("plan", &s.plan)]);
    assert_eq!(r.status, 303, "{}", r.body);
    let pp = r.location().split("token=").nth(1).unwrap().to_string();
    s.sim.approve(&pp).unwrap();
    s.p.count(&format!("SELECT id FROM orders WHERE number = {number}"))
}

fn reconcile(s: &mut Shop) -> String {
    s.admin.get("/admin");
    let r = s.admin.post("/admin/reconcile", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    s.admin.follow(r).text("#flash")
}

fn payment(s: &Shop, order: i64) -> String {
    crate::support::rusqlite_conn(&s.p.db)
        .query_row(
            &format!("SELECT payment_status FROM orders WHERE id = {order}"),
            [],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn an_approval_the_buyer_never_came_back_from_is_captured_once() {
    let mut s = shop(&["2125550801"]);
    let order = approved_and_gone(&s, "gone@example.com", "2125550801");
    // Within the grace period the buyer may still come back: nothing happens.
    assert_eq!(reconcile(&mut s), "Nothing to reconcile.");
    assert_eq!(s.sim.captures().len(), 0);
    s.p.clock.advance(6 * 60);
    let flash = reconcile(&mut s);
    assert!(flash.contains("1 paid"), "{flash}");
    assert_eq!(payment(&s, order), "paid");
    assert_eq!(s.sim.captures().len(), 1);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 1);
    // Pressing it again changes nothing.
    assert_eq!(reconcile(&mut s), "Nothing to reconcile.");
    assert_eq!(s.sim.captures().len(), 1);
    assert_eq!(
        s.p.count("SELECT count(*) FROM outbox WHERE event = 'payment_received'"),
        2
    );
}

#[test]
fn an_approval_whose_hold_ran_out_is_not_captured_and_the_number_goes_back_on_sale() {
    let mut s = shop(&["2125550802"]);
    let order = approved_and_gone(&s, "late@example.com", "2125550802");
    s.p.clock.advance(16 * 60);
    let flash = reconcile(&mut s);
    assert!(flash.contains("1 released"), "{flash}");
    assert_eq!(payment(&s, order), "expired");
    assert!(s.sim.captures().is_empty(), "nothing was charged");
    assert_eq!(
        s.p.count("SELECT count(*) FROM numbers WHERE availability = 'available'"),
        1
    );
}

#[test]
fn when_paypal_cannot_be_read_the_order_is_left_for_the_next_pass() {
    let mut s = shop(&["2125550803"]);
    let order = approved_and_gone(&s, "wait@example.com", "2125550803");
    s.p.clock.advance(16 * 60);
    s.sim
        .fail_next("GET", "/v2/checkout/orders/", PayPalFailure::Status(503));
    let flash = reconcile(&mut s);
    assert!(flash.contains("1 left for later"), "{flash}");
    assert_eq!(payment(&s, order), "awaiting_payment", "not guessed");
    assert_eq!(
        s.p.count("SELECT count(*) FROM numbers WHERE availability = 'held'"),
        1
    );
    // PayPal answers again: settled.
    let flash = reconcile(&mut s);
    assert!(flash.contains("1 released"), "{flash}");
    assert_eq!(payment(&s, order), "expired");
}

#[test]
fn an_order_paypal_never_saw_approved_ends_with_its_hold() {
    let mut s = shop(&["2125550804"]);
    let mut c = s.p.signed_in("browse@example.com", Role::Customer);
    c.get("/numbers/2125550804");
    c.post("/checkout", &[("number", "2125550804"), ("plan", &s.plan)]);
    let order = s.p.count("SELECT id FROM orders");
    s.p.clock.advance(6 * 60);
    // Still at PayPal's page within the hold: left to the buyer.
    assert_eq!(reconcile(&mut s), "Nothing to reconcile.");
    assert_eq!(payment(&s, order), "awaiting_payment");
    s.p.clock.advance(10 * 60);
    let flash = reconcile(&mut s);
    assert!(flash.contains("1 released"), "{flash}");
    assert_eq!(payment(&s, order), "expired");
}

#[test]
fn customers_cannot_reconcile() {
    let s = shop(&["2125550805"]);
    let mut c = s.p.signed_in("cust@example.com", Role::Customer);
    c.get("/my");
    assert_eq!(c.post("/admin/reconcile", &[]).status, 403);
}

fn reconcile_as(admin: &mut Client) -> String {
    admin.get("/admin");
    let r = admin.post("/admin/reconcile", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    admin.follow(r).text("#flash")
}

#[test]
fn a_stalled_activation_that_fails_again_keeps_its_status_and_tells_the_admin() {
    use crate::activation::{mails, paid_order, setup};
    use didport::sim::telinta::{Failure as TFailure, Times};
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "stalled@example.com", "2125550811");
    // A run that died midway left its claim behind.
    let since = s.p.services().now() - 1000;
    crate::support::rusqlite_conn(&s.p.db)
        .execute(
            "UPDATE purchased_numbers SET activating_since = ?1 WHERE order_id = ?2",
            [since, order],
        )
        .unwrap();
    s.sim.fail(
        "Account/add_account",
        TFailure::fault("Server.Internal", "still down"),
        Times::Always,
    );
    let flash = reconcile_as(&mut s.admin);
    assert!(flash.contains("1 activations resumed"), "{flash}");
    let conn = crate::support::rusqlite_conn(&s.p.db);
    let (status, claim): (String, Option<i64>) = conn
        .query_row(
            "SELECT status, activating_since FROM purchased_numbers WHERE order_id = ?1",
            [order],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(status, "pending", "a failed run changes nothing");
    assert_eq!(claim, None, "the claim is released");
    assert_eq!(mails(&s, "activation_failed"), vec!["admin@example.com"]);
    assert!(mails(&s, "number_activated").is_empty());
    // Once Telinta works, the next pass has nothing left: the admin chooses active again.
    assert_eq!(reconcile_as(&mut s.admin), "Nothing to reconcile.");
}

#[test]
fn an_interrupted_settings_change_waits_while_telinta_cannot_be_read() {
    use crate::activation::{mails, paid_order, set, setup};
    use didport::sim::telinta::{Failure as TFailure, Times};
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "cut@example.com", "2125550812");
    set(&mut s, order, "active");
    let since = s.p.services().now() - 1000;
    crate::support::rusqlite_conn(&s.p.db)
        .execute(
            "INSERT INTO settings_changes (order_id, started_at, pin, forwarding)
             VALUES (?1, ?2, 1, '3105550177')",
            [order, since],
        )
        .unwrap();
    s.sim
        .fail("Account/get_account_info", TFailure::Http(503), Times::Once);
    let flash = reconcile_as(&mut s.admin);
    assert!(flash.contains("1 left for later"), "{flash}");
    assert_eq!(s.p.count("SELECT count(*) FROM settings_changes"), 1);
    assert!(mails(&s, "settings_change_failed").is_empty());
    // Telinta answers: it never took the forwarding, so the portal keeps its old value and
    // the admin hears what happened, including that the PIN must be set again.
    let flash = reconcile_as(&mut s.admin);
    assert!(flash.contains("1 settings changes settled"), "{flash}");
    assert_eq!(s.p.count("SELECT count(*) FROM settings_changes"), 0);
    assert_eq!(
        s.p.count("SELECT count(*) FROM purchased_numbers WHERE forwarding IS NOT NULL"),
        0
    );
    assert_eq!(
        mails(&s, "settings_change_failed"),
        vec!["admin@example.com"]
    );
}

#[test]
fn a_capture_of_the_wrong_amount_found_by_reconciliation_is_flagged_once() {
    use didport::integrations::paypal::Payments as _;
    use didport::sim::paypal::CaptureScript;
    let mut s = shop(&["2125550806"]);
    let order = approved_and_gone(&s, "odd@example.com", "2125550806");
    let pp: String = crate::support::rusqlite_conn(&s.p.db)
        .query_row(
            &format!("SELECT paypal_order_id FROM orders WHERE id = {order}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    // The capture happened at PayPal, for the wrong amount, and the portal never heard.
    s.sim
        .script_capture(&pp, CaptureScript::AmountMismatch)
        .unwrap();
    let direct = PayPalClient::new(s.sim.client_config()).unwrap();
    direct.capture_order(&pp, "elsewhere").unwrap();
    s.p.clock.advance(6 * 60);
    let flash = reconcile(&mut s);
    assert!(flash.contains("different amount"), "{flash}");
    assert_eq!(payment(&s, order), "awaiting_payment", "never marked paid");
    let checks = |s: &Shop| {
        s.p.count("SELECT count(*) FROM outbox WHERE subject LIKE '%CHECK payment%'")
    };
    assert_eq!(checks(&s), 1);
    // The next pass leaves it to the admin and does not write again.
    reconcile(&mut s);
    assert_eq!(checks(&s), 1);
    assert_eq!(s.p.count("SELECT count(*) FROM invoices"), 0);
}

#[test]
fn an_interrupted_forwarding_off_is_settled_from_what_telinta_holds() {
    use crate::activation::{paid_order, set, setup};
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "offcut@example.com", "2125550813");
    set(&mut s, order, "active");
    let conn = crate::support::rusqlite_conn(&s.p.db);
    // The portal shows forwarding on; the customer asked to turn it off, Telinta did it, and
    // the process died before the portal recorded it.
    conn.execute(
        "UPDATE purchased_numbers SET forwarding = '3105550178' WHERE order_id = ?1",
        [order],
    )
    .unwrap();
    let since = s.p.services().now() - 1000;
    conn.execute(
        "INSERT INTO settings_changes (order_id, started_at, pin, forwarding) VALUES (?1, ?2, 0, '')",
        [order, since],
    )
    .unwrap();
    assert_eq!(s.sim.account("2125550813").unwrap().follow_me_enabled, "N");
    let flash = reconcile_as(&mut s.admin);
    assert!(flash.contains("1 settings changes settled"), "{flash}");
    assert_eq!(
        s.p.count("SELECT count(*) FROM purchased_numbers WHERE forwarding IS NOT NULL"),
        0,
        "Telinta has forwarding off, so the portal shows it off"
    );
    let body: String = conn
        .query_row(
            "SELECT body FROM outbox WHERE event = 'settings_change_failed'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(body.contains("forwarding off, as asked"), "{body}");
}
