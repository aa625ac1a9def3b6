//! All SQL lives here: the connection pool, pragmas, migrations, and one file per entity.

pub mod audit;
pub mod billing;
pub mod imports;
pub mod migrate;
pub mod numbers;
pub mod orders;
pub mod outbox;
pub mod plans;
pub mod purchased;
pub mod runs;
pub mod sessions;
pub mod settings;
pub mod stats;
pub mod status;
pub mod users;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;

/// A transaction handed to store functions: the connection (through `Deref`) between a
/// `BEGIN` and its `COMMIT`, rolled back when dropped uncommitted (an error or a panic).
///
/// Begun and committed through cached statements: rusqlite's own `Transaction` parses its
/// `BEGIN` and `COMMIT` afresh each time (3 % of an area-code page's samples under perf).
pub struct Tx<'a> {
    conn: &'a rusqlite::Connection,
    committed: bool,
}

impl<'a> Tx<'a> {
    fn begin(conn: &'a rusqlite::Connection, immediate: bool) -> rusqlite::Result<Tx<'a>> {
        // A connection left inside a transaction (a ROLLBACK that itself failed) would refuse
        // every BEGIN from then on; end that transaction first.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        let sql = if immediate {
            "BEGIN IMMEDIATE"
        } else {
            "BEGIN DEFERRED"
        };
        conn.prepare_cached(sql)?.execute([])?;
        Ok(Tx {
            conn,
            committed: false,
        })
    }

    fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.committed = true;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = rusqlite::Connection;
    fn deref(&self) -> &rusqlite::Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // SQLite may have rolled back already (some errors end the transaction themselves).
        if !self.committed && !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

#[derive(Debug)]
pub enum Error {
    Sqlite(rusqlite::Error),
    Pool(String),
    /// The database was written by a newer didport.
    Newer {
        found: i64,
        supported: i64,
    },
    /// The file is an SQLite database that didport did not create.
    Foreign,
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sqlite(e) => write!(f, "database error: {e}"),
            Error::Pool(e) => write!(f, "database unavailable: {e}"),
            Error::Newer { found, supported } => write!(
                f,
                "the database is at schema version {found}, but this didport supports up to {supported}; \
                 use a newer didport or restore a backup"
            ),
            Error::Foreign => write!(
                f,
                "the file is an SQLite database that didport did not create; refusing to change it"
            ),
            Error::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Sqlite(e)
    }
}

impl From<r2d2::Error> for Error {
    fn from(e: r2d2::Error) -> Self {
        Error::Pool(e.to_string())
    }
}

impl Error {
    /// True for a UNIQUE or CHECK violation: the caller's input clashed with stored data.
    pub fn is_constraint(&self) -> bool {
        matches!(
            self,
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation
        )
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Page cache per connection, in SQLite's units (negative = KiB).
pub(crate) const CACHE_SIZE: i64 = -2048;

#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: std::path::PathBuf,
    counts: std::sync::Arc<numbers::CountCache>,
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path, pool_size: u32) -> Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(Error::Io(format!(
                "cannot open the database {}: the folder {} does not exist",
                path.display(),
                parent.display()
            )));
        }
        // What Litestream (continuous replication, README "Replication and restore") needs
        // from an application, per its "Tips & Caveats": WAL journaling; a busy timeout of at
        // least 5 s, because Litestream takes short write locks when it checkpoints; and no
        // `wal_checkpoint(TRUNCATE)` of our own (didport never runs one; SQLite's automatic
        // checkpoints are PASSIVE and safe beside it). synchronous = NORMAL is fine in WAL mode.
        // WAL is a property of the file: set it once on one connection first, so that the
        // pool's connections, opened at once, find it set instead of racing to switch a new
        // database's journal (which needs an exclusive lock and fails with "database is
        // locked" rather than waiting).
        {
            let c = rusqlite::Connection::open(path)?;
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        }
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.busy_timeout(BUSY_TIMEOUT)?;
            c.set_prepared_statement_cache_capacity(64);
            c.execute_batch(&format!(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA foreign_keys = ON;
                 PRAGMA temp_store = MEMORY;
                 PRAGMA cache_size = {CACHE_SIZE};"
            ))
        });
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(2))
            // r2d2 tests each connection as it is handed out (an empty `execute_batch` for
            // SQLite): nothing can break a connection to a local file between two uses, and
            // the test cost every request a round into SQLite.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(15))
            .build(manager)?;
        let store = Store {
            pool,
            path: path.to_path_buf(),
            counts: Default::default(),
        };
        {
            let mut conn = store.pool.get()?;
            migrate::migrate(&mut conn)?;
        }
        Ok(store)
    }

    /// A read-only unit of work (deferred transaction, one consistent snapshot).
    pub fn read<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let conn = self.pool.get().map_err(Error::from)?;
        let tx = Tx::begin(&conn, false).map_err(Error::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(Error::from)?;
        Ok(out)
    }

    /// A writing unit of work: `BEGIN IMMEDIATE`, so writers queue for the lock up front
    /// instead of failing with SQLITE_BUSY when a read transaction tries to upgrade. How long
    /// it holds the lock is recorded (`/metrics`, with the longest and its caller).
    #[track_caller]
    pub fn write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let site = std::panic::Location::caller();
        let conn = self.pool.get().map_err(Error::from)?;
        let tx = Tx::begin(&conn, true).map_err(Error::from)?;
        let locked = std::time::Instant::now();
        let out = f(&tx);
        // A failed unit of work rolls back when `tx` drops.
        let done = out.and_then(|v| tx.commit().map_err(|e| E::from(Error::from(e))).map(|()| v));
        crate::metrics::record_write(site, locked.elapsed().as_secs_f64());
        done
    }

    /// Recent search totals (see [`numbers::count_for_page`]).
    pub fn counts(&self) -> &numbers::CountCache {
        &self.counts
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One round trip to the database, for `/healthz`.
    pub fn ping(&self) -> Result<()> {
        let conn = self.pool.get()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    /// The key that signs CSRF tokens and flash cookies; made once when the database is created.
    pub fn signing_key(&self) -> Result<Vec<u8>> {
        let conn = self.pool.get()?;
        let v: String = conn.query_row(
            "SELECT value FROM settings WHERE key = 'signing_key'",
            [],
            |r| r.get(0),
        )?;
        Ok(v.into_bytes())
    }

    /// A consistent copy of the live database at `dest`, through SQLite's online backup API.
    /// The copy is written beside `dest` and renamed into place only once it checks out.
    pub fn backup_to(&self, dest: &Path) -> Result<()> {
        if dest.exists() {
            return Err(Error::Io(format!(
                "{} already exists; choose a new file name",
                dest.display()
            )));
        }
        let tmp = dest.with_extension("partial");
        let _ = std::fs::remove_file(&tmp);
        let src = self.pool.get()?;
        {
            let mut out = rusqlite::Connection::open(&tmp)?;
            let backup = rusqlite::backup::Backup::new(&src, &mut out)?;
            backup.run_to_completion(1024, Duration::from_millis(0), None)?;
        }
        let check = integrity_check(&tmp)?;
        if check != "ok" {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Io(format!(
                "the copy failed its integrity check: {check}"
            )));
        }
        std::fs::rename(&tmp, dest)
            .map_err(|e| Error::Io(format!("cannot move the copy to {}: {e}", dest.display())))?;
        Ok(())
    }
}

/// One table's rows in the live database and in a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCount {
    pub name: String,
    pub live: i64,
    pub copy: i64,
}

/// What checking a copy found.
#[derive(Debug, Clone, Default)]
pub struct CopyReport {
    pub tables: Vec<TableCount>,
    /// Empty when the copy checks out.
    pub problems: Vec<String>,
}

impl Store {
    /// Opens the copy at `dest` read-only and checks it against the live database: its
    /// integrity, the same schema version, every table present, and no table with more rows
    /// than the live one (the live one may have grown since the copy was taken; it never
    /// shrinks for a restore drill to matter).
    pub fn verify_copy(&self, dest: &Path) -> Result<CopyReport> {
        let mut report = CopyReport::default();
        let check = integrity_check(dest)?;
        if check != "ok" {
            report.problems.push(format!("integrity check: {check}"));
        }
        let copy = rusqlite::Connection::open_with_flags(
            dest,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let live = self.pool.get()?;
        let names: Vec<String> = {
            let mut stmt = live.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                 ORDER BY name",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let (v_live, v_copy) = (migrate::version(&live)?, migrate::version(&copy)?);
        if v_live != v_copy {
            report.problems.push(format!(
                "schema version {v_copy} in the copy, {v_live} live"
            ));
        }
        for name in names {
            // Table names come from sqlite_master of our own database, quoted as identifiers.
            let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
            let live_n: i64 = live.query_row(&sql, [], |r| r.get(0))?;
            let copy_n = match copy.query_row(&sql, [], |r| r.get::<_, i64>(0)) {
                Ok(n) => n,
                Err(e) => {
                    report.problems.push(format!("{name}: {e}"));
                    -1
                }
            };
            if copy_n > live_n {
                report
                    .problems
                    .push(format!("{name}: {copy_n} rows in the copy, {live_n} live"));
            }
            report.tables.push(TableCount {
                name,
                live: live_n,
                copy: copy_n,
            });
        }
        Ok(report)
    }
}

/// `PRAGMA integrity_check` of a database file: `"ok"` or the first problem.
pub fn integrity_check(path: &Path) -> Result<String> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?)
}

/// Rows affected → whether the compare-and-set matched.
pub(crate) fn changed(n: usize) -> bool {
    n > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings_count(store: &Store) -> i64 {
        store
            .read(|tx| {
                Ok::<_, Error>(tx.query_row("SELECT count(*) FROM settings", [], |r| r.get(0))?)
            })
            .unwrap()
    }

    #[test]
    fn a_unit_of_work_commits_or_leaves_nothing_even_when_it_panics() {
        let dir = tempfile::tempdir().unwrap();
        // One connection: whatever a failed unit leaves open, the next one would meet.
        let store = Store::open(&dir.path().join("db"), 1).unwrap();
        let before = settings_count(&store);
        let add = |tx: &Tx<'_>, key: &str| {
            tx.execute("INSERT INTO settings (key, value) VALUES (?1, 'x')", [key])
        };
        store.write(|tx| Ok::<_, Error>(add(tx, "kept")?)).unwrap();
        assert_eq!(settings_count(&store), before + 1);
        // An error after a write: rolled back.
        let failed = store.write(|tx| {
            add(tx, "lost")?;
            Err::<(), _>(Error::Io("refused".into()))
        });
        assert!(failed.is_err());
        // A panic after a write: rolled back as the stack unwinds, the connection reusable.
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.write(|tx| {
                add(tx, "also lost").unwrap();
                panic!("a bug in a unit of work");
                #[allow(unreachable_code)]
                Ok::<(), Error>(())
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(settings_count(&store), before + 1);
        store.write(|tx| Ok::<_, Error>(add(tx, "after")?)).unwrap();
        assert_eq!(settings_count(&store), before + 2);
    }

    #[test]
    fn a_copy_with_rows_the_live_database_lacks_does_not_check_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("live.sqlite3"), 2).unwrap();
        let dest = dir.path().join("copy.sqlite3");
        store.backup_to(&dest).unwrap();
        let good = store.verify_copy(&dest).unwrap();
        assert!(good.problems.is_empty(), "{:?}", good.problems);
        assert!(good.tables.iter().any(|t| t.name == "orders"));
        {
            let c = rusqlite::Connection::open(&dest).unwrap();
            c.execute(
                "INSERT INTO settings (key, value) VALUES ('stray', 'x')",
                [],
            )
            .unwrap();
            c.execute_batch("DROP TABLE audit").unwrap();
        }
        let bad = store.verify_copy(&dest).unwrap();
        assert!(
            bad.problems.iter().any(|p| p.starts_with("settings:")),
            "{:?}",
            bad.problems
        );
        assert!(bad.problems.iter().any(|p| p.starts_with("audit:")));
    }
}
