//! Number search: the query a visitor asks, checked, with vanity letters mapped to the keypad.

use std::collections::HashMap;

/// US states, DC and territories: code and name.
pub const STATES: &[(&str, &str)] = &[
    ("AL", "Alabama"),
    ("AK", "Alaska"),
    ("AZ", "Arizona"),
    ("AR", "Arkansas"),
    ("CA", "California"),
    ("CO", "Colorado"),
    ("CT", "Connecticut"),
    ("DE", "Delaware"),
    ("DC", "District of Columbia"),
    ("FL", "Florida"),
    ("GA", "Georgia"),
    ("HI", "Hawaii"),
    ("ID", "Idaho"),
    ("IL", "Illinois"),
    ("IN", "Indiana"),
    ("IA", "Iowa"),
    ("KS", "Kansas"),
    ("KY", "Kentucky"),
    ("LA", "Louisiana"),
    ("ME", "Maine"),
    ("MD", "Maryland"),
    ("MA", "Massachusetts"),
    ("MI", "Michigan"),
    ("MN", "Minnesota"),
    ("MS", "Mississippi"),
    ("MO", "Missouri"),
    ("MT", "Montana"),
    ("NE", "Nebraska"),
    ("NV", "Nevada"),
    ("NH", "New Hampshire"),
    ("NJ", "New Jersey"),
    ("NM", "New Mexico"),
    ("NY", "New York"),
    ("NC", "North Carolina"),
    ("ND", "North Dakota"),
    ("OH", "Ohio"),
    ("OK", "Oklahoma"),
    ("OR", "Oregon"),
    ("PA", "Pennsylvania"),
    ("RI", "Rhode Island"),
    ("SC", "South Carolina"),
    ("SD", "South Dakota"),
    ("TN", "Tennessee"),
    ("TX", "Texas"),
    ("UT", "Utah"),
    ("VT", "Vermont"),
    ("VA", "Virginia"),
    ("WA", "Washington"),
    ("WV", "West Virginia"),
    ("WI", "Wisconsin"),
    ("WY", "Wyoming"),
    ("PR", "Puerto Rico"),
    ("VI", "U.S. Virgin Islands"),
    ("GU", "Guam"),
    ("AS", "American Samoa"),
    ("MP", "Northern Mariana Islands"),
];

/// A two-letter state code, upper-cased, if it is one we know.
pub fn state_code(input: &str) -> Option<&'static str> {
    let up = input.trim().to_ascii_uppercase();
    STATES
        .iter()
        .find(|(c, n)| *c == up || n.eq_ignore_ascii_case(input.trim()))
        .map(|(c, _)| *c)
}

pub fn state_name(code: &str) -> Option<&'static str> {
    STATES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The phone keypad: letters to digits (`FLOWERS` → `3569377`).
pub fn keypad_digit(c: char) -> Option<char> {
    Some(match c.to_ascii_uppercase() {
        d @ '0'..='9' => d,
        'A' | 'B' | 'C' => '2',
        'D' | 'E' | 'F' => '3',
        'G' | 'H' | 'I' => '4',
        'J' | 'K' | 'L' => '5',
        'M' | 'N' | 'O' => '6',
        'P' | 'Q' | 'R' | 'S' => '7',
        'T' | 'U' | 'V' => '8',
        'W' | 'X' | 'Y' | 'Z' => '9',
        _ => return None,
    })
}

/// Maps a vanity pattern to digits; separators (space, `-`, `.`, `(`, `)`, `+`) are dropped.
pub fn to_keypad(input: &str) -> Result<String, String> {
    let mut out = String::new();
    for c in input.chars() {
        if matches!(c, ' ' | '-' | '.' | '(' | ')' | '+') {
            continue;
        }
        match keypad_digit(c) {
            Some(d) => out.push(d),
            None => {
                return Err(format!(
                    "{c:?} cannot be typed on a phone keypad; use digits and letters."
                ));
            }
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchMode {
    Starts,
    Contains,
    Ends,
}

impl MatchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchMode::Starts => "starts",
            MatchMode::Contains => "contains",
            MatchMode::Ends => "ends",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberType {
    Local,
    TollFree,
}

impl NumberType {
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::Local => "local",
            NumberType::TollFree => "tollfree",
        }
    }
    pub fn parse(s: &str) -> Option<NumberType> {
        match s {
            "local" => Some(NumberType::Local),
            "tollfree" => Some(NumberType::TollFree),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            NumberType::Local => "Local",
            NumberType::TollFree => "Toll-free",
        }
    }
}

pub const DEFAULT_PER_PAGE: u32 = 50;
pub const MAX_PER_PAGE: u32 = 100;
pub const MAX_PAGE: u32 = 10_000;

/// A checked search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    pub npa: Option<String>,
    pub nxx: Option<String>,
    pub state: Option<&'static str>,
    pub kind: Option<NumberType>,
    /// Digits after keypad mapping, and how they must match.
    pub pattern: Option<(String, MatchMode)>,
    /// What the visitor typed, for showing back.
    pub q_raw: String,
    pub page: u32,
    pub per_page: u32,
}

impl Search {
    /// The 10-digit range the number must fall in, from the area code, exchange and a
    /// `starts` pattern; `None` when they contradict each other (nothing can match).
    pub fn prefix(&self) -> Option<String> {
        let mut prefixes: Vec<String> = Vec::new();
        if let Some(npa) = &self.npa {
            prefixes.push(match &self.nxx {
                Some(nxx) => format!("{npa}{nxx}"),
                None => npa.clone(),
            });
        }
        if let Some((digits, MatchMode::Starts)) = &self.pattern {
            prefixes.push(match &self.npa {
                Some(npa) => format!("{npa}{digits}"),
                None => digits.clone(),
            });
        }
        prefixes.sort_by_key(String::len);
        let longest = prefixes.last().cloned().unwrap_or_default();
        prefixes
            .iter()
            .all(|p| longest.starts_with(p.as_str()))
            .then_some(longest)
    }

    pub fn offset(&self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.per_page)
    }

    /// The query string for another page of the same search.
    pub fn query_for_page(&self, page: u32) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(v) = &self.npa {
            q.push(("npa", v.clone()));
        }
        if let Some(v) = &self.nxx {
            q.push(("nxx", v.clone()));
        }
        if let Some(v) = self.state {
            q.push(("state", v.to_string()));
        }
        if let Some(k) = self.kind {
            q.push(("type", k.as_str().to_string()));
        }
        if let Some((_, m)) = &self.pattern {
            q.push(("q", self.q_raw.clone()));
            q.push(("match", m.as_str().to_string()));
        }
        if self.per_page != DEFAULT_PER_PAGE {
            q.push(("per_page", self.per_page.to_string()));
        }
        q.push(("page", page.to_string()));
        q
    }
}

/// A problem with one parameter: (parameter name, message).
pub type SearchError = (&'static str, String);

fn three_digits(v: &str, what: &str) -> Result<String, String> {
    let v = v.trim();
    if v.len() == 3 && v.bytes().all(|b| b.is_ascii_digit()) {
        if v.starts_with(['0', '1']) {
            Err(format!("{what} cannot start with 0 or 1."))
        } else {
            Ok(v.to_string())
        }
    } else {
        Err(format!("{what} must be exactly 3 digits, like 212."))
    }
}

fn param<'a>(p: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// Checks search parameters (docs/contract.md §4); every problem is reported.
pub fn parse(p: &HashMap<String, String>) -> Result<Search, Vec<SearchError>> {
    let mut errors: Vec<SearchError> = Vec::new();
    let npa = param(p, "npa").and_then(|v| {
        three_digits(v, "The area code")
            .map_err(|m| errors.push(("npa", m)))
            .ok()
    });
    let nxx = param(p, "nxx").and_then(|v| {
        three_digits(v, "The exchange")
            .map_err(|m| errors.push(("nxx", m)))
            .ok()
    });
    if nxx.is_some() && npa.is_none() && !errors.iter().any(|(f, _)| *f == "npa") {
        errors.push((
            "nxx",
            "Give the area code too when you search by exchange.".into(),
        ));
    }
    let state = param(p, "state").and_then(|v| match state_code(v) {
        Some(c) => Some(c),
        None => {
            errors.push((
                "state",
                format!("{v:?} is not a US state or territory code, like NY."),
            ));
            None
        }
    });
    let kind = match param(p, "type") {
        None | Some("any") => None,
        Some(v) => match NumberType::parse(v) {
            Some(k) => Some(k),
            None => {
                errors.push(("type", "Type must be local, tollfree or any.".into()));
                None
            }
        },
    };
    let mode = match param(p, "match") {
        None | Some("contains") => MatchMode::Contains,
        Some("starts") => MatchMode::Starts,
        Some("ends") => MatchMode::Ends,
        Some(_) => {
            errors.push(("match", "Match must be starts, contains or ends.".into()));
            MatchMode::Contains
        }
    };
    let q_raw = p.get("q").map(|s| s.trim().to_string()).unwrap_or_default();
    let pattern = if q_raw.is_empty() {
        None
    } else if q_raw.chars().count() > 20 {
        errors.push((
            "q",
            "That pattern is too long: a number has 10 digits.".into(),
        ));
        None
    } else {
        match to_keypad(&q_raw) {
            Err(m) => {
                errors.push(("q", m));
                None
            }
            Ok(d) if d.is_empty() => {
                errors.push(("q", "Type some digits or letters to look for.".into()));
                None
            }
            Ok(d) => {
                let max = if mode == MatchMode::Starts && npa.is_some() {
                    7
                } else {
                    10
                };
                if d.len() > max {
                    errors.push((
                        "q",
                        if max == 7 {
                            "After the area code a number has only 7 digits; shorten the pattern."
                                .into()
                        } else {
                            "That pattern is too long: a number has 10 digits.".into()
                        },
                    ));
                    None
                } else {
                    Some((d, mode))
                }
            }
        }
    };
    let page = match param(p, "page") {
        None => 1,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                errors.push((
                    "page",
                    format!("Page must be a whole number from 1 to {MAX_PAGE}."),
                ));
                1
            }
        },
    };
    let per_page = match param(p, "per_page") {
        None => DEFAULT_PER_PAGE,
        Some(v) => match v.parse::<u32>() {
            Ok(n) if (1..=MAX_PER_PAGE).contains(&n) => n,
            _ => {
                errors.push((
                    "per_page",
                    format!("Results per page must be from 1 to {MAX_PER_PAGE}."),
                ));
                DEFAULT_PER_PAGE
            }
        },
    };
    if errors.is_empty() {
        Ok(Search {
            npa,
            nxx,
            state,
            kind,
            pattern,
            q_raw,
            page,
            per_page,
        })
    } else {
        Err(errors)
    }
}

/// Whether a 10-digit number matches a search (ignoring availability and paging): the rule
/// the store's queries implement, written plainly for tests and checks.
pub fn matches(s: &Search, number: &str, state: &str, kind: NumberType) -> bool {
    match s.prefix() {
        Some(prefix) if number.starts_with(&prefix) => {}
        _ => return false,
    }
    if s.state.is_some_and(|st| st != state) || s.kind.is_some_and(|k| k != kind) {
        return false;
    }
    match &s.pattern {
        Some((d, MatchMode::Contains)) => number.contains(d.as_str()),
        Some((d, MatchMode::Ends)) => number.ends_with(d.as_str()),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keypad() {
        assert_eq!(to_keypad("FLOWERS").unwrap(), "3569377");
        assert_eq!(to_keypad("1-800-flowers").unwrap(), "18003569377");
        assert_eq!(to_keypad("pqrs tuv wxyz").unwrap(), "77778889999");
        assert!(to_keypad("50%").is_err());
        assert!(to_keypad("٣").is_err(), "non-ASCII digits are refused");
    }

    #[test]
    fn states() {
        assert_eq!(state_code("ny"), Some("NY"));
        assert_eq!(state_code("New York"), Some("NY"));
        assert_eq!(state_code("XX"), None);
    }

    #[test]
    fn parses_and_checks() {
        let s = parse(&q(&[("npa", "212"), ("q", "flowers"), ("match", "ends")])).unwrap();
        assert_eq!(s.pattern, Some(("3569377".into(), MatchMode::Ends)));
        assert_eq!(s.prefix().as_deref(), Some("212"));
        let e = parse(&q(&[
            ("npa", "21"),
            ("state", "ZZ"),
            ("per_page", "500"),
            ("page", "0"),
            ("match", "x"),
        ]))
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(fields, ["npa", "state", "match", "page", "per_page"]);
        assert!(parse(&q(&[("q", "--")])).is_err());
        assert!(parse(&q(&[("q", "12345678901")])).is_err());
        assert!(parse(&q(&[("nxx", "555")])).is_err());
        assert!(
            parse(&q(&[
                ("npa", "212"),
                ("q", "12345678"),
                ("match", "starts")
            ]))
            .is_err()
        );
        assert_eq!(parse(&q(&[])).unwrap().per_page, DEFAULT_PER_PAGE);
    }

    #[test]
    fn prefixes_combine_or_contradict() {
        let s = parse(&q(&[
            ("npa", "212"),
            ("nxx", "555"),
            ("q", "5551"),
            ("match", "starts"),
        ]))
        .unwrap();
        assert_eq!(s.prefix().as_deref(), Some("2125551"));
        let s = parse(&q(&[
            ("npa", "212"),
            ("nxx", "555"),
            ("q", "444"),
            ("match", "starts"),
        ]))
        .unwrap();
        assert_eq!(s.prefix(), None);
        let s = parse(&q(&[("q", "2125"), ("match", "starts")])).unwrap();
        assert_eq!(s.prefix().as_deref(), Some("2125"));
        assert!(matches(&s, "2125551234", "NY", NumberType::Local));
        assert!(!matches(&s, "2135551234", "NY", NumberType::Local));
    }

    use proptest::prelude::*;

    /// The phone keypad as printed on phones (ITU E.161).
    fn reference_digit(c: char) -> Option<char> {
        const KEYS: [(&str, char); 8] = [
            ("ABC", '2'),
            ("DEF", '3'),
            ("GHI", '4'),
            ("JKL", '5'),
            ("MNO", '6'),
            ("PQRS", '7'),
            ("TUV", '8'),
            ("WXYZ", '9'),
        ];
        if c.is_ascii_digit() {
            return Some(c);
        }
        if !c.is_ascii_alphabetic() {
            return None;
        }
        let up = c.to_ascii_uppercase();
        KEYS.iter()
            .find(|(letters, _)| letters.contains(up))
            .map(|(_, d)| *d)
    }

    const KEYS: [&str; 9] = [
        "npa", "nxx", "state", "type", "match", "q", "page", "per_page", "other",
    ];

    /// Values that are sometimes right and often hostile.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9]{0,12}",
            "[2-9][0-9]{2}",
            "[a-zA-Z0-9 ()+.-]{0,24}",
            Just("starts".to_string()),
            Just("ends".to_string()),
            Just("contains".to_string()),
            Just("local".to_string()),
            Just("tollfree".to_string()),
            Just("New York".to_string()),
            Just("' OR 1=1 --".to_string()),
            Just("4294967296".to_string()),
            Just("-1".to_string()),
        ]
    }

    fn params() -> impl Strategy<Value = HashMap<String, String>> {
        proptest::collection::hash_map(
            proptest::sample::select(KEYS.to_vec()).prop_map(str::to_string),
            value(),
            0..8,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn keypad_digits_follow_the_printed_keypad(c in any::<char>()) {
            prop_assert_eq!(keypad_digit(c), reference_digit(c), "{:?}", c);
        }

        #[test]
        fn keypad_mapping_of_words_follows_the_keypad(s in "[a-zA-Z0-9 ().+-]{0,20}") {
            let expected: String = s
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'))
                .filter_map(reference_digit)
                .collect();
            prop_assert_eq!(to_keypad(&s), Ok(expected));
        }

        #[test]
        fn keypad_refuses_what_a_keypad_cannot_type(s in any::<String>()) {
            let typeable = s.chars().all(|c| {
                matches!(c, ' ' | '-' | '.' | '(' | ')' | '+') || reference_digit(c).is_some()
            });
            prop_assert_eq!(to_keypad(&s).is_ok(), typeable, "{:?}", s);
        }

        /// Any parameters give a checked search or a list of problems, never a panic, and a
        /// checked search stays within its bounds.
        #[test]
        fn parse_checks_any_parameters(p in params()) {
            match parse(&p) {
                Err(errors) => prop_assert!(!errors.is_empty()),
                Ok(s) => {
                    prop_assert!((1..=MAX_PAGE).contains(&s.page));
                    prop_assert!((1..=MAX_PER_PAGE).contains(&s.per_page));
                    if let Some((d, m)) = &s.pattern {
                        prop_assert!(!d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
                        let max = if *m == MatchMode::Starts && s.npa.is_some() { 7 } else { 10 };
                        prop_assert!(d.len() <= max);
                    }
                    if let Some(prefix) = s.prefix() {
                        prop_assert!(prefix.len() <= 10);
                    }
                    let _ = s.offset();
                }
            }
        }

        /// The link to another page asks the same search again.
        #[test]
        fn page_links_repeat_the_search(p in params(), page in 1u32..=MAX_PAGE) {
            if let Ok(s) = parse(&p) {
                let again: HashMap<String, String> = s
                    .query_for_page(page)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                let s2 = parse(&again);
                prop_assert!(s2.is_ok(), "{:?} -> {:?}", again, s2);
                prop_assert_eq!(s2.unwrap(), Search { page, ..s });
            }
        }
    }
}
