//! Test support: an in-process portal, a browser-like client, an SMTP receiver, captured logs.

#![allow(dead_code)]

pub mod browser;
pub mod client;
pub mod page_checks;
pub mod smtp;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use didport::app::{self, Portal, StartOptions};
use didport::clock::ManualClock;
use didport::config::Config;
use didport::domain::Role;
use didport::store::Store;
use didport::workflow::accounts;

// Not every test binary reads responses by hand.
#[allow(unused_imports)]
pub use client::{Client, Resp};

/// A fixed start time: 2026-11-25 12:00 UTC.
pub const T0: i64 = 1_795_608_000;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestPortal {
    pub portal: Option<Portal>,
    pub url: String,
    pub clock: ManualClock,
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
}

impl TestPortal {
    pub fn start() -> TestPortal {
        TestPortal::start_with(|_, _| {})
    }

    /// Starts a portal after letting the test adjust the configuration and options.
    pub fn start_with(adjust: impl FnOnce(&mut Config, &mut StartOptions)) -> TestPortal {
        init_logs();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("test.sqlite3");
        let mut config = Config::for_tests(db.clone());
        config.workers = 4;
        let clock = ManualClock::new(T0);
        let mut opts = StartOptions::new(Arc::new(clock.clone()));
        opts.mail_poll = Duration::from_millis(50);
        adjust(&mut config, &mut opts);
        let portal = app::start(config, opts).expect("portal starts");
        let url = format!("http://{}", portal.addr);
        TestPortal {
            portal: Some(portal),
            url,
            clock,
            dir,
            db,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    pub fn store(&self) -> &Store {
        &self.portal.as_ref().expect("running").services.store
    }

    pub fn services(&self) -> &didport::workflow::Services {
        &self.portal.as_ref().expect("running").services
    }

    /// Creates a user directly (as `didport user add` does) with the shared test password.
    pub fn add_user(&self, email: &str, role: Role) -> didport::store::users::User {
        accounts::add_user(self.services(), email, "Test User", role, PASSWORD).expect("user added")
    }

    /// A client signed in as a new user with this email and role.
    pub fn signed_in(&self, email: &str, role: Role) -> Client {
        self.add_user(email, role);
        let mut c = self.client();
        c.login(email, PASSWORD);
        c
    }

    /// Puts `numbers` on sale (in New York) and returns the id of the "Starter" plan (5.00 setup,
    /// 3.00 a month), which it creates the first time.
    pub fn stock(&self, numbers: &[&str]) -> i64 {
        use didport::domain::PhoneNumber;
        use didport::store::numbers::{NewNumber, insert_new};
        use didport::store::plans::{NewPlan, insert, list};
        self.store()
            .write(|tx| {
                for n in numbers {
                    let number = PhoneNumber::parse(n).expect("a test number");
                    let row = NewNumber {
                        number: &number,
                        state: "NY",
                        rate_center: "",
                        kind: None,
                        source: "import",
                    };
                    insert_new(tx, std::slice::from_ref(&row), 0)?;
                }
                match list(tx, false)?.into_iter().find(|p| p.name == "Starter") {
                    Some(p) => Ok::<_, didport::store::Error>(p.id),
                    None => insert(
                        tx,
                        &NewPlan {
                            name: "Starter",
                            description: "",
                            setup_cents: 500,
                            monthly_cents: 300,
                            number_type: didport::domain::plan::PlanNumberType::Any,
                        },
                        0,
                    ),
                }
            })
            .expect("stocked")
    }

    /// Runs SQL returning one integer, for checking what the database holds.
    pub fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite_conn(&self.db);
        conn.query_row(sql, [], |r| r.get(0)).expect("count query")
    }
}

impl Drop for TestPortal {
    fn drop(&mut self) {
        if let Some(p) = self.portal.take() {
            p.stop();
        }
    }
}

/// A plain read connection to a database file (tests may use SQLite directly).
pub fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).expect("open db")
}

/// Waits until `cond` holds, up to 10 s; panics with `what` otherwise.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting until {what}");
}

// ---- captured logs ----

struct Capture;

static LINES: OnceLock<Mutex<Vec<String>>> = OnceLock::new();

impl log::Log for Capture {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::Level::Info || m.target().starts_with("didport")
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata())
            && let Some(lines) = LINES.get()
            && let Ok(mut l) = lines.lock()
        {
            // Formatted as the portal's own logger writes lines.
            l.push(format!(
                "{} {}: {}",
                r.level(),
                r.target(),
                didport::logging::escape_controls(&r.args().to_string())
            ));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture;

pub fn init_logs() {
    if LINES.set(Mutex::new(Vec::new())).is_ok() {
        let _ = log::set_logger(&CAPTURE);
        log::set_max_level(log::LevelFilter::Debug);
    }
}

/// Everything logged so far by any test in this binary.
pub fn logs() -> Vec<String> {
    LINES
        .get()
        .and_then(|l| l.lock().ok().map(|v| v.clone()))
        .unwrap_or_default()
}
