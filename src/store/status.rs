//! How the domain's states are stored: each as its word in a `TEXT` column whose `CHECK` lists
//! the same words. This is the one place where a status is read from or written to a row.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::domain::plan::PlanNumberType;
use crate::domain::{BillingStep, InvoiceStatus, NumberStatus, OutboxStatus, PaymentStatus};

macro_rules! stored_as_word {
    ($t:ty) => {
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let word = value.as_str()?;
                <$t>::parse(word).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} {word:?}", stringify!($t)).into())
                })
            }
        }
    };
}

stored_as_word!(PaymentStatus);
stored_as_word!(NumberStatus);
stored_as_word!(PlanNumberType);
stored_as_word!(InvoiceStatus);
stored_as_word!(OutboxStatus);
stored_as_word!(BillingStep);
stored_as_word!(super::audit::Outcome);

/// `'a', 'b'` for a guard such as `WHERE payment_status IN (…)`. The words are the enums' own
/// constants, never input, so they are safe to write into the statement.
pub(crate) fn sql_list<T: Copy>(items: &[T], word: impl Fn(T) -> &'static str) -> String {
    if items.is_empty() {
        // `IN ()` is a syntax error in SQLite; a list that matches nothing says the same.
        return "NULL".to_string();
    }
    items
        .iter()
        .map(|i| format!("'{}'", word(*i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The payment states from which `to` may be reached, for an UPDATE's guard.
pub(crate) fn payment_sources(to: PaymentStatus) -> String {
    sql_list(&PaymentStatus::sources(to), PaymentStatus::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_list_the_table() {
        assert_eq!(payment_sources(PaymentStatus::Refunded), "'paid'");
        assert_eq!(
            payment_sources(PaymentStatus::Paid),
            "'awaiting_payment', 'failed', 'expired', 'cancelled'"
        );
        assert_eq!(
            sql_list::<PaymentStatus>(&[], PaymentStatus::as_str),
            "NULL"
        );
    }

    #[test]
    fn unknown_words_are_errors_not_guesses() {
        let c = rusqlite::Connection::open_in_memory().unwrap();
        let got: rusqlite::Result<PaymentStatus> =
            c.query_row("SELECT 'settled'", [], |r| r.get(0));
        assert!(got.is_err());
        let ok: NumberStatus = c.query_row("SELECT 'active'", [], |r| r.get(0)).unwrap();
        assert_eq!(ok, NumberStatus::Active);
    }
}
