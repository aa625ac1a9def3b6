//! The README's operator section, followed as written: the commands of "Running it for real"
//! run one by one in a shell against the built binary (the database moved into a temporary
//! folder), then the portal is stopped the way systemd stops it. A README that drifts from the
//! binary fails here.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The lines of the first `sh` block after `heading`.
fn shell_block(readme: &str, heading: &str) -> Vec<String> {
    let after = readme
        .split_once(heading)
        .map(|(_, rest)| rest)
        .expect("the heading is in the README");
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(b, _)| b)
        .expect("a sh block follows the heading");
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_operator_commands_of_the_readme_work_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let lines = shell_block(&readme, "## Running it for real");
    assert!(lines.len() >= 6, "{lines:?}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("didport.sqlite3");
    let bin = env!("CARGO_BIN_EXE_didport");
    let mut env: Vec<(String, String)> = Vec::new();
    let mut served = false;
    for line in lines {
        if line.starts_with("cargo build") {
            continue; // the test runs the binary cargo built for it
        }
        let line = line.replace("./target/release/didport", bin);
        if let Some(assign) = line.strip_prefix("export ") {
            let (k, v) = assign.split_once('=').expect("export K=V");
            let v = if k == "DIDPORT_DB" {
                db.display().to_string()
            } else {
                v.to_string()
            };
            env.push((k.to_string(), v));
            continue;
        }
        if line.ends_with(" serve") {
            // Started as written, on a free port, then stopped with SIGTERM.
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(format!("exec {line}"))
                .envs(env.iter().cloned())
                .env("DIDPORT_LISTEN", "127.0.0.1:0")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let stderr = child.stderr.take().unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(url) = l.split("listening on ").nth(1) {
                        let _ = tx.send(Some(url.trim().to_string()));
                    }
                }
                let _ = tx.send(None);
            });
            let url = rx
                .recv_timeout(Duration::from_secs(20))
                .ok()
                .flatten()
                .expect("serve logs where it listens");
            let health = ureq::get(&format!("{url}/healthz")).call().unwrap();
            assert_eq!(health.status().as_u16(), 200);
            let metrics = ureq::get(&format!("{url}/metrics")).call().unwrap();
            assert_eq!(metrics.status().as_u16(), 200, "loopback may read /metrics");
            let term = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(term.success());
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(0), "SIGTERM stops it cleanly");
            served = true;
            continue;
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&line)
            .envs(env.iter().cloned())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`{line}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(served, "the block ends by serving");
    // What the commands made is there: the admin and the plan.
    let conn = crate::support::rusqlite_conn(&db);
    let admins: i64 = conn
        .query_row(
            "SELECT count(*) FROM users WHERE role = 'admin' AND email = 'ops@example.com'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(admins, 1);
    let plans: i64 = conn
        .query_row(
            "SELECT count(*) FROM plans WHERE name = 'Starter'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(plans, 1);
    // And the restore drill the README schedules nightly.
    let copy = dir.path().join("nightly.sqlite3");
    let out = Command::new(bin)
        .arg("backup")
        .arg(&copy)
        .arg("--verify")
        .env("DIDPORT_DB", &db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
