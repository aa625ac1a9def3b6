//! One home for the ending of a business write: the change, the emails it sends and its audit
//! rows in one transaction, and the mail sender woken once that transaction is committed.

use super::{Services, notify};
use crate::domain::MailEvent;
use crate::emails::Email;
use crate::store::audit::{self, Entry};
use crate::store::{self, Tx};

/// What a business write reports, written into its transaction as it is said (so emails and
/// audit rows keep the order the workflow gives them) and remembered until the commit, after
/// which the mail sender is woken if a message was queued.
pub(crate) struct Report<'a> {
    tx: &'a Tx<'a>,
    now: i64,
    wake: bool,
    /// The caller wakes the sender itself (once, after a batch of changes).
    caller_wakes: bool,
}

impl Report<'_> {
    /// Queues `email` to `to`, with its text and HTML.
    pub(crate) fn email(
        &mut self,
        event: MailEvent,
        to: &str,
        email: &Email,
    ) -> store::Result<i64> {
        let id = notify::queue(self.tx, self.now, event, to, email)?;
        self.wake = true;
        Ok(id)
    }

    /// Queues the admin's copy when an admin address is configured; the template is only
    /// written then.
    pub(crate) fn admin_email(
        &mut self,
        event: MailEvent,
        admin: Option<&str>,
        email: impl FnOnce() -> Email,
    ) -> store::Result<()> {
        if let Some(to) = admin {
            self.email(event, to, &email())?;
        }
        Ok(())
    }

    /// Writes an audit row.
    pub(crate) fn audit(&mut self, e: &Entry<'_>) -> store::Result<()> {
        audit::record(self.tx, self.now, e)
    }

    /// Leaves waking the mail sender to the caller: a batch (the renewal run) wakes it once at
    /// its end, so that sending does not compete with the batch for the write lock.
    pub(crate) fn leave_wake_to_caller(&mut self) {
        self.caller_wakes = true;
    }

    /// Wakes the mail sender after the commit although no message was queued here (a message
    /// already in the outbox was put back at the front of the queue).
    pub(crate) fn wake(&mut self) {
        self.wake = true;
    }
}

/// A business write: `f` makes the change in the transaction at `now` and says what to report
/// on `r`; the report's emails and audit rows are written in the same transaction, so an error
/// from `f` writes none of them, and the mail sender is woken once it is committed (only when
/// a message was queued).
#[track_caller]
pub(crate) fn change<T, E: From<store::Error>>(
    s: &Services,
    now: i64,
    f: impl FnOnce(&Tx<'_>, &mut Report<'_>) -> Result<T, E>,
) -> Result<T, E> {
    let mut wake = false;
    let out = s.store.write(|tx| -> Result<T, E> {
        let mut r = Report {
            tx,
            now,
            wake: false,
            caller_wakes: false,
        };
        let out = f(tx, &mut r)?;
        wake = r.wake && !r.caller_wakes;
        Ok(out)
    })?;
    if wake {
        s.mail.wake();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::clock::ManualClock;
    use crate::config::Config;
    use crate::store::Store;
    use crate::store::audit::Outcome;
    use crate::workflow::{mail_sender, runs};

    fn services(dir: &std::path::Path) -> Services {
        let config = Config::for_tests(dir.join("db.sqlite3"));
        let store = Store::open(&config.db, 2).unwrap();
        Services {
            run: runs::Run::read_only(),
            store,
            clock: Arc::new(ManualClock::new(1_000)),
            telinta: None,
            config: Arc::new(config),
            public_url: "http://localhost".into(),
            mail: mail_sender::Waker::default(),
            payments: None,
        }
    }

    fn counts(s: &Services) -> (i64, i64) {
        s.store
            .read(|tx| {
                let mail = tx.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?;
                let audit = tx.query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))?;
                Ok::<_, store::Error>((mail, audit))
            })
            .unwrap()
    }

    fn report(r: &mut Report<'_>) -> store::Result<()> {
        let email = Email {
            subject: "Hello".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
        };
        r.email(MailEvent::OrderCancelled, "a@example.com", &email)?;
        r.admin_email(MailEvent::OrderCancelled, Some("admin@example.com"), || {
            email.clone()
        })?;
        r.admin_email(MailEvent::OrderCancelled, None, || unreachable!())?;
        r.audit(&Entry {
            actor_id: None,
            actor: "test",
            action: "test_change",
            subject: "1",
            outcome: Outcome::Ok,
            detail: "",
            address: "",
        })
    }

    #[test]
    fn an_error_writes_neither_mail_nor_audit_and_does_not_wake() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path());
        let before = counts(&s);
        let out: Result<(), store::Error> = change(&s, 1_000, |tx, r| {
            report(r)?;
            // A failing statement after the report: the whole unit rolls back.
            tx.execute("INSERT INTO no_such_table VALUES (1)", [])?;
            Ok(())
        });
        assert!(out.is_err());
        assert_eq!(counts(&s), before);
        assert!(!s.mail.pending());
    }

    #[test]
    fn success_writes_mail_and_audit_and_wakes_the_sender() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path());
        let (mail, audit) = counts(&s);
        change(&s, 1_000, |_, r| report(r)).unwrap();
        assert_eq!(counts(&s), (mail + 2, audit + 1));
        assert!(s.mail.pending());
    }

    #[test]
    fn an_audit_alone_does_not_wake_the_sender_unless_asked() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path());
        let entry = Entry {
            actor_id: None,
            actor: "test",
            action: "test_change",
            subject: "1",
            outcome: Outcome::Ok,
            detail: "",
            address: "",
        };
        change(&s, 1_000, |_, r| r.audit(&entry)).unwrap();
        assert!(!s.mail.pending());
        change(&s, 1_000, |_, r| {
            r.wake();
            r.audit(&entry)
        })
        .unwrap();
        assert!(s.mail.pending());
    }

    #[test]
    fn a_batch_step_writes_its_mail_and_leaves_the_wake_to_its_caller() {
        let dir = tempfile::tempdir().unwrap();
        let s = services(dir.path());
        let (mail, audit) = counts(&s);
        change(&s, 1_000, |_, r| {
            r.leave_wake_to_caller();
            report(r)
        })
        .unwrap();
        assert_eq!(counts(&s), (mail + 2, audit + 1));
        assert!(!s.mail.pending());
    }
}
