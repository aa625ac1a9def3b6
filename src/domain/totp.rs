//! Time-based one-time passwords (RFC 6238), as authenticator apps make them: HMAC-SHA-1,
//! 6 digits, 30-second steps, one step of clock drift accepted either way. The arithmetic is
//! the totp-rs crate's; this module fixes the parameters and keeps the secret out of `Debug`.

use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Length of a new secret: 160 bits, the size of an HMAC-SHA-1 key (RFC 4226 recommends it).
pub const SECRET_BYTES: usize = 20;
pub const DIGITS: u8 = 6;
pub const STEP_SECS: i64 = 30;

/// A shared TOTP secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(hidden)")
    }
}

impl TotpSecret {
    /// A secret of at least 128 bits (RFC 4226 section 4); shorter ones are refused.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<TotpSecret> {
        (bytes.len() >= 16).then_some(TotpSecret(bytes))
    }

    /// Parses the hex form the database keeps.
    pub fn from_hex(hex: &str) -> Option<TotpSecret> {
        if !hex.len().is_multiple_of(2) {
            return None;
        }
        let bytes: Option<Vec<u8>> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect();
        TotpSecret::from_bytes(bytes?)
    }

    /// Parses the base32 form authenticator apps take (as shown on the enrolment page).
    pub fn from_base32(text: &str) -> Option<TotpSecret> {
        let secret = Secret::try_from_base32(text.trim()).ok()?;
        TotpSecret::from_bytes(secret.as_bytes().to_vec())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The secret as authenticator apps take it typed in: base32 without padding.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.clone()).to_base32()
    }

    fn totp(&self, digits: u8) -> Totp {
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(digits)
            .with_skew(1)
            .with_step_duration(STEP_SECS as u64)
            .with_secret(self.0.clone())
            .build_noncompliant()
    }

    /// The code for the step that holds `unix` (seconds), with `digits` digits (6 to 8).
    pub fn code_at(&self, unix: i64, digits: u8) -> String {
        self.totp(digits.clamp(6, 8))
            .generate(u64::try_from(unix).unwrap_or(0))
            .to_string()
    }

    /// The step a 6-digit `code` belongs to, when it is the code of the step that holds `now`
    /// or of the one before or after it. Spaces in the code are ignored.
    pub fn check(&self, code: &str, now: i64) -> Option<i64> {
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let now = u64::try_from(now).ok()?;
        self.totp(DIGITS)
            .check(&code, now)
            .and_then(|step| i64::try_from(step).ok())
    }

    /// The `otpauth://` address a QR code carries for authenticator apps.
    pub fn otpauth_url(&self, issuer: &str, account: &str) -> Option<String> {
        // The label is `issuer:account`, so neither may hold a colon.
        let clean = |s: &str| s.replace(':', " ");
        Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(1)
            .with_step_duration(STEP_SECS as u64)
            .with_secret(self.0.clone())
            .with_issuer(Some(clean(issuer)))
            .with_account_name(clean(account))
            .build()
            .ok()?
            .to_url()
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B: the SHA-1 rows, secret "12345678901234567890", 8 digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(secret.code_at(time, 8), code, "T = {time}");
            // A 6-digit code is the same value modulo 10^6: the last six digits.
            let six = &code[2..];
            assert_eq!(secret.code_at(time, 6), six, "T = {time}");
            assert_eq!(
                secret.check(six, time),
                Some(time / STEP_SECS),
                "T = {time}"
            );
        }
    }

    #[test]
    fn codes_are_accepted_one_step_either_side_and_no_further() {
        let secret = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        let now = 1_111_111_111;
        let code = secret.code_at(now, 6);
        assert_eq!(secret.check(&code, now - 30), Some(now / 30));
        assert_eq!(secret.check(&code, now + 30), Some(now / 30));
        assert_eq!(secret.check(&code, now + 90), None);
        assert_eq!(
            secret.check(&format!("{} {}", &code[..3], &code[3..]), now),
            Some(now / 30)
        );
        for wrong in ["", "12345", "1234567", "abcdef", "+12345", "-12345"] {
            assert_eq!(secret.check(wrong, now), None, "{wrong:?}");
        }
    }

    #[test]
    fn secrets_round_trip_and_stay_hidden() {
        let secret = TotpSecret::from_bytes((0..20).collect()).unwrap();
        assert_eq!(TotpSecret::from_hex(&secret.to_hex()), Some(secret.clone()));
        assert_eq!(
            TotpSecret::from_base32(&secret.to_base32()),
            Some(secret.clone())
        );
        assert_eq!(secret.to_base32(), "AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT");
        assert!(!format!("{secret:?}").contains("AAAQ"));
        assert!(TotpSecret::from_bytes(vec![1; 15]).is_none());
        assert!(TotpSecret::from_hex("zz").is_none());
        let url = secret
            .otpauth_url("didport: shop", "admin@example.com")
            .unwrap();
        assert!(url.starts_with("otpauth://totp/"), "{url}");
        assert!(
            url.contains("secret=AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT"),
            "{url}"
        );
    }
}
