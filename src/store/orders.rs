//! Orders: one number, one plan, the amount fixed when the order was made.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};
use crate::domain::PhoneNumber;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub user_id: i64,
    pub number: String,
    pub plan_id: i64,
    pub plan_name: String,
    pub setup_cents: i64,
    pub monthly_cents: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub gateway: String,
    pub payment_status: String,
    pub hold_until: i64,
    pub failure: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

const COLUMNS: &str = "id, user_id, number, plan_id, plan_name, setup_cents, monthly_cents, \
    amount_cents, currency, gateway, payment_status, hold_until, failure, created_at, paid_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Order> {
    Ok(Order {
        id: r.get(0)?,
        user_id: r.get(1)?,
        number: format!("{:010}", r.get::<_, i64>(2)?),
        plan_id: r.get(3)?,
        plan_name: r.get(4)?,
        setup_cents: r.get(5)?,
        monthly_cents: r.get(6)?,
        amount_cents: r.get(7)?,
        currency: r.get(8)?,
        gateway: r.get(9)?,
        payment_status: r.get(10)?,
        hold_until: r.get(11)?,
        failure: r.get(12)?,
        created_at: r.get(13)?,
        paid_at: r.get(14)?,
    })
}

pub struct NewOrder<'a> {
    pub user_id: i64,
    pub number: &'a PhoneNumber,
    pub plan: &'a super::plans::Plan,
    pub currency: &'a str,
    pub gateway: &'a str,
    pub hold_until: i64,
}

/// Holds the number and creates the order, or returns `None` when the number is not
/// available: the hold is a compare-and-set, so of two buyers racing exactly one gets it.
pub fn create_with_hold(tx: &Tx<'_>, o: &NewOrder<'_>, now: i64) -> Result<Option<i64>> {
    let number: i64 = o.number.digits().parse().unwrap_or(0);
    let held = tx.execute(
        "UPDATE numbers SET availability = 'held', updated_at = ?2
         WHERE number = ?1 AND availability = 'available'",
        params![number, now],
    )?;
    if held == 0 {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO orders (user_id, number, plan_id, plan_name, setup_cents, monthly_cents,
                             amount_cents, currency, gateway, hold_until, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)",
        params![
            o.user_id,
            number,
            o.plan.id,
            o.plan.name,
            o.plan.setup_cents,
            o.plan.monthly_cents,
            o.plan.setup_cents + o.plan.monthly_cents,
            o.currency,
            o.gateway,
            o.hold_until,
            now
        ],
    )?;
    Ok(Some(tx.last_insert_rowid()))
}

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<Order>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM orders WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn for_user(tx: &Tx<'_>, user_id: i64) -> Result<Vec<Order>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM orders WHERE user_id = ?1 ORDER BY id DESC"
    ))?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Ends an unpaid order (`expired` or `failed`) and puts its number back on sale, if the order
/// is still awaiting payment. Returns whether it changed.
pub fn release(tx: &Tx<'_>, id: i64, status: &str, reason: &str, now: i64) -> Result<bool> {
    let number: Option<i64> = tx
        .query_row(
            "UPDATE orders SET payment_status = ?2, failure = ?3, updated_at = ?4
             WHERE id = ?1 AND payment_status = 'awaiting_payment'
             RETURNING number",
            params![id, status, reason, now],
            |r| r.get(0),
        )
        .optional()?;
    let Some(number) = number else {
        return Ok(false);
    };
    tx.execute(
        "UPDATE numbers SET availability = 'available', updated_at = ?2
         WHERE number = ?1 AND availability = 'held'",
        params![number, now],
    )?;
    Ok(true)
}

/// Unpaid orders for `number` whose hold has run out.
pub fn expired_holds_for(tx: &Tx<'_>, number: &PhoneNumber, now: i64) -> Result<Vec<i64>> {
    let n: i64 = number.digits().parse().unwrap_or(0);
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM orders
         WHERE number = ?1 AND payment_status = 'awaiting_payment' AND hold_until <= ?2",
    )?;
    let rows = stmt.query_map(params![n, now], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Orders whose hold has run out while still unpaid.
pub fn expired_holds(tx: &Tx<'_>, now: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM orders WHERE payment_status = 'awaiting_payment' AND hold_until <= ?1",
    )?;
    let rows = stmt.query_map([now], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
