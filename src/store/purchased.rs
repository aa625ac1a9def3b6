//! Purchased numbers: what a customer owns, with the status the admin sets.

use rusqlite::{OptionalExtension, params};

use super::status::sql_list;
use super::{Result, Tx};
use crate::domain::{NumberStatus, PaymentStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purchased {
    pub order_id: i64,
    pub user_id: i64,
    pub number: String,
    pub status: NumberStatus,
    pub pin_set: bool,
    pub forwarding: Option<String>,
    pub paid_through: i64,
    pub last_error: Option<String>,
    pub activating_since: Option<i64>,
    /// The process run that holds the activation claim.
    pub activating_run: Option<i64>,
}

const COLUMNS: &str = "order_id, user_id, number, status, pin_set, forwarding, paid_through, \
    last_error, activating_since, activating_run";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Purchased> {
    Ok(Purchased {
        order_id: r.get(0)?,
        user_id: r.get(1)?,
        number: format!("{:010}", r.get::<_, i64>(2)?),
        status: r.get(3)?,
        pin_set: r.get::<_, i64>(4)? != 0,
        forwarding: r.get(5)?,
        paid_through: r.get(6)?,
        last_error: r.get(7)?,
        activating_since: r.get(8)?,
        activating_run: r.get(9)?,
    })
}

/// Whether any number has been bought (the demo seeds its renewal examples only before then).
pub fn any(tx: &Tx<'_>) -> Result<bool> {
    Ok(
        tx.query_row("SELECT EXISTS (SELECT 1 FROM purchased_numbers)", [], |r| {
            r.get(0)
        })?,
    )
}

pub fn by_order(tx: &Tx<'_>, order_id: i64) -> Result<Option<Purchased>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM purchased_numbers WHERE order_id = ?1"),
            [order_id],
            from_row,
        )
        .optional()?)
}

/// The guard every activation claim carries: the transition table allows `active` from the
/// current status for a paid order, and the number is still sold to this order (in the
/// inventory, and no other live purchase of it).
fn activation_guard() -> String {
    format!(
        "status IN ({}) AND EXISTS (
             SELECT 1 FROM orders o JOIN numbers n ON n.number = o.number
             WHERE o.id = purchased_numbers.order_id AND o.payment_status = 'paid'
               AND n.availability = 'sold')
         AND NOT EXISTS (
             SELECT 1 FROM purchased_numbers q
             WHERE q.number = purchased_numbers.number AND q.order_id <> purchased_numbers.order_id
               AND q.status <> 'cancelled')",
        sql_list(
            &NumberStatus::sources(NumberStatus::Active, PaymentStatus::Paid),
            NumberStatus::as_str
        )
    )
}

/// Claims the right to run an activation for process run `run`: only one at a time per number,
/// only while the status is still what the admin saw, and only while the rules allow it (see
/// [`activation_guard`]). An existing claim is taken over only when `take_over` names it (its
/// `activating_since`, as read), which the caller does when the run that made it is gone.
pub fn claim_activation(
    tx: &Tx<'_>,
    order_id: i64,
    expected: NumberStatus,
    now: i64,
    run: i64,
    take_over: Option<i64>,
) -> Result<bool> {
    Ok(super::changed(tx.execute(
        &format!(
            "UPDATE purchased_numbers SET activating_since = ?3, activating_run = ?4
             WHERE order_id = ?1 AND status = ?2 AND {}
               AND (activating_since IS NULL OR activating_since IS ?5)",
            activation_guard()
        ),
        params![order_id, expected, now, run, take_over],
    )?))
}

/// Ends an activation run: the status becomes `status` (compare-and-set on `expected`, and the
/// rules checked again, so a refund that landed during the Telinta calls wins), the error is
/// recorded or cleared, and the claim is released.
pub fn finish_activation(
    tx: &Tx<'_>,
    order_id: i64,
    expected: NumberStatus,
    status: NumberStatus,
    error: Option<&str>,
    now: i64,
) -> Result<bool> {
    let guard = if status == NumberStatus::Active && expected != status {
        activation_guard()
    } else {
        "1".to_string()
    };
    Ok(super::changed(tx.execute(
        &format!(
            "UPDATE purchased_numbers SET status = ?3, last_error = ?4, activating_since = NULL,
                    activating_run = NULL, updated_at = ?5
             WHERE order_id = ?1 AND status = ?2 AND {guard}"
        ),
        params![order_id, expected, status, error, now],
    )?))
}

/// Releases an activation claim without changing anything else (the run could not finish).
pub fn release_claim(tx: &Tx<'_>, order_id: i64, error: Option<&str>, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE purchased_numbers SET activating_since = NULL, activating_run = NULL,
                last_error = coalesce(?2, last_error), updated_at = ?3
         WHERE order_id = ?1",
        params![order_id, error, now],
    )?;
    Ok(())
}

/// Changes the status without an upstream call: compare-and-set on `expected`, guarded by the
/// transition table for the order's payment status.
pub fn set_status(
    tx: &Tx<'_>,
    order_id: i64,
    expected: NumberStatus,
    status: NumberStatus,
    now: i64,
) -> Result<bool> {
    let payments: Vec<PaymentStatus> = PaymentStatus::ALL
        .into_iter()
        .filter(|p| crate::domain::status::number_change(expected, status, *p).is_ok())
        .collect();
    Ok(super::changed(tx.execute(
        &format!(
            "UPDATE purchased_numbers SET status = ?3, updated_at = ?4
             WHERE order_id = ?1 AND status = ?2 AND activating_since IS NULL
               AND (SELECT payment_status FROM orders WHERE id = ?1) IN ({})",
            sql_list(&payments, PaymentStatus::as_str)
        ),
        params![order_id, expected, status, now],
    )?))
}

/// One row of View Orders.
#[derive(Debug, Clone)]
pub struct AdminRow {
    pub order_id: i64,
    pub email: String,
    pub user_id: i64,
    pub number: String,
    pub plan_name: String,
    pub amount_cents: i64,
    pub currency: String,
    pub payment_status: PaymentStatus,
    pub number_status: Option<NumberStatus>,
    pub failure: Option<String>,
    pub hold_until: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
}

/// What View Orders is narrowed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderFilter {
    Number(NumberStatus),
    Payment(PaymentStatus),
    /// Paid, number still pending, no activation error: the admin's next job.
    AwaitingActivation,
    /// Paid, number pending, and the last activation failed.
    ActivationFailed,
    /// Awaiting payment, the hold ends before the given time.
    HoldEnding(i64),
    /// Flagged for the admin: money that moved but not as ordered, or paid after resale.
    NeedsCheck,
    /// A filter nobody knows: matches nothing rather than everything.
    Nothing,
}

impl OrderFilter {
    fn clause(self) -> String {
        match self {
            OrderFilter::Number(n) => format!("p.status = '{}'", n.as_str()),
            OrderFilter::Payment(p) => format!("o.payment_status = '{}'", p.as_str()),
            OrderFilter::AwaitingActivation => {
                "o.payment_status = 'paid' AND p.status = 'pending' AND p.last_error IS NULL".into()
            }
            OrderFilter::ActivationFailed => {
                "o.payment_status = 'paid' AND p.status = 'pending' AND p.last_error IS NOT NULL"
                    .into()
            }
            OrderFilter::HoldEnding(before) => {
                format!("o.payment_status = 'awaiting_payment' AND o.hold_until <= {before}")
            }
            OrderFilter::NeedsCheck => NEEDS_CHECK.into(),
            OrderFilter::Nothing => "0".into(),
        }
    }
}

/// Orders the admin must look at: money moved but the order could not take it as it was
/// (paid after the number went elsewhere, a different amount).
const NEEDS_CHECK: &str = "o.failure IS NOT NULL AND (o.payment_status = 'paid'
    OR (o.payment_status = 'awaiting_payment' AND o.failure LIKE '%admin will check%'))";

/// View Orders: newest first, filtered and searched on the number or the customer's email.
pub fn admin_list(
    tx: &Tx<'_>,
    filter: Option<OrderFilter>,
    q: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<AdminRow>> {
    // The text as typed: `%`, `_` and `\` are escaped, not dropped (`first_last@…` has one).
    let like = q.map(|v| {
        let escaped = v
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        format!("%{escaped}%")
    });
    let filter = filter.map_or_else(|| "1".to_string(), OrderFilter::clause);
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT o.id, u.email, u.id, o.number, o.plan_name, o.amount_cents, o.currency,
                o.payment_status, p.status, p.last_error, o.created_at, o.paid_at, o.failure,
                o.hold_until
         FROM orders o JOIN users u ON u.id = o.user_id
         LEFT JOIN purchased_numbers p ON p.order_id = o.id
         WHERE ({filter})
           AND (?1 IS NULL OR CAST(o.number AS TEXT) LIKE ?1 ESCAPE '\\'
                OR u.email LIKE ?1 ESCAPE '\\')
         ORDER BY o.id DESC LIMIT ?2 OFFSET ?3"
    ))?;
    let rows = stmt.query_map(params![like, limit, offset], |r| {
        Ok(AdminRow {
            order_id: r.get(0)?,
            email: r.get(1)?,
            user_id: r.get(2)?,
            number: format!("{:010}", r.get::<_, i64>(3)?),
            plan_name: r.get(4)?,
            amount_cents: r.get(5)?,
            currency: r.get(6)?,
            payment_status: r.get(7)?,
            number_status: r.get(8)?,
            last_error: r.get(9)?,
            created_at: r.get(10)?,
            paid_at: r.get(11)?,
            failure: r.get(12)?,
            hold_until: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The admin's work queue: how many orders wait for each kind of attention.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkQueue {
    pub awaiting_activation: i64,
    pub activation_failed: i64,
    pub holds_ending: i64,
    pub needs_check: i64,
    pub undelivered_mail: i64,
}

pub fn work_queue(tx: &Tx<'_>, hold_ends_before: i64) -> Result<WorkQueue> {
    let count = |f: OrderFilter| -> Result<i64> {
        Ok(tx.query_row(
            &format!(
                "SELECT count(*) FROM orders o LEFT JOIN purchased_numbers p ON p.order_id = o.id
                 WHERE {}",
                f.clause()
            ),
            [],
            |r| r.get(0),
        )?)
    };
    Ok(WorkQueue {
        awaiting_activation: count(OrderFilter::AwaitingActivation)?,
        activation_failed: count(OrderFilter::ActivationFailed)?,
        holds_ending: count(OrderFilter::HoldEnding(hold_ends_before))?,
        needs_check: count(OrderFilter::NeedsCheck)?,
        undelivered_mail: tx.query_row(
            "SELECT count(*) FROM outbox WHERE status = 'failed' OR (status = 'queued' AND attempts > 0)",
            [],
            |r| r.get(0),
        )?,
    })
}

pub fn set_telinta_customer(tx: &Tx<'_>, user_id: i64, i_customer: Option<i64>) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE users SET telinta_customer = ?2 WHERE id = ?1",
        params![user_id, i_customer],
    )?))
}

/// A customer's number with its plan, for the home page.
#[derive(Debug, Clone)]
pub struct Owned {
    pub p: Purchased,
    pub plan_name: String,
    /// The monthly price fixed at purchase, in the order's currency.
    pub monthly_cents: i64,
    pub currency: String,
    /// Set to stop renewing at `paid_through`.
    pub stops: bool,
}

pub fn for_user(tx: &Tx<'_>, user_id: i64) -> Result<Vec<Owned>> {
    let mut stmt = tx.prepare_cached(
        "SELECT p.order_id, p.user_id, p.number, p.status, p.pin_set, p.forwarding, p.paid_through,
                p.last_error, p.activating_since, p.activating_run, o.plan_name,
                p.monthly_cents, o.currency, p.cancel_at_period_end
         FROM purchased_numbers p JOIN orders o ON o.id = p.order_id
         WHERE p.user_id = ?1 ORDER BY p.number",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(Owned {
            p: from_row(r)?,
            plan_name: r.get(10)?,
            monthly_cents: r.get(11)?,
            currency: r.get(12)?,
            stops: r.get::<_, i64>(13)? != 0,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The customer's live (not cancelled) purchase of `number`.
pub fn owned(tx: &Tx<'_>, user_id: i64, number: &str) -> Result<Option<Owned>> {
    let n: i64 = number.parse().unwrap_or(-1);
    Ok(for_user(tx, user_id)?.into_iter().find(|o| {
        o.p.number.parse::<i64>().ok() == Some(n) && o.p.status != NumberStatus::Cancelled
    }))
}

/// Saves what Telinta confirmed: the PIN is set (never the PIN itself) and/or the forwarding.
pub fn save_settings(
    tx: &Tx<'_>,
    order_id: i64,
    pin_set: bool,
    forwarding: Option<&str>,
    now: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE purchased_numbers
         SET pin_set = CASE WHEN ?2 THEN 1 ELSE pin_set END,
             forwarding = coalesce(?3, forwarding), updated_at = ?4
         WHERE order_id = ?1",
        params![order_id, pin_set, forwarding, now],
    )?;
    Ok(())
}

/// Telinta confirmed that forwarding is off: the portal forgets the forwarding number.
pub fn clear_forwarding(tx: &Tx<'_>, order_id: i64, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE purchased_numbers SET forwarding = NULL, updated_at = ?2 WHERE order_id = ?1",
        params![order_id, now],
    )?;
    Ok(())
}

/// What `settings_changes.forwarding` holds for "turn forwarding off" (a number is 10 digits,
/// so the empty text cannot be mistaken for one).
pub const FORWARDING_OFF: &str = "";

/// Activations claimed and not finished; the caller tells which were cut short.
pub fn claimed_activations(tx: &Tx<'_>) -> Result<Vec<Purchased>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM purchased_numbers
         WHERE activating_since IS NOT NULL ORDER BY order_id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records that a settings change is going to Telinta: whether a PIN was asked for (never the
/// PIN itself) and the forwarding number.
pub fn begin_settings(
    tx: &Tx<'_>,
    order_id: i64,
    pin: bool,
    forwarding: Option<&str>,
    now: i64,
    run: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO settings_changes (order_id, started_at, pin, forwarding, run_id)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (order_id) DO UPDATE
         SET started_at = excluded.started_at, pin = excluded.pin, forwarding = excluded.forwarding,
             run_id = excluded.run_id",
        params![order_id, now, pin, forwarding, run],
    )?;
    Ok(())
}

/// The settings change of `order_id` has its outcome saved.
pub fn end_settings(tx: &Tx<'_>, order_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM settings_changes WHERE order_id = ?1",
        [order_id],
    )?;
    Ok(())
}

/// A settings change that went to Telinta and never came back.
#[derive(Debug, Clone)]
pub struct InterruptedSettings {
    pub p: Purchased,
    pub started_at: i64,
    pub pin: bool,
    pub forwarding: Option<String>,
    /// The process run that made the change.
    pub run: Option<i64>,
}

/// Settings changes recorded and not finished; the caller tells which were cut short.
pub fn pending_settings(tx: &Tx<'_>) -> Result<Vec<InterruptedSettings>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("p.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {cols}, c.started_at, c.pin, c.forwarding, c.run_id
         FROM settings_changes c JOIN purchased_numbers p ON p.order_id = c.order_id
         ORDER BY c.order_id"
    ))?;
    let rows = stmt.query_map([], |r| {
        Ok(InterruptedSettings {
            p: from_row(r)?,
            started_at: r.get(10)?,
            pin: r.get::<_, i64>(11)? != 0,
            forwarding: r.get(12)?,
            run: r.get(13)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
