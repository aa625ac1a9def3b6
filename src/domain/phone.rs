//! North American phone numbers: stored and shown as 10 digits.

use std::fmt;

/// Area codes of toll-free numbers.
pub const TOLL_FREE_NPAS: [&str; 7] = ["800", "833", "844", "855", "866", "877", "888"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Accepts `2125551234`, `12125551234`, `+1 212-555-1234`, `(212) 555-1234` and the like.
    /// A `+` may only lead, and then it must introduce country code 1: `+212…` is Morocco,
    /// not New York.
    pub fn parse(input: &str) -> Result<PhoneNumber, &'static str> {
        let trimmed = input.trim();
        let (plus, rest) = match trimmed.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, trimmed),
        };
        let mut digits = String::with_capacity(11);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
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
            10 if plus => {
                return Err("After + comes the country code, 1 for North American numbers.");
            }
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
            "+2125551234",
            "212+555+1234",
            "2125551234+",
            "++12125551234",
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

    use proptest::prelude::*;

    /// The rule written out plainly: an optional leading `+` that must introduce country
    /// code 1, then digits and the separators space, dash, dot and brackets; 10 digits, or 11
    /// starting with 1; area code and exchange start with 2-9.
    fn model(input: &str) -> Option<String> {
        let t = input.trim();
        let (plus, rest) = match t.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, t),
        };
        let mut digits = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return None,
            }
        }
        let ten = match (digits.len(), plus) {
            (10, false) => digits,
            (11, _) if digits.starts_with('1') => digits[1..].to_string(),
            _ => return None,
        };
        let b = ten.as_bytes();
        (b[0] >= b'2' && b[3] >= b'2').then_some(ten)
    }

    fn written(npa: u16, nxx: u16, line: u16, style: usize, prefix: usize) -> String {
        let body = match style {
            0 => format!("{npa}{nxx}{line:04}"),
            1 => format!("{npa}-{nxx}-{line:04}"),
            2 => format!("({npa}) {nxx}-{line:04}"),
            3 => format!("{npa}.{nxx}.{line:04}"),
            _ => format!("{npa} {nxx} {line:04}"),
        };
        let prefix = ["", "1", "1 ", "1-", "+1", "+1 ", "+1-", "+1 ("][prefix];
        format!(" {prefix}{body} ")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn never_panics_and_agrees_with_the_model(s in "[0-9 +().\\-a\u{a0}\u{663}]{0,16}") {
            let got = PhoneNumber::parse(&s).ok().map(|n| n.digits().to_string());
            prop_assert_eq!(got, model(&s), "input {:?}", s);
        }

        /// Near misses: a written number with one character put somewhere in it.
        #[test]
        fn near_misses_agree_with_the_model(
            npa in 100u16..1000, nxx in 100u16..1000, line in 0u16..10000,
            style in 0usize..5, prefix in 0usize..7,
            extra in proptest::sample::select(vec!['+', '1', '0', ' ', 'x', '(', '\u{a0}', '\u{663}']),
            at in any::<proptest::sample::Index>(),
        ) {
            let mut text: Vec<char> = written(npa, nxx, line, style, prefix).chars().collect();
            text.insert(at.index(text.len() + 1), extra);
            let s: String = text.into_iter().collect();
            let got = PhoneNumber::parse(&s).ok().map(|n| n.digits().to_string());
            prop_assert_eq!(got, model(&s), "input {:?}", s);
        }

        #[test]
        fn never_panics_on_any_text(s in any::<String>()) {
            if let Ok(n) = PhoneNumber::parse(&s) {
                prop_assert_eq!(n.digits().len(), 10);
                prop_assert!(n.digits().bytes().all(|b| b.is_ascii_digit()));
            }
        }

        #[test]
        fn every_written_form_of_a_number_parses_to_its_digits(
            npa in 200u16..1000, nxx in 200u16..1000, line in 0u16..10000,
            style in 0usize..5, prefix in 0usize..7,
        ) {
            let text = written(npa, nxx, line, style, prefix);
            let n = PhoneNumber::parse(&text);
            prop_assert!(n.is_ok(), "{:?} refused: {:?}", text, n);
            let n = n.unwrap();
            prop_assert_eq!(n.digits(), format!("{npa}{nxx}{line:04}"));
            prop_assert_eq!(PhoneNumber::parse(&n.pretty()).unwrap(), n.clone());
            prop_assert_eq!(PhoneNumber::parse(&n.e164_digits()).unwrap(), n);
        }
    }
}
