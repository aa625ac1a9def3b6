//! Signing in: the password reset link.

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
