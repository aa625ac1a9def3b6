//! Monthly renewals: the invoice, the payment, the overdue notice, suspension and
//! reactivation, and cancelling at the end of the period.

use super::{AccountHolder, Email, Reader, Site, action, compose, facts, p};
use crate::domain::Money;
use crate::domain::phone::pretty;

pub struct RenewalDue<'a> {
    pub number: &'a str,
    pub invoice_id: i64,
    pub invoice_number: &'a str,
    pub amount: Money,
    /// The last day paid for, which is when the renewal is due.
    pub paid_through: &'a str,
    /// The end of the month the invoice pays for.
    pub period_end: &'a str,
    pub grace_days: u32,
}

pub fn renewal_due_customer(site: &Site, f: &RenewalDue<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} renews on {}, {}", f.paid_through, f.amount),
        &[
            p(format!(
                "Your number {n} is paid through {}. Invoice {} for the next month ({} to {}) is ready: {}.",
                f.paid_through, f.invoice_number, f.paid_through, f.period_end, f.amount
            )),
            action(
                "Pay it here",
                site.link(&format!("/invoices/{}", f.invoice_id)),
            ),
            p(format!(
                "If it is not paid by {}, calls to {n} stop {} days later.",
                f.paid_through, f.grace_days
            )),
            action(
                "Don't want to keep the number? Stop renewing on its page",
                site.my_number(f.number),
            ),
        ],
    )
}

pub struct RenewalPayment<'a> {
    pub number: &'a str,
    pub invoice_id: i64,
    pub amount: Money,
    pub paid_through: &'a str,
    /// Who recorded the payment: `PayPal`, or the admin who recorded it offline.
    pub by: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn renewal_paid_customer(site: &Site, f: &RenewalPayment<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} renewed through {}", f.paid_through),
        &[
            p(format!(
                "Thank you: we received {} for {n}. It is paid through {}.",
                f.amount, f.paid_through
            )),
            action("Invoice", site.link(&format!("/invoices/{}", f.invoice_id))),
        ],
    )
}

pub fn renewal_paid_admin(site: &Site, f: &RenewalPayment<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{} renewed {n}, {}", f.customer.email, f.amount),
        &[
            p(format!(
                "{} paid the renewal of {n} ({}, {}); paid through {}.",
                f.customer, f.amount, f.by, f.paid_through
            )),
            action("Renewals and billing", site.link("/admin/billing")),
        ],
    )
}

pub struct PaymentOverdue<'a> {
    pub number: &'a str,
    pub paid_through: &'a str,
    /// The open renewal invoice, when there is one.
    pub invoice_id: Option<i64>,
    pub grace_days: u32,
}

pub fn payment_overdue_customer(site: &Site, f: &PaymentOverdue<'_>) -> Email {
    let n = pretty(f.number);
    let mut blocks = vec![p(format!(
        "The month paid for {n} ends today, {}, and its renewal is not paid yet.",
        f.paid_through
    ))];
    blocks.push(match f.invoice_id {
        Some(i) => action(
            "Pay it here so the number keeps working",
            site.link(&format!("/invoices/{i}")),
        ),
        None => action("Pay it from your numbers", site.link("/my")),
    });
    blocks.push(p(format!(
        "Without payment, calls to {n} stop in {} days.",
        f.grace_days
    )));
    compose(
        site,
        Reader::Customer,
        &format!("the renewal of {n} is due today"),
        &blocks,
    )
}

pub struct Suspended<'a> {
    pub number: &'a str,
    /// The day the unpaid renewal was due.
    pub since: &'a str,
    pub days_overdue: i64,
    pub invoice_id: Option<i64>,
    pub customer: AccountHolder<'a>,
}

pub fn suspended_customer(site: &Site, f: &Suspended<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} is suspended: renewal unpaid"),
        &[
            p(format!(
                "The renewal of {n} has been unpaid since {}, so the number is suspended and takes \
                 no calls. It is still yours: pay the open invoice and it works again at once.",
                f.since
            )),
            match f.invoice_id {
                Some(i) => action("Pay the open invoice", site.link(&format!("/invoices/{i}"))),
                None => action("Your numbers", site.link("/my")),
            },
        ],
    )
}

pub fn suspended_admin(site: &Site, f: &Suspended<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{n} suspended for non-payment ({})", f.customer.email),
        &[
            p(format!(
                "{n} of {} is suspended: the renewal due {} is {} days overdue. Its Telinta \
                 account 1{} is blocked. Paying the invoice unblocks it.",
                f.customer, f.since, f.days_overdue, f.number
            )),
            action("Renewals and billing", site.link("/admin/billing")),
        ],
    )
}

pub struct SuspensionFailed<'a> {
    pub number: &'a str,
    pub days_overdue: i64,
    pub error: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn suspension_failed_admin(site: &Site, f: &SuspensionFailed<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("could not suspend {n} ({})", f.customer.email),
        &[
            p(format!(
                "{n} of {} is {} days overdue and should be suspended, but blocking its Telinta \
                 account failed:",
                f.customer, f.days_overdue
            )),
            super::Block::Quote(f.error.to_string()),
            p(
                "Nothing changed in the portal; the number is still active. The next renewal run tries again.",
            ),
            action("Renewals and billing", site.link("/admin/billing")),
        ],
    )
}

pub struct Reactivated<'a> {
    pub number: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn reactivated_customer(site: &Site, f: &Reactivated<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} works again"),
        &[
            p(format!(
                "Thank you for paying. {n} is active again and takes calls."
            )),
            action("Your number's page", site.my_number(f.number)),
        ],
    )
}

pub fn reactivated_admin(site: &Site, f: &Reactivated<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{n} of {} reactivated", f.customer.email),
        &[
            p(format!(
                "{} paid the overdue renewal of {n}; its Telinta account 1{} is unblocked and the \
                 number is active again.",
                f.customer, f.number
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

pub struct CancellationScheduled<'a> {
    pub number: &'a str,
    /// The last day paid for: the number is cancelled after it.
    pub until: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn cancellation_scheduled_customer(site: &Site, f: &CancellationScheduled<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} stops renewing on {}", f.until),
        &[
            p(format!(
                "As you asked, {n} will not renew. It keeps working until {}, then it is \
                 cancelled and nothing more is charged.",
                f.until
            )),
            action(
                "Changed your mind? Keep it from its page before then",
                site.my_number(f.number),
            ),
        ],
    )
}

pub fn cancellation_scheduled_admin(site: &Site, f: &CancellationScheduled<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{} stops renewing {n}", f.customer.email),
        &[
            p(format!(
                "{} asked to stop renewing {n}; it is cancelled on {}.",
                f.customer, f.until
            )),
            action("Renewals and billing", site.link("/admin/billing")),
        ],
    )
}

pub struct Cancelled<'a> {
    pub number: &'a str,
    /// The last day paid for.
    pub as_of: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn cancelled_customer(site: &Site, f: &Cancelled<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("{n} is cancelled"),
        &[
            p(format!(
                "As you asked, {n} stopped renewing and is cancelled as of {}. Nothing more will \
                 be charged for it.",
                f.as_of
            )),
            facts([
                ("Number", n.clone()),
                ("Cancelled as of", f.as_of.to_string()),
            ]),
            action("Find another number", site.link("/")),
        ],
    )
}

pub fn cancelled_admin(site: &Site, f: &Cancelled<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{n} cancelled by {}", f.customer.email),
        &[
            p(format!(
                "{} stopped renewing {n}; it is cancelled as of {} and back on sale.",
                f.customer, f.as_of
            )),
            p(format!(
                "At Telinta, block or delete the account 1{} and release the number from the \
                 customer in the DID inventory before it is sold again.",
                f.number
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}
