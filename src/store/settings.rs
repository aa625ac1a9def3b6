//! The `settings` key/value table: small facts the portal keeps between runs that need no
//! table of their own (the signing key lives here too, read by `store::mod`).

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

fn get(tx: &Tx<'_>, key: &str) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?)
}

fn put(tx: &Tx<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

// ---- PayPal capture attempts ------------------------------------------------------------

fn attempt_key(order_id: i64) -> String {
    format!("paypal_capture_attempt:{order_id}")
}

/// The current capture attempt of an order (0 until PayPal sends the buyer back once).
/// Part of the capture's `PayPal-Request-Id`, so a retry of the same attempt reuses the key
/// and a new approval gets a new one (docs/paypal.md, "Idempotency").
pub fn capture_attempt(tx: &Tx<'_>, order_id: i64) -> Result<i64> {
    Ok(get(tx, &attempt_key(order_id))?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// PayPal sent the buyer back to approve again: the next capture is a new attempt.
pub fn next_capture_attempt(tx: &Tx<'_>, order_id: i64) -> Result<i64> {
    let next = capture_attempt(tx, order_id)? + 1;
    put(tx, &attempt_key(order_id), &next.to_string())?;
    Ok(next)
}

/// The same for a renewal invoice paid at PayPal.
pub fn invoice_capture_attempt(tx: &Tx<'_>, invoice_id: i64) -> Result<i64> {
    Ok(
        get(tx, &format!("paypal_invoice_capture_attempt:{invoice_id}"))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    )
}

/// PayPal sent the payer of a renewal invoice back to approve again.
pub fn next_invoice_capture_attempt(tx: &Tx<'_>, invoice_id: i64) -> Result<i64> {
    let next = invoice_capture_attempt(tx, invoice_id)? + 1;
    put(
        tx,
        &format!("paypal_invoice_capture_attempt:{invoice_id}"),
        &next.to_string(),
    )?;
    Ok(next)
}

// ---- the last `check-upstream` ------------------------------------------------------------

const UPSTREAM_AT: &str = "upstream_check_at";
const UPSTREAM_RESULT: &str = "upstream_check_result";

/// The last `didport check-upstream`: when it ran (Unix seconds), whether every check
/// passed, and its report lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamCheck {
    pub at: i64,
    pub ok: bool,
    pub lines: Vec<String>,
}

/// Records the result of a `check-upstream` run, replacing the previous one.
pub fn record_upstream_check(tx: &Tx<'_>, check: &UpstreamCheck) -> Result<()> {
    let mut text = String::from(if check.ok { "ok\n" } else { "FAIL\n" });
    for l in &check.lines {
        text.push_str(&l.replace('\n', " "));
        text.push('\n');
    }
    put(tx, UPSTREAM_AT, &check.at.to_string())?;
    put(tx, UPSTREAM_RESULT, &text)
}

/// The last recorded `check-upstream`, if one ran.
pub fn last_upstream_check(tx: &Tx<'_>) -> Result<Option<UpstreamCheck>> {
    let (Some(at), Some(text)) = (get(tx, UPSTREAM_AT)?, get(tx, UPSTREAM_RESULT)?) else {
        return Ok(None);
    };
    let mut lines = text.lines();
    let ok = lines.next() == Some("ok");
    Ok(Some(UpstreamCheck {
        at: at.parse().unwrap_or(0),
        ok,
        lines: lines.map(str::to_string).collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        (dir, store)
    }

    #[test]
    fn capture_attempts_count_per_order() {
        let (_dir, store) = temp();
        store
            .write(|tx| {
                assert_eq!(capture_attempt(tx, 7)?, 0);
                assert_eq!(next_capture_attempt(tx, 7)?, 1);
                assert_eq!(next_capture_attempt(tx, 7)?, 2);
                assert_eq!(capture_attempt(tx, 8)?, 0);
                assert_eq!(invoice_capture_attempt(tx, 7)?, 0, "invoices count apart");
                assert_eq!(next_invoice_capture_attempt(tx, 7)?, 1);
                assert_eq!(capture_attempt(tx, 7)?, 2);
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn the_last_upstream_check_round_trips() {
        let (_dir, store) = temp();
        let check = UpstreamCheck {
            at: 1_700_000_000,
            ok: false,
            lines: vec![
                "ok   telinta login".into(),
                "FAIL telinta product: x".into(),
            ],
        };
        store
            .write(|tx| {
                assert_eq!(last_upstream_check(tx)?, None);
                record_upstream_check(tx, &check)?;
                assert_eq!(last_upstream_check(tx)?, Some(check.clone()));
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
    }
}
