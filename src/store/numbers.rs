//! The inventory of numbers for sale.

use rusqlite::params;

use super::{Result, Tx};
use crate::domain::PhoneNumber;

pub struct NewNumber<'a> {
    pub number: &'a PhoneNumber,
    pub state: &'a str,
    pub rate_center: &'a str,
    pub source: &'a str,
}

/// Adds numbers that are not in the inventory yet; an existing number keeps its availability.
/// Returns how many were added.
pub fn insert_new(tx: &Tx<'_>, rows: &[NewNumber<'_>], now: i64) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO numbers (number, npa, nxx, state, rate_center, type, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT (number) DO NOTHING",
    )?;
    let mut added = 0;
    for n in rows {
        let kind = if n.number.is_toll_free() {
            "tollfree"
        } else {
            "local"
        };
        added += stmt.execute(params![
            n.number.digits(),
            n.number.npa(),
            n.number.nxx(),
            n.state,
            n.rate_center,
            kind,
            n.source,
            now
        ])?;
    }
    Ok(added)
}

pub fn count_available(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM numbers WHERE availability = 'available'",
        [],
        |r| r.get(0),
    )?)
}
