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

/// To the address someone asked to move their account to. It names neither the account's
/// current address nor its holder, in case the address was mistyped and belongs to a stranger.
pub fn email_change_requested(site: &str, to: &str, link: &str, hours: i64) -> Message {
    Message {
        event: MailEvent::EmailChangeRequested,
        to: to.to_string(),
        subject: format!("{site}: confirm your new email address"),
        body: format!(
            "You asked to use this address for your {site} account.\n\n\
             To confirm, open this link within {hours} hours, signed in to {site}:\n\n{link}\n\n\
             Until you do, we keep writing to the address you have now. If you did not ask \
             for this, ignore this message: nothing changes.\n"
        ),
    }
}

/// To the address an account had until its holder confirmed a new one.
pub fn email_changed(site: &str, to: &str, new: &str, help: &str) -> Message {
    Message {
        event: MailEvent::EmailChanged,
        to: to.to_string(),
        subject: format!("{site}: your email address was changed"),
        body: format!(
            "The email address of your {site} account is now {new}. You sign in with it, \
             and we write to it from now on; this is the last message to this address.\n\n\
             If you made this change, there is nothing to do. If you did not, someone may \
             know your password: write to {help} at once.\n"
        ),
    }
}

/// To an account holder whose password was changed while signed in.
pub fn password_changed(site: &str, to: &str, forgot_link: &str, help: &str) -> Message {
    Message {
        event: MailEvent::PasswordChanged,
        to: to.to_string(),
        subject: format!("{site}: your password was changed"),
        body: format!(
            "The password of your {site} account was changed. Every other device signed \
             in to the account was signed out.\n\n\
             If you made this change, there is nothing to do. If you did not, choose a new \
             password now:\n\n{forgot_link}\n\nand write to {help}.\n"
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
