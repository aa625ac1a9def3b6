//! The command line, run as the real binary.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::support::smtp::SmtpSink;

fn didport() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_didport"));
    // Start from a clean environment so the machine's settings do not leak in.
    for (k, _) in std::env::vars() {
        if k.starts_with("DIDPORT_") {
            c.env_remove(k);
        }
    }
    c.env("DIDPORT_LOG", "warn");
    c
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> Out {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn didport");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("didport finishes");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

#[test]
fn version_and_help() {
    let v = run(didport().arg("--version"), None);
    assert_eq!(v.code, 0);
    assert!(v.stdout.contains(env!("CARGO_PKG_VERSION")));
    let h = run(didport().arg("--help"), None);
    assert_eq!(h.code, 0);
    for cmd in [
        "serve",
        "demo",
        "migrate",
        "user",
        "plan",
        "backup",
        "check-config",
        "send-test-email",
    ] {
        assert!(h.stdout.contains(cmd), "--help lacks {cmd}");
    }
    let bad = run(didport().arg("frobnicate"), None);
    assert_eq!(bad.code, 2);
}

#[test]
fn bad_configuration_exits_2_with_one_line_per_problem() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        didport()
            .arg("check-config")
            .env("DIDPORT_DB", dir.path().join("x.sqlite3"))
            .env("DIDPORT_SMTP_HOST", "mail.example.com")
            .env("DIDPORT_SMTP_TLS", "tls-please")
            .env("DIDPORT_SMTP_PORT", "twenty-five")
            .env(
                "DIDPORT_SMTP_PASSWORD_FILE",
                dir.path().join("missing-secret"),
            ),
        None,
    );
    assert_eq!(out.code, 2, "{}", out.stderr);
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("DIDPORT_SMTP_TLS") && l.contains("tls-please"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("DIDPORT_SMTP_PORT") && l.contains("twenty-five"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("DIDPORT_SMTP_PASSWORD_FILE"))
    );

    // serve refuses to start without an admin address, and with a bad port.
    let s = run(
        didport()
            .arg("serve")
            .env("DIDPORT_DB", dir.path().join("x.sqlite3"))
            .env("DIDPORT_LISTEN", "127.0.0.1:notaport"),
        None,
    );
    assert_eq!(s.code, 2);
    assert!(s.stderr.contains("DIDPORT_LISTEN"), "{}", s.stderr);
    let s2 = run(
        didport()
            .arg("serve")
            .env("DIDPORT_DB", dir.path().join("x.sqlite3")),
        None,
    );
    assert_eq!(s2.code, 2);
    assert!(s2.stderr.contains("DIDPORT_ADMIN_EMAIL"), "{}", s2.stderr);
    assert!(
        !dir.path().join("x.sqlite3").exists(),
        "nothing was created"
    );
}

#[test]
fn check_config_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("pp");
    std::fs::write(&secret, "paypal-very-secret\n").unwrap();
    let out = run(
        didport()
            .arg("check-config")
            .env("DIDPORT_ADMIN_EMAIL", "ops@example.com")
            .env("DIDPORT_PAYPAL_CLIENT_ID", "client-abc")
            .env("DIDPORT_PAYPAL_SECRET_FILE", &secret)
            .env("DIDPORT_SMTP_HOST", "127.0.0.1")
            .env("DIDPORT_SMTP_TLS", "none")
            .env("DIDPORT_SMTP_USER", "mailer")
            .env("DIDPORT_SMTP_PASSWORD", "smtp-very-secret"),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("client-abc"));
    assert!(out.stdout.contains("configuration OK"));
    assert!(!out.stdout.contains("very-secret"));
    assert!(!out.stderr.contains("very-secret"));
}

#[test]
fn migrate_user_add_plan_add_and_backup() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("portal.sqlite3");
    let m = run(didport().arg("migrate").arg("--db").arg(&db), None);
    assert_eq!(m.code, 0, "{}", m.stderr);
    assert!(db.exists());

    // Passwords come only from standard input.
    let no_stdin = run(
        didport()
            .args([
                "user",
                "add",
                "--email",
                "root@example.com",
                "--role",
                "admin",
            ])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(no_stdin.code, 2);
    let add = run(
        didport()
            .args([
                "user",
                "add",
                "--email",
                "Root@Example.com",
                "--role",
                "admin",
                "--name",
                "Root",
                "--password-stdin",
            ])
            .arg("--db")
            .arg(&db),
        Some("a long admin passphrase\n"),
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    assert!(add.stdout.contains("root@example.com"));
    let dup = run(
        didport()
            .args([
                "user",
                "add",
                "--email",
                "root@example.com",
                "--role",
                "admin",
                "--password-stdin",
            ])
            .arg("--db")
            .arg(&db),
        Some("a long admin passphrase\n"),
    );
    assert_eq!(dup.code, 1);
    assert!(dup.stderr.contains("already exists"));
    let weak = run(
        didport()
            .args([
                "user",
                "add",
                "--email",
                "weak@example.com",
                "--role",
                "customer",
                "--password-stdin",
            ])
            .arg("--db")
            .arg(&db),
        Some("short\n"),
    );
    assert_eq!(weak.code, 1);

    let plan = run(
        didport()
            .args([
                "plan",
                "add",
                "--name",
                "Starter",
                "--setup-cents",
                "500",
                "--monthly-cents",
                "300",
            ])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let bad_plan = run(
        didport()
            .args([
                "plan",
                "add",
                "--name",
                "",
                "--setup-cents",
                "500",
                "--monthly-cents",
                "300",
            ])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(bad_plan.code, 2);
    let tollfree = run(
        didport()
            .args([
                "plan",
                "add",
                "--name",
                "Toll-free",
                "--setup-cents",
                "500",
                "--monthly-cents",
                "900",
                "--number-type",
                "tollfree",
            ])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(tollfree.code, 0, "{}", tollfree.stderr);
    assert!(tollfree.stdout.contains("toll-free"), "{}", tollfree.stdout);
    let bad_type = run(
        didport()
            .args([
                "plan",
                "add",
                "--name",
                "Mobile",
                "--setup-cents",
                "1",
                "--monthly-cents",
                "1",
                "--number-type",
                "mobile",
            ])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(bad_type.code, 2, "{}", bad_type.stderr);

    let conn = crate::support::rusqlite_conn(&db);
    let role: String = conn
        .query_row(
            "SELECT role FROM users WHERE email = 'root@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(role, "admin");
    let plans: i64 = conn
        .query_row("SELECT count(*) FROM plans", [], |r| r.get(0))
        .unwrap();
    assert_eq!(plans, 2);
    let tollfree_type: String = conn
        .query_row(
            "SELECT number_type FROM plans WHERE name = 'Toll-free'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tollfree_type, "tollfree");
    drop(conn);

    let dest = dir.path().join("copy.sqlite3");
    let b = run(
        didport().arg("backup").arg(&dest).arg("--db").arg(&db),
        None,
    );
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert_eq!(didport::store::integrity_check(&dest).unwrap(), "ok");
    let copy = crate::support::rusqlite_conn(&dest);
    let users: i64 = copy
        .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
        .unwrap();
    assert_eq!(users, 1);
    // Refuses to overwrite.
    let again = run(
        didport().arg("backup").arg(&dest).arg("--db").arg(&db),
        None,
    );
    assert_eq!(again.code, 1);
    assert_eq!(again.stderr.lines().count(), 1);
    // The restore drill: a second copy, opened and counted against the live database.
    let drill = dir.path().join("drill.sqlite3");
    let v = run(
        didport()
            .arg("backup")
            .arg(&drill)
            .arg("--verify")
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert!(v.stdout.contains("verified"), "{}", v.stdout);
    let users_line = v
        .stdout
        .lines()
        .find(|l| l.starts_with("users "))
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(users_line, "users live 1 copy 1");
}

#[test]
fn a_newer_database_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("future.sqlite3");
    assert_eq!(
        run(didport().arg("migrate").arg("--db").arg(&db), None).code,
        0
    );
    crate::support::rusqlite_conn(&db)
        .execute_batch("PRAGMA user_version = 999")
        .unwrap();
    let out = run(didport().arg("migrate").arg("--db").arg(&db), None);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("schema version 999"), "{}", out.stderr);
    assert!(out.stderr.contains("newer didport"), "{}", out.stderr);
}

#[test]
fn send_test_email_speaks_smtp() {
    let sink = SmtpSink::start();
    let out = run(
        didport()
            .args(["send-test-email", "someone@example.com"])
            .env("DIDPORT_SMTP_HOST", "127.0.0.1")
            .env("DIDPORT_SMTP_PORT", sink.port.to_string())
            .env("DIDPORT_SMTP_TLS", "none")
            .env("DIDPORT_MAIL_FROM", "portal@example.com"),
        None,
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, "portal@example.com");
    assert_eq!(got[0].to, vec!["someone@example.com".to_string()]);

    let unset = run(
        didport().args(["send-test-email", "someone@example.com"]),
        None,
    );
    assert_eq!(unset.code, 2);
    assert!(unset.stderr.contains("DIDPORT_SMTP_HOST"));

    // A server that is down: exit 1 with one line.
    let port = crate::support::smtp::free_port();
    let down = run(
        didport()
            .args(["send-test-email", "someone@example.com"])
            .env("DIDPORT_SMTP_HOST", "127.0.0.1")
            .env("DIDPORT_SMTP_PORT", port.to_string())
            .env("DIDPORT_SMTP_TLS", "none"),
        None,
    );
    assert_eq!(down.code, 1);
    assert_eq!(down.stderr.trim().lines().count(), 1, "{}", down.stderr);
}

#[test]
fn demo_starts_fast_and_serves_home_and_healthz() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let mut child = didport()
        .arg("demo")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--db")
        .arg(dir.path().join("demo.sqlite3"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first.rsplit(' ').next().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{first}");
    let rest: Vec<String> = lines.by_ref().take(4).map(|l| l.unwrap()).collect();
    let startup = started.elapsed();
    let admin_line = rest.iter().find(|l| l.contains("admin")).unwrap();
    let password = admin_line.rsplit(' ').next().unwrap().to_string();

    let mut c = crate::support::Client::new(&url);
    let home = c.get("/");
    assert_eq!(home.status, 200);
    assert!(home.has("#sandbox-banner"));
    assert_eq!(c.get("/healthz").status, 200);
    c.login(didport::demo::ADMIN_EMAIL, &password);
    assert_eq!(c.get("/admin/outbox").status, 200);
    let _ = child.kill();
    let _ = child.wait();
    // Reported, not asserted: tests never assert on time.
    eprintln!("demo was serving after {startup:?}");
}

#[test]
fn numbers_import_reports_bad_lines_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("inv.sqlite3");
    let csv = dir.path().join("n.csv");
    std::fs::write(
        &csv,
        "number,state,rate_center,type\n2125550101,NY,,\nnot-a-number,NY,,\n8005550102,,,\n2125550103,XX,,\n",
    )
    .unwrap();
    let first = run(
        didport()
            .args(["numbers", "import"])
            .arg(&csv)
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("2 added"), "{}", first.stdout);
    assert!(first.stdout.contains("2 bad rows"), "{}", first.stdout);
    assert!(first.stderr.contains("line 3:"), "{}", first.stderr);
    assert!(first.stderr.contains("line 5:"), "{}", first.stderr);
    let again = run(
        didport()
            .args(["numbers", "import"])
            .arg(&csv)
            .arg("--db")
            .arg(&db),
        None,
    );
    assert!(
        again.stdout.contains("0 added") && again.stdout.contains("2 unchanged"),
        "{}",
        again.stdout
    );
    // Standard input works too.
    let stdin = run(
        didport()
            .args(["numbers", "import", "-"])
            .arg("--db")
            .arg(&db),
        Some("number\n3105550104\n"),
    );
    assert!(stdin.stdout.contains("1 added"), "{}", stdin.stdout);
    let conn = crate::support::rusqlite_conn(&db);
    let n: i64 = conn
        .query_row("SELECT count(*) FROM numbers", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    // A file without the header fails as a whole with one line.
    std::fs::write(&csv, "2125550199\n").unwrap();
    let bad = run(
        didport()
            .args(["numbers", "import"])
            .arg(&csv)
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(bad.code, 1);
    assert_eq!(bad.stderr.trim().lines().count(), 1, "{}", bad.stderr);
    let missing = run(
        didport()
            .args(["numbers", "import", "/nonexistent.csv"])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(missing.code, 1);
}

#[test]
fn the_demo_lets_a_newcomer_buy_activate_and_manage_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = didport()
        .arg("demo")
        .args(["--listen", "127.0.0.1:0"])
        .arg("--db")
        .arg(dir.path().join("demo.sqlite3"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = lines
        .next()
        .unwrap()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let rest: Vec<String> = lines.by_ref().take(4).map(|l| l.unwrap()).collect();
    let password = |who: &str| {
        rest.iter()
            .find(|l| l.trim_start().starts_with(who))
            .and_then(|l| l.rsplit(' ').next())
            .unwrap()
            .to_string()
    };
    let (admin_pw, customer_pw) = (password("admin"), password("customer"));

    let mut c = crate::support::Client::new(&url);
    c.login(didport::demo::CUSTOMER_EMAIL, &customer_pw);
    let found = c.get("/numbers?npa=212");
    let number = found
        .attr("#results a.number", "href")
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let page = c.get(&format!("/numbers/{number}"));
    let plan = page.attr("#buy-form input[name=plan]", "value").unwrap();
    let to_paypal = c.post("/checkout", &[("number", &number), ("plan", &plan)]);
    assert_eq!(to_paypal.status, 303);
    let approval = to_paypal.location().to_string();
    let sim_page = c.get(&approval);
    let token = sim_page
        .attr("#approve-form input[name=token]", "value")
        .unwrap();
    let base = approval.split("/checkoutnow").next().unwrap();
    let back = c.get(&format!(
        "{base}/checkoutnow?token={token}&fake_action=approve"
    ));
    let order = c.get_follow(back.location());
    assert_eq!(order.attr("#order", "data-status").as_deref(), Some("paid"));

    let mut admin = crate::support::Client::new(&url);
    admin.login(didport::demo::ADMIN_EMAIL, &admin_pw);
    let orders = admin.get("/admin/orders");
    let row = orders.attr("#orders tbody tr", "id").unwrap();
    let id = row.trim_start_matches("order-").to_string();
    let r = admin.post(
        &format!("/admin/orders/{id}/status"),
        &[("status", "active")],
    );
    let after = admin.follow(r);
    assert_eq!(
        after
            .attr(&format!("#order-{id}"), "data-status")
            .as_deref(),
        Some("active"),
        "{}",
        after.text("#flash")
    );
    let outbox = admin.get("/admin/outbox");
    for event in ["order_placed", "payment_received", "number_activated"] {
        assert!(
            outbox.has(&format!("tr[data-event={event}]")),
            "{event} in the outbox"
        );
    }

    c.get(&format!("/my/numbers/{number}"));
    let saved = c.post(
        &format!("/my/numbers/{number}/settings"),
        &[("pin", "5831"), ("forwarding", "3105550199")],
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    let home = c.get("/my");
    assert!(
        home.text(&format!("#number-{number}"))
            .contains("(310) 555-0199")
    );

    // The demo ran the preflight against its simulators, and a dispute played through the
    // PayPal simulator's controls reaches the order and the admin.
    let dash = admin.get("/admin");
    assert_eq!(
        dash.attr("#upstream-check", "data-ok").as_deref(),
        Some("true"),
        "{}",
        dash.text("#upstream-check")
    );
    let conn = crate::support::rusqlite_conn(&dir.path().join("demo.sqlite3"));
    let capture: String = conn
        .query_row(
            &format!("SELECT capture_id FROM orders WHERE id = {id}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let r = ureq::post(&format!("{base}/__fake/captures/{capture}/dispute"))
        .send("{}")
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    crate::support::wait_until("the dispute marks the order", || {
        conn.query_row(
            &format!("SELECT count(*) FROM orders WHERE id = {id} AND failure LIKE 'CHECK:%'"),
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap()
            == 1
    });
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn check_config_warns_about_admins_without_two_factor_and_reset_2fa_turns_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("portal.sqlite3");
    let add = run(
        didport()
            .args([
                "user",
                "add",
                "--email",
                "root@example.com",
                "--role",
                "admin",
            ])
            .arg("--password-stdin")
            .arg("--db")
            .arg(&db),
        Some("a long enough password\n"),
    );
    assert_eq!(add.code, 0, "{}", add.stderr);
    let check = || {
        run(
            didport()
                .arg("check-config")
                .arg("--db")
                .arg(&db)
                .env("DIDPORT_ADMIN_EMAIL", "ops@example.com"),
            None,
        )
    };
    let out = check();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("admins without two-factor sign-in")
            && out.stdout.contains("root@example.com"),
        "{}",
        out.stdout
    );
    // Turned on (as enrolment leaves it), the warning goes.
    let conn = crate::support::rusqlite_conn(&db);
    conn.execute_batch(
        "UPDATE users SET totp_secret = '3132333435363738393031323334353637383930', totp_last_step = 1;
         INSERT INTO recovery_codes (user_id, code_hash) SELECT id, 'h' FROM users;",
    )
    .unwrap();
    let out = check();
    assert!(!out.stdout.contains("without two-factor"), "{}", out.stdout);
    // The operator's reset turns it off and removes the recovery codes.
    let reset = run(
        didport()
            .args(["user", "reset-2fa", "--email", "ROOT@example.com"])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_eq!(reset.code, 0, "{}", reset.stderr);
    let left: (Option<String>, i64) = conn
        .query_row(
            "SELECT totp_secret, (SELECT count(*) FROM recovery_codes) FROM users",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(left, (None, 0));
    assert!(check().stdout.contains("without two-factor"));
    let unknown = run(
        didport()
            .args(["user", "reset-2fa", "--email", "nobody@example.com"])
            .arg("--db")
            .arg(&db),
        None,
    );
    assert_ne!(unknown.code, 0);
    assert!(
        unknown.stderr.contains("nobody@example.com"),
        "{}",
        unknown.stderr
    );
}
