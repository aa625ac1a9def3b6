//! Queuing notifications. Their words live in `crate::emails`, one template per event and
//! reader; this module puts a written email in the outbox, in the caller's transaction.

use crate::domain::MailEvent;
use crate::emails::{Email, Site};
use crate::store::outbox::{NewMail, enqueue};
use crate::store::{Result, Tx};

use super::Services;

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
