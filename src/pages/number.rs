//! The page of one number: where it is, its type, the plans that fit it and the way to buy it
//! (or to the buyer's own order when it is held for them).

use maud::html;

use super::numbers::{location, type_badge};
use super::{csrf_field, page};
use crate::domain::{Money, PhoneNumber};
use crate::http::{Response, encode_query};
use crate::store::numbers;
use crate::store::plans;
use crate::web::{Ctx, Reply, Stop};

/// `GET /numbers/{number}`; a number written another way is redirected to its ten digits.
pub fn show(ctx: &Ctx<'_>, raw: &str) -> Reply {
    let Ok(number) = PhoneNumber::parse(raw) else {
        return Err(Stop::NotFound);
    };
    if number.digits() != raw {
        return Ok(Response::see_other(&format!(
            "/numbers/{}",
            number.digits()
        )));
    }
    let (row, active_plans) =
        ctx.read(|tx| Ok((numbers::get(tx, &number)?, plans::list(tx, true)?)))?;
    // A buyer who left the payment page finds their own order again instead of "someone else
    // has it".
    if let (Some(user), Some(r)) = (&ctx.user, &row)
        && r.availability != "available"
    {
        let mine = ctx
            .read(|tx| crate::store::orders::live_order_of(tx, user.id, &number, ctx.app.now()))?;
        if let Some(order_id) = mine {
            return Ok(page(
                ctx,
                200,
                &number.pretty(),
                html! {
                    section.narrow id="number-yours" {
                        h1 { (number.pretty()) " is held for you" }
                        p { "You have an order for this number that waits for payment." }
                        p { a.button id="your-order" href={ "/orders/" (order_id) } { "Pay or give up order " (order_id) } }
                    }
                },
            ));
        }
    }
    let Some(row) = row.filter(|r| r.availability == "available") else {
        let similar = format!("/numbers?{}", encode_query(&[("npa", number.npa())]));
        return Ok(page(
            ctx,
            404,
            "Number not available",
            html! {
                section.narrow id="number-unavailable" {
                    h1 { (number.pretty()) " is not available" }
                    p { "Someone else has this number, or it is not in our inventory. "
                        "There may be others like it." }
                    p { a.button href=(similar) { "See numbers in area code " (number.npa()) } }
                }
            },
        ));
    };
    // Only the plans made for this type of number are offered.
    let active_plans: Vec<_> = active_plans
        .into_iter()
        .filter(|p| p.number_type.fits(row.kind))
        .collect();
    let currency = ctx.app.config().currency;
    // A plan chosen before signing in stays chosen.
    let chosen = ctx
        .req
        .query_params()
        .get("plan")
        .and_then(|v| v.parse::<i64>().ok())
        .filter(|id| active_plans.iter().any(|p| p.id == *id));
    Ok(page(
        ctx,
        200,
        &number.pretty(),
        html! {
            section.number-detail id="number-detail" data-number=(row.number) {
                p.muted { a href="/numbers" { "← Back to search" } }
                h1.big-number { (number.pretty()) }
                p { (type_badge(row.kind)) " " (location(&row)) }
                @if active_plans.is_empty() {
                    div.notice id="no-plans" role="status" { "No plans are on sale for " (row.kind.label().to_lowercase()) " numbers right now. Please check back soon." }
                } @else {
                    form.stack id="buy-form" method="post" action="/checkout" {
                        (csrf_field(ctx))
                        input type="hidden" name="number" value=(row.number);
                        fieldset.plans {
                            legend { "Choose a plan" }
                            @for (i, p) in active_plans.iter().enumerate() {
                                label.plan for=(format!("plan-{}", p.id)) {
                                    input type="radio" name="plan" id=(format!("plan-{}", p.id)) value=(p.id)
                                        checked[chosen.map_or(i == 0, |c| c == p.id)] required;
                                    span.plan-body {
                                        span.plan-name { (p.name) }
                                        @if !p.description.is_empty() { span.plan-desc { (p.description) } }
                                    }
                                    span.plan-price {
                                        span.price.price-big { (Money::new(p.monthly_cents, currency)) }
                                        span.per { " a month" }
                                        span.plan-setup {
                                            @if p.setup_cents > 0 { "+ " span.price { (Money::new(p.setup_cents, currency)) } " setup" }
                                            @else { "no setup fee" }
                                        }
                                        span.plan-today {
                                            span.price { (Money::new(p.setup_cents + p.monthly_cents, currency)) } " today"
                                        }
                                    }
                                }
                            }
                        }
                        p.hint { "You pay the setup fee and the first month today. The number is held for you while you pay." }
                        button type="submit" id="buy-submit" { "Buy this number" }
                    }
                }
            }
        },
    ))
}
