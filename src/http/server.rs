//! The HTTP server: tiny_http (vendored, with read timeouts, head limits and a bounded drain of
//! unread bodies; see `vendor/tiny_http/PATCHES.md`) reads request heads on its own
//! per-connection threads. A fixed pool of worker threads takes each request from it; a request
//! without a body is answered on the worker at once. A request with a body gets a thread of its
//! own that reads the body, so that a client that sends its body slowly, or never finishes it,
//! holds only that thread and only until the read timeout; once read, it is answered by a
//! second pool of as many workers, so requests with a body never hold up pages. Requests that
//! hash a password (sign-in, sign-up, password changes) go to a third, bounded pool of their own
//! (as many threads as cores), so that Argon2 never holds up checkout, settings or webhooks; when
//! its queue is longer than a person should wait, they are answered 503 with `Retry-After` at
//! once. Every handler runs on one of a fixed set of threads.
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

/// Which pool answers a request with a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The pool for forms that do not hash a password: checkout, settings, activation,
    /// webhooks, sign-out.
    Body,
    /// The bounded pool for requests that hash or verify a password (Argon2 takes tens of
    /// milliseconds of a core and 19 MiB each), so that they never hold up the others.
    Password,
}

/// Decides from the head which pool answers a request with a body.
pub type LanePolicy = dyn Fn(&BodyHead<'_>) -> Lane + Send + Sync;

/// Renders the 503 page for a request refused because its pool's expected wait is too long,
/// given the seconds after which to try again.
pub type BusyPage = dyn Fn(u64) -> Response + Send + Sync;

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
    /// Longest wait a request for the password pool may expect in its queue; past it, the
    /// request is answered 503 with `Retry-After` at once instead of queued.
    pub max_password_wait: Duration,
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
            // About as long as a person waits on a form before trying again.
            max_password_wait: Duration::from_secs(2),
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
    /// Threads that answer requests hashing a password (`Lane::Password`).
    pub password_workers: usize,
    /// The body limit for a request head.
    pub max_body: Arc<BodyPolicy>,
    /// The pool for a request head with a body.
    pub lane: Arc<LanePolicy>,
    pub busy_page: Arc<BusyPage>,
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

/// The password pool's queue. Admission is decided by the wait a new request can expect:
/// the requests already queued or running, spread over the pool's threads, times the recent
/// time one takes. Past `max_wait` the request is answered 503 at once: a person is better
/// served by "try again in 3 seconds" than by a spinner, and a flood of sign-ins cannot grow
/// the queue (and its memory) without bound.
struct PasswordQueue {
    tx: Mutex<mpsc::Sender<Job>>,
    /// Requests queued or being answered.
    in_system: std::sync::atomic::AtomicUsize,
    /// Recent handling time per request in microseconds (moving average).
    service_micros: std::sync::atomic::AtomicU64,
    workers: usize,
    max_wait: Duration,
}

/// The handling time assumed before the first password request has been timed: about one
/// Argon2id hash at the portal's parameters on a small machine.
const FIRST_PASSWORD_SERVICE: Duration = Duration::from_millis(60);

impl PasswordQueue {
    /// The wait a request can expect before its handler starts with `ahead` requests queued
    /// or running before it.
    fn expected_wait(&self, ahead: usize) -> Duration {
        let rounds = ahead / self.workers.max(1);
        Duration::from_micros(self.service_micros.load(Ordering::Relaxed)) * rounds as u32
    }

    /// Queues the job, or gives it back with the seconds to wait when the queue is too long.
    /// The request takes its place first and judges by the count before it, so that requests
    /// arriving together cannot all pass one look at the same count.
    fn admit(&self, job: Job) -> Result<(), Box<(Job, u64)>> {
        let ahead = self.in_system.fetch_add(1, Ordering::SeqCst);
        let wait = self.expected_wait(ahead);
        if wait > self.max_wait {
            self.in_system.fetch_sub(1, Ordering::SeqCst);
            return Err(Box::new((job, wait.as_secs().clamp(1, 60) + 1)));
        }
        if let Err(mpsc::SendError(job)) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
        {
            self.in_system.fetch_sub(1, Ordering::SeqCst);
            return Err(Box::new((job, 5)));
        }
        Ok(())
    }

    fn done(&self, took: Duration) {
        self.in_system.fetch_sub(1, Ordering::SeqCst);
        let took = took.as_micros().min(u128::from(u32::MAX)) as u64;
        let old = self.service_micros.load(Ordering::Relaxed);
        // One fifth of the newest sample: follows a change in load within a few requests.
        self.service_micros
            .store((old * 4 + took) / 5, Ordering::Relaxed);
    }
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
    let (password_tx, password_rx) = mpsc::channel::<Job>();
    let password_rx = Arc::new(Mutex::new(password_rx));
    let passwords = Arc::new(PasswordQueue {
        tx: Mutex::new(password_tx),
        in_system: Default::default(),
        service_micros: (FIRST_PASSWORD_SERVICE.as_micros() as u64).into(),
        workers: setup.password_workers.max(1),
        max_wait: setup.limits.max_password_wait,
    });
    let lanes = Lanes {
        body: jobs_tx,
        passwords: passwords.clone(),
    };
    let mut workers = Vec::with_capacity(2 * setup.workers.max(1) + passwords.workers);
    for i in 0..setup.workers.max(1) {
        let (stop_w, setup_w, server, lanes) =
            (stop.clone(), setup.clone(), server.clone(), lanes.clone());
        let handle = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || worker(&server, &stop_w, &setup_w, &lanes))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
        let (stop, setup, jobs) = (stop.clone(), setup.clone(), jobs_rx.clone());
        let handle = std::thread::Builder::new()
            .name(format!("http-body-{i}"))
            .spawn(move || body_worker(&jobs, &stop, &setup, None))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
    }
    for i in 0..passwords.workers {
        let (stop, setup, jobs, queue) = (
            stop.clone(),
            setup.clone(),
            password_rx.clone(),
            passwords.clone(),
        );
        let handle = std::thread::Builder::new()
            .name(format!("http-password-{i}"))
            .spawn(move || body_worker(&jobs, &stop, &setup, Some(&queue)))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        workers.push(handle);
    }
    Ok(Running {
        addr,
        stop,
        workers,
    })
}

/// Where a request whose body has been read goes.
#[derive(Clone)]
struct Lanes {
    body: mpsc::Sender<Job>,
    passwords: Arc<PasswordQueue>,
}

/// Answers requests whose body has been read; a password pool's worker also reports each
/// request's handling time to its queue.
fn body_worker(
    jobs: &Mutex<mpsc::Receiver<Job>>,
    stop: &AtomicBool,
    setup: &ServerSetup,
    queue: Option<&PasswordQueue>,
) {
    while !stop.load(Ordering::SeqCst) {
        let job = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(Duration::from_millis(200));
        match job {
            Ok(job) => {
                let began = Instant::now();
                // `handle_one` answers a panicking handler itself; this catches one in what
                // surrounds it (the panic page, writing, logging), so that the thread lives on
                // and the password queue's count always comes back down.
                let survived = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    handle_one(job, setup)
                }));
                if survived.is_err() {
                    log::error!("a request's worker caught a panic outside its handler");
                }
                if let Some(queue) = queue {
                    queue.done(began.elapsed());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Takes requests from tiny_http as their heads arrive: one without a body is answered here,
/// one with a body goes to a thread that reads it first. Never waits on a client.
fn worker(server: &tiny_http::Server, stop: &AtomicBool, setup: &Arc<ServerSetup>, lanes: &Lanes) {
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
        let (reader_setup, reader_lanes) = (setup.clone(), lanes.clone());
        let spawned = std::thread::Builder::new()
            .name("http-body-read".into())
            .spawn(move || {
                if let Ok(rq) = take.recv()
                    && let Some((job, lane)) = read_body(rq, started, &reader_setup)
                {
                    dispatch(job, lane, &reader_lanes, &reader_setup);
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

/// Hands a request read whole to its pool; a password request the pool cannot take within
/// its longest wait is answered 503 here, on the reading thread.
fn dispatch(job: Job, lane: Lane, lanes: &Lanes, setup: &ServerSetup) {
    match lane {
        Lane::Body => {
            let _ = lanes.body.send(job);
        }
        Lane::Password => {
            if let Err(refused) = lanes.passwords.admit(job) {
                let (job, retry) = *refused;
                let response =
                    (setup.busy_page)(retry).with_header("Retry-After", &retry.to_string());
                answer_at_once(job, response, setup);
            }
        }
    }
}

/// Answers a request read whole without running its handler (kept-alive like any other).
fn answer_at_once(job: Job, response: Response, setup: &ServerSetup) {
    let what = format!("{} {}", job.rq.method(), path_of(job.rq.url()));
    let status = response.status;
    if let Err(e) = respond(job.rq, &response, false, &setup.security_headers) {
        log::debug!("{what}: client went away: {e}");
    }
    let took = job.started.elapsed().as_secs_f64();
    crate::metrics::record_request(what.split_once(' ').map_or("", |(_, p)| p), status, took);
    log::info!("{what} {status} {:.2}ms (pool busy)", took * 1000.0);
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
fn read_body(
    mut rq: tiny_http::Request,
    started: Instant,
    setup: &ServerSetup,
) -> Option<(Job, Lane)> {
    let header = |name: &'static str| {
        rq.headers()
            .iter()
            .find(|h| h.field.equiv(name))
            .map(|h| h.value.as_str().to_string())
    };
    let (cookie, content_type) = (header("cookie"), header("content-type"));
    let head = BodyHead {
        path: path_of(rq.url()),
        cookie: cookie.as_deref(),
        content_type: content_type.as_deref(),
    };
    let (limit, lane) = ((setup.max_body)(&head), (setup.lane)(&head));
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
            return Some((
                Job {
                    rq,
                    body,
                    spooled,
                    started,
                },
                lane,
            ));
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

    /// Sends a POST with a small body on its own connection and returns the status line and
    /// the response head.
    fn post(addr: SocketAddr, path: &str) -> std::thread::JoinHandle<String> {
        let path = path.to_string();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut s = std::net::TcpStream::connect(addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            write!(
                s,
                "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=b"
            )
            .expect("write");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            out
        })
    }

    #[test]
    fn password_requests_have_their_own_bounded_pool() {
        // Password handlers block until released: the pool's two threads are taken and the
        // queue's expected wait exceeds the limit, deterministically.
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = Mutex::new(release_rx);
        let started = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = started.clone();
        let running = start(ServerSetup {
            listen: "127.0.0.1:0".parse().expect("addr"),
            workers: 1,
            password_workers: 2,
            max_body: Arc::new(|_| BodyLimit::Memory(1024)),
            lane: Arc::new(|head| {
                if head.path == "/login" {
                    Lane::Password
                } else {
                    Lane::Body
                }
            }),
            busy_page: Arc::new(|retry| Response::text(503, &format!("busy {retry}"))),
            handler: Arc::new(move |req| {
                if req.path == "/login" {
                    seen.fetch_add(1, Ordering::SeqCst);
                    let _ = release_rx
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv_timeout(Duration::from_secs(20));
                }
                Response::text(200, "done")
            }),
            panic_page: Arc::new(|_| Response::text(500, "panic")),
            too_large_page: Arc::new(|| Response::text(413, "large")),
            limits: Limits {
                max_password_wait: Duration::from_millis(1),
                ..Limits::default()
            },
            security_headers: Vec::new(),
        })
        .expect("server");
        let addr = running.addr;
        let first: Vec<_> = (0..2).map(|_| post(addr, "/login")).collect();
        while started.load(Ordering::SeqCst) < 2 {
            std::thread::sleep(Duration::from_millis(5));
        }
        // Both password threads are busy: another sign-in is refused at once with a time to
        // come back, and a form that hashes nothing is answered meanwhile.
        let refused = post(addr, "/login").join().expect("join");
        assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
        assert!(
            refused.to_ascii_lowercase().contains("retry-after: "),
            "{refused}"
        );
        let other = post(addr, "/logout").join().expect("join");
        assert!(other.starts_with("HTTP/1.1 200"), "{other}");
        assert_eq!(
            started.load(Ordering::SeqCst),
            2,
            "the refused sign-in never ran"
        );
        for _ in 0..2 {
            release_tx.send(()).expect("release");
        }
        for h in first {
            let answer = h.join().expect("join");
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        }
        // Answered, they leave the queue's count (just after their answers are written): a
        // sign-in is admitted again. A count that leaked would refuse it for good.
        release_tx.send(()).expect("release");
        let mut again = String::new();
        for _ in 0..100 {
            again = post(addr, "/login").join().expect("join");
            if !again.starts_with("HTTP/1.1 503") {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(again.starts_with("HTTP/1.1 200"), "{again}");
        running.stop();
    }
}
