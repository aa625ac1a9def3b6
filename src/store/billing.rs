//! Renewals: the numbers the monthly cycle looks at, renewal invoices, the steps already done
//! (`billing_events`), and what the admin's billing page shows.

use rusqlite::{OptionalExtension, params};

use super::orders::{NewInvoice, insert_invoice};
use super::{Result, Tx};
use crate::domain::{BillingStep, InvoiceStatus, NumberStatus, PaymentStatus};

/// A purchased number as the renewal cycle sees it.
#[derive(Debug, Clone)]
pub struct Renewable {
    pub order_id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub number: String,
    pub status: NumberStatus,
    pub paid_through: i64,
    pub anchor_day: i32,
    pub monthly_cents: i64,
    pub currency: String,
    pub plan_name: String,
    pub cancel_at_period_end: bool,
}

const RENEWABLE: &str = "SELECT p.order_id, p.user_id, u.email, u.name, p.number, p.status,
        p.paid_through, p.anchor_day, p.monthly_cents, o.currency, o.plan_name,
        p.cancel_at_period_end
    FROM purchased_numbers p JOIN orders o ON o.id = p.order_id JOIN users u ON u.id = p.user_id";

fn renewable(r: &rusqlite::Row<'_>) -> rusqlite::Result<Renewable> {
    Ok(Renewable {
        order_id: r.get(0)?,
        user_id: r.get(1)?,
        email: r.get(2)?,
        name: r.get(3)?,
        number: format!("{:010}", r.get::<_, i64>(4)?),
        status: r.get(5)?,
        paid_through: r.get(6)?,
        anchor_day: r.get(7)?,
        monthly_cents: r.get(8)?,
        currency: r.get(9)?,
        plan_name: r.get(10)?,
        cancel_at_period_end: r.get::<_, i64>(11)? != 0,
    })
}

/// Every number that renews: paid, not cancelled, with something due by `horizon` (its
/// `paid_through` minus the notice is on or before it), in order.
pub fn due_by(tx: &Tx<'_>, horizon: i64) -> Result<Vec<Renewable>> {
    let mut stmt = tx.prepare_cached(&format!(
        "{RENEWABLE}
         WHERE p.status <> 'cancelled' AND o.payment_status = 'paid' AND p.paid_through <= ?1
         ORDER BY p.paid_through, p.order_id"
    ))?;
    let rows = stmt.query_map([horizon], renewable)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn renewable_by_order(tx: &Tx<'_>, order_id: i64) -> Result<Option<Renewable>> {
    Ok(tx
        .query_row(
            &format!("{RENEWABLE} WHERE p.order_id = ?1"),
            [order_id],
            renewable,
        )
        .optional()?)
}

/// Records that a step of the cycle was done for a number and period; false when it was done
/// before (the caller then does nothing).
pub fn mark(
    tx: &Tx<'_>,
    order_id: i64,
    period_start: i64,
    kind: BillingStep,
    now: i64,
) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "INSERT OR IGNORE INTO billing_events (order_id, period_start, kind, at)
         VALUES (?1, ?2, ?3, ?4)",
        params![order_id, period_start, kind, now],
    )?))
}

pub fn marked(tx: &Tx<'_>, order_id: i64, period_start: i64, kind: BillingStep) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM billing_events WHERE order_id = ?1 AND period_start = ?2 AND kind = ?3",
            params![order_id, period_start, kind],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// A renewal invoice as the cycle needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalInvoice {
    pub id: i64,
    pub number: String,
    pub status: InvoiceStatus,
    pub total_cents: i64,
    pub period_start: i64,
    pub period_end: i64,
}

pub fn renewal_for(
    tx: &Tx<'_>,
    order_id: i64,
    period_start: i64,
) -> Result<Option<RenewalInvoice>> {
    Ok(tx
        .query_row(
            "SELECT id, number, status, total_cents, period_start, period_end FROM invoices
             WHERE order_id = ?1 AND period_start = ?2 AND kind = 'renewal'",
            params![order_id, period_start],
            |r| {
                Ok(RenewalInvoice {
                    id: r.get(0)?,
                    number: r.get(1)?,
                    status: r.get(2)?,
                    total_cents: r.get(3)?,
                    period_start: r.get(4)?,
                    period_end: r.get(5)?,
                })
            },
        )
        .optional()?)
}

/// Issues the open renewal invoice of `n` for the month from its `paid_through` to
/// `period_end`, with its line; `None` when it exists already.
pub fn issue_renewal(
    tx: &Tx<'_>,
    n: &Renewable,
    period_end: i64,
    line: &str,
    year: i32,
    now: i64,
) -> Result<Option<(i64, String)>> {
    if renewal_for(tx, n.order_id, n.paid_through)?.is_some() {
        return Ok(None);
    }
    let (id, number) = insert_invoice(
        tx,
        &NewInvoice {
            order_id: n.order_id,
            year,
            customer_email: &n.email,
            customer_name: &n.name,
            total_cents: n.monthly_cents,
            currency: &n.currency,
            kind: "renewal",
            period_start: n.paid_through,
            period_end,
            paid: false,
            capture_id: None,
        },
        now,
    )?;
    tx.execute(
        "INSERT INTO invoice_lines (invoice_id, position, description, amount_cents)
         VALUES (?1, 1, ?2, ?3)",
        params![id, line, n.monthly_cents],
    )?;
    Ok(Some((id, number)))
}

/// What paying a renewal did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalPaid {
    pub order_id: i64,
    pub period_start: i64,
    pub period_end: i64,
}

/// Marks an open renewal invoice paid and moves the number's `paid_through` to the end of the
/// period it covers (compare-and-set on the start). `None` when it was not open: nothing
/// changed.
pub fn pay_renewal(
    tx: &Tx<'_>,
    invoice_id: i64,
    capture_id: Option<&str>,
    now: i64,
) -> Result<Option<RenewalPaid>> {
    let row: Option<(i64, i64, i64)> = tx
        .query_row(
            "UPDATE invoices SET status = 'paid', paid_at = ?2, capture_id = ?3
             WHERE id = ?1 AND status = 'open' AND kind = 'renewal'
             RETURNING order_id, period_start, period_end",
            params![invoice_id, now, capture_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((order_id, period_start, period_end)) = row else {
        return Ok(None);
    };
    tx.execute(
        "UPDATE purchased_numbers SET paid_through = ?3, updated_at = ?4
         WHERE order_id = ?1 AND paid_through = ?2",
        params![order_id, period_start, period_end, now],
    )?;
    Ok(Some(RenewalPaid {
        order_id,
        period_start,
        period_end,
    }))
}

/// Records the PayPal order made to pay an open renewal invoice.
pub fn set_invoice_paypal_order(tx: &Tx<'_>, invoice_id: i64, paypal_id: &str) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE invoices SET paypal_order_id = ?2 WHERE id = ?1 AND status = 'open'",
        params![invoice_id, paypal_id],
    )?))
}

/// The open renewal invoice paid through this PayPal order.
pub fn invoice_by_paypal_order(tx: &Tx<'_>, paypal_id: &str) -> Result<Option<(i64, i64)>> {
    Ok(tx
        .query_row(
            "SELECT i.id, o.user_id FROM invoices i JOIN orders o ON o.id = i.order_id
             WHERE i.paypal_order_id = ?1",
            [paypal_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// Sets or clears "stop renewing" on a live number; false when it is cancelled already.
pub fn set_cancel_at_period_end(tx: &Tx<'_>, order_id: i64, on: bool, now: i64) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE purchased_numbers SET cancel_at_period_end = ?2, updated_at = ?3
         WHERE order_id = ?1 AND status <> 'cancelled' AND cancel_at_period_end <> ?2",
        params![order_id, on, now],
    )?))
}

/// Ends a number set to cancel: `cancelled`, its open renewal invoices void, and the number
/// back on sale (when nobody else has it). False when it was cancelled already.
pub fn cancel_at_end(tx: &Tx<'_>, order_id: i64, now: i64) -> Result<bool> {
    let number: Option<i64> = tx
        .query_row(
            &format!(
                "UPDATE purchased_numbers SET status = 'cancelled', updated_at = ?2
                 WHERE order_id = ?1 AND status IN ({}) AND cancel_at_period_end = 1
                   AND activating_since IS NULL
                   AND (SELECT payment_status FROM orders WHERE id = ?1) = 'paid'
                 RETURNING number",
                // The transition table's sources of `cancelled` for a paid order.
                super::status::sql_list(
                    &NumberStatus::sources(NumberStatus::Cancelled, PaymentStatus::Paid),
                    NumberStatus::as_str
                )
            ),
            params![order_id, now],
            |r| r.get(0),
        )
        .optional()?;
    let Some(number) = number else {
        return Ok(false);
    };
    tx.execute(
        "UPDATE invoices SET status = 'void' WHERE order_id = ?1 AND status = 'open'",
        [order_id],
    )?;
    tx.execute(
        "UPDATE numbers SET availability = 'available', updated_at = ?2
         WHERE number = ?1 AND availability = 'sold'
           AND NOT EXISTS (SELECT 1 FROM purchased_numbers
                           WHERE number = ?1 AND order_id <> ?3 AND status <> 'cancelled')",
        params![number, now, order_id],
    )?;
    Ok(true)
}

/// A customer's invoices and credit notes, newest first: (kind, id, number, issued, total,
/// currency, status, order id).
#[derive(Debug, Clone)]
pub struct Statement {
    pub credit_note: bool,
    pub invoice_id: i64,
    pub number: String,
    pub issued_at: i64,
    pub total_cents: i64,
    pub currency: String,
    /// `None` for a credit note.
    pub status: Option<InvoiceStatus>,
    pub phone: String,
    pub period_start: i64,
    pub period_end: i64,
}

pub fn statements(tx: &Tx<'_>, user_id: i64) -> Result<Vec<Statement>> {
    let mut stmt = tx.prepare_cached(
        "SELECT 0, i.id, i.number, i.issued_at, i.total_cents, i.currency, i.status, o.number,
                i.period_start, i.period_end
         FROM invoices i JOIN orders o ON o.id = i.order_id WHERE o.user_id = ?1
         UNION ALL
         SELECT 1, coalesce(c.invoice_id, 0), c.number, c.issued_at, -c.amount_cents, c.currency,
                NULL, o.number, 0, 0
         FROM credit_notes c JOIN orders o ON o.id = c.order_id WHERE o.user_id = ?1
         ORDER BY 4 DESC, 3 DESC",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(Statement {
            credit_note: r.get::<_, i64>(0)? != 0,
            invoice_id: r.get(1)?,
            number: r.get(2)?,
            issued_at: r.get(3)?,
            total_cents: r.get(4)?,
            currency: r.get(5)?,
            status: r.get(6)?,
            phone: format!("{:010}", r.get::<_, i64>(7)?),
            period_start: r.get(8)?,
            period_end: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The open renewal invoice of each of a customer's numbers, by order.
pub fn open_renewals(tx: &Tx<'_>, user_id: i64) -> Result<Vec<(i64, i64, i64, String)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.order_id, i.id, i.total_cents, i.currency FROM invoices i
         JOIN orders o ON o.id = i.order_id
         WHERE o.user_id = ?1 AND i.status = 'open' ORDER BY i.period_start",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One row of the admin's billing page.
#[derive(Debug, Clone)]
pub struct BillingRow {
    pub n: Renewable,
    pub open_invoice: Option<(i64, String)>,
    pub suspension_failed: bool,
}

/// Numbers whose `paid_through` is on or before `until` (due soon, overdue, suspended).
pub fn admin_rows(tx: &Tx<'_>, until: i64) -> Result<Vec<BillingRow>> {
    let rows = due_by(tx, until)?;
    let mut out = Vec::with_capacity(rows.len());
    for n in rows {
        let open = renewal_for(tx, n.order_id, n.paid_through)?
            .filter(|i| i.status == InvoiceStatus::Open)
            .map(|i| (i.id, i.number));
        let failed = marked(
            tx,
            n.order_id,
            n.paid_through,
            BillingStep::SuspensionFailed,
        )? && !marked(tx, n.order_id, n.paid_through, BillingStep::Suspended)?;
        out.push(BillingRow {
            n,
            open_invoice: open,
            suspension_failed: failed,
        });
    }
    Ok(out)
}

/// Revenue by calendar month (UTC) of payment, from `since`: ("2026-11", cents), invoices paid
/// less credit notes, oldest first.
pub fn revenue_by_month(tx: &Tx<'_>, since: i64) -> Result<Vec<(String, i64)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT month, sum(cents) FROM (
             SELECT strftime('%Y-%m', paid_at, 'unixepoch') AS month, total_cents AS cents
             FROM invoices WHERE status = 'paid' AND paid_at >= ?1
             UNION ALL
             SELECT strftime('%Y-%m', issued_at, 'unixepoch'), -amount_cents
             FROM credit_notes WHERE issued_at >= ?1)
         GROUP BY month ORDER BY month",
    )?;
    let rows = stmt.query_map([since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether the order is paid (renewals only ever concern paid orders).
pub fn order_paid(tx: &Tx<'_>, order_id: i64) -> Result<bool> {
    let s: Option<PaymentStatus> = tx
        .query_row(
            "SELECT payment_status FROM orders WHERE id = ?1",
            [order_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(s == Some(PaymentStatus::Paid))
}

/// Numbers suspended for a renewal that has since been paid, not yet active again: (order,
/// period start of the renewal they were suspended for).
pub fn suspended_paid_up(tx: &Tx<'_>) -> Result<Vec<(i64, i64)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT e.order_id, e.period_start FROM billing_events e
         JOIN purchased_numbers p ON p.order_id = e.order_id
         WHERE e.kind = 'suspended' AND p.status = 'suspended' AND p.paid_through > e.period_start
           AND NOT EXISTS (SELECT 1 FROM billing_events r WHERE r.order_id = e.order_id
                           AND r.period_start = e.period_start AND r.kind = 'reactivated')",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The PayPal order made to pay an invoice, if any.
pub fn invoice_paypal_order(tx: &Tx<'_>, invoice_id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT paypal_order_id FROM invoices WHERE id = ?1",
            [invoice_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// Open invoices whose customer went to PayPal: (invoice, PayPal order, customer).
pub fn open_at_paypal(tx: &Tx<'_>) -> Result<Vec<(i64, String, i64)>> {
    let mut stmt = tx.prepare_cached(
        "SELECT i.id, i.paypal_order_id, o.user_id FROM invoices i JOIN orders o ON o.id = i.order_id
         WHERE i.status = 'open' AND i.paypal_order_id IS NOT NULL ORDER BY i.id",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
