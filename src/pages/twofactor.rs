//! Two-factor enrolment on `/account/2fa`: the secret as a QR code and text, confirmed by a
//! first code; recovery codes once it is on. The sign-in step is `twofactor_code.rs`.

use maud::{Markup, PreEscaped, html};

use super::auth::home_for;
use super::{Field, csrf_field, page};
use crate::domain::totp::TotpSecret;
use crate::http::Response;
use crate::web::{Ctx, Reply, Stop, require_user};
use crate::workflow::twofactor::{self, EnrolError};

pub fn enrol_form(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    if user.two_factor {
        return Ok(
            match twofactor::recovery_codes_left(&ctx.app.services, user) {
                Ok(left) => page(
                    ctx,
                    200,
                    "Two-factor sign-in",
                    html! {
                        section.narrow id="two-factor-on" {
                            h1 { "Two-factor sign-in is on" }
                            p { "Sign-in asks for a code from your authenticator app after your password." }
                            p id="recovery-left" data-left=(left) {
                                (left) " of " (twofactor::RECOVERY_CODES) " recovery codes unused."
                            }
                            p.muted { "Lost your device? An operator can turn two-factor sign-in off for your account." }
                        }
                    },
                ),
                Err(e) => return Err(Stop::internal(e)),
            },
        );
    }
    Ok(match twofactor::enrolment_secret(&ctx.app.services, user) {
        Ok(secret) => enrol_page(ctx, 200, &secret, &user.email, None),
        Err(e) => return Err(Stop::internal(e)),
    })
}

/// The enrolment page: the secret as a QR code and as text, and a field for the first code.
/// This is the one page that ever shows a TOTP secret, to its owner.
fn enrol_page(
    ctx: &Ctx<'_>,
    status: u16,
    secret: &TotpSecret,
    email: &str,
    error: Option<&str>,
) -> Response {
    let site = &ctx.app.config().site_name;
    let qr = secret.otpauth_url(site, email).and_then(|url| qr_svg(&url));
    page(
        ctx,
        status,
        "Two-factor sign-in",
        html! {
            section.narrow id="two-factor-enrol" {
                h1 { "Turn on two-factor sign-in" }
                ol.stack {
                    li { "Scan this code with an authenticator app (or type the key below into it)." }
                    li { "Type the 6-digit code the app shows." }
                }
                @if let Some(svg) = qr {
                    figure.qr id="totp-qr" { (svg) }
                }
                p { "Key: " code id="totp-secret" { (secret.to_base32()) } }
                form.stack id="enrol-form" method="post" action="/account/2fa" novalidate {
                    (csrf_field(ctx))
                    (Field::new("code", "Code from the app", "text")
                        .autocomplete("one-time-code")
                        .error(error)
                        .autofocus(error.is_some())
                        .render())
                    button type="submit" id="enrol-submit" { "Turn on" }
                }
            }
        },
    )
}

/// The QR code of `data` as inline SVG. The SVG text is the qrcode crate's, made only of the
/// modules of the code (no text from the user is written into it), so it is trusted markup.
fn qr_svg(data: &str) -> Option<Markup> {
    let code = qrcode::QrCode::new(data.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    // Inline in HTML, the XML declaration has no place.
    let svg = match svg.split_once("?>") {
        Some((_, rest)) => rest.to_string(),
        None => svg,
    };
    let svg = svg.replacen("<svg ", "<svg role=\"img\" aria-label=\"QR code\" ", 1);
    Some(PreEscaped(svg))
}

pub fn enrol_submit(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let f = ctx.form();
    let code = f.get("code").map_or("", String::as_str);
    Ok(
        match twofactor::confirm_enrolment(&ctx.app.services, user, code, &ctx.client) {
            Ok(codes) => page(
                ctx,
                200,
                "Two-factor sign-in is on",
                html! {
                    section.narrow id="two-factor-done" {
                        h1 { "Two-factor sign-in is on" }
                        p { "Keep these recovery codes somewhere safe. Each signs you in once without the app; they are shown only now." }
                        ul id="recovery-codes" {
                            @for c in &codes { li { code { (c) } } }
                        }
                        p { a.button href=(home_for(user.role)) { "Done" } }
                    }
                },
            ),
            Err(EnrolError::AlreadyOn) => Response::see_other("/account/2fa"),
            Err(EnrolError::WrongCode) => {
                match twofactor::enrolment_secret(&ctx.app.services, user) {
                    Ok(secret) => enrol_page(
                        ctx,
                        400,
                        &secret,
                        &user.email,
                        Some(
                            "That is not the current code for this key. Check the app and try again.",
                        ),
                    ),
                    Err(e) => return Err(Stop::internal(e)),
                }
            }
            Err(EnrolError::Internal(e)) => return Err(Stop::internal(e)),
        },
    )
}
