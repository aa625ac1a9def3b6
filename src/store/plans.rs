//! Plans: a setup fee and a monthly fee for a number.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};
use crate::domain::plan::PlanNumberType;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub setup_cents: i64,
    pub monthly_cents: i64,
    pub active: bool,
    pub number_type: PlanNumberType,
}

pub struct NewPlan<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub setup_cents: i64,
    pub monthly_cents: i64,
    pub number_type: PlanNumberType,
}

/// A duplicate name is a constraint error.
pub fn insert(tx: &Tx<'_>, p: &NewPlan<'_>, now: i64) -> Result<i64> {
    tx.execute(
        "INSERT INTO plans (name, description, setup_cents, monthly_cents, number_type,
                            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            p.name,
            p.description,
            p.setup_cents,
            p.monthly_cents,
            p.number_type,
            now
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Plan> {
    Ok(Plan {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        setup_cents: r.get(3)?,
        monthly_cents: r.get(4)?,
        active: r.get::<_, i64>(5)? != 0,
        number_type: r.get(6)?,
    })
}

pub fn list(tx: &Tx<'_>, only_active: bool) -> Result<Vec<Plan>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, name, description, setup_cents, monthly_cents, active, number_type FROM plans
         WHERE active = 1 OR ?1 = 0 ORDER BY monthly_cents, setup_cents, name",
    )?;
    let rows = stmt.query_map([only_active], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<Plan>> {
    Ok(tx
        .query_row(
            "SELECT id, name, description, setup_cents, monthly_cents, active, number_type
             FROM plans WHERE id = ?1",
            [id],
            from_row,
        )
        .optional()?)
}

pub fn count(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.query_row("SELECT count(*) FROM plans", [], |r| r.get(0))?)
}

/// Changes a plan; a duplicate name is a constraint error. Returns false if there is no plan.
pub fn update(tx: &Tx<'_>, id: i64, p: &NewPlan<'_>, active: bool, now: i64) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE plans SET name = ?2, description = ?3, setup_cents = ?4, monthly_cents = ?5,
                active = ?6, updated_at = ?7, number_type = ?8
         WHERE id = ?1",
        params![
            id,
            p.name,
            p.description,
            p.setup_cents,
            p.monthly_cents,
            active,
            now,
            p.number_type
        ],
    )?))
}
