//! The states of an order's payment and of a purchased number, and the one table that says
//! which changes are allowed. Every writer asks [`payment_change`] or [`number_change`] first,
//! and the store's UPDATEs are guarded by the same table ([`PaymentStatus::sources`],
//! [`NumberStatus::sources`]), so a page, a webhook, reconciliation and a forged form all meet
//! the same rules. `docs/contract.md` (§3) states them for operators.

use std::fmt;

/// Where an order's money stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// The number is held while the buyer pays.
    AwaitingPayment,
    Paid,
    /// The gateway declined or could not start the payment.
    Failed,
    /// The hold ran out before the payment arrived.
    Expired,
    /// The buyer gave up before paying.
    Cancelled,
    /// The money went back to the buyer.
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 6] = [
        PaymentStatus::AwaitingPayment,
        PaymentStatus::Paid,
        PaymentStatus::Failed,
        PaymentStatus::Expired,
        PaymentStatus::Cancelled,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::AwaitingPayment => "awaiting_payment",
            PaymentStatus::Paid => "paid",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Expired => "expired",
            PaymentStatus::Cancelled => "cancelled",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// How a person reads it.
    pub fn label(self) -> &'static str {
        match self {
            PaymentStatus::AwaitingPayment => "Awaiting payment",
            PaymentStatus::Paid => "Paid",
            PaymentStatus::Failed => "Payment failed",
            PaymentStatus::Expired => "Expired",
            PaymentStatus::Cancelled => "Cancelled",
            PaymentStatus::Refunded => "Refunded",
        }
    }

    /// No payment is expected any more and none was kept.
    pub fn is_closed_unpaid(self) -> bool {
        matches!(
            self,
            PaymentStatus::Failed | PaymentStatus::Expired | PaymentStatus::Cancelled
        )
    }

    /// The states from which `to` may be reached (the store's `WHERE payment_status IN (…)`).
    pub fn sources(to: PaymentStatus) -> Vec<PaymentStatus> {
        PaymentStatus::ALL
            .into_iter()
            .filter(|from| payment_change(*from, to).is_ok())
            .collect()
    }
}

impl fmt::Display for PaymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a change was refused, in words for the person who asked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether an order's payment may move from `from` to `to`.
///
/// - An order awaiting payment ends one way: paid, failed, expired or cancelled.
/// - Money that moved is always recorded: a capture that completes after the order ended
///   unpaid (a late approval, a race with the buyer's cancel) makes it `paid`, and the store
///   flags it for a refund when the number went to someone else meanwhile.
/// - Only a paid order can be refunded, and a refund is final.
pub fn payment_change(from: PaymentStatus, to: PaymentStatus) -> Result<(), Refused> {
    use PaymentStatus::*;
    let ok = match (from, to) {
        (AwaitingPayment, Failed | Expired | Cancelled) => true,
        (AwaitingPayment | Failed | Expired | Cancelled, Paid) => true,
        (Paid, Refunded) => true,
        (AwaitingPayment | Paid | Failed | Expired | Cancelled | Refunded, _) => false,
    };
    if ok {
        return Ok(());
    }
    Err(Refused(match (from, to) {
        (Refunded, _) => "This order was refunded; it cannot change any more.".to_string(),
        (Paid, Paid) => "This order is already paid.".to_string(),
        (Paid, Cancelled | Failed | Expired) => {
            "This order is paid. To give the money back, refund it.".to_string()
        }
        (_, Refunded) => format!(
            "Only a paid order can be refunded; this one is {}.",
            from.label().to_lowercase()
        ),
        (_, Cancelled) => format!(
            "Only an order awaiting payment can be cancelled; this one is {}.",
            from.label().to_lowercase()
        ),
        _ => format!(
            "An order that is {} cannot become {}.",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        ),
    }))
}

/// The status of a number once paid for: what the admin changes on View Orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberStatus {
    /// Paid, not yet activated at Telinta.
    Pending,
    Active,
    Suspended,
    Cancelled,
}

impl NumberStatus {
    pub const ALL: [NumberStatus; 4] = [
        NumberStatus::Pending,
        NumberStatus::Active,
        NumberStatus::Suspended,
        NumberStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NumberStatus::Pending => "pending",
            NumberStatus::Active => "active",
            NumberStatus::Suspended => "suspended",
            NumberStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<NumberStatus> {
        NumberStatus::ALL.into_iter().find(|n| n.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            NumberStatus::Pending => "Pending",
            NumberStatus::Active => "Active",
            NumberStatus::Suspended => "Suspended",
            NumberStatus::Cancelled => "Cancelled",
        }
    }

    /// The states from which `to` may be reached while the order's payment is `payment`.
    pub fn sources(to: NumberStatus, payment: PaymentStatus) -> Vec<NumberStatus> {
        NumberStatus::ALL
            .into_iter()
            .filter(|from| number_change(*from, to, payment).is_ok())
            .collect()
    }

    /// What the admin may choose next for a number in this state (the current state first,
    /// so a form can show it selected).
    pub fn targets(self, payment: PaymentStatus) -> Vec<NumberStatus> {
        std::iter::once(self)
            .chain(
                NumberStatus::ALL
                    .into_iter()
                    .filter(|to| *to != self && number_change(self, *to, payment).is_ok()),
            )
            .collect()
    }
}

impl fmt::Display for NumberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a purchased number may move from `from` to `to` while its order's payment is
/// `payment`.
///
/// - The number of a refunded order is `cancelled` for good: it went back on sale.
/// - `active` (which runs the activation at Telinta) needs a paid order. That the number is
///   still sold to this order is checked by the store's guarded UPDATE, against the inventory.
/// - Otherwise any status may follow any other; the same status again is no change.
pub fn number_change(
    from: NumberStatus,
    to: NumberStatus,
    payment: PaymentStatus,
) -> Result<(), Refused> {
    if from == to {
        return Err(Refused(format!("The number is already {to}.")));
    }
    match payment {
        PaymentStatus::Refunded => Err(Refused(
            "This order was refunded and its number went back on sale, so it stays cancelled. \
             A buyer who wants it again places a new order."
                .to_string(),
        )),
        PaymentStatus::Paid => Ok(()),
        other if to == NumberStatus::Active => Err(Refused(format!(
            "Only a paid order's number can be activated; this order is {}.",
            other.label().to_lowercase()
        ))),
        // A purchased number exists only for an order that was paid; an order in another
        // state keeps its number's status where it is.
        other => Err(Refused(format!(
            "This order is {}, so its number's status cannot change.",
            other.label().to_lowercase()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use NumberStatus as N;
    use PaymentStatus as P;

    #[test]
    fn names_round_trip() {
        for p in P::ALL {
            assert_eq!(P::parse(p.as_str()), Some(p));
        }
        for n in N::ALL {
            assert_eq!(N::parse(n.as_str()), Some(n));
        }
        assert_eq!(P::parse("Paid"), None);
        assert_eq!(N::parse(""), None);
    }

    /// The whole payment table, written out: every pair is either here or refused.
    #[test]
    fn payment_table() {
        let allowed = [
            (P::AwaitingPayment, P::Paid),
            (P::AwaitingPayment, P::Failed),
            (P::AwaitingPayment, P::Expired),
            (P::AwaitingPayment, P::Cancelled),
            (P::Failed, P::Paid),
            (P::Expired, P::Paid),
            (P::Cancelled, P::Paid),
            (P::Paid, P::Refunded),
        ];
        for from in P::ALL {
            for to in P::ALL {
                let got = payment_change(from, to);
                assert_eq!(
                    got.is_ok(),
                    allowed.contains(&(from, to)),
                    "{from} → {to}: {got:?}"
                );
                if let Err(Refused(why)) = got {
                    assert!(!why.is_empty());
                }
            }
        }
    }

    #[test]
    fn refunds_are_final_and_only_from_paid() {
        for to in P::ALL {
            assert!(payment_change(P::Refunded, to).is_err());
        }
        assert_eq!(P::sources(P::Refunded), vec![P::Paid]);
        assert_eq!(P::sources(P::Cancelled), vec![P::AwaitingPayment]);
        let why = payment_change(P::Paid, P::Cancelled).unwrap_err();
        assert!(why.0.contains("refund"), "{why}");
    }

    #[test]
    fn number_table() {
        for payment in P::ALL {
            for from in N::ALL {
                for to in N::ALL {
                    let got = number_change(from, to, payment);
                    let expect = from != to && payment == P::Paid;
                    assert_eq!(got.is_ok(), expect, "{from} → {to} ({payment}): {got:?}");
                }
            }
        }
    }

    #[test]
    fn a_refunded_orders_number_is_cancelled_for_good() {
        assert!(N::Cancelled.targets(P::Refunded) == vec![N::Cancelled]);
        let why = number_change(N::Cancelled, N::Active, P::Refunded).unwrap_err();
        assert!(why.0.contains("refunded"), "{why}");
        assert!(N::sources(N::Active, P::Refunded).is_empty());
    }

    #[test]
    fn activation_needs_a_paid_order() {
        assert!(number_change(N::Pending, N::Active, P::Paid).is_ok());
        for p in [P::AwaitingPayment, P::Failed, P::Expired, P::Cancelled] {
            let why = number_change(N::Pending, N::Active, p).unwrap_err();
            assert!(why.0.contains("paid"), "{why}");
        }
    }

    #[test]
    fn targets_start_with_the_current_state() {
        assert_eq!(
            N::Pending.targets(P::Paid),
            vec![N::Pending, N::Active, N::Suspended, N::Cancelled]
        );
        assert_eq!(N::Active.targets(P::Paid)[0], N::Active);
        assert_eq!(
            N::sources(N::Active, P::Paid),
            vec![N::Pending, N::Suspended, N::Cancelled]
        );
    }
}
