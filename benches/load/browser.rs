//! One simulated browser: a ureq agent with its own connections, a cookie jar for the portal,
//! the `csrf` field of the last form it saw, and the time every request took.
//!
//! Pages are read with plain string searches on the server's own markup (stable element ids),
//! which keeps 200 clients cheap enough to share two cores with the server.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ureq::Agent;

use crate::report::Kind;

pub struct Resp {
    pub status: u16,
    pub location: String,
    pub body: String,
    /// Seconds to wait, when a sign-in or sign-up was refused because the server was busy.
    pub retry_after: Option<u64>,
}

impl Resp {
    pub fn has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// Attribute `attr` of the first tag whose text contains `marker` (e.g. `id="order"`).
    pub fn attr(&self, marker: &str, attr: &str) -> Option<&str> {
        let at = self.body.find(marker)?;
        let start = self.body[..at].rfind('<')?;
        let end = at + self.body[at..].find('>')?;
        let tag = &self.body[start..end];
        let key = format!(" {attr}=\"");
        let i = tag.find(&key)? + key.len();
        let j = tag[i..].find('"')?;
        Some(&tag[i..i + j])
    }

    /// Text right after the opening tag that contains `marker`, up to the next tag.
    pub fn text(&self, marker: &str) -> Option<&str> {
        let at = self.body.find(marker)?;
        let open_end = at + self.body[at..].find('>')? + 1;
        let close = open_end + self.body[open_end..].find('<')?;
        Some(self.body[open_end..close].trim())
    }

    /// Every value that follows `prefix` up to the next `"`.
    pub fn values_after(&self, prefix: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut rest = self.body.as_str();
        while let Some(i) = rest.find(prefix) {
            rest = &rest[i + prefix.len()..];
            if let Some(j) = rest.find('"') {
                out.push(&rest[..j]);
            }
        }
        out
    }

    /// The flash message of the page, if any.
    pub fn flash(&self) -> &str {
        self.text("id=\"flash\"").unwrap_or("")
    }

    /// A short description for an error report.
    pub fn summary(&self) -> String {
        let title = self.text("<title").unwrap_or("");
        let flash = self.flash();
        format!(
            "status {}, title {title:?}{}{}",
            self.status,
            if flash.is_empty() {
                String::new()
            } else {
                format!(", message {flash:?}")
            },
            if self.location.is_empty() {
                String::new()
            } else {
                format!(", location {}", self.location)
            }
        )
    }
}

/// Texts that mean the database refused work because it was busy.
pub fn mentions_busy(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("database is locked")
        || t.contains("database table is locked")
        || t.contains("sqlite_busy")
        || t.contains("database is busy")
}

pub struct Browser {
    agent: Agent,
    base: String,
    cookies: BTreeMap<String, String>,
    csrf: Option<String>,
    pub timings: Vec<(Kind, f32)>,
    /// The slowest request so far: milliseconds, what, and seconds into the run.
    pub slowest: (f32, String, f32),
    /// Responses whose text reported a busy database.
    pub busy: u32,
    /// Sign-ins and sign-ups refused with 503 and `Retry-After`, then sent again.
    pub shed: u32,
    run_start: Instant,
}

impl Browser {
    pub fn new(base: &str, run_start: Instant) -> Browser {
        let agent: Agent = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Browser {
            agent,
            base: base.trim_end_matches('/').to_string(),
            cookies: BTreeMap::new(),
            csrf: None,
            timings: Vec::new(),
            slowest: (0.0, String::new(), 0.0),
            busy: 0,
            shed: 0,
            run_start,
        }
    }

    /// A new visitor on the same machine: no cookies, no form seen.
    pub fn forget(&mut self) {
        self.cookies.clear();
        self.csrf = None;
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn get(&mut self, kind: Kind, path: &str) -> Result<Resp, String> {
        let url = self.url(path);
        let portal = url.starts_with(&self.base);
        let mut rq = self.agent.get(&url);
        if portal && !self.cookies.is_empty() {
            rq = rq.header("Cookie", self.cookie_header());
        }
        let started = Instant::now();
        let r = rq
            .call()
            .map_err(|e| format!("GET {}: connection error: {e}", short(path)))?;
        self.absorb(kind, "GET", path, portal, started, r)
    }

    /// POSTs a password form (sign-in, sign-up) and, while the server answers 503 with
    /// `Retry-After`, waits as told and sends it again, as a person would.
    pub fn post_password(
        &mut self,
        kind: Kind,
        path: &str,
        form: &[(&str, &str)],
    ) -> Result<Resp, String> {
        loop {
            let r = self.post(kind, path, form)?;
            match r.retry_after {
                Some(secs) => {
                    self.shed += 1;
                    std::thread::sleep(std::time::Duration::from_secs(secs));
                }
                None => return Ok(r),
            }
        }
    }

    /// POSTs a form to the portal with the `csrf` field of the last form seen.
    pub fn post(&mut self, kind: Kind, path: &str, form: &[(&str, &str)]) -> Result<Resp, String> {
        let csrf = self
            .csrf
            .clone()
            .ok_or_else(|| format!("POST {path}: no form with a csrf field was seen"))?;
        let url = self.url(path);
        let mut rq = self.agent.post(&url);
        if !self.cookies.is_empty() {
            rq = rq.header("Cookie", self.cookie_header());
        }
        let started = Instant::now();
        let r = rq
            .send_form(form.iter().copied().chain([("csrf", csrf.as_str())]))
            .map_err(|e| format!("POST {path}: connection error: {e}"))?;
        self.absorb(kind, "POST", path, true, started, r)
    }

    fn absorb(
        &mut self,
        kind: Kind,
        method: &str,
        path: &str,
        portal: bool,
        started: Instant,
        mut r: ureq::http::Response<ureq::Body>,
    ) -> Result<Resp, String> {
        let status = r.status().as_u16();
        let retry_after = r
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|_| status == 503 && portal && matches!(path, "/login" | "/signup"));
        let kind = if retry_after.is_some() {
            Kind::Shed
        } else {
            kind
        };
        let location = r
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if portal {
            for v in r.headers().get_all("set-cookie") {
                let v = v.to_str().unwrap_or("");
                let first = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = first.split_once('=') {
                    if v.contains("Max-Age=0") || value.is_empty() {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies
                            .insert(name.trim().to_string(), value.to_string());
                    }
                }
            }
        }
        let body = r
            .body_mut()
            .read_to_string()
            .map_err(|e| format!("{method} {}: reading the answer: {e}", short(path)))?;
        let ms = started.elapsed().as_secs_f32() * 1000.0;
        self.timings.push((kind, ms));
        if ms > self.slowest.0 {
            let at = started.duration_since(self.run_start).as_secs_f32();
            self.slowest = (ms, format!("{method} {} {status}", short(path)), at);
        }
        let resp = Resp {
            status,
            location,
            body,
            retry_after,
        };
        if mentions_busy(&resp.body) {
            self.busy += 1;
        }
        if portal && let Some(token) = resp.values_after("name=\"csrf\" value=\"").first() {
            self.csrf = Some((*token).to_string());
        }
        if status >= 500 && resp.retry_after.is_none() {
            return Err(format!(
                "{method} {}: server error: {}",
                short(path),
                resp.summary()
            ));
        }
        Ok(resp)
    }
}

/// A path without its query string and without the simulator's host, for reports.
pub fn short(path: &str) -> &str {
    let p = path.split('?').next().unwrap_or(path);
    match p.find("://") {
        Some(i) => p[i + 3..].find('/').map_or(p, |j| &p[i + 3 + j..]),
        None => p,
    }
}
