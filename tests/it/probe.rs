//! What a black-box probe of a running portal broke (issue 13), each finding replayed over the
//! wire: raw sockets where a client library would tidy the request.

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
    let r = read_response(&mut s).expect("cut off before the client gave up");
    assert_eq!(r.status, 408, "{}", r.head);
    assert!(closed_by_server(&mut s));
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
    use didport::integrations::paypal::sim::{PayPalSim, SimConfig};
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

// ---- 3. a visitor's CSRF token ends at sign-in ----

#[test]
fn a_visitor_token_is_refused_once_signed_in_and_the_visitor_cookie_is_rotated() {
    let p = TestPortal::start();
    p.add_user("probe-csrf@example.com", Role::Customer);
    let mut c = p.client();
    c.get("/login");
    let visitor_token = c.csrf.clone().unwrap();
    let visitor_cookie = c.cookies["didport_visitor"].clone();
    let r = c.post(
        "/login",
        &[
            ("email", "probe-csrf@example.com"),
            ("password", crate::support::PASSWORD),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let rotated = c.cookies.get("didport_visitor").cloned();
    assert!(
        rotated.is_some() && rotated.as_deref() != Some(visitor_cookie.as_str()),
        "the visitor cookie is replaced at sign-in"
    );
    // Signed in, a token made for the visitor does not count, even with the old visitor
    // cookie sent back beside the session.
    c.cookies.insert("didport_visitor".into(), visitor_cookie);
    let r = c.post("/logout", &[("csrf", &visitor_token)]);
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(c.get("/my").status, 200, "still signed in");
    // The session's own token does.
    let r = c.post("/logout", &[]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(c.get("/my").status, 303, "signed out");
}

#[test]
fn cookies_get_the_host_prefix_on_https() {
    let p = TestPortal::start_with(|c, _| c.base_url = Some("https://shop.example".into()));
    p.add_user("probe-host@example.com", Role::Customer);
    let mut c = p.client();
    let page = c.get("/login");
    let set: Vec<&str> = page
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(!set.is_empty());
    for cookie in &set {
        assert!(cookie.starts_with("__Host-didport_"), "{cookie}");
        assert!(cookie.contains("; Secure"), "{cookie}");
        assert!(cookie.contains("; Path=/"), "{cookie}");
        assert!(!cookie.to_ascii_lowercase().contains("domain="), "{cookie}");
    }
    c.login("probe-host@example.com", crate::support::PASSWORD);
    assert!(
        c.cookies.contains_key("__Host-didport_session"),
        "{:?}",
        c.cookies
    );
    assert!(!c.cookies.contains_key("didport_session"));
    assert_eq!(c.get("/my").status, 200);
    // A cookie without the prefix is not a session on an https portal.
    let token = c.cookies.remove("__Host-didport_session").unwrap();
    c.cookies.insert("didport_session".into(), token);
    assert_eq!(c.get("/my").status, 303);
}

// ---- 6. password-reset mails are limited ----

/// Asks for a reset link from client address `from` (the trusted proxy passes it on) and
/// returns the message the next page shows.
fn ask_reset(p: &TestPortal, email: &str, from: &str) -> String {
    let mut c = p.client();
    c.headers = vec![("X-Forwarded-For".into(), from.into())];
    c.get("/password/forgot");
    let r = c.post("/password/forgot", &[("email", email)]);
    assert_eq!(r.status, 303, "{}", r.body);
    c.follow(r).text("#flash")
}

fn behind_proxy() -> TestPortal {
    TestPortal::start_with(|c, _| c.trusted_proxy = Some("127.0.0.1".parse().unwrap()))
}

#[test]
fn reset_mails_to_one_address_are_limited() {
    let p = behind_proxy();
    p.add_user("probe-reset@example.com", Role::Customer);
    let mails = || {
        p.count(
            "SELECT count(*) FROM outbox WHERE event = 'password_reset' \
             AND to_addr = 'probe-reset@example.com'",
        )
    };
    // Forty asks from forty clients in a minute.
    let answers: Vec<String> = (0..40)
        .map(|i| ask_reset(&p, "probe-reset@example.com", &format!("10.0.1.{i}")))
        .collect();
    assert_eq!(mails(), 3, "three links an hour reach one address");
    assert!(
        answers.iter().all(|a| a == &answers[0]),
        "every ask gets the same neutral answer: {answers:?}"
    );
    assert_eq!(
        answers[0],
        ask_reset(&p, "probe-nobody@example.com", "10.0.2.1"),
        "the same as for an unknown address"
    );
    p.clock.advance(3601);
    ask_reset(&p, "probe-reset@example.com", "10.0.3.1");
    assert_eq!(mails(), 4, "an hour later a new link is sent");
}

#[test]
fn reset_asks_from_one_client_are_limited() {
    let p = behind_proxy();
    let users: Vec<String> = (0..15)
        .map(|i| format!("probe-reset-{i}@example.com"))
        .collect();
    for u in &users {
        p.add_user(u, Role::Customer);
    }
    let mails = || p.count("SELECT count(*) FROM outbox WHERE event = 'password_reset'");
    let answers: Vec<String> = users.iter().map(|u| ask_reset(&p, u, "10.9.9.9")).collect();
    assert_eq!(mails(), 10, "ten asks an hour from one client send mail");
    assert!(answers.iter().all(|a| a == &answers[0]), "{answers:?}");
    // Another client is not held back by this one.
    ask_reset(&p, &users[14], "10.9.9.10");
    assert_eq!(mails(), 11);
}

// ---- 2. nobody can lock an owner out of sign-in ----

/// A client whose requests come from `from` (through the trusted proxy).
fn client_at(p: &TestPortal, from: &str) -> Client {
    let mut c = p.client();
    c.headers = vec![("X-Forwarded-For".into(), from.into())];
    c
}

fn try_login(c: &mut Client, email: &str, password: &str) -> u16 {
    c.get("/login");
    c.post("/login", &[("email", email), ("password", password)])
        .status
}

#[test]
fn failures_from_strangers_do_not_lock_the_owner_out() {
    let p = behind_proxy();
    let owner = "probe-lock@example.com";
    p.add_user(owner, Role::Customer);
    // Thirty wrong passwords for the owner's account from one address…
    let mut attacker = client_at(&p, "10.0.5.1");
    let statuses: Vec<u16> = (0..30)
        .map(|_| try_login(&mut attacker, owner, "wrong password"))
        .collect();
    assert!(
        statuses.contains(&429),
        "the attacker is slowed: {statuses:?}"
    );
    // …and twenty-five for other accounts from the owner's own (shared, NAT) address.
    let mut neighbour = client_at(&p, "10.0.0.1");
    for i in 0..25 {
        try_login(&mut neighbour, &format!("other-{i}@example.com"), "wrong");
    }
    // The owner, from that address, with a browser that never signed in before: let in.
    let mut fresh = client_at(&p, "10.0.0.1");
    assert_eq!(try_login(&mut fresh, owner, crate::support::PASSWORD), 303);
}

#[test]
fn sign_in_delays_grow_per_account_and_client() {
    let p = behind_proxy();
    let owner = "probe-delay@example.com";
    p.add_user(owner, Role::Customer);
    let mut c = client_at(&p, "10.0.6.1");
    for _ in 0..3 {
        assert_eq!(try_login(&mut c, owner, "wrong"), 401);
    }
    // After three failures, even the right password waits.
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 429);
    p.clock.advance(31);
    assert_eq!(try_login(&mut c, owner, "wrong"), 401);
    // The next wait is longer than the first.
    p.clock.advance(31);
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 429);
    p.clock.advance(30);
    assert_eq!(try_login(&mut c, owner, crate::support::PASSWORD), 303);
}

#[test]
fn a_browser_that_signed_in_before_is_kept_out_of_the_account_lockout() {
    let p = behind_proxy();
    let owner = "probe-device@example.com";
    p.add_user(owner, Role::Customer);
    let mut known = client_at(&p, "10.0.7.1");
    known.login(owner, crate::support::PASSWORD);
    assert!(
        known.cookies.contains_key("didport_device"),
        "{:?}",
        known.cookies
    );
    let r = known.post("/logout", &[]);
    assert_eq!(r.status, 303);
    // A botnet: two wrong passwords each from sixty addresses locks the account for every
    // browser it has not seen…
    for i in 0..60 {
        let mut bot = client_at(&p, &format!("10.1.{i}.1"));
        try_login(&mut bot, owner, "wrong");
        try_login(&mut bot, owner, "wrong");
    }
    let mut stranger = client_at(&p, "10.2.0.1");
    assert_eq!(
        try_login(&mut stranger, owner, crate::support::PASSWORD),
        429
    );
    // …but not for the owner's own browser, wherever it is now.
    known.headers = vec![("X-Forwarded-For".into(), "10.1.0.1".into())];
    assert_eq!(try_login(&mut known, owner, crate::support::PASSWORD), 303);
    // A device cookie is bound to its account and cannot be forged.
    let mut forger = client_at(&p, "10.2.0.2");
    let cookie = known.cookies["didport_device"].clone();
    let (uid, rest) = cookie.split_once('.').unwrap();
    forger.cookies.insert(
        "didport_device".into(),
        format!("{}.{rest}", uid.parse::<i64>().unwrap() + 1),
    );
    assert_eq!(try_login(&mut forger, owner, crate::support::PASSWORD), 429);
}
