//! Process runs: each process that may claim work (an activation, a settings change) records a
//! run and holds an exclusive lock on a file of its own beside the database for as long as it
//! lives. The kernel drops the lock the moment the process dies, SIGKILL included, so another
//! process can tell at once, without waiting for a timeout, that a run's claims were cut short.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use rusqlite::params;

use super::{Error, Result, Store};

/// This process's run: its id, and the lock that says it is alive.
pub struct RunLock {
    pub id: i64,
    file: File,
    path: PathBuf,
}

impl std::fmt::Debug for RunLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RunLock({})", self.id)
    }
}

fn lock_path(db: &Path, run: i64) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(format!(".run{run}.lock"));
    PathBuf::from(name)
}

/// Records a new run and takes its lock. Runs that are gone are forgotten on the way.
pub fn begin(store: &Store, now: i64) -> Result<RunLock> {
    let id = store.write(|tx| {
        tx.execute(
            "INSERT INTO runs (started_at, pid) VALUES (?1, ?2)",
            params![now, std::process::id()],
        )?;
        Ok::<_, Error>(tx.last_insert_rowid())
    })?;
    let path = lock_path(store.path(), id);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::Io(format!("cannot create {}: {e}", path.display())))?;
    file.try_lock()
        .map_err(|e| Error::Io(format!("cannot lock {}: {e}", path.display())))?;
    let earlier: Vec<i64> = store.read(|tx| {
        let mut stmt = tx.prepare("SELECT id FROM runs WHERE id <> ?1")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok::<_, Error>(rows.collect::<rusqlite::Result<_>>()?)
    })?;
    let gone: Vec<i64> = earlier
        .into_iter()
        .filter(|r| !is_alive(store, *r))
        .collect();
    if !gone.is_empty() {
        store.write(|tx| {
            for r in &gone {
                tx.execute("DELETE FROM runs WHERE id = ?1", [r])?;
            }
            Ok::<_, Error>(())
        })?;
        for r in gone {
            let _ = std::fs::remove_file(lock_path(store.path(), r));
        }
    }
    Ok(RunLock { id, file, path })
}

/// Whether the process of run `run` is alive: its lock file exists and is locked. A lock that
/// cannot be checked for another reason counts as alive (its work is then settled by the
/// stuck-work timeout instead).
pub fn is_alive(store: &Store, run: i64) -> bool {
    let path = lock_path(store.path(), run);
    let Ok(file) = OpenOptions::new().write(true).open(&path) else {
        return false;
    };
    match file.try_lock() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(e)) => {
            log::warn!("cannot check whether run {run} is alive: {e}");
            true
        }
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_alive_while_its_lock_is_held_and_gone_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), 2).unwrap();
        let first = begin(&store, 1).unwrap();
        let second = begin(&store, 2).unwrap();
        assert_ne!(first.id, second.id);
        assert!(is_alive(&store, first.id));
        assert!(is_alive(&store, second.id));
        assert!(!is_alive(&store, 999), "a run that never was is not alive");
        let id = first.id;
        drop(first);
        assert!(!is_alive(&store, id));
        // A lock file left by a killed process (present, unlocked) is not alive either, and
        // the next run forgets it.
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO runs (id, started_at, pid) VALUES (77, 0, 1)",
                    [],
                )?;
                Ok::<_, Error>(())
            })
            .unwrap();
        std::fs::write(lock_path(store.path(), 77), b"").unwrap();
        assert!(!is_alive(&store, 77));
        let third = begin(&store, 3).unwrap();
        assert!(!lock_path(store.path(), 77).exists());
        let runs: i64 = store
            .read(|tx| Ok::<_, Error>(tx.query_row("SELECT count(*) FROM runs", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(runs, 2, "the live runs only: {}", third.id);
    }
}
