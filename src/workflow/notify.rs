//! Queuing notifications. Their words live in `crate::emails`, one template per event and
//! reader; this module puts a written email in the outbox, in the caller's transaction.

use crate::domain::MailEvent;
use crate::emails::{Email, Site};
use crate::store::outbox::{NewMail, enqueue};
use crate::store::{Result, Tx};

use super::Services;

/// A text-only message. Emails written with a template in `crate::emails` are queued with
/// [`queue`] instead, which adds their HTML alternative.
pub struct Message {
    pub event: MailEvent,
    pub to: String,
    pub subject: String,
    pub body: String,
}

impl Message {
    /// Queues the message in the caller's transaction.
    pub fn queue(&self, tx: &Tx<'_>, now: i64) -> Result<i64> {
        enqueue(
            tx,
            &NewMail {
                event: self.event,
                to: &self.to,
                subject: &self.subject,
                body: &self.body,
                html: None,
            },
            now,
        )
    }
}

/// The site the emails speak for, from the configuration.
pub fn site(s: &Services) -> Site {
    Site {
        name: s.config.site_name.clone(),
        url: s.public_url.clone(),
    }
}

/// Queues `email` to `to` in the caller's transaction, with its text and HTML.
pub fn queue(tx: &Tx<'_>, now: i64, event: MailEvent, to: &str, email: &Email) -> Result<i64> {
    enqueue(
        tx,
        &NewMail {
            event,
            to,
            subject: &email.subject,
            body: &email.text,
            html: Some(&email.html),
        },
        now,
    )
}

/// Queues the admin's copy when an admin address is configured; the template is only
/// written then.
pub fn queue_admin(
    tx: &Tx<'_>,
    now: i64,
    event: MailEvent,
    admin: Option<&str>,
    email: impl FnOnce() -> Email,
) -> Result<()> {
    if let Some(to) = admin {
        queue(tx, now, event, to, &email())?;
    }
    Ok(())
}
