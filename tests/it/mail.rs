//! The outbox and its sender, against a real SMTP conversation.

use std::sync::Arc;

use crate::support::smtp::{SmtpSink, free_port};
use crate::support::{TestPortal, wait_until};
use didport::config::{SmtpConfig, SmtpTls};
use didport::domain::Role;
use didport::integrations::mail::{Mailer, SmtpMailer};

fn portal_with_smtp(port: u16) -> TestPortal {
    TestPortal::start_with(|cfg, opts| {
        let smtp = SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            tls: SmtpTls::None,
            user: None,
            password: None,
        };
        cfg.smtp = Some(smtp.clone());
        let mailer: Arc<dyn Mailer> = Arc::new(SmtpMailer::new(smtp).unwrap());
        opts.mailer = Some(mailer);
    })
}

fn outbox_state(p: &TestPortal) -> (String, i64, Option<String>) {
    let conn = crate::support::rusqlite_conn(&p.db);
    conn.query_row(
        "SELECT status, attempts, last_error FROM outbox ORDER BY id LIMIT 1",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

#[test]
fn queued_mail_is_delivered_with_its_event_header() {
    let sink = SmtpSink::start();
    let p = portal_with_smtp(sink.port);
    p.add_user("mail@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "mail@example.com", "test").unwrap();
    wait_until("the message reaches the receiver", || {
        sink.received().len() == 1
    });
    wait_until("the outbox says sent", || outbox_state(&p).0 == "sent");
    let m = &sink.received()[0];
    assert_eq!(m.to, vec!["mail@example.com".to_string()]);
    assert_eq!(
        m.header("X-Didport-Event").as_deref(),
        Some("password_reset")
    );
    assert!(m.header("Subject").unwrap().contains("reset your password"));
    assert!(m.header("Message-ID").unwrap().contains("outbox-1-"));
    assert!(m.body().contains("/password/reset?token="));
    let (_, attempts, err) = outbox_state(&p);
    assert_eq!(attempts, 1);
    assert_eq!(err, None);
}

#[test]
fn mail_is_retried_after_the_receiver_was_down() {
    let port = free_port();
    let p = portal_with_smtp(port);
    p.add_user("retry@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "retry@example.com", "test").unwrap();
    wait_until("the first attempt fails", || outbox_state(&p).1 >= 1);
    let (status, attempts, err) = outbox_state(&p);
    assert_eq!(status, "queued");
    assert_eq!(attempts, 1);
    assert!(err.is_some(), "the error is recorded");

    // The admin page shows the waiting message and its error.
    let mut admin = p.signed_in("ops@example.com", Role::Admin);
    let page = admin.get("/admin/outbox");
    assert_eq!(
        page.attr("#mail-1", "data-status").as_deref(),
        Some("queued")
    );
    assert!(page.has("#mail-1 .small-error"));

    // Bring the receiver up; nothing is sent before the backoff has passed.
    let sink = SmtpSink::start_on(port);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(sink.received().is_empty(), "backoff respected");
    p.clock.advance(31);
    p.services().mail.wake();
    wait_until("the retry is delivered", || outbox_state(&p).0 == "sent");
    assert_eq!(sink.received().len(), 1);
    assert_eq!(outbox_state(&p).1, 2);
}

#[test]
fn a_permanent_refusal_marks_the_message_failed() {
    let sink = SmtpSink::start();
    *sink.reject.lock().unwrap() = Some("bounce".into());
    let p = portal_with_smtp(sink.port);
    p.add_user("bounce@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "bounce@example.com", "test").unwrap();
    wait_until("the message is failed", || outbox_state(&p).0 == "failed");
    let (_, _, err) = outbox_state(&p);
    assert!(err.unwrap().contains("550"));
}

#[test]
fn without_smtp_mail_waits_and_the_admin_page_says_so() {
    let p = TestPortal::start();
    p.add_user("wait@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "wait@example.com", "test").unwrap();
    let mut admin = p.signed_in("ops@example.com", Role::Admin);
    let page = admin.get("/admin/outbox");
    assert!(
        page.text("#smtp-missing")
            .contains("no SMTP server is configured")
    );
    assert_eq!(
        page.attr("#mail-1", "data-status").as_deref(),
        Some("queued")
    );
    assert_eq!(
        page.attr("#mail-1", "data-event").as_deref(),
        Some("password_reset")
    );
    // The reset link is a secret meant for its recipient: not shown to the admin.
    assert!(!page.body.contains("token="));
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(outbox_state(&p).1, 0, "no attempts without SMTP");
}

#[test]
fn starttls_and_implicit_tls_never_fall_back_to_plain_text() {
    // The test receiver offers no STARTTLS and speaks no TLS: a mailer told to use TLS must
    // refuse to send rather than deliver in the clear.
    let sink = SmtpSink::start();
    for tls in [SmtpTls::StartTls, SmtpTls::Implicit] {
        let mailer = SmtpMailer::new(SmtpConfig {
            host: "127.0.0.1".into(),
            port: sink.port,
            tls,
            user: Some("user".into()),
            password: Some("secret-password".into()),
        })
        .unwrap();
        let r = mailer.send(&didport::integrations::mail::OutgoingMail {
            from: "a@example.com".into(),
            to: "b@example.com".into(),
            subject: "s".into(),
            body: "b".into(),
            html: None,
            event: "password_reset".into(),
            message_id: "x@example.com".into(),
        });
        assert!(r.is_err(), "{tls:?} sent without TLS");
        assert!(!r.unwrap_err().to_string().contains("secret-password"));
    }
    assert!(
        sink.received().is_empty(),
        "nothing was delivered in plain text"
    );
}

#[test]
fn a_delivered_message_has_a_text_and_an_html_alternative() {
    let sink = SmtpSink::start();
    let p = portal_with_smtp(sink.port);
    p.add_user("both@example.com", Role::Customer);
    didport::workflow::accounts::request_reset(p.services(), "both@example.com", "test").unwrap();
    wait_until("the message reaches the receiver", || {
        sink.received().len() == 1
    });
    let m = &sink.received()[0];
    assert_eq!(
        m.header("X-Didport-Event").as_deref(),
        Some("password_reset")
    );
    let kind = m.header("Content-Type").unwrap();
    assert!(kind.starts_with("multipart/alternative"), "{kind}");
    let body = m.body();
    let text = body.find("Content-Type: text/plain").expect("a text part");
    let html = body.find("Content-Type: text/html").expect("an HTML part");
    assert!(
        text < html,
        "text first, then HTML: mail clients show the last they can"
    );
    assert!(body[text..html].contains("/password/reset?token="));
    assert!(
        body[html..].contains("<a href=\"http"),
        "the HTML links absolutely"
    );
    // The outbox keeps the HTML it sent.
    let conn = crate::support::rusqlite_conn(&p.db);
    let stored: Option<String> = conn
        .query_row("SELECT html FROM outbox", [], |r| r.get(0))
        .unwrap();
    assert!(stored.unwrap().starts_with("<!DOCTYPE html>"));
}

/// What a mail client shows safely: no active content, nothing fetched from elsewhere, inline
/// styles only, and links that work outside the portal (absolute).
fn mail_client_safety(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let mut problems: Vec<String> = doc.errors.iter().map(|e| format!("parse: {e}")).collect();
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let v = el.value();
        let name = v.name();
        if [
            "script", "iframe", "form", "object", "embed", "style", "input", "button", "frame",
            "frameset", "applet", "base", "svg", "video", "audio",
        ]
        .contains(&name)
        {
            problems.push(format!("<{name}>"));
        }
        if name == "link" {
            problems.push("<link> (a stylesheet or other fetch)".into());
        }
        if name == "meta" && v.attr("http-equiv").is_some() {
            problems.push("<meta http-equiv>".into());
        }
        for (attr, value) in v.attrs() {
            if attr.starts_with("on") {
                problems.push(format!("<{name} {attr}>: an event handler"));
            }
            if ["src", "srcset", "background", "poster", "data"].contains(&attr) {
                problems.push(format!("<{name} {attr}={value:?}>: fetches from elsewhere"));
            }
            if attr == "class" || attr == "id" {
                problems.push(format!("<{name} {attr}>: styles must be inline"));
            }
            if attr == "style" && (value.contains("url(") || value.contains("@import")) {
                problems.push(format!("<{name} style>: fetches from elsewhere"));
            }
        }
        if name == "a" {
            match v.attr("href") {
                Some(h) if h.starts_with("https://") || h.starts_with("http://") => {}
                Some(h) if h.starts_with("mailto:") => {}
                other => problems.push(format!("<a href={other:?}>: not absolute")),
            }
        }
        if name == "img" {
            problems.push("<img>: images are not shown by many clients".into());
        }
    }
    problems
}

#[test]
fn every_template_is_safe_for_mail_clients_and_written_for_its_reader() {
    use didport::emails::{Reader, Site, samples};
    let site = Site {
        name: "Numbers & Co".into(),
        url: "https://portal.example.com".into(),
    };
    let all = samples::all(&site);
    for event in didport::domain::MailEvent::ALL {
        assert!(
            all.iter().any(|s| s.event == event),
            "{} has no template in the catalogue",
            event.as_str()
        );
    }
    for s in &all {
        let what = format!("{} {} {}", s.event.as_str(), s.reader.as_str(), s.variant);
        let problems = mail_client_safety(&s.email.html);
        assert!(problems.is_empty(), "{what}: {problems:?}");
        assert!(s.email.html.starts_with("<!DOCTYPE html>"), "{what}");
        assert!(s.email.subject.starts_with("Numbers & Co: "), "{what}");
        assert!(
            !s.email.html.contains("Numbers & Co:"),
            "{what}: HTML escapes the site name"
        );
        // Every link of the text part is the portal's, and the HTML carries the same ones.
        for word in s.email.text.split_whitespace() {
            if word.starts_with("http") {
                assert!(
                    word.starts_with("https://portal.example.com"),
                    "{what}: {word}"
                );
                assert!(
                    s.email.html.contains(&word.replace('&', "&amp;")),
                    "{what}: {word} only in the text"
                );
            }
        }
        // Messages about the account, not a number, have no number to name.
        let about_account = matches!(
            s.event.as_str(),
            "password_reset" | "email_change_requested" | "email_changed" | "password_changed"
        );
        if !about_account && !s.variant.contains("no known") {
            assert!(
                s.email.subject.contains("(212) 555-0100"),
                "{what}: the subject names the number: {}",
                s.email.subject
            );
        }
        match s.reader {
            Reader::Admin => {
                if !s.variant.contains("no known") {
                    assert!(
                        s.email.text.contains("pat@example.com"),
                        "{what}: the admin's copy names the customer"
                    );
                }
                assert!(!s.email.text.contains("your number"), "{what}");
                // Neither the PIN nor the customer's forwarding number reaches the admin.
                assert!(!s.email.text.contains("(310) 555-0199"), "{what}");
                assert!(
                    s.email.text.contains("/admin/") || s.email.text.contains("/orders/"),
                    "{what}"
                );
            }
            Reader::Customer => {
                assert!(!s.email.text.contains("the customer"), "{what}");
                assert!(
                    s.email.text.contains("https://portal.example.com/"),
                    "{what}: a link"
                );
            }
        }
    }
}

#[test]
fn the_mail_client_check_finds_what_it_looks_for() {
    let bad = "<!DOCTYPE html><html lang=\"en\"><head><title>t</title>\
        <link rel=\"stylesheet\" href=\"https://cdn.example.com/a.css\"><style>p{}</style></head>\
        <body><script>1</script><p class=\"x\" onclick=\"y()\">a</p><img src=\"https://t.example.com/p.gif\" alt=\"\">\
        <a href=\"/my\">relative</a><form></form><iframe title=\"f\"></iframe></body></html>";
    let found = mail_client_safety(bad).join("\n");
    for want in [
        "<link>",
        "<style>",
        "<script>",
        "onclick",
        "class",
        "fetches from elsewhere",
        "not absolute",
        "<form>",
        "<iframe>",
    ] {
        assert!(found.contains(want), "{want} not caught:\n{found}");
    }
}

#[test]
#[ignore = "prints every template's text, for reading them as their readers"]
fn print_every_template() {
    let site = didport::emails::Site {
        name: "didport".into(),
        url: "https://portal.example.com".into(),
    };
    for s in didport::emails::samples::all(&site) {
        println!(
            "===== {} / {} {}\nSubject: {}\n\n{}",
            s.event.as_str(),
            s.reader.as_str(),
            s.variant,
            s.email.subject,
            s.email.text
        );
    }
}

#[test]
fn the_outbox_previews_every_template_for_the_admin() {
    let p = TestPortal::start();
    let mut admin = p.signed_in("ops@example.com", Role::Admin);
    let list = admin.get("/admin/outbox?view=templates");
    assert_eq!(list.status, 200);
    let site = didport::emails::Site {
        name: "x".into(),
        url: "https://x.example.com".into(),
    };
    for s in didport::emails::samples::all(&site) {
        let row = format!("#template-{}-{}", s.event.as_str(), s.reader.as_str());
        assert!(list.has(&row), "{row} listed");
    }
    let page = admin.get("/admin/outbox/preview/settings_changed/customer");
    assert_eq!(page.status, 200);
    assert!(
        page.text("#preview-1 .mail-subject")
            .contains("(212) 555-0100")
    );
    assert!(
        page.text("#preview-1 .mail-text")
            .contains("calls forwarded to")
    );
    assert_eq!(
        page.attr("#preview-1 iframe", "sandbox").as_deref(),
        Some("")
    );
    assert!(
        page.attr("#preview-1 iframe", "srcdoc")
            .unwrap()
            .starts_with("<!DOCTYPE html>")
    );
    // The frame inherits the page's policy: inline styles are allowed here, scripts are not.
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("style-src 'self' 'unsafe-inline'"), "{csp}");
    assert!(!csp.contains("script-src"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    // Elsewhere the default policy stands.
    let outbox = admin.get("/admin/outbox");
    assert!(
        !outbox
            .header("content-security-policy")
            .unwrap()
            .contains("unsafe-inline")
    );
    // An admin's copy never shows the customer's forwarding number.
    let admin_copy = admin.get("/admin/outbox/preview/settings_changed/admin");
    assert!(!admin_copy.body.contains("555-0199"));
    for missing in [
        "/admin/outbox/preview/no_such_event/customer",
        "/admin/outbox/preview/order_placed/nobody",
        "/admin/outbox/preview/suspension_failed/customer",
    ] {
        assert_eq!(admin.get(missing).status, 404, "{missing}");
    }
}
