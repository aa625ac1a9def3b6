//! Small JSON readers of the client (the simulator has its own). PortaBilling mixes
//! integers, numeric strings, `"Y"`/`"N"` flags and `0`/`1` flags; these accept the
//! spellings seen in the wild and nothing else.

use serde_json::{Map, Value};

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

/// Like [`int`] but `0` also means "none" (PortaBilling uses 0 for "no batch").
pub(super) fn id(v: Option<&Value>) -> Option<i64> {
    int(v).filter(|i| *i != 0)
}

/// A string; numbers are turned into their decimal text, `null` is `None`.
pub(super) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A non-empty string.
pub(super) fn non_empty(v: Option<&Value>) -> Option<String> {
    text(v).filter(|s| !s.trim().is_empty())
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

/// `"Y"` or `"N"`.
pub(super) fn yn(b: bool) -> Value {
    Value::String(if b { "Y" } else { "N" }.to_string())
}

/// The object under `key`, if it is one.
pub(super) fn object<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Map<String, Value>> {
    m.get(key).and_then(Value::as_object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lenient_readers() {
        assert_eq!(int(Some(&json!(5))), Some(5));
        assert_eq!(int(Some(&json!("12"))), Some(12));
        assert_eq!(int(Some(&json!(null))), None);
        assert_eq!(int(Some(&json!("x"))), None);
        assert_eq!(id(Some(&json!(0))), None);
        assert_eq!(flag(Some(&json!("Y"))), Some(true));
        assert_eq!(flag(Some(&json!(0))), Some(false));
        assert_eq!(flag(Some(&json!("maybe"))), None);
        assert_eq!(
            text(Some(&json!(12125551234u64))).as_deref(),
            Some("12125551234")
        );
        assert_eq!(non_empty(Some(&json!(" "))), None);
    }
}
