//! The tiny_http loop: a pool of worker threads, each turning a request into a response value.
//! Cross-cutting concerns live here, once: body limit, security headers, the panic guard and
//! one log line per request.

use std::io::Read;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Method, Request, Response};

/// Largest request body read; larger ones get 413 without being read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body on the routes that take file uploads.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

pub type Handler = dyn Fn(Request) -> Response + Send + Sync;
/// Renders the 500 page for an incident id.
pub type PanicPage = dyn Fn(&str) -> Response + Send + Sync;
/// Renders the 413 page.
pub type TooLargePage = dyn Fn() -> Response + Send + Sync;

pub struct ServerSetup {
    pub listen: SocketAddr,
    pub workers: usize,
    /// The body limit for a path.
    pub max_body: fn(&str) -> usize,
    pub handler: Arc<Handler>,
    pub panic_page: Arc<PanicPage>,
    pub too_large_page: Arc<TooLargePage>,
}

pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting and waits for in-flight requests to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    pub fn wait(mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn start(setup: ServerSetup) -> Result<Running, String> {
    let server = tiny_http::Server::http(setup.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", setup.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| "the server has no IP address".to_string())?;
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let setup = Arc::new(setup);
    let mut workers = Vec::with_capacity(setup.workers);
    for i in 0..setup.workers.max(1) {
        let server = server.clone();
        let stop = stop.clone();
        let setup = setup.clone();
        let handle = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || worker(&server, &stop, &setup))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
    }
    Ok(Running {
        addr,
        stop,
        workers,
    })
}

fn worker(server: &tiny_http::Server, stop: &AtomicBool, setup: &ServerSetup) {
    while !stop.load(Ordering::SeqCst) {
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(rq)) => handle_one(rq, setup),
            Ok(None) => {}
            Err(e) => {
                log::error!("accepting a request failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn handle_one(mut rq: tiny_http::Request, setup: &ServerSetup) {
    let started = Instant::now();
    let method = match rq.method() {
        tiny_http::Method::Get => Method::Get,
        tiny_http::Method::Head => Method::Head,
        tiny_http::Method::Post => Method::Post,
        _ => Method::Other,
    };
    let url = rq.url().to_string();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.clone(), String::new()),
    };
    let method_name = rq.method().as_str().to_string();
    let peer = rq
        .remote_addr()
        .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |a| a.ip());

    let max_body = (setup.max_body)(&path);
    let response = if rq.body_length().is_some_and(|n| n > max_body) {
        (setup.too_large_page)()
    } else {
        let mut body = Vec::new();
        let read = rq
            .as_reader()
            .take(max_body as u64 + 1)
            .read_to_end(&mut body);
        match read {
            Err(e) => {
                log::warn!("{method_name} {path}: reading the body failed: {e}");
                Response::text(400, "The request body could not be read.")
            }
            Ok(_) if body.len() > max_body => (setup.too_large_page)(),
            Ok(_) => {
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
                let request = Request {
                    method,
                    path: path.clone(),
                    query,
                    headers,
                    body,
                    peer,
                };
                match catch_unwind(AssertUnwindSafe(|| (setup.handler)(request))) {
                    Ok(r) => r,
                    Err(panic) => {
                        let id = crate::secure::short_id();
                        let what = panic
                            .downcast_ref::<&str>()
                            .map(|s| s.to_string())
                            .or_else(|| panic.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".into());
                        log::error!("incident {id}: {method_name} {path} panicked: {what}");
                        (setup.panic_page)(&id)
                    }
                }
            }
        }
    };
    let status = response.status;
    let elapsed = started.elapsed();
    if let Err(e) = respond(rq, response) {
        log::debug!("{method_name} {path}: client went away: {e}");
    }
    log::info!(
        "{method_name} {path} {status} {:.2}ms",
        elapsed.as_secs_f64() * 1000.0
    );
}

/// Headers every response carries.
const SECURITY_HEADERS: [(&str, &str); 5] = [
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

/// Writes the whole response (status line, headers, body) in one write. tiny_http's own writer
/// sends headers and body separately, which on a kept-alive connection stalls each reply
/// larger than a packet for a delayed ACK (about 40 ms).
fn respond(rq: tiny_http::Request, r: Response) -> std::io::Result<()> {
    use std::io::Write;
    let head = *rq.method() == tiny_http::Method::Head;
    let close = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("connection"))
        .is_some_and(|h| h.value.as_str().to_ascii_lowercase().contains("close"))
        || *rq.http_version() == tiny_http::HTTPVersion(1, 0);
    let reason = tiny_http::StatusCode(r.status).default_reason_phrase();
    let mut out = Vec::with_capacity(r.body.len() + 768);
    write!(out, "HTTP/1.1 {} {reason}\r\n", r.status)?;
    write!(out, "Date: {}\r\n", http_date())?;
    for (k, v) in r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(SECURITY_HEADERS)
    {
        // A header may never smuggle a line break into the response.
        if k.eq_ignore_ascii_case("content-length")
            || k.contains(['\r', '\n', ':'])
            || v.contains(['\r', '\n'])
        {
            continue;
        }
        write!(out, "{k}: {v}\r\n")?;
    }
    write!(out, "Content-Length: {}\r\n", r.body.len())?;
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head {
        out.extend_from_slice(&r.body);
    }
    let mut w = rq.into_writer();
    w.write_all(&out)?;
    w.flush()
}

fn http_date() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
