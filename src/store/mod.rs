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
pub mod status;
pub mod users;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;

/// A transaction handed to store functions.
pub type Tx<'a> = rusqlite::Transaction<'a>;

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
pub(crate) const CACHE_SIZE: i64 = -16000;

#[derive(Clone)]
pub struct Store {
    pool: r2d2::Pool<SqliteConnectionManager>,
    path: std::path::PathBuf,
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
            .connection_timeout(Duration::from_secs(15))
            .build(manager)?;
        let store = Store {
            pool,
            path: path.to_path_buf(),
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
        self.run(rusqlite::TransactionBehavior::Deferred, f)
    }

    /// A writing unit of work: `BEGIN IMMEDIATE`, so writers queue for the lock up front
    /// instead of failing with SQLITE_BUSY when a read transaction tries to upgrade.
    pub fn write<T, E: From<Error>>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        self.run(rusqlite::TransactionBehavior::Immediate, f)
    }

    fn run<T, E: From<Error>>(
        &self,
        behavior: rusqlite::TransactionBehavior,
        f: impl FnOnce(&Tx<'_>) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let mut conn = self.pool.get().map_err(Error::from)?;
        let tx = conn
            .transaction_with_behavior(behavior)
            .map_err(Error::from)?;
        let out = f(&tx)?;
        tx.commit().map_err(Error::from)?;
        Ok(out)
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
