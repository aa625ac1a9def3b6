//! A forgotten password: asking for a reset link by email (`/password/forgot`) and choosing a
//! new password with it (`/password/reset`).

use maud::html;

use super::{Field, csrf_field, page};
use crate::http::Response;
use crate::web::{Ctx, FlashKind, Reply, Stop};
use crate::workflow::accounts::{self, ResetError};

pub fn forgot_form(ctx: &Ctx<'_>) -> Reply {
    Ok(forgot_page(ctx, 200, "", None))
}

fn forgot_page(ctx: &Ctx<'_>, status: u16, email: &str, error: Option<&str>) -> Response {
    page(
        ctx,
        status,
        "Reset your password",
        html! {
            section.narrow {
                h1 { "Reset your password" }
                p { "Enter the email of your account. We will send you a link to choose a new password." }
                form.stack id="forgot-form" method="post" action="/password/forgot" novalidate {
                    (csrf_field(ctx))
                    (Field::new("email", "Email", "email").value(email).error(error).autocomplete("email")
                        .autofocus(error.is_some()).render())
                    button type="submit" id="forgot-submit" { "Send the link" }
                }
            }
        },
    )
}

pub fn forgot_submit(ctx: &Ctx<'_>) -> Reply {
    let f = ctx.form();
    let email = f.get("email").map_or("", String::as_str);
    if let Err(m) = crate::domain::EmailAddress::parse(email) {
        return Ok(forgot_page(ctx, 400, email, Some(m)));
    }
    // One client asking for many addresses' links is held back; it is told nothing different.
    if ctx
        .app
        .reset_limiter
        .check(&ctx.client, ctx.app.now())
        .is_err()
    {
        log::info!(
            "password reset asks from {} over the hourly limit",
            ctx.client
        );
    } else if let Err(e) = accounts::request_reset(&ctx.app.services, email, &ctx.client) {
        return Err(Stop::internal(e));
    }
    // The same answer whether or not the account exists.
    Ok(ctx.redirect_with(
        "/login",
        FlashKind::Notice,
        "If an account uses that email, a link to reset the password is on its way. It works once, for one hour.",
    ))
}

pub fn reset_form(ctx: &Ctx<'_>) -> Reply {
    let token = ctx
        .req
        .query_params()
        .get("token")
        .cloned()
        .unwrap_or_default();
    Ok(
        match accounts::reset_token_usable(&ctx.app.services, &token) {
            Ok(true) => reset_page(ctx, 200, &token, None),
            Ok(false) => bad_link(ctx),
            Err(e) => return Err(Stop::internal(e)),
        },
    )
}

fn bad_link(ctx: &Ctx<'_>) -> Response {
    page(
        ctx,
        400,
        "Link no longer valid",
        html! {
            section.narrow id="reset-invalid" {
                h1 { "This link no longer works" }
                p { "Password reset links work once and expire after an hour. Ask for a new one." }
                p { a.button href="/password/forgot" { "Send a new link" } }
            }
        },
    )
}

fn reset_page(ctx: &Ctx<'_>, status: u16, token: &str, error: Option<&str>) -> Response {
    page(
        ctx,
        status,
        "Choose a new password",
        html! {
            section.narrow {
                h1 { "Choose a new password" }
                form.stack id="reset-form" method="post" action="/password/reset" novalidate {
                    (csrf_field(ctx))
                    input type="hidden" name="token" value=(token);
                    (Field::new("password", "New password", "password").error(error)
                        .autocomplete("new-password").hint("At least 10 characters.").autofocus(error.is_some()).render())
                    button type="submit" id="reset-submit" { "Save the new password" }
                }
            }
        },
    )
}

pub fn reset_submit(ctx: &Ctx<'_>) -> Reply {
    let f = ctx.form();
    let token = f.get("token").map_or("", String::as_str);
    let password = f.get("password").map_or("", String::as_str);
    Ok(
        match accounts::reset_password(&ctx.app.services, token, password, &ctx.client) {
            Ok(_) => {
                ctx.end_session();
                ctx.redirect_with(
                "/login",
                FlashKind::Notice,
                "Your password is changed. Sign in with the new one; other devices were signed out.",
            )
            }
            Err(ResetError::BadToken) => bad_link(ctx),
            Err(ResetError::WeakPassword(m)) => reset_page(ctx, 400, token, Some(&m)),
            Err(ResetError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}
