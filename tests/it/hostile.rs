//! Hostile input over the wire: oversized and slow requests, random query strings, SQL
//! metacharacters and script payloads in every field that is stored or shown.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::TestPortal;
use didport::domain::Role;

// ---- a raw HTTP client, for requests no well-behaved client would send ----

/// How long a test waits for an answer before calling it a failure (never a measurement).
pub(crate) const CUTOFF: Duration = Duration::from_secs(10);

pub(crate) fn connect(p: &TestPortal) -> TcpStream {
    let s = TcpStream::connect(p.portal.as_ref().unwrap().addr).expect("connect");
    s.set_read_timeout(Some(CUTOFF)).unwrap();
    s.set_write_timeout(Some(CUTOFF)).unwrap();
    s
}

/// A response read off a raw connection: status, head, body.
#[derive(Debug)]
pub(crate) struct Raw {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

/// Reads one response (head, then `Content-Length` bytes of body); `Err` if the connection
/// ends or stalls first.
pub(crate) fn read_response(s: &mut TcpStream) -> std::io::Result<Raw> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    s.read_exact(&mut body)?;
    Ok(Raw { status, head, body })
}

/// Sends `request` as it is and reads the answer.
pub(crate) fn raw(p: &TestPortal, request: &[u8]) -> Raw {
    let mut s = connect(p);
    s.write_all(request).expect("request sent");
    read_response(&mut s).expect("an answer")
}

/// True when the server closed the connection (EOF or reset) within the cutoff, after
/// whatever it had to say.
pub(crate) fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut sink = [0u8; 4096];
    loop {
        match s.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(_) => return false,
        }
    }
}

pub(crate) fn healthy(p: &TestPortal) -> bool {
    raw(
        p,
        b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )
    .status
        == 200
}

// ---- oversized and slow requests ----

#[test]
fn a_huge_content_length_is_refused_before_the_body_is_sent() {
    let p = TestPortal::start();
    for extra in ["", "Expect: 100-continue\r\n"] {
        let mut s = connect(&p);
        s.write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 {extra}Content-Length: 10737418240\r\n\r\n"
            )
            .as_bytes(),
        )
        .unwrap();
        // Not one byte of the 10 GB follows; the answer must come anyway.
        let r = read_response(&mut s).expect("answered without reading the body");
        assert_eq!(r.status, 413, "{}", r.head);
        assert!(!r.head.contains("100 Continue"), "{}", r.head);
        assert!(
            closed_by_server(&mut s),
            "the connection is closed after a 413"
        );
    }
    // Nobody is stuck reading the body that never came.
    for _ in 0..8 {
        assert!(healthy(&p));
    }
}

#[test]
fn slow_bodies_do_not_starve_the_workers() {
    let p = TestPortal::start_with(|c, _| c.workers = 2);
    // More stalled uploads than there are workers: each promises 5000 bytes and sends 10.
    let stalled: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut s = connect(&p);
            s.write_all(
                b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                  Content-Length: 5000\r\n\r\nemail=a%40",
            )
            .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut s = connect(&p);
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s);
    assert!(
        matches!(&r, Ok(r) if r.status == 200),
        "a normal request was not answered within {CUTOFF:?} ({:?} waited): {r:?}",
        started.elapsed()
    );
    drop(stalled);
}

/// A portal whose server gives up on a request head after one second.
fn impatient(workers: usize) -> TestPortal {
    TestPortal::start_with(|c, o| {
        c.workers = workers;
        o.http.read_timeout = Duration::from_secs(1);
        o.http.header_timeout = Duration::from_secs(1);
    })
}

#[test]
fn slow_heads_do_not_starve_the_workers_and_are_closed_after_the_read_timeout() {
    let p = impatient(2);
    // Slowloris: more connections than workers, each with half a request line, then nothing.
    let mut slow: Vec<TcpStream> = (0..8)
        .map(|i| {
            let mut s = connect(&p);
            let partial = if i % 2 == 0 {
                "GET / HT"
            } else {
                "GET / HTTP/1.1\r\nX-A: b"
            };
            s.write_all(partial.as_bytes()).unwrap();
            s
        })
        .collect();
    // Idle connections that never send a byte are closed as well.
    slow.extend((0..2).map(|_| connect(&p)));
    std::thread::sleep(Duration::from_millis(100));
    assert!(healthy(&p), "a normal request is answered meanwhile");
    for (i, s) in slow.iter_mut().enumerate() {
        assert!(
            closed_by_server(s),
            "slow connection {i} was not closed within {CUTOFF:?}"
        );
    }
    assert!(healthy(&p));
}

#[test]
fn connections_over_the_cap_are_answered_503() {
    let p = TestPortal::start_with(|_, o| o.http.max_connections = 4);
    let idle: Vec<TcpStream> = (0..4).map(|_| connect(&p)).collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut s = connect(&p);
    let r = read_response(&mut s).expect("a 503 without a request");
    assert_eq!(r.status, 503, "{}", r.head);
    assert!(r.head.contains("Retry-After: 5"), "{}", r.head);
    assert!(closed_by_server(&mut s));
    drop(idle);
    let started = Instant::now();
    while !healthy(&p) {
        assert!(started.elapsed() < CUTOFF, "connections are served again");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_stalled_body_is_dropped_after_the_read_timeout() {
    let p = impatient(2);
    // A short body (read with the head) and a longer or chunked one (read on its own thread).
    for framing in [
        "Content-Length: 100\r\n\r\nemail=",
        "Content-Length: 5000\r\n\r\nemail=",
        "Transfer-Encoding: chunked\r\n\r\n10\r\nemail=",
    ] {
        let mut s = connect(&p);
        s.write_all(
            format!(
                "POST /login HTTP/1.1\r\nHost: t\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\n{framing}"
            )
            .as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut s).expect("a 408");
        assert_eq!(r.status, 408, "{framing:?}: {}", r.head);
        assert!(closed_by_server(&mut s), "{framing:?}");
    }
    assert!(healthy(&p));
}

#[test]
fn an_enormous_header_block_is_refused_and_the_server_keeps_serving() {
    let p = TestPortal::start();
    let huge_value = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let many_fields = format!(
        "GET / HTTP/1.1\r\nHost: t\r\n{}\r\n",
        (0..40_000)
            .map(|i| format!("X-{i}: {}\r\n", "b".repeat(16)))
            .collect::<String>()
    );
    for request in [huge_value, many_fields] {
        let mut s = connect(&p);
        let mut writer = s.try_clone().unwrap();
        // The server may stop reading long before the client stops writing.
        let sending = std::thread::spawn(move || {
            let _ = writer.write_all(request.as_bytes());
        });
        let r = read_response(&mut s).expect("an answer before the end of the headers");
        assert!(matches!(r.status, 431 | 400), "{}", r.head);
        assert!(closed_by_server(&mut s));
        sending.join().unwrap();
        assert!(healthy(&p));
    }
    // Too many (small) header fields, and a request line longer than any real address.
    let many = format!(
        "GET / HTTP/1.1\r\n{}\r\n",
        (0..200)
            .map(|i| format!("X-{i}: 1\r\n"))
            .collect::<String>()
    );
    assert_eq!(raw(&p, many.as_bytes()).status, 431);
    let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(20_000));
    assert!(matches!(raw(&p, long.as_bytes()).status, 414 | 431));
}

#[test]
fn malformed_and_smuggling_requests_are_refused() {
    let p = TestPortal::start();
    for (request, status) in [
        ("GARBAGE\r\n\r\n", 400),
        // A version that is not HTTP/1.x: one tiny_http knows is refused with 505, an unknown
        // one is a malformed request line.
        ("GET / HTTP/2.0\r\n\r\n", 505),
        ("GET / HTTP/9.9\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nX: y\r\n z\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nX: caf\u{e9}\r\n\r\n", 400),
        (
            "POST /login HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
            400,
        ),
        (
            "POST /login HTTP/1.1\r\nContent-Length: +4\r\n\r\nabcd",
            400,
        ),
        (
            "POST /login HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        // Chunked must be the last coding (RFC 9112 6.3: else 400); before it, any other
        // coding is one the portal does not implement.
        (
            "POST /login HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            400,
        ),
        (
            "POST /login HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            501,
        ),
        (
            "POST /login HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            400,
        ),
        (
            "POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
        ),
        ("GET / HTTP/1.1\r\nExpect: magic\r\n\r\n", 417),
    ] {
        let mut s = connect(&p);
        s.write_all(request.as_bytes()).expect("request sent");
        let r = read_response(&mut s).expect("an answer");
        assert_eq!(r.status, status, "{request:?}: {}", r.head);
        // Even refusals carry the security headers, and end the connection.
        assert!(
            r.head.contains("X-Content-Type-Options: nosniff"),
            "{}",
            r.head
        );
        assert!(r.head.contains("Connection: close"), "{}", r.head);
        assert!(closed_by_server(&mut s), "{request:?}");
    }
    // A chunked body over the limit is cut off with a 413 once the limit is passed; the rest
    // is not read.
    let mut s = connect(&p);
    let mut writer = s.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let _ = writer.write_all(b"POST /login HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        let chunk = format!("10000\r\n{}\r\n", "a".repeat(0x10000));
        for _ in 0..64 {
            if writer.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let r = read_response(&mut s).expect("an answer");
    assert_eq!(r.status, 413, "{}", r.head);
    assert!(closed_by_server(&mut s));
    sending.join().unwrap();
    assert!(healthy(&p));
}

#[test]
fn keep_alive_pipelining_and_chunked_bodies_still_work() {
    let p = TestPortal::start();
    let mut s = connect(&p);
    // Two requests in one write, answered in order on one connection.
    s.write_all(
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nHEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let a = read_response(&mut s).unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body, br#"{"status":"ok"}"#);
    let mut b = [0u8; 4096];
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut b[..1]).unwrap();
        assert_eq!(n, 1);
        head.push(b[0]);
    }
    assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 200"));
    // A chunked sign-in form arrives whole (and is refused for its missing csrf field: 403).
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Transfer-Encoding: chunked\r\n\r\n5\r\nemail\r\n4\r\n=a%4\r\n1\r\n0\r\n0\r\n\r\n",
    )
    .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 403);
    s.write_all(b"GET /healthz HTTP/1.0\r\n\r\n").unwrap();
    let last = read_response(&mut s).unwrap();
    assert_eq!(last.status, 200);
    assert!(last.head.contains("Connection: close"), "{}", last.head);
    assert!(closed_by_server(&mut s));
}

// ---- random query strings and form bodies against the real server ----

/// Values that break naive code: SQL and HTML metacharacters, numbers at and past the integer
/// limits, broken escapes, control characters and other scripts.
const HOSTILE: &[&str] = &[
    "'",
    "\"",
    ";",
    "--",
    "%",
    "_",
    "\\",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "1; DROP TABLE users; --",
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "0",
    "-1",
    "1e9",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "18446744073709551616",
    "4294967296",
    "NaN",
    "",
    " ",
    "\u{0}",
    "\r\nSet-Cookie: x=1",
    "%zz",
    "é",
    "٣٣٣",
    "/\\evil.example",
    "//evil.example",
];

const QUERY_KEYS: &[&str] = &[
    "npa", "nxx", "state", "q", "match", "type", "page", "per_page", "status", "before", "report",
    "next", "token", "PayerID", "plan", "v", "x",
];

/// Percent-encodes everything but the unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hostile_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[0-9]{1,25}",
        1 => "[a-zA-Z0-9 ()+.-]{0,20}",
    ]
}

fn query() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::collection::vec((proptest::sample::select(QUERY_KEYS), hostile_value()), 0..6)
            .prop_map(|pairs| {
                pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect::<Vec<_>>()
                    .join("&")
            }),
        // Whatever a client can put in a request line, stray % and & included.
        1 => "[!-~&&[^#]]{0,60}",
    ]
}

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

fn run_cases<S: Strategy>(
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let mut runner = TestRunner::new(RunnerConfig::with_cases(cases));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

fn cookie_header(c: &crate::support::Client) -> String {
    c.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Near-valid request heads: methods, targets and versions good and bad, header lines of any
/// bytes but line ends. (No HEAD: its answer's `Content-Length` has no body behind it.)
fn request_head() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof![
        proptest::sample::select(vec!["GET", "POST", "OPTIONS"]).prop_map(String::from),
        "[A-Za-z(@]{0,8}",
    ];
    let target = prop_oneof![
        proptest::sample::select(vec!["/healthz", "/", "/numbers?npa=212", "*"])
            .prop_map(String::from),
        "[ -~]{0,30}",
    ];
    let version = proptest::sample::select(vec![
        "HTTP/1.1", "HTTP/1.0", "HTTP/0.9", "HTTP/2.0", "HTTP/1.x", "http/1.1", "",
    ]);
    let value = proptest::collection::vec(
        any::<u8>().prop_filter("no line end", |b| *b != b'\r' && *b != b'\n'),
        0..30,
    );
    let headers = proptest::collection::vec(("[!-~]{0,12}", value), 0..6);
    (method, target, version, headers).prop_map(|(method, target, version, headers)| {
        let mut out = format!("{method} {target} {version}\r\n").into_bytes();
        for (name, value) in headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(&value);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Connection: close\r\n\r\n");
        out
    })
}

#[test]
fn random_request_heads_get_an_answer_and_the_server_keeps_serving() {
    let p = TestPortal::start();
    run_cases(96, request_head(), |head| {
        let mut s = connect(&p);
        s.write_all(&head).unwrap();
        let r = read_response(&mut s);
        let shown = String::from_utf8_lossy(&head).into_owned();
        prop_assert!(r.is_ok(), "no answer to {shown:?}: {r:?}");
        let r = r.unwrap();
        prop_assert!(
            (200..500).contains(&r.status) || [501, 503, 505].contains(&r.status),
            "{shown:?} answered {}",
            r.head
        );
        prop_assert!(
            r.head.contains("X-Content-Type-Options: nosniff"),
            "{}",
            r.head
        );
        prop_assert!(
            closed_by_server(&mut s),
            "{shown:?} left the connection open"
        );
        Ok(())
    });
    assert!(healthy(&p));
}

#[test]
fn random_query_strings_never_cause_a_server_error() {
    let p = TestPortal::start();
    p.stock(&["2125550100", "8005550101"]);
    let admin = p.signed_in("fuzz-admin@example.com", Role::Admin);
    let admin_cookie = cookie_header(&admin);
    const PATHS: &[&str] = &[
        "/",
        "/numbers",
        "/api/v1/numbers",
        "/numbers/2125550100",
        "/numbers/%2B2125550100",
        "/login",
        "/signup",
        "/password/forgot",
        "/password/reset",
        "/checkout/paypal/return",
        "/checkout/paypal/cancel",
        "/assets/style.css",
        "/healthz",
        "/my",
        "/orders",
        "/admin",
        "/admin/orders",
        "/admin/outbox",
        "/admin/audit",
        "/admin/numbers",
        "/admin/plans",
        "/admin/customers/1",
    ];
    let users = p.count("SELECT count(*) FROM users");
    run_cases(
        200,
        (proptest::sample::select(PATHS), query(), any::<bool>()),
        |(path, query, signed_in)| {
            let cookie = if signed_in {
                format!("Cookie: {admin_cookie}\r\n")
            } else {
                String::new()
            };
            let request = format!(
                "GET {path}?{query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{cookie}\r\n"
            );
            let r = raw(&p, request.as_bytes());
            prop_assert!(
                [200, 303, 304, 400, 404].contains(&r.status),
                "GET {path}?{query} (signed in: {signed_in}) answered {}:\n{}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            if path.starts_with("/api/") {
                prop_assert!(
                    r.head.contains("Content-Type: application/json"),
                    "{}",
                    r.head
                );
                let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
                prop_assert_eq!(r.status == 400, v.get("error").is_some());
            }
            Ok(())
        },
    );
    assert_eq!(p.count("SELECT count(*) FROM users"), users);
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 2);
}

#[test]
fn random_form_fields_never_cause_a_server_error() {
    let p = TestPortal::start();
    p.stock(&["2125550100"]);
    let mut admin = p.signed_in("form-admin@example.com", Role::Admin);
    admin.get("/admin/plans");
    let csrf = admin.csrf.clone().unwrap();
    let cookie = cookie_header(&admin);
    const POSTS: &[&str] = &[
        "/login",
        "/signup",
        "/password/forgot",
        "/password/reset",
        "/checkout",
        "/admin/plans",
        "/admin/plans/1",
        "/admin/orders/1/status",
        "/admin/customers/1",
        "/admin/numbers/import",
        "/admin/outbox/1/retry",
        "/orders/1/record-payment",
        "/orders/1/refund",
        "/my/numbers/2125550100/settings",
    ];
    const FIELDS: &[&str] = &[
        "email",
        "password",
        "name",
        "next",
        "token",
        "number",
        "plan",
        "description",
        "setup_cents",
        "monthly_cents",
        "active",
        "status",
        "telinta_customer",
        "pin",
        "forwarding",
    ];
    run_cases(
        64,
        (
            proptest::sample::select(POSTS),
            proptest::collection::vec((proptest::sample::select(FIELDS), hostile_value()), 0..6),
            any::<bool>(),
        ),
        |(path, fields, multipart)| {
            let (content_type, body) = if multipart {
                let b = "hostile-boundary";
                let mut body = String::new();
                for (k, v) in fields
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .chain([("csrf", csrf.as_str())])
                {
                    body.push_str(&format!(
                        "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                    ));
                }
                body.push_str(&format!("--{b}--\r\n"));
                (format!("multipart/form-data; boundary={b}"), body)
            } else {
                let mut pairs: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| format!("{k}={}", encode(v)))
                    .collect();
                pairs.push(format!("csrf={csrf}"));
                (
                    "application/x-www-form-urlencoded".to_string(),
                    pairs.join("&"),
                )
            };
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nCookie: {cookie}\r\n\
                 Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let r = raw(&p, request.as_bytes());
            prop_assert!(
                r.status < 500,
                "POST {path} {body:?} answered {}:\n{}",
                r.status,
                String::from_utf8_lossy(&r.body)
            );
            Ok(())
        },
    );
    assert_eq!(
        p.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'"),
        1
    );
}

#[test]
fn every_query_parameter_takes_every_hostile_value() {
    let p = TestPortal::start();
    p.stock(&["2125550100"]);
    let admin = p.signed_in("table-admin@example.com", Role::Admin);
    let cookie = format!("Cookie: {}\r\n", cookie_header(&admin));
    let params: &[(&str, &[&str])] = &[
        (
            "/numbers",
            &[
                "npa", "nxx", "state", "q", "match", "type", "page", "per_page",
            ],
        ),
        (
            "/api/v1/numbers",
            &[
                "npa", "nxx", "state", "q", "match", "type", "page", "per_page",
            ],
        ),
        ("/numbers/2125550100", &["plan"]),
        ("/login", &["next"]),
        ("/signup", &["next"]),
        ("/password/reset", &["token"]),
        ("/checkout/paypal/return", &["token", "PayerID"]),
        ("/checkout/paypal/cancel", &["token"]),
        ("/admin/orders", &["status", "q", "page"]),
        ("/admin/outbox", &["status", "before"]),
        ("/admin/numbers", &["report"]),
        ("/assets/style.css", &["v"]),
    ];
    let mut failures = Vec::new();
    for (path, keys) in params {
        for key in *keys {
            for value in HOSTILE {
                let request = format!(
                    "GET {path}?{key}={} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{cookie}\r\n",
                    encode(value)
                );
                let r = raw(&p, request.as_bytes());
                if ![200, 303, 304, 400, 404].contains(&r.status) {
                    failures.push(format!("{path}?{key}={value:?}: {}", r.status));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- SQL metacharacters ----

/// Row counts of every table a request could damage.
fn table_counts(p: &TestPortal) -> Vec<(String, i64)> {
    [
        "users", "sessions", "numbers", "plans", "orders", "outbox", "audit",
    ]
    .iter()
    .map(|t| (t.to_string(), p.count(&format!("SELECT count(*) FROM {t}"))))
    .collect()
}

fn integrity_ok(p: &TestPortal) -> bool {
    p.count("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check = 'ok'") == 1
}

/// The order ids listed on View Orders for a search.
fn orders_found(admin: &mut crate::support::Client, q: &str) -> Vec<i64> {
    let r = admin.get(&format!(
        "/admin/orders?{}",
        didport::http::encode_query(&[("q", q)])
    ));
    assert_eq!(r.status, 200, "q={q:?}: {}", r.body);
    let doc = scraper::Html::parse_document(&r.body);
    let rows = scraper::Selector::parse("tr[id^=order-]").unwrap();
    let mut ids: Vec<i64> = doc
        .select(&rows)
        .filter_map(|e| e.value().id()?.strip_prefix("order-")?.parse().ok())
        .collect();
    ids.sort_unstable();
    ids
}

/// A paid order of `number` with plan `plan` for a new customer `email`.
fn paid_order(p: &TestPortal, email: &str, number: &str, plan: i64) -> i64 {
    let user = p.add_user(email, Role::Customer);
    p.stock(&[number]);
    let services = p.services();
    let id = didport::workflow::checkout::start(services, &user, number, &plan.to_string(), "t")
        .unwrap();
    let order = services
        .store
        .read(|tx| didport::store::orders::get(tx, id))
        .unwrap()
        .unwrap();
    didport::workflow::payments::record_paid(services, &order, &user, None, None).unwrap();
    id
}

#[test]
fn sql_metacharacters_in_searches_are_plain_text() {
    let p = TestPortal::start();
    let plan = p.stock(&["2125550100"]);
    let first_last = paid_order(&p, "first_last@example.com", "2125550201", plan);
    let decoy = paid_order(&p, "firstxlast@example.com", "2125550202", plan);
    let obrien = paid_order(&p, "o'brien@example.com", "2125550203", plan);
    let percent = paid_order(&p, "100%real@example.com", "2125550204", plan);
    let mut admin = p.signed_in("sql-admin@example.com", Role::Admin);
    let before = table_counts(&p);

    // View Orders searches the number or email for the text as typed: % and _ are letters.
    assert_eq!(orders_found(&mut admin, "first_last"), vec![first_last]);
    assert_eq!(orders_found(&mut admin, "_"), vec![first_last]);
    assert_eq!(orders_found(&mut admin, "%"), vec![percent]);
    assert_eq!(orders_found(&mut admin, "100%"), vec![percent]);
    assert_eq!(orders_found(&mut admin, "o'brien"), vec![obrien]);
    assert_eq!(orders_found(&mut admin, "firstxlast"), vec![decoy]);
    assert_eq!(orders_found(&mut admin, "2125550202"), vec![decoy]);
    for q in [
        "' OR 1=1 --",
        "\\",
        "\"",
        ";",
        "--",
        "' OR ''='",
        "%' OR '1'='1",
    ] {
        assert_eq!(orders_found(&mut admin, q), Vec::<i64>::new(), "q={q:?}");
    }
    // An unknown status filter is a filter that matches nothing, not an error.
    for s in ["' OR 1=1 --", "%", "_"] {
        let r = admin.get(&format!(
            "/admin/orders?{}",
            didport::http::encode_query(&[("status", s)])
        ));
        assert_eq!(r.status, 200);
        assert!(r.has("#no-orders"), "status={s:?}");
    }

    // The public search takes digits and letters only; anything else is a 400, never all rows.
    let mut anon = p.client();
    for v in ["' OR 1=1 --", "%", "_", "\\", ";", "--", "\"", "1' --"] {
        for key in [
            "q", "npa", "nxx", "state", "type", "match", "page", "per_page",
        ] {
            let path = format!(
                "/api/v1/numbers?{}",
                didport::http::encode_query(&[(key, v)])
            );
            let r = anon.get(&path);
            assert_eq!(r.status, 400, "{path}: {}", r.body);
            assert!(r.body.contains("\"error\""), "{path}");
        }
    }
    assert_eq!(table_counts(&p), before);
    assert!(integrity_ok(&p));
}

#[test]
fn sql_metacharacters_in_forms_are_plain_text() {
    let p = TestPortal::start();
    let number = "2125550300";
    p.stock(&[number]);
    p.add_user("victim@example.com", Role::Customer);
    let before = table_counts(&p);

    // Sign-in: no metacharacter signs anybody in, and every attempt gets the same refusal.
    let mut anon = p.client();
    for (email, password) in [
        ("' OR 1=1 --", "x"),
        ("victim@example.com' --", "x"),
        ("victim@example.com", "' OR '1'='1"),
        ("\" OR \"\"=\"", "\" OR \"\"=\""),
        ("%", "%"),
        ("_@_._", "_"),
        ("victim@example.com'; DELETE FROM users; --", "x"),
    ] {
        anon.get("/login");
        let r = anon.post("/login", &[("email", email), ("password", password)]);
        assert_eq!(r.status, 401, "{email:?} signed in: {}", r.location());
        assert!(r.has("#login-error"), "{email:?}");
        assert!(!anon.cookies.contains_key(didport::web::SESSION_COOKIE));
    }
    for email in ["' OR 1=1 --", "%@example.com", "victim@example.com' --"] {
        anon.get("/password/forgot");
        let r = anon.post("/password/forgot", &[("email", email)]);
        assert!(r.status < 500, "{email:?}: {}", r.status);
    }
    // Sessions and audit rows of the failed attempts aside, nothing changed.
    let after: Vec<(String, i64)> = table_counts(&p)
        .into_iter()
        .filter(|(t, _)| t != "audit")
        .collect();
    let expected: Vec<(String, i64)> = before
        .iter()
        .filter(|(t, _)| t != "audit")
        .cloned()
        .collect();
    assert_eq!(after, expected);

    // Sign-up with quotes in the address and SQL in the name: stored exactly, usable.
    let name = "Robert'); DROP TABLE users; --";
    let mut bobby = p.client();
    bobby.get("/signup");
    let r = bobby.post(
        "/signup",
        &[
            ("email", "o'brien%_@example.com"),
            ("name", name),
            ("password", "a long enough password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        p.count(
            "SELECT count(*) FROM users WHERE email = 'o''brien%_@example.com' \
             AND name = 'Robert''); DROP TABLE users; --'"
        ),
        1
    );
    let mut again = p.client();
    again.login("o'brien%_@example.com", "a long enough password");
    assert_eq!(again.get("/my").status, 200);

    // Admin forms: plan text is stored as typed; numbers that are not numbers are refused.
    let mut admin = p.signed_in("sql-forms@example.com", Role::Admin);
    admin.get("/admin/plans");
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", "'; DROP TABLE plans; --"),
            ("description", "100% _off_ \\o/ \"quoted\""),
            ("setup_cents", "0"),
            ("monthly_cents", "100"),
            ("active", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        p.count(
            "SELECT count(*) FROM plans WHERE name = '''; DROP TABLE plans; --' \
             AND description = '100% _off_ \\o/ \"quoted\"'"
        ),
        1
    );
    for cents in ["1; DROP TABLE plans", "' OR 1=1 --", "100 --", "1e3"] {
        admin.get("/admin/plans");
        let r = admin.post(
            "/admin/plans",
            &[
                ("name", "X"),
                ("setup_cents", cents),
                ("monthly_cents", "1"),
            ],
        );
        assert_eq!(r.status, 400, "{cents:?}");
    }
    let bobby_id = p.count("SELECT id FROM users WHERE email LIKE 'o''brien%'");
    for v in ["1; DROP TABLE users", "' OR 1=1 --", "1 OR 1=1"] {
        admin.get(&format!("/admin/customers/{bobby_id}"));
        let r = admin.post(
            &format!("/admin/customers/{bobby_id}"),
            &[("telinta_customer", v)],
        );
        assert_eq!(r.status, 400, "{v:?}");
    }
    for status in ["active'; --", "' OR 1=1 --", "%"] {
        admin.get("/admin/orders");
        let r = admin.post("/admin/orders/1/status", &[("status", status)]);
        assert!(r.status < 500, "{status:?}");
    }
    // Checkout with SQL for a number or plan buys nothing.
    bobby.get(&format!("/numbers/{number}"));
    for (n, plan) in [
        ("2125550300' --", "1"),
        (number, "1 OR 1=1"),
        (number, "' OR 1=1 --"),
    ] {
        let r = bobby.post("/checkout", &[("number", n), ("plan", plan)]);
        assert!(
            r.status >= 400 && r.status < 500,
            "{n:?} {plan:?}: {}",
            r.status
        );
    }
    assert_eq!(p.count("SELECT count(*) FROM orders"), 0);
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 1);
    assert_eq!(p.count("SELECT count(*) FROM users"), 3);
    assert!(integrity_ok(&p));
}

// ---- script payloads in everything that is shown ----

const XSS: &[&str] = &[
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "'><svg onload=alert(1)>",
];

/// What maud writes for a text: the four characters that matter in HTML escaped.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page holds no markup from a payload: no element a payload could have opened.
fn assert_no_markup(r: &crate::support::Resp, what: &str) {
    let lower = r.body.to_ascii_lowercase();
    for tag in ["<script", "<img", "<svg"] {
        assert!(!lower.contains(tag), "{what}: {tag} in\n{}", r.body);
    }
    if r.status < 300 || r.status >= 400 {
        let ct = r.header("content-type").unwrap_or("");
        assert!(
            ct.starts_with("text/html") || ct.starts_with("application/json"),
            "{what}: {ct}"
        );
    }
}

/// The page shows `text`, escaped (and holds no payload markup at all).
fn assert_shown_escaped(r: &crate::support::Resp, text: &str, what: &str) {
    assert_no_markup(r, what);
    assert!(
        r.body.contains(&escaped(text)),
        "{what}: {:?} not shown in\n{}",
        escaped(text),
        r.body
    );
}

#[test]
fn script_payloads_in_names_and_plans_come_back_escaped() {
    let p = TestPortal::start();
    let number = "2125550400";
    p.stock(&[number]);
    let mut admin = p.signed_in("xss-admin@example.com", Role::Admin);

    // A customer's name, through the sign-up form.
    let mut cust = p.client();
    cust.get("/signup");
    let r = cust.post(
        "/signup",
        &[
            ("email", "xss-cust@example.com"),
            ("name", XSS[0]),
            ("password", "a long enough password"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let id = p.count("SELECT id FROM users WHERE email = 'xss-cust@example.com'");
    let page = admin.get(&format!("/admin/customers/{id}"));
    assert_shown_escaped(&page, XSS[0], "customer page");

    // A refused sign-up shows what was typed, escaped, in its inputs.
    let mut other = p.client();
    other.get("/signup");
    let r = other.post(
        "/signup",
        &[("email", XSS[1]), ("name", XSS[2]), ("password", "short")],
    );
    assert_eq!(r.status, 400);
    assert_shown_escaped(&r, XSS[1], "refused sign-up (email)");
    assert_shown_escaped(&r, XSS[2], "refused sign-up (name)");

    // Plan name and description: the plans page, the flash after saving, the number page.
    admin.get("/admin/plans");
    let r = admin.post(
        "/admin/plans",
        &[
            ("name", XSS[1]),
            ("description", XSS[0]),
            ("setup_cents", "100"),
            ("monthly_cents", "200"),
            ("active", "1"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let plans = admin.follow(r);
    assert_shown_escaped(&plans, XSS[1], "plans page and flash");
    assert_shown_escaped(&plans, XSS[0], "plans page (description)");
    assert!(
        plans.text("#flash").contains(XSS[1]),
        "the flash names the plan"
    );
    let detail = cust.get(&format!("/numbers/{number}"));
    assert_shown_escaped(&detail, XSS[1], "number page (plan)");
    assert_shown_escaped(&detail, XSS[0], "number page (description)");

    // An order with that plan, as the customer and the admin see it.
    let plan = p.count("SELECT max(id) FROM plans");
    cust.get(&format!("/numbers/{number}"));
    let r = cust.post(
        "/checkout",
        &[("number", number), ("plan", &plan.to_string())],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let order = p.count("SELECT max(id) FROM orders");
    let mine = cust.get(&format!("/orders/{order}"));
    assert_eq!(mine.status, 200);
    assert_no_markup(&mine, "the customer's order page");
    for path in [
        format!("/orders/{order}"),
        "/admin/orders".to_string(),
        "/admin/outbox".to_string(),
        "/admin/audit".to_string(),
    ] {
        let r = admin.get(&path);
        assert_eq!(r.status, 200, "{path}");
        assert_no_markup(&r, &path);
    }
    let r = admin.get("/admin/orders");
    assert_shown_escaped(&r, XSS[1], "View Orders (plan)");
}

#[test]
fn script_payloads_in_csv_columns_come_back_escaped() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("csv-xss@example.com", Role::Admin);
    let csv = format!(
        "number,state,rate_center,type\n\
         2125550501,NY,{},\n\
         2125550502,NY,\"{}\",\n\
         2125550503,NY,{},\n\
         {},NY,,\n\
         2125550505,{},,\n\
         2125550506,NY,,{}\n",
        XSS[0],
        XSS[1].replace('"', "\"\""),
        XSS[2],
        XSS[0],
        XSS[2],
        XSS[0]
    );
    admin.get("/admin/numbers");
    let r = admin.post_file(
        "/admin/numbers/import",
        "file",
        "<b>n</b>.csv",
        csv.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let report = admin.follow(r);
    assert_eq!(
        report.attr("#import-report", "data-added").as_deref(),
        Some("3")
    );
    assert_eq!(
        report.attr("#import-report", "data-bad").as_deref(),
        Some("3")
    );
    assert_shown_escaped(&report, XSS[0], "import report (number)");
    assert_shown_escaped(&report, XSS[2], "import report (state)");
    assert!(report.text("#problem-5").contains(XSS[0]));

    // Rate centers on the search results, the number pages and in the JSON API.
    let mut anon = p.client();
    let results = anon.get("/numbers?npa=212");
    assert_eq!(results.status, 200);
    assert_no_markup(&results, "search results");
    assert!(
        results
            .body
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    assert!(results.body.contains("&quot;&gt;&lt;img"));
    for n in ["2125550501", "2125550502", "2125550503"] {
        let page = anon.get(&format!("/numbers/{n}"));
        assert_eq!(page.status, 200);
        assert_no_markup(&page, n);
    }
    let api = anon.get("/api/v1/numbers?npa=212");
    assert_eq!(api.header("content-type"), Some("application/json"));
    assert_eq!(api.header("x-content-type-options"), Some("nosniff"));
    let v: serde_json::Value = serde_json::from_str(&api.body).unwrap();
    let centers: Vec<&str> = v["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["rate_center"].as_str())
        .collect();
    assert!(
        centers.contains(&XSS[1]),
        "JSON carries the text as data: {centers:?}"
    );
    let inventory = admin.get("/admin/numbers");
    assert_no_markup(&inventory, "inventory page");
}

#[test]
fn script_payloads_in_search_and_sign_in_parameters_come_back_escaped() {
    let p = TestPortal::start();
    let mut c = p.client();
    for x in XSS {
        let q = didport::http::encode_query(&[("q", x), ("npa", x), ("state", x)]);
        let r = c.get(&format!("/numbers?{q}"));
        assert_eq!(r.status, 400);
        assert_no_markup(&r, "search error");
        assert!(
            r.body.contains(&format!("value=\"{}\"", escaped(x))),
            "{}",
            r.body
        );
        let next = format!("/{x}");
        let r = c.get(&format!(
            "/login?{}",
            didport::http::encode_query(&[("next", &next)])
        ));
        assert_eq!(r.status, 200);
        assert_shown_escaped(&r, &next, "login next");
    }
}

#[test]
fn upstream_error_messages_come_back_escaped() {
    use didport::sim::telinta::Failure;
    let mut s = crate::activation::setup(Some(1), true);
    let order = crate::activation::paid_order(&s, "up-xss@example.com", "2125550601");
    let code = format!("Server.{}", XSS[0]);
    s.sim
        .fail_once("DID/get_number_list", Failure::fault(&code, XSS[1]));
    let page = crate::activation::set(&mut s, order, "active");
    assert_shown_escaped(&page, XSS[0], "View Orders after a failed activation");
    assert_shown_escaped(&page, XSS[1], "View Orders after a failed activation");
    assert!(page.text(&format!("#error-{order}")).contains(XSS[1]));
    assert!(page.text("#flash").contains(XSS[1]));
    let outbox = s.admin.get("/admin/outbox");
    assert_shown_escaped(&outbox, XSS[1], "outbox (activation_failed)");
    let audit = s.admin.get("/admin/audit");
    assert_no_markup(&audit, "audit");
    // The admin's email is plain text: the message is in it as written, harmless there.
    assert_eq!(
        s.p.count(&format!(
            "SELECT count(*) FROM outbox WHERE event = 'activation_failed' AND instr(body, '{}') > 0",
            XSS[1]
        )),
        1
    );

    // A settings change that fails upstream: the customer's page and the admin's mail.
    crate::activation::set(&mut s, order, "active");
    let mut owner = s.p.client();
    owner.login("up-xss@example.com", crate::support::PASSWORD);
    s.sim
        .fail_once("Account/update_account", Failure::fault(&code, XSS[2]));
    owner.get("/my/numbers/2125550601");
    let r = owner.post(
        "/my/numbers/2125550601/settings",
        &[("pin", "4821"), ("forwarding", "")],
    );
    assert_eq!(r.status, 502, "{}", r.body);
    assert_no_markup(&r, "settings page after a failure");
    let outbox = s.admin.get("/admin/outbox");
    assert_shown_escaped(&outbox, XSS[2], "outbox (settings_change_failed)");
}

#[test]
fn garbage_webhooks_are_refused_and_change_nothing() {
    use didport::integrations::paypal::PayPalClient;
    use didport::sim::paypal::{PayPalSim, SimConfig};
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let p = TestPortal::start_with(move |_, o| o.payments = Some(std::sync::Arc::new(client)));
    let before = table_counts(&p);
    const HEADERS: [&str; 5] = [
        "PAYPAL-TRANSMISSION-ID",
        "PAYPAL-TRANSMISSION-TIME",
        "PAYPAL-TRANSMISSION-SIG",
        "PAYPAL-CERT-URL",
        "PAYPAL-AUTH-ALGO",
    ];
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        hostile_value().prop_map(String::into_bytes),
        (
            proptest::sample::select(vec![
                "PAYMENT.CAPTURE.COMPLETED",
                "PAYMENT.CAPTURE.DENIED",
                "CHECKOUT.ORDER.APPROVED",
            ]),
            hostile_value(),
            hostile_value(),
        )
            .prop_map(|(t, id, v)| {
                serde_json::json!({"id": id, "event_type": t, "resource": {"id": v,
                    "amount": {"currency_code": "USD", "value": v}, "custom_id": v}})
                .to_string()
                .into_bytes()
            }),
    ];
    run_cases(
        48,
        (body, proptest::collection::vec(hostile_value(), 5)),
        |(body, values)| {
            let mut headers = String::new();
            for (k, v) in HEADERS.iter().zip(&values) {
                let v: String = v.chars().filter(|c| !c.is_control()).collect();
                headers.push_str(&format!("{k}: {v}\r\n"));
            }
            let mut request = format!(
                "POST /webhooks/paypal HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
                 Content-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
                body.len()
            )
            .into_bytes();
            request.extend_from_slice(&body);
            let r = raw(&p, &request);
            prop_assert!(
                r.status == 400 || r.status == 503,
                "{} for {:?}",
                r.status,
                String::from_utf8_lossy(&body)
            );
            Ok(())
        },
    );
    assert_eq!(p.count("SELECT count(*) FROM webhook_events"), 0);
    assert_eq!(table_counts(&p), before);
}
