//! PIN and call forwarding of a customer's number: Telinta first, then the portal, then the
//! emails. If Telinta fails, nothing changes in the portal and the admin is told; the PIN
//! itself is never stored, logged, audited or mailed.

use super::{Internal, Services, notify};
use crate::config::PinField;
use crate::domain::MailEvent;
use crate::domain::account::{check_forwarding, check_pin};
use crate::emails;
use crate::store::audit::{Entry, Outcome};
use crate::store::purchased::{self, Owned};
use crate::store::users::User;

/// What a customer asks to change on a number's settings page.
pub struct SettingsRequest<'a> {
    pub pin: &'a str,
    pub forwarding: &'a str,
    /// The explicit "turn forwarding off" control (`forwarding_off` on the settings page).
    pub forwarding_off: bool,
}

#[derive(Debug)]
pub enum SettingsError {
    /// Field → message; nothing was sent anywhere.
    Invalid(Vec<(&'static str, String)>),
    NotFound,
    NotActive(String),
    /// Telinta refused or failed. `accepted` names what Telinta did take before the failure.
    Upstream {
        message: String,
        accepted: Vec<&'static str>,
    },
    Internal(Internal),
}

internal_errors!(SettingsError);

/// The customer's number, if they own it (not cancelled).
pub fn find(s: &Services, user: &User, number: &str) -> Result<Option<Owned>, Internal> {
    Ok(s.store.read(|tx| purchased::owned(tx, user.id, number))?)
}

/// What changed, for the message to the customer.
#[derive(Debug, PartialEq, Eq)]
pub struct Saved {
    pub pin: bool,
    pub forwarding: Option<String>,
    /// Forwarding was turned off.
    pub forwarding_off: bool,
}

pub fn change(
    s: &Services,
    user: &User,
    number: &str,
    req: &SettingsRequest<'_>,
    address: &str,
) -> Result<Saved, SettingsError> {
    let owned = find(s, user, number)
        .map_err(SettingsError::Internal)?
        .ok_or(SettingsError::NotFound)?;
    let mut errors = Vec::new();
    let pin = match req.pin.trim() {
        "" => None,
        p => check_pin(p)
            .map_err(|m| errors.push(("pin", m.to_string())))
            .ok(),
    };
    let forwarding = match req.forwarding.trim() {
        "" => None,
        f => check_forwarding(f, &owned.p.number)
            .map_err(|m| errors.push(("forwarding", m.to_string())))
            .ok(),
    };
    let off = req.forwarding_off;
    if off && forwarding.is_some() {
        errors.push((
            "forwarding",
            "Enter a forwarding number or turn forwarding off, not both.".into(),
        ));
    }
    if !errors.is_empty() {
        return Err(SettingsError::Invalid(errors));
    }
    if pin.is_none() && forwarding.is_none() && !off {
        return Err(SettingsError::Invalid(vec![(
            "pin",
            "Enter a new PIN, a forwarding number, or both.".into(),
        )]));
    }
    if owned.p.status != crate::domain::NumberStatus::Active {
        return Err(SettingsError::NotActive(format!(
            "This number is {}. Settings can be changed once it is active.",
            owned.p.status
        )));
    }
    let n = &owned.p.number;
    let mut accepted: Vec<&'static str> = Vec::new();
    // Recorded before Telinta is asked, so a change cut short by a crash is found again and
    // settled by reconciliation.
    let asked_forwarding = if off {
        Some(purchased::FORWARDING_OFF)
    } else {
        forwarding.as_deref()
    };
    // In progress in this process from before the record until the outcome is saved, so
    // reconciliation never takes it for cut short (see workflow/runs.rs).
    let _tracked = s.run.track(super::runs::Work::Settings, owned.p.order_id);
    let run = s.run.id();
    s.store.write(|tx| {
        purchased::begin_settings(
            tx,
            owned.p.order_id,
            pin.is_some(),
            asked_forwarding,
            s.now(),
            run,
        )
    })?;
    let upstream = (|| -> Result<(), String> {
        let t = s.telinta.as_ref().ok_or("Telinta is not configured")?;
        let account = t
            .get_account(n)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the number account 1{n} does not exist at Telinta"))?;
        if let Some(pin) = pin {
            let field = s
                .config
                .telinta
                .as_ref()
                .map_or(PinField::ServicePassword, |c| c.pin_field);
            // Each target reads its value back after writing it (docs/telinta.md, "PIN").
            match field {
                PinField::ServicePassword => t.set_service_password(&account, pin),
                PinField::Voicemail => t.set_voicemail_pin(
                    n,
                    account.service_password.as_deref().unwrap_or_default(),
                    pin,
                ),
            }
            .map_err(|e| e.to_string())?;
            accepted.push("the PIN");
        }
        if let Some(f) = forwarding.as_deref() {
            t.set_forwarding(account.i_account, f)
                .map_err(|e| e.to_string())?;
            accepted.push("the call forwarding");
        }
        if off {
            t.clear_forwarding(account.i_account)
                .map_err(|e| e.to_string())?;
            accepted.push("turning forwarding off");
        }
        Ok(())
    })();
    let now = s.now();
    let site = notify::site(s);
    let admin_email = s.config.admin_email.as_ref().map(ToString::to_string);
    let what = match (pin.is_some(), forwarding.as_deref(), off) {
        (true, Some(f), _) => format!("PIN changed; calls forwarded to {f}"),
        (true, None, true) => "PIN changed; forwarding turned off".to_string(),
        (true, None, false) => "PIN changed".to_string(),
        (false, Some(f), _) => format!("calls forwarded to {f}"),
        (false, None, true) => "forwarding turned off".to_string(),
        (false, None, false) => String::new(),
    };
    // For the admin: what kind of change was asked, never the PIN or the forwarding number.
    let asked = match (pin.is_some(), forwarding.is_some(), off) {
        (true, true, _) => "a new PIN and new call forwarding",
        (true, false, true) => "a new PIN and forwarding turned off",
        (true, false, false) => "a new PIN",
        (false, true, _) => "new call forwarding",
        (false, false, true) => "forwarding turned off",
        (false, false, false) => "no change",
    };
    match upstream {
        Ok(()) => {
            super::change(s, now, |tx, r| {
                purchased::save_settings(
                    tx,
                    owned.p.order_id,
                    pin.is_some(),
                    forwarding.as_deref(),
                    now,
                )?;
                if off {
                    purchased::clear_forwarding(tx, owned.p.order_id, now)?;
                }
                purchased::end_settings(tx, owned.p.order_id)?;
                let facts = emails::numbers::SettingsChanged {
                    number: n,
                    pin: pin.is_some(),
                    forwarding: forwarding.as_deref(),
                    forwarding_off: off,
                    customer: emails::AccountHolder {
                        name: &user.name,
                        email: &user.email,
                    },
                };
                r.email(
                    MailEvent::SettingsChanged,
                    &user.email,
                    &emails::numbers::settings_changed_customer(&site, &facts),
                )?;
                r.admin_email(MailEvent::SettingsChanged, admin_email.as_deref(), || {
                    emails::numbers::settings_changed_admin(&site, &facts)
                })?;
                r.audit(&Entry {
                    actor_id: Some(user.id),
                    actor: &user.email,
                    action: "number_settings",
                    subject: n,
                    outcome: Outcome::Ok,
                    detail: &what,
                    address,
                })
            })?;
            Ok(Saved {
                pin: pin.is_some(),
                forwarding: forwarding.clone(),
                forwarding_off: off,
            })
        }
        Err(message) => {
            let took = if accepted.is_empty() {
                "Telinta accepted none of it".to_string()
            } else {
                format!(
                    "Telinta had already accepted {} before the failure",
                    accepted.join(" and ")
                )
            };
            super::change(s, now, |tx, r| {
                purchased::end_settings(tx, owned.p.order_id)?;
                r.admin_email(
                    MailEvent::SettingsChangeFailed,
                    admin_email.as_deref(),
                    || {
                        emails::numbers::settings_change_failed_admin(
                            &site,
                            &emails::numbers::SettingsChangeFailed {
                                number: n,
                                asked,
                                message: &message,
                                took: &took,
                                customer: emails::AccountHolder {
                                    name: &user.name,
                                    email: &user.email,
                                },
                            },
                        )
                    },
                )?;
                r.audit(&Entry {
                    actor_id: Some(user.id),
                    actor: &user.email,
                    action: "number_settings",
                    subject: n,
                    outcome: Outcome::Failed,
                    detail: &format!("{message}; {took}"),
                    address,
                })
            })?;
            Err(SettingsError::Upstream { message, accepted })
        }
    }
}
