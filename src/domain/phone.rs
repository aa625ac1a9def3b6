//! North American phone numbers: stored and shown as 10 digits.

use std::fmt;

/// Area codes of toll-free numbers.
pub const TOLL_FREE_NPAS: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `2125551234`, `12125551234`, `+1 212-555-1234`, `(212) 555-1234` and the like.
    pub fn parse(input: &str) -> Result<PhoneNumber, &'static str> {
        let mut digits = String::with_capacity(11);
        for c in input.trim().chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '+' => {}
                _ => {
                    return Err(
                        "A phone number has only digits, spaces, dashes, dots, brackets and a leading +.",
                    );
                }
            }
            if digits.len() > 11 {
                return Err("A phone number has 10 digits.");
            }
        }
        let ten = match digits.len() {
            10 => digits,
            11 if digits.starts_with('1') => digits[1..].to_string(),
            _ => return Err("A phone number has 10 digits (or 11 starting with 1)."),
        };
        let b = ten.as_bytes();
        if b[0] < b'2' || b[3] < b'2' {
            return Err("Area codes and exchanges cannot start with 0 or 1.");
        }
        Ok(PhoneNumber(ten))
    }

    pub fn digits(&self) -> &str {
        &self.0
    }
    pub fn npa(&self) -> &str {
        &self.0[..3]
    }
    pub fn nxx(&self) -> &str {
        &self.0[3..6]
    }
    pub fn is_toll_free(&self) -> bool {
        TOLL_FREE_NPAS.contains(&self.npa())
    }
    /// The form Telinta uses: `"1"` + 10 digits.
    pub fn e164_digits(&self) -> String {
        format!("1{}", self.0)
    }
    /// `(212) 555-1234`.
    pub fn pretty(&self) -> String {
        format!("({}) {}-{}", &self.0[..3], &self.0[3..6], &self.0[6..])
    }
}

/// `(212) 555-1234` for a stored 10-digit number; anything else is shown as it is.
pub fn pretty(digits: &str) -> String {
    PhoneNumber::parse(digits).map_or_else(|_| digits.to_string(), |n| n.pretty())
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        for ok in [
            "2125551234",
            "12125551234",
            "+1 212-555-1234",
            "(212) 555.1234",
        ] {
            assert_eq!(
                PhoneNumber::parse(ok).unwrap().digits(),
                "2125551234",
                "{ok}"
            );
        }
        for bad in [
            "",
            "212555123",
            "22125551234",
            "212555123x",
            "0125551234",
            "2121551234",
            "1212555123456",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn parts() {
        let n = PhoneNumber::parse("8005551234").unwrap();
        assert!(n.is_toll_free());
        assert_eq!(n.npa(), "800");
        assert_eq!(n.nxx(), "555");
        assert_eq!(n.e164_digits(), "18005551234");
        assert_eq!(n.pretty(), "(800) 555-1234");
    }
}
