//! One badge per state, colour plus words. Every match is exhaustive: a new state does not
//! compile until it has its own badge, so nothing is ever shown as some other state.

use maud::{Markup, html};

use crate::domain::{NumberStatus, PaymentStatus};

/// An order's payment, as the buyer and the admin see it.
pub fn payment(status: PaymentStatus) -> Markup {
    let class = match status {
        PaymentStatus::Paid => "badge badge-ok",
        PaymentStatus::AwaitingPayment => "badge badge-wait",
        PaymentStatus::Refunded => "badge badge-info",
        PaymentStatus::Failed => "badge badge-bad",
        PaymentStatus::Expired | PaymentStatus::Cancelled => "badge badge-off",
    };
    html! { span class=(class) data-payment=(status.as_str()) { (status.label()) } }
}

/// A purchased number's status for the admin (the words of View Orders).
pub fn number(status: NumberStatus) -> Markup {
    let class = match status {
        NumberStatus::Active => "badge badge-ok",
        NumberStatus::Pending => "badge badge-wait",
        NumberStatus::Suspended => "badge badge-bad",
        NumberStatus::Cancelled => "badge badge-off",
    };
    html! { span class=(class) { (status.label()) } }
}

/// A purchased number's status for its owner, in the customer's words.
pub fn my_number(status: NumberStatus) -> Markup {
    match status {
        NumberStatus::Active => html! { span.badge.badge-ok { "Active" } },
        NumberStatus::Pending => html! { span.badge.badge-wait { "Being set up" } },
        NumberStatus::Suspended => html! { span.badge.badge-bad { "Suspended" } },
        NumberStatus::Cancelled => html! { span.badge.badge-off { "Cancelled" } },
    }
}
