//! Bulk inventory: CSV import.

use std::io::Read;

use super::Internal;
use crate::domain::inventory::check_row;
use crate::store::Store;

/// Rows written per transaction: large enough to be fast, small enough not to hold the write
/// lock for long while the portal serves other requests.
const BATCH: usize = 100_000;
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

internal_errors!(ImportError);

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
    /// The line of the file the row came from, to report duplicates.
    line: u32,
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
    // Fields are trimmed here rather than by the reader, so a row's line breaks can be counted.
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(LineIndex::new(input));
    let headers = rdr
        .headers()
        .map_err(|e| ImportError::BadFile(format!("the file cannot be read as CSV: {e}")))?
        .clone();
    let header_name = |h: &str| h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
    let find = |name: &str| headers.iter().position(|h| header_name(h) == name);
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
            .map(header_name)
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
                let line = rdr.get_ref().line_before(rdr.position().byte());
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { err, .. } => format!(
                        "field {} is not UTF-8 text; save the file as UTF-8",
                        err.field() + 1
                    ),
                    _ => format!("unreadable: {e}"),
                };
                bad(&mut report, line, why);
                continue;
            }
        };
        if !more {
            break;
        }
        // The line where the row starts, as an editor numbers it: the csv crate's own count
        // is off after CRLF line ends and skipped blank lines.
        let end_line = rdr.get_ref().line_before(rdr.position().byte());
        let line = end_line.saturating_sub(line_breaks(&record));
        let end = rdr.position().byte();
        rdr.get_mut().forget_before(end);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue; // blank lines are not errors
        }
        let get = |c: Option<usize>| c.and_then(|i| record.get(i)).unwrap_or("").trim();
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
                    line: u32::try_from(line).unwrap_or(u32::MAX),
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
    // Later rows of the same number win, as if the file were applied line by line; the
    // earlier ones are skipped and reported, since a number twice is usually a mistake.
    rows.reverse();
    rows.sort_by_key(|r| r.number);
    let mut kept: Option<(i64, u32)> = None;
    for r in &rows {
        match kept {
            Some((number, used)) if number == r.number => bad(
                &mut report,
                u64::from(r.line),
                format!("the same number as line {used}, which was used instead"),
            ),
            _ => kept = Some((r.number, r.line)),
        }
    }
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

/// Passes a file through to the CSV reader while noting where its lines start (after `\n`,
/// `\r\n` or a lone `\r`), so rows can be reported by the line numbers an editor shows.
struct LineIndex<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets where a line starts (after the first), still needed.
    starts: std::collections::VecDeque<u64>,
    /// Lines known to start before every offset in `starts`.
    forgotten: u64,
    /// Offset just after the last `\r`, to join `\r\n` across reads.
    after_cr: Option<u64>,
}

impl<R: Read> LineIndex<R> {
    fn new(inner: R) -> Self {
        LineIndex {
            inner,
            offset: 0,
            starts: std::collections::VecDeque::new(),
            forgotten: 0,
            after_cr: None,
        }
    }

    /// The line (from 1) of the byte just before offset `end`: the last line of a row the
    /// reader finished at `end`.
    fn line_before(&self, end: u64) -> u64 {
        let at = end.saturating_sub(1);
        let later = self.starts.iter().take_while(|&&s| s <= at).count() as u64;
        1 + self.forgotten + later
    }

    /// Drops what is no longer needed once the reader is at `end`.
    fn forget_before(&mut self, end: u64) {
        let at = end.saturating_sub(1);
        while self.starts.front().is_some_and(|&s| s <= at) {
            self.starts.pop_front();
            self.forgotten += 1;
        }
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf.iter().take(n).enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\n' if self.after_cr == Some(at) => {
                    // `\r\n`: one line break, the line starts after the `\n`.
                    if let Some(last) = self.starts.back_mut() {
                        *last = at + 1;
                    }
                }
                b'\n' => self.starts.push_back(at + 1),
                b'\r' => {
                    self.starts.push_back(at + 1);
                    self.after_cr = Some(at + 1);
                }
                _ => {}
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Line breaks inside a row's fields (a quoted field may span lines).
fn line_breaks(record: &csv::StringRecord) -> u64 {
    record
        .iter()
        .map(|f| {
            (f.matches('\n').count() + f.matches('\r').count() - f.matches("\r\n").count()) as u64
        })
        .sum()
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

internal_errors!(SyncError);

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

/// An admin's CSV upload: imports `input` (see `import_csv`), then records the run and its
/// audit row in one transaction. Returns the report and the stored run's id.
pub fn import_upload(
    s: &super::Services,
    admin: &crate::store::users::User,
    filename: Option<&str>,
    input: impl Read,
    address: &str,
) -> Result<(ImportReport, i64), ImportError> {
    let now = s.now();
    let report = import_csv(&s.store, input, now, &mut |_| {})?;
    let run = report.as_run(now, &admin.email, "upload");
    let id = super::change(s, now, |tx, r| {
        let id = crate::store::imports::record(tx, &run)?;
        r.audit(&crate::store::audit::Entry {
            actor_id: Some(admin.id),
            actor: &admin.email,
            action: "numbers_import",
            subject: filename.unwrap_or("upload"),
            outcome: crate::store::audit::Outcome::Ok,
            detail: &format!(
                "{} added, {} updated, {} bad rows",
                report.added, report.updated, report.bad
            ),
            address,
        })?;
        Ok::<_, crate::store::Error>(id)
    })?;
    Ok((report, id))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::PhoneNumber;
    use proptest::prelude::*;

    /// One line of a generated file and what the importer must make of it.
    #[derive(Debug, Clone)]
    enum Line {
        Good {
            number: String,
            written: String,
            state: &'static str,
            rate_center: String,
            kind: &'static str,
        },
        Bad([String; 4]),
        Blank(String),
    }

    const COLUMNS: [&str; 4] = ["number", "state", "rate_center", "type"];

    fn good() -> impl Strategy<Value = Line> {
        (
            proptest::sample::select(vec!["212", "646", "800", "917"]),
            0u16..40,
            0usize..4,
            proptest::sample::select(vec!["", "NY", "ny", "New York", "CA"]),
            prop_oneof![
                Just(String::new()),
                "[A-Z ]{1,20}",
                Just("NEW YORK, NY".to_string()),
                Just("<script>alert(1)</script>".to_string()),
                Just("\"><img src=x onerror=alert(1)>".to_string()),
                Just("O'HARE; DROP TABLE numbers --".to_string()),
            ],
            any::<bool>(),
        )
            .prop_map(|(npa, line, style, state, rc, typed)| {
                let number = format!("{npa}555{line:04}");
                let written = match style {
                    0 => number.clone(),
                    1 => format!("1{number}"),
                    2 => format!("+1 ({npa}) 555-{line:04}"),
                    _ => format!("{npa}.555.{line:04}"),
                };
                let kind = match (typed, npa == "800") {
                    (false, _) => "",
                    (true, true) => "tollfree",
                    (true, false) => "local",
                };
                let state = match state {
                    "ny" | "New York" => "NY",
                    s => s,
                };
                Line::Good {
                    number,
                    written,
                    state,
                    rate_center: rc.trim().to_string(),
                    kind,
                }
            })
    }

    fn bad() -> impl Strategy<Value = Line> {
        prop_oneof![
            "[0-9]{0,9}|[a-z]{1,10}|\\+2125550000|0125550000".prop_map(|n| [
                n,
                String::new(),
                String::new(),
                String::new()
            ]),
            Just([
                "2125550001".into(),
                "ZZ".into(),
                String::new(),
                String::new()
            ]),
            Just([
                "2125550002".into(),
                String::new(),
                String::new(),
                "mobile".into()
            ]),
            Just([
                "2125550003".into(),
                String::new(),
                String::new(),
                "tollfree".into()
            ]),
            Just([
                "2125550004".into(),
                String::new(),
                "X".repeat(61),
                String::new()
            ]),
            Just([
                "' OR 1=1 --".into(),
                String::new(),
                String::new(),
                String::new()
            ]),
        ]
        .prop_map(Line::Bad)
    }

    fn line() -> impl Strategy<Value = Line> {
        prop_oneof![
            6 => good(),
            3 => bad(),
            1 => proptest::sample::select(vec!["", ",,,", " , ,"]).prop_map(|s| Line::Blank(s.to_string())),
        ]
    }

    /// A CSV field, quoted when it has to be (and sometimes when it does not).
    fn field(v: &str, quote: bool) -> String {
        if quote || v.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", v.replace('"', "\"\""))
        } else {
            v.to_string()
        }
    }

    fn file(lines: &[Line], order: &[usize], quote: bool, bom: bool) -> String {
        let mut out = String::new();
        if bom {
            out.push('\u{feff}');
        }
        let header: Vec<&str> = order.iter().map(|&i| COLUMNS[i]).collect();
        out.push_str(&header.join(","));
        out.push_str(",notes\r\n");
        for l in lines {
            let cells: [String; 4] = match l {
                Line::Good {
                    written,
                    state,
                    rate_center,
                    kind,
                    ..
                } => [
                    written.clone(),
                    state.to_string(),
                    rate_center.clone(),
                    kind.to_string(),
                ],
                Line::Bad(cells) => cells.clone(),
                Line::Blank(raw) => {
                    out.push_str(raw);
                    out.push('\n');
                    continue;
                }
            };
            let row: Vec<String> = order.iter().map(|&i| field(&cells[i], quote)).collect();
            out.push_str(&row.join(","));
            out.push_str(",\"a note, with a comma\"\n");
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The importer reports exactly the bad rows by line number, imports exactly the good
        /// ones (the last row of a number wins), and skips blank lines.
        #[test]
        fn import_matches_the_model(
            lines in proptest::collection::vec(line(), 0..40),
            order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
            quote in any::<bool>(),
            bom in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("db"), 2).unwrap();
            let text = file(&lines, &order, quote, bom);
            let report = import_csv(&store, text.as_bytes(), 0, &mut |_| {}).unwrap();

            // Bad rows, and good rows whose number comes again on a later line.
            let bad_lines: Vec<u64> = lines
                .iter()
                .enumerate()
                .filter(|(i, l)| match l {
                    Line::Bad(_) => true,
                    Line::Good { number, .. } => lines[i + 1..].iter().any(
                        |later| matches!(later, Line::Good { number: n, .. } if n == number),
                    ),
                    _ => false,
                })
                .map(|(i, _)| i as u64 + 2)
                .collect();
            let got_lines: Vec<u64> = report.problems.iter().map(|(l, _)| *l).collect();
            prop_assert_eq!(got_lines, bad_lines.clone(), "{}", text);
            prop_assert_eq!(report.bad, bad_lines.len() as u64);
            prop_assert_eq!(report.ignored_columns.clone(), vec!["notes".to_string()]);

            let mut expected: std::collections::BTreeMap<String, (&str, String, &str)> =
                Default::default();
            for l in &lines {
                if let Line::Good { number, state, rate_center, .. } = l {
                    let kind = if number.starts_with("800") { "tollfree" } else { "local" };
                    expected.insert(number.clone(), (state, rate_center.clone(), kind));
                }
            }
            prop_assert_eq!(report.added, expected.len() as u64);
            let counts = store.read(crate::store::numbers::counts).unwrap();
            prop_assert_eq!(counts.available, expected.len() as i64);
            for (number, (state, rc, kind)) in &expected {
                let n = PhoneNumber::parse(number).unwrap();
                let row = store.read(|tx| crate::store::numbers::get(tx, &n)).unwrap();
                prop_assert!(row.is_some(), "{} missing", number);
                let row = row.unwrap();
                prop_assert_eq!(&row.state, state);
                prop_assert_eq!(&row.rate_center, rc);
                prop_assert_eq!(row.kind.as_str(), *kind);
            }
        }
    }

    #[test]
    fn a_number_twice_is_reported_and_the_later_line_used() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let text = "number,state\n2125550100,NY\n2125550101,NY\n2125550100,NJ\n";
        let report = import_csv(&store, text.as_bytes(), 0, &mut |_| {}).unwrap();
        assert_eq!(report.added, 2);
        assert_eq!(report.bad, 1);
        assert_eq!(
            report.problems,
            [(
                2,
                "the same number as line 4, which was used instead".to_string()
            )]
        );
        let n = PhoneNumber::parse("2125550100").unwrap();
        let row = store.read(|tx| crate::store::numbers::get(tx, &n)).unwrap();
        assert_eq!(row.map(|r| r.state).as_deref(), Some("NJ"));
    }

    #[test]
    fn bad_rows_are_reported_by_the_lines_an_editor_shows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let cases: [(&str, &[u64]); 5] = [
            ("number\r\nx\r\n2125550100\r\ny\r\n", &[2, 4]),
            ("number\n2125550100\n\n\ny\n", &[5]),
            ("number\r\n\r\nx\r\n", &[3]),
            ("number\rx\r2125550100\ry\r", &[2, 4]),
            (
                "number,rate_center\n2125550100,\"two\nlines\"\nx,\"a\r\nb\"\ny\n",
                &[2, 4, 6],
            ),
        ];
        for (text, lines) in cases {
            let report = import_csv(&store, text.as_bytes(), 0, &mut |_| {}).unwrap();
            let got: Vec<u64> = report.problems.iter().map(|(l, _)| *l).collect();
            assert_eq!(got, lines, "{text:?}: {:?}", report.problems);
        }
        let report =
            import_csv(&store, &b"number\n\xff\n2125550100\n"[..], 0, &mut |_| {}).unwrap();
        assert_eq!(report.problems.len(), 1);
        assert_eq!(report.problems[0].0, 2);
        assert!(
            report.problems[0].1.contains("UTF-8"),
            "{:?}",
            report.problems
        );
    }

    #[test]
    fn a_file_without_a_number_column_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        for text in ["", "state,type\nNY,local\n", "\u{feff}"] {
            let r = import_csv(&store, text.as_bytes(), 0, &mut |_| {});
            assert!(matches!(r, Err(ImportError::BadFile(_))), "{text:?}");
        }
    }
}
