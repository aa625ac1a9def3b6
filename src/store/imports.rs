//! Reports of inventory imports and syncs.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};

#[derive(Debug, Clone, Default)]
pub struct ImportRun {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub kind: String,
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub removed: i64,
    pub bad: i64,
    pub problems: Vec<(u64, String)>,
    pub error: Option<String>,
}

pub fn record(tx: &Tx<'_>, r: &ImportRun) -> Result<i64> {
    let problems = serde_json::to_string(&r.problems).unwrap_or_else(|_| "[]".into());
    tx.execute(
        "INSERT INTO imports (at, actor, kind, added, updated, unchanged, removed, bad, problems, error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            r.at, r.actor, r.kind, r.added, r.updated, r.unchanged, r.removed, r.bad, problems,
            r.error
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportRun> {
    let problems: String = r.get(9)?;
    Ok(ImportRun {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        kind: r.get(3)?,
        added: r.get(4)?,
        updated: r.get(5)?,
        unchanged: r.get(6)?,
        removed: r.get(7)?,
        bad: r.get(8)?,
        problems: serde_json::from_str(&problems).unwrap_or_default(),
        error: r.get(10)?,
    })
}

const COLUMNS: &str =
    "id, at, actor, kind, added, updated, unchanged, removed, bad, problems, error";

pub fn get(tx: &Tx<'_>, id: i64) -> Result<Option<ImportRun>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM imports WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

pub fn recent(tx: &Tx<'_>, limit: i64) -> Result<Vec<ImportRun>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM imports ORDER BY id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
