//! The outbox: notifications waiting for, or done with, delivery.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};
use crate::domain::{MailEvent, OutboxStatus};

pub struct NewMail<'a> {
    pub event: MailEvent,
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The HTML alternative, when the message has one (docs/contract.md §6).
    pub html: Option<&'a str>,
}

pub fn enqueue(tx: &Tx<'_>, mail: &NewMail<'_>, now: i64) -> Result<i64> {
    tx.execute(
        "INSERT INTO outbox (event, to_addr, subject, body, html, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![
            mail.event.as_str(),
            mail.to,
            mail.subject,
            mail.body,
            mail.html,
            now
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

#[derive(Debug, Clone)]
pub struct Mail {
    pub id: i64,
    pub event: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub html: Option<String>,
    pub created_at: i64,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "id, event, to_addr, subject, body, created_at, status, attempts, \
                       next_attempt_at, last_error, sent_at, html";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Mail> {
    Ok(Mail {
        id: r.get(0)?,
        event: r.get(1)?,
        to: r.get(2)?,
        subject: r.get(3)?,
        body: r.get(4)?,
        created_at: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_error: r.get(9)?,
        sent_at: r.get(10)?,
        html: r.get(11)?,
    })
}

/// Queued messages whose next attempt is due, oldest first.
pub fn due(tx: &Tx<'_>, now: i64, limit: i64) -> Result<Vec<Mail>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE status = 'queued' AND next_attempt_at <= ?1
         ORDER BY id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// When the next queued message falls due, if any.
pub fn next_due_at(tx: &Tx<'_>) -> Result<Option<i64>> {
    Ok(tx
        .query_row(
            "SELECT min(next_attempt_at) FROM outbox WHERE status = 'queued'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub fn mark_sent(tx: &Tx<'_>, id: i64, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = ?2, last_error = NULL
         WHERE id = ?1 AND status = 'queued'",
        params![id, now],
    )?;
    Ok(())
}

pub fn mark_retry(tx: &Tx<'_>, id: i64, error: &str, next_attempt_at: i64) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?3
         WHERE id = ?1 AND status = 'queued'",
        params![id, error, next_attempt_at],
    )?;
    Ok(())
}

pub fn mark_failed(tx: &Tx<'_>, id: i64, error: &str) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?2
         WHERE id = ?1 AND status = 'queued'",
        params![id, error],
    )?;
    Ok(())
}

/// Puts a failed or waiting message back at the front of the queue.
pub fn retry_now(tx: &Tx<'_>, id: i64, now: i64) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE outbox SET status = 'queued', next_attempt_at = ?2
         WHERE id = ?1 AND status IN ('queued', 'failed')",
        params![id, now],
    )?))
}

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<Mail>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Newest first; `status` filters when given.
pub fn list(
    tx: &Tx<'_>,
    status: Option<OutboxStatus>,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<Mail>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM outbox WHERE (?1 IS NULL OR status = ?1) AND id < ?2
         ORDER BY id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![status, before.unwrap_or(i64::MAX), limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct OutboxCounts {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
}

pub fn counts(tx: &Tx<'_>) -> Result<OutboxCounts> {
    let mut c = OutboxCounts::default();
    let mut stmt = tx.prepare_cached("SELECT status, count(*) FROM outbox GROUP BY status")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, OutboxStatus>(0)?, r.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (status, n) = row?;
        match status {
            OutboxStatus::Queued => c.queued = n,
            OutboxStatus::Sent => c.sent = n,
            OutboxStatus::Failed => c.failed = n,
        }
    }
    Ok(c)
}
