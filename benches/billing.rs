//! Renewals benchmark: `cargo bench --bench billing`.
//!
//! Writes a database of BENCH_NUMBERS (default 100,000) purchased numbers directly with SQL (a
//! customer per four numbers, their paid orders and first invoices, in one transaction), of
//! which 10 % are due on the day of the run: 70 % of those need their renewal invoice, 25 % are
//! overdue (invoiced by an earlier run) and get the overdue notice, BENCH_SUSPENSIONS (default
//! 300) are past the grace period and are blocked at a Telinta simulator running in this
//! process, and the rest were set to cancel and are cancelled. The others renew later in the
//! month. Then it times `didport billing run --as-of …` (the release binary) as a child process
//! on a fresh copy of that database, BENCH_RUNS times (default 3), reading its peak resident
//! memory (`VmHWM`) from `/proc` while it runs, checks that each run did all it had to, and
//! prints each run and the medians. Mail is queued in the outbox, not sent.

// A benchmark stops at the first broken step; that is how it reports one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use didport::domain::billing::{DAY, add_months_anchored, day_of_month, parse_day};
use didport::integrations::telinta::{AccountUpdate, NewAccount, Telinta, TelintaClient};
use didport::sim::telinta::{SimOptions, TelintaSim};

const AS_OF: &str = "2027-03-10";
const ADMIN: &str = "ops@bench.example";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn didport() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_didport"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIDPORT_") {
            c.env_remove(k);
        }
    }
    c.env("DIDPORT_LOG", "warn");
    c
}

/// What a number is on the day of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Invoice,
    Overdue,
    Suspend,
    Cancel,
    Later,
}

/// The plan of the fixture: how many of each, and which number is which.
struct Mix {
    total: u64,
    invoice: u64,
    overdue: u64,
    suspend: u64,
    cancel: u64,
}

impl Mix {
    fn new(total: u64, suspend: u64) -> Mix {
        let due = total / 10;
        let invoice = due * 7 / 10;
        let overdue = due / 4;
        let suspend = suspend.min(due - invoice - overdue);
        Mix {
            total,
            invoice,
            overdue,
            suspend,
            cancel: due - invoice - overdue - suspend,
        }
    }

    /// Every tenth number is due, the kinds spread over the whole table.
    fn of(&self, i: u64) -> Due {
        if !i.is_multiple_of(10) {
            return Due::Later;
        }
        let j = i / 10;
        if j < self.invoice {
            Due::Invoice
        } else if j < self.invoice + self.overdue {
            Due::Overdue
        } else if j < self.invoice + self.overdue + self.suspend {
            Due::Suspend
        } else {
            Due::Cancel
        }
    }
}

fn number_of(i: u64) -> i64 {
    2_000_000_000 + i as i64 * 7
}

/// Writes the fixture into a migrated database; returns the numbers to suspend.
fn fill(db: &Path, mix: &Mix, as_of: i64) -> Vec<String> {
    let mut conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")
        .unwrap();
    let tx = conn.transaction().unwrap();
    let created = parse_day("2026-10-01").unwrap();
    tx.execute(
        "INSERT INTO users (id, email, role, password_hash, created_at, password_changed_at)
         VALUES (1, ?1, 'admin', 'x', ?2, ?2)",
        rusqlite::params![ADMIN, created],
    )
    .unwrap();
    tx.execute(
        "INSERT INTO plans (id, name, setup_cents, monthly_cents, created_at, updated_at)
         VALUES (1, 'Starter', 500, 300, ?1, ?1)",
        [created],
    )
    .unwrap();
    let mut suspend = Vec::new();
    {
        let mut user = tx
            .prepare(
                "INSERT INTO users (id, email, name, role, password_hash, created_at,
                                    password_changed_at)
                 VALUES (?1, ?2, 'Bench Customer', 'customer', 'x', ?3, ?3)",
            )
            .unwrap();
        let mut order = tx
            .prepare(
                "INSERT INTO orders (id, user_id, number, plan_id, plan_name, setup_cents,
                                     monthly_cents, amount_cents, currency, gateway,
                                     payment_status, hold_until, created_at, updated_at, paid_at)
                 VALUES (?1, ?2, ?3, 1, 'Starter', 500, 300, 800, 'USD', 'manual', 'paid', 0, ?4,
                         ?4, ?4)",
            )
            .unwrap();
        let mut purchased = tx
            .prepare(
                "INSERT INTO purchased_numbers (order_id, user_id, number, status, paid_through,
                                                monthly_cents, anchor_day, cancel_at_period_end,
                                                created_at, updated_at)
                 VALUES (?1, ?2, ?3, 'active', ?4, 300, ?5, ?6, ?7, ?7)",
            )
            .unwrap();
        let mut invoice = tx
            .prepare(
                "INSERT INTO invoices (order_id, year, seq, number, issued_at, customer_email,
                                       customer_name, total_cents, currency, kind, period_start,
                                       period_end, status, paid_at)
                 VALUES (?1, 2026, ?2, printf('INV-2026-%06d', ?2), ?3, ?4, 'Bench Customer', ?5,
                         'USD', ?6, ?7, ?8, ?9, ?10)",
            )
            .unwrap();
        let mut line = tx
            .prepare(
                "INSERT INTO invoice_lines (invoice_id, position, description, amount_cents)
                 VALUES (last_insert_rowid(), 1, ?1, ?2)",
            )
            .unwrap();
        let mut event = tx
            .prepare(
                "INSERT INTO billing_events (order_id, period_start, kind, at)
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .unwrap();
        let mut seq = 0i64;
        for i in 0..mix.total {
            let id = i as i64 + 1;
            let user_id = (i / 4) as i64 + 2;
            let email = format!("customer{}@bench.example", i / 4);
            if i.is_multiple_of(4) {
                user.execute(rusqlite::params![user_id, email, created])
                    .unwrap();
            }
            let kind = mix.of(i);
            let pt = as_of
                + DAY
                    * match kind {
                        Due::Invoice => 1 + (i / 10 % 7) as i64,
                        Due::Overdue => -((i / 10 % 7) as i64),
                        Due::Suspend => -7 - (i / 10 % 3) as i64,
                        Due::Cancel => -((i / 10 % 2) as i64),
                        Due::Later => 8 + (i % 23) as i64,
                    };
            let anchor = day_of_month(pt);
            let start = add_months_anchored(pt, -1, anchor);
            let number = number_of(i);
            order
                .execute(rusqlite::params![id, user_id, number, start])
                .unwrap();
            purchased
                .execute(rusqlite::params![
                    id,
                    user_id,
                    number,
                    pt,
                    anchor,
                    kind == Due::Cancel,
                    start
                ])
                .unwrap();
            seq += 1;
            invoice
                .execute(rusqlite::params![
                    id, seq, start, email, 800, "first", start, pt, "paid", start
                ])
                .unwrap();
            line.execute(rusqlite::params!["Setup and first month", 800])
                .unwrap();
            if matches!(kind, Due::Overdue | Due::Suspend) {
                // Invoiced by the run of the notice day.
                let end = add_months_anchored(pt, 1, anchor);
                seq += 1;
                invoice
                    .execute(rusqlite::params![
                        id,
                        seq,
                        pt - 7 * DAY,
                        email,
                        300,
                        "renewal",
                        pt,
                        end,
                        "open",
                        None::<i64>
                    ])
                    .unwrap();
                line.execute(rusqlite::params!["Monthly fee", 300]).unwrap();
                event
                    .execute(rusqlite::params![id, pt, "renewal_due", pt - 7 * DAY])
                    .unwrap();
            }
            if kind == Due::Suspend {
                event
                    .execute(rusqlite::params![id, pt, "overdue", pt])
                    .unwrap();
                suspend.push(number.to_string());
            }
        }
    }
    tx.commit().unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); VACUUM;")
        .unwrap();
    suspend
}

/// Peak resident memory of a process so far, in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

struct Measured {
    seconds: f64,
    peak_kib: u64,
    summary: String,
}

fn run_once(db: &Path, sim: &TelintaSim) -> Measured {
    let started = Instant::now();
    let mut child = didport()
        .args(["billing", "run", "--as-of", AS_OF])
        .env("DIDPORT_DB", db)
        .env("DIDPORT_BASE_URL", "https://portal.bench.example")
        .env("DIDPORT_ADMIN_EMAIL", ADMIN)
        .env("DIDPORT_RENEWAL_NOTICE_DAYS", "7")
        .env("DIDPORT_GRACE_DAYS", "7")
        .env("DIDPORT_TELINTA_URL", sim.base_url())
        .env("DIDPORT_TELINTA_LOGIN", sim.login())
        .env("DIDPORT_TELINTA_PASSWORD", sim.password())
        .env("DIDPORT_TELINTA_PRODUCT", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // The pipes hold the action lines (one per number); read them while it runs.
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = vm_hwm(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let seconds = started.elapsed().as_secs_f64();
    let out = reader.join().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert!(status.success(), "billing run failed: {err}");
    Measured {
        seconds,
        peak_kib: peak,
        summary: out.lines().last().unwrap_or_default().to_string(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let total = env_or("BENCH_NUMBERS", 100_000);
    let runs = env_or("BENCH_RUNS", 3).max(1);
    let mix = Mix::new(total, env_or("BENCH_SUSPENSIONS", 300));
    let as_of = parse_day(AS_OF).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.sqlite3");

    let t = Instant::now();
    let out = didport()
        .arg("migrate")
        .env("DIDPORT_DB", &template)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let suspend = fill(&template, &mix, as_of);
    let sim = TelintaSim::start_with(SimOptions {
        seed: 16,
        ..SimOptions::default()
    })
    .unwrap();
    let client = TelintaClient::new(sim.client_config()).unwrap();
    let i_customer = sim.add_customer("bench@bench.example");
    let mut accounts = Vec::new();
    for n in &suspend {
        accounts.push(
            client
                .add_account(&NewAccount::new(n.clone(), i_customer, 1, "service-pw"))
                .unwrap(),
        );
    }
    let size = std::fs::metadata(&template).unwrap().len();
    println!(
        "fixture: {total} purchased numbers, {} to invoice, {} overdue, {} to suspend, {} to \
         cancel; database {:.1} MiB; written in {:.1} s",
        mix.invoice,
        mix.overdue,
        mix.suspend,
        mix.cancel,
        size as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let mut times = Vec::new();
    let mut peaks = Vec::new();
    let mut rerun_times = Vec::new();
    for r in 1..=runs {
        let db = dir.path().join(format!("run{r}.sqlite3"));
        std::fs::copy(&template, &db).unwrap();
        for a in &accounts {
            let mut u = AccountUpdate::new(*a);
            u.blocked = Some(false);
            client.update_account(&u).unwrap();
        }
        let m = run_once(&db, &sim);
        let expected = format!(
            "renewals for {AS_OF}: {} renewal invoices, {} overdue notices, {} suspended, \
             0 suspensions failed, {} cancelled, 0 reactivated",
            mix.invoice, mix.overdue, mix.suspend, mix.cancel
        );
        assert_eq!(m.summary, expected, "run {r} did not do all it had to");
        let conn = rusqlite::Connection::open(&db).unwrap();
        let queued: i64 = conn
            .query_row(
                "SELECT count(*) FROM outbox WHERE status = 'queued'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let mails = mix.invoice + mix.overdue + 2 * mix.suspend + 2 * mix.cancel;
        assert_eq!(queued, mails as i64, "run {r}: emails queued");
        let blocked = suspend
            .iter()
            .filter(|n| sim.account(n).is_some_and(|a| a.blocked))
            .count();
        assert_eq!(blocked as u64, mix.suspend, "run {r}: blocked at Telinta");
        // The same day again (the background task runs hourly): nothing left to do.
        let again = run_once(&db, &sim);
        assert_eq!(
            again.summary,
            format!(
                "renewals for {AS_OF}: 0 renewal invoices, 0 overdue notices, 0 suspended, \
                 0 suspensions failed, 0 cancelled, 0 reactivated"
            ),
            "run {r} again"
        );
        let queued_again: i64 = conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(queued_again, queued, "run {r} again: no email twice");
        println!(
            "run {r}: {:.2} s, peak {:.1} MiB resident, {mails} emails queued; \
             the same day again: {:.2} s, peak {:.1} MiB",
            m.seconds,
            m.peak_kib as f64 / 1024.0,
            again.seconds,
            again.peak_kib as f64 / 1024.0
        );
        times.push(m.seconds);
        peaks.push(m.peak_kib as f64 / 1024.0);
        rerun_times.push(again.seconds);
        drop(conn);
        std::fs::remove_file(&db).unwrap();
    }
    println!(
        "median of {runs}: {:.2} s, peak {:.1} MiB resident (target: under 30 s and 100 MiB); \
         the same day again: {:.2} s",
        median(times),
        median(peaks),
        median(rerun_times)
    );
}
