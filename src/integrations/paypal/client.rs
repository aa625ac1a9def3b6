//! The real PayPal REST client (ureq 3, blocking).
//!
//! - OAuth2 client-credentials token cached behind a mutex until 60 s before
//!   `expires_in` (half the lifetime for very short tokens); on a 401 the token
//!   is refreshed and the call retried exactly once.
//! - Every call has a global timeout; a timeout is [`PayPalError::Timeout`].
//! - PayPalError statuses are read as responses (`http_status_as_error(false)`) so
//!   PayPal's error body becomes [`PayPalError::Api`].
//! - The client secret and access token are never logged or put in errors.

use std::fmt;

use base64::Engine as _;
use secrecy::ExposeSecret;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::config::{LIVE_API, PayPalClientConfig, SANDBOX_API};
use super::webhook::{raw_event_text, verify_request_body};
use super::wire::{self, WCapture, WOrder, WRefund, api_error, find_link};
use super::{
    CaptureOutcome, CapturedOrder, CreatedOrder, NewPayPalOrder, OrderStatus, PayPalError,
    PayPalOrder, Payments, Refund, RefundRequest, WebhookHeaders,
};

struct Token {
    value: String,
    refresh_at: Instant,
}

/// The blocking PayPal client. Cheap to share behind an `Arc`; all methods
/// take `&self`.
pub struct PayPalClient {
    config: PayPalClientConfig,
    /// `Basic base64(id:secret)`, computed once.
    basic_auth: String,
    agent: ureq::Agent,
    token: Mutex<Option<Token>>,
}

impl fmt::Debug for PayPalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// A response of any status.
struct Resp {
    status: u16,
    body: String,
    debug_id: Option<String>,
}

impl Resp {
    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct VerifyResponse {
    verification_status: String,
}

/// When to refresh a token that lives `expires_in` seconds.
fn refresh_after(expires_in: u64) -> Duration {
    if expires_in > 120 {
        Duration::from_secs(expires_in - 60)
    } else {
        Duration::from_millis(expires_in * 500)
    }
}

/// PayPal ids are short and alphanumeric; anything else (for instance a
/// `token` query parameter from a browser) must not reach a URL path.
fn check_id(what: &str, id: &str) -> Result<(), PayPalError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    if ok {
        Ok(())
    } else {
        Err(PayPalError::Malformed(format!("invalid {what} id")))
    }
}

fn check_len(what: &str, value: &str, max: usize) -> Result<(), PayPalError> {
    let n = value.chars().count();
    if n == 0 || n > max {
        return Err(PayPalError::Malformed(format!(
            "{what} must be 1..={max} characters"
        )));
    }
    Ok(())
}

fn map_ureq(e: ureq::Error) -> PayPalError {
    match e {
        ureq::Error::Timeout(_) => PayPalError::Timeout,
        ureq::Error::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) =>
        {
            PayPalError::Timeout
        }
        other => PayPalError::Transport(other.to_string()),
    }
}

impl PayPalClient {
    /// Builds a client. [`PayPalError::NotConfigured`] if the API base, client id or
    /// secret is empty.
    pub fn new(config: PayPalClientConfig) -> Result<Self, PayPalError> {
        if config.api_base.trim().is_empty()
            || config.client_id.is_empty()
            || config.client_secret.expose_secret().is_empty()
        {
            return Err(PayPalError::NotConfigured);
        }
        let mut config = config;
        config.api_base = config.api_base.trim_end_matches('/').to_string();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("didport-paypal/1")
            .build()
            .into();
        let basic_auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(
                format!(
                    "{}:{}",
                    config.client_id,
                    config.client_secret.expose_secret()
                )
                .as_bytes()
            )
        );
        Ok(PayPalClient {
            config,
            basic_auth,
            agent,
            token: Mutex::new(None),
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &PayPalClientConfig {
        &self.config
    }

    /// Drops the cached token so the next call fetches a new one.
    pub fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// One HTTP exchange; any status is `Ok`.
    fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Resp, PayPalError> {
        let url = format!("{}{}", self.config.api_base, path);
        let started = Instant::now();
        let result = match method {
            Method::Get => {
                let mut rb = self.agent.get(&url);
                for (k, v) in headers {
                    rb = rb.header(*k, *v);
                }
                rb.call()
            }
            Method::Post => {
                let mut rb = self.agent.post(&url);
                for (k, v) in headers {
                    rb = rb.header(*k, *v);
                }
                rb.send(body.unwrap_or(""))
            }
        };
        let label = format!(
            "{} {}",
            method.as_str(),
            crate::metrics::route_of(path.split('?').next().unwrap_or(path))
        );
        let mut response = match result {
            Ok(r) => {
                let class = format!("{}xx", r.status().as_u16() / 100);
                crate::metrics::record_upstream(
                    "paypal",
                    &label,
                    &class,
                    started.elapsed().as_secs_f64(),
                );
                r
            }
            Err(e) => {
                crate::metrics::record_upstream(
                    "paypal",
                    &label,
                    "error",
                    started.elapsed().as_secs_f64(),
                );
                let err = map_ureq(e);
                log::warn!("PayPal {} {path} failed: {err}", method.as_str());
                return Err(err);
            }
        };
        let status = response.status().as_u16();
        let debug_id = response
            .headers()
            .get("paypal-debug-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.body_mut().read_to_string().map_err(map_ureq)?;
        log::debug!(
            "PayPal {} {path} -> {status} in {} ms (debug_id {})",
            method.as_str(),
            started.elapsed().as_millis(),
            debug_id.as_deref().unwrap_or("-")
        );
        Ok(Resp {
            status,
            body,
            debug_id,
        })
    }

    /// Fetches a new access token with the client credentials.
    fn fetch_token(&self) -> Result<Token, PayPalError> {
        let resp = self.send(
            Method::Post,
            "/v1/oauth2/token",
            &[
                ("Authorization", &self.basic_auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            Some("grant_type=client_credentials"),
        )?;
        if !resp.ok() {
            let err = api_error(resp.status, &resp.body, resp.debug_id).error;
            log::warn!("PayPal token request refused: {err}");
            return Err(err);
        }
        let t: TokenResponse = wire::parse("token response", &resp.body)?;
        if t.access_token.is_empty() {
            return Err(PayPalError::Malformed("empty access token".into()));
        }
        let expires_in = t.expires_in.unwrap_or(0);
        log::info!("PayPal access token obtained (expires in {expires_in} s)");
        Ok(Token {
            value: t.access_token,
            refresh_at: Instant::now() + refresh_after(expires_in),
        })
    }

    /// The cached token, or a fresh one. The lock is held while fetching so
    /// concurrent callers share one token request.
    fn bearer(&self) -> Result<String, PayPalError> {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = slot.as_ref()
            && Instant::now() < t.refresh_at
        {
            return Ok(t.value.clone());
        }
        let fresh = self.fetch_token()?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// Forgets `used` if it is still the cached token (another thread may
    /// already have replaced it).
    fn invalidate(&self, used: &str) {
        let mut slot = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|t| t.value == used) {
            *slot = None;
        }
    }

    /// An authenticated API call; on 401 refreshes the token and retries once.
    fn api(
        &self,
        method: Method,
        path: &str,
        extra: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<Resp, PayPalError> {
        let mut retried = false;
        loop {
            let token = self.bearer()?;
            let auth = format!("Bearer {token}");
            let mut headers: Vec<(&str, &str)> =
                vec![("Authorization", &auth), ("Accept", "application/json")];
            if body.is_some() {
                headers.push(("Content-Type", "application/json"));
            }
            headers.extend_from_slice(extra);
            let resp = self.send(method, path, &headers, body)?;
            if resp.status != 401 || retried {
                return Ok(resp);
            }
            log::info!("PayPal rejected the access token; refreshing it and retrying once");
            self.invalidate(&token);
            retried = true;
        }
    }

    /// Maps a non-2xx response to an error, logging PayPal's debug id.
    fn fail(&self, what: &str, resp: Resp) -> PayPalError {
        let err = api_error(resp.status, &resp.body, resp.debug_id).error;
        log::warn!("PayPal {what} failed: {err}");
        err
    }
}

impl Payments for PayPalClient {
    /// PayPal's pages, and the API's own origin when it is not PayPal's (a simulator serves
    /// its approval page beside its API).
    fn buyer_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = super::BUYER_ORIGINS.iter().map(|o| o.to_string()).collect();
        let base = self.config.api_base.trim_end_matches('/');
        let origin = match base.split_once("://") {
            Some((scheme, rest)) => {
                format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
            }
            None => base.to_string(),
        };
        let official = [LIVE_API, SANDBOX_API]
            .iter()
            .any(|api| api.trim_end_matches('/') == origin);
        if !official && !origin.is_empty() {
            origins.push(origin);
        }
        origins
    }

    fn create_order(&self, order: &NewPayPalOrder) -> Result<CreatedOrder, PayPalError> {
        check_len("PayPal-Request-Id", &order.request_id, 108)?;
        check_len("custom_id", &order.custom_id, 127)?;
        if order.amount.cents <= 0 {
            return Err(PayPalError::Malformed(
                "order amount must be positive".into(),
            ));
        }
        let value = order.amount.to_value()?;
        let mut unit = json!({
            "reference_id": "default",
            "custom_id": order.custom_id,
            "amount": { "currency_code": order.amount.currency, "value": value },
        });
        if let Some(inv) = &order.invoice_id {
            check_len("invoice_id", inv, 127)?;
            unit["invoice_id"] = json!(inv);
        }
        if let Some(d) = order.description.as_deref().filter(|d| !d.is_empty()) {
            unit["description"] = json!(d.chars().take(127).collect::<String>());
        }
        let mut ctx = json!({
            "shipping_preference": "NO_SHIPPING",
            "user_action": "PAY_NOW",
            "payment_method_preference": "IMMEDIATE_PAYMENT_REQUIRED",
            "return_url": order.return_url,
            "cancel_url": order.cancel_url,
        });
        if let Some(b) = order.brand_name.as_deref().filter(|b| !b.is_empty()) {
            ctx["brand_name"] = json!(b.chars().take(127).collect::<String>());
        }
        let body = json!({
            "intent": "CAPTURE",
            "purchase_units": [unit],
            "payment_source": { "paypal": { "experience_context": ctx } },
        })
        .to_string();
        let resp = self.api(
            Method::Post,
            "/v2/checkout/orders",
            &[("PayPal-Request-Id", &order.request_id)],
            Some(&body),
        )?;
        if !resp.ok() {
            return Err(self.fail("create order", resp));
        }
        let w: WOrder = wire::parse("create order response", &resp.body)?;
        let approve_url = find_link(&w.links, &["payer-action", "approve"])
            .ok_or_else(|| PayPalError::Malformed("order has no approve link".into()))?;
        log::info!("PayPal order {} created (status {})", w.id, w.status);
        Ok(CreatedOrder {
            status: OrderStatus::parse(&w.status),
            id: w.id,
            approve_url,
            replayed: resp.status == 200,
        })
    }

    fn get_order(&self, order_id: &str) -> Result<PayPalOrder, PayPalError> {
        check_id("order", order_id)?;
        let resp = self.api(
            Method::Get,
            &format!("/v2/checkout/orders/{order_id}"),
            &[],
            None,
        )?;
        if !resp.ok() {
            return Err(self.fail("get order", resp));
        }
        wire::parse::<WOrder>("order", &resp.body)?.into_order()
    }

    fn capture_order(
        &self,
        order_id: &str,
        request_id: &str,
    ) -> Result<CaptureOutcome, PayPalError> {
        check_id("order", order_id)?;
        check_len("PayPal-Request-Id", request_id, 108)?;
        let resp = self.api(
            Method::Post,
            &format!("/v2/checkout/orders/{order_id}/capture"),
            &[
                ("PayPal-Request-Id", request_id),
                ("Prefer", "return=representation"),
            ],
            Some("{}"),
        )?;
        if resp.ok() {
            let replayed = resp.status == 200;
            let order = wire::parse::<WOrder>("capture response", &resp.body)?.into_order()?;
            let capture = order.captures.into_iter().next().ok_or_else(|| {
                PayPalError::Malformed("capture response without a capture".into())
            })?;
            log::info!(
                "PayPal order {} capture {} status {}{}",
                order.id,
                capture.id,
                capture.status.as_str(),
                if replayed { " (replayed)" } else { "" }
            );
            return Ok(CaptureOutcome::Captured(Box::new(CapturedOrder {
                order_id: order.id,
                order_status: order.status,
                capture,
                payer: order.payer,
                replayed,
            })));
        }
        if resp.status != 422 {
            return Err(self.fail("capture", resp));
        }
        let parsed = api_error(resp.status, &resp.body, resp.debug_id);
        let redirect = find_link(&parsed.links, &["redirect", "payer-action", "approve"]);
        let outcome = match parsed.error {
            PayPalError::Api {
                issue: Some(issue),
                message,
                debug_id,
                ..
            } => match issue.as_str() {
                "ORDER_NOT_APPROVED" => CaptureOutcome::NotApproved,
                "ORDER_ALREADY_CAPTURED" => CaptureOutcome::AlreadyCaptured,
                "INSTRUMENT_DECLINED" => CaptureOutcome::InstrumentDeclined {
                    redirect_url: redirect,
                },
                "PAYER_ACTION_REQUIRED" | "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING" => {
                    CaptureOutcome::PayerActionRequired {
                        redirect_url: redirect,
                    }
                }
                _ => CaptureOutcome::Unprocessable {
                    issue,
                    message,
                    debug_id,
                },
            },
            other => {
                log::warn!("PayPal capture of {order_id} failed: {other}");
                return Err(other);
            }
        };
        log::info!("PayPal capture of {order_id}: {outcome:?}");
        Ok(outcome)
    }

    fn get_capture(&self, capture_id: &str) -> Result<super::Capture, PayPalError> {
        check_id("capture", capture_id)?;
        let resp = self.api(
            Method::Get,
            &format!("/v2/payments/captures/{capture_id}"),
            &[],
            None,
        )?;
        if !resp.ok() {
            return Err(self.fail("get capture", resp));
        }
        wire::parse::<WCapture>("capture", &resp.body)?.into_capture()
    }

    fn refund_capture(
        &self,
        capture_id: &str,
        refund: &RefundRequest,
    ) -> Result<Refund, PayPalError> {
        check_id("capture", capture_id)?;
        check_len("PayPal-Request-Id", &refund.request_id, 108)?;
        let mut body = json!({});
        if let Some(a) = &refund.amount {
            if a.cents <= 0 {
                return Err(PayPalError::Malformed(
                    "refund amount must be positive".into(),
                ));
            }
            body["amount"] = json!({ "currency_code": a.currency, "value": a.to_value()? });
        }
        if let Some(n) = refund.note_to_payer.as_deref().filter(|n| !n.is_empty()) {
            body["note_to_payer"] = json!(n.chars().take(255).collect::<String>());
        }
        let resp = self.api(
            Method::Post,
            &format!("/v2/payments/captures/{capture_id}/refund"),
            &[
                ("PayPal-Request-Id", &refund.request_id),
                ("Prefer", "return=representation"),
            ],
            Some(&body.to_string()),
        )?;
        if !resp.ok() {
            return Err(self.fail("refund", resp));
        }
        let mut r = wire::parse::<WRefund>("refund", &resp.body)?.into_refund()?;
        if r.capture_id.is_none() {
            r.capture_id = Some(capture_id.to_string());
        }
        log::info!("PayPal refund {} of capture {capture_id}", r.id);
        Ok(r)
    }

    fn check_credentials(&self) -> Result<(), PayPalError> {
        self.forget_token();
        self.bearer().map(|_| ())
    }

    fn webhook_exists(&self) -> Result<bool, PayPalError> {
        let webhook_id = self
            .config
            .webhook_id
            .as_deref()
            .filter(|w| !w.is_empty())
            .ok_or(PayPalError::NotConfigured)?;
        check_id("webhook", webhook_id)?;
        let resp = self.api(
            Method::Get,
            &format!("/v1/notifications/webhooks/{webhook_id}"),
            &[],
            None,
        )?;
        match resp.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            _ => Err(self.fail("read webhook", resp)),
        }
    }

    fn verify_webhook(
        &self,
        headers: &WebhookHeaders,
        raw_body: &[u8],
    ) -> Result<bool, PayPalError> {
        let webhook_id = self
            .config
            .webhook_id
            .as_deref()
            .filter(|w| !w.is_empty())
            .ok_or(PayPalError::NotConfigured)?;
        let Some(raw_event) = raw_event_text(raw_body) else {
            log::warn!("PayPal webhook body is not a JSON object; not verified");
            return Ok(false);
        };
        let body = verify_request_body(headers, webhook_id, raw_event)?;
        let resp = self.api(
            Method::Post,
            "/v1/notifications/verify-webhook-signature",
            &[],
            Some(&body),
        )?;
        if !resp.ok() {
            return Err(self.fail("verify webhook", resp));
        }
        let v: VerifyResponse = wire::parse("verify response", &resp.body)?;
        let ok = v.verification_status == "SUCCESS";
        if !ok {
            log::warn!(
                "PayPal webhook transmission {} not verified ({})",
                headers.transmission_id,
                v.verification_status
            );
        }
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_margin() {
        assert_eq!(refresh_after(32_400), Duration::from_secs(32_340));
        assert_eq!(refresh_after(121), Duration::from_secs(61));
        assert_eq!(refresh_after(2), Duration::from_secs(1));
        assert_eq!(refresh_after(0), Duration::ZERO);
    }

    #[test]
    fn ids_are_checked_before_reaching_a_path() {
        assert!(check_id("order", "FAKEORD000001").is_ok());
        assert!(check_id("order", "5O190127TN364715T").is_ok());
        for bad in ["", "../x", "A/B", "A?b=1", "A B", &"A".repeat(65)] {
            assert!(check_id("order", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_debug_and_errors_hide_the_secret() {
        let mut c = PayPalClientConfig::new("http://127.0.0.1:9/", "id", "s3cr3t-value");
        c.webhook_id = Some("WH".into());
        assert_eq!(c.api_base, "http://127.0.0.1:9");
        let client = PayPalClient::new(c.clone()).expect("client");
        assert!(!format!("{c:?} {client:?}").contains("s3cr3t-value"));
        assert!(matches!(
            PayPalClient::new(PayPalClientConfig::new("http://x", "id", "")),
            Err(PayPalError::NotConfigured)
        ));
    }
}
