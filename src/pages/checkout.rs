//! Checkout: the buyer's order of a number, the trip to PayPal and the way back (approved or
//! cancelled). The invoice is `invoice`; PayPal's webhook is a machine endpoint in `app`.

use maud::html;

use super::page;
use crate::domain::PhoneNumber;
use crate::domain::phone::pretty;
use crate::http::{Response, encode_query};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_user};
use crate::workflow::checkout::{self, CheckoutError};
use crate::workflow::orders::CancelReturn;
use crate::workflow::payments;

pub fn submit(ctx: &Ctx<'_>) -> Reply {
    let f = ctx.form();
    let number = f.get("number").map_or("", String::as_str);
    let plan = f.get("plan").map_or("", String::as_str);
    let Some(user) = &ctx.user else {
        // Sign in first, then come back to the same number with the same plan chosen.
        let back = match PhoneNumber::parse(number) {
            Ok(n) => format!(
                "/numbers/{}?{}",
                n.digits(),
                encode_query(&[("plan", plan)])
            ),
            Err(_) => "/numbers".to_string(),
        };
        return Ok(Response::see_other(&format!(
            "/login?{}",
            encode_query(&[("next", &back)])
        )));
    };
    Ok(
        match checkout::start(&ctx.app.services, user, number, plan, &ctx.client) {
            Ok(id) if ctx.app.services.payments.is_some() => {
                match payments::begin_paypal(&ctx.app.services, id) {
                    Ok(approve) => Response::see_other(&approve),
                    Err(payments::StartError::Internal(e)) => return Err(Stop::internal(e)),
                    Err(payments::StartError::Gateway(_)) => page(
                        ctx,
                        502,
                        "Payment could not start",
                        html! {
                            section.narrow id="checkout-error" {
                                h1 { "The payment could not start" }
                                p { "PayPal did not answer. Nothing was charged and the number is back on sale. Please try again in a few minutes." }
                                p { a.button href={ "/numbers/" (number) } { "Back to the number" } }
                            }
                        },
                    ),
                }
            }
            Ok(id) => Response::see_other(&format!("/orders/{id}")),
            Err(CheckoutError::Internal(e)) => return Err(Stop::internal(e)),
            Err(CheckoutError::PlanDoesNotFit { plan, number_type }) => super::orders::refused(
                ctx,
                "That plan is not for this number",
                &format!(
                    "The plan {plan} is not offered for {} numbers. Nothing was held or charged; \
                 choose one of the plans shown for this number.",
                    number_type.to_lowercase()
                ),
                &format!(
                    "/numbers/{}",
                    PhoneNumber::parse(number)
                        .map_or_else(|_| String::new(), |n| n.digits().to_string())
                ),
                "Back to the number",
            ),
            Err(e) => {
                let (status, title, text) = match e {
                    CheckoutError::NotAvailable => (
                        409,
                        "Someone else got there first",
                        "This number was just taken by another buyer, or is being paid for right now. Nothing was charged. Please pick another number.",
                    ),
                    CheckoutError::BadPlan => (
                        400,
                        "That plan is not available",
                        "The plan you chose is not on sale. Nothing was held or charged. Go back to the number and choose one of the plans shown.",
                    ),
                    _ => (
                        400,
                        "That number is not for sale",
                        "The number in your order is not in our inventory. Nothing was held or charged.",
                    ),
                };
                page(
                    ctx,
                    status,
                    title,
                    html! {
                        section.narrow id="checkout-error" {
                            h1 { (title) }
                            p { (text) }
                            p { a.button href="/numbers" { "Find another number" } }
                        }
                    },
                )
            }
        },
    )
}

/// `GET /checkout/paypal/return`: back from PayPal with the order approved (or a renewal
/// invoice's payment, which `invoice` settles).
pub fn paypal_return(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let token = ctx
        .req
        .query_params()
        .get("token")
        .cloned()
        .unwrap_or_default();
    // A renewal invoice paid at PayPal comes back here too.
    if let Some(r) = super::invoice::paypal_return(ctx, user.id, &token)? {
        return Ok(r);
    }
    Ok(
        match payments::paypal_return(&ctx.app.services, user, &token) {
            Ok(returned) => super::orders::after_return(ctx, returned)?,
            Err(e) => return Err(Stop::internal(e)),
        },
    )
}

pub fn paypal_cancel(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let token = ctx
        .req
        .query_params()
        .get("token")
        .cloned()
        .unwrap_or_default();
    Ok(
        match crate::workflow::orders::paypal_cancel(&ctx.app.services, user, &token, &ctx.client) {
            Ok(Some(CancelReturn::Cancelled(o))) => ctx.redirect_with(
                &format!("/orders/{}", o.id),
                FlashKind::Notice,
                &format!(
                    "You cancelled the payment at PayPal. Nothing was charged, and {} is released.",
                    pretty(&o.number)
                ),
            ),
            // Any other order is left as it is: the page tells its real state.
            Ok(Some(CancelReturn::Unchanged(o))) => ctx.redirect_with(
                &format!("/orders/{}", o.id),
                FlashKind::Notice,
                &format!(
                    "You left PayPal's page. This order is {}; nothing was changed.",
                    o.payment_status.label().to_lowercase()
                ),
            ),
            Ok(None) => return Err(Stop::NotFound),
            Err(e) => return Err(Stop::internal(e)),
        },
    )
}
