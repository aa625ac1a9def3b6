//! Monthly renewals against the Telinta simulator: a number walked through a year day by day,
//! reminders, suspension at Telinta and reactivation, stopping renewal, paying at PayPal, and
//! `didport billing run`.

use crate::activation::{Setup, paid_order, setup};
use crate::support::TestPortal;
use didport::domain::Role;
use didport::domain::billing::{DAY, format_day, parse_day};
use didport::sim::telinta::{Failure, Times};
use didport::workflow::billing;

fn day(s: &str) -> i64 {
    parse_day(s).unwrap()
}

fn mails(p: &TestPortal, event: &str) -> i64 {
    p.count(&format!(
        "SELECT count(*) FROM outbox WHERE event = '{event}'"
    ))
}

fn paid_through(p: &TestPortal, order: i64) -> String {
    format_day(p.count(&format!(
        "SELECT paid_through FROM purchased_numbers WHERE order_id = {order}"
    )))
}

fn status(p: &TestPortal, order: i64) -> String {
    let conn = crate::support::rusqlite_conn(&p.db);
    conn.query_row(
        &format!("SELECT status FROM purchased_numbers WHERE order_id = {order}"),
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// A fresh admin sign-in at the clock's time (a year of renewals outlives any session).
fn admin_now(s: &mut Setup) {
    s.admin = s.p.client();
    s.admin.login("ops@example.com", crate::support::PASSWORD);
}

/// Buys `number` on `on` (noon UTC) and activates it.
fn bought_on(s: &mut Setup, email: &str, number: &str, on: &str) -> i64 {
    s.p.clock.set(day(on) + 12 * 3600);
    admin_now(s);
    let order = paid_order(s, email, number);
    crate::activation::set(s, order, "active");
    assert_eq!(status(&s.p, order), "active");
    order
}

/// Runs the cycle for `d` twice (a second run for the same day must change nothing).
fn run_twice(s: &Setup, d: i64) -> billing::BillingReport {
    s.p.clock.set(d + 9 * 3600);
    let first = billing::run(s.p.services(), d, false).unwrap();
    let again = billing::run(s.p.services(), d, false).unwrap();
    assert_eq!(
        (
            again.invoices,
            again.overdue_notices,
            again.suspended,
            again.cancelled
        ),
        (0, 0, 0, 0),
        "a second run on {} did something: {again:?}",
        format_day(d)
    );
    first
}

fn open_invoice(p: &TestPortal, order: i64) -> Option<i64> {
    let id = p.count(&format!(
        "SELECT coalesce(max(id), 0) FROM invoices WHERE order_id = {order} AND status = 'open'"
    ));
    (id > 0).then_some(id)
}

fn record_payment(s: &mut Setup, invoice: i64) {
    admin_now(s);
    s.admin.get(&format!("/invoices/{invoice}"));
    let r = s
        .admin
        .post(&format!("/invoices/{invoice}/record-payment"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
}

#[test]
fn a_number_bought_on_the_31st_renews_a_year_and_a_leap_february_on_its_own_dates() {
    let mut s = setup(Some(1), true);
    let order = bought_on(&mut s, "year@example.com", "2125550801", "2027-01-31");
    assert_eq!(paid_through(&s.p, order), "2027-02-28");
    let mut seen = vec![paid_through(&s.p, order)];
    let mut d = day("2027-01-31");
    while d <= day("2028-03-31") {
        let r = run_twice(&s, d);
        if r.invoices > 0 {
            // The customer pays the day the invoice arrives.
            let inv = open_invoice(&s.p, order).expect("the new invoice is open");
            record_payment(&mut s, inv);
            seen.push(paid_through(&s.p, order));
        }
        d += DAY;
    }
    assert_eq!(
        seen,
        [
            "2027-02-28",
            "2027-03-31",
            "2027-04-30",
            "2027-05-31",
            "2027-06-30",
            "2027-07-31",
            "2027-08-31",
            "2027-09-30",
            "2027-10-31",
            "2027-11-30",
            "2027-12-31",
            "2028-01-31",
            "2028-02-29",
            "2028-03-31",
            "2028-04-30"
        ]
    );
    let renewals = i64::try_from(seen.len() - 1).unwrap();
    assert_eq!(mails(&s.p, "renewal_due"), renewals, "one reminder a month");
    assert_eq!(
        mails(&s.p, "renewal_paid"),
        renewals * 2,
        "customer and admin"
    );
    assert_eq!(mails(&s.p, "payment_overdue"), 0, "paid before it was due");
    assert_eq!(mails(&s.p, "number_suspended_unpaid"), 0);
    assert_eq!(status(&s.p, order), "active");
    // One invoice per month, numbered without gaps in each year.
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM invoices WHERE order_id = {order}"
        )),
        renewals + 1
    );
    for year in [2027, 2028] {
        let (n, max): (i64, i64) = {
            let conn = crate::support::rusqlite_conn(&s.p.db);
            conn.query_row(
                &format!("SELECT count(*), max(seq) FROM invoices WHERE year = {year}"),
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
        };
        assert_eq!(n, max, "invoices of {year} have no gaps");
    }
    // The renewal is at the price fixed when the number was bought, whatever the plan costs now.
    s.p.store()
        .write(|tx| {
            tx.execute("UPDATE plans SET monthly_cents = 999", [])?;
            Ok::<_, didport::store::Error>(())
        })
        .unwrap();
    run_twice(&s, day("2028-04-23"));
    assert_eq!(
        s.p.count(&format!(
            "SELECT total_cents FROM invoices WHERE order_id = {order} AND status = 'open'"
        )),
        300
    );
}

#[test]
fn an_unpaid_renewal_is_reminded_then_suspended_at_telinta_and_payment_reactivates_it() {
    let mut s = setup(Some(1), true);
    let order = bought_on(&mut s, "late@example.com", "2125550802", "2027-03-10");
    let number = "2125550802";
    let pt = day("2027-04-10");
    assert_eq!(paid_through(&s.p, order), "2027-04-10");
    // Nothing before the notice; the invoice on notice day; overdue on paid_through.
    run_twice(&s, pt - 8 * DAY);
    assert_eq!(mails(&s.p, "renewal_due"), 0);
    run_twice(&s, pt - 7 * DAY);
    assert_eq!(mails(&s.p, "renewal_due"), 1);
    run_twice(&s, pt - DAY);
    assert_eq!(mails(&s.p, "payment_overdue"), 0);
    run_twice(&s, pt);
    assert_eq!(mails(&s.p, "payment_overdue"), 1);
    // Not yet: the grace period.
    run_twice(&s, pt + 6 * DAY);
    assert_eq!(status(&s.p, order), "active");
    assert!(!s.sim.account(number).unwrap().blocked);
    // Suspended: Telinta first.
    let r = run_twice(&s, pt + 7 * DAY);
    assert_eq!(r.suspended, 1);
    assert!(s.sim.account(number).unwrap().blocked, "blocked at Telinta");
    assert_eq!(status(&s.p, order), "suspended");
    assert_eq!(mails(&s.p, "number_suspended_unpaid"), 2);
    // Later runs: nothing more, not even emails.
    run_twice(&s, pt + 20 * DAY);
    assert_eq!(mails(&s.p, "number_suspended_unpaid"), 2);
    assert_eq!(mails(&s.p, "payment_overdue"), 1);
    assert_eq!(mails(&s.p, "renewal_due"), 1);
    // Paying unblocks at Telinta, then the number is active again.
    let inv = open_invoice(&s.p, order).unwrap();
    record_payment(&mut s, inv);
    assert!(
        !s.sim.account(number).unwrap().blocked,
        "unblocked at Telinta"
    );
    assert_eq!(status(&s.p, order), "active");
    assert_eq!(mails(&s.p, "number_reactivated"), 2);
    assert_eq!(mails(&s.p, "renewal_paid"), 2);
    assert_eq!(paid_through(&s.p, order), "2027-05-10");
    // The customer's page shows the next renewal.
    let mut c = s.p.client();
    assert_eq!(
        c.login("late@example.com", crate::support::PASSWORD).status,
        303
    );
    let page = c.get(&format!("/my/numbers/{number}"));
    assert_eq!(page.text("#paid-through"), "2027-05-10");
    assert_eq!(page.text("#renewal-amount"), "$3.00");
}

#[test]
fn a_failing_telinta_leaves_the_portal_unchanged_and_tells_the_admin_once() {
    let kinds = || {
        vec![
            Failure::fault("Server.Error", "temporarily unavailable"),
            Failure::Http(503),
            Failure::Timeout(std::time::Duration::from_millis(1500)),
            Failure::Malformed,
        ]
    };
    let cases: Vec<(&str, Failure)> = ["Account/get_account_info", "Account/update_account"]
        .into_iter()
        .flat_map(|m| kinds().into_iter().map(move |k| (m, k)))
        .collect();
    for (i, (method, failure)) in cases.into_iter().enumerate() {
        let method = &format!("{method} {failure:?}");
        let call = method.split(' ').next().unwrap_or_default().to_string();
        let mut s = setup(Some(1), true);
        let order = bought_on(&mut s, "stubborn@example.com", "2125550803", "2027-05-01");
        let pt = day("2027-06-01");
        run_twice(&s, pt - 7 * DAY);
        s.sim.fail(&call, failure, Times::Always);
        let r = billing::run(s.p.services(), pt + 7 * DAY, false).unwrap();
        assert_eq!((r.suspended, r.suspension_failures), (0, 1), "{method}");
        billing::run(s.p.services(), pt + 8 * DAY, false).unwrap();
        assert_eq!(status(&s.p, order), "active", "{method}: no portal change");
        assert_eq!(
            mails(&s.p, "suspension_failed"),
            1,
            "{method}: the admin, once"
        );
        assert_eq!(mails(&s.p, "number_suspended_unpaid"), 0, "{method}");
        assert!(
            s.p.services().config.admin_email.is_some()
                && s.p.count(
                    "SELECT count(*) FROM outbox WHERE event = 'suspension_failed' AND to_addr = 'admin@example.com'"
                ) == 1,
            "{method}: to the admin"
        );
        admin_now(&mut s);
        let billing_page = s.admin.get("/admin/billing");
        assert!(
            billing_page.has(&format!("#suspension-failed-{order}")),
            "{method}"
        );
        // Telinta back: the next run suspends.
        s.sim.clear_failures();
        let r = billing::run(s.p.services(), pt + 9 * DAY, false).unwrap();
        assert_eq!(r.suspended, 1, "{method}");
        assert_eq!(status(&s.p, order), "suspended");
        assert!(s.sim.account("2125550803").unwrap().blocked, "{method}");
        if i > 0 {
            continue;
        }

        // Unblocking fails on payment: the payment is kept, the number stays suspended.
        s.sim.fail(
            "Account/update_account",
            Failure::fault("Server.Error", "down"),
            Times::Always,
        );
        let inv = open_invoice(&s.p, order).unwrap();
        record_payment(&mut s, inv);
        assert_eq!(
            paid_through(&s.p, order),
            "2027-07-01",
            "the payment is kept"
        );
        assert_eq!(status(&s.p, order), "suspended");
        assert!(
            s.p.count(
                "SELECT count(*) FROM outbox WHERE event = 'activation_failed' AND subject LIKE '%reactivate%'"
            ) == 1
        );
        // The next run tries again once Telinta works.
        s.sim.clear_failures();
        let r = billing::run(s.p.services(), pt + 10 * DAY, false).unwrap();
        assert_eq!(r.reactivated, 1);
        assert_eq!(status(&s.p, order), "active");
        assert!(!s.sim.account("2125550803").unwrap().blocked);
    }
}

#[test]
fn stopping_renewal_keeps_the_number_until_paid_through_then_cancels_it() {
    let mut s = setup(Some(1), true);
    let order = bought_on(&mut s, "leaver@example.com", "2125550804", "2027-08-15");
    let number = "2125550804";
    let mut c = s.p.client();
    c.login("leaver@example.com", crate::support::PASSWORD);
    let page = c.get(&format!("/my/numbers/{number}"));
    assert!(page.has("#stop-renewing"));
    // Asked first, nothing changes.
    let r = c.post(&format!("/my/numbers/{number}/cancel"), &[]);
    assert_eq!(r.status, 200);
    assert!(r.has("#stop-confirm-button"));
    assert_eq!(mails(&s.p, "cancellation_scheduled"), 0);
    let r = c.post(
        &format!("/my/numbers/{number}/cancel"),
        &[("confirm", "yes")],
    );
    assert_eq!(r.status, 303);
    assert_eq!(mails(&s.p, "cancellation_scheduled"), 2);
    let page = c.get(&format!("/my/numbers/{number}"));
    assert!(page.has("#resume-renewal"));
    // Keep my number, then stop again: one more email for the second stop.
    c.post(&format!("/my/numbers/{number}/resume"), &[]);
    assert_eq!(
        s.p.count(&format!(
            "SELECT cancel_at_period_end FROM purchased_numbers WHERE order_id = {order}"
        )),
        0
    );
    c.post(
        &format!("/my/numbers/{number}/cancel"),
        &[("confirm", "yes")],
    );
    let pt = day("2027-09-15");
    for d in [pt - 7 * DAY, pt - DAY] {
        let r = run_twice(&s, d);
        assert_eq!(r.invoices, 0, "no renewal for a number that stops");
    }
    assert_eq!(status(&s.p, order), "active", "usable until paid_through");
    let r = run_twice(&s, pt);
    assert_eq!(r.cancelled, 1);
    assert_eq!(status(&s.p, order), "cancelled");
    assert_eq!(mails(&s.p, "number_cancelled"), 2);
    for d in [pt + DAY, pt + 40 * DAY] {
        run_twice(&s, d);
    }
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM invoices WHERE order_id = {order} AND kind = 'renewal'"
        )),
        0
    );
    assert_eq!(mails(&s.p, "payment_overdue"), 0);
    // Another customer cannot touch it.
    let mut other = s.p.signed_in("nosy@example.com", Role::Customer);
    other.get("/my");
    assert_eq!(
        other
            .post(&format!("/my/numbers/{number}/resume"), &[])
            .status,
        404
    );
}

#[test]
fn a_renewal_is_paid_at_paypal_from_the_invoice_page() {
    let s = crate::paypal::shop(&["2125550805"]);
    s.p.clock.set(day("2027-10-05") + 12 * 3600);
    let mut c = s.p.signed_in("payrenew@example.com", Role::Customer);
    let pp = crate::paypal::checkout(&s, &mut c, "2125550805");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let order = s.p.count("SELECT id FROM orders");
    let pt = day("2027-11-05");
    s.p.clock.set(pt - 7 * DAY + 3600);
    billing::run(s.p.services(), pt - 7 * DAY, false).unwrap();
    let inv = open_invoice(&s.p, order).unwrap();
    let mut c = s.p.client();
    c.login("payrenew@example.com", crate::support::PASSWORD);
    let page = c.get(&format!("/invoices/{inv}"));
    assert!(page.has("#pay-invoice"), "{}", page.body);
    assert_eq!(page.text("#invoice-total"), "$3.00");
    let r = c.post(&format!("/invoices/{inv}/pay"), &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    let token = crate::paypal::paypal_id(r.location());
    assert_eq!(
        s.sim.order(&token).unwrap().amount.cents,
        300,
        "PayPal is asked for the invoice's amount"
    );
    let back = s.sim.approve(&token).unwrap().unwrap();
    let done = c.get_follow(&back);
    assert!(
        done.text("#flash").contains("renewal is paid"),
        "{}",
        done.body
    );
    assert_eq!(paid_through(&s.p, order), "2027-12-05");
    assert_eq!(mails(&s.p, "renewal_paid"), 2);
    // The invoice list shows both invoices; paying again is refused.
    let list = c.get("/my/invoices");
    assert_eq!(list.texts("#invoices tbody tr").len(), 2);
    let again = c.post(&format!("/invoices/{inv}/pay"), &[]);
    assert_eq!(again.status, 409);
    assert_eq!(s.sim.captures().len(), 2);
}

#[test]
fn the_admin_billing_page_lists_renewals_and_revenue() {
    let mut s = setup(Some(1), true);
    let order = bought_on(&mut s, "chart@example.com", "2125550806", "2027-02-01");
    run_twice(&s, day("2027-02-22"));
    admin_now(&mut s);
    let page = s.admin.get("/admin/billing");
    assert!(
        page.has(&format!("#billing-due #billing-{order}")),
        "{}",
        page.body
    );
    assert!(page.has("#revenue-chart rect"));
    assert_eq!(page.texts("#revenue-table tbody tr").len(), 1);
    run_twice(&s, day("2027-03-05"));
    admin_now(&mut s);
    let page = s.admin.get("/admin/billing");
    assert!(page.has(&format!("#billing-late #billing-{order}")));
    assert!(
        page.text(&format!("#billing-{order}"))
            .contains("4 days overdue")
    );
}

#[test]
fn a_renewal_approved_at_paypal_without_coming_back_is_recorded_by_reconciliation() {
    let s = crate::paypal::shop(&["2125550807"]);
    s.p.clock.set(day("2027-10-07") + 12 * 3600);
    let mut c = s.p.signed_in("gone@example.com", Role::Customer);
    let pp = crate::paypal::checkout(&s, &mut c, "2125550807");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let order = s.p.count("SELECT id FROM orders");
    let pt = day("2027-11-07");
    billing::run(s.p.services(), pt - 7 * DAY, false).unwrap();
    let inv = open_invoice(&s.p, order).unwrap();
    c.get(&format!("/invoices/{inv}"));
    let r = c.post(&format!("/invoices/{inv}/pay"), &[]);
    let token = crate::paypal::paypal_id(r.location());
    // Approved at PayPal; the browser never comes back.
    s.sim.approve(&token).unwrap();
    let report = didport::workflow::reconcile::run(s.p.services(), 0).unwrap();
    assert_eq!(report.paid, 1, "{report:?}");
    assert_eq!(paid_through(&s.p, order), "2027-12-07");
    // Again: nothing more.
    let report = didport::workflow::reconcile::run(s.p.services(), 0).unwrap();
    assert_eq!(report.paid, 0);
    assert_eq!(mails(&s.p, "renewal_paid"), 2);
    assert_eq!(s.sim.captures().len(), 2);
}

#[test]
fn a_renewal_declined_at_paypal_is_paid_after_a_new_approval_with_a_new_request_id() {
    let s = crate::paypal::shop(&["2125550809"]);
    s.p.clock.set(day("2027-10-05") + 12 * 3600);
    let mut c = s.p.signed_in("declrenew@example.com", Role::Customer);
    let pp = crate::paypal::checkout(&s, &mut c, "2125550809");
    let back = s.sim.approve(&pp).unwrap().unwrap();
    c.get_follow(&back);
    let order = s.p.count("SELECT id FROM orders");
    let pt = day("2027-11-05");
    s.p.clock.set(pt - 7 * DAY + 3600);
    billing::run(s.p.services(), pt - 7 * DAY, false).unwrap();
    let inv = open_invoice(&s.p, order).unwrap();
    let mut c = s.p.client();
    c.login("declrenew@example.com", crate::support::PASSWORD);
    c.get(&format!("/invoices/{inv}"));
    let r = c.post(&format!("/invoices/{inv}/pay"), &[]);
    let token = crate::paypal::paypal_id(r.location());
    let back = s.sim.approve(&token).unwrap().unwrap();
    s.sim
        .script_next_capture(didport::sim::paypal::CaptureScript::InstrumentDeclined);
    let r = c.get(&back);
    assert!(r.location().starts_with(s.sim.base_url()), "back to PayPal");
    // PayPal replays a repeated key's decline; the new approval gets a new key and pays.
    let back = s.sim.approve(&token).unwrap().unwrap();
    let done = c.get_follow(&back);
    assert!(
        done.text("#flash").contains("renewal is paid"),
        "{}",
        done.body
    );
    assert_eq!(paid_through(&s.p, order), "2027-12-05");
    let keys: Vec<String> = s
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with(&format!("{token}/capture")))
        .filter_map(|r| r.paypal_request_id)
        .collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert_ne!(keys[0], keys[1]);
}
