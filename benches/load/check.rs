//! After the run, with the server stopped: what the database, PayPal and Telinta must agree on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use didport::sim::paypal::PayPalSim;
use didport::sim::paypal::SimCaptureStatus;
use didport::sim::telinta::TelintaSim;
use rusqlite::Connection;

use crate::users::Outcome;

/// One named check and what it found (empty = passed).
pub struct Check {
    pub name: &'static str,
    pub problems: Vec<String>,
}

fn rows(db: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = db.prepare(sql).expect("check query");
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Null => "NULL".into(),
                    other => format!("{other:?}"),
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(|v| v.join(" "))
    })
    .expect("check query")
    .collect::<rusqlite::Result<Vec<_>>>()
    .expect("check rows")
}

fn one(db: &Connection, sql: &str) -> i64 {
    db.query_row(sql, [], |r| r.get(0)).expect("count query")
}

pub struct Facts {
    pub paid_orders: i64,
    pub invoices: i64,
    pub active_numbers: i64,
    pub users: i64,
    pub outbox: i64,
    pub webhooks_handled: i64,
}

pub fn run(
    db_path: &Path,
    seen: &Outcome,
    paypal: &PayPalSim,
    telinta: &TelintaSim,
) -> (Vec<Check>, Facts) {
    let db = Connection::open(db_path).expect("open the database after the run");
    let mut checks = Vec::new();
    let mut check = |name: &'static str, problems: Vec<String>| {
        checks.push(Check { name, problems });
    };

    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    check(
        "PRAGMA integrity_check is ok",
        if integrity == "ok" {
            vec![]
        } else {
            vec![integrity]
        },
    );

    check(
        "no number sold twice",
        [
            rows(
                &db,
                "SELECT 'number ' || number || ' owned ' || count(*) || ' times' FROM purchased_numbers
                 WHERE status <> 'cancelled' GROUP BY number HAVING count(*) > 1",
            ),
            rows(
                &db,
                "SELECT 'number ' || number || ' paid in ' || count(*) || ' orders' FROM orders
                 WHERE payment_status = 'paid' GROUP BY number HAVING count(*) > 1",
            ),
        ]
        .concat(),
    );

    check(
        "every paid order has exactly one invoice and one purchased number; no other order has either",
        [
            rows(
                &db,
                "SELECT 'paid order ' || o.id || ': ' || count(DISTINCT i.id) || ' invoices, '
                        || count(DISTINCT p.order_id) || ' purchased numbers'
                 FROM orders o LEFT JOIN invoices i ON i.order_id = o.id
                 LEFT JOIN purchased_numbers p ON p.order_id = o.id
                 WHERE o.payment_status = 'paid' GROUP BY o.id
                 HAVING count(DISTINCT i.id) <> 1 OR count(DISTINCT p.order_id) <> 1",
            ),
            rows(
                &db,
                "SELECT 'invoice ' || i.number || ' for ' || o.payment_status || ' order ' || o.id
                 FROM invoices i JOIN orders o ON o.id = i.order_id WHERE o.payment_status <> 'paid'",
            ),
            rows(
                &db,
                "SELECT 'invoice ' || i.number || ' has ' || count(l.position) || ' lines'
                 FROM invoices i LEFT JOIN invoice_lines l ON l.invoice_id = i.id
                 GROUP BY i.id HAVING count(l.position) <> 2",
            ),
        ]
        .concat(),
    );

    check(
        "invoice numbers are gap-free per year",
        [
            rows(
                &db,
                "SELECT year || ': ' || count(*) || ' invoices numbered ' || min(seq) || '..' || max(seq)
                 FROM invoices GROUP BY year HAVING min(seq) <> 1 OR max(seq) <> count(*)
                    OR count(DISTINCT seq) <> count(*)",
            ),
            rows(
                &db,
                "SELECT 'invoice ' || number || ' has sequence ' || seq FROM invoices
                 WHERE number <> printf('INV-%d-%06d', year, seq)",
            ),
        ]
        .concat(),
    );

    check(
        "inventory agrees with orders (sold = paid, held = awaiting payment)",
        [
            rows(
                &db,
                "SELECT 'paid order ' || o.id || ': number ' || o.number || ' is ' || n.availability
                 FROM orders o JOIN numbers n ON n.number = o.number
                 WHERE o.payment_status = 'paid' AND n.availability <> 'sold'",
            ),
            rows(
                &db,
                "SELECT 'number ' || n.number || ' is sold without a paid order' FROM numbers n
                 WHERE n.availability = 'sold' AND NOT EXISTS
                   (SELECT 1 FROM orders o WHERE o.number = n.number AND o.payment_status = 'paid')",
            ),
            rows(
                &db,
                "SELECT 'number ' || n.number || ' is held by ' || count(o.id) || ' open orders'
                 FROM numbers n LEFT JOIN orders o
                   ON o.number = n.number AND o.payment_status = 'awaiting_payment'
                 WHERE n.availability = 'held' GROUP BY n.number HAVING count(o.id) <> 1",
            ),
            rows(
                &db,
                "SELECT 'open order ' || o.id || ': number ' || o.number || ' is ' || n.availability
                 FROM orders o JOIN numbers n ON n.number = o.number
                 WHERE o.payment_status = 'awaiting_payment' AND n.availability <> 'held'",
            ),
        ]
        .concat(),
    );

    // No lost orders: what the buyers saw paid, what PayPal captured and what the database
    // recorded are the same set.
    let db_paid: BTreeMap<i64, String> = rows(
        &db,
        "SELECT id, printf('%010d', number) FROM orders WHERE payment_status = 'paid'",
    )
    .into_iter()
    .filter_map(|l| {
        let (id, n) = l.split_once(' ')?;
        Some((id.parse().ok()?, n.to_string()))
    })
    .collect();
    let mut lost = Vec::new();
    for (id, n) in &seen.paid {
        match db_paid.get(id) {
            Some(m) if m == n => {}
            Some(m) => lost.push(format!("order {id}: buyer paid for {n}, database has {m}")),
            None => lost.push(format!(
                "order {id} ({n}): buyer saw it paid, database does not"
            )),
        }
    }
    let captured: BTreeSet<i64> = paypal
        .captures()
        .into_iter()
        .filter(|c| c.status == SimCaptureStatus::Completed)
        .filter_map(|c| c.custom_id.as_deref()?.parse().ok())
        .collect();
    for id in &captured {
        if !db_paid.contains_key(id) {
            lost.push(format!(
                "order {id}: PayPal captured the money, the database has it unpaid"
            ));
        }
    }
    for id in db_paid.keys() {
        if !captured.contains(id) {
            lost.push(format!(
                "order {id}: paid in the database, no capture at PayPal"
            ));
        }
    }
    let seen_ids: BTreeSet<i64> = seen.paid.iter().map(|(id, _)| *id).collect();
    for id in db_paid.keys() {
        if !seen_ids.contains(id) {
            lost.push(format!("order {id}: paid, but no buyer was told so"));
        }
    }
    check(
        "no lost orders (buyers, PayPal captures and the database agree)",
        lost,
    );

    // Settings: what each customer last saved is what the portal and Telinta hold.
    let mut settings = Vec::new();
    for (n, fw) in &seen.forwarding {
        let stored: Option<String> = db
            .query_row(
                "SELECT forwarding FROM purchased_numbers WHERE number = ?1 AND status = 'active'",
                [n.parse::<i64>().unwrap_or(0)],
                |r| r.get(0),
            )
            .ok()
            .flatten();
        if stored.as_deref() != Some(fw.as_str()) {
            settings.push(format!(
                "{n}: customer saved forwarding {fw}, portal has {stored:?}"
            ));
        }
        let upstream = telinta
            .follow_me(n)
            .and_then(|f| f.numbers.first().map(|x| x.redirect_number.clone()));
        if !upstream
            .as_deref()
            .is_some_and(|u| u.ends_with(fw.as_str()))
        {
            settings.push(format!(
                "{n}: customer saved forwarding {fw}, Telinta has {upstream:?}"
            ));
        }
    }
    for n in &seen.pins {
        let set: i64 = db
            .query_row(
                "SELECT pin_set FROM purchased_numbers WHERE number = ?1 AND status = 'active'",
                [n.parse::<i64>().unwrap_or(0)],
                |r| r.get(0),
            )
            .unwrap_or(0);
        if set != 1 {
            settings.push(format!("{n}: customer set a PIN, portal says none"));
        }
    }
    check("saved settings are in the portal and at Telinta", settings);

    let active = rows(
        &db,
        "SELECT printf('%010d', number) FROM purchased_numbers WHERE status = 'active'",
    );
    check(
        "every active number has its account at Telinta",
        active
            .iter()
            .filter(|n| telinta.account(n).is_none())
            .map(|n| format!("{n} is active without a Telinta account"))
            .collect(),
    );

    check(
        "no activation left claimed",
        rows(
            &db,
            "SELECT 'order ' || order_id || ' still claimed' FROM purchased_numbers
             WHERE activating_since IS NOT NULL",
        ),
    );

    let facts = Facts {
        paid_orders: db_paid.len() as i64,
        invoices: one(&db, "SELECT count(*) FROM invoices"),
        active_numbers: active.len() as i64,
        users: one(&db, "SELECT count(*) FROM users"),
        outbox: one(&db, "SELECT count(*) FROM outbox"),
        webhooks_handled: one(&db, "SELECT count(*) FROM webhook_events"),
    };
    (checks, facts)
}
