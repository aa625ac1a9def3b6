//! Orders and their payment: placed, paid, cancelled, refunded, and the payments the admin
//! must check.

use super::{AccountHolder, Block, Email, Reader, Site, action, compose, facts, p};
use crate::domain::Money;
use crate::domain::phone::pretty;

pub struct OrderPlaced<'a> {
    pub order_id: i64,
    /// The number's ten digits.
    pub number: &'a str,
    pub plan: &'a str,
    pub setup: Money,
    pub monthly: Money,
    pub total: Money,
    pub hold_minutes: u32,
    /// When the hold ends, formatted for people.
    pub hold_until: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn order_placed_customer(site: &Site, f: &OrderPlaced<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!(
            "order {} for {n}, held for {} minutes",
            f.order_id, f.hold_minutes
        ),
        &[
            p(format!(
                "Your order {} is placed and {n} is held for you for {} minutes, until {}.",
                f.order_id, f.hold_minutes, f.hold_until
            )),
            facts([
                ("Number", n.clone()),
                ("Plan", f.plan.to_string()),
                (
                    "Due today",
                    format!(
                        "{} (setup {} + first month {})",
                        f.total, f.setup, f.monthly
                    ),
                ),
            ]),
            action(
                "To pay, or to give the number up, open your order page",
                site.link(&format!("/orders/{}", f.order_id)),
            ),
            p(
                "If the payment has not arrived when the hold ends, the number goes back on sale and nothing is charged.",
            ),
        ],
    )
}

pub fn order_placed_admin(site: &Site, f: &OrderPlaced<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("new order {} for {n} from {}", f.order_id, f.customer.email),
        &[
            p(format!(
                "New order {} from {}: {n} on plan {} for {}, awaiting payment. The number is held until {}.",
                f.order_id, f.customer, f.plan, f.total, f.hold_until
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

pub struct PaymentReceived<'a> {
    pub order_id: i64,
    pub number: &'a str,
    pub plan: &'a str,
    pub setup: Money,
    pub monthly: Money,
    pub total: Money,
    pub invoice_id: i64,
    pub invoice_number: &'a str,
    /// The last day paid for, formatted for people.
    pub paid_through: &'a str,
    pub customer: AccountHolder<'a>,
}

fn invoice_facts(f: &PaymentReceived<'_>, n: &str) -> Block {
    facts([
        ("Invoice", f.invoice_number.to_string()),
        (&format!("Setup fee, {n}"), f.setup.to_string()),
        (
            &format!("First month, plan {}", f.plan),
            f.monthly.to_string(),
        ),
        ("Total paid", f.total.to_string()),
        ("Paid through", f.paid_through.to_string()),
    ])
}

pub fn payment_received_customer(site: &Site, f: &PaymentReceived<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("payment received for {n}, invoice {}", f.invoice_number),
        &[
            p(format!(
                "Thank you, we received your payment. We now set up {n}; you get an email as soon as it is active."
            )),
            invoice_facts(f, &n),
            action(
                "Your invoice",
                site.link(&format!("/invoices/{}", f.invoice_id)),
            ),
        ],
    )
}

pub fn payment_received_admin(site: &Site, f: &PaymentReceived<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!(
            "{} paid for {n}, invoice {}",
            f.customer.email, f.invoice_number
        ),
        &[
            p(format!(
                "Order {} from {} is paid; {n} waits for activation on View Orders.",
                f.order_id, f.customer
            )),
            invoice_facts(f, &n),
            action(
                "Activate it on View Orders",
                site.admin_orders_for(f.number),
            ),
            action(
                "The invoice",
                site.link(&format!("/invoices/{}", f.invoice_id)),
            ),
        ],
    )
}

/// PayPal captured a different amount than the order's: the order stays unpaid.
pub struct AmountDiffers<'a> {
    pub order_id: i64,
    pub number: &'a str,
    /// What was captured and what was expected, in a sentence.
    pub reason: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn amount_differs_admin(site: &Site, f: &AmountDiffers<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!(
            "CHECK payment for order {} ({n}): amount differs",
            f.order_id
        ),
        &[
            p(format!("{}.", f.reason)),
            facts([
                ("Order", f.order_id.to_string()),
                ("Number", n.clone()),
                ("Customer", f.customer.to_string()),
            ]),
            p(
                "The order was not marked paid and the number stays held. Check the payment in PayPal and refund or settle it.",
            ),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

/// A payment arrived after the hold ended and the number had been sold to someone else.
pub struct NumberLost<'a> {
    pub order_id: i64,
    pub number: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn number_lost_admin(site: &Site, f: &NumberLost<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!(
            "CHECK payment for order {} ({n}): number already sold",
            f.order_id
        ),
        &[
            p(format!(
                "{} paid order {} after its hold ran out, and {n} had gone to another buyer.",
                f.customer, f.order_id
            )),
            action(
                "Refund this payment from the order page",
                site.link(&format!("/orders/{}", f.order_id)),
            ),
        ],
    )
}

/// PayPal reversed a payment or opened a dispute about an order.
pub struct PaymentAlert<'a> {
    pub order_id: i64,
    pub number: &'a str,
    /// What PayPal reported, in words.
    pub what: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn payment_alert_admin(site: &Site, f: &PaymentAlert<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!(
            "CHECK order {} ({n}, {}): {}",
            f.order_id, f.customer.email, f.what
        ),
        &[
            p(format!(
                "For order {} ({n}, customer {}), {}.",
                f.order_id, f.customer, f.what
            )),
            p(
                "Nothing was changed automatically: check the case in PayPal, then decide whether to suspend or cancel the number.",
            ),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

/// PayPal reported a reversal or dispute that matches no order here.
pub struct UnmatchedPaymentEvent<'a> {
    pub event_type: &'a str,
    pub event_id: &'a str,
    pub capture_id: &'a str,
    pub paypal_order_id: &'a str,
}

pub fn unmatched_payment_event_admin(site: &Site, f: &UnmatchedPaymentEvent<'_>) -> Email {
    compose(
        site,
        Reader::Admin,
        &format!("CHECK PayPal {} for no known order", f.event_type),
        &[
            p(format!(
                "PayPal sent {} (event {}, capture {}, order {}), and no order here matches it.",
                f.event_type, f.event_id, f.capture_id, f.paypal_order_id
            )),
            p("Look it up in PayPal's dashboard."),
            action(
                "Payments in the audit log",
                site.link("/admin/audit?actor=paypal"),
            ),
        ],
    )
}

pub struct OrderCancelled<'a> {
    pub order_id: i64,
    pub number: &'a str,
}

pub fn order_cancelled_customer(site: &Site, f: &OrderCancelled<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("order {} for {n} is cancelled", f.order_id),
        &[
            p(format!(
                "You cancelled order {} for {n}. Nothing was charged, and the number is no longer held for you.",
                f.order_id
            )),
            action(
                "If you change your mind, the number may still be free",
                site.link(&format!("/numbers/{}", f.number)),
            ),
        ],
    )
}

pub struct OrderRefunded<'a> {
    pub order_id: i64,
    pub number: &'a str,
    pub amount: Money,
    pub credit_note: &'a str,
    pub invoice_id: Option<i64>,
    /// The number was active, so Telinta still has it assigned.
    pub was_active: bool,
    /// Why it was refunded, as the admin or PayPal gave it.
    pub reason: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn order_refunded_customer(site: &Site, f: &OrderRefunded<'_>) -> Email {
    let n = pretty(f.number);
    let mut blocks = vec![
        p(format!(
            "We refunded {} for order {} ({n}), credit note {}.",
            f.amount, f.order_id, f.credit_note
        )),
        p(
            "The money goes back to you the way you paid; your bank or PayPal may take a few days to show it.",
        ),
        p(format!(
            "{n} is no longer yours{}.",
            if f.was_active {
                " and stops taking calls for you"
            } else {
                ""
            }
        )),
    ];
    if let Some(i) = f.invoice_id {
        blocks.push(action(
            "Invoice and credit note",
            site.link(&format!("/invoices/{i}")),
        ));
    }
    compose(
        site,
        Reader::Customer,
        &format!("refund of {} for {n}", f.amount),
        &blocks,
    )
}

pub fn order_refunded_admin(site: &Site, f: &OrderRefunded<'_>) -> Email {
    let n = pretty(f.number);
    let mut blocks = vec![
        p(format!(
            "Order {} of {} for {n} was refunded ({}): {}, credit note {}.",
            f.order_id, f.customer, f.reason, f.amount, f.credit_note
        )),
        p("The number is cancelled for this customer and back on sale."),
    ];
    if f.was_active {
        blocks.push(p(format!(
            "{n} was active, so Telinta still has it assigned to this customer. In Telinta, block or \
             delete the account 1{} and release the number from the customer in the DID inventory \
             before it is sold again; until then a new buyer's activation stops at \"assign the number\".",
            f.number
        )));
    }
    blocks.push(action(
        "The order on View Orders",
        site.admin_orders_for(f.number),
    ));
    compose(
        site,
        Reader::Admin,
        &format!(
            "order {} ({n}) of {} refunded, {}",
            f.order_id, f.customer.email, f.amount
        ),
        &blocks,
    )
}
