//! Random tokens, token digests, MACs and password hashes, from well-kept crates.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// 32 random bytes (256 bits) from the operating system, as 64 hex digits.
pub fn random_token() -> Result<String, String> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(hex(&buf))
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(buf)
}

/// A short random id (8 hex digits) for incidents and the like; not a secret.
pub fn short_id() -> String {
    let mut buf = [0u8; 4];
    if getrandom::fill(&mut buf).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        buf = t.to_le_bytes();
    }
    hex(&buf)
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// SHA-256 of a high-entropy token, stored instead of the token itself.
pub fn token_digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// HMAC-SHA256 of `message` under `key`, hex encoded.
pub fn mac(key: &[u8], message: &str) -> String {
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(message.as_bytes());
            hex(&m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Constant-time check of a hex MAC.
pub fn mac_matches(key: &[u8], message: &str, given_hex: &str) -> bool {
    let Some(given) = unhex(given_hex) else {
        return false;
    };
    match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(message.as_bytes());
            m.verify_slice(&given).is_ok()
        }
        Err(_) => false,
    }
}

/// The bytes of a hex string; `None` unless it is whole hex digit pairs.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Argon2id PHC string with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of an unguessable password, verified against when an account does not exist
/// so that a sign-in attempt takes the same time either way.
pub fn dummy_password_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1tlE0pF9y0H6YbbvGf9i8FvaRr7w5DqQ0pVwXrjhzGU"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_and_distinct() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterz", &h));
        assert!(!verify_password("x", "not a hash"));
        assert!(!verify_password("x", dummy_password_hash()));
    }

    #[test]
    fn mac_checks() {
        let m = mac(b"key", "hello");
        assert!(mac_matches(b"key", "hello", &m));
        assert!(!mac_matches(b"key", "hellp", &m));
        assert!(!mac_matches(b"kez", "hello", &m));
        assert!(!mac_matches(b"key", "hello", "zz"));
    }
}
