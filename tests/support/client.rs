//! A browser-like HTTP client over ureq: keeps cookies, follows redirects when asked, and fills
//! the `csrf` field from the last page it saw.

use std::collections::BTreeMap;
use std::time::Duration;

use ureq::Agent;

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// Texts of the elements matching a CSS selector.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        doc.select(&sel)
            .map(|e| e.text().collect::<String>().trim().to_string())
            .collect()
    }

    pub fn has(&self, selector: &str) -> bool {
        !self.texts(selector).is_empty()
    }

    /// Text of the first element matching `selector`, panicking when there is none.
    pub fn text(&self, selector: &str) -> String {
        self.texts(selector)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no element {selector} in:\n{}", self.body))
    }

    pub fn attr(&self, selector: &str, attr: &str) -> Option<String> {
        let doc = scraper::Html::parse_document(&self.body);
        let sel = scraper::Selector::parse(selector).expect("valid selector");
        doc.select(&sel)
            .next()
            .and_then(|e| e.value().attr(attr).map(str::to_string))
    }
}

#[derive(Clone)]
pub struct Client {
    base: String,
    agent: Agent,
    pub cookies: BTreeMap<String, String>,
    pub csrf: Option<String>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        let agent: Agent = Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Client {
            base: base.trim_end_matches('/').to_string(),
            agent,
            cookies: BTreeMap::new(),
            csrf: None,
            headers: Vec::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn absorb(&mut self, mut r: ureq::http::Response<ureq::Body>) -> Resp {
        let status = r.status().as_u16();
        let headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
            .collect();
        for (k, v) in &headers {
            if k.eq_ignore_ascii_case("set-cookie") {
                let first = v.split(';').next().unwrap_or("");
                if let Some((name, value)) = first.split_once('=') {
                    let removed = v.contains("Max-Age=0") || value.is_empty();
                    if removed {
                        self.cookies.remove(name.trim());
                    } else {
                        self.cookies
                            .insert(name.trim().to_string(), value.to_string());
                    }
                }
            }
        }
        let body = r.body_mut().read_to_string().unwrap_or_default();
        let resp = Resp {
            status,
            headers,
            body,
        };
        if let Some(token) = resp.attr("input[name=csrf]", "value") {
            self.csrf = Some(token);
        }
        resp
    }

    pub fn get(&mut self, path: &str) -> Resp {
        let mut rq = self
            .agent
            .get(&self.url(path))
            .header("Cookie", &self.cookie_header());
        for (k, v) in &self.headers {
            rq = rq.header(k, v);
        }
        let r = rq.call().expect("GET answered");
        self.absorb(r)
    }

    /// GET, then follow redirects (up to 10).
    pub fn get_follow(&mut self, path: &str) -> Resp {
        let r = self.get(path);
        self.follow(r)
    }

    /// Follows a redirect chain from a response.
    pub fn follow(&mut self, mut r: Resp) -> Resp {
        for _ in 0..10 {
            if !(300..400).contains(&r.status) {
                return r;
            }
            let loc = r.location().to_string();
            r = self.get(&loc);
        }
        r
    }

    /// POSTs a form, adding the `csrf` field from the last page unless the form has one.
    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Resp {
        let mut fields: Vec<(String, String)> = form
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if !fields.iter().any(|(k, _)| k == "csrf") {
            if self.csrf.is_none() {
                // Like a browser, load a page with a form first.
                self.get("/login");
            }
            fields.push(("csrf".into(), self.csrf.clone().unwrap_or_default()));
        }
        self.post_raw(path, &fields)
    }

    /// POSTs exactly these fields (no csrf added).
    pub fn post_raw(&mut self, path: &str, fields: &[(String, String)]) -> Resp {
        let mut rq = self
            .agent
            .post(&self.url(path))
            .header("Cookie", &self.cookie_header());
        for (k, v) in &self.headers {
            rq = rq.header(k, v);
        }
        let r = rq
            .send_form(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .expect("POST answered");
        self.absorb(r)
    }

    /// POSTs raw bytes with a content type.
    pub fn post_bytes(&mut self, path: &str, content_type: &str, body: &[u8]) -> Resp {
        let r = self
            .agent
            .post(&self.url(path))
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", content_type)
            .send(body)
            .expect("POST answered");
        self.absorb(r)
    }

    /// POSTs a multipart form with one file, adding the `csrf` field from the last page.
    pub fn post_file(&mut self, path: &str, field: &str, filename: &str, data: &[u8]) -> Resp {
        let boundary = "didport-test-boundary-7f3a";
        let mut body = Vec::new();
        if let Some(csrf) = self.csrf.clone() {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.post_bytes(
            path,
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )
    }

    /// Signs in through the login form; panics unless it succeeds. Like a browser, it then
    /// loads the page it is sent to, whose forms carry the session's CSRF token (the visitor's
    /// token from the sign-in page no longer counts).
    pub fn login(&mut self, email: &str, password: &str) -> Resp {
        self.get("/login");
        let r = self.post("/login", &[("email", email), ("password", password)]);
        assert_eq!(r.status, 303, "login failed: {}", r.body);
        let landing = r.location().to_string();
        self.get(&landing);
        r
    }
}
