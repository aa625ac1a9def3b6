//! Sign-in sessions and the failed sign-in counters behind login throttling.

use rusqlite::{OptionalExtension, params};

use super::users::{User, from_row};
use super::{Result, Tx};

pub fn create(
    tx: &Tx<'_>,
    token_hash: &str,
    user_id: i64,
    now: i64,
    expires_at: i64,
    address: &str,
) -> Result<()> {
    tx.execute(
        "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at, address)
         VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
        params![token_hash, user_id, now, expires_at, address],
    )?;
    Ok(())
}

/// The signed-in user and the session's last activity, if the session is alive: not past its
/// expiry and used within `idle_secs`.
pub fn lookup(
    tx: &Tx<'_>,
    token_hash: &str,
    now: i64,
    idle_secs: i64,
) -> Result<Option<(User, i64)>> {
    Ok(tx
        .query_row(
            "SELECT u.id, u.email, u.name, u.role, u.telinta_customer, u.created_at,
                    u.totp_secret IS NOT NULL, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND s.last_seen_at > ?2 - ?3",
            params![token_hash, now, idle_secs],
            |r| Ok((from_row(r, 0)?, r.get(7)?)),
        )
        .optional()?)
}

pub fn touch(tx: &Tx<'_>, token_hash: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1",
        params![token_hash, now],
    )?;
    Ok(())
}

pub fn delete(tx: &Tx<'_>, token_hash: &str) -> Result<()> {
    tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [token_hash])?;
    Ok(())
}

/// Ends every session of a user (after a password change), keeping `except` if given.
pub fn delete_for_user(tx: &Tx<'_>, user_id: i64, except: Option<&str>) -> Result<usize> {
    Ok(tx.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND token_hash IS NOT ?2",
        params![user_id, except],
    )?)
}

pub fn count_for_user(tx: &Tx<'_>, user_id: i64) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM sessions WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

/// Housekeeping: drops dead sessions, spent reset tokens and old failure counters.
pub fn purge(tx: &Tx<'_>, now: i64, idle_secs: i64, keep_failures_secs: i64) -> Result<usize> {
    let mut n = tx.execute(
        "DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen_at <= ?1 - ?2",
        params![now, idle_secs],
    )?;
    n += tx.execute(
        "DELETE FROM password_resets WHERE expires_at <= ?1 - 86400",
        [now],
    )?;
    n += tx.execute(
        "DELETE FROM login_failures WHERE at <= ?1 - ?2",
        params![now, keep_failures_secs],
    )?;
    Ok(n)
}

#[derive(Debug, Clone, Copy)]
pub enum FailureScope {
    /// One account, from any client.
    Account,
    /// One client address, for any account.
    Address,
    /// One account from one client (an address, or a browser's device cookie).
    AccountClient,
}

impl FailureScope {
    fn as_str(self) -> &'static str {
        match self {
            FailureScope::Account => "account",
            FailureScope::Address => "address",
            FailureScope::AccountClient => "account_client",
        }
    }
}

pub fn record_failure(tx: &Tx<'_>, scope: FailureScope, key: &str, now: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO login_failures (scope, key, at) VALUES (?1, ?2, ?3)",
        params![scope.as_str(), key, now],
    )?;
    Ok(())
}

/// Failures since `since`, with the times of the oldest and the latest of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub oldest: Option<i64>,
    pub latest: Option<i64>,
}

pub fn failures_since(tx: &Tx<'_>, scope: FailureScope, key: &str, since: i64) -> Result<Failures> {
    Ok(tx.query_row(
        "SELECT count(*), min(at), max(at) FROM login_failures
         WHERE scope = ?1 AND key = ?2 AND at > ?3",
        params![scope.as_str(), key, since],
        |r| {
            Ok(Failures {
                count: r.get(0)?,
                oldest: r.get(1)?,
                latest: r.get(2)?,
            })
        },
    )?)
}

pub fn clear_failures(tx: &Tx<'_>, scope: FailureScope, key: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM login_failures WHERE scope = ?1 AND key = ?2",
        params![scope.as_str(), key],
    )?;
    Ok(())
}

/// Whether any session row exists for the token (alive or not); for tests and diagnostics.
pub fn exists(tx: &Tx<'_>, token_hash: &str) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM sessions WHERE token_hash = ?1",
            [token_hash],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}
