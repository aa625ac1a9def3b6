//! Accounts: roles, email addresses, password rules.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Customer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Customer => "customer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "customer" => Some(Role::Customer),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An email address as people type it, trimmed and lower-cased; checked for the obvious shape
/// only (one `@`, a dotted domain, no spaces), since only delivery proves an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<EmailAddress, &'static str> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter an email address.");
        }
        if s.len() > 254 {
            return Err("That email address is too long.");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return Err("Enter an email address like name@example.com.");
        };
        let bad_char = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c);
        if local.is_empty()
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || domain.contains('@')
            || domain.contains("..")
            || s.chars().any(bad_char)
        {
            return Err("Enter an email address like name@example.com.");
        }
        Ok(EmailAddress(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// Length is the rule that matters (NIST SP 800-63B); no composition rules.
pub fn check_new_password(password: &str, email: Option<&EmailAddress>) -> Result<(), String> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters for your password."
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err("That password is too long.".to_string());
    }
    if let Some(e) = email
        && password.trim().eq_ignore_ascii_case(e.as_str())
    {
        return Err("Your password cannot be your email address.".to_string());
    }
    Ok(())
}

/// A person's display name: trimmed, 1 to 100 characters, no control characters.
pub fn check_name(input: &str) -> Result<String, &'static str> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter your name.");
    }
    if s.chars().count() > 100 {
        return Err("Use at most 100 characters for your name.");
    }
    if s.chars().any(char::is_control) {
        return Err("Your name contains characters that cannot be used.");
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            EmailAddress::parse("  Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@ex..com",
            "ann@.com",
            "a@b@c.com",
            "<a>@b.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn passwords() {
        assert!(check_new_password("short", None).is_err());
        assert!(check_new_password("long enough pass", None).is_ok());
        let e = EmailAddress::parse("someone@example.com").unwrap();
        assert!(check_new_password("someone@example.com", Some(&e)).is_err());
        assert!(check_new_password(&"x".repeat(2000), None).is_err());
    }

    #[test]
    fn names() {
        assert_eq!(check_name("  Ann Lee ").unwrap(), "Ann Lee");
        assert!(check_name(" ").is_err());
        assert!(check_name(&"a".repeat(101)).is_err());
        assert!(check_name("a\u{7}b").is_err());
    }

    #[test]
    fn roles() {
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::Customer.to_string(), "customer");
    }
}

/// A voicemail / service PIN: exactly four ASCII digits.
pub fn check_pin(input: &str) -> Result<&str, &'static str> {
    if input.len() == 4 && input.bytes().all(|b| b.is_ascii_digit()) {
        Ok(input)
    } else {
        Err("The PIN is exactly 4 digits, like 4821.")
    }
}

/// A forwarding number as people paste it (`(212) 555-1234`, `+1 212 555 1234`,
/// `12125551234`), reduced to its 10 digits; it must be a valid North American number (area
/// code and exchange start with 2–9) and not the number itself.
pub fn check_forwarding(input: &str, own: &str) -> Result<String, &'static str> {
    let number = super::PhoneNumber::parse(input).map_err(
        |_| "The forwarding number is a 10-digit North American number, like (212) 555-1234.",
    )?;
    if number.digits() == own {
        return Err("Calls cannot be forwarded to the number itself.");
    }
    Ok(number.digits().to_string())
}

#[cfg(test)]
mod settings_tests {
    use super::*;

    #[test]
    fn pins_and_forwarding() {
        assert!(check_pin("0042").is_ok());
        for bad in ["123", "12345", "12a4", " 123", "١٢٣٤", ""] {
            assert!(check_pin(bad).is_err(), "{bad:?}");
        }
        for good in [
            "3105551234",
            "(310) 555-1234",
            "+1 310 555 1234",
            "1-310-555-1234",
            "310.555.1234",
        ] {
            assert_eq!(
                check_forwarding(good, "2125551234").as_deref(),
                Ok("3105551234"),
                "{good:?}"
            );
        }
        for bad in [
            "310555123",
            "31055512345",
            "310-555-12",
            "2125551234",
            "(212) 555-1234",
            "٣١٠٥٥٥١٢٣٤",
            "0125551234",
            "3101551234",
            "+44 20 7946 0958",
        ] {
            assert!(check_forwarding(bad, "2125551234").is_err(), "{bad:?}");
        }
    }
}
