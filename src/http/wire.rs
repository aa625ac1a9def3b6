//! HTTP/1.1 as bytes, by hand, so that every limit is the portal's own: the request head and
//! its size limits, how the body is framed (`Content-Length` or chunked), chunked decoding,
//! and the bytes of a response. No I/O here; `server.rs` feeds these from the socket.

use super::Response;

/// Longest request line (method, target, version).
pub const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Most header fields in one request.
pub const MAX_HEADERS: usize = 100;
/// Longest chunk-size line or trailer block of a chunked body.
const MAX_CHUNK_LINE: usize = 1024;
const MAX_TRAILERS: usize = 8 * 1024;

/// Why a request is refused before it reaches a handler: the status and a short text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub text: &'static str,
}

const fn refuse(status: u16, text: &'static str) -> Refusal {
    Refusal { status, text }
}

const BAD_REQUEST: Refusal = refuse(400, "The request is not well-formed HTTP.");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// `path?query`, as sent (an absolute-form target is reduced to this).
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    /// Names lower-cased, values without surrounding whitespace.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the connection closes after this request: when the client asks, and always
    /// for HTTP/1.0 (whose keep-alive would need a `Connection: keep-alive` answer).
    pub fn wants_close(&self) -> bool {
        self.minor == 0
            || self
                .headers
                .iter()
                .filter(|(k, _)| k == "connection")
                .flat_map(|(_, v)| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case("close"))
    }

    pub fn expects_continue(&self) -> bool {
        self.header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    }
}

/// Where the head in `buf` ends (just past the empty line), once it has arrived. Empty lines
/// before the request line are skipped by [`parse_head`], not counted here as an end.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    let start = buf
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(buf.len());
    let body = &buf[start..];
    let mut i = 0;
    while let Some(off) = body[i..].iter().position(|b| *b == b'\n') {
        let nl = i + off;
        // `\n\n` or `\n\r\n`: the line after this one is empty.
        match body.get(nl + 1) {
            Some(b'\n') => return Some(start + nl + 2),
            Some(b'\r') if body.get(nl + 2) == Some(&b'\n') => return Some(start + nl + 3),
            _ => {}
        }
        i = nl + 1;
    }
    None
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a complete head (as delimited by [`head_end`]).
pub fn parse_head(bytes: &[u8]) -> Result<Head, Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|_| BAD_REQUEST)?;
    let mut lines = text
        .trim_start_matches(['\r', '\n'])
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l));
    let request_line = lines.next().ok_or(BAD_REQUEST)?;
    if request_line.len() > MAX_REQUEST_LINE {
        return Err(refuse(414, "The address is too long."));
    }
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(BAD_REQUEST);
    };
    if !is_token(method) {
        return Err(BAD_REQUEST);
    }
    let minor = match version {
        "HTTP/1.1" => 1,
        "HTTP/1.0" => 0,
        v if v.starts_with("HTTP/") => {
            return Err(refuse(505, "Only HTTP/1.0 and HTTP/1.1 are spoken here."));
        }
        _ => return Err(BAD_REQUEST),
    };
    if target.is_empty() || target.chars().any(|c| c.is_control() || c == ' ') {
        return Err(BAD_REQUEST);
    }
    let target = if target.starts_with('/') || target == "*" {
        target.to_string()
    } else if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // Absolute form (proxies): keep the path and query.
        match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => rest[i..].to_string(),
            Some(i) => format!("/{}", &rest[i..]),
            None => "/".to_string(),
        }
    } else {
        return Err(BAD_REQUEST);
    };
    let mut headers = Vec::new();
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            // Obsolete line folding: refused, as RFC 9112 allows, rather than guessed at.
            return Err(BAD_REQUEST);
        }
        let (name, value) = line.split_once(':').ok_or(BAD_REQUEST)?;
        // No space before the colon (RFC 9112 §5.1): a classic request-smuggling trick.
        if !is_token(name) {
            return Err(BAD_REQUEST);
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(BAD_REQUEST);
        }
        headers.push((name.to_ascii_lowercase(), value.to_string()));
        if headers.len() > MAX_HEADERS {
            return Err(refuse(431, "The request has too many header fields."));
        }
    }
    Ok(Head {
        method: method.to_string(),
        target,
        minor,
        headers,
    })
}

/// How a request's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Empty,
    Length(u64),
    Chunked,
}

/// The body framing of a head, refusing the ambiguous combinations that let a request hide
/// inside another (both `Content-Length` and `Transfer-Encoding`, conflicting lengths).
pub fn framing(head: &Head) -> Result<Framing, Refusal> {
    let lengths: Vec<&str> = head
        .headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .collect();
    let encodings: Vec<&str> = head
        .headers
        .iter()
        .filter(|(k, _)| k == "transfer-encoding")
        .map(|(_, v)| v.trim())
        .collect();
    if !encodings.is_empty() {
        if !lengths.is_empty() || head.minor == 0 {
            return Err(BAD_REQUEST);
        }
        return match encodings.as_slice() {
            [one] if one.eq_ignore_ascii_case("chunked") => Ok(Framing::Chunked),
            _ => Err(refuse(501, "Only chunked transfer encoding is supported.")),
        };
    }
    let mut length = None;
    for l in lengths {
        if l.is_empty() || l.len() > 19 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BAD_REQUEST);
        }
        let n: u64 = l.parse().map_err(|_| BAD_REQUEST)?;
        if length.is_some_and(|m| m != n) {
            return Err(BAD_REQUEST);
        }
        length = Some(n);
    }
    Ok(match length {
        None | Some(0) => Framing::Empty,
        Some(n) => Framing::Length(n),
    })
}

/// A chunked body, decoded as its bytes arrive, refusing bodies over `max` bytes.
#[derive(Debug)]
pub struct Chunked {
    state: ChunkState,
    max: usize,
    trailer_bytes: usize,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    Size,
    Data(usize),
    DataEnd,
    Trailers,
    Done,
}

/// What went wrong in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    Malformed,
    TooLarge,
}

impl Chunked {
    pub fn new(max: usize) -> Chunked {
        Chunked {
            state: ChunkState::Size,
            max,
            trailer_bytes: 0,
            body: Vec::new(),
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// Consumes what it can of `input` and says how many bytes that was; call again with
    /// more input until [`Chunked::is_done`].
    pub fn feed(&mut self, input: &[u8]) -> Result<usize, ChunkError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.state {
                ChunkState::Done => return Ok(used),
                ChunkState::Data(left) => {
                    if rest.is_empty() {
                        return Ok(used);
                    }
                    let take = left.min(rest.len());
                    self.body.extend_from_slice(&rest[..take]);
                    used += take;
                    self.state = if take == left {
                        ChunkState::DataEnd
                    } else {
                        ChunkState::Data(left - take)
                    };
                }
                ChunkState::Size | ChunkState::DataEnd | ChunkState::Trailers => {
                    let Some(nl) = rest.iter().position(|b| *b == b'\n') else {
                        let limit = if self.state == ChunkState::Trailers {
                            MAX_TRAILERS - self.trailer_bytes
                        } else {
                            MAX_CHUNK_LINE
                        };
                        return if rest.len() > limit {
                            Err(ChunkError::Malformed)
                        } else {
                            Ok(used)
                        };
                    };
                    let line = &rest[..nl];
                    let line = line.strip_suffix(b"\r").unwrap_or(line);
                    used += nl + 1;
                    self.state = self.after_line(line)?;
                }
            }
        }
    }

    fn after_line(&mut self, line: &[u8]) -> Result<ChunkState, ChunkError> {
        match self.state {
            ChunkState::Size => {
                if line.len() > MAX_CHUNK_LINE {
                    return Err(ChunkError::Malformed);
                }
                // `size[;extension]`: extensions are allowed and ignored.
                let size = line.split(|b| *b == b';').next().unwrap_or(&[]);
                let size = std::str::from_utf8(size).map_err(|_| ChunkError::Malformed)?;
                let size = size.trim_matches([' ', '\t']);
                if size.is_empty()
                    || size.len() > 15
                    || !size.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    return Err(ChunkError::Malformed);
                }
                let n = usize::from_str_radix(size, 16).map_err(|_| ChunkError::Malformed)?;
                if n > self.max.saturating_sub(self.body.len()) {
                    return Err(ChunkError::TooLarge);
                }
                Ok(if n == 0 {
                    ChunkState::Trailers
                } else {
                    ChunkState::Data(n)
                })
            }
            ChunkState::DataEnd if line.is_empty() => Ok(ChunkState::Size),
            ChunkState::DataEnd => Err(ChunkError::Malformed),
            ChunkState::Trailers if line.is_empty() => Ok(ChunkState::Done),
            ChunkState::Trailers => {
                self.trailer_bytes += line.len() + 2;
                if self.trailer_bytes > MAX_TRAILERS {
                    Err(ChunkError::Malformed)
                } else {
                    Ok(ChunkState::Trailers)
                }
            }
            ChunkState::Data(_) | ChunkState::Done => Err(ChunkError::Malformed),
        }
    }
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

/// The whole response (status line, headers, body) as one buffer, written in one go: a
/// response split into several writes waits for a delayed ACK on a kept-alive connection.
pub fn response_bytes(r: &Response, head_only: bool, close: bool, date: &str) -> Vec<u8> {
    use std::io::Write;
    let reason = reason(r.status);
    let mut out = Vec::with_capacity(r.body.len() + 768);
    // Writing into a Vec cannot fail.
    let _ = write!(out, "HTTP/1.1 {} {reason}\r\nDate: {date}\r\n", r.status);
    for (k, v) in r
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(SECURITY_HEADERS)
    {
        // A header may never smuggle a line break into the response.
        if k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("connection")
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

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn head(text: &str) -> Result<Head, Refusal> {
        let end = head_end(text.as_bytes()).expect("a complete head");
        parse_head(&text.as_bytes()[..end])
    }

    #[test]
    fn heads() {
        let h = head("GET /numbers?q=1 HTTP/1.1\r\nHost: x\r\nX-A:  b \r\n\r\nrest").unwrap();
        assert_eq!(h.method, "GET");
        assert_eq!(h.target, "/numbers?q=1");
        assert_eq!(h.header("x-a"), Some("b"));
        assert!(!h.wants_close());
        let h = head("\r\nPOST http://example.com?a=1 HTTP/1.0\n\n").unwrap();
        assert_eq!(h.target, "/?a=1");
        assert!(h.wants_close());
        let h = head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(h.wants_close());
        let h = head("GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n").unwrap();
        assert!(h.wants_close());
        for (bad, status) in [
            ("GET / HTTP/1.1\r\nX : y\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX: y\r\n z\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400),
            ("GET  / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505),
            ("GET / HTTP/1.1 x\r\n\r\n", 400),
            ("GET example HTTP/1.1\r\n\r\n", 400),
            ("G(T / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nX: a\u{1}b\r\n\r\n", 400),
        ] {
            assert_eq!(head(bad).unwrap_err().status, status, "{bad:?}");
        }
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(head(&long).unwrap_err().status, 414);
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: 1\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(head(&many).unwrap_err().status, 431);
    }

    #[test]
    fn body_framing() {
        let f = |h: &str| framing(&head(&format!("POST / HTTP/1.1\r\n{h}\r\n")).unwrap());
        assert_eq!(f(""), Ok(Framing::Empty));
        assert_eq!(f("Content-Length: 12\r\n"), Ok(Framing::Length(12)));
        assert_eq!(
            f("Content-Length: 12\r\nContent-Length: 12\r\n"),
            Ok(Framing::Length(12))
        );
        assert_eq!(f("Transfer-Encoding: Chunked\r\n"), Ok(Framing::Chunked));
        for bad in [
            "Content-Length: 12\r\nContent-Length: 13\r\n",
            "Content-Length: 1,2\r\n",
            "Content-Length: -1\r\n",
            "Content-Length: +1\r\n",
            "Content-Length: 99999999999999999999\r\n",
            "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n",
        ] {
            assert_eq!(f(bad).unwrap_err().status, 400, "{bad:?}");
        }
        assert_eq!(
            f("Transfer-Encoding: gzip, chunked\r\n")
                .unwrap_err()
                .status,
            501
        );
    }

    #[test]
    fn chunked_bodies() {
        let mut c = Chunked::new(100);
        let input = b"3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        assert_eq!(c.feed(input), Ok(input.len() - 4));
        assert!(c.is_done());
        assert_eq!(c.body, b"abc");
        let mut c = Chunked::new(4);
        assert_eq!(c.feed(b"5\r\n"), Err(ChunkError::TooLarge));
        let mut c = Chunked::new(100);
        assert_eq!(c.feed(b"3\r\nabcX\r\n"), Err(ChunkError::Malformed));
        let mut c = Chunked::new(100);
        assert_eq!(c.feed(b"-3\r\n"), Err(ChunkError::Malformed));
    }

    #[test]
    fn responses_never_carry_injected_lines() {
        let r = Response::text(200, "hi")
            .with_header("Location", "/x\r\nSet-Cookie: evil=1")
            .with_header("X-Bad\r\nName", "v")
            .with_header("Content-Length", "999");
        let out = String::from_utf8(response_bytes(&r, false, true, "d")).unwrap();
        assert!(!out.contains("evil"), "{out}");
        assert!(!out.contains("X-Bad"), "{out}");
        assert!(out.contains("Content-Length: 2\r\n"), "{out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(out.ends_with("\r\n\r\nhi"), "{out}");
        let head_only = response_bytes(&r, true, false, "d");
        assert!(head_only.ends_with(b"\r\n\r\n"));
    }

    /// Splits `data` into chunks of the given sizes (cycled) and writes it chunked.
    fn chunk_encode(data: &[u8], sizes: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut rest = data;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes[i % sizes.len()].clamp(1, rest.len());
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            out.extend_from_slice(&rest[..n]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[n..];
            i += 1;
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_bytes_are_a_head_or_a_refusal(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let end = head_end(&bytes);
            if let Some(end) = end {
                prop_assert!(end <= bytes.len());
                if let Ok(h) = parse_head(&bytes[..end]) {
                    prop_assert!(h.target.starts_with('/') || h.target == "*");
                    prop_assert!(h.headers.len() <= MAX_HEADERS);
                    let _ = framing(&h);
                }
            }
        }

        /// A head a client writes comes back field by field.
        #[test]
        fn written_heads_parse_back(
            method in "[A-Z]{1,8}",
            path in "/[a-zA-Z0-9/._~%-]{0,40}(\\?[a-zA-Z0-9=&%+._-]{0,40})?",
            headers in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,20}", "[ -~]{0,40}"), 0..10),
            crlf in any::<bool>(),
        ) {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = format!("{method} {path} HTTP/1.1{eol}");
            for (k, v) in &headers {
                text.push_str(&format!("{k}: {v}{eol}"));
            }
            text.push_str(eol);
            let end = head_end(text.as_bytes());
            prop_assert_eq!(end, Some(text.len()));
            let h = parse_head(text.as_bytes()).unwrap();
            prop_assert_eq!(h.method, method);
            prop_assert_eq!(h.target, path);
            let expected: Vec<(String, String)> = headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_matches([' ', '\t']).to_string()))
                .collect();
            prop_assert_eq!(h.headers, expected);
        }

        /// Chunked bodies decode to what was sent, however the bytes arrive.
        #[test]
        fn chunked_round_trips(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            sizes in proptest::collection::vec(1usize..64, 1..5),
            splits in proptest::collection::vec(1usize..50, 1..10),
        ) {
            let encoded = chunk_encode(&data, &sizes);
            let mut c = Chunked::new(data.len());
            let mut buf: Vec<u8> = Vec::new();
            let mut fed = 0;
            let mut i = 0;
            while !c.is_done() {
                prop_assert!(fed < encoded.len() || !buf.is_empty(), "ran out of input");
                let n = splits[i % splits.len()].min(encoded.len() - fed);
                buf.extend_from_slice(&encoded[fed..fed + n]);
                fed += n;
                i += 1;
                let used = c.feed(&buf).unwrap();
                buf.drain(..used);
                if n == 0 && used == 0 && !c.is_done() {
                    prop_assert!(false, "stuck");
                }
            }
            prop_assert_eq!(&c.body, &data);
            if !data.is_empty() {
                let mut small = Chunked::new(data.len() - 1);
                prop_assert_eq!(small.feed(&encoded).err(), Some(ChunkError::TooLarge));
            }
        }

        #[test]
        fn any_bytes_as_a_chunked_body(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut c = Chunked::new(64);
            if let Ok(used) = c.feed(&bytes) {
                prop_assert!(used <= bytes.len());
                prop_assert!(c.body.len() <= 64);
            }
        }
    }
}
