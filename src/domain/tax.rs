//! A sales tax rate and the tax contained in an amount, in whole cents.

/// A rate in thousandths of a percent: `8.875%` is `8875`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaxRate(i64);

impl TaxRate {
    /// Parses a percent with up to three decimals, above 0 and at most 100 (`8.875`, `20`).
    pub fn parse(v: &str) -> Option<TaxRate> {
        let v = v.trim().trim_end_matches('%').trim();
        let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
        if whole.is_empty()
            || whole.len() > 3
            || frac.len() > 3
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let whole: i64 = whole.parse().ok()?;
        let frac: i64 = format!("{frac:0<3}").parse().ok()?;
        let milli = whole * 1000 + frac;
        (1..=100_000).contains(&milli).then_some(TaxRate(milli))
    }

    /// The tax contained in a total that includes it, rounded half up to the cent; the total
    /// less this is the amount before tax.
    pub fn included_in(self, total_cents: i64) -> i64 {
        let scale = 100_000i128;
        let total = i128::from(total_cents);
        let divisor = scale + i128::from(self.0);
        let net = (total * scale * 2 + divisor) / (divisor * 2);
        i64::try_from(total - net).unwrap_or(0)
    }
}

impl std::fmt::Display for TaxRate {
    /// `8.875%`, `20%`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            write!(f, "{whole}%")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "{whole}.{}%", frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percents() {
        assert_eq!(
            TaxRate::parse("8.875").map(|r| r.to_string()).as_deref(),
            Some("8.875%")
        );
        assert_eq!(
            TaxRate::parse("20%").map(|r| r.to_string()).as_deref(),
            Some("20%")
        );
        assert_eq!(
            TaxRate::parse("7.5").map(|r| r.to_string()).as_deref(),
            Some("7.5%")
        );
        for bad in ["", "0", "-5", "101", "8.8755", "abc", ".5", "1e2"] {
            assert_eq!(TaxRate::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tax_included_in_a_total_is_whole_cents() {
        let twenty = TaxRate::parse("20").unwrap();
        assert_eq!(twenty.included_in(1200), 200);
        assert_eq!(twenty.included_in(0), 0);
        let ny = TaxRate::parse("8.875").unwrap();
        // 18.00 / 1.08875 = 16.5327… → 16.53 before tax, 1.47 tax.
        assert_eq!(ny.included_in(1800), 147);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn tax_and_net_add_up_and_stay_in_range(total in 0i64..100_000_000, milli in 1i64..=100_000) {
            let r = TaxRate(milli);
            let tax = r.included_in(total);
            prop_assert!(tax >= 0 && tax <= total);
            // The net amount with the tax added back is the total, within rounding.
            let net = total - tax;
            let back = (i128::from(net) * (100_000 + i128::from(milli)) + 50_000) / 100_000;
            prop_assert!((back - i128::from(total)).abs() <= 1, "{} {} {}", total, milli, back);
        }
    }
}
