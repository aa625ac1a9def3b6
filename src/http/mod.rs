//! Request and response values, the HTTP server, cookies and static assets.

pub mod assets;
pub mod cookies;
pub mod form;
pub mod multipart;
pub mod ratelimit;
pub mod server;

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::net::IpAddr;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Other,
}

/// A large body, spooled to an unnamed temporary file (removed when the last handle closes)
/// instead of being held in memory.
#[derive(Debug, Clone)]
pub struct Spooled {
    pub file: Arc<File>,
    pub len: u64,
}

/// An uploaded file: its name and a reader over its bytes.
pub struct Upload {
    pub filename: Option<String>,
    pub len: u64,
    pub data: Box<dyn Read + Send>,
}

/// A request with its body already read (and capped).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// Percent-decoding is left to the router; this is the raw path without the query.
    pub path: String,
    pub query: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// A body too large for memory, when the server spooled it to a file (`body` is then
    /// empty).
    pub spooled: Option<Spooled>,
    /// The socket's peer address.
    pub peer: IpAddr,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.header("cookie")
            .and_then(|h| cookies::find(h, name).map(str::to_string))
    }

    pub fn query_params(&self) -> HashMap<String, String> {
        parse_form(self.query.as_bytes())
    }

    /// Path segments, percent-decoded; `/a/b/` → `["a", "b"]`.
    pub fn segments(&self) -> Vec<String> {
        segments(&self.path)
    }
}

/// A path's segments as the router sees them, percent-decoded; `//a/%62/` → `["a", "b"]`.
pub fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// `%41` → `A`; a malformed escape is kept as it is; `+` stays `+` (paths are not forms).
pub fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

pub fn parse_form(bytes: &[u8]) -> HashMap<String, String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .map(|pairs| pairs.into_iter().collect())
        .unwrap_or_default()
}

/// A response value; security headers are added by the server for every response.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
        }
    }

    pub fn html(status: u16, body: String) -> Response {
        Response::new(status, "text/html; charset=utf-8", body)
            .with_header("Cache-Control", "no-store")
    }

    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status, "application/json", value.to_string())
            .with_header("Cache-Control", "no-store")
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", body)
    }

    /// 303 See Other: the answer to a successful POST (post/redirect/get).
    pub fn see_other(location: &str) -> Response {
        Response {
            status: 303,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// `a=1&b=x y` from pairs, for building links.
pub fn encode_query(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str) -> Request {
        Request {
            method: Method::Get,
            path: path.into(),
            query: String::new(),
            headers: vec![("cookie".into(), "a=1; didport_session=abc".into())],
            body: Vec::new(),
            spooled: None,
            peer: IpAddr::from([127, 0, 0, 1]),
        }
    }

    #[test]
    fn segments_are_decoded() {
        assert_eq!(
            req("/my/numbers/212%205").segments(),
            vec!["my", "numbers", "212 5"]
        );
        assert!(req("/").segments().is_empty());
        assert_eq!(percent_decode("a+b%2"), "a+b%2");
        assert_eq!(percent_decode("%41%zz"), "A%zz");
    }

    #[test]
    fn cookies_are_found() {
        assert_eq!(req("/").cookie("didport_session").as_deref(), Some("abc"));
        assert_eq!(req("/").cookie("nope"), None);
    }

    #[test]
    fn query_encoding_round_trips() {
        let q = encode_query(&[("next", "/my?x=1&y=2")]);
        assert_eq!(parse_form(q.as_bytes()).get("next").unwrap(), "/my?x=1&y=2");
    }

    #[test]
    fn percent_escapes_need_two_hex_digits() {
        assert_eq!(percent_decode("%+1"), "%+1");
        assert_eq!(percent_decode("%-1x"), "%-1x");
        assert_eq!(percent_decode("a%2fb"), "a/b");
    }

    use proptest::prelude::*;

    /// `%XX` with two hex digits is that byte; everything else stays as it is.
    fn reference_decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && b[i + 1].is_ascii_hexdigit()
                && b[i + 2].is_ascii_hexdigit()
            {
                let hex = |c: u8| (c as char).to_digit(16).unwrap() as u8;
                out.push(hex(b[i + 1]) * 16 + hex(b[i + 2]));
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn percent_decoding_agrees_with_the_reference(s in "([%+a-fA-F0-9/ -]|%[0-9a-fA-F]{2}|\\PC){0,24}") {
            prop_assert_eq!(percent_decode(&s), reference_decode(&s), "{:?}", s);
        }

        #[test]
        fn form_decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_form(&bytes);
            let r = Request {
                method: Method::Post,
                path: String::from_utf8_lossy(&bytes).into_owned(),
                query: String::from_utf8_lossy(&bytes).into_owned(),
                headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
                body: bytes,
                spooled: None,
                peer: IpAddr::from([127, 0, 0, 1]),
            };
            let _ = form::Form::parse(&r);
            let _ = r.query_params();
            let _ = r.segments();
        }

        /// What a browser encodes comes back exactly, whatever the text.
        #[test]
        fn form_encoding_round_trips(
            fields in proptest::collection::hash_map(any::<String>(), any::<String>(), 0..6)
        ) {
            let pairs: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let encoded = encode_query(&pairs);
            prop_assert_eq!(parse_form(encoded.as_bytes()), fields);
        }
    }
}
