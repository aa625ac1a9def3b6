//! The buyer's approval page (`/checkoutnow`), standing in for PayPal's
//! web checkout: plain HTML forms, no script.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::Value;

use super::orders;
use super::server::{Out, Reply, Req};
use super::state::State;
use super::wire::SimOrderStatus;

/// `GET /checkoutnow?token=<id>[&fake_action=approve|cancel]`: the buyer's
/// page. Plain HTML forms, no script.
pub(super) fn approval_page(st: &mut State, req: &Req) -> Out {
    let token = req.query("token").unwrap_or("");
    let Some(order) = st.live_order(token).cloned() else {
        let body = page(
            "Order not found",
            html! { p #error { "This checkout session does not exist or has expired." } },
        );
        return (Reply::html(404, body), Vec::new());
    };
    match req.query("fake_action") {
        Some("approve") => match orders::approve(st, token) {
            Ok((Some(url), pending)) => (Reply::redirect(url), pending),
            Ok((None, pending)) => {
                let body = page("Approved", html! { p #approved { "Payment approved." } });
                (Reply::html(200, body), pending)
            }
            Err(e) => {
                let body = page("Cannot approve", html! { p #error { (e) } });
                (Reply::html(409, body), Vec::new())
            }
        },
        Some("cancel") => match orders::cancel_redirect(st, token) {
            Ok(Some(url)) => (Reply::redirect(url), Vec::new()),
            _ => {
                let body = page("Cancelled", html! { p #cancelled { "Payment cancelled." } });
                (Reply::html(200, body), Vec::new())
            }
        },
        _ => {
            let description = order.unit.get("description").and_then(Value::as_str);
            let form = |action: &str, label: &str| {
                html! {
                    form method="get" action="/checkoutnow" id={ (action) "-form" } {
                        input type="hidden" name="token" value=(order.id);
                        input type="hidden" name="fake_action" value=(action);
                        button type="submit" id=(action) { (label) }
                    }
                }
            };
            let content = html! {
                p { "Simulated PayPal checkout: no money moves." }
                dl {
                    dt { "Order" } dd #order-id { (order.id) }
                    dt { "Amount" } dd #order-amount { (order.amount) }
                    @if let Some(d) = description {
                        dt { "Description" } dd #order-description { (d) }
                    }
                    dt { "Status" } dd #order-status { (order.status.wire()) }
                }
                @if order.status == SimOrderStatus::Completed {
                    p #completed { "This order has already been paid." }
                } @else {
                    (form("approve", "Approve"))
                    (form("cancel", "Cancel"))
                }
            };
            (
                Reply::html(200, page("Approve payment", content)),
                Vec::new(),
            )
        }
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem}\
     button{font:inherit;padding:.6rem 1.2rem;margin:.25rem 0}";

fn page(title: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                style { (PreEscaped(STYLE)) }
                title { "PayPal simulator: " (title) }
            }
            body { main #paypal-sim { h1 { (title) } (content) } }
        }
    }
    .into_string()
}
