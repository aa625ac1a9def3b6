//! Counts for `/metrics`, read in one snapshot when it is scraped.

use super::{Result, Tx};

/// What the portal's state looks like now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// (payment status, orders)
    pub orders: Vec<(String, i64)>,
    /// (number status, purchased numbers)
    pub numbers: Vec<(String, i64)>,
    /// (outbox status, messages)
    pub outbox: Vec<(String, i64)>,
    /// Open renewal invoices whose month has not begun.
    pub renewals_due: i64,
    /// Open renewal invoices whose month has begun (unpaid on time).
    pub renewals_overdue: i64,
    /// (audit action, failed entries) for the flows that cross to Telinta.
    pub failures: Vec<(String, i64)>,
    /// The database's size in bytes (pages in use times the page size).
    pub db_bytes: i64,
}

fn pairs(tx: &Tx<'_>, sql: &str) -> Result<Vec<(String, i64)>> {
    let mut stmt = tx.prepare_cached(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn snapshot(tx: &Tx<'_>, today: i64) -> Result<Snapshot> {
    Ok(Snapshot {
        orders: pairs(
            tx,
            "SELECT payment_status, count(*) FROM orders GROUP BY payment_status",
        )?,
        numbers: pairs(
            tx,
            "SELECT status, count(*) FROM purchased_numbers GROUP BY status",
        )?,
        outbox: pairs(tx, "SELECT status, count(*) FROM outbox GROUP BY status")?,
        renewals_due: tx.query_row(
            "SELECT count(*) FROM invoices WHERE status = 'open' AND period_start > ?1",
            [today],
            |r| r.get(0),
        )?,
        renewals_overdue: tx.query_row(
            "SELECT count(*) FROM invoices WHERE status = 'open' AND period_start <= ?1",
            [today],
            |r| r.get(0),
        )?,
        failures: pairs(
            tx,
            "SELECT action, count(*) FROM audit
             WHERE outcome = 'failed'
               AND action IN ('number_activate', 'number_settings', 'number_suspend')
             GROUP BY action",
        )?,
        db_bytes: tx.query_row(
            "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size",
            [],
            |r| r.get(0),
        )?,
    })
}

/// Adds `n` searches to the hour starting at `hour`.
pub fn add_searches(tx: &Tx<'_>, hour: i64, n: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO search_hours (hour, searches) VALUES (?1, ?2)
         ON CONFLICT (hour) DO UPDATE SET searches = searches + excluded.searches",
        rusqlite::params![hour, n],
    )?;
    Ok(())
}

/// (hour start, searches) from `since`, oldest first; hours without searches are absent.
pub fn searches_by_hour(tx: &Tx<'_>, since: i64) -> Result<Vec<(i64, i64)>> {
    let mut stmt = tx
        .prepare_cached("SELECT hour, searches FROM search_hours WHERE hour >= ?1 ORDER BY hour")?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// (day start, orders placed, cents paid) from `since`, oldest first.
pub fn orders_by_day(tx: &Tx<'_>, since: i64) -> Result<Vec<(i64, i64, i64)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT day, sum(placed), sum(cents) FROM (
             SELECT (created_at / 86400) * 86400 AS day, 1 AS placed, 0 AS cents
             FROM orders WHERE created_at >= ?1
             UNION ALL
             SELECT (paid_at / 86400) * 86400, 0, total_cents
             FROM invoices WHERE status = 'paid' AND paid_at >= ?1)
         GROUP BY day ORDER BY day",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
