//! Orders: one number, one plan, the amount fixed when the order was made.

use rusqlite::{OptionalExtension, params};

use super::status::payment_sources;
use super::{Result, Tx};
use crate::domain::{InvoiceStatus, PaymentStatus, PhoneNumber};

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
    pub payment_status: PaymentStatus,
    pub hold_until: i64,
    pub failure: Option<String>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    pub paypal_order_id: Option<String>,
    pub capture_id: Option<String>,
    pub updated_at: i64,
}

impl Order {
    /// The buyer can still pay: awaiting payment and the hold has not run out.
    pub fn payable(&self, now: i64) -> bool {
        self.payment_status == PaymentStatus::AwaitingPayment && self.hold_until > now
    }
}

const COLUMNS: &str = "id, user_id, number, plan_id, plan_name, setup_cents, monthly_cents, \
    amount_cents, currency, gateway, payment_status, hold_until, failure, created_at, paid_at, \
    paypal_order_id, capture_id, updated_at";

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
        paypal_order_id: r.get(15)?,
        capture_id: r.get(16)?,
        updated_at: r.get(17)?,
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

/// Ends an unpaid order (`expired`, `failed` or `cancelled`) and puts its number back on sale,
/// if the order is still awaiting payment. Returns whether it changed.
pub fn release(tx: &Tx<'_>, id: i64, to: PaymentStatus, reason: &str, now: i64) -> Result<bool> {
    if !to.is_closed_unpaid() {
        return Ok(false);
    }
    let number: Option<i64> = tx
        .query_row(
            &format!(
                "UPDATE orders SET payment_status = ?2, failure = ?3, updated_at = ?4
                 WHERE id = ?1 AND payment_status IN ({})
                 RETURNING number",
                payment_sources(to)
            ),
            params![id, to, reason, now],
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

/// The user's order that holds `number` right now (awaiting payment, hold not run out).
pub fn live_order_of(
    tx: &Tx<'_>,
    user_id: i64,
    number: &PhoneNumber,
    now: i64,
) -> Result<Option<i64>> {
    let n: i64 = number.digits().parse().unwrap_or(0);
    Ok(tx
        .query_row(
            "SELECT id FROM orders
             WHERE number = ?1 AND user_id = ?2 AND payment_status = 'awaiting_payment'
               AND hold_until > ?3
             ORDER BY id DESC LIMIT 1",
            params![n, user_id, now],
            |r| r.get(0),
        )
        .optional()?)
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

/// Orders whose hold has run out while still unpaid, and that PayPal never heard of (offline
/// payments, or a PayPal order that was never created). The others may have been paid at
/// PayPal; reconciliation reads PayPal before it ends them.
pub fn expired_holds(tx: &Tx<'_>, now: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM orders WHERE payment_status = 'awaiting_payment' AND hold_until <= ?1
           AND paypal_order_id IS NULL",
    )?;
    let rows = stmt.query_map([now], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Unpaid PayPal orders whose PayPal side must be read: the hold ran out, or the order is older
/// than `started_before` (a buyer who approved but never came back, or a capture cut short).
/// Each comes with its PayPal order id.
pub fn awaiting_paypal(tx: &Tx<'_>, started_before: i64, now: i64) -> Result<Vec<(Order, String)>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS}, paypal_order_id FROM orders
         WHERE payment_status = 'awaiting_payment' AND paypal_order_id IS NOT NULL
           AND (hold_until <= ?2 OR created_at < ?1)
         ORDER BY id"
    ))?;
    let rows = stmt.query_map(params![started_before, now], |r| {
        Ok((from_row(r)?, r.get(18)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Unpaid PayPal orders that never got a PayPal order id although they are older than
/// `started_before`: the buyer never received a link to pay.
pub fn never_sent_to_paypal(tx: &Tx<'_>, started_before: i64) -> Result<Vec<i64>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id FROM orders
         WHERE payment_status = 'awaiting_payment' AND gateway = 'paypal'
           AND paypal_order_id IS NULL AND created_at < ?1",
    )?;
    let rows = stmt.query_map([started_before], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Notes why an order is not paid, leaving its state as it is (for the admin to check).
pub fn note_failure(tx: &Tx<'_>, id: i64, reason: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE orders SET failure = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, reason, now],
    )?;
    Ok(())
}

/// Puts a new PayPal order in the place of one PayPal no longer accepts (voided, or gone),
/// for an order still awaiting payment; compare-and-set on the old id.
pub fn replace_paypal_order(tx: &Tx<'_>, id: i64, old: &str, new: &str, now: i64) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE orders SET paypal_order_id = ?3, updated_at = ?4
         WHERE id = ?1 AND paypal_order_id = ?2 AND payment_status = 'awaiting_payment'",
        params![id, old, new, now],
    )?))
}

/// Records the PayPal order created for a local order (once).
pub fn set_paypal_order(tx: &Tx<'_>, id: i64, paypal_id: &str, now: i64) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE orders SET paypal_order_id = ?2, gateway = 'paypal', updated_at = ?3
         WHERE id = ?1 AND paypal_order_id IS NULL",
        params![id, paypal_id, now],
    )?))
}

/// The order paid by this PayPal capture (a refund or reversal names only the capture).
pub fn by_capture(tx: &Tx<'_>, capture_id: &str) -> Result<Option<Order>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM orders WHERE capture_id = ?1"),
            [capture_id],
            from_row,
        )
        .optional()?)
}

pub fn by_paypal_order(tx: &Tx<'_>, paypal_id: &str) -> Result<Option<Order>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM orders WHERE paypal_order_id = ?1"),
            [paypal_id],
            from_row,
        )
        .optional()?)
}

/// What recording a payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completed {
    /// Paid now, with this invoice.
    Invoiced {
        invoice_id: i64,
        invoice_number: String,
    },
    /// The order was already paid (a second return, a replayed webhook): nothing changed.
    AlreadyPaid,
    /// Paid, but the number went to someone else while the hold had run out.
    NumberLost,
}

impl Completed {
    /// What happened, in words, for the audit log.
    pub fn describe(&self) -> String {
        match self {
            Completed::Invoiced { invoice_number, .. } => {
                format!("invoice {invoice_number} issued")
            }
            Completed::AlreadyPaid => "already paid; nothing changed".into(),
            Completed::NumberLost => {
                "paid after the hold ended; the number had gone to another buyer".into()
            }
        }
    }
}

pub struct Payment<'a> {
    pub capture_id: Option<&'a str>,
    pub customer_email: &'a str,
    pub customer_name: &'a str,
    /// The first month: from the purchase day to `paid_through` (dates, midnight UTC).
    pub period_start: i64,
    pub paid_through: i64,
    /// The day of the month renewals keep.
    pub anchor_day: i32,
    pub year: i32,
}

/// Marks an order paid, sells its number, records the purchased number and issues the
/// invoice with the next number of the year, all in the caller's transaction.
pub fn complete_payment(tx: &Tx<'_>, id: i64, p: &Payment<'_>, now: i64) -> Result<Completed> {
    // Money that moved is recorded whatever became of the order meanwhile (a late approval,
    // a race with the buyer's cancel): the table in domain/status.rs says from where.
    let row: Option<(i64, i64, i64, i64, String, String, i64)> = tx
        .query_row(
            &format!(
                "UPDATE orders SET payment_status = 'paid', capture_id = ?2, paid_at = ?3,
                        updated_at = ?3, failure = NULL
                 WHERE id = ?1 AND payment_status IN ({})
                 RETURNING user_id, number, setup_cents, monthly_cents, plan_name, currency, amount_cents",
                payment_sources(PaymentStatus::Paid)
            ),
            params![id, p.capture_id, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .optional()?;
    let Some((user_id, number, setup, monthly, plan_name, currency, total)) = row else {
        return Ok(Completed::AlreadyPaid);
    };
    // The number is this order's to take: held for it, or back on sale with nobody else
    // holding it. A hold of another buyer's live order is never taken over.
    let sold = tx.execute(
        "UPDATE numbers SET availability = 'sold', updated_at = ?2
         WHERE number = ?1 AND availability IN ('held', 'available')
           AND NOT EXISTS (SELECT 1 FROM orders
                           WHERE number = ?1 AND id <> ?3 AND payment_status = 'awaiting_payment')",
        params![number, now, id],
    )?;
    let taken_elsewhere: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM purchased_numbers WHERE number = ?1 AND status <> 'cancelled')",
        [number],
        |r| r.get(0),
    )?;
    if sold == 0 || taken_elsewhere {
        tx.execute(
            "UPDATE orders SET failure = 'paid after the number went to another buyer: refund it'
             WHERE id = ?1",
            [id],
        )?;
        return Ok(Completed::NumberLost);
    }
    tx.execute(
        "INSERT INTO purchased_numbers (order_id, user_id, number, paid_through, monthly_cents,
                                        anchor_day, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![
            id,
            user_id,
            number,
            p.paid_through,
            monthly,
            p.anchor_day,
            now
        ],
    )?;
    let (invoice_id, invoice_number) = insert_invoice(
        tx,
        &NewInvoice {
            order_id: id,
            year: p.year,
            customer_email: p.customer_email,
            customer_name: p.customer_name,
            total_cents: total,
            currency: &currency,
            kind: "first",
            period_start: p.period_start,
            period_end: p.paid_through,
            paid: true,
            capture_id: p.capture_id,
        },
        now,
    )?;
    let pretty = PhoneNumber::parse(&format!("{number:010}"))
        .map_or_else(|_| number.to_string(), |n| n.pretty());
    for (pos, (desc, cents)) in [
        (format!("Setup fee, {pretty}"), setup),
        (format!("First month, plan {plan_name}, {pretty}"), monthly),
    ]
    .into_iter()
    .enumerate()
    {
        tx.execute(
            "INSERT INTO invoice_lines (invoice_id, position, description, amount_cents)
             VALUES (?1, ?2, ?3, ?4)",
            params![invoice_id, pos as i64 + 1, desc, cents],
        )?;
    }
    Ok(Completed::Invoiced {
        invoice_id,
        invoice_number,
    })
}

/// An invoice to issue.
pub struct NewInvoice<'a> {
    pub order_id: i64,
    pub year: i32,
    pub customer_email: &'a str,
    pub customer_name: &'a str,
    pub total_cents: i64,
    pub currency: &'a str,
    /// `first` or `renewal`.
    pub kind: &'static str,
    pub period_start: i64,
    pub period_end: i64,
    /// Issued paid (a first purchase) or open (a renewal).
    pub paid: bool,
    pub capture_id: Option<&'a str>,
}

/// Issues an invoice with the next number of the year (one sequence for every kind, without
/// gaps: the number is taken in the caller's transaction).
pub fn insert_invoice(tx: &Tx<'_>, i: &NewInvoice<'_>, now: i64) -> Result<(i64, String)> {
    let seq: i64 = tx.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM invoices WHERE year = ?1",
        [i.year],
        |r| r.get(0),
    )?;
    let number = format!("INV-{}-{seq:06}", i.year);
    tx.execute(
        "INSERT INTO invoices (order_id, year, seq, number, issued_at, customer_email, customer_name,
                               total_cents, currency, kind, period_start, period_end, status,
                               paid_at, capture_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            i.order_id,
            i.year,
            seq,
            number,
            now,
            i.customer_email,
            i.customer_name,
            i.total_cents,
            i.currency,
            i.kind,
            i.period_start,
            i.period_end,
            if i.paid { "paid" } else { "open" },
            i.paid.then_some(now),
            i.capture_id
        ],
    )?;
    Ok((tx.last_insert_rowid(), number))
}

#[derive(Debug, Clone)]
pub struct Invoice {
    pub id: i64,
    pub order_id: i64,
    pub number: String,
    pub issued_at: i64,
    pub customer_email: String,
    pub customer_name: String,
    pub total_cents: i64,
    pub currency: String,
    pub lines: Vec<(String, i64)>,
    pub user_id: i64,
    /// `first` or `renewal`.
    pub kind: String,
    pub period_start: i64,
    pub period_end: i64,
    pub status: InvoiceStatus,
    pub paid_at: Option<i64>,
    pub capture_id: Option<String>,
    pub number_digits: String,
    /// How the order was paid: `paypal` or `manual`.
    pub gateway: String,
    /// The gateway's transaction id for this invoice's payment: its own capture, or for the
    /// first invoice the order's.
    pub payment_ref: Option<String>,
}

pub fn invoice(tx: &Tx<'_>, id: i64) -> Result<Option<Invoice>> {
    let head = tx
        .query_row(
            "SELECT i.id, i.order_id, i.number, i.issued_at, i.customer_email, i.customer_name,
                    i.total_cents, i.currency, o.user_id, i.kind, i.period_start, i.period_end,
                    i.status, i.paid_at, i.capture_id, o.number, o.gateway,
                    COALESCE(i.capture_id, CASE WHEN i.kind = 'first' THEN o.capture_id END)
             FROM invoices i JOIN orders o ON o.id = i.order_id WHERE i.id = ?1",
            [id],
            |r| {
                Ok(Invoice {
                    id: r.get(0)?,
                    order_id: r.get(1)?,
                    number: r.get(2)?,
                    issued_at: r.get(3)?,
                    customer_email: r.get(4)?,
                    customer_name: r.get(5)?,
                    total_cents: r.get(6)?,
                    currency: r.get(7)?,
                    lines: Vec::new(),
                    user_id: r.get(8)?,
                    kind: r.get(9)?,
                    period_start: r.get(10)?,
                    period_end: r.get(11)?,
                    status: r.get(12)?,
                    paid_at: r.get(13)?,
                    capture_id: r.get(14)?,
                    number_digits: format!("{:010}", r.get::<_, i64>(15)?),
                    gateway: r.get(16)?,
                    payment_ref: r.get(17)?,
                })
            },
        )
        .optional()?;
    let Some(mut inv) = head else {
        return Ok(None);
    };
    let mut stmt = tx.prepare_cached(
        "SELECT description, amount_cents FROM invoice_lines WHERE invoice_id = ?1 ORDER BY position",
    )?;
    inv.lines = stmt
        .query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Some(inv))
}

pub fn invoice_for_order(tx: &Tx<'_>, order_id: i64) -> Result<Option<i64>> {
    Ok(tx
        .query_row(
            "SELECT id FROM invoices WHERE order_id = ?1 AND kind = 'first'",
            [order_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether a webhook event was handled before.
pub fn webhook_seen(tx: &Tx<'_>, event_id: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM webhook_events WHERE event_id = ?1",
            [event_id],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Remembers a handled webhook event; false if it was already there.
pub fn record_webhook(
    tx: &Tx<'_>,
    event_id: &str,
    event_type: &str,
    order_id: Option<i64>,
    outcome: &str,
    now: i64,
) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "INSERT OR IGNORE INTO webhook_events (event_id, event_type, received_at, order_id, outcome)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![event_id, event_type, now, order_id, outcome],
    )?))
}

/// A credit note: the refund of an order's payment, numbered in its own gap-free sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNote {
    pub id: i64,
    pub order_id: i64,
    pub invoice_id: Option<i64>,
    pub number: String,
    pub issued_at: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub reason: String,
}

/// A paid order was refunded: the order says so, its purchased number is `cancelled` for good
/// and the number goes back on sale (only if this order owned it: a payment recorded after
/// the number went to someone else leaves that buyer's number alone), and a credit note is
/// issued with the next number of the year. `None` when the order was not paid (a second
/// refund, a replayed webhook): nothing changed.
pub fn refund(
    tx: &Tx<'_>,
    id: i64,
    reason: &str,
    year: i32,
    now: i64,
) -> Result<Option<CreditNote>> {
    let row: Option<(i64, i64, String)> = tx
        .query_row(
            &format!(
                "UPDATE orders SET payment_status = 'refunded', updated_at = ?2
                 WHERE id = ?1 AND payment_status IN ({}) RETURNING number, amount_cents, currency",
                payment_sources(PaymentStatus::Refunded)
            ),
            params![id, now],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((number, amount_cents, currency)) = row else {
        return Ok(None);
    };
    let owned = tx.execute(
        "UPDATE purchased_numbers SET status = 'cancelled', activating_since = NULL, updated_at = ?2
         WHERE order_id = ?1",
        params![id, now],
    )?;
    if owned > 0 {
        tx.execute(
            "UPDATE numbers SET availability = 'available', updated_at = ?2
             WHERE number = ?1 AND availability = 'sold'
               AND NOT EXISTS (SELECT 1 FROM purchased_numbers
                               WHERE number = ?1 AND order_id <> ?3 AND status <> 'cancelled')",
            params![number, now, id],
        )?;
    }
    let seq: i64 = tx.query_row(
        "SELECT coalesce(max(seq), 0) + 1 FROM credit_notes WHERE year = ?1",
        [year],
        |r| r.get(0),
    )?;
    let cn_number = format!("CN-{year}-{seq:06}");
    let invoice_id = invoice_for_order(tx, id)?;
    tx.execute(
        "INSERT INTO credit_notes (order_id, invoice_id, year, seq, number, issued_at, amount_cents,
                                   currency, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![id, invoice_id, year, seq, cn_number, now, amount_cents, currency, reason],
    )?;
    Ok(Some(CreditNote {
        id: tx.last_insert_rowid(),
        order_id: id,
        invoice_id,
        number: cn_number,
        issued_at: now,
        amount_cents,
        currency,
        reason: reason.to_string(),
    }))
}

pub fn credit_note_for_order(tx: &Tx<'_>, order_id: i64) -> Result<Option<CreditNote>> {
    Ok(tx
        .query_row(
            "SELECT id, order_id, invoice_id, number, issued_at, amount_cents, currency, reason
             FROM credit_notes WHERE order_id = ?1",
            [order_id],
            |r| {
                Ok(CreditNote {
                    id: r.get(0)?,
                    order_id: r.get(1)?,
                    invoice_id: r.get(2)?,
                    number: r.get(3)?,
                    issued_at: r.get(4)?,
                    amount_cents: r.get(5)?,
                    currency: r.get(6)?,
                    reason: r.get(7)?,
                })
            },
        )
        .optional()?)
}

/// The PayPal capture of a paid order, if it was paid through PayPal.
pub fn capture_of(tx: &Tx<'_>, id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT capture_id FROM orders WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?
        .flatten())
}
