//! Security headers, error pages, the panic guard, static assets, health and limits.

use std::sync::Arc;

use crate::support::{TestPortal, logs};
use didport::domain::Role;
use didport::http::Response;

fn assert_security_headers(r: &crate::support::Resp, what: &str) {
    let csp = r
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no CSP"));
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
    assert!(r.header("referrer-policy").is_some(), "{what}");
}

fn portal_with_panic_route() -> TestPortal {
    TestPortal::start_with(|_, opts| {
        opts.extra_route = Some(Arc::new(
            |req: &didport::http::Request| -> Option<Response> {
                if req.path == "/__test/panic" {
                    panic!("deliberate test panic");
                }
                None
            },
        ));
    })
}

#[test]
fn every_response_carries_security_headers() {
    let p = portal_with_panic_route();
    let mut c = p.client();
    let mut admin = p.signed_in("h@example.com", Role::Admin);
    let cases = vec![
        ("home", c.get("/")),
        ("healthz", c.get("/healthz")),
        ("asset", c.get("/assets/style.css")),
        ("missing asset", c.get("/assets/nope.css")),
        ("404", c.get("/no/such/page")),
        ("redirect", c.get("/my")),
        ("csrf 403", c.post_raw("/login", &[])),
        ("405", c.post_raw("/healthz", &[])),
        ("panic 500", c.get("/__test/panic")),
        ("admin", admin.get("/admin")),
    ];
    for (what, r) in &cases {
        assert_security_headers(r, what);
    }
}

#[test]
fn unknown_paths_are_404_pages() {
    let p = TestPortal::start();
    let mut c = p.client();
    let r = c.get("/definitely/not/here");
    assert_eq!(r.status, 404);
    assert!(r.has("#error-404"));
    assert!(r.header("content-type").unwrap().starts_with("text/html"));
}

#[test]
fn a_handler_panic_becomes_a_500_page_with_an_incident_id_in_the_log() {
    let p = portal_with_panic_route();
    let mut c = p.client();
    let r = c.get("/__test/panic");
    assert_eq!(r.status, 500);
    let id = r.text("#incident-id");
    assert_eq!(id.len(), 8, "incident id {id:?}");
    assert!(
        !r.body.contains("deliberate test panic"),
        "no internals on the page"
    );
    let logged = logs();
    assert!(
        logged
            .iter()
            .any(|l| l.contains(&format!("incident {id}")) && l.contains("deliberate test panic")),
        "incident {id} not in the log"
    );
    // The server keeps serving after the panic.
    assert_eq!(c.get("/healthz").status, 200);
}

#[test]
fn healthz_answers_after_a_database_round_trip() {
    let p = TestPortal::start();
    let r = p.client().get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, r#"{"status":"ok"}"#);
    assert_eq!(r.header("content-type"), Some("application/json"));
}

#[test]
fn assets_are_embedded_with_etag_and_cache_control() {
    let p = TestPortal::start();
    let mut c = p.client();
    let home = c.get("/");
    let css_link = home.attr("link[rel=stylesheet]", "href").unwrap();
    assert!(css_link.starts_with("/assets/style.css?v="));
    let css = c.get(&css_link);
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert!(css.header("cache-control").unwrap().contains("immutable"));
    let etag = css.header("etag").unwrap().to_string();
    c.headers.push(("If-None-Match".into(), etag));
    let again = c.get("/assets/style.css");
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
}

#[test]
fn pages_have_no_inline_script_or_style() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("pages@example.com", Role::Admin);
    let mut anon = p.client();
    for r in [
        anon.get("/"),
        anon.get("/login"),
        anon.get("/signup"),
        anon.get("/password/forgot"),
        anon.get("/nope"),
        admin.get("/admin"),
        admin.get("/admin/outbox"),
        admin.get("/admin/audit"),
        admin.get("/account/password"),
    ] {
        assert!(!r.body.contains("<script"), "{}", r.body);
        assert!(!r.body.contains("style="), "{}", r.body);
        assert!(!r.body.contains("<style"), "{}", r.body);
    }
}

#[test]
fn layout_shows_sign_in_state() {
    let p = TestPortal::start();
    let mut anon = p.client();
    let r = anon.get("/");
    assert!(r.has("#nav-login"));
    assert!(!r.has("#logout"));
    assert!(
        !r.has("#sandbox-banner"),
        "no sandbox banner outside demo mode"
    );
    let mut c = p.signed_in("who@example.com", Role::Customer);
    let r = c.get("/");
    assert!(r.has("#logout"));
    assert!(r.has("#nav-my"));
    assert!(!r.has("#nav-admin"));
}

#[test]
fn demo_mode_shows_the_sandbox_banner_on_every_page() {
    let p = TestPortal::start_with(|_, o| o.demo = true);
    let mut c = p.client();
    for path in ["/", "/login", "/signup", "/nope"] {
        assert!(c.get(path).has("#sandbox-banner"), "{path}");
    }
}

#[test]
fn oversized_bodies_are_refused() {
    use std::io::{Read, Write};
    let p = TestPortal::start();
    // Refused from the head, before the body is sent: a client that went on sending while the
    // server closed could see its answer replaced by a reset, so this one sends only the head.
    let addr = p.url.trim_start_matches("http://").to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    write!(
        s,
        "POST /login HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        didport::http::server::MAX_BODY_BYTES + 10
    )
    .unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
}

#[test]
fn wrong_methods_get_405() {
    let p = TestPortal::start();
    let mut c = p.client();
    let r = c.get("/logout");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST"));
}

#[test]
fn trusted_proxy_address_is_used_only_when_configured() {
    let p = TestPortal::start_with(|cfg, _| cfg.trusted_proxy = Some("127.0.0.1".parse().unwrap()));
    p.add_user("proxied@example.com", Role::Customer);
    let mut c = p.client();
    c.headers
        .push(("X-Forwarded-For".into(), "198.51.100.7".into()));
    c.login("proxied@example.com", crate::support::PASSWORD);
    assert_eq!(
        p.count("SELECT count(*) FROM sessions WHERE address = '198.51.100.7'"),
        1
    );

    let q = TestPortal::start();
    q.add_user("direct@example.com", Role::Customer);
    let mut d = q.client();
    d.headers
        .push(("X-Forwarded-For".into(), "198.51.100.7".into()));
    d.login("direct@example.com", crate::support::PASSWORD);
    assert_eq!(
        q.count("SELECT count(*) FROM sessions WHERE address = '127.0.0.1'"),
        1
    );
}

/// A burst of new keep-alive connections is answered while all of them stay open. tiny_http's
/// connection pool used to queue some of them behind threads that were already taken, and
/// those waited unanswered until another connection closed (for ever, here). The read
/// timeout only tells a hang from an answer.
#[test]
fn a_burst_of_kept_alive_connections_is_answered() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::Barrier;

    let p = TestPortal::start();
    let addr = p.url.trim_start_matches("http://").to_string();
    const CONNECTIONS: usize = 64;
    for round in 0..4 {
        let connected = Barrier::new(CONNECTIONS);
        let answered = Barrier::new(CONNECTIONS);
        let unanswered: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..CONNECTIONS)
                .map(|_| {
                    let (addr, connected, answered) = (&addr, &connected, &answered);
                    s.spawn(move || {
                        connected.wait();
                        let mut conn = TcpStream::connect(addr.as_str()).unwrap();
                        conn.set_read_timeout(Some(std::time::Duration::from_secs(15)))
                            .unwrap();
                        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
                            .unwrap();
                        let mut got = Vec::new();
                        let mut buf = [0u8; 4096];
                        let complete = loop {
                            if String::from_utf8_lossy(&got).contains("\"ok\"") {
                                break true;
                            }
                            match conn.read(&mut buf) {
                                Ok(0) | Err(_) => break false,
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                            }
                        };
                        // Every connection stays open until all have their answer.
                        answered.wait();
                        !complete
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let stuck = unanswered.iter().filter(|u| **u).count();
        assert_eq!(
            stuck, 0,
            "round {round}: {stuck} of {CONNECTIONS} connections got no answer"
        );
    }
}
