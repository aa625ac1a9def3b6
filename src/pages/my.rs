//! The customer's home and the settings page of each number.

use maud::html;

use super::{csrf_field, page};
use crate::domain::NumberStatus;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_user};
use crate::workflow::settings::{self, SettingsError, SettingsRequest};

use crate::domain::phone::pretty;

use super::badges::my_number as badge;

fn pin_badge(set: bool) -> maud::Markup {
    html! {
        @if set { span.badge.badge-ok { "Set" } } @else { span.badge.badge-off { "Not set" } }
    }
}

pub fn home(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let (mine, open) = ctx.read(|tx| {
        Ok((
            crate::store::purchased::for_user(tx, user.id)?,
            crate::store::billing::open_renewals(tx, user.id)?,
        ))
    })?;
    Ok(page(
        ctx,
        200,
        "My numbers",
        html! {
            h1 { "My numbers" }
            p.muted { "Signed in as " (user.email) ". " a href="/orders" id="my-orders-link" { "Your orders" } " · " a href="/my/invoices" id="my-invoices-link" { "Your invoices" } }
            @if mine.is_empty() {
                div.empty id="my-numbers-empty" {
                    p { "You have no numbers yet." }
                    p { a.button href="/numbers" { "Find a number" } }
                }
            } @else {
                div.table-wrap {
                    table.data.stacked id="my-numbers" {
                        thead { tr { th { "Number" } th { "Status" } th { "Plan" } th { "Renewal" } th { "PIN" } th { "Forwarding" } th { span.visually-hidden { "Links" } } } }
                        tbody {
                            @for o in &mine {
                                tr id={ "number-" (o.p.number) } data-status=(o.p.status.as_str()) {
                                    td.title-cell.tel { strong { (pretty(&o.p.number)) } }
                                    td data-label="Status" { (badge(o.p.status)) }
                                    td data-label="Plan" { (o.plan_name) }
                                    td.renewal data-label="Renewal" {
                                        @let until = crate::domain::billing::format_day(o.p.paid_through);
                                        @if o.p.status == NumberStatus::Cancelled { span.muted { "—" } }
                                        @else if o.stops { "Ends " (until) }
                                        @else {
                                            "Renews " (until) ", " (super::orders::money(o.monthly_cents, &o.currency))
                                            @if let Some((_, inv, _, _)) = open.iter().find(|r| r.0 == o.p.order_id) {
                                                " · " a href={ "/invoices/" (inv) } id={ "pay-now-" (o.p.number) } { "Pay now" }
                                            }
                                        }
                                    }
                                    td.pin data-label="PIN" { (pin_badge(o.p.pin_set)) }
                                    td.forwarding.tel data-label="Forwarding" { @match &o.p.forwarding { Some(f) => (pretty(f)), None => span.muted { "Off" } } }
                                    td.action-cell {
                                        a href={ "/my/numbers/" (o.p.number) } id={ "settings-link-" (o.p.number) } { "Settings" } " · "
                                        a href={ "/orders/" (o.p.order_id) } { "Order & invoice" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

pub fn number_page(ctx: &Ctx<'_>, number: &str) -> Reply {
    let user = require_user(ctx)?;
    settings_page(ctx, user, number, 200, &[], "", None)
}

/// The settings form; `forwarding` refills that field. The PIN is never written into a page.
fn settings_page(
    ctx: &Ctx<'_>,
    user: &crate::store::users::User,
    number: &str,
    status: u16,
    errors: &[(&'static str, String)],
    forwarding: &str,
    notice: Option<&str>,
) -> Reply {
    let owned = match settings::find(&ctx.app.services, user, number) {
        Ok(Some(o)) => o,
        Ok(None) => return Err(Stop::NotFound),
        Err(e) => return Err(Stop::internal(e)),
    };
    let err = |k: &str| {
        errors
            .iter()
            .find(|(f, _)| *f == k)
            .map(|(_, m)| m.as_str())
    };
    let active = owned.p.status == NumberStatus::Active;
    Ok(page(
        ctx,
        status,
        &format!("Settings of {}", pretty(&owned.p.number)),
        html! {
            section.narrow id="settings" data-status=(owned.p.status.as_str()) {
                p.muted { a href="/my" { "← My numbers" } }
                h1.tel { (pretty(&owned.p.number)) }
                dl.facts id="number-facts" {
                    div { dt { "Status" } dd { (badge(owned.p.status)) } }
                    div { dt { "PIN" } dd id="pin-state" { (pin_badge(owned.p.pin_set)) } }
                    div {
                        dt { "Forwarding" }
                        dd {
                            @match &owned.p.forwarding {
                                Some(f) => span.tel id="current-forwarding" { (pretty(f)) },
                                None => span.muted { "Off" },
                            }
                        }
                    }
                }
                (super::renewals::panel(ctx, owned.p.order_id))
                @if let Some(n) = notice {
                    div.flash.flash-error id="settings-error" role="alert" { (n) }
                }
                @if !active {
                    p.notice id="not-active" { "Settings can be changed once the number is active." }
                } @else {
                    form.stack id="settings-form" method="post" action={ "/my/numbers/" (owned.p.number) "/settings" } novalidate {
                        (csrf_field(ctx))
                        p.hint { "Leave a field empty to keep it as it is." }
                        div class=(if err("pin").is_some() { "field has-error" } else { "field" }) {
                            label for="f-pin" { "New PIN" }
                            p.hint id="pin-hint" { "Exactly 4 digits." }
                            input id="f-pin" name="pin" type="password" inputmode="numeric" autocomplete="off" maxlength="8"
                                autofocus[err("pin").is_some()]
                                aria-invalid=[err("pin").map(|_| "true")]
                                aria-describedby=(if err("pin").is_some() { "pin-hint pin-error" } else { "pin-hint" });
                            @if let Some(e) = err("pin") { p.field-error id="pin-error" { (e) } }
                        }
                        div class=(if err("forwarding").is_some() { "field has-error" } else { "field" }) {
                            label for="f-forwarding" { "Forward calls to" }
                            p.hint id="forwarding-hint" { "A North American number, written any way: (212) 555-1234, +1 212 555 1234." }
                            input id="f-forwarding" name="forwarding" type="text" inputmode="tel" autocomplete="tel-national" value=(forwarding)
                                autofocus[err("pin").is_none() && err("forwarding").is_some()]
                                aria-invalid=[err("forwarding").map(|_| "true")]
                                aria-describedby=(if err("forwarding").is_some() { "forwarding-hint forwarding-error" } else { "forwarding-hint" });
                            @if let Some(e) = err("forwarding") { p.field-error id="forwarding-error" { (e) } }
                        }
                        @if owned.p.forwarding.is_some() {
                            div.field.check {
                                label for="f-forwarding-off" {
                                    input id="f-forwarding-off" name="forwarding_off" type="checkbox" value="1"
                                        aria-describedby="forwarding-off-hint";
                                    " Turn call forwarding off"
                                }
                                p.hint id="forwarding-off-hint" { "Calls are no longer forwarded; the forwarding number above stays empty." }
                            }
                        }
                        button type="submit" id="settings-submit" { "Save settings" }
                    }
                }
            }
        },
    ))
}

pub fn save(ctx: &Ctx<'_>, number: &str) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let pin = f.get("pin").map_or("", String::as_str);
    let forwarding = f.get("forwarding").map_or("", String::as_str);
    let forwarding_off = f.get("forwarding_off").is_some_and(|v| !v.is_empty());
    Ok(
        match settings::change(
            &ctx.app.services,
            user,
            number,
            &SettingsRequest {
                pin,
                forwarding,
                forwarding_off,
            },
            &ctx.client,
        ) {
            Ok(saved) => {
                let text = match (saved.pin, &saved.forwarding, saved.forwarding_off) {
                    (true, Some(fw), _) => {
                        format!("Saved: new PIN, and calls now go to {}.", pretty(fw))
                    }
                    (true, None, true) => {
                        "Saved: your new PIN is in place and call forwarding is off.".to_string()
                    }
                    (true, None, false) => "Saved: your new PIN is in place.".to_string(),
                    (false, Some(fw), _) => format!("Saved: calls now go to {}.", pretty(fw)),
                    (false, None, true) => "Saved: call forwarding is off.".to_string(),
                    (false, None, false) => "Saved.".to_string(),
                };
                ctx.redirect_with(&format!("/my/numbers/{number}"), FlashKind::Notice, &text)
            }
            Err(SettingsError::Invalid(errors)) => {
                settings_page(ctx, user, number, 400, &errors, forwarding, None)?
            }
            Err(SettingsError::NotFound) => return Err(Stop::NotFound),
            Err(SettingsError::NotActive(m)) => {
                settings_page(ctx, user, number, 409, &[], "", Some(&m))?
            }
            Err(SettingsError::Upstream { accepted, .. }) => {
                let note = if accepted.is_empty() {
                    "Nothing was changed: the phone system did not answer as expected. Please try again later; we have been told.".to_string()
                } else {
                    format!(
                        "Your settings were not saved here: the phone system failed part-way. It had already taken {}, \
                     the rest was not applied. Please try again later; we have been told.",
                        accepted.join(" and ")
                    )
                };
                settings_page(ctx, user, number, 502, &[], forwarding, Some(&note))?
            }
            Err(SettingsError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}
