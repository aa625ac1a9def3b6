//! Mixed load at one million numbers: `cargo bench --bench load`.
//!
//! Starts the Telinta and PayPal simulators in this process, starts `didport serve` on a copy
//! of a 1,000,000-number database pointed at them (PayPal webhooks included), seeds an admin
//! and two plans, then runs BENCH_USERS simulated customers and two admins for BENCH_SECONDS.
//! Customers search anonymously, sign up or sign in, buy numbers with PayPal (racing for the
//! same number now and then), and change the PIN and forwarding of their active numbers; the
//! admins activate paid numbers on View Orders. Every answer is checked against what the step
//! expects.
//!
//! It prints, per step kind, count, rate and latency percentiles as the users saw them (and
//! the server's own time from its request log), errors, busy-database reports, the server's
//! peak memory, and then checks the database, PayPal and Telinta agree. It exits non-zero on
//! any error, any busy report, or a failed check.
//!
//! Settings: BENCH_USERS (default 200), BENCH_SECONDS (default 60), BENCH_DB (a database with
//! the inventory, imported there once if missing and never changed: each run works on a copy),
//! BENCH_NUMBERS (default 1000000, when importing). The server log of the last run is kept in
//! `target/tmp/load-server.log`.

// A benchmark stops at the first broken setup step; that is how it reports one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The parts live in `benches/load/`; a crate root's modules are looked for beside it.
#[path = "load/browser.rs"]
mod browser;
#[path = "load/check.rs"]
mod check;
#[path = "load/report.rs"]
mod report;
#[path = "load/users.rs"]
mod users;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use didport::demo::generate_numbers;
use didport::sim::paypal::{PayPalSim, SimConfig};
use didport::sim::telinta::TelintaSim;

const ADMIN_EMAIL: &str = "admin@load.example";
const ADMIN_PASSWORD: &str = "load admin passphrase";
const ADMINS: usize = 2;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of a process now and at its peak (VmRSS, VmHWM), in KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let get = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inventory database: BENCH_DB if it exists, else 1M numbers generated and imported
/// (into BENCH_DB when given, so the next run can reuse it).
fn inventory(bin: &str, dir: &Path) -> PathBuf {
    let keep = std::env::var_os("BENCH_DB").map(PathBuf::from);
    if let Some(p) = keep.as_ref().filter(|p| p.exists()) {
        println!("inventory: reusing {}", p.display());
        return p.clone();
    }
    let db = keep.unwrap_or_else(|| dir.join("inventory.sqlite3"));
    let count = env_or("BENCH_NUMBERS", 1_000_000) as usize;
    let csv = dir.join("numbers.csv");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
        writeln!(f, "number,state,rate_center,type").expect("write");
        for g in generate_numbers(count, 42) {
            writeln!(f, "{},{},{},", g.number, g.state, g.rate_center).expect("write");
        }
    }
    let t = Instant::now();
    let import = Command::new(bin)
        .args(["numbers", "import"])
        .arg(&csv)
        .arg("--db")
        .arg(&db)
        .env("DIDPORT_LOG", "warn")
        .stderr(Stdio::null())
        .output()
        .expect("import");
    assert!(import.status.success(), "import failed");
    println!(
        "inventory: imported {count} numbers into {} in {:.1}s",
        db.display(),
        t.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_file(&csv);
    db
}

fn run_cli(bin: &str, db: &Path, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(bin)
        .args(args)
        .arg("--db")
        .arg(db)
        .env("DIDPORT_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("run didport");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    let status = child.wait().expect("didport finished");
    assert!(status.success(), "didport {args:?} failed");
}

fn start_server(
    bin: &str,
    db: &Path,
    log: &Path,
    paypal: &PayPalSim,
    telinta: &TelintaSim,
) -> (Server, String) {
    let child = Command::new(bin)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .env("DIDPORT_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("DIDPORT_SEARCH_RATE_LIMIT", "0")
        .env("DIDPORT_LOG", "info")
        .env("DIDPORT_TELINTA_URL", telinta.base_url())
        .env("DIDPORT_TELINTA_LOGIN", telinta.login())
        .env("DIDPORT_TELINTA_PASSWORD", telinta.password())
        .env("DIDPORT_TELINTA_PRODUCT", "1")
        .env("DIDPORT_TELINTA_VENDOR_BATCH", "1")
        .env("DIDPORT_TELINTA_PRICING_BATCH", "1")
        .env("DIDPORT_TELINTA_CREATE_CUSTOMERS", "true")
        .env("DIDPORT_PAYPAL_API", paypal.base_url())
        .env("DIDPORT_PAYPAL_CLIENT_ID", paypal.client_id())
        .env("DIDPORT_PAYPAL_SECRET", paypal.client_secret())
        .env("DIDPORT_PAYPAL_WEBHOOK_ID", paypal.webhook_id())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("serve");
    let server = Server { child };
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(f) = std::fs::File::open(log) {
            for line in BufReader::new(f).lines().map_while(Result::ok) {
                if let Some(u) = line.split("listening on ").nth(1) {
                    return (server, u.trim().to_string());
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the server did not start; see {}", log.display());
}

/// Waits until PayPal has no webhook delivery in flight (the count stops moving).
fn settle_webhooks(paypal: &PayPalSim) {
    let until = Instant::now() + Duration::from_secs(15);
    let mut last = usize::MAX;
    while Instant::now() < until {
        let n = paypal.deliveries().len();
        if n == last {
            return;
        }
        last = n;
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The longest write transaction of the run and the code that ran it, from `/metrics`
/// (answered to loopback clients without a token).
fn longest_write(base: &str) -> String {
    let text = ureq::get(&format!("{base}/metrics"))
        .call()
        .ok()
        .and_then(|mut r| r.body_mut().read_to_string().ok())
        .unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with("didport_db_write_transaction_longest_seconds{"))
        .and_then(|l| {
            let (labels, value) = l.rsplit_once(' ')?;
            let ms = value.parse::<f64>().ok()? * 1000.0;
            Some(format!(
                "{ms:.1} ms at {}",
                labels.split('"').nth(1).unwrap_or("?")
            ))
        })
        .unwrap_or_else(|| "not reported".into())
}

fn main() {
    let users_n = env_or("BENCH_USERS", 200) as usize;
    let seconds = env_or("BENCH_SECONDS", 60);
    // BENCH_BIN runs another build of didport (an earlier commit's, for a before/after).
    let bin_path =
        std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_didport").to_string());
    let bin = bin_path.as_str();
    let dir = tempfile::tempdir().expect("temp dir");
    let kept_log = Path::new(env!("CARGO_TARGET_TMPDIR")).join("load-server.log");

    let source = inventory(bin, dir.path());
    let db = dir.path().join("load.sqlite3");
    let t = Instant::now();
    std::fs::copy(&source, &db).expect("copy the inventory database");
    let wal = PathBuf::from(format!("{}-wal", source.display()));
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        std::fs::copy(&wal, format!("{}-wal", db.display())).expect("copy the WAL");
    }
    println!(
        "working copy: {} ({:.1}s)",
        db.display(),
        t.elapsed().as_secs_f64()
    );
    run_cli(
        bin,
        &db,
        &[
            "user",
            "add",
            "--email",
            ADMIN_EMAIL,
            "--role",
            "admin",
            "--name",
            "Load Admin",
            "--password-stdin",
        ],
        Some(ADMIN_PASSWORD),
    );
    for (name, setup, monthly) in [("Starter", "500", "300"), ("Business", "1000", "800")] {
        run_cli(
            bin,
            &db,
            &[
                "plan",
                "add",
                "--name",
                name,
                "--setup-cents",
                setup,
                "--monthly-cents",
                monthly,
            ],
            None,
        );
    }

    let telinta = TelintaSim::start(7).expect("Telinta simulator");
    let paypal = PayPalSim::start(SimConfig::default()).expect("PayPal simulator");
    let log = dir.path().join("server.log");
    let (mut server, url) = start_server(bin, &db, &log, &paypal, &telinta);
    let pid = server.child.id();
    paypal.set_webhook_target(
        Some(&format!("{url}/webhooks/paypal")),
        true,
        Duration::ZERO,
    );

    let load_before = load_average();
    println!(
        "{users_n} customers + {ADMINS} admins for {seconds}s against {url} (load average {load_before})"
    );
    let started = Instant::now();
    let shared = users::Shared {
        base: url.clone(),
        paypal: paypal.base_url().to_string(),
        started,
        deadline: started + Duration::from_secs(seconds),
        tag: format!("{:x}", std::process::id()),
    };
    let mut seen = users::Outcome::default();
    std::thread::scope(|s| {
        let customers: Vec<_> = (0..users_n)
            .map(|i| {
                let sh = &shared;
                std::thread::Builder::new()
                    .name(format!("user-{i}"))
                    .spawn_scoped(s, move || users::customer(sh, i))
                    .expect("user thread")
            })
            .collect();
        let admins: Vec<_> = (0..ADMINS)
            .map(|i| {
                let sh = &shared;
                std::thread::Builder::new()
                    .name(format!("admin-{i}"))
                    .spawn_scoped(s, move || users::admin(sh, i, ADMIN_EMAIL, ADMIN_PASSWORD))
                    .expect("admin thread")
            })
            .collect();
        for h in customers.into_iter().chain(admins) {
            seen.merge(h.join().expect("a simulated user panicked"));
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let load_after = load_average();
    settle_webhooks(&paypal);
    let (rss_kib, peak_kib) = rss_kib(pid);
    let longest_write = longest_write(&url);
    let _ = server.child.kill();
    let _ = server.child.wait();
    drop(server);

    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::write(&kept_log, &log_text);
    let server_log = report::read_server_log(&log_text);
    let deliveries = paypal.deliveries();
    let refused_webhooks: Vec<String> = deliveries
        .iter()
        .filter(|d| d.status.is_none_or(|s| !(200..300).contains(&s)))
        .map(|d| {
            format!(
                "webhook {}: {}",
                d.event_id.as_deref().unwrap_or("?"),
                d.status
                    .map_or_else(|| d.error.clone().unwrap_or_default(), |s| s.to_string())
            )
        })
        .collect();

    let client = report::group(seen.timings.iter().copied());
    let server_times = report::group(server_log.timings.iter().copied());
    let portal_requests: usize = client
        .iter()
        .filter(|(k, _)| **k != report::Kind::PayPal)
        .map(|(_, v)| v.len())
        .sum();

    println!();
    println!(
        "Mixed load: {users_n} customers + {ADMINS} admins, {elapsed:.1} s, 1,000,000-number inventory, \
         release build, DIDPORT_WORKERS=4; clients, simulators and server share the machine"
    );
    println!("load average before {load_before}, after {load_after}");
    println!();
    report::print_table(&client, &server_times, elapsed);
    println!();
    println!(
        "portal requests: {portal_requests} in {elapsed:.1} s = {:.0} req/s ({} logged by the server, \
         including {} webhooks)",
        portal_requests as f64 / elapsed,
        server_log.timings.len(),
        server_times.get(&report::Kind::Webhook).map_or(0, Vec::len),
    );
    println!(
        "visits {}, sign-ups {}, orders paid {} ({:.1}/s), lost races (\"taken\") {}, cancelled at PayPal {}, \
         activations {} (+{} already done by the other admin), settings saved {}",
        seen.visits,
        seen.signups,
        seen.paid.len(),
        seen.paid.len() as f64 / elapsed,
        seen.taken,
        seen.cancelled,
        seen.activated,
        seen.activation_races,
        seen.settings_saved,
    );
    let slowest: Vec<String> = seen
        .slowest
        .iter()
        .map(|(ms, what, at)| format!("{what} {ms:.0} ms at {at:.1} s"))
        .collect();
    println!("slowest requests: {}", slowest.join("; "));
    println!(
        "sign-ins and sign-ups refused busy (503 + Retry-After, then sent again): {} seen by users, {} in the server log",
        seen.shed, server_log.shed
    );
    println!("longest write transaction (the write lock held): {longest_write}");
    println!(
        "server memory: peak {:.1} MiB (VmHWM), {:.1} MiB resident at the end",
        peak_kib as f64 / 1024.0,
        rss_kib as f64 / 1024.0
    );

    let errors = seen.errors.len() + refused_webhooks.len() + server_log.server_errors.len();
    let busy = seen.busy as usize + server_log.busy.len();
    println!();
    println!(
        "errors: {errors} ({} seen by users, {} webhook deliveries refused, {} 5xx in the server log)",
        seen.errors.len(),
        refused_webhooks.len(),
        server_log.server_errors.len()
    );
    // The first few distinct errors, each with how often it happened.
    let mut distinct: Vec<(&String, usize)> = Vec::new();
    for e in seen
        .errors
        .iter()
        .chain(&refused_webhooks)
        .chain(&server_log.server_errors)
    {
        match distinct.iter_mut().find(|(d, _)| *d == e) {
            Some((_, n)) => *n += 1,
            None => distinct.push((e, 1)),
        }
    }
    for (e, n) in distinct.iter().take(8) {
        println!("  {n} × {e}");
    }
    for e in server_log.errors.iter().take(8) {
        println!("  log: {e}");
    }
    println!(
        "SQLITE_BUSY / database is locked: {busy} ({} in answers, {} in the server log)",
        seen.busy,
        server_log.busy.len()
    );
    for l in server_log.busy.iter().take(5) {
        println!("  {l}");
    }

    let (checks, facts) = check::run(&db, &seen, &paypal, &telinta);
    println!();
    println!(
        "database after the run: {} users, {} paid orders, {} invoices, {} active numbers, \
         {} queued emails, {} webhook events handled",
        facts.users,
        facts.paid_orders,
        facts.invoices,
        facts.active_numbers,
        facts.outbox,
        facts.webhooks_handled
    );
    let mut failed = 0;
    for c in &checks {
        if c.problems.is_empty() {
            println!("  ok    {}", c.name);
        } else {
            failed += 1;
            println!("  FAIL  {} ({} problems)", c.name, c.problems.len());
            for p in c.problems.iter().take(5) {
                println!("          {p}");
            }
        }
    }
    println!("server log: {}", kept_log.display());
    drop(paypal);
    drop(telinta);
    if errors > 0 || busy > 0 || failed > 0 {
        println!("FAILED: {errors} errors, {busy} busy reports, {failed} failed checks");
        std::process::exit(1);
    }
    println!("PASSED");
}
