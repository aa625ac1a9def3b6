//! The second step of sign-in: the code from an authenticator app (or a recovery code) on
//! `/login/2fa`.

use maud::html;

use super::auth::{home_for, next_param};
use super::{Field, csrf_field, page};
use crate::http::Response;
use crate::web::{Ctx, Reply, Stop};
use crate::workflow::accounts::LoginError;
use crate::workflow::twofactor;

pub fn code_form(ctx: &Ctx<'_>) -> Reply {
    if ctx.second_step_user().is_none() {
        return Ok(Response::see_other("/login"));
    }
    Ok(code_page(ctx, 200, None))
}

fn code_page(ctx: &Ctx<'_>, status: u16, error: Option<&str>) -> Response {
    let next = next_param(ctx);
    page(
        ctx,
        status,
        "Sign-in code",
        html! {
            section.narrow {
                h1 { "Enter your sign-in code" }
                form.stack id="code-form" method="post" action="/login/2fa" novalidate {
                    (csrf_field(ctx))
                    @if let Some(n) = &next { input type="hidden" name="next" value=(n); }
                    (Field::new("code", "Code", "text")
                        .autocomplete("one-time-code")
                        .hint("The 6-digit code from your authenticator app, or one of your recovery codes.")
                        .error(error)
                        .autofocus(true)
                        .render())
                    button type="submit" id="code-submit" { "Sign in" }
                }
            }
        },
    )
}

pub fn code_submit(ctx: &Ctx<'_>) -> Reply {
    let Some(user_id) = ctx.second_step_user() else {
        return Ok(Response::see_other("/login"));
    };
    let f = ctx.form();
    let code = f.get("code").map_or("", String::as_str);
    Ok(
        match twofactor::second_step(
            &ctx.app.services,
            user_id,
            code,
            &ctx.client,
            ctx.session_token.as_deref(),
        ) {
            Ok(session) => {
                ctx.end_second_step();
                ctx.start_session(&session.token);
                ctx.remember_device(session.user.id);
                let next = next_param(ctx);
                Response::see_other(next.as_deref().unwrap_or(home_for(session.user.role)))
            }
            Err(LoginError::Invalid) => code_page(
                ctx,
                401,
                Some("That code is not right, or was used already."),
            ),
            Err(LoginError::Throttled { minutes }) => {
                let msg = format!(
                    "Too many wrong codes. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                );
                code_page(ctx, 429, Some(&msg))
            }
            Err(LoginError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}
