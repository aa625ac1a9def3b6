//! What a black-box probe of a running portal broke in the HTTP layer (issue 13), each finding
//! replayed over the wire: raw sockets where a client library would tidy the request. The
//! findings about accounts are in `probe_accounts.rs`.

use std::io::Write;
use std::time::Duration;

use crate::hostile::{CUTOFF, closed_by_server, connect, healthy, raw, read_response};
use crate::support::{Client, TestPortal};
use didport::domain::Role;

/// The `Cookie` header a signed-in client sends.
fn cookie_header(c: &Client) -> String {
    c.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Resident memory of this process (the test binary, which runs the server), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// The head of a multipart upload to the CSV import that promises `len` bytes.
fn upload_head(len: usize, cookie: &str) -> String {
    format!(
        "POST /admin/numbers/import HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {len}\r\n\r\n"
    )
}

// ---- 1. body limits are decided from the head, before the body is read ----

/// Twelve anonymous clients each send all but the last bytes of a 60 MiB upload to the CSV
/// import and stop. Before the fix each body was held in memory until it was complete (the
/// probe saw 304 → 1,099 MiB); now the server refuses each one from its head.
#[test]
fn stalled_anonymous_uploads_do_not_fill_memory() {
    const LEN: usize = 60 * 1024 * 1024;
    const CLIENTS: usize = 12;
    let p = TestPortal::start();
    assert!(healthy(&p));
    let before = resident_kib();
    let chunk = vec![b'1'; 1024 * 1024];
    let (sent_tx, sent_rx) = std::sync::mpsc::channel();
    let senders: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut s = connect(&p);
            let chunk = chunk.clone();
            let sent = sent_tx.clone();
            let head = upload_head(LEN, "");
            std::thread::spawn(move || {
                let mut body = 0;
                let _ = (|| -> std::io::Result<()> {
                    s.write_all(head.as_bytes())?;
                    s.write_all(b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.csv\"\r\n\r\n")?;
                    while body + chunk.len() < LEN {
                        s.write_all(&chunk)?;
                        body += chunk.len();
                    }
                    Ok(())
                })();
                sent.send(()).unwrap();
                // Stalled: the last bytes never come. Hold the connection open a while.
                std::thread::sleep(Duration::from_secs(2));
                drop(s);
            })
        })
        .collect();
    for _ in 0..CLIENTS {
        sent_rx
            .recv_timeout(CUTOFF * 3)
            .expect("every client sent or was cut off");
    }
    let during = resident_kib();
    println!(
        "resident memory: {} MiB before, {} MiB during {CLIENTS} stalled anonymous uploads of \
         {} MiB",
        before / 1024,
        during / 1024,
        LEN / 1024 / 1024
    );
    // Each held body would add 60 MiB; other tests in this binary allocate a little too.
    assert!(
        during.saturating_sub(before) < 128 * 1024,
        "memory grew from {before} KiB to {during} KiB"
    );
    for s in senders {
        s.join().unwrap();
    }
    assert!(healthy(&p));
}

/// An admin's upload is written to a temporary file as it arrives: three admins' uploads of
/// 60 MiB, stalled before their last bytes, would hold 180 MiB in memory if they were read
/// into it.
#[test]
fn stalled_admin_uploads_are_spooled_not_held_in_memory() {
    const LEN: usize = 60 * 1024 * 1024;
    let p = TestPortal::start();
    let admins: Vec<String> = (0..3)
        .map(|i| cookie_header(&p.signed_in(&format!("probe-spool-{i}@example.com"), Role::Admin)))
        .collect();
    let before = resident_kib();
    let chunk = vec![b'1'; 1024 * 1024];
    let (sent_tx, sent_rx) = std::sync::mpsc::channel();
    let senders: Vec<_> = admins
        .into_iter()
        .map(|cookie| {
            let mut s = connect(&p);
            let (chunk, sent) = (chunk.clone(), sent_tx.clone());
            std::thread::spawn(move || {
                let mut body = 0;
                let r = (|| -> std::io::Result<()> {
                    s.write_all(upload_head(LEN, &cookie).as_bytes())?;
                    while body + chunk.len() < LEN {
                        s.write_all(&chunk)?;
                        body += chunk.len();
                    }
                    Ok(())
                })();
                sent.send(r.is_ok()).unwrap();
                std::thread::sleep(Duration::from_secs(2));
                drop(s);
            })
        })
        .collect();
    for _ in 0..3 {
        let accepted = sent_rx.recv_timeout(CUTOFF * 3).expect("every admin sent");
        assert!(accepted, "an admin's upload was taken, not refused");
    }
    let during = resident_kib();
    println!(
        "resident memory: {} MiB before, {} MiB during 3 stalled admin uploads of {} MiB",
        before / 1024,
        during / 1024,
        LEN / 1024 / 1024
    );
    assert!(
        during.saturating_sub(before) < 90 * 1024,
        "memory grew from {before} KiB to {during} KiB"
    );
    for s in senders {
        s.join().unwrap();
    }
    assert!(healthy(&p));
}

#[test]
fn only_a_signed_in_admin_may_send_a_large_body() {
    let p = TestPortal::start();
    let customer = p.signed_in("probe-body-cust@example.com", Role::Customer);
    // A body over the small limit, declared in the head: refused before it is read, for a
    // visitor and for a customer alike, on the upload route and elsewhere.
    for (path, cookie) in [
        ("/admin/numbers/import", String::new()),
        ("/admin/numbers/import", cookie_header(&customer)),
        ("/login", String::new()),
        ("/signup", cookie_header(&customer)),
    ] {
        let mut s = connect(&p);
        s.write_all(
            format!(
                "POST {path} HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
                100 * 1024
            )
            .as_bytes(),
        )
        .unwrap();
        let r = read_response(&mut s).expect("answered from the head");
        assert_eq!(r.status, 413, "{path} {cookie:?}: {}", r.head);
        assert!(closed_by_server(&mut s), "{path}");
    }
    // An admin's upload larger than the small limit (and than the former 1 MiB in-memory
    // limit) is read and imported.
    let mut admin = p.signed_in("probe-body-admin@example.com", Role::Admin);
    let mut csv = String::from("number,state\n");
    for i in 0..40_000 {
        csv.push_str(&format!("212{:07},NY,{}\n", 5_000_000 + i, "x".repeat(20)));
    }
    assert!(csv.len() > 1024 * 1024);
    admin.get("/admin/numbers");
    let r = admin.post_file("/admin/numbers/import", "file", "big.csv", csv.as_bytes());
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(p.count("SELECT count(*) FROM numbers"), 40_000);
    // The same admin session elsewhere keeps the ordinary limit.
    let mut s = connect(&p);
    s.write_all(
        format!(
            "POST /admin/plans HTTP/1.1\r\nHost: t\r\nCookie: {}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            cookie_header(&admin),
            2 * 1024 * 1024
        )
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(read_response(&mut s).unwrap().status, 413);
}

/// A body of at most 1 KiB is read together with its head, on the connection's thread: it must
/// arrive within the head's time limit, or a byte every few seconds would hold the connection
/// for hours.
#[test]
fn a_trickling_small_body_is_cut_off_with_its_head() {
    let p = TestPortal::start_with(|_, o| o.http.header_timeout = Duration::from_secs(1));
    let mut s = connect(&p);
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 500\r\n\r\n",
    )
    .unwrap();
    let mut writer = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..300 {
            if writer.write_all(b"a").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    cut_off_with(&mut s, 408);
    trickle.join().unwrap();
    assert!(healthy(&p));
}

/// The server cut a request off in time: it answered `status`, or it closed the connection
/// so that the kernel reset it before the answer could be read (a client still sending when
/// the server closes may see the reset first; `vendor/tiny_http/PATCHES.md`, known limits).
/// Either way not the client's own read timeout, which is what an uncut request runs into.
fn cut_off_with(s: &mut std::net::TcpStream, status: u16) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, UnexpectedEof};
    match read_response(s) {
        Ok(r) => {
            assert_eq!(r.status, status, "{}", r.head);
            assert!(closed_by_server(s));
        }
        Err(e) => assert!(
            matches!(
                e.kind(),
                ConnectionReset | ConnectionAborted | UnexpectedEof
            ),
            "not cut off before the client gave up: {e}"
        ),
    }
}

/// A portal that wants at least 200 bytes a second of a body after its first half second.
fn demanding() -> TestPortal {
    TestPortal::start_with(|_, o| {
        o.http.min_body_rate = 200;
        o.http.body_grace = Duration::from_millis(500);
    })
}

#[test]
fn a_trickling_body_is_cut_off() {
    let p = demanding();
    let mut s = connect(&p);
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 5000\r\n\r\n",
    )
    .unwrap();
    // A byte every 100 ms: never silent long enough for the read timeout, far below the rate.
    let mut writer = s.try_clone().unwrap();
    let trickle = std::thread::spawn(move || {
        for _ in 0..300 {
            if writer.write_all(b"a").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    cut_off_with(&mut s, 408);
    trickle.join().unwrap();
    // A body sent at once is not affected.
    let mut c = p.client();
    c.get("/login");
    assert_eq!(
        c.post(
            "/login",
            &[("email", "x@example.com"), ("password", "nope")]
        )
        .status,
        401
    );
}

// ---- 4. no upgrades: framing stays strict ----

#[test]
fn connection_upgrade_is_refused_and_never_unframes_a_body() {
    let p = TestPortal::start();
    // A body framed by Content-Length with a request pipelined behind it. tiny_http used to
    // read an upgrade's body to EOF, swallowing the second request (and never answering).
    let mut s = connect(&p);
    s.write_all(
        b"POST /login HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nabcd\
          GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s).expect("answered without waiting for the client to close");
    assert_eq!(r.status, 400, "{}", r.head);
    assert!(r.head.contains("Connection: close"), "{}", r.head);
    assert!(closed_by_server(&mut s));
    for upgrade in [
        "Connection: upgrade\r\nUpgrade: websocket\r\n",
        "Connection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n",
        "Upgrade: websocket\r\n",
    ] {
        let r = raw(
            &p,
            format!("GET / HTTP/1.1\r\nHost: t\r\n{upgrade}\r\n").as_bytes(),
        );
        assert_eq!(r.status, 400, "{upgrade:?}: {}", r.head);
    }
    assert!(healthy(&p));
}

// ---- 5. control characters in heads ----

#[test]
fn control_characters_in_heads_are_refused_and_never_logged_raw() {
    let p = TestPortal::start();
    for request in [
        // A bare LF hid a Content-Length inside another header's value.
        &b"POST /login HTTP/1.1\r\nHost: t\r\nX-A: 1\nContent-Length: 5\r\n\r\nabcde"[..],
        b"GET /probe-cr\rFAKE-200 HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x1b[31mb\r\n\r\n",
        b"GET /a\x7fb HTTP/1.1\r\nHost: t\r\n\r\n",
        // Lines that end in a bare LF.
        b"GET / HTTP/1.1\nHost: t\n\n",
    ] {
        let mut s = connect(&p);
        s.write_all(request).unwrap();
        let r = read_response(&mut s).expect("an answer");
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(request),
            r.head
        );
        assert!(closed_by_server(&mut s));
    }
    // A tab is still fine inside a value.
    assert_eq!(
        raw(
            &p,
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-A: a\tb\r\nConnection: close\r\n\r\n"
        )
        .status,
        200
    );
    for line in crate::support::logs() {
        assert!(!line.contains("FAKE-200"), "{line:?}");
        assert!(!line.contains(['\r', '\n', '\0', '\x1b']), "{line:?}");
    }
}

// ---- 7. hardening: CSP form-action, HSTS, no HTTP/0.9 ----

#[test]
fn http_0_9_is_refused() {
    let p = TestPortal::start();
    let mut s = connect(&p);
    s.write_all(b"GET / HTTP/0.9\r\n\r\n").unwrap();
    let r = read_response(&mut s).expect("an answer");
    assert_eq!(r.status, 505, "{}", r.head);
    assert!(closed_by_server(&mut s));
}

#[test]
fn forms_may_post_only_to_the_portal_and_https_sites_get_hsts() {
    let p = TestPortal::start();
    let page = p.client().get("/login");
    let csp = page.header("content-security-policy").unwrap().to_string();
    assert!(csp.contains("form-action 'self'"), "{csp}");
    // Without https, no HSTS (a browser would be told to use https where there is none).
    assert_eq!(page.header("strict-transport-security"), None);

    // Checkout answers its form with a redirect to PayPal's page, which form-action must allow
    // (and nothing else).
    use didport::integrations::paypal::PayPalClient;
    use didport::sim::paypal::{PayPalSim, SimConfig};
    let sim = PayPalSim::start(SimConfig::default()).unwrap();
    let client = PayPalClient::new(sim.client_config()).unwrap();
    let shop = TestPortal::start_with(move |_, o| o.payments = Some(std::sync::Arc::new(client)));
    let csp = shop
        .client()
        .get("/")
        .header("content-security-policy")
        .unwrap()
        .to_string();
    let sim_origin = sim.base_url().trim_end_matches('/').to_string();
    assert!(
        csp.ends_with(&format!(
            "form-action 'self' https://www.paypal.com https://www.sandbox.paypal.com {sim_origin}"
        )),
        "{csp}"
    );

    let tls = TestPortal::start_with(|c, _| c.base_url = Some("https://shop.example".into()));
    let page = tls.client().get("/login");
    assert_eq!(
        page.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    // The server's own refusals carry it too.
    let r = raw(&tls, b"GARBAGE\r\n\r\n");
    assert_eq!(r.status, 400);
    assert!(
        r.head
            .contains("Strict-Transport-Security: max-age=31536000"),
        "{}",
        r.head
    );
    assert!(r.head.contains("form-action 'self'"), "{}", r.head);
}
