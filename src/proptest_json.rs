//! Random JSON for property tests of the parsers that read upstream replies.

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Any JSON value, nested a few levels, with the scalars upstream APIs tend to mix up:
/// numbers as text, huge and negative numbers, fractions, empty strings, nulls.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        Just(Value::from(0)),
        Just(Value::from(1)),
        Just(Value::from("")),
        Just(Value::from("Y")),
        Just(Value::from("12125551234")),
        "[0-9]{0,12}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{0,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A JSON object whose members use the given names (the ones a parser looks for) with any
/// values, plus the odd unknown member.
pub fn object_with(keys: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    proptest::collection::vec(
        (
            prop_oneof![
                4 => proptest::sample::select(keys).prop_map(str::to_string),
                1 => "[a-z_]{1,10}",
            ],
            any_json(),
        ),
        0..12,
    )
    .prop_map(|members| members.into_iter().collect())
}

/// Bytes that are sometimes JSON and often nearly JSON: whole documents, truncated ones, and
/// random bytes.
pub fn reply_bytes(keys: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        object_with(keys).prop_map(|m| Value::Object(m).to_string().into_bytes()),
        (object_with(keys), any::<prop::sample::Index>()).prop_map(|(m, cut)| {
            let text = Value::Object(m).to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        any_json().prop_map(|v| v.to_string().into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}
