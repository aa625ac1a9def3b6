//! Rules for inventory rows as they arrive from a CSV file or the switch.

use super::PhoneNumber;
use super::search::{NumberType, state_code};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryRow {
    pub number: PhoneNumber,
    pub state: String,
    pub rate_center: String,
    pub kind: NumberType,
}

/// Checks one row; the error says what is wrong in words an admin can act on.
pub fn check_row(
    number: &str,
    state: &str,
    rate_center: &str,
    kind: &str,
) -> Result<InventoryRow, String> {
    let n = PhoneNumber::parse(number).map_err(|m| {
        if number.trim().is_empty() {
            "the number is empty".to_string()
        } else {
            format!("{:?} is not a phone number: {m}", number.trim())
        }
    })?;
    let state = match state.trim() {
        "" => String::new(),
        s => state_code(s)
            .ok_or_else(|| format!("{s:?} is not a US state or territory code"))?
            .to_string(),
    };
    let rate_center = rate_center.trim();
    if rate_center.chars().count() > 60 || rate_center.chars().any(char::is_control) {
        return Err(
            "the rate center is longer than 60 characters or has control characters".into(),
        );
    }
    let inferred = if n.is_toll_free() {
        NumberType::TollFree
    } else {
        NumberType::Local
    };
    let kind = match kind.trim().to_ascii_lowercase().as_str() {
        "" => inferred,
        "local" | "tollfree" | "toll-free" | "toll_free" => {
            let k = if kind.trim().eq_ignore_ascii_case("local") {
                NumberType::Local
            } else {
                NumberType::TollFree
            };
            if k != inferred {
                return Err(format!(
                    "the type says {} but area code {} is {}",
                    k.as_str(),
                    n.npa(),
                    inferred.as_str()
                ));
            }
            k
        }
        other => return Err(format!("{other:?} is not a type (local or tollfree)")),
    };
    Ok(InventoryRow {
        number: n,
        state,
        rate_center: rate_center.to_string(),
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        let r = check_row("+1 (212) 555-1234", "ny", " NWYRCYZN01 ", "").unwrap();
        assert_eq!(r.number.digits(), "2125551234");
        assert_eq!(r.state, "NY");
        assert_eq!(r.rate_center, "NWYRCYZN01");
        assert_eq!(r.kind, NumberType::Local);
        assert_eq!(
            check_row("8005551234", "", "", "").unwrap().kind,
            NumberType::TollFree
        );
        assert!(check_row("", "", "", "").unwrap_err().contains("empty"));
        assert!(check_row("12345", "", "", "").is_err());
        assert!(
            check_row("2125551234", "ZZ", "", "")
                .unwrap_err()
                .contains("ZZ")
        );
        assert!(
            check_row("2125551234", "", "", "tollfree")
                .unwrap_err()
                .contains("local")
        );
        assert!(check_row("2125551234", "", "", "mobile").is_err());
    }

    use proptest::prelude::*;

    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9 ()+.-]{0,16}",
            "[a-zA-Z ]{0,12}",
            Just("local".to_string()),
            Just("TollFree".to_string()),
            Just("<script>alert(1)</script>".to_string()),
            Just("' OR 1=1 --".to_string()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any four cells give a checked row or a message, and a checked row keeps the rules.
        #[test]
        fn any_row_is_checked_without_panicking(
            number in cell(), state in cell(), rc in cell(), kind in cell()
        ) {
            match check_row(&number, &state, &rc, &kind) {
                Err(m) => prop_assert!(!m.is_empty()),
                Ok(row) => {
                    prop_assert_eq!(row.number.clone(), PhoneNumber::parse(&number).unwrap());
                    prop_assert!(row.state.is_empty() || state_code(&row.state) == Some(row.state.as_str()));
                    prop_assert!(row.rate_center.chars().count() <= 60);
                    prop_assert!(!row.rate_center.chars().any(char::is_control));
                    prop_assert_eq!(row.kind == NumberType::TollFree, row.number.is_toll_free());
                }
            }
        }
    }
}
