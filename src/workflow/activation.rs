//! The admin's status change on View Orders. `active` runs the activation flow against the
//! Telinta DID inventory (docs/contract.md §5); every other status changes only the portal. Each step
//! looks before it acts, so running the flow again after a failure finishes the job without
//! duplicating anything upstream. No database transaction is open during a Telinta call.

use super::runs::Work;
use super::{Internal, Services, notify};
use crate::domain::status::number_change;
use crate::domain::{MailEvent, NumberStatus};
use crate::emails;
use crate::integrations::telinta::{
    DidNumber, NewAccount, NewCustomer, Telinta, random_service_password,
};
use crate::store::audit::{Entry, Outcome};
use crate::store::purchased::{self, Purchased};
use crate::store::users::User;

#[derive(Debug, PartialEq, Eq)]
pub enum Changed {
    Changed,
    /// The number already had that status: nothing was done.
    Unchanged,
}

#[derive(Debug)]
pub enum StatusChangeError {
    BadStatus,
    /// No such order, or it has no purchased number (not paid).
    NoNumber,
    /// Someone else changed it, or is activating it right now.
    Moved(String),
    /// The transition table does not allow it (a refunded order, an unpaid one); nothing
    /// changed. The reason is for the admin.
    Refused(String),
    /// The activation failed at a step; the status is unchanged and the admin was emailed.
    Activation {
        step: &'static str,
        message: String,
    },
    Internal(Internal),
}

internal_errors!(StatusChangeError);

/// Changes the status of the number of order `order_id` to `status`, as the admin asked.
pub fn change_status(
    s: &Services,
    admin: &User,
    order_id: i64,
    status: &str,
    address: &str,
) -> Result<Changed, StatusChangeError> {
    let status = NumberStatus::parse(status).ok_or(StatusChangeError::BadStatus)?;
    let (current, customer, payment) = s
        .store
        .read(|tx| {
            let Some(p) = purchased::by_order(tx, order_id)? else {
                return Ok::<_, crate::store::Error>(None);
            };
            let Some(o) = crate::store::orders::get(tx, order_id)? else {
                return Ok(None);
            };
            Ok(crate::store::users::by_id(tx, p.user_id)?.map(|u| (p, u, o.payment_status)))
        })?
        .ok_or(StatusChangeError::NoNumber)?;
    if current.status == status {
        return Ok(Changed::Unchanged);
    }
    if let Err(refused) = number_change(current.status, status, payment) {
        return Err(StatusChangeError::Refused(refused.0));
    }
    if status == NumberStatus::Active {
        let actor = Actor {
            id: Some(admin.id),
            name: &admin.email,
        };
        return activate(s, &actor, &current, &customer, address);
    }
    let now = s.now();
    let site = notify::site(s);
    let admin_email = s.config.admin_email.as_ref().map(ToString::to_string);
    let changed = super::change(s, now, |tx, r| {
        if !purchased::set_status(tx, order_id, current.status, status, now)? {
            return Ok::<_, crate::store::Error>(false);
        }
        let facts = emails::numbers::StatusChanged {
            number: &current.number,
            from: current.status,
            to: status,
            customer: emails::AccountHolder {
                name: &customer.name,
                email: &customer.email,
            },
        };
        r.email(
            MailEvent::NumberStatusChanged,
            &customer.email,
            &emails::numbers::status_changed_customer(&site, &facts),
        )?;
        r.admin_email(
            MailEvent::NumberStatusChanged,
            admin_email.as_deref(),
            || emails::numbers::status_changed_admin(&site, &facts),
        )?;
        r.audit(&Entry {
            actor_id: Some(admin.id),
            actor: &admin.email,
            action: "number_status",
            subject: &current.number,
            outcome: Outcome::Ok,
            detail: &format!("{} → {status}", current.status),
            address,
        })?;
        Ok(true)
    })?;
    if !changed {
        return Err(StatusChangeError::Moved(
            "The status changed while you were looking, or an activation is running. Reload and try again.".into(),
        ));
    }
    Ok(Changed::Changed)
}

/// Who asked for a change, for the audit trail.
pub struct Actor<'a> {
    pub id: Option<i64>,
    pub name: &'a str,
}

/// Runs again an activation whose run died midway (reconciliation found its claim cut short).
/// Each step looks before it acts, so what the first run did upstream is found, not repeated.
pub fn resume(s: &Services, p: &Purchased) -> Result<(), StatusChangeError> {
    let customer = s
        .store
        .read(|tx| crate::store::users::by_id(tx, p.user_id))?
        .ok_or(StatusChangeError::NoNumber)?;
    let actor = Actor {
        id: None,
        name: "reconciliation",
    };
    activate(s, &actor, p, &customer, "").map(|_| ())
}

/// A failed step: which one, and what went wrong.
struct StepError {
    step: &'static str,
    message: String,
}

fn step<T>(
    step: &'static str,
    r: Result<T, crate::integrations::telinta::TelintaError>,
) -> Result<T, StepError> {
    r.map_err(|e| StepError {
        step,
        message: e.to_string(),
    })
}

fn fail(step: &'static str, message: impl Into<String>) -> StepError {
    StepError {
        step,
        message: message.into(),
    }
}

fn activate(
    s: &Services,
    actor: &Actor<'_>,
    current: &Purchased,
    customer: &User,
    address: &str,
) -> Result<Changed, StatusChangeError> {
    let now = s.now();
    // A claim left by a run that is gone (or stuck) is taken over; see workflow/runs.rs.
    let take_over = current.activating_since.filter(|_| {
        s.run.interrupted(
            &s.store,
            Work::Activation,
            current.order_id,
            current.activating_run,
        )
    });
    let run = s.run.id();
    // In progress in this process from before the claim until the outcome is saved (or the
    // thread dies), so reconciliation never takes over a live claim of this run.
    let _tracked = s.run.track(Work::Activation, current.order_id);
    if !s.store.write(|tx| {
        purchased::claim_activation(tx, current.order_id, current.status, now, run, take_over)
    })? {
        // Refused by the rules (the order was refunded meanwhile, the number went to someone
        // else) or by another run: say which, from what the database holds now.
        let why = s.store.read(|tx| {
            let order = crate::store::orders::get(tx, current.order_id)?;
            let now_status = purchased::by_order(tx, current.order_id)?;
            Ok::<_, crate::store::Error>((order, now_status))
        })?;
        // Another admin activated it meanwhile: what was asked for is done.
        if let (Some(_), Some(p)) = &why
            && p.status == NumberStatus::Active
        {
            return Ok(Changed::Unchanged);
        }
        if let (Some(o), Some(p)) = &why
            && let Err(refused) = number_change(p.status, NumberStatus::Active, o.payment_status)
        {
            return Err(StatusChangeError::Refused(refused.0));
        }
        return Err(StatusChangeError::Moved(
            "Another activation of this number is running, its status just changed, or the number \
             is no longer sold to this order. Reload to see it."
                .into(),
        ));
    }
    let result = match &s.telinta {
        None => Err(fail(
            "configuration",
            "Telinta is not configured (DIDPORT_TELINTA_URL)",
        )),
        Some(t) => run_steps(s, t.as_ref(), current, customer),
    };
    let now = s.now();
    let site = notify::site(s);
    let admin_email = s.config.admin_email.as_ref().map(ToString::to_string);
    match result {
        Ok(linked) => {
            let done = super::change(s, now, |tx, r| {
                if let Some(c) = linked {
                    purchased::set_telinta_customer(tx, customer.id, Some(c))?;
                }
                if !purchased::finish_activation(
                    tx,
                    current.order_id,
                    current.status,
                    NumberStatus::Active,
                    None,
                    now,
                )? {
                    return Ok::<_, crate::store::Error>(false);
                }
                let facts = emails::numbers::NumberActivated {
                    order_id: current.order_id,
                    number: &current.number,
                    customer: emails::AccountHolder {
                        name: &customer.name,
                        email: &customer.email,
                    },
                };
                r.email(
                    MailEvent::NumberActivated,
                    &customer.email,
                    &emails::numbers::number_activated_customer(&site, &facts),
                )?;
                r.admin_email(MailEvent::NumberActivated, admin_email.as_deref(), || {
                    emails::numbers::number_activated_admin(&site, &facts)
                })?;
                r.audit(&Entry {
                    actor_id: actor.id,
                    actor: actor.name,
                    action: "number_activate",
                    subject: &current.number,
                    outcome: Outcome::Ok,
                    detail: &format!("{} → active", current.status),
                    address,
                })?;
                Ok(true)
            })?;
            if done {
                Ok(Changed::Changed)
            } else {
                Err(StatusChangeError::Moved(
                    "The status changed while the activation ran. Reload to see it.".into(),
                ))
            }
        }
        Err(e) => {
            let text = format!("{}: {}", e.step, e.message);
            super::change(s, now, |tx, r| {
                purchased::finish_activation(
                    tx,
                    current.order_id,
                    current.status,
                    current.status,
                    Some(&text),
                    now,
                )?;
                r.admin_email(MailEvent::ActivationFailed, admin_email.as_deref(), || {
                    emails::numbers::activation_failed_admin(
                        &site,
                        &emails::numbers::ActivationFailed {
                            order_id: current.order_id,
                            number: &current.number,
                            step: e.step,
                            message: &e.message,
                            status: current.status,
                            customer: emails::AccountHolder {
                                name: &customer.name,
                                email: &customer.email,
                            },
                        },
                    )
                })?;
                r.audit(&Entry {
                    actor_id: actor.id,
                    actor: actor.name,
                    action: "number_activate",
                    subject: &current.number,
                    outcome: Outcome::Failed,
                    detail: &text,
                    address,
                })
            })?;
            Err(StatusChangeError::Activation {
                step: e.step,
                message: e.message,
            })
        }
    }
}

/// Steps 1–6 of the flow; returns the Telinta customer to link when it was found or created.
fn run_steps(
    s: &Services,
    t: &dyn Telinta,
    current: &Purchased,
    customer: &User,
) -> Result<Option<i64>, StepError> {
    let cfg = s
        .config
        .telinta
        .as_ref()
        .ok_or_else(|| fail("configuration", "Telinta is not configured"))?;
    let n = &current.number;
    // 1–2. Find the number in the DID inventory, or add it: unfrozen, with the pricing batch
    // when one is configured (docs/telinta.md, "Frozen numbers").
    let mut did = match step("find the number in the DID inventory", t.find_number(n))? {
        Some(d) => d,
        None => {
            const ADD: &str = "add the number to the DID inventory";
            let batch = cfg.vendor_batch.ok_or_else(|| {
                fail(
                    ADD,
                    "no vendor batch is configured (DIDPORT_TELINTA_VENDOR_BATCH)",
                )
            })?;
            step(
                ADD,
                t.add_number(n, batch, cfg.pricing_batch, Some("didport")),
            )?;
            step(ADD, t.find_number(n))?
                .ok_or_else(|| fail(ADD, "the number was added but cannot be found"))?
        }
    };
    // 2b. A frozen number cannot be assigned: unfreeze it, and check that it took.
    if did.frozen {
        const UNFREEZE: &str = "unfreeze the number";
        step(UNFREEZE, t.unfreeze_number(did.i_did_number))?;
        did = read_back_did(t, n, UNFREEZE, |d| !d.frozen, "it is still frozen")?;
    }
    // 3. A pricing batch; the owner-batch call's parameters are unconfirmed, so the number
    // is read back to see that the batch took.
    if !did.has_pricing_batch() {
        const PRICE: &str = "attach the pricing batch";
        let batch = cfg
            .pricing_batch
            .ok_or_else(|| fail("pricing batch", "number has no pricing batch"))?;
        step(PRICE, t.attach_pricing_batch(did.i_did_number, batch))?;
        did = read_back_did(
            t,
            n,
            PRICE,
            |d| d.has_pricing_batch(),
            "it still has no pricing batch",
        )?;
    }
    // 4. The customer at Telinta: linked, found by name (the email), or created.
    let mut newly_linked = None;
    let i_customer = match customer.telinta_customer {
        Some(id) => {
            step("find the customer", t.get_customer(id))?
                .ok_or_else(|| {
                    fail(
                        "find the customer",
                        format!("the linked Telinta customer {id} does not exist"),
                    )
                })?
                .i_customer
        }
        None => match step(
            "find the customer",
            t.find_customer_by_name(&customer.email),
        )? {
            Some(c) => {
                newly_linked = Some(c.i_customer);
                c.i_customer
            }
            None if cfg.create_customers => {
                let mut nc = NewCustomer::new(customer.email.clone());
                nc.iso_4217 = s.config.currency.as_str().to_string();
                let id = step("create the customer", t.add_customer(&nc))?;
                newly_linked = Some(id);
                id
            }
            None => {
                return Err(fail(
                    "find the customer",
                    format!(
                        "{} has no Telinta customer; link one on the customer page",
                        customer.email
                    ),
                ));
            }
        },
    };
    // 5. Assign the number to the customer.
    match did.i_customer {
        Some(owner) if owner == i_customer => {}
        Some(owner) => {
            return Err(fail(
                "assign the number",
                format!("the number belongs to another Telinta customer ({owner})"),
            ));
        }
        None => {
            const ASSIGN: &str = "assign the number";
            step(
                ASSIGN,
                t.assign_number_to_customer(did.i_did_number, i_customer),
            )?;
            read_back_did(
                t,
                n,
                ASSIGN,
                |d| d.i_customer == Some(i_customer),
                "it is not assigned to the customer",
            )?;
        }
    }
    // 6. The number account "1" + number.
    match step("find the number account", t.get_account(n))? {
        Some(a) if a.i_customer.is_some_and(|c| c != i_customer) => {
            return Err(fail(
                "find the number account",
                "the number account belongs to another customer",
            ));
        }
        Some(a) if a.blocked => {
            return Err(fail(
                "find the number account",
                "the number account is blocked at Telinta; unblock it there (or find out why it was blocked) and activate again",
            ));
        }
        Some(_) => {}
        None => {
            let product = cfg.product.ok_or_else(|| {
                fail(
                    "create the number account",
                    "no product is configured (DIDPORT_TELINTA_PRODUCT)",
                )
            })?;
            let password = random_service_password()
                .map_err(|e| fail("create the number account", e.to_string()))?;
            let account = NewAccount {
                number: n.clone(),
                i_customer,
                i_product: product,
                billing_model: 1,
                service_password: password,
                activation_date: Some(crate::clock::format_date(s.now())),
                forward_mode: None,
                web_login: None,
                web_password: None,
            };
            if let Err(e) = t.add_account(&account) {
                // Created by an earlier run whose answer was lost: read it back.
                if !e.is_duplicate_id()
                    || step("find the number account", t.get_account(n))?.is_none()
                {
                    return Err(fail("create the number account", e.to_string()));
                }
            }
            // Read back: the account must exist under this customer.
            match step("create the number account", t.get_account(n))? {
                Some(a) if a.i_customer.is_none_or(|c| c == i_customer) => {}
                Some(_) => {
                    return Err(fail(
                        "create the number account",
                        "Telinta answered success but the account reads back under another customer",
                    ));
                }
                None => {
                    return Err(fail(
                        "create the number account",
                        "Telinta answered success but the account cannot be read back",
                    ));
                }
            }
        }
    }
    Ok(newly_linked)
}

/// Reads the number back after a write and checks `ok`; `what` says what was wrong.
fn read_back_did(
    t: &dyn Telinta,
    number: &str,
    step_name: &'static str,
    ok: impl Fn(&DidNumber) -> bool,
    what: &str,
) -> Result<DidNumber, StepError> {
    match step(step_name, t.find_number(number))? {
        Some(d) if ok(&d) => Ok(d),
        Some(_) => Err(fail(
            step_name,
            format!("Telinta answered success but the number reads back wrong: {what}"),
        )),
        None => Err(fail(
            step_name,
            "Telinta answered success but the number cannot be read back",
        )),
    }
}
