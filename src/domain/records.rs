//! The states of records that have no transition table: invoices, outbox messages and the
//! steps of the renewal cycle. Each is stored as its word (`as_str`) in a column whose `CHECK`
//! in `schema.sql` lists the same words; `src/store/status.rs` maps them to and from rows, and
//! nothing else spells the words out (docs/architecture.md, "Layers").

/// Defines an enum stored as a word, with `ALL`, `as_str` and `parse`.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The word stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word,)+
                }
            }

            pub fn parse(word: &str) -> Option<Self> {
                match word {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words! {
    /// Where an invoice stands (`invoices.status`).
    InvoiceStatus {
        /// Issued, not paid yet (a renewal invoice before its payment).
        Open = "open",
        Paid = "paid",
        /// Withdrawn: the number was cancelled before the invoice was paid.
        Void = "void",
    }
}

words! {
    /// Where a notification stands in the outbox (`outbox.status`).
    OutboxStatus {
        /// Waiting for its next attempt.
        Queued = "queued",
        Sent = "sent",
        /// Given up after its attempts; an admin may send it again.
        Failed = "failed",
    }
}

words! {
    /// A step of the renewal cycle done for a number and period (`billing_events.kind`).
    BillingStep {
        /// The renewal invoice was issued and its email queued.
        RenewalDue = "renewal_due",
        Overdue = "overdue",
        Suspended = "suspended",
        SuspensionFailed = "suspension_failed",
        Reactivated = "reactivated",
        ReactivationFailed = "reactivation_failed",
        Cancelled = "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for s in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(s.as_str()), Some(*s));
        }
        for s in OutboxStatus::ALL {
            assert_eq!(OutboxStatus::parse(s.as_str()), Some(*s));
        }
        for s in BillingStep::ALL {
            assert_eq!(BillingStep::parse(s.as_str()), Some(*s));
        }
        assert_eq!(InvoiceStatus::parse("credit"), None);
    }

    /// The words are the ones the schema's `CHECK`s allow.
    #[test]
    fn words_match_the_schema() {
        let schema = include_str!("../../schema.sql");
        let check = |column: &str| -> String {
            let at = schema.find(column).unwrap_or(0);
            schema[at..].split(')').next().unwrap_or("").to_string()
        };
        for (column, words) in [
            (
                "status         TEXT NOT NULL DEFAULT 'paid' CHECK",
                InvoiceStatus::ALL
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>(),
            ),
            (
                "status          TEXT NOT NULL DEFAULT 'queued' CHECK",
                OutboxStatus::ALL.iter().map(|s| s.as_str()).collect(),
            ),
            (
                "kind         TEXT NOT NULL CHECK (kind IN ('renewal_due'",
                BillingStep::ALL.iter().map(|s| s.as_str()).collect(),
            ),
        ] {
            let allowed = check(column);
            for w in words {
                assert!(allowed.contains(&format!("'{w}'")), "{w} in {allowed}");
            }
        }
    }
}
