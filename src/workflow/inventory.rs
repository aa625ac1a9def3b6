//! Bulk inventory: CSV import.

use std::io::Read;

use super::Internal;
use crate::domain::inventory::check_row;
use crate::store::Store;

/// Rows written per transaction: large enough to be fast, small enough not to hold the write
/// lock for long while the portal serves other requests.
const BATCH: usize = 50_000;
/// Bad rows listed in a report (all are counted).
pub const MAX_LISTED_PROBLEMS: usize = 1000;

#[derive(Debug, Default, Clone)]
pub struct ImportReport {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub bad: u64,
    /// (line, reason) of the first bad rows.
    pub problems: Vec<(u64, String)>,
    pub ignored_columns: Vec<String>,
}

#[derive(Debug)]
pub enum ImportError {
    /// The file as a whole cannot be read as the expected CSV.
    BadFile(String),
    Internal(Internal),
}

impl From<crate::store::Error> for ImportError {
    fn from(e: crate::store::Error) -> Self {
        ImportError::Internal(e.into())
    }
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportError::BadFile(m) => f.write_str(m),
            ImportError::Internal(e) => write!(f, "{e}"),
        }
    }
}

impl ImportReport {
    /// The report as a stored run by `actor` (`kind` is `upload` or `cli`).
    pub fn as_run(&self, at: i64, actor: &str, kind: &str) -> crate::store::imports::ImportRun {
        crate::store::imports::ImportRun {
            at,
            actor: actor.to_string(),
            kind: kind.to_string(),
            added: self.added as i64,
            updated: self.updated as i64,
            unchanged: self.unchanged as i64,
            bad: self.bad as i64,
            problems: self.problems.clone(),
            ..Default::default()
        }
    }
}

/// Where an import is, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Bytes of the file read and checked so far.
    Reading(u64),
    /// Rows written so far, of the total good rows.
    Writing(u64, u64),
}

/// A checked row, kept small so a million of them fit comfortably in memory.
struct Compact {
    number: i64,
    state: u8,
    tollfree: bool,
    rate_center: u32,
}

/// Imports a CSV with a header row naming `number` and optionally `state`, `rate_center`,
/// `type`. Good rows go in; bad rows are reported with their line numbers and skipped.
///
/// All rows are checked first, then written in number order: the number is the row id, so
/// ordered writes fill each database page once instead of revisiting pages at random.
pub fn import_csv(
    store: &Store,
    input: impl Read,
    now: i64,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let headers = rdr
        .headers()
        .map_err(|e| ImportError::BadFile(format!("the file cannot be read as CSV: {e}")))?
        .clone();
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let Some(col_number) = find("number") else {
        return Err(ImportError::BadFile(
            "the first line must be a header naming the columns, with a column called \"number\" \
             (and optionally state, rate_center, type)"
                .into(),
        ));
    };
    let (col_state, col_rc, col_type) = (find("state"), find("rate_center"), find("type"));
    let mut report = ImportReport {
        ignored_columns: headers
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_ascii_lowercase())
            .filter(|h| !["number", "state", "rate_center", "type"].contains(&h.as_str()))
            .collect(),
        ..ImportReport::default()
    };
    let mut rows: Vec<Compact> = Vec::new();
    let mut rate_centers: Vec<String> = vec![String::new()];
    let mut rc_index: std::collections::HashMap<String, u32> =
        std::collections::HashMap::from([(String::new(), 0)]);
    let mut record = csv::StringRecord::new();
    loop {
        let more = match rdr.read_record(&mut record) {
            Ok(m) => m,
            Err(e) => {
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(ImportError::BadFile(format!(
                        "reading the file failed: {e}"
                    )));
                }
                let line = e.position().map_or(0, |p| p.line());
                bad(&mut report, line, format!("unreadable: {e}"));
                continue;
            }
        };
        if !more {
            break;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(str::is_empty) {
            continue; // blank lines are not errors
        }
        let get = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or("");
        match check_row(
            get(Some(col_number)),
            get(col_state),
            get(col_rc),
            get(col_type),
        ) {
            Ok(row) => {
                let next = rate_centers.len() as u32;
                let rc = *rc_index.entry(row.rate_center.clone()).or_insert_with(|| {
                    rate_centers.push(row.rate_center.clone());
                    next
                });
                rows.push(Compact {
                    number: row.number.digits().parse().unwrap_or(0),
                    state: state_index(&row.state),
                    tollfree: row.kind == crate::domain::search::NumberType::TollFree,
                    rate_center: rc,
                });
            }
            Err(m) => bad(&mut report, line, m),
        }
        if rows.len().is_multiple_of(100_000) {
            progress(Progress::Reading(rdr.position().byte()));
        }
    }
    progress(Progress::Reading(rdr.position().byte()));
    // Later rows of the same number win, as if the file were applied line by line.
    rows.reverse();
    rows.sort_by_key(|r| r.number);
    rows.dedup_by_key(|r| r.number);
    let total = rows.len() as u64;
    let mut written = 0u64;
    for chunk in rows.chunks(BATCH) {
        write_batch(store, chunk, &rate_centers, now, &mut report)?;
        written += chunk.len() as u64;
        progress(Progress::Writing(written, total));
    }
    report.problems.sort_by_key(|(l, _)| *l);
    Ok(report)
}

fn state_index(code: &str) -> u8 {
    crate::domain::search::STATES
        .iter()
        .position(|(c, _)| *c == code)
        .map_or(0, |i| i as u8 + 1)
}

fn state_code(index: u8) -> &'static str {
    match index {
        0 => "",
        i => crate::domain::search::STATES
            .get(usize::from(i) - 1)
            .map_or("", |(c, _)| c),
    }
}

fn bad(report: &mut ImportReport, line: u64, reason: String) {
    report.bad += 1;
    if report.problems.len() < MAX_LISTED_PROBLEMS {
        report.problems.push((line, reason));
    }
}

fn write_batch(
    store: &Store,
    batch: &[Compact],
    rate_centers: &[String],
    now: i64,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    use crate::domain::search::NumberType;
    use crate::store::numbers::{BulkRow, bulk_upsert};
    let rows: Vec<BulkRow<'_>> = batch
        .iter()
        .map(|r| BulkRow {
            number: r.number,
            state: state_code(r.state),
            rate_center: rate_centers
                .get(r.rate_center as usize)
                .map_or("", String::as_str),
            kind: if r.tollfree {
                NumberType::TollFree
            } else {
                NumberType::Local
            },
        })
        .collect();
    let c = store.write(|tx| bulk_upsert(tx, &rows, "import", now))?;
    report.added += c.added;
    report.updated += c.updated;
    report.unchanged += c.unchanged;
    Ok(())
}

#[derive(Debug, Default, Clone)]
pub struct SyncReport {
    pub free_upstream: u64,
    pub added: u64,
    pub adopted: u64,
    pub removed: u64,
    pub frozen_skipped: u64,
}

#[derive(Debug)]
pub enum SyncError {
    NotConfigured,
    Upstream(String),
    Internal(Internal),
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::NotConfigured => {
                f.write_str("Telinta is not configured (DIDPORT_TELINTA_URL)")
            }
            SyncError::Upstream(m) => write!(f, "Telinta: {m}"),
            SyncError::Internal(e) => write!(f, "{e}"),
        }
    }
}

impl From<crate::store::Error> for SyncError {
    fn from(e: crate::store::Error) -> Self {
        SyncError::Internal(e.into())
    }
}

/// Pulls the free numbers of the Telinta DID inventory into the local inventory: new ones are
/// added, and available numbers known from Telinta that are no longer free there stop being
/// offered. Held and sold numbers are never touched. No transaction is open while Telinta is
/// asked.
pub fn sync(s: &super::Services, actor: &str) -> Result<SyncReport, SyncError> {
    let Some(telinta) = &s.telinta else {
        return Err(SyncError::NotConfigured);
    };
    let free = telinta
        .list_all_free_numbers(500)
        .map_err(|e| SyncError::Upstream(e.to_string()));
    let now = s.now();
    let free = match free {
        Ok(f) => f,
        Err(e) => {
            let msg = e.to_string();
            s.store.write(|tx| {
                crate::store::imports::record(
                    tx,
                    &crate::store::imports::ImportRun {
                        at: now,
                        actor: actor.to_string(),
                        kind: "sync".into(),
                        error: Some(msg.clone()),
                        ..Default::default()
                    },
                )
            })?;
            return Err(e);
        }
    };
    let mut report = SyncReport {
        free_upstream: free.len() as u64,
        ..SyncReport::default()
    };
    let mut keep: Vec<i64> = Vec::with_capacity(free.len());
    let mut numbers = Vec::with_capacity(free.len());
    for d in &free {
        if d.frozen || d.i_customer.is_some() {
            report.frozen_skipped += 1;
            continue;
        }
        if let Ok(n) = crate::domain::PhoneNumber::parse(&d.number) {
            keep.push(n.digits().parse().unwrap_or(0));
            numbers.push(n);
        }
    }
    keep.sort_unstable();
    for chunk in numbers.chunks(BATCH) {
        let (added, adopted) = s.store.write(|tx| {
            let mut added = 0u64;
            let mut adopted = 0u64;
            for n in chunk {
                match crate::store::numbers::adopt(tx, n, now)? {
                    crate::store::numbers::Adopted::Added => added += 1,
                    crate::store::numbers::Adopted::Adopted => adopted += 1,
                    crate::store::numbers::Adopted::Known => {}
                }
            }
            Ok::<_, crate::store::Error>((added, adopted))
        })?;
        report.added += added;
        report.adopted += adopted;
    }
    let removed = s.store.write(|tx| {
        let removed = crate::store::numbers::remove_missing(tx, "telinta", &keep)?;
        crate::store::imports::record(
            tx,
            &crate::store::imports::ImportRun {
                at: now,
                actor: actor.to_string(),
                kind: "sync".into(),
                added: report.added as i64,
                updated: report.adopted as i64,
                removed: removed as i64,
                ..Default::default()
            },
        )?;
        Ok::<_, crate::store::Error>(removed)
    })?;
    report.removed = removed as u64;
    log::info!(
        "inventory sync: {} free upstream, {} added, {} adopted, {} removed",
        report.free_upstream,
        report.added,
        report.adopted,
        report.removed
    );
    Ok(report)
}
