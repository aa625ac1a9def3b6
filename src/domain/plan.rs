//! Plan rules.

use super::search::NumberType;

/// Which numbers a plan may be bought for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanNumberType {
    #[default]
    Any,
    Local,
    TollFree,
}

impl PlanNumberType {
    pub const ALL: [PlanNumberType; 3] = [
        PlanNumberType::Any,
        PlanNumberType::Local,
        PlanNumberType::TollFree,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanNumberType::Any => "any",
            PlanNumberType::Local => "local",
            PlanNumberType::TollFree => "tollfree",
        }
    }

    pub fn parse(s: &str) -> Option<PlanNumberType> {
        PlanNumberType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            PlanNumberType::Any => "Any number",
            PlanNumberType::Local => "Local numbers",
            PlanNumberType::TollFree => "Toll-free numbers",
        }
    }

    /// Whether a number of type `kind` may be bought on a plan limited to `self`.
    pub fn fits(self, kind: NumberType) -> bool {
        match self {
            PlanNumberType::Any => true,
            PlanNumberType::Local => kind == NumberType::Local,
            PlanNumberType::TollFree => kind == NumberType::TollFree,
        }
    }
}

/// A plan as entered by an admin, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    pub name: String,
    pub description: String,
    pub setup_cents: i64,
    pub monthly_cents: i64,
    pub number_type: PlanNumberType,
}

/// Largest fee accepted: $100,000.00.
pub const MAX_FEE_CENTS: i64 = 10_000_000;

impl PlanInput {
    /// Returns (field, message) for every problem.
    pub fn check(
        name: &str,
        description: &str,
        setup_cents: i64,
        monthly_cents: i64,
        number_type: PlanNumberType,
    ) -> Result<PlanInput, Vec<(&'static str, String)>> {
        let mut errors = Vec::new();
        let name = name.trim();
        if name.is_empty() {
            errors.push(("name", "Give the plan a name.".to_string()));
        } else if name.chars().count() > 80 {
            errors.push((
                "name",
                "Use at most 80 characters for the name.".to_string(),
            ));
        }
        let description = description.trim();
        if description.chars().count() > 500 {
            errors.push((
                "description",
                "Use at most 500 characters for the description.".to_string(),
            ));
        }
        for (field, v) in [
            ("setup_cents", setup_cents),
            ("monthly_cents", monthly_cents),
        ] {
            if !(0..=MAX_FEE_CENTS).contains(&v) {
                errors.push((field, "A fee is between 0 and 100,000.00.".to_string()));
            }
        }
        if errors.is_empty() {
            Ok(PlanInput {
                name: name.to_string(),
                description: description.to_string(),
                setup_cents,
                monthly_cents,
                number_type,
            })
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(PlanInput::check("Basic", "", 500, 300, PlanNumberType::Any).is_ok());
        let e = PlanInput::check(
            " ",
            &"x".repeat(501),
            -1,
            MAX_FEE_CENTS + 1,
            PlanNumberType::Local,
        )
        .unwrap_err();
        let fields: Vec<_> = e.iter().map(|(f, _)| *f).collect();
        assert_eq!(
            fields,
            ["name", "description", "setup_cents", "monthly_cents"]
        );
    }

    #[test]
    fn number_types_fit() {
        use NumberType::*;
        assert!(PlanNumberType::Any.fits(Local) && PlanNumberType::Any.fits(TollFree));
        assert!(PlanNumberType::Local.fits(Local) && !PlanNumberType::Local.fits(TollFree));
        assert!(PlanNumberType::TollFree.fits(TollFree) && !PlanNumberType::TollFree.fits(Local));
        for t in PlanNumberType::ALL {
            assert_eq!(PlanNumberType::parse(t.as_str()), Some(t));
        }
    }
}
