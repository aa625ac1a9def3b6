use ascii::AsciiString;

use std::io::Error as IoError;
use std::io::Result as IoResult;
use std::io::{BufReader, BufWriter, ErrorKind, Read};

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

use crate::common::{HTTPVersion, Method};
use crate::limits::{is_timeout, write_refusal, Limits};
use crate::util::RefinedTcpStream;
use crate::util::{CloseFlag, Drain};
use crate::util::{SequentialReader, SequentialReaderBuilder, SequentialWriterBuilder};
use crate::Request;

/// A ClientConnection is an object that will store a socket to a client
/// and return Request objects.
pub struct ClientConnection {
    // address of the client
    remote_addr: IoResult<Option<SocketAddr>>,

    // sequence of Readers to the stream, so that the data is not read in
    //  the wrong order
    source: SequentialReaderBuilder<BufReader<RefinedTcpStream>>,

    // sequence of Writers to the stream, to avoid writing response #2 before
    //  response #1
    sink: SequentialWriterBuilder<BufWriter<RefinedTcpStream>>,

    // Reader to read the next header from
    next_header_source: SequentialReader<BufReader<RefinedTcpStream>>,

    // set to true if we know that the previous request is the last one
    no_more_requests: bool,

    // true if the connection goes through SSL
    secure: bool,

    // timeouts and size limits
    limits: Arc<Limits>,

    // set by a request that must be the connection's last, or whose unread body was too
    //  large to drain
    close: CloseFlag,
}

/// Error that can happen when reading a request.
#[derive(Debug)]
enum ReadError {
    WrongRequestLine,
    WrongHeader,
    /// the client sent an unrecognized `Expect` header
    ExpectationFailed,
    ReadIoError(IoError),
    /// the request is refused with this status (and the connection closed)
    Refused(u16),
    /// nothing of a request arrived before the read timeout, or the connection is closing
    Idle,
}

/// How much of the current request head has arrived, and since when.
struct HeadProgress {
    started: Option<Instant>,
    bytes: usize,
}

impl ClientConnection {
    /// Creates a new `ClientConnection` that takes ownership of the `TcpStream`.
    pub fn new(
        write_socket: RefinedTcpStream,
        mut read_socket: RefinedTcpStream,
        limits: Arc<Limits>,
    ) -> ClientConnection {
        let remote_addr = read_socket.peer_addr();
        let secure = read_socket.secure();

        let mut source = SequentialReaderBuilder::new(BufReader::with_capacity(1024, read_socket));
        let first_header = source.next().unwrap();

        ClientConnection {
            source,
            sink: SequentialWriterBuilder::new(BufWriter::with_capacity(1024, write_socket)),
            remote_addr,
            next_header_source: first_header,
            no_more_requests: false,
            secure,
            limits,
            close: CloseFlag::default(),
        }
    }

    /// true if the connection is HTTPS
    pub fn secure(&self) -> bool {
        self.secure
    }

    /// Reads the next line from self.next_header_source.
    ///
    /// Reads until `CRLF` is reached. The next read will start
    ///  at the first byte of the new line.
    ///
    /// A line longer than `max_line` is refused with `too_long`, a head larger than the limit
    ///  with 431, a head slower than the header timeout with 408.
    fn read_next_line(
        &mut self,
        head: &mut HeadProgress,
        max_line: usize,
        too_long: u16,
    ) -> Result<AsciiString, ReadError> {
        let mut buf = Vec::new();
        let mut prev_byte_was_cr = false;

        loop {
            let byte = self.next_header_source.by_ref().bytes().next();

            let byte = match byte {
                Some(Ok(b)) => b,
                // a connection that stays silent between requests is closed without a word
                Some(Err(ref e)) if head.started.is_none() && is_timeout(e) => {
                    return Err(ReadError::Idle)
                }
                Some(Err(e)) => return Err(ReadError::ReadIoError(e)),
                None => {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::ConnectionAborted,
                        "Unexpected EOF",
                    )))
                }
            };

            let started = *head.started.get_or_insert_with(Instant::now);
            if let Some(limit) = self.limits.header_timeout {
                if started.elapsed() > limit {
                    return Err(ReadError::ReadIoError(IoError::new(
                        ErrorKind::TimedOut,
                        "The request head took too long",
                    )));
                }
            }
            head.bytes += 1;
            if head.bytes > self.limits.max_head_bytes {
                return Err(ReadError::Refused(431));
            }

            if byte == b'\n' {
                // a bare LF ends a line for some servers and not for others (it hid a
                //  `Content-Length` inside another field's value): refused, as RFC 9112 2.2
                //  allows
                if !prev_byte_was_cr {
                    return Err(ReadError::Refused(400));
                }
                buf.pop(); // removing the '\r'
                // no control character but HTAB in a request line or field (RFC 9110 5.5
                //  forbids CR, LF and NUL in values; the others only reach logs and
                //  terminals); a bare CR is caught here too
                if buf.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
                    return Err(ReadError::Refused(400));
                }
                return AsciiString::from_ascii(buf).map_err(|_| ReadError::Refused(400));
            }

            prev_byte_was_cr = byte == b'\r';

            buf.push(byte);
            if buf.len() > max_line.saturating_add(1) {
                return Err(ReadError::Refused(too_long));
            }
        }
    }

    /// Reads a request from the stream.
    /// Blocks until the header has been read.
    fn read(&mut self) -> Result<Request, ReadError> {
        // Wait until the previous request's body has been read or given up: its handling does
        //  not count against this head's timeout, and a connection that must close reads
        //  nothing more.
        self.next_header_source.wait_turn();
        if self.close.is_set() {
            return Err(ReadError::Idle);
        }
        let mut head = HeadProgress {
            started: None,
            bytes: 0,
        };
        let max_request_line = self.limits.max_request_line;
        let max_head_bytes = self.limits.max_head_bytes;

        let (method, path, version, headers) = {
            // reading the request line
            let (method, path, version) = {
                let line = self.read_next_line(&mut head, max_request_line, 414)?;

                parse_request_line(
                    line.as_str().trim(), // TODO: remove this conversion
                )?
            };

            // getting all headers
            let headers = {
                let mut headers = Vec::new();
                loop {
                    let line = self.read_next_line(&mut head, max_head_bytes, 431)?;

                    if line.is_empty() {
                        break;
                    };
                    // a folded line (obsolete) continues the previous field for some servers
                    //  and starts a new one for others: refused
                    if line.as_str().starts_with([' ', '\t']) {
                        return Err(ReadError::WrongHeader);
                    }
                    if headers.len() >= self.limits.max_headers {
                        return Err(ReadError::Refused(431));
                    }
                    headers.push(match FromStr::from_str(line.as_str().trim()) {
                        // TODO: remove this conversion
                        Ok(h) => h,
                        _ => return Err(ReadError::WrongHeader),
                    });
                }

                headers
            };

            (method, path, version, headers)
        };

        // a request that arrived after the connection was told to close is not answered
        if self.close.is_set() {
            return Err(ReadError::Idle);
        }

        // building the writer for the request
        let writer = self.sink.next().unwrap();

        // follow-up for next potential request
        let mut data_source = self.source.next().unwrap();
        std::mem::swap(&mut self.next_header_source, &mut data_source);

        let drain = Drain {
            max_bytes: self.limits.max_drain,
            close: self.close.clone(),
        };

        // building the next reader
        let request = crate::request::new_request(
            self.secure,
            method,
            path,
            version,
            headers,
            // upstream unwrapped this: a client gone before its address was read panicked
            //  the connection's thread
            self.remote_addr.as_ref().ok().copied().flatten(),
            data_source,
            writer,
            drain,
            // a small body is read with the head, within the head's time limit
            head.started
                .zip(self.limits.header_timeout)
                .map(|(start, limit)| start + limit),
        )
        .map_err(|e| {
            use crate::request;
            match e {
                request::RequestCreationError::CreationIoError(e) => ReadError::ReadIoError(e),
                request::RequestCreationError::ExpectationFailed => ReadError::ExpectationFailed,
                request::RequestCreationError::AmbiguousFraming => ReadError::Refused(400),
                request::RequestCreationError::UnsupportedTransferCoding => ReadError::Refused(501),
                request::RequestCreationError::UpgradeRefused => ReadError::Refused(400),
            }
        })?;

        // return the request
        Ok(request)
    }

    /// Answers a request that is refused before it reaches the application; the connection
    ///  is closed after it.
    fn refuse(&mut self, status: u16) {
        let writer = self.sink.next().unwrap();
        write_refusal(writer, status, &self.limits.refusal_headers).ok();
    }
}

impl Iterator for ClientConnection {
    type Item = Request;

    /// Blocks until the next Request is available.
    /// Returns None when no new Requests will come from the client.
    fn next(&mut self) -> Option<Request> {
        // the client sent a "connection: close" header in this previous request
        //  or is using HTTP 1.0, meaning that no new request will come
        if self.no_more_requests {
            return None;
        }

        loop {
            let rq = match self.read() {
                Err(ReadError::WrongRequestLine) | Err(ReadError::WrongHeader) => {
                    self.refuse(400);
                    return None; // we don't know where the next request would start,
                                 // se we have to close
                }

                Err(ReadError::ReadIoError(ref err)) if is_timeout(err) => {
                    // request timeout
                    self.refuse(408);
                    return None; // closing the connection
                }

                Err(ReadError::ExpectationFailed) => {
                    self.refuse(417);
                    return None; // TODO: should be recoverable, but needs handling in case of body
                }

                Err(ReadError::Refused(status)) => {
                    self.refuse(status);
                    return None;
                }

                Err(ReadError::ReadIoError(_)) | Err(ReadError::Idle) => return None,

                Ok(rq) => rq,
            };

            // checking HTTP version (upstream went on reading after the 505, from wherever
            //  this request's body left off)
            // HTTP/0.9 (no head, no status line in the answer) is refused as well
            if *rq.http_version() > (1, 1) || *rq.http_version() < (1, 0) {
                rq.close_connection();
                write_refusal(rq.into_writer(), 505, &self.limits.refusal_headers).ok();
                return None;
            }

            // updating the status of the connection
            let connection_header = rq
                .headers()
                .iter()
                .find(|h| h.field.equiv("Connection"))
                .map(|h| h.value.as_str());

            let lowercase = connection_header.map(|h| h.to_ascii_lowercase());

            match lowercase {
                Some(ref val) if val.contains("close") => self.no_more_requests = true,
                Some(ref val)
                    if !val.contains("keep-alive") && *rq.http_version() == HTTPVersion(1, 0) =>
                {
                    self.no_more_requests = true
                }
                None if *rq.http_version() == HTTPVersion(1, 0) => self.no_more_requests = true,
                _ => (),
            };

            // returning the request
            return Some(rq);
        }
    }
}

/// Parses a "HTTP/1.1" string.
fn parse_http_version(version: &str) -> Result<HTTPVersion, ReadError> {
    let (major, minor) = match version {
        "HTTP/0.9" => (0, 9),
        "HTTP/1.0" => (1, 0),
        "HTTP/1.1" => (1, 1),
        "HTTP/2.0" => (2, 0),
        "HTTP/3.0" => (3, 0),
        _ => return Err(ReadError::WrongRequestLine),
    };

    Ok(HTTPVersion(major, minor))
}

/// Parses the request line of the request.
/// eg. GET / HTTP/1.1
fn parse_request_line(line: &str) -> Result<(Method, String, HTTPVersion), ReadError> {
    let mut parts = line.split(' ');

    let method = parts.next().and_then(|w| w.parse().ok());
    let path = parts.next().map(ToOwned::to_owned);
    let version = parts.next().and_then(|w| parse_http_version(w).ok());

    method
        .and_then(|method| Some((method, path?, version?)))
        .ok_or(ReadError::WrongRequestLine)
}

#[cfg(test)]
mod test {
    #[test]
    fn test_parse_request_line() {
        let (method, path, ver) = super::parse_request_line("GET /hello HTTP/1.1").unwrap();

        assert!(method == crate::Method::Get);
        assert!(path == "/hello");
        assert!(ver == crate::common::HTTPVersion(1, 1));

        assert!(super::parse_request_line("GET /hello").is_err());
        assert!(super::parse_request_line("qsd qsd qsd").is_err());
    }
}
