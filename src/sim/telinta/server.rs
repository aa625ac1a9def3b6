//! HTTP plumbing of the simulator: listeners and worker threads (tiny_http), routing,
//! the two request encodings, failure injection and replies (docs/telinta.md, "Simulator").

use std::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use serde_json::{Map, Value, json};
use tiny_http::{Method, Request, Server, StatusCode};

use super::handlers::{self, Api, Credentials, Fault, bad_params};
use super::{Failure, Shared};

/// Largest request body read.
const MAX_BODY: u64 = 16 * 1024 * 1024;

/// The body [`Failure::Malformed`] answers with: JSON cut short.
const MALFORMED_BODY: &str = r#"{"number_list":[{"i_did_number":1,"number":"1212"#;

/// One tiny_http server on `127.0.0.1:0` with its worker threads.
pub(super) struct Listener {
    pub url: String,
    server: Arc<Server>,
    workers: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("url", &self.url)
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl Listener {
    /// Binds a loopback port and starts `workers` threads serving `api`.
    pub(super) fn spawn(shared: Arc<Shared>, api: Api, workers: usize) -> io::Result<Listener> {
        let server = Server::http("127.0.0.1:0").map_err(|e| io::Error::other(e.to_string()))?;
        let addr = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the simulator is not listening on an IP address"))?;
        let server = Arc::new(server);
        let mut listener = Listener {
            url: format!("http://{addr}"),
            server,
            workers: Vec::with_capacity(workers),
        };
        for n in 0..workers {
            let (server, shared) = (listener.server.clone(), shared.clone());
            let spawned = thread::Builder::new()
                .name(format!("telinta-sim-{n}"))
                .spawn(move || worker(&server, &shared, api));
            match spawned {
                Ok(h) => listener.workers.push(h),
                Err(e) => {
                    listener.stop();
                    return Err(e);
                }
            }
        }
        Ok(listener)
    }

    /// Wakes and joins the workers (they also watch `Shared::stopping`), then closes the port.
    pub(super) fn stop(self) {
        for _ in &self.workers {
            self.server.unblock();
        }
        for h in self.workers {
            if h.join().is_err() {
                log::warn!("telinta simulator: a worker thread panicked");
            }
        }
    }
}

fn worker(server: &Server, shared: &Arc<Shared>, api: Api) {
    while !shared.is_stopping() {
        // `Ok(None)` (idle, or woken by `stop`) and accept errors: check the stop flag again.
        if let Ok(Some(rq)) = server.recv_timeout(Duration::from_millis(50)) {
            serve(shared, api, rq);
        }
    }
}

/// `POST /rest/{Service}/{method}[/]` → `"Service/method"`; anything else `None`.
fn route(rq: &Request) -> Option<String> {
    if *rq.method() != Method::Post {
        return None;
    }
    let path = rq.url().split(['?', '#']).next()?;
    let rest = path.strip_prefix("/rest/")?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (service, method) = rest.split_once('/')?;
    let ok = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ok(service) && ok(method)).then(|| format!("{service}/{method}"))
}

fn serve(shared: &Arc<Shared>, api: Api, rq: Request) {
    let Some(method) = route(&rq) else {
        respond(rq, 404, String::new());
        return;
    };
    *shared.state().calls.entry(method.clone()).or_insert(0) += 1;
    match shared.take_failure(&method) {
        None => handle(shared, api, &method, rq),
        Some(Failure::Fault { code, message }) => respond(rq, 500, fault_body(&code, &message)),
        Some(Failure::Http(status)) => respond(rq, status, String::new()),
        Some(Failure::Malformed) => respond(rq, 200, MALFORMED_BODY.to_string()),
        Some(Failure::Reply { status, body }) => respond(rq, status, body),
        Some(Failure::Timeout(d)) => later(shared, move |sh| {
            sh.sleep(d);
            respond(rq, 504, String::new());
        }),
        Some(Failure::Delay(d)) => later(shared, move |sh| {
            sh.sleep(d);
            if !sh.is_stopping() {
                handle(&sh, api, &method, rq);
            }
        }),
    }
}

/// Runs `f` on its own thread so a slow reply does not hold a worker.
fn later(shared: &Arc<Shared>, f: impl FnOnce(Arc<Shared>) + Send + 'static) {
    let sh = shared.clone();
    if let Err(e) = thread::Builder::new()
        .name("telinta-sim-slow".into())
        .spawn(move || f(sh))
    {
        log::warn!("telinta simulator: cannot start a delayed reply: {e}");
    }
}

fn handle(shared: &Shared, api: Api, method: &str, mut rq: Request) {
    let reply = parse(&mut rq).and_then(|(creds, params)| {
        handlers::dispatch(&mut shared.state(), api, method, &creds, &params)
    });
    match reply {
        Ok(v) => respond(rq, 200, v.to_string()),
        Err(f) => respond(rq, 500, fault_body(&f.code, &f.message)),
    }
}

fn fault_body(code: &str, message: &str) -> String {
    json!({ "faultcode": code, "faultstring": message }).to_string()
}

/// Writes the whole response (status line, headers, body) in one `write`.
///
/// tiny_http's own `respond` buffers only 1 KiB, so a larger reply leaves in two writes
/// (headers, then body); with Nagle on the server and delayed ACKs on the client that
/// costs ~40 ms per call on loopback, which made paging 100k numbers take minutes.
fn respond(rq: Request, status: u16, body: String) {
    let reason = StatusCode(status).default_reason_phrase();
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !body.is_empty() {
        out.push_str("Content-Type: application/json\r\n");
    }
    out.push_str("\r\n");
    out.push_str(&body);
    let mut writer = rq.into_writer();
    if let Err(e) = writer
        .write_all(out.as_bytes())
        .and_then(|()| writer.flush())
    {
        log::debug!("telinta simulator: reply not delivered: {e}");
    }
}

fn header(rq: &Request, name: &'static str) -> Option<String> {
    rq.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str().to_string())
}

/// A JSON object given as an object or as a JSON string holding one (form fields).
fn json_object(v: Value, what: &str) -> Result<Map<String, Value>, Fault> {
    match v {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        Value::String(s) if s.trim().is_empty() => Ok(Map::new()),
        Value::String(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(bad_params(format!("{what} must be a JSON object"))),
        },
        _ => Err(bad_params(format!("{what} must be a JSON object"))),
    }
}

/// Reads credentials and params from either encoding.
fn parse(rq: &mut Request) -> Result<(Credentials, Map<String, Value>), Fault> {
    let content_type = header(rq, "Content-Type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let bearer = header(rq, "Authorization").and_then(|h| {
        let (scheme, token) = h.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
    });
    let mut body = Vec::new();
    rq.as_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|_| bad_params("unreadable request body"))?;
    let (auth, params) = if content_type.starts_with("application/json") {
        let v: Value = if body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            serde_json::from_slice(&body).map_err(|_| bad_params("the body is not JSON"))?
        };
        let Value::Object(mut m) = v else {
            return Err(bad_params("the body must be a JSON object"));
        };
        (m.remove("auth_info"), m.remove("params"))
    } else if content_type.starts_with("multipart/") {
        return Err(bad_params(
            "multipart/form-data is not supported by the simulator",
        ));
    } else {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| bad_params("the body is not a form"))?;
        let field = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| Value::String(v.clone()))
        };
        (field("auth_info"), field("params"))
    };
    let params = json_object(params.unwrap_or(Value::Null), "params")?;
    let creds = match auth {
        None => Credentials {
            bearer,
            ..Credentials::default()
        },
        Some(a) => Credentials::from_auth_info(&json_object(a, "auth_info")?, bearer),
    };
    Ok((creds, params))
}
