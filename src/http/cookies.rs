//! Reading and writing cookies, by hand (a few lines do it).

/// The value of cookie `name` in a `Cookie:` header.
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|part| {
        let (k, v) = part.trim().split_once('=')?;
        (k == name).then_some(v.trim_matches('"'))
    })
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Lax; Path=/`, `Secure` when asked.
pub fn set(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    s
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear(name: &str, secure: bool) -> String {
    set(name, "", Some(0), secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_and_find() {
        assert_eq!(
            set("s", "v", Some(60), true),
            "s=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        assert_eq!(find("a=1;b=2", "b"), Some("2"));
        assert_eq!(find("ab=1", "a"), None);
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_cookie_header_is_read_without_panicking(header in any::<String>(), name in "\\PC{0,8}") {
            if let Some(v) = find(&header, &name) {
                prop_assert!(header.contains(v));
            }
        }

        /// A value the portal sets is the value it reads back, among other cookies.
        #[test]
        fn set_values_are_found_again(
            value in "[A-Za-z0-9._-]{1,64}",
            others in proptest::collection::vec(("[a-z]{1,8}", "[A-Za-z0-9]{0,8}"), 0..4),
        ) {
            let set_cookie = set("didport_session", &value, Some(60), false);
            let pair = set_cookie.split(';').next().unwrap().to_string();
            let mut parts: Vec<String> = others
                .iter()
                .filter(|(k, _)| k != "didport_session")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            parts.insert(parts.len() / 2, pair);
            let header = parts.join("; ");
            prop_assert_eq!(find(&header, "didport_session"), Some(value.as_str()));
        }
    }
}
