//! Money is integer cents with a currency code.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub cents: i64,
    pub currency: Currency,
}

/// An ISO 4217 code: three upper-case ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");

    pub fn parse(s: &str) -> Option<Currency> {
        let b = s.as_bytes();
        if b.len() == 3 && b.iter().all(u8::is_ascii_uppercase) {
            Some(Currency([b[0], b[1], b[2]]))
        } else {
            None
        }
    }
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
    fn symbol(&self) -> Option<&'static str> {
        match self.as_str() {
            "USD" | "CAD" | "AUD" | "NZD" => Some("$"),
            "EUR" => Some("€"),
            "GBP" => Some("£"),
            _ => None,
        }
    }
}

impl Money {
    pub fn new(cents: i64, currency: Currency) -> Money {
        Money { cents, currency }
    }

    /// `12.50` with no symbol, as payment gateways want it.
    pub fn decimal(&self) -> String {
        let sign = if self.cents < 0 { "-" } else { "" };
        let abs = self.cents.unsigned_abs();
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Display for Money {
    /// `$12.50`, or `12.50 SEK` for currencies without a well-known symbol.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.decimal();
        match self.currency.symbol() {
            Some(sym) => match d.strip_prefix('-') {
                Some(rest) => write!(f, "-{sym}{rest}"),
                None => write!(f, "{sym}{d}"),
            },
            None => write!(f, "{d} {}", self.currency.as_str()),
        }
    }
}

/// Parses `12`, `12.5`, `12.50` or `$12.50` into cents; rejects negatives and sub-cent amounts.
pub fn parse_amount(input: &str) -> Result<i64, &'static str> {
    let s = input.trim().trim_start_matches('$').trim();
    if s.is_empty() {
        return Err("Enter an amount.");
    }
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w, f),
        None => (s, ""),
    };
    if whole.is_empty() && frac.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return Err("Enter an amount like 12.50.");
    }
    if frac.len() > 2 {
        return Err("Amounts have at most two decimal places.");
    }
    if whole.len() > 9 {
        return Err("That amount is too large.");
    }
    let w: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| "Enter an amount like 12.50.")?
    };
    let f: i64 = match frac.len() {
        0 => 0,
        1 => {
            frac.parse::<i64>()
                .map_err(|_| "Enter an amount like 12.50.")?
                * 10
        }
        _ => frac.parse().map_err(|_| "Enter an amount like 12.50.")?,
    };
    Ok(w * 100 + f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let usd = Currency::parse("USD").unwrap();
        assert_eq!(Money::new(1250, usd).to_string(), "$12.50");
        assert_eq!(Money::new(5, usd).to_string(), "$0.05");
        assert_eq!(Money::new(-5, usd).to_string(), "-$0.05");
        let sek = Currency::parse("SEK").unwrap();
        assert_eq!(Money::new(100000, sek).to_string(), "1000.00 SEK");
        assert_eq!(Money::new(100000, sek).decimal(), "1000.00");
        assert!(Currency::parse("usd").is_none());
        assert!(Currency::parse("USDX").is_none());
    }

    #[test]
    fn parses_amounts() {
        assert_eq!(parse_amount("12"), Ok(1200));
        assert_eq!(parse_amount("12.5"), Ok(1250));
        assert_eq!(parse_amount("$0.05"), Ok(5));
        assert_eq!(parse_amount(".5"), Ok(50));
        for bad in ["", "-1", "1.234", "abc", "1e3", ".", "1.2.3"] {
            assert!(parse_amount(bad).is_err(), "{bad:?} accepted");
        }
    }
}
