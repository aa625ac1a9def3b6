//! Two-factor sign-in (TOTP, RFC 6238): enrolment confirmed by a first code, ten single-use
//! recovery codes stored as digests, the second step of sign-in (throttled like the password),
//! and the operator's reset. Secrets and codes never reach a log line or an audit row.

use super::accounts::{self, LoginError, NewSession, THROTTLE_WINDOW_SECS};
use super::{Internal, Services};
use crate::domain::EmailAddress;
use crate::domain::totp::{SECRET_BYTES, TotpSecret};
use crate::secure;
use crate::store::audit::{Entry, Outcome};
use crate::store::sessions::{self, FailureScope};
use crate::store::users::{self, User};

/// Recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;
/// Wrong codes for one account, from any address, after which the code step is refused for
/// the throttle window: whoever gets this far has the password, and spreading guesses over
/// many addresses must not add up to a fair chance at a 6-digit code.
pub const SECOND_STEP_ACCOUNT_LIMIT: i64 = 10;

/// The secret to show for enrolment: the pending one if there is one, so that reloading the
/// page does not invalidate what the user already scanned.
pub fn enrolment_secret(s: &Services, user: &User) -> Result<TotpSecret, Internal> {
    if let Some(secret) = s
        .store
        .read(|tx| users::totp_pending(tx, user.id))?
        .as_deref()
        .and_then(TotpSecret::from_hex)
    {
        return Ok(secret);
    }
    let secret = TotpSecret::from_bytes(secure::random_bytes(SECRET_BYTES).map_err(Internal)?)
        .ok_or_else(|| Internal("a new TOTP secret was too short".into()))?;
    s.store
        .write(|tx| users::set_totp_pending(tx, user.id, &secret.to_hex()))?;
    Ok(secret)
}

#[derive(Debug)]
pub enum EnrolError {
    /// The code is not the current one for the secret shown.
    WrongCode,
    /// Two-factor is already on.
    AlreadyOn,
    Internal(Internal),
}

internal_errors!(EnrolError);

/// Turns two-factor on once the user typed the current code for the secret shown, and returns
/// the recovery codes (shown once, then only their digests remain).
pub fn confirm_enrolment(
    s: &Services,
    user: &User,
    code: &str,
    address: &str,
) -> Result<Vec<String>, EnrolError> {
    if user.two_factor {
        return Err(EnrolError::AlreadyOn);
    }
    let now = s.now();
    let pending = s.store.read(|tx| users::totp_pending(tx, user.id))?;
    let Some((hex, secret)) =
        pending.and_then(|h| TotpSecret::from_hex(&h).map(|secret| (h, secret)))
    else {
        return Err(EnrolError::WrongCode);
    };
    let Some(step) = secret.check(code, now) else {
        return Err(EnrolError::WrongCode);
    };
    let codes = (0..RECOVERY_CODES)
        .map(|_| new_recovery_code())
        .collect::<Result<Vec<_>, _>>()?;
    let digests: Vec<String> = codes.iter().map(|c| recovery_digest(c)).collect();
    let enabled = super::change(s, now, |tx, r| {
        let enabled = users::enable_totp(tx, user.id, &hex, step, &digests)?;
        if enabled {
            r.audit(&Entry {
                actor_id: Some(user.id),
                actor: &user.email,
                action: "two_factor_enabled",
                subject: &user.email,
                outcome: Outcome::Ok,
                detail: "",
                address,
            })?;
        }
        Ok::<_, crate::store::Error>(enabled)
    })?;
    if enabled {
        Ok(codes)
    } else {
        Err(EnrolError::WrongCode)
    }
}

/// `abcd-ef01-2345-6789`: 64 random bits.
fn new_recovery_code() -> Result<String, Internal> {
    let hex = secure::hex(&secure::random_bytes(8).map_err(Internal)?);
    Ok(format!(
        "{}-{}-{}-{}",
        &hex[0..4],
        &hex[4..8],
        &hex[8..12],
        &hex[12..16]
    ))
}

/// The digest stored for a recovery code, as typed in any case, with or without dashes.
fn recovery_digest(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    secure::token_digest(&format!("recovery:{normal}"))
}

/// The second step of sign-in: a current TOTP code (each accepted once) or an unused
/// recovery code, then a new session. Failures are throttled per account and client with
/// the same growing delays as passwords. `old_token` is the session being replaced.
pub fn second_step(
    s: &Services,
    user_id: i64,
    code: &str,
    address: &str,
    old_token: Option<&str>,
) -> Result<NewSession, LoginError> {
    let now = s.now();
    let Some(user) = s.store.read(|tx| users::by_id(tx, user_id))? else {
        return Err(LoginError::Invalid);
    };
    let key = format!("{} second-step:{address}", user.email);
    let account_key = format!("{} second-step", user.email);
    let since = now - THROTTLE_WINDOW_SECS;
    let (fails, account_fails) = s.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            sessions::failures_since(tx, FailureScope::AccountClient, &key, since)?,
            sessions::failures_since(tx, FailureScope::Account, &account_key, since)?,
        ))
    })?;
    let client_until = fails
        .latest
        .map(|t| t + accounts::client_delay(fails.count));
    let account_until = account_fails
        .oldest
        .filter(|_| account_fails.count >= SECOND_STEP_ACCOUNT_LIMIT)
        .map(|t| t + THROTTLE_WINDOW_SECS);
    if let Some(until) = [client_until, account_until]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .max()
    {
        return Err(LoginError::Throttled {
            minutes: ((until - now + 59) / 60).max(1),
        });
    }
    let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    let totp_step = if digits.len() == crate::domain::totp::DIGITS as usize {
        let secret = s.store.read(|tx| users::totp(tx, user.id))?;
        secret.and_then(|(hex, _)| TotpSecret::from_hex(&hex)?.check(&digits, now))
    } else {
        None
    };
    let session = super::change(s, now, |tx, r| {
        let (ok, how) = match totp_step {
            Some(step) => (users::use_totp_step(tx, user.id, step)?, "code"),
            None => (
                users::use_recovery_code(tx, user.id, &recovery_digest(code), now)?,
                "recovery code",
            ),
        };
        let outcome = if ok { Outcome::Ok } else { Outcome::Failed };
        let detail = format!("second step with a {how}");
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "login_second_step",
            subject: &user.email,
            outcome,
            detail: if ok { &detail } else { "wrong or used code" },
            address,
        })?;
        if !ok {
            sessions::record_failure(tx, FailureScope::AccountClient, &key, now)?;
            sessions::record_failure(tx, FailureScope::Account, &account_key, now)?;
            return Ok(None);
        }
        sessions::clear_failures(tx, FailureScope::AccountClient, &key)?;
        if let Some(old) = old_token {
            sessions::delete(tx, &secure::token_digest(old))?;
        }
        let token = accounts::new_session(s, tx, &user, address)?;
        Ok::<_, LoginError>(Some(NewSession {
            token,
            user: user.clone(),
        }))
    })?;
    session.ok_or(LoginError::Invalid)
}

/// Unused recovery codes of a user.
pub fn recovery_codes_left(s: &Services, user: &User) -> Result<i64, Internal> {
    Ok(s.store.read(|tx| users::recovery_codes_left(tx, user.id))?)
}

/// Turns two-factor off for the account with this email (`didport user reset-2fa`), for an
/// operator who lost the device. False when there is no such account.
pub fn reset(s: &Services, email: &EmailAddress) -> Result<bool, Internal> {
    let now = s.now();
    Ok(super::change(s, now, |tx, r| {
        let Some((user, _)) = users::by_email(tx, email)? else {
            return Ok::<_, crate::store::Error>(false);
        };
        users::reset_totp(tx, user.id)?;
        r.audit(&Entry {
            actor_id: None,
            actor: "command line",
            action: "two_factor_reset",
            subject: &user.email,
            outcome: Outcome::Ok,
            detail: "",
            address: "",
        })?;
        Ok(true)
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_read_in_any_case_with_or_without_dashes() {
        let code = new_recovery_code().unwrap();
        assert_eq!(code.len(), 19);
        let d = recovery_digest(&code);
        assert_eq!(recovery_digest(&code.to_uppercase()), d);
        assert_eq!(recovery_digest(&code.replace('-', "")), d);
        assert_eq!(recovery_digest(&format!(" {code} ")), d);
        assert_ne!(recovery_digest(&new_recovery_code().unwrap()), d);
    }
}
