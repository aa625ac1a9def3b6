//! Search benchmark at one million numbers: `cargo bench --bench search`.
//!
//! Generates 1,000,000 realistic numbers (many area codes and states, a toll-free share),
//! imports them with `didport numbers import`, starts `didport serve`, and drives each search
//! kind with wrk (16 connections) through a rotating list of real queries. It prints, per kind,
//! the server-side latency (from the server's own request log) and wrk's requests per second,
//! then `/healthz` as the ceiling of the stack, and the server's resident memory.
//!
//! Needs `wrk` (Debian package). Settings: BENCH_NUMBERS (default 1000000), BENCH_SECONDS
//! (default 5), BENCH_CONNECTIONS (default 16), BENCH_WARMUP (seconds of other queries of
//! every kind before measuring; default 2).

// A benchmark stops at the first broken step; that is how it reports one.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use didport::demo::{AREAS, Rng, generate_numbers};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Server-side durations (ms) of the request log lines after line `from`.
fn server_times(log: &std::path::Path, from: usize) -> (Vec<f64>, usize) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let mut times: Vec<f64> = lines[from.min(lines.len())..]
        .iter()
        .filter(|l| l.contains("didport::http::server"))
        // `… METHOD PATH STATUS 1.23ms [req 1a2b3c4d]`: the duration is the fourth word after
        // the target.
        .filter_map(|l| {
            let rest = l.split("didport::http::server: ").nth(1)?;
            rest.split(' ').nth(3)?.strip_suffix("ms")?.parse().ok()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times, lines.len())
}

struct Wrk {
    rps: f64,
    p50: String,
    p99: String,
    non2xx: u64,
}

fn wrk(url: &str, paths: &[String], seconds: u64, conns: u64, dir: &std::path::Path) -> Wrk {
    let script = dir.join("paths.lua");
    let mut lua = String::from("local paths = {\n");
    for p in paths {
        lua.push_str(&format!("  \"{p}\",\n"));
    }
    lua.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n",
    );
    std::fs::write(&script, lua).expect("write lua");
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{conns}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let find = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
            .unwrap_or_default()
    };
    let non2xx = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.rsplit(' ').next()?.trim().parse().ok())
        .unwrap_or(0);
    Wrk {
        rps: text
            .lines()
            .find(|l| l.starts_with("Requests/sec"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0.0),
        p50: find("50%"),
        p99: find("99%"),
        non2xx,
    }
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let get = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    (get("VmRSS:"), get("VmHWM:"))
}

/// `per_kind` queries of each search kind, drawn with `rng` from real numbers and words.
fn queries(
    rng: &mut Rng,
    numbers: &[didport::demo::GeneratedNumber],
    per_kind: u64,
) -> Vec<(&'static str, Vec<String>)> {
    let count = numbers.len();
    let mut pick = |n: u64| rng.below(n);
    let real = |i: u64| {
        numbers[(i as usize) % numbers.len()]
            .number
            .digits()
            .to_string()
    };
    let words = [
        "FLOWERS", "CALL", "PIZZA", "HELP", "TAXI", "LAW", "DENTIST", "CARS", "HOME", "BOOK",
        "PLUMBER", "FOOD",
    ];
    let states = ["NY", "CA", "TX", "FL", "IL", "WA", "PA", "GA", "MA", "AZ"];
    vec![
        (
            "NPA",
            (0..per_kind)
                .map(|_| {
                    format!(
                        "/numbers?npa={}",
                        AREAS[pick(AREAS.len() as u64) as usize].0
                    )
                })
                .collect(),
        ),
        (
            "NPA-NXX",
            (0..per_kind)
                .map(|_| {
                    let n = real(pick(count as u64));
                    format!("/numbers?npa={}&nxx={}", &n[..3], &n[3..6])
                })
                .collect(),
        ),
        (
            "state",
            (0..per_kind)
                .map(|_| {
                    format!(
                        "/numbers?state={}",
                        states[pick(states.len() as u64) as usize]
                    )
                })
                .collect(),
        ),
        (
            "starts",
            (0..per_kind)
                .map(|_| {
                    let n = real(pick(count as u64));
                    format!("/numbers?q={}&match=starts", &n[..5])
                })
                .collect(),
        ),
        (
            "contains",
            (0..per_kind)
                .map(|_| format!("/numbers?q={:04}&match=contains", pick(10_000)))
                .collect(),
        ),
        (
            "ends",
            (0..per_kind)
                .map(|_| format!("/numbers?q={:04}&match=ends", pick(10_000)))
                .collect(),
        ),
        (
            "vanity",
            (0..per_kind)
                .map(|i| {
                    format!(
                        "/numbers?q={}&match={}",
                        words[pick(words.len() as u64) as usize],
                        if i % 2 == 0 { "contains" } else { "ends" }
                    )
                })
                .collect(),
        ),
    ]
}

fn main() {
    let count = env_or("BENCH_NUMBERS", 1_000_000) as usize;
    let seconds = env_or("BENCH_SECONDS", 5);
    let conns = env_or("BENCH_CONNECTIONS", 16);
    // BENCH_BIN runs another build of didport (an earlier commit's, for a before/after).
    let bin_path =
        std::env::var("BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_didport").to_string());
    let bin = bin_path.as_str();
    let dir = tempfile::tempdir().expect("temp dir");
    // BENCH_DB names a database to keep between runs (imported once, reused after).
    let keep = std::env::var_os("BENCH_DB").map(std::path::PathBuf::from);
    let reuse = keep.as_ref().is_some_and(|p| p.exists());
    let db = keep.unwrap_or_else(|| dir.path().join("bench.sqlite3"));
    let csv = dir.path().join("numbers.csv");

    let t = Instant::now();
    let numbers = generate_numbers(count, 42);
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&csv).expect("csv"));
        writeln!(f, "number,state,rate_center,type").expect("write");
        for g in &numbers {
            writeln!(f, "{},{},{},", g.number, g.state, g.rate_center).expect("write");
        }
    }
    let tollfree = numbers.iter().filter(|g| g.number.is_toll_free()).count();
    println!(
        "generated {count} numbers ({} area codes + toll-free, {:.1}% toll-free) in {:.1}s",
        AREAS.len(),
        tollfree as f64 * 100.0 / count as f64,
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    if reuse {
        println!("reusing the imported database {}", db.display());
    } else {
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
            "import: {:.1}s — {}",
            t.elapsed().as_secs_f64(),
            String::from_utf8_lossy(&import.stdout).trim()
        );
    }

    let log = dir.path().join("server.log");
    let child = Command::new(bin)
        .arg("serve")
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("DIDPORT_ADMIN_EMAIL", "bench@example.com")
        .env("DIDPORT_SEARCH_RATE_LIMIT", "0")
        .env("DIDPORT_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("serve");
    let pid = child.id();
    let mut server = Server {
        child,
        url: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.url.is_empty() && Instant::now() < deadline {
        if let Ok(f) = std::fs::File::open(&log) {
            for line in BufReader::new(f).lines().map_while(Result::ok) {
                if let Some(u) = line.split("listening on ").nth(1) {
                    server.url = u.trim().to_string();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!server.url.is_empty(), "server did not start");

    let kinds = queries(&mut Rng::new(7), &numbers, 500);
    // Warm the server up first (its connections, statements and page caches, as a portal that
    // has been running has them) with other queries of every kind, so the first kind measured
    // does not pay the start-up alone. The totals of the measured queries are not warmed.
    let warm: Vec<String> = queries(&mut Rng::new(99), &numbers, 20)
        .into_iter()
        .flat_map(|(_, paths)| paths)
        .collect();
    let warmup = env_or("BENCH_WARMUP", 2);
    if warmup > 0 {
        wrk(&server.url, &warm, warmup, conns, dir.path());
    }

    let (_, mut mark) = server_times(&log, 0);
    println!();
    println!(
        "{count} numbers, wrk -t2 -c{conns} -d{seconds}s, 50-result HTML pages, release build, 2 cores shared by server and wrk"
    );
    println!(
        "{:<10} {:>12} {:>12} {:>10} {:>10} {:>10} {:>8}",
        "kind", "server p50", "server p99", "wrk p50", "wrk p99", "req/s", "non-2xx"
    );
    let mut results = Vec::new();
    for (kind, paths) in &kinds {
        let w = wrk(&server.url, paths, seconds, conns, dir.path());
        let (times, next) = server_times(&log, mark);
        mark = next;
        println!(
            "{:<10} {:>10.3}ms {:>10.3}ms {:>10} {:>10} {:>10.0} {:>8}",
            kind,
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            w.p50,
            w.p99,
            w.rps,
            w.non2xx
        );
        results.push((kind.to_string(), w.rps));
    }
    let health: Vec<String> = vec!["/healthz".to_string()];
    let w = wrk(&server.url, &health, seconds, conns, dir.path());
    let (times, _) = server_times(&log, mark);
    println!(
        "{:<10} {:>10.3}ms {:>10.3}ms {:>10} {:>10} {:>10.0} {:>8}",
        "/healthz",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        w.p50,
        w.p99,
        w.rps,
        w.non2xx
    );
    println!();
    for (kind, rps) in &results {
        println!(
            "{kind:<10} {:>5.1}% of /healthz throughput",
            rps * 100.0 / w.rps
        );
    }
    let (rss, hwm) = rss_kib(pid);
    println!();
    println!(
        "server memory: {:.1} MiB resident now, {:.1} MiB peak",
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("database file: {:.1} MiB", size as f64 / 1_048_576.0);
    drop(server);
}
