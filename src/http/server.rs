//! The HTTP server: an accept thread, one thread per open connection that reads requests
//! (with size limits and read timeouts) and writes responses, and a fixed pool of worker
//! threads that turn complete requests into responses.
//!
//! Reading is kept off the workers on purpose: a client that sends its request slowly, or
//! never finishes it, holds only its own connection thread, and only until a read timeout;
//! the workers see nothing but whole requests. Cross-cutting concerns live here, once: body
//! and head limits, timeouts, security headers, the panic guard and one log line per request.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::wire::{self, Chunked, Framing, Head, Refusal};
use super::{Method, Request, Response};

/// Largest request body read; larger ones get 413 without being read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Largest body on the routes that take file uploads.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// How long and how much the server waits for and takes from a client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// From a request's first byte (or the connection's opening) to the end of its head.
    pub header_timeout: Duration,
    /// Longest pause between two reads of a body.
    pub body_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// Longest wait for a client to take a response.
    pub write_timeout: Duration,
    /// Largest request head (request line and header fields).
    pub max_head_bytes: usize,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(20),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(30),
            max_head_bytes: 64 * 1024,
            max_connections: 512,
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
    /// The body limit for a path.
    pub max_body: fn(&str) -> usize,
    pub handler: Arc<Handler>,
    pub panic_page: Arc<PanicPage>,
    pub too_large_page: Arc<TooLargePage>,
    pub limits: Limits,
}

/// A request on its way to a worker, and where the worker sends the response.
struct Job {
    request: Request,
    reply: mpsc::Sender<Response>,
}

/// What the accept thread, the connections and the workers share.
struct Shared {
    setup: ServerSetup,
    stop: AtomicBool,
    /// Open connections, so that stopping can close them.
    open: Mutex<HashMap<u64, TcpStream>>,
    next_id: AtomicU64,
}

impl Shared {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, TcpStream>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes a connection from the open set when its thread ends.
struct Registered<'a> {
    shared: &'a Shared,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        self.shared.open().remove(&self.id);
    }
}

pub struct Running {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
    workers: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops accepting, lets the requests being handled finish, then closes every connection.
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
        if self.shared.stop.swap(true, Ordering::SeqCst) {
            return;
        }
        // The accept thread is blocked in accept(); a connection wakes it to see the flag.
        let wake = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv4() => {
                SocketAddr::from(([127, 0, 0, 1], self.addr.port()))
            }
            ip if ip.is_unspecified() => {
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, self.addr.port()))
            }
            _ => self.addr,
        };
        let _ = TcpStream::connect_timeout(&wake, Duration::from_secs(1));
        if let Some(a) = self.accept.take() {
            let _ = a.join();
        }
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
        for (_, stream) in self.shared.open().drain() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn start(setup: ServerSetup) -> Result<Running, String> {
    let listener = TcpListener::bind(setup.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", setup.listen))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("the server has no address: {e}"))?;
    let workers = setup.workers.max(1);
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<Job>(setup.limits.max_connections.max(1));
    let shared = Arc::new(Shared {
        setup,
        stop: AtomicBool::new(false),
        open: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(0),
    });
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let mut handles = Vec::with_capacity(workers);
    for i in 0..workers {
        let shared = shared.clone();
        let jobs = jobs_rx.clone();
        let handle = std::thread::Builder::new()
            .name(format!("http-{i}"))
            .spawn(move || worker(&shared, &jobs))
            .map_err(|e| format!("cannot start a worker thread: {e}"))?;
        handles.push(handle);
    }
    let accept_shared = shared.clone();
    let accept = std::thread::Builder::new()
        .name("http-accept".into())
        .spawn(move || accept_loop(&listener, &accept_shared, &jobs_tx))
        .map_err(|e| format!("cannot start the accept thread: {e}"))?;
    Ok(Running {
        addr,
        shared,
        accept: Some(accept),
        workers: handles,
    })
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, jobs: &SyncSender<Job>) {
    let limits = &shared.setup.limits;
    loop {
        let accepted = listener.accept();
        if shared.stopping() {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                log::error!("accepting a connection failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(limits.write_timeout));
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        {
            let mut open = shared.open();
            if open.len() >= limits.max_connections {
                drop(open);
                log::warn!("too many connections; refusing one from {}", peer.ip());
                busy(stream);
                continue;
            }
            match stream.try_clone() {
                Ok(clone) => {
                    open.insert(id, clone);
                }
                Err(e) => {
                    log::warn!("cannot keep track of a connection: {e}");
                    continue;
                }
            }
        }
        let conn_shared = shared.clone();
        let jobs = jobs.clone();
        let spawned = std::thread::Builder::new()
            .name("http-conn".into())
            .spawn(move || {
                let _registered = Registered {
                    shared: &conn_shared,
                    id,
                };
                serve_connection(stream, peer.ip(), &conn_shared, &jobs);
            });
        if let Err(e) = spawned {
            log::error!("cannot start a connection thread: {e}");
            shared.open().remove(&id);
        }
    }
}

/// A 503 for a connection over the limit, written without waiting on the client.
fn busy(mut stream: TcpStream) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let r = Response::text(503, "The server is busy; try again in a moment.")
        .with_header("Retry-After", "5");
    let _ = stream.write_all(&wire::response_bytes(&r, false, true, &http_date()));
    let _ = stream.shutdown(Shutdown::Both);
}

fn worker(shared: &Shared, jobs: &Mutex<Receiver<Job>>) {
    while !shared.stopping() {
        let job = jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv_timeout(Duration::from_millis(200));
        match job {
            Ok(job) => {
                let response = run_handler(&shared.setup, job.request);
                let _ = job.reply.send(response);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// The handler, with a panic turned into the 500 page and a logged incident.
fn run_handler(setup: &ServerSetup, request: Request) -> Response {
    let what = format!("{} {}", method_name(request.method), request.path);
    match catch_unwind(AssertUnwindSafe(|| (setup.handler)(request))) {
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
    }
}

fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Other => "OTHER",
    }
}

/// Why reading from the client stopped.
enum ReadError {
    /// The client closed the connection, or it broke.
    Gone,
    /// Nothing within the time allowed.
    Timeout,
}

/// A connection's socket and the bytes read from it but not used yet.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    /// Reads more bytes, waiting at most `wait`.
    fn fill(&mut self, wait: Duration) -> Result<(), ReadError> {
        let wait = wait.max(Duration::from_millis(1));
        if self.stream.set_read_timeout(Some(wait)).is_err() {
            return Err(ReadError::Gone);
        }
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) => Err(ReadError::Gone),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(ReadError::Timeout)
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(_) => Err(ReadError::Gone),
        }
    }

    fn send(&mut self, response: &Response, head_only: bool, close: bool) -> bool {
        let bytes = wire::response_bytes(response, head_only, close, &http_date());
        self.stream
            .write_all(&bytes)
            .and_then(|()| self.stream.flush())
            .is_ok()
    }

    /// Answers a request that is refused before it was read whole, then closes the
    /// connection gently: the client may still be sending, and closing a socket with unread
    /// bytes resets it, which can destroy the answer before the client reads it.
    fn refuse(&mut self, response: &Response) {
        if !self.send(response, false, true) {
            return;
        }
        let _ = self.stream.shutdown(Shutdown::Write);
        let until = Instant::now() + Duration::from_secs(2);
        let mut drained = 0usize;
        let mut sink = [0u8; 16 * 1024];
        while drained < 4 * 1024 * 1024 {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match self.stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    }
}

/// What became of reading one request.
enum Next {
    Request(Box<Request>, bool),
    Refused(Response),
    Done,
}

fn serve_connection(stream: TcpStream, peer: IpAddr, shared: &Shared, jobs: &SyncSender<Job>) {
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
    };
    let mut first = true;
    while !shared.stopping() {
        let next = read_request(&mut conn, peer, &shared.setup, first);
        first = false;
        let started = Instant::now();
        let (request, close) = match next {
            Next::Done => return,
            Next::Refused(response) => {
                log::info!("refused a request from {peer}: {}", response.status);
                conn.refuse(&response);
                return;
            }
            Next::Request(request, close) => (*request, close),
        };
        let line = format!("{} {}", method_name(request.method), request.path);
        let head_only = request.method == Method::Head;
        let (reply, answer) = mpsc::channel();
        if jobs.send(Job { request, reply }).is_err() {
            return;
        }
        let Ok(response) = answer.recv() else {
            return; // stopping: the workers are gone
        };
        let close = close || shared.stopping();
        let sent = conn.send(&response, head_only, close);
        log::info!(
            "{line} {} {:.2}ms",
            response.status,
            started.elapsed().as_secs_f64() * 1000.0
        );
        if !sent {
            log::debug!("{line}: client went away");
            return;
        }
        if close {
            let _ = conn.stream.shutdown(Shutdown::Write);
            return;
        }
    }
}

/// Reads one request: its head within the header timeout and its body within the body
/// timeout per read, refusing what is too large or malformed.
fn read_request(conn: &mut Conn, peer: IpAddr, setup: &ServerSetup, first: bool) -> Next {
    let limits = &setup.limits;
    // A kept-alive connection may idle until its next request starts.
    if !first && conn.buf.is_empty() && conn.fill(limits.idle_timeout).is_err() {
        return Next::Done;
    }
    let deadline = Instant::now() + limits.header_timeout;
    let end = loop {
        if let Some(end) = wire::head_end(&conn.buf) {
            break end;
        }
        if conn.buf.len() > limits.max_head_bytes {
            return refused(431, "The request's header fields are too large.");
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return timed_out(conn);
        }
        match conn.fill(left) {
            Ok(()) => {}
            Err(ReadError::Gone) => return Next::Done,
            Err(ReadError::Timeout) => return timed_out(conn),
        }
    };
    if end > limits.max_head_bytes {
        return refused(431, "The request's header fields are too large.");
    }
    let head = match wire::parse_head(&conn.buf[..end]) {
        Ok(h) => h,
        Err(r) => return refusal(r),
    };
    conn.buf.drain(..end);
    let (path, query) = match head.target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (head.target.clone(), String::new()),
    };
    let max_body = (setup.max_body)(&path);
    let framing = match wire::framing(&head) {
        Ok(f) => f,
        Err(r) => return refusal(r),
    };
    if head.header("expect").is_some() && !head.expects_continue() {
        return refused(417, "Only Expect: 100-continue is understood.");
    }
    let body = match framing {
        Framing::Empty => Vec::new(),
        Framing::Length(n) if n > max_body as u64 => {
            return Next::Refused((setup.too_large_page)());
        }
        Framing::Length(n) => {
            let n = n as usize;
            continue_if_asked(conn, &head, n);
            while conn.buf.len() < n {
                if conn.fill(limits.body_timeout).is_err() {
                    return body_stalled();
                }
            }
            conn.buf.drain(..n).collect()
        }
        Framing::Chunked => {
            continue_if_asked(conn, &head, 1);
            let mut chunked = Chunked::new(max_body);
            loop {
                match chunked.feed(&conn.buf) {
                    Ok(used) => {
                        conn.buf.drain(..used);
                    }
                    Err(wire::ChunkError::TooLarge) => {
                        return Next::Refused((setup.too_large_page)());
                    }
                    Err(wire::ChunkError::Malformed) => {
                        return refused(400, "The chunked body is malformed.");
                    }
                }
                if chunked.is_done() {
                    break chunked.body;
                }
                if conn.fill(limits.body_timeout).is_err() {
                    return body_stalled();
                }
            }
        }
    };
    let method = match head.method.as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        _ => Method::Other,
    };
    let close = head.wants_close();
    Next::Request(
        Box::new(Request {
            method,
            path,
            query,
            headers: head.headers,
            body,
            peer,
        }),
        close,
    )
}

/// `100 Continue` for a client that waits for it, unless the body is already here.
fn continue_if_asked(conn: &mut Conn, head: &Head, need: usize) {
    if head.expects_continue() && head.minor == 1 && conn.buf.len() < need {
        let _ = conn.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
}

fn refused(status: u16, text: &str) -> Next {
    Next::Refused(Response::text(status, text))
}

fn refusal(r: Refusal) -> Next {
    refused(r.status, r.text)
}

/// A request that stopped arriving: 408 if part of it came, else a quiet close.
fn timed_out(conn: &Conn) -> Next {
    if conn.buf.is_empty() {
        Next::Done
    } else {
        refused(408, "The request took too long to arrive.")
    }
}

fn body_stalled() -> Next {
    refused(408, "The request body stopped arriving.")
}

fn http_date() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}
