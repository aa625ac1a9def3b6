//! Where a North American area code is: a table shipped with the program
//! (`assets/area_codes.csv`, `npa,state,place`), so a number's location reads like a place
//! ("New York City (Manhattan), NY") instead of a rate-center code.

use std::sync::OnceLock;

const TABLE: &str = include_str!("../../assets/area_codes.csv");

/// One area code's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaCode {
    pub npa: &'static str,
    pub state: &'static str,
    pub place: &'static str,
}

fn all() -> &'static [AreaCode] {
    static PARSED: OnceLock<Vec<AreaCode>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let mut rows: Vec<AreaCode> = TABLE
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut cols = line.splitn(3, ',');
                Some(AreaCode {
                    npa: cols.next()?.trim(),
                    state: cols.next()?.trim(),
                    place: cols.next()?.trim(),
                })
            })
            .collect();
        rows.sort_by_key(|a| a.npa);
        rows
    })
}

/// The table indexed by the area code's value (000–999): a results page looks up fifty.
fn by_value() -> &'static [Option<AreaCode>] {
    static INDEX: OnceLock<Vec<Option<AreaCode>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut index = vec![None; 1000];
        for a in all() {
            if let Some(slot) = a.npa.parse::<usize>().ok().and_then(|i| index.get_mut(i)) {
                *slot = Some(*a);
            }
        }
        index
    })
}

/// The place of an area code, if the table knows it.
pub fn lookup(npa: &str) -> Option<AreaCode> {
    if npa.len() != 3 || !npa.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let i: usize = npa.parse().ok()?;
    by_value().get(i).copied().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_a_known_area_code_in_a_known_state() {
        let rows = all();
        assert_eq!(rows.len(), TABLE.lines().count() - 1, "every line parses");
        for a in rows {
            assert!(
                a.npa.len() == 3
                    && a.npa.bytes().all(|b| b.is_ascii_digit())
                    && !a.npa.starts_with(['0', '1']),
                "{a:?}"
            );
            assert!(
                crate::domain::search::state_name(a.state).is_some(),
                "{a:?}"
            );
            assert!(!a.place.is_empty(), "{a:?}");
        }
        let mut npas: Vec<_> = rows.iter().map(|a| a.npa).collect();
        npas.dedup();
        assert_eq!(npas.len(), rows.len(), "no area code twice");
    }

    #[test]
    fn finds_places() {
        assert_eq!(lookup("212").map(|a| a.state), Some("NY"));
        assert_eq!(
            lookup("310").map(|a| a.place),
            Some("West Los Angeles and Santa Monica")
        );
        assert_eq!(lookup("999"), None);
        assert_eq!(lookup("21"), None);
        assert_eq!(lookup("+12"), None);
        // Every row of the table is found by its own code.
        for a in all() {
            assert_eq!(lookup(a.npa), Some(*a));
        }
    }
}
