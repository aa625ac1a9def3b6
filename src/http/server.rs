//! The HTTP server: tiny_http (vendored, with read timeouts, head limits and a bounded drain of
//! unread bodies; see `vendor/tiny_http/PATCHES.md`) reads request heads on its own
//! per-connection threads. A fixed pool of worker threads takes each request from it; a request
//! without a body is answered on the worker at once. A request with a body gets a thread of its
//! own that reads the body, so that a client that sends its body slowly, or never finishes it,
//! holds only that thread and only until the read timeout; once read, it is answered by a
//! second pool of as many workers, so requests with a body (sign-ins hash passwords) never hold
//! up pages, and every handler runs on one of a fixed set of threads.
//!
//! Cross-cutting concerns live here, once: body limits, security headers, the panic guard and
//! one log line per request.

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Method, Request, Response};

/// Largest request body from a visitor or a customer; larger ones get 413 without being read.
pub const MAX_SMALL_BODY_BYTES: usize = 64 * 1024;
/// Largest request body from a signed-in admin.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body on the routes that take file uploads (admins only), spooled to a file.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// What the server knows of a request before it reads the body.
pub struct BodyHead<'a> {
    pub path: &'a str,
    pub cookie: Option<&'a str>,
    pub content_type: Option<&'a str>,
}

/// How much of a body the server takes, and where it keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyLimit {
    /// Read into memory, up to this many bytes.
    Memory(usize),
    /// Written to a temporary file as it arrives, up to this many bytes.
    Spool(usize),
}

impl BodyLimit {
    fn bytes(self) -> usize {
        match self {
            BodyLimit::Memory(n) | BodyLimit::Spool(n) => n,
        }
    }
}

/// Decides, from the head alone, how large a body may be (the application looks up who the
/// session cookie belongs to).
pub type BodyPolicy = dyn Fn(&BodyHead<'_>) -> BodyLimit + Send + Sync;

/// How long and how much the server waits for and takes from a client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest wait for a client's next bytes: a new connection's first request, a kept-alive
    /// connection's next one, the rest of a head, the next part of a body.
    pub read_timeout: Duration,
    /// From a request's first byte to the end of its head (checked between reads).
    pub header_timeout: Duration,
    /// Longest wait for a client to take a response.
    pub write_timeout: Duration,
    /// Largest request head (request line and header fields).
    pub max_head_bytes: usize,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// Slowest a request body may arrive, in bytes a second, once `body_grace` has passed; a
    /// slower one is cut off with 408.
    pub min_body_rate: u64,
    /// How long a body may take before the minimum rate applies.
    pub body_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_timeout: Duration::from_secs(15),
            header_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(30),
            max_head_bytes: 64 * 1024,
            max_connections: 512,
            min_body_rate: 1024,
            body_grace: Duration::from_secs(10),
        }
    }
}

pub type Handler = dyn Fn(Request) -> Response + Send + Sync;
/// Renders the 500 page for an incident id.
pub type PanicPage = dyn Fn(&str) -> Response + Send + Sync;
/// Renders the 413 page.
pub type TooLargePage = dyn Fn() -> Response + Send + Sync;

pub struct ServerSetup {
    pub listen: SocketAddr,
    pub workers: usize,
    /// The body limit for a request head.
    pub max_body: Arc<BodyPolicy>,
    pub handler: Arc<Handler>,
    pub panic_page: Arc<PanicPage>,
    pub too_large_page: Arc<TooLargePage>,
    pub limits: Limits,
    /// Added to every response (`security_headers`).
    pub security_headers: Vec<(String, String)>,
}

/// A request read whole, on its way to its handler.
struct Job {
    rq: tiny_http::Request,
    body: Vec<u8>,
    spooled: Option<super::Spooled>,
    started: Instant,
}

pub struct Running {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting and waits for the requests being handled to finish.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks while the server runs.
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
    let limits = tiny_http::Limits {
        read_timeout: Some(setup.limits.read_timeout),
        header_timeout: Some(setup.limits.header_timeout),
        write_timeout: Some(setup.limits.write_timeout),
        max_head_bytes: setup.limits.max_head_bytes,
        max_connections: setup.limits.max_connections,
        refusal_headers: setup
            .security_headers
            .iter()
            .filter_map(|(k, v)| tiny_http::Header::from_bytes(k.as_str(), v.as_str()).ok())
            .collect(),
        ..tiny_http::Limits::default()
    };
    let addr = tiny_http::ConfigListenAddr::from_socket_addrs(setup.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", setup.listen))?;
    let server = tiny_http::Server::new(tiny_http::ServerConfig {
        addr,
        ssl: None,
        limits,
    })
    .map_err(|e| format!("cannot listen on {}: {e}", setup.listen))?;
    let addr = server
        .server_addr()
        .to_ip()
        .ok_or_else(|| "the server has no IP address".to_string())?;
    let stop = Arc::new(AtomicBool::new(false));
    let setup = Arc::new(setup);
    let server = Arc::new(server);
    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let mut workers = Vec::with_capacity(2 * setup.workers.max(1));
    for i in 0..setup.workers.max(1) {
        let (stop_w, setup_w, server, jobs) =
            (stop.clone(), setup.clone(), server.clone(), jobs_tx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || worker(&server, &stop_w, &setup_w, &jobs))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
        let (stop, setup, jobs) = (stop.clone(), setup.clone(), jobs_rx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("http-body-{i}"))
            .spawn(move || body_worker(&jobs, &stop, &setup))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
    }
    Ok(Running {
        addr,
        stop,
        workers,
    })
}

/// Answers requests whose body has been read.
fn body_worker(jobs: &Mutex<mpsc::Receiver<Job>>, stop: &AtomicBool, setup: &ServerSetup) {
    while !stop.load(Ordering::SeqCst) {
        let job = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(Duration::from_millis(200));
        match job {
            Ok(job) => handle_one(job, setup),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Takes requests from tiny_http as their heads arrive: one without a body is answered here,
/// one with a body goes to a thread that reads it first. Never waits on a client.
fn worker(
    server: &tiny_http::Server,
    stop: &AtomicBool,
    setup: &Arc<ServerSetup>,
    jobs: &mpsc::Sender<Job>,
) {
    while !stop.load(Ordering::SeqCst) {
        let rq = match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(rq)) => rq,
            Ok(None) => continue,
            Err(e) => {
                log::error!("accepting a request failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let started = Instant::now();
        if !has_body(&rq) {
            handle_one(
                Job {
                    rq,
                    body: Vec::new(),
                    spooled: None,
                    started,
                },
                setup,
            );
            continue;
        }
        // The request goes to its thread through a channel, so that it is still here to be
        // answered if the thread cannot be started.
        let (hand_over, take) = mpsc::channel::<tiny_http::Request>();
        let (reader_setup, reader_jobs) = (setup.clone(), jobs.clone());
        let spawned = std::thread::Builder::new()
            .name("http-body-read".into())
            .spawn(move || {
                if let Ok(rq) = take.recv()
                    && let Some(job) = read_body(rq, started, &reader_setup)
                {
                    let _ = reader_jobs.send(job);
                }
            });
        match spawned {
            Ok(_) => {
                let _ = hand_over.send(rq);
            }
            Err(e) => {
                log::error!("cannot start a thread to read a request body: {e}");
                let busy = Response::text(503, "The server is busy; try again in a moment.")
                    .with_header("Retry-After", "5");
                let _ = refuse(rq, busy, started, &setup.security_headers);
            }
        }
    }
}

/// Whether a request says a body follows its head.
fn has_body(rq: &tiny_http::Request) -> bool {
    rq.body_length().is_some_and(|n| n > 0)
        || rq
            .headers()
            .iter()
            .any(|h| h.field.equiv("transfer-encoding"))
}

/// Reads a request's body (on its own thread) within the limit its head allows, and returns
/// the whole request; or answers it at once when the body is too large, malformed, stops
/// arriving or arrives too slowly. A refused body is not read further and its connection is
/// closed.
fn read_body(mut rq: tiny_http::Request, started: Instant, setup: &ServerSetup) -> Option<Job> {
    let header = |name: &'static str| {
        rq.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (cookie, content_type) = (header("cookie"), header("content-type"));
    let limit = (setup.max_body)(&BodyHead {
        path: path_of(rq.url()),
        cookie: cookie.as_deref(),
        content_type: content_type.as_deref(),
    });
    let max_body = limit.bytes();
    // A declared length over the limit is refused before the body is asked for (so no
    // `100 Continue`) or read.
    if rq.body_length().is_some_and(|n| n > max_body) {
        let _ = refuse(
            rq,
            (setup.too_large_page)(),
            started,
            &setup.security_headers,
        );
        return None;
    }
    let mut reader = MinRate {
        inner: rq.as_reader().take(max_body as u64 + 1),
        started: Instant::now(),
        read: 0,
        rate: setup.limits.min_body_rate,
        grace: setup.limits.body_grace,
    };
    let mut body = Vec::new();
    let mut spooled = None;
    let read = match limit {
        BodyLimit::Memory(_) => reader.read_to_end(&mut body).map(|n| n as u64),
        BodyLimit::Spool(_) => tempfile::tempfile().and_then(|mut file| {
            let n = std::io::copy(&mut reader, &mut file)?;
            spooled = Some(super::Spooled {
                file: Arc::new(file),
                len: n,
            });
            Ok(n)
        }),
    };
    let refusal = match read {
        Err(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            Response::text(
                408,
                "The request body stopped arriving, or came too slowly.",
            )
        }
        Err(e) => {
            log::info!(
                "{} {}: the body is unreadable: {e}",
                rq.method(),
                path_of(rq.url())
            );
            Response::text(400, "The request body could not be read.")
        }
        Ok(n) if n > max_body as u64 => (setup.too_large_page)(),
        Ok(_) => {
            return Some(Job {
                rq,
                body,
                spooled,
                started,
            });
        }
    };
    let _ = refuse(rq, refusal, started, &setup.security_headers);
    None
}

/// A body reader that fails with `TimedOut` once the body arrives slower than `rate` bytes a
/// second on average, counted after `grace`. The socket's read timeout catches a body that
/// stops; this catches one that trickles (a byte just often enough to never time out).
struct MinRate<R> {
    inner: R,
    started: Instant,
    read: u64,
    rate: u64,
    grace: Duration,
}

impl<R: Read> Read for MinRate<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if n > 0 {
            let late = self.started.elapsed().saturating_sub(self.grace);
            let due = late.as_secs_f64() * self.rate as f64;
            if (self.read as f64) < due {
                return Err(std::io::Error::new(
                    ErrorKind::TimedOut,
                    "the body arrives slower than the minimum rate",
                ));
            }
        }
        Ok(n)
    }
}

fn path_of(url: &str) -> &str {
    url.split_once('?').map_or(url, |(p, _)| p)
}

fn handle_one(job: Job, setup: &ServerSetup) {
    let Job {
        rq,
        body,
        spooled,
        started,
    } = job;
    let method = match rq.method() {
        tiny_http::Method::Get => Method::Get,
        tiny_http::Method::Head => Method::Head,
        tiny_http::Method::Post => Method::Post,
        _ => Method::Other,
    };
    let url = rq.url();
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (url.to_string(), String::new()),
    };
    let peer = rq
        .remote_addr()
        .map_or(IpAddr::from([127, 0, 0, 1]), |a| a.ip());
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
    let what = format!("{} {path}", rq.method());
    // Every line logged while answering this request carries its id.
    let _scope = crate::logging::request_scope(crate::secure::short_id());
    let request = Request {
        method,
        path,
        query,
        headers,
        body,
        spooled,
        peer,
    };
    let response = match catch_unwind(AssertUnwindSafe(|| (setup.handler)(request))) {
        Ok(r) => r,
        Err(panic) => {
            let id = crate::secure::short_id();
            let cause = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error!("incident {id}: {what} panicked: {cause}");
            (setup.panic_page)(&id)
        }
    };
    let status = response.status;
    if let Err(e) = respond(rq, &response, false, &setup.security_headers) {
        log::debug!("{what}: client went away: {e}");
    }
    crate::metrics::record_request(
        what.split_once(' ').map_or("", |(_, p)| p),
        status,
        started.elapsed().as_secs_f64(),
    );
    log::info!(
        "{what} {status} {:.2}ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

/// Answers a request whose body was not read whole, and closes its connection without
/// reading the rest.
fn refuse(
    rq: tiny_http::Request,
    response: Response,
    started: Instant,
    security: &[(String, String)],
) -> std::io::Result<()> {
    let what = format!("{} {}", rq.method(), path_of(rq.url()));
    let status = response.status;
    let sent = respond(rq, &response, true, security);
    log::info!(
        "{what} {status} {:.2}ms (refused; connection closed)",
        started.elapsed().as_secs_f64() * 1000.0
    );
    sent
}

/// Headers every response carries besides the CSP (tiny_http adds them to its own refusals
/// too).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

/// The policy of a page that shows an email's HTML in a sandboxed `<iframe srcdoc>`: the frame
/// inherits the page's policy, and emails style with `style` attributes only (mail clients
/// ignore style sheets), so inline styles are allowed there and nothing else is loosened.
/// A response that carries its own `Content-Security-Policy` replaces the default one.
pub const CSP_WITH_INLINE_STYLES: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The security headers of every response. Forms may post only to the portal and to
/// `form_targets` (where a form's answer redirects: PayPal's pages for checkout), so an
/// injected `<form action=…>` cannot send a password elsewhere. HSTS only when the portal's
/// address is `https://`: browsers then refuse plain HTTP to it for a year (sent over plain
/// HTTP it would be ignored, or wrong).
pub fn security_headers(https: bool, form_targets: &[String]) -> Vec<(String, String)> {
    let mut form_action = String::from("'self'");
    for t in form_targets {
        // Only plain origins: nothing that could end the directive or add another.
        if !t.is_empty() && !t.contains([';', ',', ' ', '\'', '\r', '\n']) {
            form_action.push(' ');
            form_action.push_str(t);
        }
    }
    let mut headers = vec![(
        "Content-Security-Policy".to_string(),
        format!(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; \
             base-uri 'none'; form-action {form_action}"
        ),
    )];
    headers.extend(
        SECURITY_HEADERS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    if https {
        headers.push((
            "Strict-Transport-Security".to_string(),
            "max-age=31536000".to_string(),
        ));
    }
    headers
}

/// Whether the connection closes after this request: when the client asks, and always for
/// HTTP/1.0 (whose keep-alive would need a `Connection: keep-alive` answer).
fn wants_close(rq: &tiny_http::Request) -> bool {
    *rq.http_version() == tiny_http::HTTPVersion(1, 0)
        || rq
            .headers()
            .iter()
            .filter(|h| h.field.equiv("connection"))
            .flat_map(|h| h.value.as_str().split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("close"))
}

/// Writes the whole response (status line, headers, body) in one write. tiny_http's own writer
/// sends headers and body separately, which on a kept-alive connection stalls each reply
/// larger than a packet for a delayed ACK (about 40 ms). With `close` (or when the client
/// asked for it) the connection ends after this response.
fn respond(
    rq: tiny_http::Request,
    r: &Response,
    close: bool,
    security: &[(String, String)],
) -> std::io::Result<()> {
    use std::io::Write;
    let head_only = *rq.method() == tiny_http::Method::Head;
    let close = close || wants_close(&rq);
    if close {
        rq.close_connection();
    }
    let bytes = response_bytes(r, head_only, close, &http_date(), security);
    let mut w = rq.into_writer();
    w.write_all(&bytes)?;
    w.flush()
}

/// The bytes of a response: status line, `Date`, the response's headers (never one that
/// could smuggle a line break or frame the body), the security headers, `Content-Length`,
/// `Connection: close` when the connection ends, and the body unless `head_only`. A security
/// header the response sets itself is sent instead of the default one.
pub fn response_bytes(
    r: &Response,
    head_only: bool,
    close: bool,
    date: &str,
    security: &[(String, String)],
) -> Vec<u8> {
    use std::io::Write;
    let reason = tiny_http::StatusCode(r.status).default_reason_phrase();
    let mut out = Vec::with_capacity(r.body.len() + 768);
    // Writing into a Vec cannot fail.
    let _ = write!(out, "HTTP/1.1 {} {reason}\r\nDate: {date}\r\n", r.status);
    // A security header the response sets itself (a page's own CSP) replaces the default.
    let defaults = security
        .iter()
        .filter(|(k, _)| r.header(k).is_none())
        .map(|(k, v)| (k.as_str(), v.as_str()));
    for (k, v) in r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(defaults)
    {
        if k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("connection")
            || k.eq_ignore_ascii_case("transfer-encoding")
            || k.contains(['\r', '\n', ':'])
            || v.contains(['\r', '\n'])
        {
            continue;
        }
        let _ = write!(out, "{k}: {v}\r\n");
    }
    let _ = write!(out, "Content-Length: {}\r\n", r.body.len());
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&r.body);
    }
    out
}

fn http_date() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_never_carry_injected_lines() {
        let r = Response::text(200, "hi")
            .with_header("Location", "/x\r\nSet-Cookie: evil=1")
            .with_header("X-Bad\r\nName", "v")
            .with_header("Content-Length", "999")
            .with_header("Transfer-Encoding", "chunked");
        let out = String::from_utf8(response_bytes(
            &r,
            false,
            true,
            "d",
            &security_headers(false, &[]),
        ))
        .unwrap();
        assert!(!out.contains("evil"), "{out}");
        assert!(!out.contains("X-Bad"), "{out}");
        assert!(!out.contains("chunked"), "{out}");
        assert!(out.contains("Content-Length: 2\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(out.contains("X-Content-Type-Options: nosniff\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nhi"), "{out}");
        let head_only = response_bytes(
            &r,
            true,
            false,
            "d",
            &security_headers(true, &["https://pay.example".into()]),
        );
        assert!(head_only.ends_with(b"\r\n\r\n"));
        assert!(!String::from_utf8_lossy(&head_only).contains("Connection:"));
        assert!(!out.contains("Strict-Transport-Security"), "{out}");
        assert!(out.contains("form-action 'self'\r\n"), "{out}");
        assert!(
            String::from_utf8_lossy(&head_only)
                .contains("form-action 'self' https://pay.example\r\n")
        );
        let odd = security_headers(false, &["x; script-src *".into(), "https://a\r\nb".into()]);
        assert_eq!(odd[0].1.matches(';').count(), 4, "{odd:?}");
        assert!(
            String::from_utf8_lossy(&head_only)
                .contains("Strict-Transport-Security: max-age=31536000\r\n")
        );
    }

    #[test]
    fn paths_lose_their_query() {
        assert_eq!(path_of("/a?b=1?c"), "/a");
        assert_eq!(path_of("/a"), "/a");
    }
}
