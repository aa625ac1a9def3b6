//! HTTP plumbing of the simulator: the accept loop (one thread per request,
//! so a "hanging" answer blocks nobody else), request and reply values,
//! routing, the token endpoint, the buyer's approval page and the `/__fake/`
//! controls.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::state::{FailRule, PendingEvent, Shared, State};
use super::wire::random_hex;
use super::{PayPalFailure, RequestRecord, orders, payments, webhooks};

/// Largest request body the simulator reads.
const MAX_BODY: u64 = 1024 * 1024;

/// A handler's answer plus the webhook events its state change created.
pub(super) type Out = (Reply, Vec<PendingEvent>);

/// A request, read completely, with no tiny_http types.
pub(super) struct Req {
    pub method: String,
    /// Path without query.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Req {
    /// A header value (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as a JSON object; an empty body counts as `{}`.
    pub fn json_object(&self) -> Result<Value, Reply> {
        if self.body.trim().is_empty() {
            return Ok(json!({}));
        }
        match serde_json::from_str::<Value>(&self.body) {
            Ok(v @ Value::Object(_)) => Ok(v),
            _ => Err(Reply::api_error(
                400,
                Some("MALFORMED_REQUEST_JSON"),
                "The request JSON is not well formed.",
                None,
                Some("body"),
            )),
        }
    }
}

/// A response, as a plain value.
pub(super) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub location: Option<String>,
    pub debug_id: String,
    /// Wait this long before answering (timeouts, lost responses).
    pub delay: Option<Duration>,
}

impl Reply {
    pub fn json(status: u16, v: &Value) -> Self {
        Reply::json_text(status, v.to_string())
    }

    pub fn json_text(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "application/json",
            body,
            location: None,
            debug_id: State::debug_id(),
            delay: None,
        }
    }

    /// PayPal's v2 error shape (docs/paypal.md, "Errors").
    pub fn api_error(
        status: u16,
        issue: Option<&str>,
        description: &str,
        field: Option<&str>,
        location: Option<&str>,
    ) -> Self {
        Reply::api_error_with_links(status, issue, description, field, location, Vec::new())
    }

    /// As [`Reply::api_error`], with extra `links` after the information link.
    pub fn api_error_with_links(
        status: u16,
        issue: Option<&str>,
        description: &str,
        field: Option<&str>,
        location: Option<&str>,
        extra_links: Vec<Value>,
    ) -> Self {
        let (name, message) = error_name(status);
        let debug_id = State::debug_id();
        let mut body = json!({ "name": name, "message": message, "debug_id": debug_id });
        if let Some(issue) = issue {
            let mut detail = json!({ "issue": issue, "description": description });
            if let Some(f) = field {
                detail["field"] = json!(f);
            }
            if let Some(l) = location {
                detail["location"] = json!(l);
            }
            body["details"] = json!([detail]);
            let mut links = vec![json!({
                "href": format!("https://developer.paypal.com/api/rest/reference/orders/v2/errors/#{issue}"),
                "rel": "information_link",
                "method": "GET",
            })];
            links.extend(extra_links);
            body["links"] = Value::Array(links);
        }
        Reply {
            debug_id,
            ..Reply::json_text(status, body.to_string())
        }
    }

    /// 404 for an unknown or expired resource id in the path.
    pub fn not_found() -> Self {
        Reply::api_error(
            404,
            Some("INVALID_RESOURCE_ID"),
            "Specified resource ID does not exist. Please check the resource ID and try again.",
            None,
            Some("path"),
        )
    }

    /// 422 `UNPROCESSABLE_ENTITY` with one issue.
    pub fn unprocessable(issue: &str, description: &str) -> Self {
        Reply::api_error(422, Some(issue), description, None, Some("body"))
    }

    /// The OAuth error shape used by the token endpoint and bearer checks.
    fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        Reply::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }

    pub fn html(status: u16, body: String) -> Self {
        Reply {
            content_type: "text/html; charset=utf-8",
            ..Reply::json_text(status, body)
        }
    }

    pub fn redirect(location: String) -> Self {
        Reply {
            location: Some(location),
            ..Reply::html(302, String::new())
        }
    }

    /// Answers only after `d`.
    pub fn delayed(self, d: Duration) -> Self {
        Reply {
            delay: Some(d),
            ..self
        }
    }
}

/// PayPal's top-level `name` and `message` per status.
fn error_name(status: u16) -> (&'static str, &'static str) {
    match status {
        400 => (
            "INVALID_REQUEST",
            "Request is not well-formed, syntactically incorrect, or violates schema.",
        ),
        401 => (
            "AUTHENTICATION_FAILURE",
            "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
        ),
        403 => (
            "NOT_AUTHORIZED",
            "Authorization failed due to insufficient permissions.",
        ),
        404 => (
            "RESOURCE_NOT_FOUND",
            "The specified resource does not exist.",
        ),
        409 => (
            "RESOURCE_CONFLICT",
            "The server has detected a conflict while processing this request.",
        ),
        415 => (
            "UNSUPPORTED_MEDIA_TYPE",
            "The server does not support the request payload's media type.",
        ),
        422 => (
            "UNPROCESSABLE_ENTITY",
            "The requested action could not be performed, semantically incorrect, or failed business validation.",
        ),
        503 => ("SERVICE_UNAVAILABLE", "Service Unavailable."),
        _ => (
            "INTERNAL_SERVER_ERROR",
            "An internal server error has occurred.",
        ),
    }
}

/// Runs the accept loop on its own thread.
pub(super) fn spawn_accept_loop(
    shared: Arc<Shared>,
    server: Arc<tiny_http::Server>,
) -> std::io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("paypal-sim".into())
        .spawn(move || {
            loop {
                match server.recv() {
                    Ok(rq) => {
                        let s = Arc::clone(&shared);
                        // If the thread cannot start, dropping the request answers 500.
                        let _ = thread::Builder::new()
                            .name("paypal-sim-req".into())
                            .spawn(move || handle(&s, rq));
                    }
                    Err(_) if shared.stopped.load(Ordering::SeqCst) => break,
                    Err(e) => {
                        log::debug!("PayPal simulator accept error: {e}");
                        thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        })
}

/// Tells the accept loop to exit on its next wake-up.
pub(super) fn stop(shared: &Shared) {
    shared.stopped.store(true, Ordering::SeqCst);
}

fn handle(shared: &Arc<Shared>, mut rq: tiny_http::Request) {
    let reply = match read_request(&mut rq) {
        Ok(req) => {
            let (reply, pending) = route(shared, &req);
            webhooks::dispatch_auto(shared, pending);
            reply
        }
        Err(reply) => reply,
    };
    if let Some(d) = reply.delay {
        thread::sleep(d);
    }
    // The client may have given up (timeouts); nothing to do about that.
    let _ = write_reply(&mut rq.into_writer(), &reply);
}

/// The whole answer (status line, headers, body) in one buffer.
fn encode(reply: &Reply) -> Vec<u8> {
    let reason = tiny_http::StatusCode(reply.status).default_reason_phrase();
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nPaypal-Debug-Id: {}\r\n\
         Cache-Control: no-store\r\nContent-Length: {}\r\n",
        reply.status,
        reply.content_type,
        reply.debug_id,
        reply.body.len()
    );
    if let Some(loc) = reply
        .location
        .as_deref()
        .filter(|l| !l.contains(['\r', '\n']))
    {
        head.push_str(&format!("Location: {loc}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(reply.body.as_bytes());
    out
}

/// Writes the answer with one `write`. tiny_http's own `respond` buffers 1 KiB, so a larger
/// answer (an order with its capture) left in two writes; with Nagle here and delayed ACKs at
/// the client, that held every such answer back ~40 ms on loopback, which made captures look
/// 40 ms slower than the portal is. The Telinta simulator writes its answers the same way.
fn write_reply(w: &mut dyn std::io::Write, reply: &Reply) -> std::io::Result<()> {
    w.write_all(&encode(reply))?;
    w.flush()
}

fn read_request(rq: &mut tiny_http::Request) -> Result<Req, Reply> {
    let mut buf = Vec::new();
    rq.as_reader()
        .take(MAX_BODY + 1)
        .read_to_end(&mut buf)
        .map_err(|_| Reply::api_error(400, None, "", None, None))?;
    if buf.len() as u64 > MAX_BODY {
        return Err(Reply::api_error(413, None, "", None, None));
    }
    let body = String::from_utf8(buf).map_err(|_| {
        Reply::api_error(
            400,
            Some("MALFORMED_REQUEST_JSON"),
            "Body is not UTF-8.",
            None,
            Some("body"),
        )
    })?;
    let url = rq.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url, String::new()),
    };
    let query: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    let headers = rq
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_ascii_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();
    Ok(Req {
        method: rq.method().as_str().to_ascii_uppercase(),
        path,
        query,
        headers,
        body,
    })
}

fn route(shared: &Arc<Shared>, req: &Req) -> Out {
    if req.path.starts_with("/__fake/") {
        return super::controls::controls(shared, req);
    }
    let mut st = shared.lock();
    if req.path == "/checkoutnow" && req.method == "GET" {
        return super::page::approval_page(&mut st, req);
    }
    let (reply, pending) = api(&mut st, req);
    let auth = req.header("authorization").unwrap_or("");
    let auth_kind = if auth.starts_with("Basic ") {
        "basic"
    } else if auth.starts_with("Bearer ") {
        "bearer"
    } else {
        "none"
    };
    st.requests.push(RequestRecord {
        method: req.method.clone(),
        path: req.path.clone(),
        paypal_request_id: req.header("paypal-request-id").map(str::to_string),
        prefer: req.header("prefer").map(str::to_string),
        auth_kind: auth_kind.to_string(),
        body: req.body.clone(),
        status: reply.status,
    });
    (reply, pending)
}

fn api(st: &mut State, req: &Req) -> Out {
    if let Some(reply) = take_failure(st, req) {
        return (reply, Vec::new());
    }
    if req.path == "/v1/oauth2/token" && req.method == "POST" {
        return (token(st, req), Vec::new());
    }
    let bearer = req
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|t| st.tokens.get(t))
        .is_some_and(|until| Instant::now() < *until);
    if !valid {
        let reply = Reply::oauth_error(401, "invalid_token", "Access Token not found in cache");
        return (reply, Vec::new());
    }
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("POST", ["v2", "checkout", "orders"]) => orders::create(st, req),
        ("GET", ["v2", "checkout", "orders", id]) => (orders::get(st, req, id), Vec::new()),
        ("POST", ["v2", "checkout", "orders", id, "capture"]) => orders::capture(st, req, id),
        ("GET", ["v2", "payments", "captures", id]) => (payments::get_capture(st, id), Vec::new()),
        ("POST", ["v2", "payments", "captures", id, "refund"]) => payments::refund(st, req, id),
        ("GET", ["v2", "payments", "refunds", id]) => (payments::get_refund(st, id), Vec::new()),
        ("POST", ["v1", "notifications", "verify-webhook-signature"]) => {
            (webhooks::verify(st, req), Vec::new())
        }
        ("GET", ["v1", "notifications", "webhooks-events"]) => {
            (webhooks::list_events(st, req), Vec::new())
        }
        // `GET /v1/notifications/webhooks/{webhook_id}`: the one webhook the simulator knows.
        ("GET", ["v1", "notifications", "webhooks", id]) => {
            let reply = if *id == st.cfg.webhook_id {
                let url = st.cfg.webhook_url.clone().unwrap_or_default();
                Reply::json(
                    200,
                    &serde_json::json!({ "id": id, "url": url, "event_types": [{ "name": "*" }] }),
                )
            } else {
                Reply::not_found()
            };
            (reply, Vec::new())
        }
        _ => (Reply::api_error(404, None, "", None, None), Vec::new()),
    }
}

/// Consumes the first `fail_next` rule matching this request.
fn take_failure(st: &mut State, req: &Req) -> Option<Reply> {
    let pos = st
        .fail_rules
        .iter()
        .position(|r| r.method == req.method && req.path.starts_with(&r.path_prefix))?;
    let rule: FailRule = st.fail_rules.remove(pos);
    Some(match rule.failure {
        PayPalFailure::Status(s) => Reply::api_error(s, None, "", None, None),
        PayPalFailure::Hang => Reply::api_error(500, None, "", None, None).delayed(st.cfg.hang),
    })
}

/// `POST /v1/oauth2/token`: Basic credentials and `grant_type=client_credentials`.
fn token(st: &mut State, req: &Req) -> Reply {
    let expected = format!(
        "Basic {}",
        super::wire::base64(format!("{}:{}", st.cfg.client_id, st.cfg.client_secret).as_bytes())
    );
    if req.header("authorization") != Some(expected.as_str()) {
        return Reply::oauth_error(401, "invalid_client", "Client Authentication failed");
    }
    let form: Vec<(String, String)> = serde_urlencoded::from_str(&req.body).unwrap_or_default();
    if !form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials")
    {
        return Reply::oauth_error(400, "unsupported_grant_type", "Grant Type is NULL");
    }
    st.token_seq += 1;
    st.token_requests += 1;
    let token = format!("FAKE-TOKEN-{}-{}", st.token_seq, random_hex(8));
    let ttl = Duration::from_secs(st.cfg.token_expires_in);
    st.tokens.insert(token.clone(), Instant::now() + ttl);
    Reply::json(
        200,
        &json!({
            "scope": "https://uri.paypal.com/services/payments/payment https://uri.paypal.com/services/payments/refund",
            "access_token": token,
            "token_type": "Bearer",
            "app_id": "APP-FAKE",
            "expires_in": st.cfg.token_expires_in,
            "nonce": format!("fake-nonce-{}", st.token_seq),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the `write` calls it is given.
    struct Writes(Vec<Vec<u8>>);

    impl std::io::Write for Writes {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.push(buf.to_vec());
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_large_answer_leaves_in_one_write() {
        let mut reply = Reply::json_text(201, format!("{{\"id\":\"{}\"}}", "x".repeat(8000)));
        reply.location = Some("http://portal.test/checkout/paypal/return?token=A".into());
        let mut w = Writes(Vec::new());
        write_reply(&mut w, &reply).unwrap();
        assert_eq!(w.0.len(), 1, "one write");
        let text = String::from_utf8(w.0.remove(0)).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 201 Created\r\n"), "{head}");
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert!(
            head.contains("Content-Type: application/json\r\n"),
            "{head}"
        );
        assert!(head.contains("Location: http://portal.test/checkout/paypal/return?token=A"));
        assert_eq!(body, reply.body);
    }
}
