//! Checkout: hold the number, create the order with the amount from the database, and tell the
//! customer and the admin. Payment gateways take over from the order.

use super::{Internal, Services, notify};
use crate::clock::format_utc;
use crate::domain::{MailEvent, Money, PaymentStatus, PhoneNumber};
use crate::emails;
use crate::store::audit::{Entry, Outcome};
use crate::store::orders::{self, NewOrder};
use crate::store::plans;
use crate::store::users::User;

#[derive(Debug)]
pub enum CheckoutError {
    /// The number is not a phone number or not in the inventory.
    UnknownNumber,
    /// Someone else holds or owns it.
    NotAvailable,
    /// The plan does not exist or is retired.
    BadPlan,
    /// The plan is limited to another type of number (local, toll-free).
    PlanDoesNotFit {
        plan: String,
        number_type: &'static str,
    },
    Internal(Internal),
}

internal_errors!(CheckoutError);

/// Holds `number` for `user` on `plan`; returns the new order's id.
pub fn start(
    s: &Services,
    user: &User,
    number: &str,
    plan: &str,
    address: &str,
) -> Result<i64, CheckoutError> {
    let number = PhoneNumber::parse(number).map_err(|_| CheckoutError::UnknownNumber)?;
    let plan_id: i64 = plan.trim().parse().map_err(|_| CheckoutError::BadPlan)?;
    let now = s.now();
    let hold_until = now + i64::from(s.config.hold_minutes) * 60;
    let currency = s.config.currency;
    let site = notify::site(s);
    let admin = s.config.admin_email.as_ref().map(ToString::to_string);
    let id = super::change(s, now, |tx, r| {
        let plan = plans::get(tx, plan_id)?
            .filter(|p| p.active)
            .ok_or(CheckoutError::BadPlan)?;
        let Some(row) = crate::store::numbers::get(tx, &number)? else {
            return Err(CheckoutError::UnknownNumber);
        };
        // Checked before anything is held, so a forged form changes nothing.
        if !plan.number_type.fits(row.kind) {
            return Err(CheckoutError::PlanDoesNotFit {
                plan: plan.name.clone(),
                number_type: row.kind.label(),
            });
        }
        // A hold that ran out is released now rather than at the next housekeeping pass.
        for stale in orders::expired_holds_for(tx, &number, now)? {
            orders::release(
                tx,
                stale,
                PaymentStatus::Expired,
                "the hold ran out before payment",
                now,
            )?;
        }
        let id = orders::create_with_hold(
            tx,
            &NewOrder {
                user_id: user.id,
                number: &number,
                plan: &plan,
                currency: currency.as_str(),
                // Marked for PayPal before PayPal is asked, so an order cut short on the way is
                // known to be waiting for a PayPal order that the buyer never saw.
                gateway: if s.payments.is_some() {
                    "paypal"
                } else {
                    "manual"
                },
                hold_until,
            },
            now,
        )?
        .ok_or(CheckoutError::NotAvailable)?;
        let amount = Money::new(plan.setup_cents + plan.monthly_cents, currency);
        let hold_until = format_utc(hold_until);
        let facts = emails::orders::OrderPlaced {
            order_id: id,
            number: number.digits(),
            plan: &plan.name,
            setup: Money::new(plan.setup_cents, currency),
            monthly: Money::new(plan.monthly_cents, currency),
            total: amount,
            hold_minutes: s.config.hold_minutes,
            hold_until: &hold_until,
            customer: emails::AccountHolder {
                name: &user.name,
                email: &user.email,
            },
        };
        r.email(
            MailEvent::OrderPlaced,
            &user.email,
            &emails::orders::order_placed_customer(&site, &facts),
        )?;
        r.admin_email(MailEvent::OrderPlaced, admin.as_deref(), || {
            emails::orders::order_placed_admin(&site, &facts)
        })?;
        r.audit(&Entry {
            actor_id: Some(user.id),
            actor: &user.email,
            action: "order_create",
            subject: number.digits(),
            outcome: Outcome::Ok,
            detail: &format!("order {id}, plan {}, {amount}", plan.name),
            address,
        })?;
        Ok(id)
    })?;
    Ok(id)
}

/// Ends unpaid orders whose hold ran out and puts their numbers back on sale.
pub fn expire_holds(s: &Services) -> Result<usize, Internal> {
    let now = s.now();
    let n = s.store.write(|tx| {
        let mut n = 0;
        for id in orders::expired_holds(tx, now)? {
            if orders::release(
                tx,
                id,
                PaymentStatus::Expired,
                "the hold ran out before payment",
                now,
            )? {
                n += 1;
            }
        }
        Ok::<_, crate::store::Error>(n)
    })?;
    if n > 0 {
        log::info!("released {n} numbers whose checkout hold ran out");
    }
    Ok(n)
}
