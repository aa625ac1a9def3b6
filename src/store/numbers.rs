//! The inventory of numbers for sale. The number is the row id (an integer), so prefix
//! searches are row-id ranges and results come back in number order.

use compact_str::CompactString;
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use super::{Result, Tx};
use crate::domain::PhoneNumber;
use crate::domain::search::{MatchMode, NumberType, Search};

/// A number of the inventory. Its text fields are short (ten digits, a state code, a rate
/// center) and kept inline, without an allocation each: a results page reads fifty rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRow {
    pub number: CompactString,
    pub state: CompactString,
    pub rate_center: CompactString,
    pub kind: NumberType,
    /// `available`, `held` or `sold` (the schema allows nothing else).
    pub availability: &'static str,
    /// `import`, `telinta` or `demo`.
    pub source: &'static str,
}

impl NumberRow {
    pub fn npa(&self) -> &str {
        &self.number[..3]
    }
    pub fn nxx(&self) -> &str {
        &self.number[3..6]
    }
}

/// The ten digits of a stored number (a results page turns fifty into text).
fn digits(n: i64) -> CompactString {
    let mut out = [b'0'; 10];
    let mut rest = n.unsigned_abs();
    for d in out.iter_mut().rev() {
        *d = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    if rest > 0 || n < 0 {
        return compact_str::format_compact!("{n:010}");
    }
    // Ten ASCII digits.
    CompactString::from_utf8_lossy(&out)
}

fn as_int(n: &PhoneNumber) -> i64 {
    n.digits().parse().unwrap_or(0)
}

const COLUMNS: &str = "number, state, rate_center, type, availability, source";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NumberRow> {
    // The type, availability and source are fixed words the schema's CHECKs allow; they are
    // told apart by their bytes, without a string (or a UTF-8 check) a row.
    Ok(NumberRow {
        number: digits(r.get(0)?),
        state: CompactString::new(r.get_ref(1)?.as_str()?),
        rate_center: CompactString::new(r.get_ref(2)?.as_str()?),
        kind: match r.get_ref(3)?.as_bytes()? {
            b"tollfree" => NumberType::TollFree,
            _ => NumberType::Local,
        },
        availability: match r.get_ref(4)?.as_bytes()? {
            b"held" => "held",
            b"sold" => "sold",
            _ => "available",
        },
        source: match r.get_ref(5)?.as_bytes()? {
            b"telinta" => "telinta",
            b"demo" => "demo",
            _ => "import",
        },
    })
}

pub struct NewNumber<'a> {
    pub number: &'a PhoneNumber,
    pub state: &'a str,
    pub rate_center: &'a str,
    /// `None` infers the type from the area code.
    pub kind: Option<NumberType>,
    pub source: &'a str,
}

fn kind_of(n: &NewNumber<'_>) -> NumberType {
    n.kind.unwrap_or(if n.number.is_toll_free() {
        NumberType::TollFree
    } else {
        NumberType::Local
    })
}

/// Adds numbers that are not in the inventory yet; existing ones are left alone.
/// Returns how many were added.
pub fn insert_new(tx: &Tx<'_>, rows: &[NewNumber<'_>], now: i64) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "INSERT INTO numbers (number, npa, nxx, state, rate_center, type, source, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT (number) DO NOTHING",
    )?;
    let mut added = 0;
    for n in rows {
        let new = stmt.execute(params![
            as_int(n.number),
            n.number.npa(),
            n.number.nxx(),
            n.state,
            n.rate_center,
            kind_of(n).as_str(),
            n.source,
            now
        ])?;
        if new > 0 {
            add_windows(tx, as_int(n.number))?;
        }
        added += new;
    }
    Ok(added)
}

/// The divisors that cut a 10-digit number's seven 4-digit windows out of it (`number / d %
/// 10000`), in the order the digits appear.
const WINDOW_DIVISORS: [i64; 7] = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/// Writes the digit windows of one number just added (a number may repeat a window, as
/// 2125552222 does `2222`; it is kept once), with its profile while it is available.
fn add_windows(tx: &Tx<'_>, number: i64) -> Result<()> {
    tx.prepare_cached(
        "INSERT OR IGNORE INTO number_profiles (state, rate_center, type, source)
         SELECT state, rate_center, type, source FROM numbers WHERE number = ?1",
    )?
    .execute([number])?;
    let profile: Option<i64> = tx
        .prepare_cached(
            "SELECT p.id FROM numbers AS n
             JOIN number_profiles AS p
               ON p.state = n.state AND p.rate_center = n.rate_center
              AND p.type = n.type AND p.source = n.source
             WHERE n.number = ?1 AND n.availability = 'available'",
        )?
        .query_row([number], |r| r.get(0))
        .optional()?;
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO numbers_windows (digits, number, profile) VALUES (?1, ?2, ?3)",
    )?;
    for d in WINDOW_DIVISORS {
        stmt.execute(params![(number / d) % 10000, number, profile])?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Added,
    Updated,
    Unchanged,
}

/// Adds a number, or refreshes the location and type of one already there. Availability is
/// never touched: a held or sold number stays held or sold.
pub fn upsert(tx: &Tx<'_>, n: &NewNumber<'_>, now: i64) -> Result<Upserted> {
    let mut find =
        tx.prepare_cached("SELECT state, rate_center, type FROM numbers WHERE number = ?1")?;
    let existing: Option<(String, String, String)> = find
        .query_row([as_int(n.number)], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let kind = kind_of(n).as_str();
    match existing {
        None => {
            let mut ins = tx.prepare_cached(
                "INSERT INTO numbers (number, npa, nxx, state, rate_center, type, source, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
            )?;
            ins.execute(params![
                as_int(n.number),
                n.number.npa(),
                n.number.nxx(),
                n.state,
                n.rate_center,
                kind,
                n.source,
                now
            ])?;
            add_windows(tx, as_int(n.number))?;
            Ok(Upserted::Added)
        }
        Some((state, rc, k)) if state == n.state && rc == n.rate_center && k == kind => {
            Ok(Upserted::Unchanged)
        }
        Some(_) => {
            let mut upd = tx.prepare_cached(
                "UPDATE numbers SET state = ?2, rate_center = ?3, type = ?4, updated_at = ?5
                 WHERE number = ?1",
            )?;
            upd.execute(params![as_int(n.number), n.state, n.rate_center, kind, now])?;
            Ok(Upserted::Updated)
        }
    }
}

/// One row of a bulk import.
pub struct BulkRow<'a> {
    pub number: i64,
    pub state: &'a str,
    pub rate_center: &'a str,
    pub kind: NumberType,
}

/// NumberCounts of what a bulk write did.
#[derive(Debug, Default, Clone, Copy)]
pub struct BulkCounts {
    pub added: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// Writes many rows at once, through a staging table: one `INSERT … SELECT` in number order
/// per batch instead of a statement a row.
/// Existing numbers get their location and type refreshed; availability is never touched.
pub fn bulk_upsert(
    tx: &Tx<'_>,
    rows: &[BulkRow<'_>],
    source: &str,
    now: i64,
) -> Result<BulkCounts> {
    // The digit windows of a batch land all over their index; a page cache that holds the
    // whole index while the batch is written turns those into memory writes. Back to the
    // normal size at the end, so a long-lived connection does not keep the memory.
    tx.execute_batch("PRAGMA cache_size = -262144")?;
    let counts = bulk_write(tx, rows, source, now);
    tx.execute_batch(&format!("PRAGMA cache_size = {}", super::CACHE_SIZE))?;
    counts
}

fn bulk_write(tx: &Tx<'_>, rows: &[BulkRow<'_>], source: &str, now: i64) -> Result<BulkCounts> {
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS import_rows (
             number INTEGER PRIMARY KEY, state TEXT NOT NULL, rate_center TEXT NOT NULL,
             type TEXT NOT NULL
         );
         DELETE FROM temp.import_rows;",
    )?;
    {
        let mut stage = tx.prepare_cached(
            "INSERT OR REPLACE INTO temp.import_rows (number, state, rate_center, type)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        for r in rows {
            stage.execute(params![r.number, r.state, r.rate_center, r.kind.as_str()])?;
        }
    }
    let staged: i64 = tx.query_row("SELECT count(*) FROM temp.import_rows", [], |r| r.get(0))?;
    let updated = tx.execute(
        "UPDATE numbers SET state = i.state, rate_center = i.rate_center, type = i.type,
                updated_at = ?1
         FROM temp.import_rows AS i
         WHERE numbers.number = i.number
           AND (numbers.state, numbers.rate_center, numbers.type) IS NOT (i.state, i.rate_center, i.type)",
        [now],
    )?;
    // The new numbers' windows first, the whole batch sorted by the windows' key: the index
    // is then written in one ordered pass instead of seven random inserts a number (for a
    // million numbers, about half the import's time). New numbers are available, so their
    // windows carry their profile. The windows go in before their numbers: a caller whose
    // insert of the numbers fails must roll the whole transaction back (as every caller's
    // `Store::write` does), or "contains" would find windows without numbers.
    tx.execute(
        "INSERT OR IGNORE INTO number_profiles (state, rate_center, type, source)
         SELECT DISTINCT i.state, i.rate_center, i.type, ?1 FROM temp.import_rows AS i
         WHERE NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = i.number)",
        [source],
    )?;
    tx.execute(
        "INSERT OR IGNORE INTO numbers_windows (digits, number, profile)
         SELECT (i.number / d.column1) % 10000 AS digits, i.number, p.id
         FROM temp.import_rows AS i
         JOIN number_profiles AS p
           ON p.state = i.state AND p.rate_center = i.rate_center AND p.type = i.type
          AND p.source = ?1,
              (VALUES (1000000), (100000), (10000), (1000), (100), (10), (1)) AS d
         WHERE NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = i.number)
         ORDER BY digits, i.number",
        [source],
    )?;
    let added = tx.execute(
        "INSERT INTO numbers (number, npa, nxx, state, rate_center, type, source, created_at, updated_at)
         SELECT i.number, substr(i.number, 1, 3), substr(i.number, 4, 3), i.state, i.rate_center,
                i.type, ?1, ?2, ?2
         FROM temp.import_rows AS i
         WHERE NOT EXISTS (SELECT 1 FROM numbers n WHERE n.number = i.number)
         ORDER BY i.number",
        params![source, now],
    )?;
    tx.execute("DELETE FROM temp.import_rows", [])?;
    Ok(BulkCounts {
        added: added as u64,
        updated: updated as u64,
        unchanged: (staged as u64).saturating_sub(added as u64 + updated as u64),
    })
}

pub fn get(tx: &Tx<'_>, number: &PhoneNumber) -> Result<Option<NumberRow>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM numbers WHERE number = ?1"),
            [as_int(number)],
            from_row,
        )
        .optional()?)
}

pub fn count_available(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM numbers WHERE availability = 'available'",
        [],
        |r| r.get(0),
    )?)
}

#[derive(Debug, Default, Clone, Copy)]
pub struct NumberCounts {
    pub available: i64,
    pub held: i64,
    pub sold: i64,
}

pub fn counts(tx: &Tx<'_>) -> Result<NumberCounts> {
    let mut c = NumberCounts::default();
    let mut stmt =
        tx.prepare_cached("SELECT availability, count(*) FROM numbers GROUP BY availability")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (a, n) = row?;
        match a.as_str() {
            "available" => c.available = n,
            "held" => c.held = n,
            _ => c.sold = n,
        }
    }
    Ok(c)
}

/// Removes available numbers from `source` that are not in `keep` (sorted); returns how many.
/// Held and sold numbers are never removed.
pub fn remove_missing(tx: &Tx<'_>, source: &str, keep: &[i64]) -> Result<usize> {
    let mut stmt = tx.prepare_cached(
        "SELECT number FROM numbers WHERE source = ?1 AND availability = 'available'",
    )?;
    let present: Vec<i64> = stmt
        .query_map([source], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut del =
        tx.prepare_cached("DELETE FROM numbers WHERE number = ?1 AND availability = 'available'")?;
    let mut removed = 0;
    for n in present {
        if keep.binary_search(&n).is_err() {
            removed += del.execute([n])?;
        }
    }
    Ok(removed)
}

/// One range of the digit windows, in number order.
const WINDOW_RANGE: &str =
    "SELECT number FROM numbers_windows WHERE digits = ? AND number BETWEEN ? AND ?";
/// One range of the last-four index, in number order.
const LAST_FOUR_RANGE: &str =
    "SELECT number FROM numbers WHERE number % 10000 = ? AND number BETWEEN ? AND ?";

/// A query over the union of index ranges (`(part, key)`, each within `lo..=hi`), which SQLite
/// merges in number order so a page reads only as far as it needs; its arguments go to `args`.
fn merged_ranges(
    n_cols: &str,
    ranges: impl Iterator<Item = (&'static str, i64)>,
    (lo, hi): (i64, i64),
    args: &mut Vec<Value>,
) -> String {
    let mut parts = Vec::new();
    for (part, key) in ranges {
        parts.push(part);
        args.extend([Value::Integer(key), Value::Integer(lo), Value::Integer(hi)]);
    }
    format!(
        "SELECT {n_cols} FROM ({} ORDER BY 1) AS w JOIN numbers n ON n.number = w.number",
        parts.join(" UNION ")
    )
}

/// One page of available numbers matching a search, plus whether there is another page.
pub fn search(tx: &Tx<'_>, s: &Search) -> Result<(Vec<NumberRow>, bool)> {
    search_first(tx, s, None)
}

/// As [`search`], with numbers of type `first` ahead of the others (a sort by price, when
/// that type's plans are cheaper).
pub fn search_first(
    tx: &Tx<'_>,
    s: &Search,
    first: Option<NumberType>,
) -> Result<(Vec<NumberRow>, bool)> {
    match search_base(s) {
        Some(base) => read_page(tx, &base, s, first),
        None => Ok((Vec::new(), false)),
    }
}

fn read_page(
    tx: &Tx<'_>,
    base: &Base,
    s: &Search,
    first: Option<NumberType>,
) -> Result<(Vec<NumberRow>, bool)> {
    let (sql, args) = page_query(base, s, first);
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut rows: Vec<NumberRow> = stmt
        .query_map(params_from_iter(args), from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let more = rows.len() > s.per_page as usize;
    rows.truncate(s.per_page as usize);
    Ok((rows, more))
}

/// A page of results (numbers of type `first` ahead, as in [`search_first`]), whether
/// another page follows, and the total as [`count_for_page`] gives it; the query is built
/// once for both.
pub fn results_page(
    tx: &Tx<'_>,
    cache: &CountCache,
    s: &Search,
    first: Option<NumberType>,
) -> Result<(Vec<NumberRow>, bool, u64)> {
    let Some(base) = search_base(s) else {
        return Ok((Vec::new(), false, 0));
    };
    let (rows, more) = read_page(tx, &base, s, first)?;
    let total = total_for_page(tx, cache, &base, s, rows.len(), more)?;
    Ok((rows, more, total))
}

/// Counted matches stop here: the page says "more than 1,000" rather than walk every number.
pub const COUNT_CAP: u64 = 1000;

/// How many available numbers match a search, up to `COUNT_CAP + 1`.
pub fn count(tx: &Tx<'_>, s: &Search) -> Result<u64> {
    match search_base(s) {
        Some(base) => count_base(tx, &base),
        None => Ok(0),
    }
}

fn count_base(tx: &Tx<'_>, base: &Base) -> Result<u64> {
    let sql = format!(
        "SELECT count(*) FROM ({} LIMIT {})",
        base.sql,
        COUNT_CAP + 1
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let n: i64 = stmt.query_row(params_from_iter(&base.args), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How long a counted total is reused for the same search.
const COUNT_TTL: std::time::Duration = std::time::Duration::from_secs(30);
/// Searches whose totals are kept at once; the table is emptied when full.
const COUNT_ENTRIES: usize = 4096;

/// Totals of recent searches with more than a page of results, by their query and
/// arguments; one per database ([`crate::store::Store::counts`]).
#[derive(Default)]
pub struct CountCache(
    std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u64)>>,
);

/// The total for a page of results already read (`shown` rows, `more` when another page
/// follows). A last page is its own count, with no query. A larger total is counted (walking
/// up to `COUNT_CAP + 1` matches, which costs more than the page itself) and reused for the
/// same search for 30 seconds: only the size of a long list can then be a few numbers out of
/// date, never a list short enough to read through, and never the numbers shown.
pub fn count_for_page(
    tx: &Tx<'_>,
    cache: &CountCache,
    s: &Search,
    shown: usize,
    more: bool,
) -> Result<u64> {
    match search_base(s) {
        Some(base) => total_for_page(tx, cache, &base, s, shown, more),
        None => Ok(0),
    }
}

fn total_for_page(
    tx: &Tx<'_>,
    cache: &CountCache,
    base: &Base,
    s: &Search,
    shown: usize,
    more: bool,
) -> Result<u64> {
    if !more {
        return Ok(s.offset() + shown as u64);
    }
    let key = format!("{}|{:?}", base.sql, base.args);
    let now = std::time::Instant::now();
    if let Some(n) = cache
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .filter(|(at, _)| now.duration_since(*at) < COUNT_TTL)
        .map(|(_, n)| *n)
    {
        return Ok(n);
    }
    let n = count_base(tx, base)?;
    let mut map = cache
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if map.len() >= COUNT_ENTRIES {
        map.clear();
    }
    map.insert(key, (now, n));
    Ok(n)
}

/// The query for a search (one row more than a page, to tell whether another page follows);
/// `None` when nothing can match.
pub fn search_sql(s: &Search) -> Option<(String, Vec<Value>)> {
    search_sql_first(s, None)
}

fn search_sql_first(s: &Search, first: Option<NumberType>) -> Option<(String, Vec<Value>)> {
    search_base(s).map(|base| page_query(&base, s, first))
}

/// A page's query on a search's base: ordered, one row more than a page.
fn page_query(base: &Base, s: &Search, first: Option<NumberType>) -> (String, Vec<Value>) {
    let Base {
        sql,
        order_col,
        type_col,
        args,
    } = base;
    let mut sql = sql.clone();
    let mut args = args.clone();
    let first_key = match first {
        Some(k) => {
            args.push(Value::Text(k.as_str().to_string()));
            format!("CASE {type_col} WHEN ? THEN 0 ELSE 1 END, ")
        }
        None => String::new(),
    };
    // LIMIT and OFFSET are written into the SQL (they are numbers we computed): SQLite reads a
    // bound LIMIT while planning and would then re-prepare the statement for every new value.
    sql.push_str(&format!(
        " ORDER BY {first_key}{order_col} LIMIT {} OFFSET {}",
        u64::from(s.per_page) + 1,
        s.offset()
    ));
    (sql, args)
}

/// Where a search reads its rows from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// `numbers` alone.
    Numbers,
    /// Index ranges joined to `numbers n`.
    Joined,
    /// The digit windows `w` with their profiles `p`: no row of `numbers` is read.
    Profiled,
}

/// The SELECT and WHERE of a search, with what its page and count queries add to it.
struct Base {
    sql: String,
    /// The column results are ordered by.
    order_col: &'static str,
    /// The number type's column (a sort by price puts one type first).
    type_col: &'static str,
    args: Vec<Value>,
}

/// The [`Base`] of a search; `None` when nothing can match.
fn search_base(s: &Search) -> Option<Base> {
    let prefix = s.prefix()?;
    let mut sql = format!("SELECT {COLUMNS} FROM numbers");
    let mut conds: Vec<String> = vec!["availability = 'available'".into()];
    let mut args: Vec<Value> = Vec::new();

    // Contains 3 or more digits: walk the digit windows in number order.
    let (lo, hi) = if prefix.is_empty() {
        (0, 9_999_999_999)
    } else {
        let len = prefix.len() as u32;
        let p: i64 = prefix.parse().unwrap_or(0);
        let scale = 10i64.pow(10 - len);
        (p * scale, (p + 1) * scale - 1)
    };
    let windowed = match &s.pattern {
        Some((d, MatchMode::Contains)) if d.len() >= 3 => Some(d.clone()),
        _ => None,
    };
    // Ends with 3 digits: ten ranges of the last-four index, merged in number order, so a
    // page reads only as far as it needs instead of sorting every match.
    let ends3 = match &s.pattern {
        Some((d, MatchMode::Ends)) if d.len() == 3 => d.parse::<i64>().ok(),
        _ => None,
    };
    let n_cols = COLUMNS
        .split(", ")
        .map(|c| format!("n.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut order_col = "number";
    let mut source = Source::Numbers;
    if let Some(d) = &windowed {
        let v: i64 = d.parse().unwrap_or(0);
        conds = vec!["n.availability = 'available'".into()];
        if d.len() == 3 {
            // At positions 1–7 the pattern starts a window (ten window values); at position 8
            // it is the last three digits. Each part is in number order, and SQLite merges
            // them in order, so a page reads only as far as it needs.
            let windows = (0..10).map(|k| (WINDOW_RANGE, v * 10 + k));
            let last_three = (0..10).map(|k| (LAST_FOUR_RANGE, k * 1000 + v));
            sql = merged_ranges(&n_cols, windows.chain(last_three), (lo, hi), &mut args);
        } else {
            // One window of the pattern narrows to its numbers, in number order, each with
            // what a result shows (its profile, NULL unless it is available); a longer
            // pattern is then checked in full on the window's number.
            sql = "SELECT w.number, p.state, p.rate_center, p.type, 'available', p.source
                   FROM numbers_windows AS w CROSS JOIN number_profiles AS p ON p.id = w.profile"
                .to_string();
            conds.clear();
            source = Source::Profiled;
            conds.push("w.digits = ?".into());
            args.push(Value::Integer(d[..4].parse().unwrap_or(0)));
            if d.len() > 4 {
                conds.push("instr(CAST(w.number AS TEXT), ?) > 0".into());
                args.push(Value::Text(d.clone()));
            }
            conds.push("w.number BETWEEN ? AND ?".into());
            args.extend([Value::Integer(lo), Value::Integer(hi)]);
        }
        order_col = "w.number";
    } else if let Some(v) = ends3 {
        conds = vec!["n.availability = 'available'".into()];
        let last_four = (0..10).map(|k| (LAST_FOUR_RANGE, k * 1000 + v));
        sql = merged_ranges(&n_cols, last_four, (lo, hi), &mut args);
        order_col = "w.number";
    }
    if source == Source::Numbers && (windowed.is_some() || ends3.is_some()) {
        source = Source::Joined;
    }
    let col = |c: &str| match source {
        Source::Numbers => c.to_string(),
        Source::Joined => format!("n.{c}"),
        Source::Profiled if c == "number" => "w.number".to_string(),
        Source::Profiled => format!("p.{c}"),
    };

    if !prefix.is_empty() && source == Source::Numbers {
        conds.push("number BETWEEN ? AND ?".into());
        args.extend([Value::Integer(lo), Value::Integer(hi)]);
    }
    if let Some(st) = s.state {
        conds.push(format!("{} = ?", col("state")));
        args.push(Value::Text(st.to_string()));
    }
    if let Some(k) = s.kind {
        conds.push(format!("{} = ?", col("type")));
        args.push(Value::Text(k.as_str().to_string()));
    }
    match &s.pattern {
        Some((d, MatchMode::Contains)) if windowed.is_none() => {
            conds.push("instr(CAST(number AS TEXT), ?) > 0".into());
            args.push(Value::Text(d.clone()));
        }
        Some((d, MatchMode::Ends)) => {
            let len = d.len() as u32;
            let v: i64 = d.parse().unwrap_or(-1);
            // The last four digits are indexed (`numbers_last4`); shorter endings are common
            // enough that walking the numbers in order finds a page quickly.
            match len {
                4 => {
                    conds.push("number % 10000 = ?".into());
                    args.push(Value::Integer(v));
                }
                5.. => {
                    conds.push("number % 10000 = ?".into());
                    args.push(Value::Integer(v % 10_000));
                    conds.push(format!("number % {} = ?", 10i64.pow(len)));
                    args.push(Value::Integer(v));
                }
                // Three digits: the merged ranges above.
                3 => {}
                _ => {
                    conds.push(format!("number % {} = ?", 10i64.pow(len)));
                    args.push(Value::Integer(v));
                }
            }
        }
        _ => {}
    }
    if s.within_line()
        && let Some((d, _)) = &s.pattern
    {
        conds.push(format!(
            "instr(substr(CAST({} AS TEXT), 4), ?) > 0",
            col("number")
        ));
        args.push(Value::Text(d.clone()));
    }
    sql.push_str(" WHERE ");
    sql.push_str(&conds.join(" AND "));
    let type_col = match source {
        Source::Numbers => "type",
        Source::Joined => "n.type",
        Source::Profiled => "p.type",
    };
    Some(Base {
        sql,
        order_col,
        type_col,
        args,
    })
}

/// The admin's inventory list: numbers whose digits contain `digits` (any, when `None`),
/// in one availability (any, when `None`), in number order; `limit` rows from `offset`.
pub fn admin_list(
    tx: &Tx<'_>,
    digits: Option<&str>,
    availability: Option<&str>,
    limit: i64,
    offset: i64,
) -> Result<Vec<NumberRow>> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM numbers
         WHERE (?1 IS NULL OR instr(CAST(number AS TEXT), ?1) > 0)
           AND (?2 IS NULL OR availability = ?2)
         ORDER BY number LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(params![digits, availability, limit, offset], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How SQLite plans a search, one line per step; for benchmarks and diagnosis.
pub fn explain(tx: &Tx<'_>, s: &Search) -> Result<Vec<String>> {
    let Some((sql, args)) = search_sql(s) else {
        return Ok(Vec::new());
    };
    let mut stmt = tx.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let rows = stmt.query_map(params_from_iter(args), |r| r.get::<_, String>(3))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets a number's availability; for tests and tooling that need held or sold numbers.
pub fn set_availability(
    tx: &Tx<'_>,
    number: &PhoneNumber,
    availability: &str,
    now: i64,
) -> Result<bool> {
    Ok(super::changed(tx.execute(
        "UPDATE numbers SET availability = ?2, updated_at = ?3 WHERE number = ?1",
        params![as_int(number), availability, now],
    )?))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopted {
    /// New to the inventory.
    Added,
    /// Known locally from another source; now tracked as a Telinta number.
    Adopted,
    /// Already a Telinta number, or held or sold here.
    Known,
}

/// Records that Telinta lists `number` as free: adds it, or marks an available one from
/// another source as coming from Telinta (so a later sync can withdraw it).
pub fn adopt(tx: &Tx<'_>, number: &PhoneNumber, now: i64) -> Result<Adopted> {
    let n = NewNumber {
        number,
        state: "",
        rate_center: "",
        kind: None,
        source: "telinta",
    };
    if insert_new(tx, std::slice::from_ref(&n), now)? == 1 {
        return Ok(Adopted::Added);
    }
    let changed = tx.execute(
        "UPDATE numbers SET source = 'telinta', updated_at = ?2
         WHERE number = ?1 AND source <> 'telinta' AND availability = 'available'",
        params![as_int(number), now],
    )?;
    Ok(if changed > 0 {
        Adopted::Adopted
    } else {
        Adopted::Known
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::search;
    use std::collections::HashMap;

    fn q(pairs: &[(&str, &str)]) -> Search {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        search::parse(&m).unwrap()
    }

    fn windows_of(tx: &Tx<'_>, number: i64) -> Vec<i64> {
        let mut st = tx
            .prepare("SELECT digits FROM numbers_windows WHERE number = ?1 ORDER BY digits")
            .unwrap();
        st.query_map([number], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn digit_windows_follow_the_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("db"), 2).unwrap();
        let rows = [
            BulkRow {
                number: 2125550000,
                state: "NY",
                rate_center: "",
                kind: NumberType::Local,
            },
            BulkRow {
                number: 8005551234,
                state: "",
                rate_center: "",
                kind: NumberType::TollFree,
            },
        ];
        store
            .write(|tx| bulk_upsert(tx, &rows, "import", 0))
            .unwrap();
        store
            .read(|tx| {
                // 2125550000: 2125 1255 2555 5550 5500 5000 0000, each once.
                assert_eq!(
                    windows_of(tx, 2125550000),
                    vec![0, 1255, 2125, 2555, 5000, 5500, 5550]
                );
                assert_eq!(windows_of(tx, 8005551234).len(), 7);
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        // A number withdrawn from the inventory takes its windows with it.
        store
            .write(|tx| remove_missing(tx, "import", &[8005551234]))
            .unwrap();
        store
            .read(|tx| {
                assert!(windows_of(tx, 2125550000).is_empty());
                assert_eq!(windows_of(tx, 8005551234).len(), 7);
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        // Numbers added one at a time (a Telinta sync, an admin's upsert) get theirs too,
        // and a bulk write over existing numbers adds none twice.
        let one = PhoneNumber::parse("3055551234").unwrap();
        let two = PhoneNumber::parse("3055550000").unwrap();
        store
            .write(|tx| {
                adopt(tx, &one, 0)?;
                upsert(
                    tx,
                    &NewNumber {
                        number: &two,
                        state: "FL",
                        rate_center: "",
                        kind: None,
                        source: "import",
                    },
                    0,
                )?;
                bulk_upsert(tx, &rows, "import", 0)
            })
            .unwrap();
        store
            .read(|tx| {
                assert_eq!(
                    windows_of(tx, 3055551234),
                    vec![1234, 3055, 5123, 5512, 5551, 555, 5555]
                        .into_iter()
                        .collect::<std::collections::BTreeSet<i64>>()
                        .into_iter()
                        .collect::<Vec<_>>()
                );
                assert_eq!(windows_of(tx, 3055550000).len(), 7);
                assert_eq!(windows_of(tx, 2125550000).len(), 7);
                let total: i64 =
                    tx.query_row("SELECT count(*) FROM numbers_windows", [], |r| r.get(0))?;
                assert_eq!(total, 7 * 4, "four numbers, seven distinct windows each");
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        // The number is the row's identity: renumbering is refused, not silently un-indexed.
        let renumber = store.write(|tx| {
            tx.execute(
                "UPDATE numbers SET number = 8005559999 WHERE number = 8005551234",
                [],
            )?;
            Ok::<_, crate::store::Error>(())
        });
        assert!(renumber.is_err());
    }

    /// The profile on each of a number's windows: `None` while it is not available.
    fn profiles_of(tx: &Tx<'_>, number: i64) -> Vec<Option<(String, String, String, String)>> {
        let mut st = tx
            .prepare(
                "SELECT p.state, p.rate_center, p.type, p.source FROM numbers_windows w
                 LEFT JOIN number_profiles p ON p.id = w.profile
                 WHERE w.number = ?1 ORDER BY w.digits",
            )
            .unwrap();
        st.query_map([number], |r| {
            let state: Option<String> = r.get(0)?;
            Ok(match state {
                Some(state) => Some((state, r.get(1)?, r.get(2)?, r.get(3)?)),
                None => None,
            })
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
    }

    #[test]
    fn contains_searches_follow_availability_and_location_through_the_windows() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("db"), 2).unwrap();
        let rows = [
            BulkRow {
                number: 2125554567,
                state: "NY",
                rate_center: "NWYRCYZN01",
                kind: NumberType::Local,
            },
            BulkRow {
                number: 3054567000,
                state: "FL",
                rate_center: "MIAMI",
                kind: NumberType::Local,
            },
        ];
        store
            .write(|tx| bulk_upsert(tx, &rows, "import", 0))
            .unwrap();
        let one = PhoneNumber::parse("2125554567").unwrap();
        let found = |s: &Search| {
            store
                .read(|tx| {
                    let (rows, _) = search(tx, s)?;
                    let total = count(tx, s)?;
                    Ok::<_, crate::store::Error>((rows, total))
                })
                .unwrap()
        };
        let anywhere = q(&[("q", "4567"), ("match", "contains")]);
        let (rows, total) = found(&anywhere);
        assert_eq!(total, 2);
        assert_eq!(rows[0].number, "2125554567");
        assert_eq!(
            (rows[0].state.as_str(), rows[0].rate_center.as_str()),
            ("NY", "NWYRCYZN01")
        );
        assert_eq!(
            (rows[0].kind, rows[0].availability),
            (NumberType::Local, "available")
        );
        assert_eq!(rows[0].source, "import");

        // Held, then sold: out of the results and the count; its windows keep no profile.
        for state in ["held", "sold"] {
            store
                .write(|tx| set_availability(tx, &one, state, 1))
                .unwrap();
            let (rows, total) = found(&anywhere);
            assert_eq!(total, 1, "{state}");
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].number, "3054567000");
            store
                .read(|tx| {
                    assert!(profiles_of(tx, 2125554567).iter().all(Option::is_none));
                    Ok::<_, crate::store::Error>(())
                })
                .unwrap();
        }
        // Back on sale, and moved by a re-import: found again, where it now is.
        store
            .write(|tx| set_availability(tx, &one, "available", 2))
            .unwrap();
        let moved = [BulkRow {
            number: 2125554567,
            state: "NJ",
            rate_center: "NEWARK",
            kind: NumberType::Local,
        }];
        store
            .write(|tx| bulk_upsert(tx, &moved, "import", 3))
            .unwrap();
        let (rows, total) = found(&anywhere);
        assert_eq!(total, 2);
        assert_eq!(
            (rows[0].state.as_str(), rows[0].rate_center.as_str()),
            ("NJ", "NEWARK")
        );
        store
            .read(|tx| {
                let p = profiles_of(tx, 2125554567);
                assert_eq!(p.len(), 7);
                assert!(p.iter().all(|x| x.as_ref().is_some_and(|x| x.0 == "NJ")));
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        // Filters on what the profile holds.
        let in_florida = q(&[("q", "4567"), ("match", "contains"), ("state", "FL")]);
        let (rows, total) = found(&in_florida);
        assert_eq!(total, 1);
        assert_eq!(rows[0].number, "3054567000");
        let toll_free = q(&[("q", "4567"), ("match", "contains"), ("type", "tollfree")]);
        assert_eq!(found(&toll_free).1, 0);
    }

    #[test]
    fn searches_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("db"), 2).unwrap();
        let n = PhoneNumber::parse("2125553644").unwrap();
        store
            .write(|tx| {
                insert_new(
                    tx,
                    &[NewNumber {
                        number: &n,
                        state: "NY",
                        rate_center: "",
                        kind: None,
                        source: "demo",
                    }],
                    0,
                )
            })
            .unwrap();
        for pairs in [
            vec![("q", "555")],
            vec![("q", "364"), ("match", "ends")],
            vec![("q", "3644"), ("match", "ends")],
            vec![("q", "55"), ("match", "ends")],
            vec![("q", "25553"), ("state", "NY")],
        ] {
            let s = q(&pairs);
            let r = store.read(|tx| search(tx, &s));
            assert!(r.is_ok(), "{pairs:?}: {:?}", r.err());
        }
    }

    #[test]
    fn a_last_page_is_its_own_count_and_longer_lists_are_counted() {
        let cache = CountCache::default();
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(&dir.path().join("db"), 2).unwrap();
        let rows: Vec<BulkRow<'_>> = (0..120)
            .map(|i| BulkRow {
                number: 4155550000 + i,
                state: "CA",
                rate_center: "",
                kind: NumberType::Local,
            })
            .collect();
        store
            .write(|tx| bulk_upsert(tx, &rows, "import", 0))
            .unwrap();
        store
            .read(|tx| {
                let first = q(&[("npa", "415"), ("per_page", "50")]);
                let (shown, more) = search(tx, &first)?;
                assert!(more);
                assert_eq!(count_for_page(tx, &cache, &first, shown.len(), more)?, 120);
                let last = q(&[("npa", "415"), ("per_page", "50"), ("page", "3")]);
                let (shown, more) = search(tx, &last)?;
                assert_eq!((shown.len(), more), (20, false));
                assert_eq!(count_for_page(tx, &cache, &last, shown.len(), more)?, 120);
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        // A number sold from a short list shows at once in its count.
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE numbers SET availability = 'sold' WHERE number = 4155550119",
                    [],
                )?;
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
        store
            .read(|tx| {
                let last = q(&[("npa", "415"), ("per_page", "50"), ("page", "3")]);
                let (shown, more) = search(tx, &last)?;
                assert_eq!(count_for_page(tx, &cache, &last, shown.len(), more)?, 119);
                Ok::<_, crate::store::Error>(())
            })
            .unwrap();
    }

    #[test]
    fn stored_numbers_read_back_as_ten_digits() {
        for n in [
            2125551234_i64,
            8005550000,
            9999999999,
            5,
            0,
            12345678901,
            -5,
        ] {
            assert_eq!(digits(n), format!("{n:010}"), "{n}");
        }
    }
}
