//! The audit log: who changed what, when, and the outcome. Callers never pass secrets.

use rusqlite::params;

use super::{Result, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Refused => "refused",
        }
    }

    pub fn parse(word: &str) -> Option<Self> {
        [Outcome::Ok, Outcome::Failed, Outcome::Refused]
            .into_iter()
            .find(|o| o.as_str() == word)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

pub struct Entry<'a> {
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub outcome: Outcome,
    pub detail: &'a str,
    pub address: &'a str,
}

pub fn record(tx: &Tx<'_>, now: i64, e: &Entry<'_>) -> Result<()> {
    tx.execute(
        "INSERT INTO audit (at, actor_id, actor, action, subject, outcome, detail, address)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            now,
            e.actor_id,
            e.actor,
            e.action,
            e.subject,
            e.outcome.as_str(),
            e.detail,
            e.address
        ],
    )?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Row {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: Outcome,
    pub detail: String,
    pub address: String,
}

/// What the audit page is narrowed to; `None` is everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Part of the actor's email, as typed.
    pub actor: Option<String>,
    /// Digits of a phone number the entry is about.
    pub number: Option<String>,
    /// One action code (`number_status`).
    pub action: Option<String>,
}

fn like(v: &str) -> String {
    let escaped = v
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Newest first, `limit` rows before the id `before` (or from the newest).
pub fn list(tx: &Tx<'_>, before: Option<i64>, limit: i64) -> Result<Vec<Row>> {
    list_filtered(tx, &Filter::default(), before, limit)
}

/// As [`list`], narrowed by `f`.
pub fn list_filtered(tx: &Tx<'_>, f: &Filter, before: Option<i64>, limit: i64) -> Result<Vec<Row>> {
    let mut stmt = tx.prepare_cached(
        "SELECT id, at, actor, action, subject, outcome, detail, address FROM audit
         WHERE id < ?1
           AND (?3 IS NULL OR actor LIKE ?3 ESCAPE '\\')
           AND (?4 IS NULL OR subject LIKE ?4 ESCAPE '\\' OR detail LIKE ?4 ESCAPE '\\')
           AND (?5 IS NULL OR action = ?5)
         ORDER BY id DESC LIMIT ?2",
    )?;
    let actor = f.actor.as_deref().map(like);
    let number = f.number.as_deref().map(like);
    let args = params![before.unwrap_or(i64::MAX), limit, actor, number, f.action];
    let rows = stmt.query_map(args, |r| {
        Ok(Row {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            outcome: r.get(5)?,
            detail: r.get(6)?,
            address: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
