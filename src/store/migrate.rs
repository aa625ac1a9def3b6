//! Schema creation and upgrades keyed on `PRAGMA user_version`.
//!
//! A fresh database gets exactly `schema.sql`. An older one runs the steps after its version,
//! each in its own transaction. A newer one is refused.

use rusqlite::Connection;

use super::{Error, Result};

pub const SCHEMA_SQL: &str = include_str!("../../schema.sql");

/// Ordered upgrade steps: `STEPS[i]` takes a database from version `i + 1` to `i + 2`.
/// Add a step here and change `schema.sql` to the same end state together.
pub const STEPS: &[&str] = &[
    include_str!("history/v2.sql"),
    include_str!("history/v3.sql"),
    include_str!("history/v4.sql"),
    include_str!("history/v5.sql"),
    include_str!("history/v6.sql"),
    include_str!("history/v7.sql"),
    include_str!("history/v8.sql"),
    include_str!("history/v9.sql"),
    include_str!("history/v10.sql"),
    include_str!("history/v11.sql"),
    include_str!("history/v12.sql"),
];

/// The schema as first released, kept so tests can prove the steps reach `schema.sql`.
pub const V1_SQL: &str = include_str!("history/v1.sql");

/// The version a database has after `schema.sql` or all the steps.
pub const CURRENT: i64 = STEPS.len() as i64 + 1;

pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found = version(conn)?;
    if found > CURRENT {
        return Err(Error::Newer {
            found,
            supported: CURRENT,
        });
    }
    if found == 0 {
        let tables: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )?;
        if tables > 0 {
            return Err(Error::Foreign);
        }
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Another process may have created it between our look and our lock.
        if version(&tx)? == 0 {
            tx.execute_batch(SCHEMA_SQL)?;
            let key = crate::secure::random_token().map_err(Error::Io)?;
            tx.execute(
                "INSERT INTO settings (key, value) VALUES ('signing_key', ?1)",
                [key],
            )?;
            tx.execute_batch(&format!("PRAGMA user_version = {CURRENT}"))?;
        }
        tx.commit()?;
        log::info!("created a new database at schema version {CURRENT}");
        return Ok(());
    }
    // A step may rebuild a table that others reference (SQLite cannot change a CHECK in
    // place). SQLite's documented way is to turn foreign keys off around the rebuild, which
    // only works outside a transaction, and to check every key before committing.
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let upgraded = run_steps(conn, found);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    upgraded
}

fn run_steps(conn: &mut Connection, found: i64) -> Result<()> {
    for (i, step) in STEPS.iter().enumerate().skip((found - 1) as usize) {
        let to = i as i64 + 2;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if version(&tx)? == to - 1 {
            tx.execute_batch(step)?;
            let broken: i64 =
                tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                    r.get(0)
                })?;
            if broken > 0 {
                return Err(Error::Io(format!(
                    "upgrading to schema version {to} would leave {broken} rows pointing at \
                     nothing; the database was not changed"
                )));
            }
            tx.execute_batch(&format!("PRAGMA user_version = {to}"))?;
        }
        tx.commit()?;
        log::info!("upgraded the database to schema version {to}");
    }
    Ok(())
}

/// The schema as SQLite reports it, normalised, for comparing two databases.
pub fn schema_fingerprint(conn: &Connection) -> Result<Vec<(String, String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT type, name, coalesce(sql, '') FROM sqlite_master
         WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )?;
    let rows = stmt.query_map([], |r| {
        let sql: String = r.get(2)?;
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            // A renamed table is recorded with its name quoted; white space is free-form.
            sql.replace('"', "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_database_equals_schema_sql() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let store = crate::store::Store::open(&path, 2).unwrap();
        drop(store);
        let migrated = Connection::open(&path).unwrap();
        assert_eq!(version(&migrated).unwrap(), CURRENT);

        let reference = Connection::open_in_memory().unwrap();
        reference.execute_batch(SCHEMA_SQL).unwrap();
        assert_eq!(
            schema_fingerprint(&migrated).unwrap(),
            schema_fingerprint(&reference).unwrap()
        );
    }

    #[test]
    fn upgrading_a_version_1_database_reaches_schema_sql_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1_SQL).unwrap();
            c.execute_batch(
                "INSERT INTO settings VALUES ('signing_key', 'k');
                 INSERT INTO numbers (number, npa, nxx, state, type, availability, source, created_at, updated_at)
                 VALUES ('2125551234', '212', '555', 'NY', 'local', 'sold', 'demo', 1, 1),
                        ('8005550000', '800', '555', '', 'tollfree', 'available', 'import', 1, 1);
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        drop(crate::store::Store::open(&path, 2).unwrap());
        let upgraded = Connection::open(&path).unwrap();
        assert_eq!(version(&upgraded).unwrap(), CURRENT);
        let reference = Connection::open_in_memory().unwrap();
        reference.execute_batch(SCHEMA_SQL).unwrap();
        assert_eq!(
            schema_fingerprint(&upgraded).unwrap(),
            schema_fingerprint(&reference).unwrap()
        );
        let sold: String = upgraded
            .query_row(
                "SELECT availability FROM numbers WHERE number = 2125551234",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(sold, "sold");
        let found: i64 = upgraded
            .query_row(
                "SELECT count(*) FROM numbers_windows WHERE digits = 555 AND number = 8005550000",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "the digit windows cover the upgraded rows");
    }

    /// Version 6 rebuilds `orders` and `outbox`, which other tables point at: every row and
    /// every reference survives, and the new payment status is accepted.
    #[test]
    fn upgrading_a_version_5_database_keeps_orders_and_their_references() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v5.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1_SQL).unwrap();
            for step in &STEPS[..4] {
                c.execute_batch(step).unwrap();
            }
            c.execute_batch(
                "INSERT INTO settings VALUES ('signing_key', 'k');
                 INSERT INTO users (id, email, role, password_hash, created_at, password_changed_at)
                 VALUES (7, 'a@example.com', 'customer', 'x', 1, 1);
                 INSERT INTO plans (id, name, setup_cents, monthly_cents, created_at, updated_at)
                 VALUES (3, 'Basic', 100, 200, 1, 1);
                 INSERT INTO orders (id, user_id, number, plan_id, plan_name, setup_cents, monthly_cents,
                                     amount_cents, currency, gateway, payment_status, capture_id,
                                     hold_until, created_at, updated_at, paid_at)
                 VALUES (11, 7, 2125551234, 3, 'Basic', 100, 200, 300, 'USD', 'paypal', 'paid', 'CAP1',
                         9, 1, 1, 2);
                 INSERT INTO purchased_numbers (order_id, user_id, number, paid_through, created_at, updated_at)
                 VALUES (11, 7, 2125551234, 99, 2, 2);
                 INSERT INTO invoices (id, order_id, year, seq, number, issued_at, customer_email,
                                       customer_name, total_cents, currency)
                 VALUES (5, 11, 2026, 1, 'INV-2026-000001', 2, 'a@example.com', 'A', 300, 'USD');
                 INSERT INTO outbox (event, to_addr, subject, body, created_at, next_attempt_at)
                 VALUES ('payment_received', 'a@example.com', 's', 'b', 2, 2);
                 PRAGMA user_version = 5;",
            )
            .unwrap();
        }
        drop(crate::store::Store::open(&path, 2).unwrap());
        let c = Connection::open(&path).unwrap();
        assert_eq!(version(&c).unwrap(), CURRENT);
        let broken: i64 = c
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(broken, 0);
        let (status, capture): (String, String) = c
            .query_row(
                "SELECT o.payment_status, o.capture_id FROM orders o
                 JOIN purchased_numbers p ON p.order_id = o.id
                 JOIN invoices i ON i.order_id = o.id WHERE o.id = 11",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((status.as_str(), capture.as_str()), ("paid", "CAP1"));
        let mails: i64 = c
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mails, 1);
        c.execute(
            "UPDATE orders SET payment_status = 'cancelled' WHERE id = 11",
            [],
        )
        .unwrap();
        let plan_type: String = c
            .query_row("SELECT number_type FROM plans WHERE id = 3", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(plan_type, "any");
    }

    /// Version 11 → 12 rebuilds the digit windows from the numbers: an available number's
    /// windows carry its profile, a sold one's none, and the trigger keeps them so after.
    #[test]
    fn upgrading_a_version_11_database_gives_available_numbers_windows_with_profiles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v11.sqlite3");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(V1_SQL).unwrap();
            for step in &STEPS[..10] {
                c.execute_batch(step).unwrap();
            }
            c.execute_batch(
                "INSERT INTO settings VALUES ('signing_key', 'k');
                 INSERT INTO numbers (number, npa, nxx, state, rate_center, type, availability,
                                      source, created_at, updated_at)
                 VALUES (2125554567, '212', '555', 'NY', 'NWYRCYZN01', 'local', 'available', 'import', 1, 1),
                        (3054567000, '305', '456', 'FL', 'MIAMI', 'local', 'sold', 'import', 1, 1);
                 INSERT INTO numbers_windows (digits, number)
                 VALUES (4567, 2125554567), (4567, 3054567000);
                 PRAGMA user_version = 11;",
            )
            .unwrap();
        }
        let store = crate::store::Store::open(&path, 2).unwrap();
        let profiles = |number: i64| -> (i64, i64) {
            store
                .read(|tx| {
                    Ok::<_, Error>(tx.query_row(
                        "SELECT count(*), count(profile) FROM numbers_windows WHERE number = ?1",
                        [number],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?)
                })
                .unwrap()
        };
        // Rebuilt whole (seven windows each), not only the rows that were there.
        assert_eq!(profiles(2125554567), (7, 7));
        assert_eq!(profiles(3054567000), (7, 0));
        let shown: (String, String) = store
            .read(|tx| {
                Ok::<_, Error>(tx.query_row(
                    "SELECT p.state, p.rate_center FROM numbers_windows w
                     JOIN number_profiles p ON p.id = w.profile
                     WHERE w.digits = 4567",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .unwrap();
        assert_eq!(shown, ("NY".to_string(), "NWYRCYZN01".to_string()));
        // Released after the upgrade: its windows show it again.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE numbers SET availability = 'available' WHERE number = 3054567000",
                    [],
                )?;
                Ok::<_, Error>(())
            })
            .unwrap();
        assert_eq!(profiles(3054567000), (7, 7));
    }

    #[test]
    fn reopening_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        let key1 = crate::store::Store::open(&path, 2)
            .unwrap()
            .signing_key()
            .unwrap();
        let key2 = crate::store::Store::open(&path, 2)
            .unwrap()
            .signing_key()
            .unwrap();
        assert_eq!(key1, key2);
        assert_eq!(key1.len(), 64);
    }

    #[test]
    fn newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite3");
        drop(crate::store::Store::open(&path, 2).unwrap());
        Connection::open(&path)
            .unwrap()
            .execute_batch(&format!("PRAGMA user_version = {}", CURRENT + 1))
            .unwrap();
        let err = crate::store::Store::open(&path, 2).err().unwrap();
        assert!(matches!(err, Error::Newer { .. }));
        assert!(err.to_string().contains("newer didport"), "{err}");
    }

    #[test]
    fn foreign_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.sqlite3");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let err = crate::store::Store::open(&path, 2).err().unwrap();
        assert!(matches!(err, Error::Foreign));
    }

    #[test]
    fn backup_passes_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("db.sqlite3"), 2).unwrap();
        let dest = dir.path().join("copy.sqlite3");
        store.backup_to(&dest).unwrap();
        assert_eq!(crate::store::integrity_check(&dest).unwrap(), "ok");
        let copy = Connection::open(&dest).unwrap();
        assert_eq!(version(&copy).unwrap(), CURRENT);
        // A second backup to the same name is refused rather than overwriting.
        assert!(store.backup_to(&dest).is_err());
    }
}
