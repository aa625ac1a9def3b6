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
