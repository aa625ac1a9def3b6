//! Money as integer minor units ("cents") and exact conversion to and from
//! PayPal's decimal strings. No floating point anywhere.

use std::fmt;

use super::PayPalError;

/// Most digits PayPal accepts before the decimal point (`amount.value`).
const MAX_INTEGER_DIGITS: usize = 15;

/// An amount of money in a currency's minor unit, e.g. `1490` + `"EUR"` = 14.90 EUR.
///
/// For currencies without decimals on PayPal (JPY, HUF, TWD) the minor unit is
/// the whole unit: `Amount::new(500, "JPY")` is ¥500 and is sent as `"500"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Amount {
    /// Minor units (cents). Never negative in a valid amount.
    pub cents: i64,
    /// ISO 4217 code, upper case, e.g. `"USD"`.
    pub currency: String,
}

impl Amount {
    /// An amount of `cents` minor units in `currency` (not validated here;
    /// [`Amount::to_value`] validates).
    pub fn new(cents: i64, currency: &str) -> Self {
        Amount {
            cents,
            currency: currency.to_string(),
        }
    }

    /// Parses PayPal's `{currency_code, value}` pair.
    ///
    /// Errors with [`PayPalError::Malformed`] for a bad currency code, a negative
    /// value, more decimals than the currency has, or anything that is not a
    /// plain decimal number.
    pub fn from_paypal(value: &str, currency: &str) -> Result<Self, PayPalError> {
        check_currency(currency)?;
        Ok(Amount {
            cents: parse_value(value, currency)?,
            currency: currency.to_string(),
        })
    }

    /// The decimal string PayPal expects in `amount.value`, e.g. `"14.90"`.
    pub fn to_value(&self) -> Result<String, PayPalError> {
        check_currency(&self.currency)?;
        format_value(self.cents, &self.currency)
    }
}

impl fmt::Display for Amount {
    /// `14.90 EUR`; falls back to `1490 minor units EUR` for an invalid amount.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match format_value(self.cents, &self.currency) {
            Ok(v) => write!(f, "{v} {}", self.currency),
            Err(_) => write!(f, "{} minor units {}", self.cents, self.currency),
        }
    }
}

/// Number of decimal places PayPal uses for `currency`: 0 for HUF, JPY and TWD
/// (PayPal's "no decimals" currencies), 2 for everything else it supports.
pub fn currency_decimals(currency: &str) -> u32 {
    match currency {
        "HUF" | "JPY" | "TWD" => 0,
        _ => 2,
    }
}

fn check_currency(currency: &str) -> Result<(), PayPalError> {
    if currency.len() == 3 && currency.bytes().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(PayPalError::Malformed(format!(
            "invalid currency code {:?}",
            truncate(currency)
        )))
    }
}

/// Formats minor units as PayPal's decimal string: `1` → `"0.01"`,
/// `123450` → `"1234.50"`, `500` JPY → `"500"`. Negative amounts are rejected.
pub fn format_value(cents: i64, currency: &str) -> Result<String, PayPalError> {
    if cents < 0 {
        return Err(PayPalError::Malformed("negative amount".into()));
    }
    let decimals = currency_decimals(currency);
    if decimals == 0 {
        return Ok(cents.to_string());
    }
    let scale = 10i64.pow(decimals);
    let s = format!(
        "{}.{:0width$}",
        cents / scale,
        cents % scale,
        width = decimals as usize
    );
    if s.find('.').unwrap_or(s.len()) > MAX_INTEGER_DIGITS {
        return Err(PayPalError::Malformed("amount too large for PayPal".into()));
    }
    Ok(s)
}

/// Parses PayPal's decimal string into minor units, exactly.
///
/// Accepted: one or more digits (at most 15), optionally followed by `.` and
/// 1..=`currency_decimals` digits: `"10"`, `"10.5"`, `"0.01"`, `"1234.50"`.
/// Rejected: negative values, a leading `+`, `".5"`, `"1."`, whitespace,
/// exponents, more decimals than the currency has (`"1.234"` for USD).
pub fn parse_value(value: &str, currency: &str) -> Result<i64, PayPalError> {
    let bad = |why: &str| PayPalError::Malformed(format!("amount {:?}: {why}", truncate(value)));
    if value.starts_with('-') {
        return Err(bad("negative amounts are not allowed"));
    }
    let (int, frac) = match value.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (value, None),
    };
    if int.is_empty() || !int.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    if int.len() > MAX_INTEGER_DIGITS {
        return Err(bad("too many digits"));
    }
    let decimals = currency_decimals(currency) as usize;
    let frac = frac.unwrap_or("");
    if value.contains('.') && frac.is_empty() {
        return Err(bad("not a decimal number"));
    }
    if !frac.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad("not a decimal number"));
    }
    if frac.len() > decimals {
        return Err(bad("too many decimal places"));
    }
    let mut cents: i64 = 0;
    for c in int.bytes() {
        cents = cents * 10 + i64::from(c - b'0');
    }
    let mut frac_digits = 0;
    for c in frac.bytes() {
        cents = cents * 10 + i64::from(c - b'0');
        frac_digits += 1;
    }
    for _ in frac_digits..decimals {
        cents *= 10;
    }
    Ok(cents)
}

/// Keeps error messages short when fed garbage.
fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cents(v: &str) -> Result<i64, PayPalError> {
        parse_value(v, "USD")
    }

    #[test]
    fn parses_exact_values() {
        assert_eq!(cents("0.01").ok(), Some(1));
        assert_eq!(cents("1234.50").ok(), Some(123_450));
        assert_eq!(cents("10").ok(), Some(1000));
        assert_eq!(cents("10.5").ok(), Some(1050));
        assert_eq!(cents("0").ok(), Some(0));
        assert_eq!(cents("007.10").ok(), Some(710));
        assert_eq!(
            cents("999999999999999.99").ok(),
            Some(99_999_999_999_999_999)
        );
        assert_eq!(parse_value("500", "JPY").ok(), Some(500));
    }

    #[test]
    fn rejects_malformed_values() {
        for bad in [
            "1.234",
            "-1.00",
            "-0.01",
            "",
            ".",
            ".5",
            "1.",
            "+1.00",
            " 1.00",
            "1.00 ",
            "1,00",
            "1e2",
            "abc",
            "1.2.3",
            "1.-5",
            "1000000000000000.00",
        ] {
            assert!(
                matches!(cents(bad), Err(PayPalError::Malformed(_))),
                "{bad:?} was accepted"
            );
        }
        assert!(parse_value("1.5", "JPY").is_err());
    }

    #[test]
    fn formats_exact_values() {
        assert_eq!(format_value(1, "USD").ok().as_deref(), Some("0.01"));
        assert_eq!(
            format_value(123_450, "EUR").ok().as_deref(),
            Some("1234.50")
        );
        assert_eq!(format_value(1000, "USD").ok().as_deref(), Some("10.00"));
        assert_eq!(format_value(0, "USD").ok().as_deref(), Some("0.00"));
        assert_eq!(format_value(500, "JPY").ok().as_deref(), Some("500"));
        assert!(matches!(
            format_value(-1, "USD"),
            Err(PayPalError::Malformed(_))
        ));
        assert!(format_value(i64::MAX, "USD").is_err());
    }

    #[test]
    fn round_trips_and_validates_currency() {
        for c in [0, 1, 9, 10, 99, 100, 101, 1490, 123_450, 99_999_999] {
            let a = Amount::new(c, "EUR");
            let v = a.to_value().expect("format");
            assert_eq!(Amount::from_paypal(&v, "EUR").expect("parse"), a);
        }
        assert!(Amount::new(100, "usd").to_value().is_err());
        assert!(Amount::from_paypal("1.00", "EURO").is_err());
        assert_eq!(Amount::new(1490, "EUR").to_string(), "14.90 EUR");
    }
}
