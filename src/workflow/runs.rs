//! Which claimed work is in progress and which was cut short.
//!
//! A claim (an activation, a settings change) records the process run that made it. Work
//! claimed by another run is interrupted as soon as that run is gone (its lock is free), however
//! recently it was claimed. Work claimed by this run is in progress while a flow of this process
//! holds it; it counts as stuck (a hung upstream call) only after [`STUCK_AFTER`] on the
//! monotonic clock, and as cut short when no flow holds it any more (a thread that panicked).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::store::Store;
use crate::store::runs::{self, RunLock};

/// How long this run's own work may take before it counts as stuck.
pub const STUCK_AFTER: Duration = Duration::from_secs(300);

/// The kinds of claimed work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    Activation,
    Settings,
}

/// This process's run.
pub struct Run {
    /// `None` for a process that only reads (a dry run): it claims nothing.
    lock: Option<RunLock>,
    /// Work held by flows of this process: how many hold it, and since when.
    inflight: Mutex<HashMap<(Work, i64), (usize, Instant)>>,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Run({})", self.id())
    }
}

impl Run {
    /// Records this process's run in the database and takes its lock.
    pub fn begin(store: &Store, now: i64) -> crate::store::Result<Arc<Run>> {
        let lock = runs::begin(store, now)?;
        log::info!("process run {}", lock.id);
        Ok(Arc::new(Run {
            lock: Some(lock),
            inflight: Mutex::new(HashMap::new()),
        }))
    }

    /// A process that writes nothing (`billing run --dry-run`): no run is recorded.
    pub fn read_only() -> Arc<Run> {
        Arc::new(Run {
            lock: None,
            inflight: Mutex::new(HashMap::new()),
        })
    }

    /// The run's id; 0 for a read-only process.
    pub fn id(&self) -> i64 {
        self.lock.as_ref().map_or(0, |l| l.id)
    }

    /// Marks `work` on `order_id` as held by a flow of this process until the guard drops.
    /// Take it before writing the claim, so a reconciliation pass between the two never sees
    /// this run's fresh claim as abandoned.
    pub fn track(self: &Arc<Self>, work: Work, order_id: i64) -> Tracked {
        if let Ok(mut m) = self.inflight.lock() {
            m.entry((work, order_id))
                .and_modify(|(n, _)| *n += 1)
                .or_insert((1, Instant::now()));
        }
        Tracked {
            run: self.clone(),
            key: (work, order_id),
        }
    }

    /// Whether work claimed by `claimed_by` (no run: a claim from before runs were recorded)
    /// was cut short and may be taken over.
    pub fn interrupted(
        &self,
        store: &Store,
        work: Work,
        order_id: i64,
        claimed_by: Option<i64>,
    ) -> bool {
        match claimed_by {
            Some(run) if run == self.id() => match self.inflight.lock() {
                Ok(m) => m
                    .get(&(work, order_id))
                    .is_none_or(|(_, since)| since.elapsed() >= STUCK_AFTER),
                Err(_) => true,
            },
            Some(run) => !runs::is_alive(store, run),
            None => true,
        }
    }
}

/// While it lives, the work it names is in progress in this process.
pub struct Tracked {
    run: Arc<Run>,
    key: (Work, i64),
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Ok(mut m) = self.run.inflight.lock()
            && let Some((n, _)) = m.get_mut(&self.key)
        {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_work_is_in_progress_while_tracked_and_other_runs_by_their_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db.sqlite3"), 2).unwrap();
        let run = Run::begin(&store, 1).unwrap();
        let me = Some(run.id());
        // Claimed by this run but held by no flow: cut short (a panicked thread).
        assert!(run.interrupted(&store, Work::Activation, 5, me));
        let guard = run.track(Work::Activation, 5);
        assert!(!run.interrupted(&store, Work::Activation, 5, me));
        assert!(run.interrupted(&store, Work::Settings, 5, me), "per kind");
        // Two flows on the same work (a double click): held until both let go.
        let second = run.track(Work::Activation, 5);
        drop(second);
        assert!(!run.interrupted(&store, Work::Activation, 5, me));
        drop(guard);
        assert!(run.interrupted(&store, Work::Activation, 5, me));
        // Another run: alive while its lock is held, cut short at once when it is gone.
        let other = Run::begin(&store, 2).unwrap();
        let other_id = other.id();
        assert!(!run.interrupted(&store, Work::Activation, 6, Some(other_id)));
        drop(other);
        assert!(run.interrupted(&store, Work::Activation, 6, Some(other_id)));
        assert!(run.interrupted(&store, Work::Activation, 6, None));
    }
}
