//! What a signed-in user changes on their own account page (`/account`): name, email address
//! (confirmed by a link to the new address), password. Each change is one transaction with
//! its audit row and its email. See `docs/contract.md` for the routes.

use super::accounts::{NewSession, new_session};
use super::{Internal, Services, notify};
use crate::domain::account::{check_name, check_new_password};
use crate::domain::{EmailAddress, MailEvent};
use crate::secure;
use crate::store::audit::{self, Entry, Outcome};
use crate::store::sessions;
use crate::store::users::{self, User};

/// How long a link to confirm a new email address works.
pub const EMAIL_CHANGE_LIFETIME_SECS: i64 = 24 * 3600;
/// Confirmation links one account may have sent in an hour: each goes to an address the
/// portal does not know yet, so the form must not become a way to mail strangers.
pub const EMAIL_CHANGE_REQUESTS_PER_HOUR: i64 = 5;
/// Wrong current passwords one account may type into the account page in a quarter hour; a
/// stolen session must not become a way to guess the password.
pub const WRONG_PASSWORDS_PER_WINDOW: i64 = 5;
pub const WRONG_PASSWORD_WINDOW_SECS: i64 = 15 * 60;

const ACTION_NAME: &str = "name_change";
const ACTION_EMAIL_REQUEST: &str = "email_change_request";
const ACTION_EMAIL: &str = "email_change";
const ACTION_PASSWORD: &str = "password_change";

/// Where a customer writes when something is wrong, for emails.
fn help(s: &Services) -> String {
    match &s.config.support_email {
        Some(e) => e.to_string(),
        None => format!("{} support", s.config.site_name),
    }
}

fn entry<'a>(
    user: &'a User,
    action: &'a str,
    outcome: Outcome,
    detail: &'a str,
    address: &'a str,
) -> Entry<'a> {
    Entry {
        actor_id: Some(user.id),
        actor: &user.email,
        action,
        subject: &user.email,
        outcome,
        detail,
        address,
    }
}

// ---- name ----

#[derive(Debug)]
pub enum NameError {
    Invalid(&'static str),
    Internal(Internal),
}

internal_errors!(NameError);

/// Sets the user's display name (trimmed, 1 to 100 characters); returns it as stored.
pub fn change_name(
    s: &Services,
    user: &User,
    input: &str,
    address: &str,
) -> Result<String, NameError> {
    let name = check_name(input).map_err(NameError::Invalid)?;
    let now = s.now();
    super::change(s, now, |tx, r| {
        users::set_name(tx, user.id, &name)?;
        r.audit(&entry(user, ACTION_NAME, Outcome::Ok, "", address))?;
        Ok::<_, NameError>(())
    })?;
    Ok(name)
}

// ---- the current password, asked again before a change ----

/// Whether the user typed too many wrong current passwords lately.
fn too_many_wrong(tx: &crate::store::Tx<'_>, user: &User, now: i64) -> crate::store::Result<bool> {
    let since = now - WRONG_PASSWORD_WINDOW_SECS;
    let mut n = 0;
    for action in [ACTION_EMAIL_REQUEST, ACTION_PASSWORD] {
        n += audit::count_since(tx, user.id, action, Outcome::Failed, since)?;
    }
    Ok(n >= WRONG_PASSWORDS_PER_WINDOW)
}

enum Current {
    Right,
    Wrong,
    Throttled,
}

/// Checks the current password (after the limit on wrong ones), recording a wrong one under
/// `action` in a transaction of its own, which commits.
fn check_current(
    s: &Services,
    user: &User,
    password: &str,
    action: &str,
    address: &str,
) -> Result<Current, Internal> {
    let now = s.now();
    let (stored, throttled) = s.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            users::password_hash(tx, user.id)?.unwrap_or_default(),
            too_many_wrong(tx, user, now)?,
        ))
    })?;
    if throttled {
        return Ok(Current::Throttled);
    }
    if secure::verify_password(password, &stored) {
        return Ok(Current::Right);
    }
    super::change(s, now, |_, r| {
        r.audit(&entry(
            user,
            action,
            Outcome::Failed,
            "wrong current password",
            address,
        ))
    })?;
    Ok(Current::Wrong)
}

// ---- email ----

#[derive(Debug)]
pub enum EmailRequestError {
    /// Field name (`email` or `password`) → message.
    Invalid(&'static str, String),
    /// Another account has the address. Sign-up says as much to anyone, so the page may too.
    Taken,
    Throttled,
    Internal(Internal),
}

internal_errors!(EmailRequestError);

/// The message a confirmation link's MAC covers: the account, the new address, the expiry
/// and the address the account has now. Once the address changes the link stops verifying,
/// and a change confirmed after it was sent spends it too (see `confirm_email_change`), so it
/// works once; it carries its own expiry, so nothing is stored.
fn email_change_message(user_id: i64, expires: i64, new: &str, current: &str) -> String {
    format!("email-change:{user_id}:{expires}:{new}:{current}")
}

/// A confirmation token: `{user id}.{expiry}.{new address, hex}.{HMAC}`.
pub fn email_change_token(
    key: &[u8],
    user_id: i64,
    expires: i64,
    new: &EmailAddress,
    current: &str,
) -> String {
    let mac = secure::mac(
        key,
        &email_change_message(user_id, expires, new.as_str(), current),
    );
    format!(
        "{user_id}.{expires}.{}.{mac}",
        secure::hex(new.as_str().as_bytes())
    )
}

/// A token's parts, unverified.
struct EmailChangeToken {
    user_id: i64,
    expires: i64,
    new: EmailAddress,
    mac: String,
}

fn parse_token(token: &str) -> Option<EmailChangeToken> {
    let mut parts = token.splitn(4, '.');
    let user_id = parts.next()?.parse().ok()?;
    let expires = parts.next()?.parse().ok()?;
    let new = String::from_utf8(secure::unhex(parts.next()?)?).ok()?;
    let new = EmailAddress::parse(&new).ok()?;
    Some(EmailChangeToken {
        user_id,
        expires,
        new,
        mac: parts.next()?.to_string(),
    })
}

/// Checks the password and sends a confirmation link to the new address; nothing changes
/// until it is opened. Returns the new address as it will be stored.
pub fn request_email_change(
    s: &Services,
    user: &User,
    email_input: &str,
    password: &str,
    address: &str,
) -> Result<EmailAddress, EmailRequestError> {
    let new = EmailAddress::parse(email_input)
        .map_err(|m| EmailRequestError::Invalid("email", m.to_string()))?;
    if new.as_str() == user.email {
        return Err(EmailRequestError::Invalid(
            "email",
            "That is already your email address.".into(),
        ));
    }
    match check_current(s, user, password, ACTION_EMAIL_REQUEST, address)? {
        Current::Right => {}
        Current::Wrong => {
            return Err(EmailRequestError::Invalid(
                "password",
                "That is not your current password.".into(),
            ));
        }
        Current::Throttled => return Err(EmailRequestError::Throttled),
    }
    let key = s.store.signing_key()?;
    let now = s.now();
    let expires = now + EMAIL_CHANGE_LIFETIME_SECS;
    super::change(s, now, |tx, r| {
        if users::by_email(tx, &new)?.is_some() {
            return Err(EmailRequestError::Taken);
        }
        if audit::count_since(tx, user.id, ACTION_EMAIL_REQUEST, Outcome::Ok, now - 3600)?
            >= EMAIL_CHANGE_REQUESTS_PER_HOUR
        {
            return Err(EmailRequestError::Throttled);
        }
        let token = email_change_token(&key, user.id, expires, &new, &user.email);
        let link = format!("{}/account/email/confirm?token={token}", s.public_url);
        r.email(
            MailEvent::EmailChangeRequested,
            new.as_str(),
            &crate::emails::access::email_change_requested_customer(
                &notify::site(s),
                &crate::emails::access::EmailChangeRequested {
                    link: &link,
                    hours: EMAIL_CHANGE_LIFETIME_SECS / 3600,
                },
            ),
        )?;
        let detail = format!("confirmation link sent to {new}");
        r.audit(&entry(
            user,
            ACTION_EMAIL_REQUEST,
            Outcome::Ok,
            &detail,
            address,
        ))?;
        Ok(())
    })?;
    Ok(new)
}

#[derive(Debug)]
pub enum ConfirmError {
    /// Forged, mangled, or spent: the account's address is no longer the one it was made for.
    Invalid,
    /// Genuine but past its time.
    Expired,
    /// Made for another account than the one signed in.
    OtherAccount,
    /// Another account took the address after the link was sent.
    Taken(EmailAddress),
    Internal(Internal),
}

internal_errors!(ConfirmError);

/// Opens a confirmation link as the signed-in `user`: the address changes, the old address
/// is told, and reset links sent to the old address stop working.
pub fn confirm_email_change(
    s: &Services,
    user: &User,
    token: &str,
    address: &str,
) -> Result<EmailAddress, ConfirmError> {
    let t = parse_token(token).ok_or(ConfirmError::Invalid)?;
    if t.user_id != user.id {
        return Err(ConfirmError::OtherAccount);
    }
    let key = s.store.signing_key()?;
    let now = s.now();
    let changed = super::change(s, now, |tx, r| {
        // The address as it is now, not as the session read it.
        let Some(fresh) = users::by_id(tx, user.id)? else {
            return Err(ConfirmError::Invalid);
        };
        let message = email_change_message(user.id, t.expires, t.new.as_str(), &fresh.email);
        if !secure::mac_matches(&key, &message, &t.mac) {
            return Err(ConfirmError::Invalid);
        }
        if t.expires <= now {
            return Err(ConfirmError::Expired);
        }
        // Spent: the address changed after the link was sent. (The MAC alone would let a link
        // work again once the account moved away from the address it was made for and back.)
        let sent = t.expires - EMAIL_CHANGE_LIFETIME_SECS;
        if audit::count_since(tx, user.id, ACTION_EMAIL, Outcome::Ok, sent)? > 0 {
            return Err(ConfirmError::Invalid);
        }
        if users::by_email(tx, &t.new)?.is_some() {
            r.audit(&entry(
                &fresh,
                ACTION_EMAIL,
                Outcome::Refused,
                "the new address has another account",
                address,
            ))?;
            return Ok(None);
        }
        if !users::set_email(tx, user.id, &fresh.email, &t.new)? {
            return Err(ConfirmError::Invalid);
        }
        users::spend_resets(tx, user.id, now)?;
        let detail = format!("from {}", fresh.email);
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: t.new.as_str(),
            action: ACTION_EMAIL,
            subject: t.new.as_str(),
            outcome: Outcome::Ok,
            detail: &detail,
            address,
        })?;
        r.email(
            MailEvent::EmailChanged,
            &fresh.email,
            &crate::emails::access::email_changed_customer(
                &notify::site(s),
                &crate::emails::access::EmailChanged {
                    new: t.new.as_str(),
                    help: &help(s),
                },
            ),
        )?;
        Ok(Some(()))
    })?;
    match changed {
        Some(()) => Ok(t.new),
        None => Err(ConfirmError::Taken(t.new)),
    }
}

// ---- password ----

#[derive(Debug)]
pub enum PasswordError {
    WrongCurrent,
    Throttled,
    WeakPassword(String),
    /// The confirmation differs from the new password.
    Mismatch,
    Internal(Internal),
}

internal_errors!(PasswordError);

/// Changes a signed-in user's password: every session ends and a new one replaces the
/// current one (returned); the account holder is emailed. `confirm`, when the form sent one,
/// must equal `new`.
pub fn change_password(
    s: &Services,
    user: &User,
    current: &str,
    new: &str,
    confirm: Option<&str>,
    address: &str,
) -> Result<NewSession, PasswordError> {
    match check_current(s, user, current, ACTION_PASSWORD, address)? {
        Current::Right => {}
        Current::Wrong => return Err(PasswordError::WrongCurrent),
        Current::Throttled => return Err(PasswordError::Throttled),
    }
    let email = EmailAddress::parse(&user.email).ok();
    check_new_password(new, email.as_ref()).map_err(PasswordError::WeakPassword)?;
    if confirm.is_some_and(|c| c != new) {
        return Err(PasswordError::Mismatch);
    }
    let hash = secure::hash_password(new).map_err(|e| PasswordError::Internal(Internal(e)))?;
    let now = s.now();
    let session = super::change(s, now, |tx, r| {
        users::set_password(tx, user.id, &hash, now)?;
        sessions::delete_for_user(tx, user.id, None)?;
        r.audit(&entry(
            user,
            ACTION_PASSWORD,
            Outcome::Ok,
            "all sessions ended",
            address,
        ))?;
        r.email(
            MailEvent::PasswordChanged,
            &user.email,
            &crate::emails::access::password_changed_customer(
                &notify::site(s),
                &crate::emails::access::PasswordChanged { help: &help(s) },
            ),
        )?;
        let token = new_session(s, tx, user, address).map_err(PasswordError::Internal)?;
        Ok::<_, PasswordError>(NewSession {
            token,
            user: user.clone(),
        })
    })?;
    Ok(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_name_their_parts() {
        let new = EmailAddress::parse("New@Example.com").unwrap();
        let t = email_change_token(b"key", 7, 1000, &new, "old@example.com");
        let p = parse_token(&t).unwrap();
        assert_eq!((p.user_id, p.expires), (7, 1000));
        assert_eq!(p.new.as_str(), "new@example.com");
        let m = email_change_message(7, 1000, "new@example.com", "old@example.com");
        assert!(secure::mac_matches(b"key", &m, &p.mac));
        // Once the address is another, the same link no longer verifies.
        let after = email_change_message(7, 1000, "new@example.com", "new@example.com");
        assert!(!secure::mac_matches(b"key", &after, &p.mac));
        for bad in ["", "7", "7.1000", "7.1000.zz.00", "x.1000.6e.00"] {
            assert!(parse_token(bad).is_none(), "{bad:?}");
        }
    }
}
