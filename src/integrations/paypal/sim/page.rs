//! The buyer's approval page (`/checkoutnow`), standing in for PayPal's
//! web checkout: plain HTML forms, no script.

use serde_json::Value;

use super::super::OrderStatus;
use super::super::util::html_escape;
use super::orders;
use super::server::{Out, Reply, Req};
use super::state::State;

/// `GET /checkoutnow?token=<id>[&fake_action=approve|cancel]`: the buyer's
/// page. Plain HTML forms, no script.
pub(super) fn approval_page(st: &mut State, req: &Req) -> Out {
    let token = req.query("token").unwrap_or("");
    let Some(order) = st.live_order(token).cloned() else {
        let body = page(
            "Order not found",
            "<p id=\"error\">This checkout session does not exist or has expired.</p>",
        );
        return (Reply::html(404, body), Vec::new());
    };
    match req.query("fake_action") {
        Some("approve") => match orders::approve(st, token) {
            Ok((Some(url), pending)) => (Reply::redirect(url), pending),
            Ok((None, pending)) => {
                let body = page("Approved", "<p id=\"approved\">Payment approved.</p>");
                (Reply::html(200, body), pending)
            }
            Err(e) => {
                let body = page(
                    "Cannot approve",
                    &format!("<p id=\"error\">{}</p>", html_escape(&e.to_string())),
                );
                (Reply::html(409, body), Vec::new())
            }
        },
        Some("cancel") => match orders::cancel_redirect(st, token) {
            Ok(Some(url)) => (Reply::redirect(url), Vec::new()),
            _ => {
                let body = page("Cancelled", "<p id=\"cancelled\">Payment cancelled.</p>");
                (Reply::html(200, body), Vec::new())
            }
        },
        _ => {
            let id = html_escape(&order.id);
            let description = order
                .unit
                .get("description")
                .and_then(Value::as_str)
                .map(|d| {
                    format!(
                        "<dt>Description</dt><dd id=\"order-description\">{}</dd>",
                        html_escape(d)
                    )
                })
                .unwrap_or_default();
            let form = |action: &str, label: &str| {
                format!(
                    "<form method=\"get\" action=\"/checkoutnow\" id=\"{action}-form\">\
                     <input type=\"hidden\" name=\"token\" value=\"{id}\">\
                     <input type=\"hidden\" name=\"fake_action\" value=\"{action}\">\
                     <button type=\"submit\" id=\"{action}\">{label}</button></form>"
                )
            };
            let buttons = if order.status == OrderStatus::Completed {
                "<p id=\"completed\">This order has already been paid.</p>".to_string()
            } else {
                format!("{}{}", form("approve", "Approve"), form("cancel", "Cancel"))
            };
            let content = format!(
                "<p>Simulated PayPal checkout: no money moves.</p>\
                 <dl><dt>Order</dt><dd id=\"order-id\">{id}</dd>\
                 <dt>Amount</dt><dd id=\"order-amount\">{}</dd>{description}\
                 <dt>Status</dt><dd id=\"order-status\">{}</dd></dl>{buttons}",
                html_escape(&order.amount.to_string()),
                html_escape(order.status.as_str()),
            );
            (
                Reply::html(200, page("Approve payment", &content)),
                Vec::new(),
            )
        }
    }
}

fn page(title: &str, content: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:0 auto;padding:1rem}}\
         button{{font:inherit;padding:.6rem 1.2rem;margin:.25rem 0}}</style>\
         <title>PayPal simulator: {t}</title></head><body><main id=\"paypal-sim\">\
         <h1>{t}</h1>{content}</main></body></html>",
        t = html_escape(title)
    )
}
