//! Sign-up, sign-in with throttling, sessions, password reset. Changes a signed-in user makes
//! to their own account are in `profile`.

use super::{Internal, Services, notify};
use crate::domain::account::{check_name, check_new_password};
use crate::domain::{EmailAddress, MailEvent, Role};
use crate::secure;
use crate::store::audit::{Entry, Outcome};
use crate::store::sessions::{self, FailureScope};
use crate::store::users::{self, User};

/// A session lives at most this long…
pub const SESSION_LIFETIME_SECS: i64 = 7 * 24 * 3600;
/// …and ends sooner when unused for this long.
pub const SESSION_IDLE_SECS: i64 = 24 * 3600;
/// Activity is written back at most this often, to keep page views read-only.
const TOUCH_EVERY_SECS: i64 = 300;

/// Failed sign-ins are counted over this window (OWASP's scheme: throttle each account and
/// client, and keep browsers that signed in before out of the account's lockout).
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
/// One account from one client (address or device cookie) may fail this often freely; each
/// further failure doubles the wait before the next attempt, from `FIRST_DELAY_SECS` up to
/// the whole window.
pub const CLIENT_FREE_FAILURES: i64 = 3;
pub const FIRST_DELAY_SECS: i64 = 30;
/// Failures for one account from clients without its device cookie, from any address, after
/// which such clients are refused for the window (a botnet guessing one password); the
/// owner's browsers with a device cookie are not.
pub const ACCOUNT_FAILURE_LIMIT: i64 = 50;
/// Failures from one address across accounts, after which that address is refused for the
/// window unless the browser has a device cookie for the account (high, because an office
/// or a carrier's NAT puts many people behind one address).
pub const ADDRESS_FAILURE_LIMIT: i64 = 100;

pub const RESET_LIFETIME_SECS: i64 = 3600;

/// A freshly made session; the token goes into the cookie and nowhere else.
pub struct NewSession {
    pub token: String,
    pub user: User,
}

pub(crate) fn new_session(
    s: &Services,
    tx: &crate::store::Tx<'_>,
    user: &User,
    address: &str,
) -> Result<String, Internal> {
    let token = secure::random_token().map_err(Internal)?;
    let now = s.now();
    sessions::create(
        tx,
        &secure::token_digest(&token),
        user.id,
        now,
        now + SESSION_LIFETIME_SECS,
        address,
    )?;
    Ok(token)
}

/// The user behind a session cookie, if the session is alive.
pub fn current_user(s: &Services, token: &str) -> Result<Option<User>, Internal> {
    let digest = secure::token_digest(token);
    let now = s.now();
    let found = s
        .store
        .read(|tx| sessions::lookup(tx, &digest, now, SESSION_IDLE_SECS))?;
    match found {
        Some((user, last_seen)) => {
            if now - last_seen >= TOUCH_EVERY_SECS {
                s.store.write(|tx| sessions::touch(tx, &digest, now))?;
            }
            Ok(Some(user))
        }
        None => Ok(None),
    }
}

#[derive(Debug)]
pub enum SignupError {
    /// Field name → message.
    Invalid(Vec<(&'static str, String)>),
    /// The email already has an account: the page offers to sign in or reset the password.
    Exists,
    Internal(Internal),
}

internal_errors!(SignupError);

pub struct SignupInput<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub password: &'a str,
}

/// Creates a customer account and signs it in.
pub fn signup(
    s: &Services,
    input: &SignupInput<'_>,
    address: &str,
) -> Result<NewSession, SignupError> {
    let mut errors = Vec::new();
    let email = EmailAddress::parse(input.email)
        .map_err(|m| errors.push(("email", m.to_string())))
        .ok();
    let name = check_name(input.name)
        .map_err(|m| errors.push(("name", m.to_string())))
        .ok();
    if let Err(m) = check_new_password(input.password, email.as_ref()) {
        errors.push(("password", m));
    }
    let (Some(email), Some(name)) = (email, name) else {
        return Err(SignupError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(SignupError::Invalid(errors));
    }
    let hash = secure::hash_password(input.password).map_err(Internal)?;
    let now = s.now();
    super::change(s, now, |tx, r| {
        if users::by_email(tx, &email)?.is_some() {
            return Err(SignupError::Exists);
        }
        let id = users::insert(tx, &email, &name, Role::Customer, &hash, now)?;
        let user = users::by_id(tx, id)?.ok_or_else(|| Internal("new user vanished".into()))?;
        r.audit(&Entry {
            actor_id: Some(id),
            actor: email.as_str(),
            action: "signup",
            subject: email.as_str(),
            outcome: Outcome::Ok,
            detail: "",
            address,
        })?;
        let token = new_session(s, tx, &user, address)?;
        Ok(NewSession { token, user })
    })
}

#[derive(Debug)]
pub enum LoginError {
    /// Wrong email or password (deliberately not saying which).
    Invalid,
    /// Too many recent failures; try again after this many minutes.
    Throttled {
        minutes: i64,
    },
    Internal(Internal),
}

internal_errors!(LoginError);

/// Who is signing in, as far as throttling goes.
#[derive(Debug, Clone, Copy)]
pub struct SignInClient<'a> {
    /// The client's address.
    pub address: &'a str,
    /// The account id and nonce of a device cookie whose signature the caller checked (the
    /// cookie a browser gets when it signs in successfully).
    pub device: Option<(i64, &'a str)>,
}

/// How long the `n`th failure of one account from one client makes it wait.
pub(crate) fn client_delay(failures: i64) -> i64 {
    if failures < CLIENT_FREE_FAILURES {
        return 0;
    }
    let doublings = u32::try_from(failures - CLIENT_FREE_FAILURES).unwrap_or(u32::MAX);
    FIRST_DELAY_SECS
        .saturating_mul(2_i64.saturating_pow(doublings))
        .min(THROTTLE_WINDOW_SECS)
}

/// What a right password leads to.
pub enum SignedIn {
    /// A new session.
    Session(NewSession),
    /// The account has two-factor sign-in on: no session until the second step.
    SecondStep(User),
}

/// Checks the password and starts a new session, or asks for the second factor. `old_token`
/// is the session being replaced, if any (sessions are rotated at sign-in).
pub fn login(
    s: &Services,
    email_input: &str,
    password: &str,
    client: SignInClient<'_>,
    old_token: Option<&str>,
) -> Result<SignedIn, LoginError> {
    let now = s.now();
    let since = now - THROTTLE_WINDOW_SECS;
    let address = client.address;
    let email = EmailAddress::parse(email_input).ok();
    let account_key = email
        .as_ref()
        .map_or_else(|| email_input.trim().to_lowercase(), |e| e.to_string());

    let found = s.store.read(|tx| match &email {
        Some(e) => users::by_email(tx, e),
        None => Ok(None),
    })?;
    // A device cookie counts only for the account it was issued to.
    let device = client
        .device
        .filter(|(id, _)| found.as_ref().is_some_and(|(u, _)| u.id == *id))
        .map(|(_, nonce)| nonce);
    let client_key = match device {
        Some(nonce) => format!("{account_key} device:{nonce}"),
        None => format!("{account_key} address:{address}"),
    };
    let (pair, account, from_address) = s.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            sessions::failures_since(tx, FailureScope::AccountClient, &client_key, since)?,
            sessions::failures_since(tx, FailureScope::Account, &account_key, since)?,
            sessions::failures_since(tx, FailureScope::Address, address, since)?,
        ))
    })?;
    let mut locks = vec![pair.latest.map(|t| t + client_delay(pair.count))];
    if device.is_none() {
        for (f, limit) in [
            (account, ACCOUNT_FAILURE_LIMIT),
            (from_address, ADDRESS_FAILURE_LIMIT),
        ] {
            if f.count >= limit {
                locks.push(f.oldest.map(|t| t + THROTTLE_WINDOW_SECS));
            }
        }
    }
    let locked_until = locks.into_iter().flatten().filter(|t| *t > now).max();
    if let Some(until) = locked_until {
        super::change(s, now, |_, r| {
            r.audit(&Entry {
                actor_id: found.as_ref().map(|(u, _)| u.id),
                actor: &account_key,
                action: "login",
                subject: &account_key,
                outcome: Outcome::Refused,
                detail: "throttled after repeated failures",
                address,
            })
        })?;
        let minutes = ((until - now) + 59) / 60;
        return Err(LoginError::Throttled {
            minutes: minutes.max(1),
        });
    }

    // Verify against a dummy hash when there is no such account, so timing reveals nothing.
    let ok = match &found {
        Some((_, hash)) => secure::verify_password(password, hash),
        None => {
            let _ = secure::verify_password(password, secure::dummy_password_hash());
            false
        }
    };

    // A failed attempt must be recorded, so it commits rather than rolling back with an error.
    let session = super::change(s, now, |tx, r| {
        let Some((user, _)) = found.as_ref().filter(|_| ok) else {
            sessions::record_failure(tx, FailureScope::AccountClient, &client_key, now)?;
            // A browser with the account's device cookie counts only against itself.
            if device.is_none() {
                sessions::record_failure(tx, FailureScope::Account, &account_key, now)?;
                sessions::record_failure(tx, FailureScope::Address, address, now)?;
            }
            r.audit(&Entry {
                actor_id: found.as_ref().map(|(u, _)| u.id),
                actor: &account_key,
                action: "login",
                subject: &account_key,
                outcome: Outcome::Failed,
                detail: "wrong email or password",
                address,
            })?;
            return Ok(None);
        };
        // Only this client's count is cleared: the owner signing in must not reset what a
        // botnet has run up against the account.
        sessions::clear_failures(tx, FailureScope::AccountClient, &client_key)?;
        if user.two_factor {
            r.audit(&Entry {
                actor_id: Some(user.id),
                actor: &user.email,
                action: "login",
                subject: &user.email,
                outcome: Outcome::Ok,
                detail: "password right; second step asked for",
                address,
            })?;
            return Ok(Some(SignedIn::SecondStep(user.clone())));
        }
        if let Some(old) = old_token {
            sessions::delete(tx, &secure::token_digest(old))?;
        }
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "login",
            subject: &user.email,
            outcome: Outcome::Ok,
            detail: "",
            address,
        })?;
        let token = new_session(s, tx, user, address)?;
        Ok::<_, LoginError>(Some(SignedIn::Session(NewSession {
            token,
            user: user.clone(),
        })))
    })?;
    session.ok_or(LoginError::Invalid)
}

pub fn logout(s: &Services, token: &str) -> Result<(), Internal> {
    let digest = secure::token_digest(token);
    s.store.write(|tx| sessions::delete(tx, &digest))?;
    Ok(())
}

/// Reset links sent to one account in an hour, at most.
pub const RESET_MAILS_PER_HOUR: i64 = 3;

/// Sends a reset link if the account exists. The caller shows the same answer either way.
pub fn request_reset(s: &Services, email_input: &str, address: &str) -> Result<(), Internal> {
    let Ok(email) = EmailAddress::parse(email_input) else {
        return Ok(());
    };
    let token = secure::random_token().map_err(Internal)?;
    let now = s.now();
    super::change(s, now, |tx, r| {
        let Some((user, _)) = users::by_email(tx, &email)? else {
            r.audit(&Entry {
                actor_id: None,
                actor: email.as_str(),
                action: "password_reset_request",
                subject: email.as_str(),
                outcome: Outcome::Refused,
                detail: "no such account",
                address,
            })?;
            return Ok::<_, crate::store::Error>(false);
        };
        // However often it is asked for, one address gets a few links an hour: the asker
        // sees the same answer, and the owner's mailbox is not flooded.
        if users::resets_since(tx, user.id, now - 3600)? >= RESET_MAILS_PER_HOUR {
            r.audit(&Entry {
                actor_id: Some(user.id),
                actor: &user.email,
                action: "password_reset_request",
                subject: &user.email,
                outcome: Outcome::Refused,
                detail: "too many links asked for within an hour; none sent",
                address,
            })?;
            return Ok(false);
        }
        users::create_reset(
            tx,
            user.id,
            &secure::token_digest(&token),
            now,
            now + RESET_LIFETIME_SECS,
        )?;
        let link = format!("{}/password/reset?token={token}", s.public_url);
        r.email(
            MailEvent::PasswordReset,
            &user.email,
            &crate::emails::access::password_reset_customer(
                &notify::site(s),
                &crate::emails::access::PasswordReset {
                    link: &link,
                    minutes: RESET_LIFETIME_SECS / 60,
                },
            ),
        )?;
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "password_reset_request",
            subject: &user.email,
            outcome: Outcome::Ok,
            detail: "reset link emailed",
            address,
        })?;
        Ok(true)
    })?;
    Ok(())
}

pub fn reset_token_usable(s: &Services, token: &str) -> Result<bool, Internal> {
    let digest = secure::token_digest(token);
    let now = s.now();
    Ok(s.store.read(|tx| users::reset_usable(tx, &digest, now))?)
}

#[derive(Debug)]
pub enum ResetError {
    /// The link was used already, expired, or never existed.
    BadToken,
    WeakPassword(String),
    Internal(Internal),
}

internal_errors!(ResetError);

/// Sets a new password with a reset token. Every session of the user ends.
pub fn reset_password(
    s: &Services,
    token: &str,
    password: &str,
    address: &str,
) -> Result<User, ResetError> {
    check_new_password(password, None).map_err(ResetError::WeakPassword)?;
    let hash = secure::hash_password(password).map_err(|e| ResetError::Internal(Internal(e)))?;
    let digest = secure::token_digest(token);
    let now = s.now();
    super::change(s, now, |tx, r| {
        let Some(uid) = users::take_reset(tx, &digest, now)? else {
            return Err(ResetError::BadToken);
        };
        let user = users::by_id(tx, uid)?.ok_or(ResetError::BadToken)?;
        users::set_password(tx, uid, &hash, now)?;
        sessions::delete_for_user(tx, uid, None)?;
        sessions::clear_failures(tx, FailureScope::Account, &user.email)?;
        r.audit(&Entry {
            actor_id: Some(uid),
            actor: &user.email,
            action: "password_reset",
            subject: &user.email,
            outcome: Outcome::Ok,
            detail: "all sessions ended",
            address,
        })?;
        Ok(user)
    })
}

/// Creates a user from the command line (`didport user add`).
pub fn add_user(
    s: &Services,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> Result<User, String> {
    let email = EmailAddress::parse(email).map_err(|m| format!("--email: {m}"))?;
    check_new_password(password, Some(&email))?;
    let name = name.trim();
    let hash = secure::hash_password(password)?;
    let now = s.now();
    super::change(s, now, |tx, r| {
        if users::by_email(tx, &email)?.is_some() {
            return Ok(None);
        }
        let id = users::insert(tx, &email, name, role, &hash, now)?;
        r.audit(&Entry {
            actor_id: None,
            actor: "command line",
            action: "user_add",
            subject: email.as_str(),
            outcome: Outcome::Ok,
            detail: role.as_str(),
            address: "",
        })?;
        users::by_id(tx, id)
    })
    .map_err(|e: crate::store::Error| e.to_string())?
    .ok_or_else(|| format!("a user with the email {email} already exists"))
}
