//! Users, their password reset tokens, and their two-factor secrets and recovery codes.

use rusqlite::{OptionalExtension, params};

use super::{Result, Tx};
use crate::domain::{EmailAddress, Role};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub telinta_customer: Option<i64>,
    pub created_at: i64,
    /// Whether sign-in asks for a TOTP code after the password.
    pub two_factor: bool,
}

const COLUMNS: &str =
    "id, email, name, role, telinta_customer, created_at, totp_secret IS NOT NULL";

pub(crate) fn from_row(r: &rusqlite::Row<'_>, offset: usize) -> rusqlite::Result<User> {
    let role: String = r.get(offset + 3)?;
    Ok(User {
        id: r.get(offset)?,
        email: r.get(offset + 1)?,
        name: r.get(offset + 2)?,
        role: Role::parse(&role).unwrap_or(Role::Customer),
        telinta_customer: r.get(offset + 4)?,
        created_at: r.get(offset + 5)?,
        two_factor: r.get(offset + 6)?,
    })
}

/// Inserts a user; a duplicate email is a constraint error (`Error::is_constraint`).
pub fn insert(
    tx: &Tx<'_>,
    email: &EmailAddress,
    name: &str,
    role: Role,
    password_hash: &str,
    now: i64,
) -> Result<i64> {
    tx.execute(
        "INSERT INTO users (email, name, role, password_hash, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![email.as_str(), name, role.as_str(), password_hash, now],
    )?;
    Ok(tx.last_insert_rowid())
}

/// The user and their password hash.
pub fn by_email(tx: &Tx<'_>, email: &EmailAddress) -> Result<Option<(User, String)>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS}, password_hash FROM users WHERE email = ?1"),
            [email.as_str()],
            |r| Ok((from_row(r, 0)?, r.get(7)?)),
        )
        .optional()?)
}

pub fn by_id(tx: &Tx<'_>, id: i64) -> Result<Option<User>> {
    Ok(tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
            [id],
            |r| from_row(r, 0),
        )
        .optional()?)
}

pub fn password_hash(tx: &Tx<'_>, id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row("SELECT password_hash FROM users WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?)
}

pub fn set_password(tx: &Tx<'_>, id: i64, password_hash: &str, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE users SET password_hash = ?2, password_changed_at = ?3 WHERE id = ?1",
        params![id, password_hash, now],
    )?;
    Ok(())
}

/// Sets a user's display name (checked by the caller).
pub fn set_name(tx: &Tx<'_>, id: i64, name: &str) -> Result<()> {
    tx.execute(
        "UPDATE users SET name = ?2 WHERE id = ?1",
        params![id, name],
    )?;
    Ok(())
}

/// Moves a user to a new email address, only while the account still has `current` (so a
/// confirmation counts once). False when the address moved meanwhile; an address another
/// account has is a constraint error (`Error::is_constraint`).
pub fn set_email(tx: &Tx<'_>, id: i64, current: &str, new: &EmailAddress) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET email = ?3 WHERE id = ?1 AND email = ?2",
        params![id, current, new.as_str()],
    )? == 1)
}

/// Spends every unused password reset link of a user (the links went to an address the
/// account no longer has).
pub fn spend_resets(tx: &Tx<'_>, user_id: i64, now: i64) -> Result<()> {
    tx.execute(
        "UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
        params![user_id, now],
    )?;
    Ok(())
}

pub fn count(tx: &Tx<'_>) -> Result<i64> {
    Ok(tx.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn create_reset(
    tx: &Tx<'_>,
    user_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user_id, now, expires_at],
    )?;
    Ok(())
}

/// How many reset links were made for a user since `since`.
pub fn resets_since(tx: &Tx<'_>, user_id: i64, since: i64) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM password_resets WHERE user_id = ?1 AND created_at > ?2",
        rusqlite::params![user_id, since],
        |r| r.get(0),
    )?)
}

/// Whether a reset token may still be used.
pub fn reset_usable(tx: &Tx<'_>, token_hash: &str, now: i64) -> Result<bool> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM password_resets
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
            params![token_hash, now],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Uses up a reset token: returns its user only the first time, and only before it expires.
/// Every other outstanding token of that user is spent too.
pub fn take_reset(tx: &Tx<'_>, token_hash: &str, now: i64) -> Result<Option<i64>> {
    let user: Option<i64> = tx
        .query_row(
            "UPDATE password_resets SET used_at = ?2
             WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2
             RETURNING user_id",
            params![token_hash, now],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(uid) = user {
        tx.execute(
            "UPDATE password_resets SET used_at = ?2 WHERE user_id = ?1 AND used_at IS NULL",
            params![uid, now],
        )?;
    }
    Ok(user)
}

/// A user's two-factor state as sign-in needs it: the confirmed secret (hex) and the last step
/// a code was accepted for.
pub fn totp(tx: &Tx<'_>, user_id: i64) -> Result<Option<(String, Option<i64>)>> {
    Ok(tx
        .query_row(
            "SELECT totp_secret, totp_last_step FROM users
             WHERE id = ?1 AND totp_secret IS NOT NULL",
            [user_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The secret shown at enrolment and not confirmed yet (hex).
pub fn totp_pending(tx: &Tx<'_>, user_id: i64) -> Result<Option<String>> {
    Ok(tx
        .query_row(
            "SELECT totp_pending FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

pub fn set_totp_pending(tx: &Tx<'_>, user_id: i64, secret_hex: &str) -> Result<()> {
    tx.execute(
        "UPDATE users SET totp_pending = ?2 WHERE id = ?1",
        params![user_id, secret_hex],
    )?;
    Ok(())
}

/// Turns two-factor on with the pending secret (only if it is still `secret_hex`), marks
/// `step` used and replaces the recovery codes. False if the pending secret changed.
pub fn enable_totp(
    tx: &Tx<'_>,
    user_id: i64,
    secret_hex: &str,
    step: i64,
    code_hashes: &[String],
) -> Result<bool> {
    let n = tx.execute(
        "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = ?3
         WHERE id = ?1 AND totp_pending = ?2",
        params![user_id, secret_hex, step],
    )?;
    if n == 0 {
        return Ok(false);
    }
    tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
    for h in code_hashes {
        tx.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)",
            params![user_id, h],
        )?;
    }
    Ok(true)
}

/// Accepts a TOTP step once: true only if it is later than every step accepted before.
pub fn use_totp_step(tx: &Tx<'_>, user_id: i64, step: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE users SET totp_last_step = ?2
         WHERE id = ?1 AND totp_secret IS NOT NULL
           AND (totp_last_step IS NULL OR totp_last_step < ?2)",
        params![user_id, step],
    )? == 1)
}

/// Uses up a recovery code: true only the first time.
pub fn use_recovery_code(tx: &Tx<'_>, user_id: i64, code_hash: &str, now: i64) -> Result<bool> {
    Ok(tx.execute(
        "UPDATE recovery_codes SET used_at = ?3
         WHERE user_id = ?1 AND code_hash = ?2 AND used_at IS NULL",
        params![user_id, code_hash, now],
    )? == 1)
}

/// Recovery codes not used yet.
pub fn recovery_codes_left(tx: &Tx<'_>, user_id: i64) -> Result<i64> {
    Ok(tx.query_row(
        "SELECT count(*) FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL",
        [user_id],
        |r| r.get(0),
    )?)
}

/// Turns two-factor off for a user (an operator's reset): secret, pending secret and recovery
/// codes go. False if there is no such user.
pub fn reset_totp(tx: &Tx<'_>, user_id: i64) -> Result<bool> {
    let n = tx.execute(
        "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL
         WHERE id = ?1",
        [user_id],
    )?;
    tx.execute("DELETE FROM recovery_codes WHERE user_id = ?1", [user_id])?;
    Ok(n == 1)
}

/// Emails of admins who have not turned two-factor on, read from the database file without
/// opening it for writing (so `check-config` never creates or upgrades a database); `None`
/// when it is at another schema version.
pub fn admins_without_totp_in(path: &std::path::Path) -> Result<Option<Vec<String>>> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    if super::migrate::version(&conn)? != super::migrate::CURRENT {
        return Ok(None);
    }
    let mut stmt = conn.prepare(
        "SELECT email FROM users WHERE role = 'admin' AND totp_secret IS NULL ORDER BY email",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(Some(rows.collect::<rusqlite::Result<_>>()?))
}
