//! The simulator's own reading of PortaBilling's loose JSON: integers as numbers or
//! numeric strings, `"Y"`/`"N"` and `0`/`1` flags.
//!
//! Written apart from the real client on purpose (docs/architecture.md, "Simulators"): were
//! both sides to share one reader, a mistake in it would pass every test.

use serde_json::Value;

/// An integer given as a JSON number or a numeric string. `null` and `""` are `None`.
pub(super) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string; a number is taken as its decimal text.
pub(super) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A flag: `"Y"`/`"N"`, `1`/`0`, `"1"`/`"0"`, `true`/`false`.
pub(super) fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|i| i != 0),
        Value::String(s) => match s.as_str() {
            "Y" | "y" | "1" => Some(true),
            "N" | "n" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `"Y"` or `"N"`, as PortaBilling writes flags.
pub(super) fn yn(b: bool) -> Value {
    Value::String(if b { "Y" } else { "N" }.to_string())
}

/// Ten ASCII digits: a North American number without its leading `1`.
pub(super) fn is_ten_digits(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_readers() {
        assert_eq!(int(Some(&json!("12"))), Some(12));
        assert_eq!(int(Some(&json!(null))), None);
        assert_eq!(flag(Some(&json!("Y"))), Some(true));
        assert_eq!(flag(Some(&json!("maybe"))), None);
        assert_eq!(text(Some(&json!(5))).as_deref(), Some("5"));
        assert_eq!(yn(false), json!("N"));
        assert!(is_ten_digits("2125551234") && !is_ten_digits("12125551234"));
    }
}
