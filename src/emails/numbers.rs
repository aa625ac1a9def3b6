//! A number's life after payment: activation, status changes, and the customer's settings.
//! No PIN is ever a fact here: the customer's copy may name their own forwarding number, the
//! admin's says only what kind of change was made.

use super::{AccountHolder, Block, Email, Reader, Site, action, compose, p};
use crate::domain::NumberStatus;
use crate::domain::phone::pretty;

pub struct NumberActivated<'a> {
    pub order_id: i64,
    pub number: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn number_activated_customer(site: &Site, f: &NumberActivated<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("your number {n} is active"),
        &[
            p(format!(
                "Your number {n} is active: calls to it now reach you."
            )),
            action(
                "Set its PIN and where calls are forwarded on its page",
                site.my_number(f.number),
            ),
        ],
    )
}

pub fn number_activated_admin(site: &Site, f: &NumberActivated<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{n} of {} is active", f.customer.email),
        &[
            p(format!(
                "{n} (order {}) is active at Telinta and in the portal for {}.",
                f.order_id, f.customer
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

pub struct ActivationFailed<'a> {
    pub order_id: i64,
    pub number: &'a str,
    /// The activation step that failed, in words.
    pub step: &'a str,
    /// Telinta's answer, as given.
    pub message: &'a str,
    /// The number's status, unchanged.
    pub status: NumberStatus,
    pub customer: AccountHolder<'a>,
}

pub fn activation_failed_admin(site: &Site, f: &ActivationFailed<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("activation of {n} failed ({})", f.customer.email),
        &[
            p(format!(
                "Activating {n} (order {}, customer {}) failed at step \"{}\":",
                f.order_id, f.customer, f.step
            )),
            Block::Quote(f.message.to_string()),
            p(format!(
                "Nothing changed in the portal; the number is still {}. Fix the cause and choose \
                 \"active\" again: each step checks before it acts, so nothing is duplicated.",
                f.status
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
        ],
    )
}

/// A renewal was paid for a suspended number, but unblocking it at Telinta failed.
pub struct ReactivationFailed<'a> {
    pub number: &'a str,
    pub error: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn reactivation_failed_admin(site: &Site, f: &ReactivationFailed<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("could not reactivate {n} ({})", f.customer.email),
        &[
            p(format!(
                "{} paid the overdue renewal of {n}, but unblocking its Telinta account failed:",
                f.customer
            )),
            Block::Quote(f.error.to_string()),
            p(
                "The payment is kept and the number stays suspended; the next renewal run tries again.",
            ),
            action("Renewals and billing", site.link("/admin/billing")),
        ],
    )
}

pub struct StatusChanged<'a> {
    pub number: &'a str,
    pub from: NumberStatus,
    pub to: NumberStatus,
    pub customer: AccountHolder<'a>,
}

/// What a status means to the person who uses the number.
fn meaning(status: NumberStatus) -> &'static str {
    match status {
        NumberStatus::Active => "It takes calls.",
        NumberStatus::Suspended => "It takes no calls for now, and it is still yours.",
        NumberStatus::Cancelled => "It is no longer yours and takes no calls.",
        NumberStatus::Pending => "It does not take calls yet.",
    }
}

pub fn status_changed_customer(site: &Site, f: &StatusChanged<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Customer,
        &format!("your number {n} is now {}", f.to),
        &[
            p(format!(
                "The status of your number {n} changed from {} to {}. {}",
                f.from,
                f.to,
                meaning(f.to)
            )),
            action("Your number's page", site.my_number(f.number)),
        ],
    )
}

pub fn status_changed_admin(site: &Site, f: &StatusChanged<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("{n} of {} is now {}", f.customer.email, f.to),
        &[
            p(format!(
                "The status of {n} of {} changed from {} to {}.",
                f.customer, f.from, f.to
            )),
            action("The order on View Orders", site.admin_orders_for(f.number)),
            action("Its audit log", site.admin_audit_for(f.number)),
        ],
    )
}

pub struct SettingsChanged<'a> {
    pub number: &'a str,
    /// Whether a new PIN was set (never the PIN).
    pub pin: bool,
    /// The new forwarding number, when calls are now forwarded.
    pub forwarding: Option<&'a str>,
    /// Forwarding was turned off.
    pub forwarding_off: bool,
    pub customer: AccountHolder<'a>,
}

pub fn settings_changed_customer(site: &Site, f: &SettingsChanged<'_>) -> Email {
    let n = pretty(f.number);
    let mut changes = Vec::new();
    if f.pin {
        changes.push("PIN changed".to_string());
    }
    if let Some(to) = f.forwarding {
        changes.push(format!("calls forwarded to {}", pretty(to)));
    } else if f.forwarding_off {
        changes.push("forwarding turned off".to_string());
    }
    compose(
        site,
        Reader::Customer,
        &format!("settings of {n} changed"),
        &[
            p(format!(
                "The settings of your number {n} changed: {}.",
                changes.join("; ")
            )),
            p("If you did not make this change, contact us."),
            action("Your number's page", site.my_number(f.number)),
        ],
    )
}

pub fn settings_changed_admin(site: &Site, f: &SettingsChanged<'_>) -> Email {
    let n = pretty(f.number);
    let mut changes = Vec::new();
    if f.pin {
        changes.push("set a new PIN");
    }
    if f.forwarding.is_some() {
        changes.push("changed where calls are forwarded");
    } else if f.forwarding_off {
        changes.push("turned forwarding off");
    }
    compose(
        site,
        Reader::Admin,
        &format!("{} changed the settings of {n}", f.customer.email),
        &[
            p(format!(
                "{} {} for {n}. Telinta took the change and the portal saved it.",
                f.customer,
                changes.join(" and ")
            )),
            action("Its audit log", site.admin_audit_for(f.number)),
        ],
    )
}

pub struct SettingsChangeFailed<'a> {
    pub number: &'a str,
    /// What was asked, in words without the PIN or the forwarding number.
    pub asked: &'a str,
    /// Telinta's answer, as given.
    pub message: &'a str,
    /// What Telinta had taken before it failed, in a sentence.
    pub took: &'a str,
    pub customer: AccountHolder<'a>,
}

pub fn settings_change_failed_admin(site: &Site, f: &SettingsChangeFailed<'_>) -> Email {
    let n = pretty(f.number);
    compose(
        site,
        Reader::Admin,
        &format!("settings change for {n} failed ({})", f.customer.email),
        &[
            p(format!(
                "{} asked to change the settings of {n} ({}). Telinta failed:",
                f.customer, f.asked
            )),
            Block::Quote(f.message.to_string()),
            p(format!("{}; the portal changed nothing.", f.took)),
            action("Its audit log", site.admin_audit_for(f.number)),
        ],
    )
}

/// A settings change cut short by a crash, settled by reconciliation.
pub struct SettingsInterrupted<'a> {
    pub number: &'a str,
    /// What reconciliation found, a sentence each.
    pub findings: &'a [String],
    pub customer: AccountHolder<'a>,
}

pub fn settings_interrupted_admin(site: &Site, f: &SettingsInterrupted<'_>) -> Email {
    let n = pretty(f.number);
    let mut blocks = vec![p(format!(
        "A settings change of {n} by {} was cut short while Telinta was being updated.",
        f.customer
    ))];
    blocks.extend(f.findings.iter().map(p));
    blocks.push(action("Its audit log", site.admin_audit_for(f.number)));
    compose(
        site,
        Reader::Admin,
        &format!("settings change for {n} was interrupted"),
        &blocks,
    )
}
