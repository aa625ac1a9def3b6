//! Bounds on how long a client can make the server wait and how much it can make it read.
//! (Not in upstream tiny_http 0.12.0; see PATCHES.md.)

use std::io::{Error as IoError, ErrorKind, Write};
use std::time::Duration;

use crate::common::{Header, StatusCode};

/// Timeouts and size limits applied to every connection.
///
/// The defaults are safe for a server facing the internet; [`Limits::unlimited`] gives back the
/// behaviour of upstream tiny_http.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest wait for any read from a client: the first request on a new connection, the
    /// next one on a kept-alive connection, the next bytes of a head or of a body. A request
    /// that stops arriving part way is answered 408; a connection idle between requests is
    /// closed quietly.
    pub read_timeout: Option<Duration>,
    /// Longest time from a request's first byte to the end of its head (checked between reads,
    /// so a head may take up to this plus one `read_timeout`); then 408.
    pub header_timeout: Option<Duration>,
    /// Longest wait for a client to take bytes of a response.
    pub write_timeout: Option<Duration>,
    /// Longest request line, in bytes; a longer one is answered 414.
    pub max_request_line: usize,
    /// Largest request head (request line and header fields), in bytes; a larger one is
    /// answered 431.
    pub max_head_bytes: usize,
    /// Most header fields in a request; more are answered 431.
    pub max_headers: usize,
    /// Most bytes of a request body left unread by the application that are read and thrown
    /// away (within about a second) so that the connection can carry another request. When
    /// more is left, nothing is read and the connection is closed.
    pub max_drain: usize,
    /// Connections served at once; a connection beyond that is answered 503 and closed.
    pub max_connections: usize,
    /// Headers added to the answers the server writes by itself (400, 408, 414, 417, 431,
    /// 501, 503, 505), such as security headers.
    pub refusal_headers: Vec<Header>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            read_timeout: Some(Duration::from_secs(15)),
            header_timeout: Some(Duration::from_secs(20)),
            write_timeout: Some(Duration::from_secs(30)),
            max_request_line: 8 * 1024,
            max_head_bytes: 64 * 1024,
            max_headers: 100,
            max_drain: 64 * 1024,
            max_connections: 512,
            refusal_headers: Vec::new(),
        }
    }
}

impl Limits {
    /// No timeouts and no size limits, as in upstream tiny_http (except that an unread body
    /// is still drained in bounded steps).
    pub fn unlimited() -> Self {
        Limits {
            read_timeout: None,
            header_timeout: None,
            write_timeout: None,
            max_request_line: usize::MAX,
            max_head_bytes: usize::MAX,
            max_headers: usize::MAX,
            max_drain: usize::MAX,
            max_connections: usize::MAX,
            refusal_headers: Vec::new(),
        }
    }
}

/// Whether a read or write failed because its socket timeout passed. Linux reports an
/// `SO_RCVTIMEO`/`SO_SNDTIMEO` timeout as `WouldBlock`, other systems as `TimedOut`.
pub(crate) fn is_timeout(e: &IoError) -> bool {
    matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock)
}

/// Writes an empty answer that closes the connection: status line, `Date`,
/// `Content-Length: 0`, `Connection: close` and the configured extra headers, in one write.
pub(crate) fn write_refusal<W: Write>(
    mut writer: W,
    status: u16,
    headers: &[Header],
) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(256);
    write!(
        out,
        "HTTP/1.1 {} {}\r\nDate: {}\r\nContent-Length: 0\r\nConnection: close\r\n",
        status,
        StatusCode(status).default_reason_phrase(),
        httpdate::HttpDate::from(std::time::SystemTime::now())
    )?;
    for h in headers {
        write!(out, "{}\r\n", h)?;
    }
    out.extend_from_slice(b"\r\n");
    writer.write_all(&out)?;
    writer.flush()
}
