//! Signing in and the account page: the password reset link, a new address's confirmation
//! link, and the notices that the address or the password changed.

use super::{Email, Reader, Site, action, compose, p};

pub struct PasswordReset<'a> {
    /// The one-time link, absolute.
    pub link: &'a str,
    pub minutes: i64,
}

pub fn password_reset_customer(site: &Site, f: &PasswordReset<'_>) -> Email {
    compose(
        site,
        Reader::Customer,
        "reset your password",
        &[
            p(format!(
                "Someone (hopefully you) asked to reset the password of your {} account.",
                site.name
            )),
            action(
                format!(
                    "To choose a new password, open this link within {} minutes",
                    f.minutes
                ),
                f.link,
            ),
            p(
                "The link works once. If you did not ask for this, ignore this message: your password stays as it is.",
            ),
        ],
    )
}

pub struct EmailChangeRequested<'a> {
    /// The confirmation link, absolute.
    pub link: &'a str,
    pub hours: i64,
}

/// To the address someone asked to move their account to. It names neither the account's
/// current address nor its holder, in case the address was mistyped and belongs to a stranger.
pub fn email_change_requested_customer(site: &Site, f: &EmailChangeRequested<'_>) -> Email {
    compose(
        site,
        Reader::Customer,
        "confirm your new email address",
        &[
            p(format!(
                "Someone (hopefully you) asked to use this address for a {} account.",
                site.name
            )),
            action(
                format!(
                    "To confirm, open this link within {} hours, signed in to {}",
                    f.hours, site.name
                ),
                f.link,
            ),
            p(
                "Until you do, we keep writing to the address you have now. If you did not ask for this, ignore this message: nothing changes.",
            ),
        ],
    )
}

pub struct EmailChanged<'a> {
    /// The address the account has now.
    pub new: &'a str,
    /// Where to write for help (the support address, or the shop's name).
    pub help: &'a str,
}

/// To the address an account had until its holder confirmed a new one.
pub fn email_changed_customer(site: &Site, f: &EmailChanged<'_>) -> Email {
    compose(
        site,
        Reader::Customer,
        "your email address was changed",
        &[
            p(format!(
                "The email address of your {} account is now {}. You sign in with it, and we write to it from now on; this is the last message to this address.",
                site.name, f.new
            )),
            p(format!(
                "If you made this change, there is nothing to do. If you did not, someone may know your password: write to {} at once.",
                f.help
            )),
            action("Your account", site.link("/account")),
        ],
    )
}

pub struct PasswordChanged<'a> {
    pub help: &'a str,
}

/// To an account holder whose password was changed while signed in.
pub fn password_changed_customer(site: &Site, f: &PasswordChanged<'_>) -> Email {
    compose(
        site,
        Reader::Customer,
        "your password was changed",
        &[
            p(format!(
                "The password of your {} account was changed. Every other device signed in to the account was signed out.",
                site.name
            )),
            p(format!(
                "If you made this change, there is nothing to do. If you did not, choose a new \
                 password at once and write to {}.",
                f.help
            )),
            action("Choose a new password", site.link("/password/forgot")),
        ],
    )
}
