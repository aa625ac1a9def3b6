//! The account page (`/account`): name, email address, password, two-factor sign-in and
//! billing history of the signed-in user, customer or admin. See `docs/contract.md`.

use maud::{Markup, html};

use super::{Field, csrf_field, error_for, first_error, page};
use crate::config::AdminTwoFactor;
use crate::domain::Role;
use crate::store::billing;
use crate::store::users::User;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_user};
use crate::workflow::profile::{self, ConfirmError, EmailRequestError, NameError, PasswordError};

/// Rows of billing history the account page shows; the rest are on `/my/invoices`.
const BILLING_ROWS: usize = 10;
/// How long a confirmation link works, as the page says it.
const LINK_HOURS: i64 = profile::EMAIL_CHANGE_LIFETIME_SECS / 3600;

/// What the forms show again after a mistake: typed values (never passwords) and the errors
/// by field. The email form's password is `email-password`, as its element ids are.
#[derive(Default)]
struct Typed<'a> {
    name: Option<&'a str>,
    email: &'a str,
    errors: Vec<(&'static str, String)>,
}

const FIELD_ORDER: [&str; 6] = [
    "name",
    "email",
    "email-password",
    "current",
    "password",
    "confirm",
];

/// `GET /account` (and `GET /account/password`, where the password form used to live).
pub fn show(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    account_page(ctx, 200, user, &Typed::default())
}

fn account_page(ctx: &Ctx<'_>, status: u16, user: &User, typed: &Typed<'_>) -> Reply {
    let statements = ctx.read(|tx| billing::statements(tx, user.id))?;
    let errors = &typed.errors;
    let first = first_error(errors, &FIELD_ORDER);
    let required_2fa =
        user.role == Role::Admin && ctx.app.config().admin_2fa == AdminTwoFactor::Required;
    let shown = &statements[..statements.len().min(BILLING_ROWS)];
    let body: Markup = html! {
        div.account {
            h1 { "Your account" }
            p.muted id="account-summary" {
                "Signed in as " strong id="account-email" { (user.email) }
                @if user.role == Role::Admin { " · administrator" }
            }
            nav.filters.account-nav aria-label="Account sections" {
                a href="#profile-name" { "Name" }
                a href="#profile-email" { "Email" }
                a href="#profile-password" { "Password" }
                a href="#two-factor" { "Two-factor sign-in" }
                a href="#billing" { "Billing history" }
            }

            section.panel.setting id="profile-name" aria-labelledby="name-title" {
                div.setting-head {
                    h2 id="name-title" { "Name" }
                    p.muted { "How we address you in emails and on invoices." }
                }
                form.stack id="name-form" method="post" action="/account/name" novalidate {
                    (csrf_field(ctx))
                    (Field::new("name", "Your name", "text")
                        .value(typed.name.unwrap_or(&user.name))
                        .error(error_for(errors, "name"))
                        .autocomplete("name")
                        .autofocus(first == Some("name"))
                        .render())
                    div { button type="submit" id="name-submit" { "Save name" } }
                }
            }

            section.panel.setting id="profile-email" aria-labelledby="email-title" {
                div.setting-head {
                    h2 id="email-title" { "Email address" }
                    p.muted { "You sign in with " strong.break { (user.email) } ", and we write to it." }
                }
                form.stack id="email-form" method="post" action="/account/email" novalidate {
                    (csrf_field(ctx))
                    (Field::new("email", "New email address", "email")
                        .value(typed.email)
                        .error(error_for(errors, "email"))
                        .autocomplete("email")
                        .hint(&format!("We send a link to the new address. It becomes yours when you open the link, signed in, within {LINK_HOURS} hours."))
                        .autofocus(first == Some("email"))
                        .render())
                    (Field::new("password", "Current password", "password")
                        .id_prefix("email-")
                        .error(error_for(errors, "email-password"))
                        .autocomplete("current-password")
                        .autofocus(first == Some("email-password"))
                        .render())
                    div { button type="submit" id="email-submit" { "Send the link" } }
                }
            }

            section.panel.setting id="profile-password" aria-labelledby="password-title" {
                div.setting-head {
                    h2 id="password-title" { "Password" }
                    p.muted { "Changing it signs out every other device, and we email you that it changed." }
                }
                form.stack id="password-form" method="post" action="/account/password" novalidate {
                    (csrf_field(ctx))
                    (Field::new("current", "Current password", "password")
                        .error(error_for(errors, "current"))
                        .autocomplete("current-password")
                        .autofocus(first == Some("current"))
                        .render())
                    (Field::new("password", "New password", "password")
                        .error(error_for(errors, "password"))
                        .autocomplete("new-password")
                        .hint("At least 10 characters. A few unrelated words work well.")
                        .autofocus(first == Some("password"))
                        .render())
                    (Field::new("confirm", "New password again", "password")
                        .error(error_for(errors, "confirm"))
                        .autocomplete("new-password")
                        .autofocus(first == Some("confirm"))
                        .render())
                    div { button type="submit" id="password-submit" { "Change password" } }
                }
            }

            section.panel.setting id="two-factor" aria-labelledby="two-factor-title" {
                div.setting-head {
                    div.title-row {
                        h2 id="two-factor-title" { "Two-factor sign-in" }
                        @if user.two_factor {
                            span.badge.badge-ok id="two-factor-state" data-on="true" { "On" }
                        } @else {
                            span.badge.badge-off id="two-factor-state" data-on="false" { "Off" }
                        }
                    }
                    p.muted { "A code from an authenticator app after your password, so that a stolen password is not enough." }
                }
                div {
                    @if user.two_factor {
                        p { "Sign-in asks for a code from your authenticator app after your password. Keep your recovery codes for a lost phone." }
                        p { a href="/account/2fa" id="account-2fa" { "Check your recovery codes" } }
                    } @else {
                        p {
                            "It is off: your password alone signs you in."
                            @if required_2fa { " Administrators of this shop must turn it on." }
                        }
                        p { a.button href="/account/2fa" id="account-2fa" { "Turn on two-factor sign-in" } }
                    }
                }
            }

            section.panel id="billing" aria-labelledby="billing-title" {
                h2 id="billing-title" { "Billing history" }
                @if statements.is_empty() {
                    p.empty id="no-billing" { "No invoices yet." }
                } @else {
                    (super::my_invoices::statements_table(shown, "billing-history"))
                    p {
                        a href="/my/invoices" id="all-invoices" {
                            @if statements.len() > shown.len() {
                                "All " (statements.len()) " invoices and credit notes"
                            } @else {
                                "All invoices and credit notes"
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(ctx, status, "Your account", body))
}

/// `POST /account/name`.
pub fn name_submit(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let name = f.get("name").map_or("", String::as_str);
    match profile::change_name(&ctx.app.services, user, name, &ctx.client) {
        Ok(_) => Ok(ctx.redirect_with("/account", FlashKind::Notice, "Your name is saved.")),
        Err(NameError::Invalid(m)) => account_page(
            ctx,
            400,
            user,
            &Typed {
                name: Some(name),
                errors: vec![("name", m.to_string())],
                ..Typed::default()
            },
        ),
        Err(NameError::Internal(e)) => Err(Stop::internal(e)),
    }
}

/// `POST /account/email`: sends the confirmation link; the address stays as it is.
pub fn email_submit(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let email = f.get("email").map_or("", String::as_str);
    let password = f.get("password").map_or("", String::as_str);
    let again = |status: u16, field: &'static str, message: String| {
        account_page(
            ctx,
            status,
            user,
            &Typed {
                email,
                errors: vec![(field, message)],
                ..Typed::default()
            },
        )
    };
    match profile::request_email_change(&ctx.app.services, user, email, password, &ctx.client) {
        Ok(new) => Ok(ctx.redirect_with(
            "/account",
            FlashKind::Notice,
            &format!(
                "We sent a link to {new}. Open it within {LINK_HOURS} hours, signed in, to make \
                 it your address; until then we keep using {}.",
                user.email
            ),
        )),
        Err(EmailRequestError::Invalid("password", m)) => again(400, "email-password", m),
        Err(EmailRequestError::Invalid(_, m)) => again(400, "email", m),
        // Sign-up tells anyone as much; the page saves a wait for a link that cannot work.
        Err(EmailRequestError::Taken) => again(
            400,
            "email",
            "Another account uses this email address. Choose another.".into(),
        ),
        Err(EmailRequestError::Throttled) => again(
            429,
            "email",
            "Too many tries in a short time. Wait a while, then try again.".into(),
        ),
        Err(EmailRequestError::Internal(e)) => Err(Stop::internal(e)),
    }
}

/// `GET /account/email/confirm?token=…`: opened signed in as the account that asked.
pub fn email_confirm(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let q = ctx.req.query_params();
    let token = q.get("token").map_or("", String::as_str);
    let (status, title, text) =
        match profile::confirm_email_change(&ctx.app.services, user, token, &ctx.client) {
            Ok(new) => {
                return Ok(ctx.redirect_with(
                    "/account",
                    FlashKind::Notice,
                    &format!("Your email address is now {new}. Sign in with it from now on."),
                ));
            }
            Err(ConfirmError::Invalid) => (
                400,
                "This link no longer works",
                "It was used already, your address changed since it was sent, or it was not \
                 copied whole. Ask for a new link below if you still want to change your address."
                    .to_string(),
            ),
            Err(ConfirmError::Expired) => (
                400,
                "This link has expired",
                format!(
                    "Links to confirm a new address work for {LINK_HOURS} hours. Ask for a new \
                     one below."
                ),
            ),
            Err(ConfirmError::OtherAccount) => (
                403,
                "This link is for another account",
                "You are signed in to a different account than the one that asked for the \
                 change. Sign out, sign in with that account, and open the link again."
                    .to_string(),
            ),
            Err(ConfirmError::Taken(new)) => (
                409,
                "That address is taken",
                format!(
                    "Since the link was sent, another account started using {new}, so it \
                     cannot be yours. Your address is still {}.",
                    user.email
                ),
            ),
            Err(ConfirmError::Internal(e)) => return Err(Stop::internal(e)),
        };
    Ok(page(
        ctx,
        status,
        title,
        html! {
            section.narrow id="email-confirm-failed" data-status=(status) {
                h1 { (title) }
                p { (text) }
                p { a.button href="/account#profile-email" { "Back to your account" } }
            }
        },
    ))
}

/// `POST /account/password`: `current`, `password`, and `confirm` (checked when sent).
pub fn password_submit(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let current = f.get("current").map_or("", String::as_str);
    let new = f.get("password").map_or("", String::as_str);
    let confirm = f.get("confirm").map(String::as_str);
    let again = |status: u16, field: &'static str, message: &str| {
        account_page(
            ctx,
            status,
            user,
            &Typed {
                errors: vec![(field, message.to_string())],
                ..Typed::default()
            },
        )
    };
    match profile::change_password(&ctx.app.services, user, current, new, confirm, &ctx.client) {
        Ok(session) => {
            ctx.start_session(&session.token);
            Ok(ctx.redirect_with(
                "/account",
                FlashKind::Notice,
                "Your password is changed. Other devices were signed out.",
            ))
        }
        Err(PasswordError::WrongCurrent) => {
            again(400, "current", "That is not your current password.")
        }
        Err(PasswordError::Throttled) => again(
            429,
            "current",
            &format!(
                "Too many wrong passwords in a short time. Wait {} minutes, then try again.",
                profile::WRONG_PASSWORD_WINDOW_SECS / 60
            ),
        ),
        Err(PasswordError::WeakPassword(m)) => again(400, "password", &m),
        Err(PasswordError::Mismatch) => again(
            400,
            "confirm",
            "This is not the same as the new password. Type it again.",
        ),
        Err(PasswordError::Internal(e)) => Err(Stop::internal(e)),
    }
}
