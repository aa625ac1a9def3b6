//! Crash safety of `didport billing run`: the real binary as a child process against the
//! Telinta simulator, killed with SIGKILL at several points of one day's cycle (after its first
//! invoice, while a Telinta block call is in flight and never performed, while one is in flight
//! and performed after the process died, and in the unblock call that comes after every
//! invoice), then run again to completion, and once more. After
//! every kill and at the end the invariants hold: the database is intact, each invoice is
//! issued once per number and period with gap-free numbers, each email of each step is queued
//! exactly once, the portal never shows a number suspended that Telinta does not block, and the
//! recorded steps (`billing_events`) agree with the statuses. Also: `--dry-run` changes nothing,
//! and a bad `--as-of` is refused.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::rusqlite_conn;
use didport::domain::billing::{DAY, add_months_anchored, day_of_month, format_day, parse_day};
use didport::integrations::telinta::{NewAccount, Telinta, TelintaClient};
use didport::sim::telinta::{Failure, SimOptions, TelintaSim, Times};

const ADMIN: &str = "ops@example.com";
/// The day of the runs; the first invoices were issued in 2026, renewals continue that sequence.
const AS_OF: &str = "2027-03-10";
/// How long Telinta takes over a call that it then performs after the process died.
const DELAY: Duration = Duration::from_millis(1200);
/// A call that never lands: long enough that the kill comes first, short enough to free the
/// simulator's worker soon after.
const HANG: Duration = Duration::from_secs(8);

/// One purchased number of the fixture: where it stands in the cycle on `AS_OF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Unpaid for the grace period: suspend (its account exists at Telinta).
    Suspend,
    /// Unpaid for the grace period, but Telinta has no account for it: the suspension fails.
    SuspendFails,
    /// `paid_through` has come: invoice and overdue notice, no suspension yet.
    Overdue,
    /// Renews within the notice: invoice and `renewal_due`.
    Invoice,
    /// Set to cancel and `paid_through` has come: cancelled.
    Cancel,
    /// Set to cancel, not yet at `paid_through`: nothing.
    CancelLater,
    /// Renews after the notice: nothing.
    NotDue,
    /// Suspended for an earlier month that has since been paid, unblocking failed then: the
    /// run unblocks it at Telinta and makes it active.
    PaidWhileSuspended,
}

/// (number, days from `AS_OF` to its `paid_through`, stage), in the order the run meets them.
const FIXTURE: [(&str, i64, Stage); 13] = [
    ("2125550101", -12, Stage::Suspend),
    ("2125550102", -11, Stage::Suspend),
    ("2125550103", -10, Stage::SuspendFails),
    ("2125550104", -2, Stage::Overdue),
    ("2125550105", -1, Stage::Cancel),
    ("2125550106", 1, Stage::Invoice),
    ("2125550107", 2, Stage::Invoice),
    ("2125550108", 3, Stage::CancelLater),
    ("2125550109", 4, Stage::Invoice),
    ("2125550110", 6, Stage::Invoice),
    ("2125550111", 7, Stage::Invoice),
    ("2125550112", 20, Stage::NotDue),
    ("2125550113", 15, Stage::PaidWhileSuspended),
];

fn count_of(stage: Stage) -> i64 {
    FIXTURE.iter().filter(|(_, _, s)| *s == stage).count() as i64
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

/// Waits up to `secs` for `cond`; panics with `what` otherwise.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting until {what}");
}

struct World {
    _dir: tempfile::TempDir,
    db: PathBuf,
    sim: TelintaSim,
    as_of: i64,
    /// Steps recorded by the fixture itself (an earlier month), by kind.
    seeded_steps: BTreeMap<String, i64>,
    seeded_renewals: i64,
}

impl World {
    fn new(seed: u64) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("portal.sqlite3");
        let sim = TelintaSim::start_with(SimOptions {
            seed,
            // Calls left hanging by killed runs each hold a worker for a while.
            workers: 8,
            ..SimOptions::default()
        })
        .unwrap();
        let mut w = World {
            _dir: dir,
            db,
            sim,
            as_of: parse_day(AS_OF).unwrap(),
            seeded_steps: BTreeMap::new(),
            seeded_renewals: 0,
        };
        let out = w.billing(&["migrate"]).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        w.seed();
        w.seeded_renewals = w.count("SELECT count(*) FROM invoices WHERE kind = 'renewal'");
        let conn = rusqlite_conn(&w.db);
        w.seeded_steps = conn
            .prepare("SELECT kind, count(*) FROM billing_events GROUP BY kind")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        drop(conn);
        w
    }

    /// The portal's rows, written directly: a customer per number, each with a paid order and
    /// its first invoice; and the number accounts at Telinta.
    fn seed(&self) {
        let client = TelintaClient::new(self.sim.client_config()).unwrap();
        let i_customer = self.sim.add_customer("renewals@example.com");
        let mut conn = rusqlite_conn(&self.db);
        let tx = conn.transaction().unwrap();
        let created = parse_day("2026-11-01").unwrap();
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
        let mut seq = 0;
        for (i, (number, days, stage)) in FIXTURE.iter().enumerate() {
            let id = i as i64 + 2;
            let pt = self.as_of + days * DAY;
            let anchor = day_of_month(pt);
            let start = add_months_anchored(pt, -1, anchor);
            let email = format!("c{number}@example.com");
            tx.execute(
                "INSERT INTO users (id, email, name, role, password_hash, created_at,
                                    password_changed_at)
                 VALUES (?1, ?2, 'Customer', 'customer', 'x', ?3, ?3)",
                rusqlite::params![id, email, created],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO numbers (number, npa, nxx, type, availability, source, created_at,
                                      updated_at)
                 VALUES (?1, '212', '555', 'local', 'sold', 'import', ?2, ?2)",
                rusqlite::params![number, created],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO orders (id, user_id, number, plan_id, plan_name, setup_cents,
                                     monthly_cents, amount_cents, currency, gateway,
                                     payment_status, hold_until, created_at, updated_at, paid_at)
                 VALUES (?1, ?1, ?2, 1, 'Starter', 500, 300, 800, 'USD', 'manual', 'paid', 0, ?3,
                         ?3, ?3)",
                rusqlite::params![id, number, start],
            )
            .unwrap();
            let suspended = *stage == Stage::PaidWhileSuspended;
            let cancel = matches!(stage, Stage::Cancel | Stage::CancelLater);
            tx.execute(
                "INSERT INTO purchased_numbers (order_id, user_id, number, status, paid_through,
                                                monthly_cents, anchor_day, cancel_at_period_end,
                                                created_at, updated_at)
                 VALUES (?1, ?1, ?2, ?3, ?4, 300, ?5, ?6, ?7, ?7)",
                rusqlite::params![
                    id,
                    number,
                    if suspended { "suspended" } else { "active" },
                    pt,
                    anchor,
                    cancel,
                    start
                ],
            )
            .unwrap();
            let mut invoice = |kind: &str, from: i64, to: i64, total: i64| {
                seq += 1;
                tx.execute(
                    "INSERT INTO invoices (order_id, year, seq, number, issued_at, customer_email,
                                           customer_name, total_cents, currency, kind,
                                           period_start, period_end, status, paid_at)
                     VALUES (?1, 2026, ?2, ?3, ?4, ?5, 'Customer', ?6, 'USD', ?7, ?4, ?8, 'paid',
                             ?4)",
                    rusqlite::params![
                        id,
                        seq,
                        format!("INV-2026-{seq:06}"),
                        from,
                        email,
                        total,
                        kind,
                        to
                    ],
                )
                .unwrap();
            };
            if suspended {
                // Bought two months ago; suspended for last month's renewal, which is paid now.
                let before = add_months_anchored(start, -1, anchor);
                invoice("first", before, start, 800);
                invoice("renewal", start, pt, 300);
                tx.execute(
                    "INSERT INTO billing_events (order_id, period_start, kind, at)
                     VALUES (?1, ?2, 'renewal_due', ?2), (?1, ?2, 'overdue', ?2),
                            (?1, ?2, 'suspended', ?2), (?1, ?2, 'reactivation_failed', ?2)",
                    rusqlite::params![id, start],
                )
                .unwrap();
            } else {
                invoice("first", start, pt, 800);
            }
            if *stage != Stage::SuspendFails {
                let mut a = NewAccount::new(*number, i_customer, 1, "service-pw");
                a.activation_date = Some(format_day(start));
                let i_account = client.add_account(&a).unwrap();
                if suspended {
                    let mut u = didport::integrations::telinta::AccountUpdate::new(i_account);
                    u.blocked = Some(true);
                    client.update_account(&u).unwrap();
                }
            }
        }
        tx.commit().unwrap();
    }

    /// `didport <args>` pointed at the database and the simulator.
    fn billing(&self, args: &[&str]) -> Command {
        let mut c = didport();
        c.args(args)
            .env("DIDPORT_DB", &self.db)
            .env("DIDPORT_BASE_URL", "https://portal.example.com")
            .env("DIDPORT_ADMIN_EMAIL", ADMIN)
            .env("DIDPORT_RENEWAL_NOTICE_DAYS", "7")
            .env("DIDPORT_GRACE_DAYS", "7")
            .env("DIDPORT_TELINTA_URL", self.sim.base_url())
            .env("DIDPORT_TELINTA_LOGIN", self.sim.login())
            .env("DIDPORT_TELINTA_PASSWORD", self.sim.password())
            .env("DIDPORT_TELINTA_PRODUCT", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run_cmd(&self) -> Command {
        self.billing(&["billing", "run", "--as-of", AS_OF])
    }

    /// A whole run; its output.
    fn run_to_completion(&self) -> Output {
        let out = self.run_cmd().output().unwrap();
        assert!(
            out.status.success(),
            "billing run: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts a run with `failure` armed once on the Telinta `method`, waits until the run's
    /// call of it has reached Telinta, and kills the process with SIGKILL while it waits.
    fn run_killed_at(&self, method: &str, failure: Failure) {
        self.sim.fail(method, failure.clone(), Times::Once);
        let seen = self.sim.call_count(method);
        let mut child: Child = self.run_cmd().spawn().unwrap();
        wait_for(30, &format!("the run calls {method}"), || {
            self.sim.call_count(method) > seen
        });
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "the run was still waiting on {method} when killed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        if let Failure::Delay(d) = failure {
            // The call lands at Telinta after the process died.
            std::thread::sleep(d + Duration::from_millis(400));
        }
        self.sim.clear_failure(method);
    }

    fn count(&self, sql: &str) -> i64 {
        rusqlite_conn(&self.db)
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    fn mails(&self, event: &str) -> i64 {
        self.count(&format!(
            "SELECT count(*) FROM outbox WHERE event = '{event}'"
        ))
    }

    fn status(&self, number: &str) -> String {
        rusqlite_conn(&self.db)
            .query_row(
                "SELECT status FROM purchased_numbers WHERE number = ?1",
                [number],
                |r| r.get(0),
            )
            .unwrap()
    }

    fn blocked(&self, number: &str) -> bool {
        self.sim.account(number).is_some_and(|a| a.blocked)
    }

    /// Renewal invoices issued by the runs.
    fn renewal_invoices(&self) -> i64 {
        self.count("SELECT count(*) FROM invoices WHERE kind = 'renewal'") - self.seeded_renewals
    }

    /// What must hold after any kill, and after every completed run.
    fn check_invariants(&self) {
        let conn = rusqlite_conn(&self.db);
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        let fk: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(fk, 0, "no dangling references");
        assert_eq!(
            self.count(
                "SELECT count(*) FROM (SELECT 1 FROM invoices GROUP BY order_id, period_start
                 HAVING count(*) > 1)"
            ),
            0,
            "one invoice per number and period"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM (SELECT year FROM invoices GROUP BY year
                 HAVING min(seq) <> 1 OR max(seq) <> count(*) OR count(DISTINCT seq) <> count(*))"
            ),
            0,
            "invoice numbers have no gaps in any year"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM invoices WHERE number <> printf('INV-%d-%06d', year, seq)"
            ),
            0,
            "every invoice number is its year and sequence"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM (SELECT 1 FROM outbox GROUP BY event, to_addr, subject
                 HAVING count(*) > 1)"
            ),
            0,
            "no email is queued twice"
        );
        // Every recorded step has its email, and every email its recorded step.
        for (kind, event, copies) in [
            ("renewal_due", "renewal_due", 1),
            ("overdue", "payment_overdue", 1),
            ("suspended", "number_suspended_unpaid", 2),
            ("suspension_failed", "suspension_failed", 1),
            ("cancelled", "number_cancelled", 2),
            ("reactivated", "number_reactivated", 2),
        ] {
            let seeded = self.seeded_steps.get(kind).copied().unwrap_or(0);
            assert_eq!(
                (self.count(&format!(
                    "SELECT count(*) FROM billing_events WHERE kind = '{kind}'"
                )) - seeded)
                    * copies,
                self.mails(event),
                "billing_events {kind} against the {event} emails"
            );
        }
        assert_eq!(
            self.count(
                "SELECT count(*) FROM invoices i WHERE kind = 'renewal' AND NOT EXISTS (SELECT 1 FROM billing_events e WHERE e.order_id = i.order_id
                                 AND e.period_start = i.period_start AND e.kind = 'renewal_due')"
            ),
            0,
            "every renewal invoice has its renewal_due step"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM billing_events e WHERE kind = 'renewal_due' AND NOT EXISTS
                 (SELECT 1 FROM invoices i WHERE i.order_id = e.order_id
                  AND i.period_start = e.period_start AND i.kind = 'renewal')"
            ),
            0,
            "every renewal_due step has its invoice"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM purchased_numbers p WHERE status = 'suspended' AND NOT EXISTS
                 (SELECT 1 FROM billing_events e WHERE e.order_id = p.order_id
                  AND e.kind = 'suspended' AND NOT EXISTS
                  (SELECT 1 FROM billing_events r WHERE r.order_id = e.order_id
                   AND r.period_start = e.period_start AND r.kind = 'reactivated'))"
            ),
            0,
            "every suspended number has its suspension step"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM billing_events e WHERE kind = 'suspended' AND NOT EXISTS
                 (SELECT 1 FROM billing_events r WHERE r.order_id = e.order_id
                  AND r.period_start = e.period_start AND r.kind = 'reactivated')
                 AND (SELECT status FROM purchased_numbers p WHERE p.order_id = e.order_id)
                     <> 'suspended'"
            ),
            0,
            "every suspension not undone is a suspended number"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM purchased_numbers p WHERE (status = 'cancelled') <>
                 EXISTS (SELECT 1 FROM billing_events e WHERE e.order_id = p.order_id
                         AND e.kind = 'cancelled')"
            ),
            0,
            "cancelled exactly where the step was recorded"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM invoices i JOIN purchased_numbers p ON p.order_id = i.order_id
                 WHERE i.status = 'open' AND (p.status = 'cancelled' OR p.cancel_at_period_end = 1)"
            ),
            0,
            "no open invoice for a number that stops"
        );
        // Upstream first: the portal never says suspended for an unpaid renewal while
        // Telinta still takes calls. (Once the renewal is paid, Telinta is unblocked first and
        // the portal follows, so a kill in between leaves a paid number suspended but
        // unblocked; the next run finishes it: see `check_settled`.)
        for (number, _, _) in FIXTURE {
            let unpaid = self.count(&format!(
                "SELECT count(*) FROM billing_events e JOIN purchased_numbers p
                 ON p.order_id = e.order_id
                 WHERE p.number = {number} AND e.kind = 'suspended'
                 AND e.period_start = p.paid_through"
            )) > 0;
            if self.status(number) == "suspended" && unpaid {
                assert!(self.blocked(number), "{number}: suspended but not blocked");
            }
        }
    }

    /// After the final run: Telinta and the portal agree both ways.
    fn check_settled(&self) {
        self.check_invariants();
        for (number, _, _) in FIXTURE {
            match self.status(number).as_str() {
                "active" => assert!(!self.blocked(number), "{number}: active but blocked"),
                "suspended" => assert!(self.blocked(number), "{number}: suspended, not blocked"),
                _ => {}
            }
        }
    }
}

#[test]
fn a_billing_run_killed_at_each_step_and_run_again_does_everything_once() {
    let w = World::new(16);
    let [a, b, c] = ["2125550101", "2125550102", "2125550103"];
    w.check_invariants();
    let seeded_invoices = w.count("SELECT count(*) FROM invoices");

    // 1. Killed at the first Telinta call, which comes after the first number's invoice and
    //    notice: one invoice of the nine due is issued, with its emails.
    w.run_killed_at("Account/get_account_info", Failure::Timeout(HANG));
    w.check_invariants();
    assert_eq!(w.renewal_invoices(), 1, "killed during the first invoices");
    assert_eq!((w.mails("renewal_due"), w.mails("payment_overdue")), (1, 1));
    assert!(!w.blocked(a));
    assert_eq!(w.status(a), "active");

    // 2. Killed while the block call is in flight and Telinta never performs it.
    w.run_killed_at("Account/update_account", Failure::Timeout(HANG));
    w.check_invariants();
    assert!(!w.blocked(a), "never blocked");
    assert_eq!(w.status(a), "active");
    assert_eq!(w.renewal_invoices(), 1, "nothing issued twice");
    assert_eq!((w.mails("renewal_due"), w.mails("payment_overdue")), (1, 1));

    // 3. Killed while the block call is in flight, and Telinta performs it after the process
    //    died: blocked upstream, still active in the portal until a run reads it back.
    w.run_killed_at("Account/update_account", Failure::Delay(DELAY));
    w.check_invariants();
    assert!(w.blocked(a), "Telinta performed the call");
    assert_eq!(w.status(a), "active");
    assert_eq!(w.mails("number_suspended_unpaid"), 0);

    // 4. The next run finds the first number blocked (no second block call), suspends it in
    //    the portal, and is killed in the second number's block call, which Telinta performs.
    let updates = w.sim.call_count("Account/update_account");
    w.run_killed_at("Account/update_account", Failure::Delay(DELAY));
    assert_eq!(
        w.sim.call_count("Account/update_account"),
        updates + 1,
        "only the second number's block call"
    );
    w.check_invariants();
    assert_eq!(w.status(a), "suspended");
    assert_eq!(
        w.mails("number_suspended_unpaid"),
        2,
        "the customer and the admin"
    );
    assert!(w.blocked(b));
    assert_eq!(w.status(b), "active");
    assert_eq!(w.renewal_invoices(), 2);

    // 5. Killed in the last Telinta call of the day, after every invoice: unblocking the number
    //    whose overdue renewal was paid, which Telinta performs after the process died.
    let k = "2125550113";
    w.run_killed_at("Account/update_account", Failure::Delay(DELAY));
    w.check_invariants();
    assert_eq!(w.renewal_invoices(), 9, "every invoice is issued");
    assert_eq!(w.status(b), "suspended");
    assert_eq!(w.status("2125550105"), "cancelled");
    assert!(!w.blocked(k), "unblocked at Telinta");
    assert_eq!(
        w.status(k),
        "suspended",
        "the portal follows on the next run"
    );
    assert_eq!(w.mails("number_reactivated"), 0);

    // 6. Run to completion: only the reactivation was left.
    let out = w.run_to_completion();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 renewal invoices, 0 overdue notices, 0 suspended, 1 suspensions failed, 0 cancelled, 1 reactivated"),
        "{stdout}"
    );
    w.check_settled();

    // 7. And once more: nothing new, not even an email.
    let outbox = w.count("SELECT count(*) FROM outbox");
    let out = w.run_to_completion();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("0 renewal invoices, 0 overdue notices, 0 suspended, 1 suspensions failed, 0 cancelled, 0 reactivated"),
        "{stdout}"
    );
    assert_eq!(w.count("SELECT count(*) FROM outbox"), outbox);
    w.check_settled();

    // Everything due was done, once.
    let invoiced = count_of(Stage::Suspend)
        + count_of(Stage::SuspendFails)
        + count_of(Stage::Overdue)
        + count_of(Stage::Invoice);
    assert_eq!(w.renewal_invoices(), invoiced);
    assert_eq!(
        w.count("SELECT count(*) FROM invoices"),
        seeded_invoices + invoiced
    );
    assert_eq!(
        w.count("SELECT count(*) FROM invoices WHERE status = 'open'"),
        invoiced,
        "every renewal is open, none for the numbers that stop"
    );
    assert_eq!(w.mails("renewal_due"), invoiced);
    assert_eq!(
        w.mails("payment_overdue"),
        count_of(Stage::Suspend) + count_of(Stage::SuspendFails) + count_of(Stage::Overdue)
    );
    assert_eq!(
        w.mails("number_suspended_unpaid"),
        2 * count_of(Stage::Suspend)
    );
    assert_eq!(w.mails("suspension_failed"), 1, "the admin, once");
    assert_eq!(
        w.count(&format!(
            "SELECT count(*) FROM outbox WHERE event = 'suspension_failed' AND to_addr = '{ADMIN}'"
        )),
        1
    );
    assert_eq!(w.mails("number_cancelled"), 2);
    assert_eq!(w.mails("number_reactivated"), 2);
    for (number, _, stage) in FIXTURE {
        let expected = match stage {
            Stage::Suspend => "suspended",
            Stage::Cancel => "cancelled",
            _ => "active",
        };
        assert_eq!(w.status(number), expected, "{number} ({stage:?})");
        assert_eq!(
            w.blocked(number),
            stage == Stage::Suspend,
            "{number} ({stage:?}) at Telinta"
        );
    }
    assert!(w.sim.account(c).is_none());
    assert_eq!(
        w.count(
            "SELECT count(*) FROM numbers WHERE number = 2125550105 AND availability = 'available'"
        ),
        1,
        "the cancelled number is back on sale"
    );
}

/// Every row of every table, as (row count, checksum of the rows in order).
fn snapshot(db: &Path) -> BTreeMap<String, (usize, u64)> {
    let conn = rusqlite_conn(db);
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\"")).unwrap();
        let cols = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |r| {
                let mut line = String::new();
                for i in 0..cols {
                    let v: rusqlite::types::Value = r.get(i)?;
                    line.push_str(&format!("{v:?}|"));
                }
                Ok(line)
            })
            .unwrap()
            .map(Result::unwrap)
            .collect();
        rows.sort();
        let mut h = DefaultHasher::new();
        rows.hash(&mut h);
        out.insert(t, (rows.len(), h.finish()));
    }
    out
}

#[test]
fn a_dry_run_changes_nothing_and_says_what_it_would_do() {
    let w = World::new(17);
    let before = snapshot(&w.db);
    let calls = w.sim.call_counts();
    let out = w
        .billing(&["billing", "run", "--as-of", AS_OF, "--dry-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(snapshot(&w.db), before, "no table changed");
    assert_eq!(w.sim.call_counts(), calls, "Telinta was not called");
    let would: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("would: "))
        .collect();
    for (number, _, stage) in FIXTURE {
        let pretty = didport::domain::phone::pretty(number);
        let says = |what: &str| {
            would
                .iter()
                .any(|l| l.starts_with(&format!("would: {what} {pretty}")))
        };
        let invoiced = matches!(
            stage,
            Stage::Suspend | Stage::SuspendFails | Stage::Overdue | Stage::Invoice
        );
        assert_eq!(says("invoice"), invoiced, "{number} ({stage:?}): {stdout}");
        assert_eq!(
            says("overdue notice"),
            matches!(stage, Stage::Suspend | Stage::SuspendFails | Stage::Overdue),
            "{number} ({stage:?}): {stdout}"
        );
        assert_eq!(
            says("suspend"),
            matches!(stage, Stage::Suspend | Stage::SuspendFails),
            "{number} ({stage:?}): {stdout}"
        );
        assert_eq!(says("cancel"), stage == Stage::Cancel, "{number}: {stdout}");
    }
    assert!(
        stdout.contains(&format!(
            "dry run for {AS_OF}: 9 renewal invoices, 4 overdue notices, 3 suspended, \
             0 suspensions failed, 1 cancelled, 0 reactivated"
        )),
        "{stdout}"
    );
    // What it said it would do is what a real run does.
    let out = w.run_to_completion();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!(
            "renewals for {AS_OF}: 9 renewal invoices, 4 overdue notices, 2 suspended, \
             1 suspensions failed, 1 cancelled, 1 reactivated"
        )),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    w.check_settled();
}

#[test]
fn a_bad_as_of_date_exits_2_with_one_line_and_changes_nothing() {
    let w = World::new(18);
    let before = snapshot(&w.db);
    for bad in ["2027-02-30", "yesterday", "10/03/2027"] {
        let out = w
            .billing(&["billing", "run", "--as-of", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{bad:?}: {stderr}");
        assert!(stderr.contains("--as-of"), "{bad:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
    assert_eq!(snapshot(&w.db), before);
    assert_eq!(w.sim.call_count("Account/get_account_info"), 0);
}
