//! The text of each notification. Subjects name the phone number concerned where there is one.

use crate::domain::MailEvent;
use crate::store::outbox::{NewMail, enqueue};
use crate::store::{Result, Tx};

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
            },
            now,
        )
    }
}

pub fn password_reset(site: &str, to: &str, link: &str, minutes: i64) -> Message {
    Message {
        event: MailEvent::PasswordReset,
        to: to.to_string(),
        subject: format!("{site}: reset your password"),
        body: format!(
            "Someone (hopefully you) asked to reset the password of your {site} account.\n\n\
             To choose a new password, open this link within {minutes} minutes:\n\n{link}\n\n\
             The link works once. If you did not ask for this, ignore this message: \
             your password stays as it is.\n"
        ),
    }
}

/// Queues one message to the customer and, when an admin address is configured, the same to
/// the admin.
pub fn queue_both(
    tx: &Tx<'_>,
    now: i64,
    event: MailEvent,
    customer: &str,
    admin: Option<&str>,
    subject: &str,
    body: &str,
) -> Result<()> {
    for to in std::iter::once(customer).chain(admin) {
        Message {
            event,
            to: to.to_string(),
            subject: subject.to_string(),
            body: body.to_string(),
        }
        .queue(tx, now)?;
    }
    Ok(())
}
