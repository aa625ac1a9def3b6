//! Sign-up, sign-in, sign-out and the password change (a forgotten password is
//! `password_reset`).

use maud::{Markup, html};

use super::{Field, csrf_field, error_for, first_error, page};
use crate::domain::{Money, PhoneNumber, Role};
use crate::http::{Response, encode_query};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_user, safe_next};
use crate::workflow::accounts::{
    self, LoginError, PasswordChangeError, SignedIn, SignupError, SignupInput,
};

pub(super) fn home_for(role: Role) -> &'static str {
    match role {
        Role::Admin => "/admin",
        Role::Customer => "/my",
    }
}

pub(super) fn next_param(ctx: &Ctx<'_>) -> Option<String> {
    let q = ctx.req.query_params();
    let f = ctx.form();
    safe_next(f.get("next").or(q.get("next")))
}

// ---- sign-up ----

pub fn signup_form(ctx: &Ctx<'_>) -> Reply {
    if let Some(u) = &ctx.user {
        return Ok(Response::see_other(home_for(u.role)));
    }
    Ok(signup_page(
        ctx,
        200,
        "",
        "",
        &[],
        next_param(ctx).as_deref(),
    ))
}

/// The email field's message when the address has an account; the page adds links to sign
/// in and to reset the password.
const EXISTS: &str = "An account with this email already exists.";

/// The number and plan a guest pressed *Buy* on, read back from where they return after
/// signing in (`/numbers/2125550142?plan=3`).
fn buying(ctx: &Ctx<'_>, next: Option<&str>) -> Option<Markup> {
    let rest = next?.strip_prefix("/numbers/")?;
    let (digits, query) = rest.split_once('?').unwrap_or((rest, ""));
    let number = PhoneNumber::parse(digits).ok()?;
    let plan_id: Option<i64> = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("plan="))
        .and_then(|v| v.parse().ok());
    let plan = match plan_id {
        Some(id) => ctx
            .app
            .services
            .store
            .read(|tx| crate::store::plans::list(tx, true))
            .ok()?
            .into_iter()
            .find(|p| p.id == id),
        None => None,
    };
    let currency = ctx.app.config().currency;
    Some(html! {
        div.buying id="buying" {
            p.eyebrow { "You are buying" }
            p.buying-number { (number.pretty()) }
            @if let Some(p) = plan {
                p.buying-plan {
                    strong { (p.name) } " · "
                    span.price { (Money::new(p.monthly_cents, currency)) } " a month, "
                    @if p.setup_cents > 0 { span.price { (Money::new(p.setup_cents, currency)) } " setup" }
                    @else { "no setup fee" }
                }
            }
            p.muted { "Create an account or sign in, then pay. The number is held for you while you pay." }
        }
    })
}

fn signup_page(
    ctx: &Ctx<'_>,
    status: u16,
    email: &str,
    name: &str,
    errors: &[(&str, String)],
    next: Option<&str>,
) -> Response {
    let exists = errors.iter().any(|(f, m)| *f == "email" && m == EXISTS);
    let login_link = match next {
        Some(n) => format!("/login?{}", encode_query(&[("next", n)])),
        None => "/login".into(),
    };
    let first = first_error(errors, &["name", "email", "password"]);
    let summary = buying(ctx, next);
    page(
        ctx,
        status,
        "Create an account",
        html! {
            section.narrow {
                h1 { "Create an account" }
                @if let Some(b) = summary { (b) }
                p.muted { "Already have one? " a href=(login_link) id="signup-login-link" { "Sign in" } "." }
                @if exists {
                    div.flash.flash-error id="signup-exists" role="alert" {
                        (EXISTS) " " a href=(login_link) { "Sign in" } ", or "
                        a href="/password/forgot" { "reset your password" } " if you forgot it."
                    }
                }
                form.stack id="signup-form" method="post" action="/signup" novalidate {
                    (csrf_field(ctx))
                    @if let Some(n) = next { input type="hidden" name="next" value=(n); }
                    (Field::new("name", "Your name", "text").value(name).error(error_for(errors, "name")).autocomplete("name")
                        .autofocus(first == Some("name")).render())
                    (Field::new("email", "Email", "email").value(email).error(error_for(errors, "email")).autocomplete("email")
                        .autofocus(first == Some("email")).render())
                    (Field::new("password", "Password", "password").error(error_for(errors, "password"))
                        .autocomplete("new-password").autofocus(first == Some("password")).hint("At least 10 characters. A few unrelated words work well.").render())
                    button type="submit" id="signup-submit" { "Create account" }
                }
            }
        },
    )
}

pub fn signup_submit(ctx: &Ctx<'_>) -> Reply {
    let f = ctx.form();
    let get = |k: &str| f.get(k).map_or("", String::as_str);
    let next = next_param(ctx);
    let input = SignupInput {
        email: get("email"),
        name: get("name"),
        password: get("password"),
    };
    Ok(
        match accounts::signup(&ctx.app.services, &input, &ctx.client) {
            Ok(session) => {
                if let Some(old) = &ctx.session_token {
                    let _ = accounts::logout(&ctx.app.services, old);
                }
                ctx.start_session(&session.token);
                ctx.redirect_with(
                    next.as_deref().unwrap_or("/my"),
                    FlashKind::Notice,
                    "Welcome! Your account is ready.",
                )
            }
            Err(SignupError::Invalid(errors)) => signup_page(
                ctx,
                400,
                get("email"),
                get("name"),
                &errors,
                next.as_deref(),
            ),
            Err(SignupError::Exists) => signup_page(
                ctx,
                400,
                get("email"),
                get("name"),
                &[("email", EXISTS.to_string())],
                next.as_deref(),
            ),
            Err(SignupError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}

// ---- sign-in ----

pub fn login_form(ctx: &Ctx<'_>) -> Reply {
    if let Some(u) = &ctx.user {
        return Ok(Response::see_other(
            next_param(ctx).as_deref().unwrap_or(home_for(u.role)),
        ));
    }
    Ok(login_page(ctx, 200, "", None, next_param(ctx).as_deref()))
}

fn login_page(
    ctx: &Ctx<'_>,
    status: u16,
    email: &str,
    error: Option<Markup>,
    next: Option<&str>,
) -> Response {
    let signup_link = match next {
        Some(n) => format!("/signup?{}", encode_query(&[("next", n)])),
        None => "/signup".into(),
    };
    let summary = buying(ctx, next);
    let form = html! {
        form.stack id="login-form" method="post" action="/login" novalidate {
            (csrf_field(ctx))
            @if let Some(n) = next { input type="hidden" name="next" value=(n); }
            (Field::new("email", "Email", "email").value(email).autocomplete("username").render())
            (Field::new("password", "Password", "password").autocomplete("current-password").render())
            @if summary.is_some() {
                button.secondary type="submit" id="login-submit" { "Sign in" }
            } @else {
                button type="submit" id="login-submit" { "Sign in" }
            }
        }
    };
    page(
        ctx,
        status,
        "Sign in",
        html! {
            section.narrow {
                @if let Some(b) = summary {
                    // Someone new is the likelier buyer: creating an account comes first.
                    h1 { "Sign in to buy" }
                    (b)
                    @if let Some(e) = error {
                        div.flash.flash-error id="login-error" role="alert" { (e) }
                    }
                    p { a.button.wide id="login-signup-link" href=(signup_link) { "Create an account" } }
                    p.or { span { "or, if you have an account" } }
                    (form)
                    p.muted { a href="/password/forgot" id="login-forgot" { "Forgot your password?" } }
                } @else {
                    h1 { "Sign in" }
                    @if let Some(e) = error {
                        div.flash.flash-error id="login-error" role="alert" { (e) }
                    }
                    (form)
                    p.muted {
                        a href="/password/forgot" id="login-forgot" { "Forgot your password?" }
                        " · New here? " a href=(signup_link) id="login-signup-link" { "Create an account" }
                    }
                }
            }
        },
    )
}

pub fn login_submit(ctx: &Ctx<'_>) -> Reply {
    let f = ctx.form();
    let email = f.get("email").map_or("", String::as_str);
    let password = f.get("password").map_or("", String::as_str);
    let next = next_param(ctx);
    let device = ctx.device();
    let client = accounts::SignInClient {
        address: &ctx.client,
        device: device.as_ref().map(|(id, nonce)| (*id, nonce.as_str())),
    };
    Ok(
        match accounts::login(
            &ctx.app.services,
            email,
            password,
            client,
            ctx.session_token.as_deref(),
        ) {
            Ok(SignedIn::Session(session)) => {
                ctx.start_session(&session.token);
                ctx.remember_device(session.user.id);
                Response::see_other(next.as_deref().unwrap_or(home_for(session.user.role)))
            }
            Ok(SignedIn::SecondStep(user)) => {
                ctx.begin_second_step(user.id);
                let to = match &next {
                    Some(n) => format!("/login/2fa?{}", encode_query(&[("next", n)])),
                    None => "/login/2fa".into(),
                };
                Response::see_other(&to)
            }
            Err(LoginError::Invalid) => login_page(
                ctx,
                401,
                email,
                Some(html! {
                    "That email and password do not match an account. "
                    a href="/password/forgot" { "Reset your password" } " if you forgot it."
                }),
                next.as_deref(),
            ),
            Err(LoginError::Throttled { minutes }) => {
                let msg = html! {
                    "Too many failed sign-in attempts. For your safety, try again in " (minutes)
                    " minute" @if minutes != 1 { "s" } ", or "
                    a href="/password/forgot" { "reset your password" } "."
                };
                login_page(ctx, 429, email, Some(msg), next.as_deref())
            }
            Err(LoginError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}

pub fn logout(ctx: &Ctx<'_>) -> Reply {
    if let Some(t) = &ctx.session_token
        && let Err(e) = accounts::logout(&ctx.app.services, t)
    {
        return Err(Stop::internal(e));
    }
    ctx.end_session();
    Ok(ctx.redirect_with("/", FlashKind::Notice, "You are signed out."))
}

// ---- forgotten password ----

// ---- password change ----

pub fn change_form(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    Ok(change_page(ctx, 200, &user.email, &[]))
}

fn change_page(ctx: &Ctx<'_>, status: u16, email: &str, errors: &[(&str, String)]) -> Response {
    let first = first_error(errors, &["current", "password"]);
    let body: Markup = html! {
        section.narrow {
            h1 { "Your account" }
            p.muted { "Signed in as " strong { (email) } "." }
            h2 { "Change your password" }
            form.stack id="password-form" method="post" action="/account/password" novalidate {
                (csrf_field(ctx))
                (Field::new("current", "Current password", "password").error(error_for(errors, "current"))
                    .autocomplete("current-password").autofocus(first == Some("current")).render())
                (Field::new("password", "New password", "password").error(error_for(errors, "password"))
                    .autocomplete("new-password").autofocus(first == Some("password")).hint("At least 10 characters. Other devices will be signed out.").render())
                button type="submit" id="password-submit" { "Change password" }
            }
            h2 { "Two-factor sign-in" }
            p {
                "A code from an authenticator app after your password, so that a stolen password is not enough. "
                a href="/account/2fa" id="account-2fa" { "Set up or check two-factor sign-in" }
            }
        }
    };
    page(ctx, status, "Your account", body)
}

pub fn change_submit(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let current = f.get("current").map_or("", String::as_str);
    let new = f.get("password").map_or("", String::as_str);
    Ok(
        match accounts::change_password(&ctx.app.services, user, current, new, &ctx.client) {
            Ok(session) => {
                ctx.start_session(&session.token);
                ctx.redirect_with(
                    "/account/password",
                    FlashKind::Notice,
                    "Your password is changed. Other devices were signed out.",
                )
            }
            Err(PasswordChangeError::WrongCurrent) => change_page(
                ctx,
                400,
                &user.email,
                &[("current", "That is not your current password.".into())],
            ),
            Err(PasswordChangeError::WeakPassword(m)) => {
                change_page(ctx, 400, &user.email, &[("password", m)])
            }
            Err(PasswordChangeError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}
