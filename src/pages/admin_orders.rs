//! View Orders: every order with its number status, and the status change that runs the
//! activation flow (the customer page is `admin_customers`).

use maud::html;

use super::{badges, csrf_field, page};
use crate::clock::format_utc;
use crate::domain::Money;
use crate::domain::money::Currency;
use crate::domain::{NumberStatus, PaymentStatus};
use crate::http::encode_query;
use crate::store::purchased::{self, OrderFilter};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};
use crate::workflow::activation::{self, Changed, StatusChangeError};

const PAGE: i64 = 50;

/// The `status` filter of View Orders: a number status, a payment status, or one of the
/// work-queue views the dashboard links to.
fn parse_filter(v: &str, now: i64) -> Option<OrderFilter> {
    if let Some(n) = NumberStatus::parse(v) {
        return Some(OrderFilter::Number(n));
    }
    if let Some(p) = v.strip_prefix("payment:").and_then(PaymentStatus::parse) {
        return Some(OrderFilter::Payment(p));
    }
    match v {
        "awaiting_activation" => Some(OrderFilter::AwaitingActivation),
        "activation_failed" => Some(OrderFilter::ActivationFailed),
        "hold_ending" => Some(OrderFilter::HoldEnding(now + HOLD_ENDING_SECS)),
        "needs_check" => Some(OrderFilter::NeedsCheck),
        // Payment words without the prefix, as earlier links wrote them; anything else
        // matches nothing.
        other => {
            Some(PaymentStatus::parse(other).map_or(OrderFilter::Nothing, OrderFilter::Payment))
        }
    }
}

/// A hold that ends within this is "about to expire" on the work queue.
pub const HOLD_ENDING_SECS: i64 = 5 * 60;

const QUEUES: [(&str, &str); 4] = [
    ("awaiting_activation", "Paid, waiting for activation"),
    ("activation_failed", "Activation failed"),
    ("hold_ending", "Hold ends within 5 minutes"),
    ("needs_check", "Flagged for a check"),
];

/// A number typed the way people write it (`(813) 766-2255`, `766-2255`, `+1 813…`) is
/// searched by its digits; anything else (an email) as typed.
fn search_needle(typed: &str) -> String {
    let phone_like = typed
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '(' | ')' | '-' | '.' | '+'));
    let digits: String = typed.chars().filter(char::is_ascii_digit).collect();
    if !phone_like || digits.is_empty() {
        return typed.to_string();
    }
    match digits.strip_prefix('1') {
        Some(rest) if digits.len() == 11 => rest.to_string(),
        _ => digits,
    }
}

/// The View Orders address with the filter an admin was looking at, rebuilt from the
/// fields (never a raw URL from the form).
fn orders_url(status: Option<&str>, search: Option<&str>, page_no: i64) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(s) = status.filter(|s| !s.is_empty()) {
        pairs.push(("status", s.to_string()));
    }
    if let Some(s) = search.filter(|s| !s.is_empty()) {
        pairs.push(("q", s.to_string()));
    }
    if page_no > 1 {
        pairs.push(("page", page_no.to_string()));
    }
    if pairs.is_empty() {
        return "/admin/orders".into();
    }
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    format!("/admin/orders?{}", encode_query(&pairs))
}

/// Where a status change returns to: the list as it was filtered.
fn back_from_form(f: &std::collections::HashMap<String, String>) -> String {
    let page_no = f
        .get("back_page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    orders_url(
        f.get("back_status").map(String::as_str),
        f.get("back_q").map(|s| s.trim()),
        page_no,
    )
}

pub fn list(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let q = ctx.req.query_params();
    let status = q
        .get("status")
        .map(String::as_str)
        .filter(|s| !s.is_empty());
    let search = q.get("q").map(|s| s.trim()).filter(|s| !s.is_empty());
    let page_no = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let filter = status.and_then(|v| parse_filter(v, ctx.app.now()));
    let rows = ctx.read(|tx| {
        // Saturating: a page number near i64::MAX would overflow (and panic) otherwise.
        let offset = (page_no - 1).saturating_mul(PAGE);
        let needle = search.map(search_needle);
        purchased::admin_list(tx, filter, needle.as_deref(), PAGE + 1, offset)
    })?;
    let more = rows.len() as i64 > PAGE;
    let link = |p: i64| {
        let mut pairs = vec![("page", p.to_string())];
        if let Some(s) = status {
            pairs.push(("status", s.to_string()));
        }
        if let Some(s) = search {
            pairs.push(("q", s.to_string()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/admin/orders?{}", encode_query(&pairs))
    };
    Ok(page(
        ctx,
        200,
        "View Orders",
        html! {
            h1 { "View Orders" }
            form.search-panel.orders-filter id="orders-filter" method="get" action="/admin/orders" {
                div.field {
                    label for="o-q" { "Number or email" }
                    input id="o-q" name="q" type="search" value=(search.unwrap_or("")) placeholder="(813) 766-2255 or an email";
                }
                div.field {
                    label for="o-status" { "Status" }
                    select id="o-status" name="status" {
                        option value="" { "Any" }
                        optgroup label="Number status" {
                            @for s in NumberStatus::ALL { option value=(s.as_str()) selected[status == Some(s.as_str())] { (s.label()) } }
                        }
                        optgroup label="Payment" {
                            @for p in PaymentStatus::ALL {
                                @let v = format!("payment:{}", p.as_str());
                                option value=(v) selected[status == Some(v.as_str()) || status == Some(p.as_str())] { (p.label()) }
                            }
                        }
                        optgroup label="Work queue" {
                            @for (v, label) in QUEUES { option value=(v) selected[status == Some(v)] { (label) } }
                        }
                    }
                }
                button type="submit" { "Filter" }
            }
            @if rows.is_empty() {
                p.empty id="no-orders" { "No orders match." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="orders" {
                        thead { tr { th { "Order" } th { "Customer and number" } th { "Plan" } th { "Payment" } th { "Number status" } th { "Dates" } } }
                        tbody {
                            @for r in rows.iter().take(PAGE as usize) {
                                tr id={ "order-" (r.order_id) } data-status=(r.number_status.map_or("", NumberStatus::as_str)) data-payment=(r.payment_status.as_str()) {
                                    td.title-cell { a href={ "/orders/" (r.order_id) } { "Order " (r.order_id) } }
                                    td.who data-label="Customer" {
                                        span {
                                            span.tel { (crate::domain::phone::pretty(&r.number)) }
                                            a.email href={ "/admin/customers/" (r.user_id) } { (r.email) }
                                        }
                                    }
                                    td data-label="Plan" { span { (r.plan_name) br; span.price { (Money::new(r.amount_cents, Currency::parse(&r.currency).unwrap_or(Currency::USD))) } } }
                                    td data-label="Payment" { (badges::payment(r.payment_status)) }
                                    td.number-status data-label="Number status" {
                                        @if let Some(st) = r.number_status {
                                            (badges::number(st))
                                            @let targets = st.targets(r.payment_status);
                                            // Only the changes the transition table allows are offered.
                                            @if targets.len() > 1 {
                                                form.status-form method="post" action={ "/admin/orders/" (r.order_id) "/status" } {
                                                    (csrf_field(ctx))
                                                    (back_fields(status, search, page_no))
                                                    label.visually-hidden for={ "status-" (r.order_id) } { "New status for order " (r.order_id) }
                                                    select name="status" id={ "status-" (r.order_id) } {
                                                        @for t in &targets { option value=(t.as_str()) selected[*t == st] { (t.label()) } }
                                                    }
                                                    button.small type="submit" id={ "status-submit-" (r.order_id) } { "Change" }
                                                }
                                            } @else {
                                                p.small.muted id={ "status-final-" (r.order_id) } { "Refunded: stays cancelled." }
                                            }
                                            @if let Some(err) = &r.last_error {
                                                p.small-error id={ "error-" (r.order_id) } { "Last activation failed: " (err) }
                                            }
                                        } @else if r.payment_status == PaymentStatus::Paid {
                                            span.muted { "paid after the number went elsewhere: refund" }
                                        } @else {
                                            span.muted { "not paid" }
                                        }
                                    }
                                    td.dates data-label="Dates" {
                                        small {
                                            "Ordered " (short_date(r.created_at))
                                            @if let Some(p) = r.paid_at { br; "Paid " (short_date(p)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages" {
                    @if page_no > 1 { a rel="prev" href=(link(page_no - 1)) { "← Newer" } }
                    @if more { a rel="next" id="next-page" href=(link(page_no.saturating_add(1))) { "Older →" } }
                }
            }
        },
    ))
}

pub fn change_status(ctx: &Ctx<'_>, id: &str) -> Reply {
    let admin = require_admin(ctx)?;
    let Ok(order_id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let form = ctx.form();
    let status = form.get("status").cloned().unwrap_or_default();
    let back_url = back_from_form(form);
    let back = back_url.as_str();
    let label: String =
        NumberStatus::parse(&status).map_or_else(|| status.clone(), |s| s.label().to_lowercase());
    // Cancelling ends the customer's service: it is asked once more.
    if NumberStatus::parse(&status) == Some(NumberStatus::Cancelled)
        && form.get("confirm").map(String::as_str) != Some("yes")
    {
        return confirm_cancel(ctx, order_id, form, back);
    }
    Ok(match activation::change_status(&ctx.app.services, admin, order_id, &status, &ctx.client) {
        Ok(Changed::Changed) => ctx.redirect_with(back, FlashKind::Notice, &format!("Order {order_id}: the number is now {label}.")),
        Ok(Changed::Unchanged) => ctx.redirect_with(back, FlashKind::Notice, &format!("Order {order_id}: the number was already {label}; nothing changed.")),
        Err(StatusChangeError::BadStatus) => ctx.redirect_with(back, FlashKind::Error, "Choose pending, active, suspended or cancelled."),
        Err(StatusChangeError::NoNumber) => ctx.redirect_with(back, FlashKind::Error, &format!("Order {order_id} has no paid number to change.")),
        Err(StatusChangeError::Moved(m)) => ctx.redirect_with(back, FlashKind::Error, &m),
        Err(StatusChangeError::Refused(reason)) => super::orders::refused(
            ctx,
            &format!("Order {order_id}: that change is not allowed"),
            &reason,
            back,
            "Back to View Orders",
        ),
        Err(StatusChangeError::Activation { step, message }) => ctx.redirect_with(
            back,
            FlashKind::Error,
            &format!("Activation of order {order_id} failed at \"{step}\": {message}. Nothing changed; the admin address was emailed."),
        ),
        Err(StatusChangeError::Internal(e)) => return Err(Stop::internal(e)),
    })
}

/// The hidden fields that carry the list's filter through a status change.
fn back_fields(status: Option<&str>, search: Option<&str>, page_no: i64) -> maud::Markup {
    html! {
        @if let Some(s) = status { input type="hidden" name="back_status" value=(s); }
        @if let Some(q) = search { input type="hidden" name="back_q" value=(q); }
        @if page_no > 1 { input type="hidden" name="back_page" value=(page_no); }
    }
}

/// The day, which is what an admin scans for; the full time is in the tooltip.
fn short_date(t: i64) -> maud::Markup {
    let day = crate::domain::billing::format_day(t);
    html! { time datetime=(day) title=(format_utc(t)) { (day) } }
}

/// The question before a number is cancelled from View Orders.
fn confirm_cancel(
    ctx: &Ctx<'_>,
    order_id: i64,
    form: &std::collections::HashMap<String, String>,
    back: &str,
) -> Reply {
    let number = match ctx.read(|tx| crate::store::orders::get(tx, order_id))? {
        Some(o) => crate::domain::phone::pretty(&o.number),
        None => return Err(Stop::NotFound),
    };
    let keep = |k: &str| form.get(k).cloned().unwrap_or_default();
    Ok(page(
        ctx,
        200,
        "Cancel this number?",
        html! {
            section.narrow id="confirm-cancel" {
                h1 { "Cancel " (number) "?" }
                p { "Order " (order_id) ". Cancelling ends the customer's service on " strong { (number) } ". "
                    "The customer is emailed about the change." }
                form method="post" action={ "/admin/orders/" (order_id) "/status" } {
                    (csrf_field(ctx))
                    input type="hidden" name="status" value=(NumberStatus::Cancelled.as_str());
                    input type="hidden" name="confirm" value="yes";
                    @for k in ["back_status", "back_q", "back_page"] {
                        @let v = keep(k);
                        @if !v.is_empty() { input type="hidden" name=(k) value=(v); }
                    }
                    div.actions {
                        button.danger type="submit" id="confirm-cancel-button" { "Cancel the number" }
                        a.button.secondary id="keep-number" href=(back) { "Keep it as it is" }
                    }
                }
            }
        },
    ))
}
