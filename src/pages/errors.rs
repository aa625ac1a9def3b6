//! Error pages: 403, 404, 413, 500 (with an incident id that is also in the log). A handler
//! reaches the 403, 404 and 500 pages only by returning a `web::Stop`, which `for_stop`
//! draws, so a store error is logged and shown the same way everywhere.

use maud::html;

use super::{Chrome, layout, page};
use crate::http::Response;
use crate::web::{App, Ctx, Stop};

fn not_found(ctx: &Ctx<'_>) -> Response {
    page(
        ctx,
        404,
        "Page not found",
        html! {
            section.narrow id="error-404" {
                h1 { "Page not found" }
                p { "There is nothing at this address. It may have moved, or the link may be mistyped." }
                p id="error-support" { "Looking for something? Write to " (super::support_contact(ctx.app)) "." }
                p { a.button href="/" { "Go to the home page" } }
            }
        },
    )
}

/// 404 for requests that have no page context (static files).
pub fn not_found_plain() -> Response {
    Response::text(404, "Not found.")
}

fn forbidden(ctx: &Ctx<'_>) -> Response {
    page(
        ctx,
        403,
        "Not allowed",
        html! {
            section.narrow id="error-403" {
                h1 { "Not allowed" }
                p { "Your account cannot open this page." }
                p id="error-support" { "If you think it should, write to " (super::support_contact(ctx.app)) "." }
                p { a.button href="/" { "Go to the home page" } }
            }
        },
    )
}

pub fn forbidden_csrf(ctx: &Ctx<'_>) -> Response {
    page(
        ctx,
        403,
        "Form expired",
        html! {
            section.narrow id="error-csrf" {
                h1 { "This form has expired" }
                p { "For your safety, nothing was changed. Go back, reload the page and try again." }
            }
        },
    )
}

pub fn incident(app: Option<&App>, id: &str) -> Response {
    let body = layout(
        &Chrome::bare(app),
        "Something went wrong",
        html! {
            section.narrow id="error-500" {
                h1 { "Something went wrong" }
                p { "The request could not be completed. It has been logged; nothing you did caused it." }
                p id="error-support" { "If it keeps happening, write to "
                    @match app { Some(a) => (super::support_contact(a)), None => "support" }
                    " and mention incident " code id="incident-id" { (id) } "." }
                p { a.button href="/" { "Go to the home page" } }
            }
        },
    );
    Response::html(500, body.into_string())
}

pub fn too_large(app: Option<&App>) -> Response {
    let body = layout(
        &Chrome::bare(app),
        "Too large",
        html! {
            section.narrow id="error-413" {
                h1 { "That upload is too large" }
                p { "The request was larger than this page accepts. Nothing was changed. "
                    "Inventory files can be up to "
                    (crate::http::server::MAX_UPLOAD_BYTES / (1024 * 1024)) " MB, sent by a signed-in admin "
                    "(if your session ended, sign in again and send the file again); split larger ones." }
            }
        },
    );
    Response::html(413, body.into_string()).with_header("Connection", "close")
}

/// The 503 page for a form the server cannot take now (many people signing in at once).
/// Nothing was changed; the browser's back button keeps what was typed.
pub fn busy(app: Option<&App>, retry_after: u64) -> Response {
    let body = layout(
        &Chrome::bare(app),
        "Busy",
        html! {
            section.narrow id="error-503" {
                h1 { "Many people are signing in right now" }
                p { "Nothing was changed. Please go back and send the form again in "
                    (retry_after) " seconds." }
            }
        },
    );
    Response::html(503, body.into_string())
}

/// A failure the user cannot fix: logged with an incident id, shown as a 500 page.
fn internal(ctx: &Ctx<'_>, cause: &dyn std::fmt::Display) -> Response {
    let id = crate::secure::short_id();
    log::error!("incident {id}: {} {}: {cause}", "request", ctx.req.path);
    incident(Some(ctx.app), &id)
}

/// The page for a handler's early stop (see `web::Stop`).
pub fn for_stop(ctx: &Ctx<'_>, stop: Stop) -> Response {
    match stop {
        Stop::Answer(r) => r,
        Stop::NotFound => not_found(ctx),
        Stop::Forbidden => forbidden(ctx),
        Stop::Internal(cause) => internal(ctx, &cause),
    }
}
