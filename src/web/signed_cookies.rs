//! The signed cookies of sign-in: a device cookie for browsers that signed in before, and the
//! short-lived cookie between a right password and the second factor. Each carries its fields
//! and an HMAC of them under the database's signing key, so the server keeps no state for them.

use super::{Ctx, new_visitor_token};
use crate::http::cookies;
use crate::secure;

/// Given to a browser at each successful sign-in: `{user id}.{nonce}.{HMAC}`. It marks the
/// browser as one the owner used, which keeps it out of the account's lockout (OWASP's
/// device cookies); it grants nothing else.
pub const DEVICE_COOKIE: &str = "didport_device";
const DEVICE_LIFETIME_SECS: i64 = 365 * 24 * 3600;
/// Between a right password and the second factor: `{user id}.{expiry}.{HMAC}`. It only lets
/// the browser that typed the password try a code, for five minutes.
pub const SECOND_STEP_COOKIE: &str = "didport_2fa";
const SECOND_STEP_SECS: i64 = 300;

impl Ctx<'_> {
    /// The account id and nonce of this browser's device cookie, if its signature holds.
    pub fn device(&self) -> Option<(i64, String)> {
        let raw = self.req.cookie(&self.app.cookie_name(DEVICE_COOKIE))?;
        let mut parts = raw.splitn(3, '.');
        let (id, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let id: i64 = id.parse().ok()?;
        secure::mac_matches(&self.app.signing_key, &format!("device:{id}:{nonce}"), mac)
            .then(|| (id, nonce.to_string()))
    }

    /// Marks this browser as one that `user_id` signed in with.
    pub fn remember_device(&self, user_id: i64) {
        let nonce = new_visitor_token();
        let mac = secure::mac(&self.app.signing_key, &format!("device:{user_id}:{nonce}"));
        self.set_cookie(cookies::set(
            &self.app.cookie_name(DEVICE_COOKIE),
            &format!("{user_id}.{nonce}.{mac}"),
            Some(DEVICE_LIFETIME_SECS),
            self.app.secure_cookies,
        ));
    }

    /// Remembers that this browser gave `user_id`'s right password and may try a code.
    pub fn begin_second_step(&self, user_id: i64) {
        let expires = self.app.now() + SECOND_STEP_SECS;
        let mac = secure::mac(&self.app.signing_key, &format!("2fa:{user_id}:{expires}"));
        self.set_cookie(cookies::set(
            &self.app.cookie_name(SECOND_STEP_COOKIE),
            &format!("{user_id}.{expires}.{mac}"),
            Some(SECOND_STEP_SECS),
            self.app.secure_cookies,
        ));
    }

    /// The user this browser is signing in as, between password and code.
    pub fn second_step_user(&self) -> Option<i64> {
        let raw = self.req.cookie(&self.app.cookie_name(SECOND_STEP_COOKIE))?;
        let mut parts = raw.splitn(3, '.');
        let (id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let (id, expires): (i64, i64) = (id.parse().ok()?, expires.parse().ok()?);
        let key = &self.app.signing_key;
        (expires > self.app.now() && secure::mac_matches(key, &format!("2fa:{id}:{expires}"), mac))
            .then_some(id)
    }

    pub fn end_second_step(&self) {
        self.set_cookie(cookies::clear(
            &self.app.cookie_name(SECOND_STEP_COOKIE),
            self.app.secure_cookies,
        ));
    }
}
