//! The endpoints machines call, without a session or CSRF field: the health check, the
//! Prometheus metrics and PayPal's webhook. They answer in plain text or JSON, never a page.

use secrecy::ExposeSecret;

use crate::http::{Request, Response};
use crate::secure;
use crate::web::App;
use crate::workflow::payments;

pub fn healthz(app: &App) -> Response {
    match app.services.store.ping() {
        Ok(()) => Response::json(200, &serde_json::json!({"status": "ok"})),
        Err(e) => {
            log::error!("health check: {e}");
            Response::json(503, &serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// `GET /metrics`: with `DIDPORT_METRICS_TOKEN` set, only a request bearing it; without, only
/// loopback clients (a reverse proxy on the same host makes every client loopback: set a token).
pub fn metrics(app: &App, req: &Request) -> Response {
    match &app.services.config.metrics_token {
        Some(token) => {
            let given = req
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Digests compared, so the comparison's time says nothing about the token.
            if secure::token_digest(given) != secure::token_digest(token.expose_secret()) {
                return Response::text(401, "A bearer token is required.")
                    .with_header("WWW-Authenticate", "Bearer realm=\"metrics\"");
            }
        }
        None if !req.peer.is_loopback() => {
            return Response::text(
                403,
                "Metrics are served to loopback clients only; set DIDPORT_METRICS_TOKEN.",
            );
        }
        None => {}
    }
    let today = crate::domain::billing::day_of(app.now());
    let snapshot = match app
        .services
        .store
        .read(|tx| crate::store::stats::snapshot(tx, today))
    {
        Ok(s) => s,
        Err(e) => {
            log::error!("metrics: {e}");
            return Response::text(503, "The database could not be read.");
        }
    };
    match crate::metrics::render(&snapshot) {
        Ok(body) => Response::new(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body,
        ),
        Err(e) => {
            log::error!("metrics: {e}");
            Response::text(500, "The metrics could not be written.")
        }
    }
}

/// `POST /webhooks/paypal`: machine to machine, so plain JSON answers.
pub fn paypal_webhook(app: &App, req: &Request) -> Response {
    let lookup = |name: &str| req.header(&name.to_ascii_lowercase()).map(str::to_string);
    match payments::webhook(&app.services, lookup, &req.body) {
        Ok(payments::WebhookResult::Handled | payments::WebhookResult::Duplicate) => {
            Response::json(200, &serde_json::json!({"status": "ok"}))
        }
        Ok(payments::WebhookResult::Refused) => {
            Response::json(400, &serde_json::json!({"error": "not verified"}))
        }
        Ok(payments::WebhookResult::RetryLater) => {
            Response::json(503, &serde_json::json!({"error": "try again later"}))
        }
        Err(e) => {
            let id = secure::short_id();
            log::error!("incident {id}: PayPal webhook: {e}");
            Response::json(500, &serde_json::json!({"error": format!("incident {id}")}))
        }
    }
}
