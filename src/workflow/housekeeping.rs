//! Periodic clean-up: expired checkout holds, dead sessions, spent reset links and old sign-in
//! failure counters, and reconciliation of what an interruption left behind.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use super::{Internal, Services, accounts};

/// How often the renewal cycle runs in the background.
const BILLING_EVERY: Duration = Duration::from_secs(3600);

/// Failure counters are kept a day, far past the throttling window, for the audit of attacks.
const KEEP_FAILURES_SECS: i64 = 24 * 3600;

/// Unpaid PayPal orders started before this moment are read back from PayPal: before the
/// process started, or longer ago than the grace period. (Claimed work, activations and
/// settings changes, is judged by the run that claimed it: see workflow/runs.rs.)
pub fn stale_before(s: &Services, started_at: i64) -> i64 {
    started_at.max(s.now() - super::reconcile::GRACE_SECS)
}

/// One pass; returns how many rows were removed, released or settled.
pub fn run_once(s: &Services, started_at: i64) -> Result<usize, Internal> {
    pass(s, started_at, false)
}

/// The first pass of a process: it settles what earlier runs left and always says so.
pub fn first_pass(s: &Services, started_at: i64) -> Result<usize, Internal> {
    pass(s, started_at, true)
}

fn pass(s: &Services, started_at: i64, first: bool) -> Result<usize, Internal> {
    // The searches counted in memory since the last pass, stored per hour for the dashboard.
    let searches = crate::metrics::take_searches();
    if searches > 0 {
        let hour = s.now().div_euclid(3600) * 3600;
        let n = i64::try_from(searches).unwrap_or(i64::MAX);
        s.store
            .write(|tx| crate::store::stats::add_searches(tx, hour, n))?;
    }
    let released = super::checkout::expire_holds(s)?;
    let settled = super::reconcile::run(s, stale_before(s, started_at))?;
    if first {
        log::info!(
            "start-up reconciliation (run {}): {} activations and {} settings changes left by \
             earlier runs settled; orders: {} paid, {} released",
            s.run.id(),
            settled.activations,
            settled.settings,
            settled.paid,
            settled.released
        );
    }
    let released =
        released + settled.paid + settled.released + settled.activations + settled.settings;
    let now = s.now();
    let n = released
        + s.store.write(|tx| {
            crate::store::sessions::purge(tx, now, accounts::SESSION_IDLE_SECS, KEEP_FAILURES_SECS)
        })?;
    if n > 0 {
        log::info!("housekeeping removed {n} expired rows");
    }
    Ok(n)
}

pub struct Housekeeper {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
    stopped: Arc<AtomicBool>,
}

impl Housekeeper {
    pub fn spawn(s: Services, every: Duration) -> std::io::Result<Housekeeper> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let stopped = Arc::new(AtomicBool::new(false));
        let (stop2, stopped2) = (stop.clone(), stopped.clone());
        let started_at = s.now();
        let thread = std::thread::Builder::new()
            .name("housekeeping".into())
            .spawn(move || {
                let mut first = true;
                let mut last_billing: Option<std::time::Instant> = None;
                loop {
                    if let Err(e) = pass(&s, started_at, first) {
                        log::error!("housekeeping: {e}");
                    }
                    first = false;
                    // The renewal cycle: at start, then hourly. Safe to run any number of times.
                    if last_billing.is_none_or(|t| t.elapsed() >= BILLING_EVERY) {
                        last_billing = Some(std::time::Instant::now());
                        let today = crate::domain::billing::day_of(s.now());
                        if let Err(e) = super::billing::run(&s, today, false) {
                            log::error!("renewals: {e}");
                        }
                    }
                    let (lock, cv) = &*stop2;
                    let Ok(guard) = lock.lock() else { break };
                    let Ok((guard, _)) = cv.wait_timeout_while(guard, every, |stop| !*stop) else {
                        break;
                    };
                    if *guard {
                        break;
                    }
                }
                stopped2.store(true, Ordering::SeqCst);
            })?;
        Ok(Housekeeper {
            stop,
            thread: Some(thread),
            stopped,
        })
    }

    pub fn is_running(&self) -> bool {
        !self.stopped.load(Ordering::SeqCst)
    }
}

impl Drop for Housekeeper {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
            cv.notify_all();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
