//! The request context every handler gets: the portal's state (`App`), the signed-in user,
//! cookies (session, visitor, flash, the signed sign-in cookies), the CSRF token, the form read
//! once, and `Stop`, the way a handler stops early. It knows no pages and no SQL: a `Stop` is
//! drawn by `pages::errors`, and `Ctx::read` runs a store read (writes are workflows').
//! docs/architecture.md has the layers.

mod signed_cookies;

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

pub use signed_cookies::{DEVICE_COOKIE, SECOND_STEP_COOKIE};

use crate::config::Config;
use crate::http::form::Form;
use crate::http::ratelimit::RateLimiter;
use crate::http::{Method, Request, Response, Upload, cookies};
use crate::secure;
use crate::store::Tx;
use crate::store::users::User;
use crate::workflow::{Services, accounts};

pub const SESSION_COOKIE: &str = "didport_session";
pub const ANON_COOKIE: &str = "didport_visitor";
pub const FLASH_COOKIE: &str = "didport_flash";

/// Cookie names carry this prefix when the portal is served over https: a browser then takes
/// the cookie only if it is `Secure`, has `Path=/` and names no domain, so a sibling subdomain
/// or a plain-HTTP page cannot plant one (a planted visitor cookie would fix its CSRF token).
pub const HOST_PREFIX: &str = "__Host-";

const VISITOR_LIFETIME_SECS: i64 = 30 * 24 * 3600;

/// A route that tests add (for instance one that panics); never used by `serve`.
pub type ExtraRoute = dyn Fn(&Request) -> Option<Response> + Send + Sync;

/// The running portal as handlers see it.
pub struct App {
    pub services: Services,
    pub(crate) signing_key: Vec<u8>,
    pub secure_cookies: bool,
    /// `__Host-` when `secure_cookies`, else empty.
    pub(crate) cookie_prefix: &'static str,
    pub demo: bool,
    pub mail_configured: bool,
    pub search_limiter: RateLimiter,
    /// Password-reset asks per client address and hour.
    pub reset_limiter: RateLimiter,
    pub(crate) extra: Option<Arc<ExtraRoute>>,
}

impl App {
    pub fn config(&self) -> &Config {
        &self.services.config
    }
    pub fn now(&self) -> i64 {
        self.services.now()
    }
    /// The name a cookie goes by on this portal (see `HOST_PREFIX`).
    pub fn cookie_name(&self, name: &str) -> String {
        format!("{}{name}", self.cookie_prefix)
    }
}

/// Kinds of one-time messages shown on the next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Notice,
    Error,
}

#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub text: String,
}

/// Why a handler stopped before its page: `?` carries it to the router, which has
/// `pages::errors::for_stop` draw it.
#[derive(Debug)]
pub enum Stop {
    /// An answer ready to send (a redirect to sign-in, a page that explains a refusal).
    Answer(Response),
    /// 404: nothing here, or nothing this user may see.
    NotFound,
    /// 403: signed in, but not allowed.
    Forbidden,
    /// 500: a failure the user cannot fix, logged with an incident id.
    Internal(String),
}

impl Stop {
    pub fn internal(cause: impl std::fmt::Display) -> Stop {
        Stop::Internal(cause.to_string())
    }
}

impl From<Response> for Stop {
    fn from(r: Response) -> Stop {
        Stop::Answer(r)
    }
}

impl From<crate::store::Error> for Stop {
    fn from(e: crate::store::Error) -> Stop {
        Stop::internal(e)
    }
}

/// What a handler answers.
pub type Reply = Result<Response, Stop>;

/// Everything a handler knows about the request beyond its raw value.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub req: &'a Request,
    pub user: Option<User>,
    pub session_token: Option<String>,
    /// The client's address (the proxy's `X-Forwarded-For` when the peer is the trusted proxy).
    pub client: String,
    pub flash: Option<Flash>,
    /// Whether the request came with a flash cookie (cleared once the flash is shown).
    had_flash: bool,
    anon: Option<String>,
    new_anon: OnceCell<String>,
    /// Set when sign-in replaced the visitor cookie.
    anon_rotated: Cell<bool>,
    set_cookies: RefCell<Vec<String>>,
    form: OnceCell<Form>,
}

impl<'a> Ctx<'a> {
    /// The context of `req`: its session (a cookie whose session is gone is cleared), client
    /// address, flash and visitor cookie.
    pub fn open(app: &'a App, req: &'a Request) -> Result<Ctx<'a>, crate::workflow::Internal> {
        let session_token = req
            .cookie(&app.cookie_name(SESSION_COOKIE))
            .filter(|t| t.len() == 64);
        let (user, stale_session) = match &session_token {
            Some(t) => match accounts::current_user(&app.services, t)? {
                Some(u) => (Some(u), false),
                None => (None, true),
            },
            None => (None, false),
        };
        let flash_raw = req.cookie(&app.cookie_name(FLASH_COOKIE));
        let ctx = Ctx {
            app,
            req,
            session_token: if user.is_some() { session_token } else { None },
            user,
            client: client_address(app, req).to_string(),
            flash: flash_raw
                .as_deref()
                .and_then(|raw| read_flash(&app.signing_key, raw)),
            had_flash: flash_raw.is_some(),
            anon: req
                .cookie(&app.cookie_name(ANON_COOKIE))
                .filter(|t| t.len() == 64),
            new_anon: OnceCell::new(),
            anon_rotated: Cell::new(false),
            set_cookies: RefCell::new(Vec::new()),
            form: OnceCell::new(),
        };
        if stale_session {
            ctx.end_session();
        }
        Ok(ctx)
    }

    /// Adds the cookies this request set to `response`: a flash shown on this page (not passed
    /// on by a redirect) is removed, a new visitor token is given out.
    pub fn finish(self, mut response: Response) -> Response {
        let app = self.app;
        let redirected = (300..400).contains(&response.status);
        if self.had_flash && !redirected {
            self.set_cookie(cookies::clear(
                &app.cookie_name(FLASH_COOKIE),
                app.secure_cookies,
            ));
        }
        if let Some(anon) = self.new_anon.get()
            && !self.anon_rotated.get()
        {
            self.set_cookie(cookies::set(
                &app.cookie_name(ANON_COOKIE),
                anon,
                Some(VISITOR_LIFETIME_SECS),
                app.secure_cookies,
            ));
        }
        for c in self.set_cookies.take() {
            response.headers.push(("Set-Cookie".into(), c));
        }
        response
    }
}

impl Ctx<'_> {
    /// The form fields of this request. The body is read the first time the form is asked
    /// for (by the CSRF check of a POST) and never again.
    pub fn form(&self) -> &HashMap<String, String> {
        &self.parsed_form().fields
    }

    /// The uploaded file in field `name` of this request's multipart form.
    pub fn upload(&self, name: &str) -> Result<Option<Upload>, &'static str> {
        self.parsed_form().upload(self.req, name)
    }

    fn parsed_form(&self) -> &Form {
        self.form.get_or_init(|| Form::parse(self.req))
    }

    /// A read transaction; a store error becomes the incident page.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<T, crate::store::Error>,
    ) -> Result<T, Stop> {
        self.app.services.store.read(f).map_err(Stop::from)
    }

    /// The `csrf` value for forms on this page.
    pub fn csrf(&self) -> String {
        match &self.session_token {
            Some(t) => secure::mac(&self.app.signing_key, &format!("csrf:s:{t}")),
            None => {
                let anon = self
                    .anon
                    .clone()
                    .unwrap_or_else(|| self.new_anon.get_or_init(new_visitor_token).clone());
                secure::mac(&self.app.signing_key, &format!("csrf:a:{anon}"))
            }
        }
    }

    /// Whether the form's `csrf` field is this client's token. Signed in, only the session's
    /// token counts: a visitor token (which a page seen before sign-in, or a planted visitor
    /// cookie, may have given away) is refused.
    pub fn csrf_ok(&self) -> bool {
        let given = self.form().get("csrf").map_or("", String::as_str);
        let key = &self.app.signing_key;
        match (&self.session_token, &self.anon) {
            (Some(t), _) => secure::mac_matches(key, &format!("csrf:s:{t}"), given),
            (None, Some(a)) => secure::mac_matches(key, &format!("csrf:a:{a}"), given),
            (None, None) => false,
        }
    }

    /// Queue a `Set-Cookie` on the response.
    pub fn set_cookie(&self, value: String) {
        self.set_cookies.borrow_mut().push(value);
    }

    pub fn path_and_query(&self) -> String {
        if self.req.query.is_empty() {
            self.req.path.clone()
        } else {
            format!("{}?{}", self.req.path, self.req.query)
        }
    }

    /// A 303 with a message for the next page.
    pub fn redirect_with(&self, location: &str, kind: FlashKind, text: &str) -> Response {
        let kind_s = match kind {
            FlashKind::Notice => "n",
            FlashKind::Error => "e",
        };
        let payload = format!("{kind_s}{}", secure::hex(text.as_bytes()));
        let mac = secure::mac(&self.app.signing_key, &format!("flash:{payload}"));
        self.set_cookie(cookies::set(
            &self.app.cookie_name(FLASH_COOKIE),
            &format!("{payload}.{mac}"),
            Some(300),
            self.app.secure_cookies,
        ));
        Response::see_other(location)
    }

    /// Starts a session: the cookie carries the token, the database only its digest. The
    /// visitor cookie is replaced too, so nothing known before sign-in carries over.
    pub fn start_session(&self, token: &str) {
        self.set_cookie(cookies::set(
            &self.app.cookie_name(SESSION_COOKIE),
            token,
            Some(accounts::SESSION_LIFETIME_SECS),
            self.app.secure_cookies,
        ));
        self.set_cookie(cookies::set(
            &self.app.cookie_name(ANON_COOKIE),
            &new_visitor_token(),
            Some(VISITOR_LIFETIME_SECS),
            self.app.secure_cookies,
        ));
        self.anon_rotated.set(true);
    }

    pub fn end_session(&self) {
        self.set_cookie(cookies::clear(
            &self.app.cookie_name(SESSION_COOKIE),
            self.app.secure_cookies,
        ));
    }
}

pub(crate) fn new_visitor_token() -> String {
    secure::random_token().unwrap_or_else(|_| secure::short_id())
}

fn read_flash(key: &[u8], raw: &str) -> Option<Flash> {
    let (payload, mac) = raw.split_once('.')?;
    if !secure::mac_matches(key, &format!("flash:{payload}"), mac) {
        return None;
    }
    let kind = match payload.get(..1)? {
        "n" => FlashKind::Notice,
        "e" => FlashKind::Error,
        _ => return None,
    };
    let hex = payload.get(1..)?;
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    Some(Flash {
        kind,
        text: String::from_utf8(bytes?).ok()?,
    })
}

fn client_address(app: &App, req: &Request) -> IpAddr {
    if app.config().trusted_proxy == Some(req.peer)
        && let Some(ip) = req
            .header("x-forwarded-for")
            .and_then(|h| h.rsplit(',').next())
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
    {
        return ip;
    }
    req.peer
}

/// The signed-in user, or a redirect to the sign-in page that comes back here.
pub fn require_user<'c>(ctx: &'c Ctx<'_>) -> Result<&'c User, Stop> {
    match &ctx.user {
        Some(u) => Ok(u),
        None => {
            let back = if ctx.req.method == Method::Get {
                ctx.path_and_query()
            } else {
                "/".to_string()
            };
            Err(Stop::Answer(Response::see_other(&format!(
                "/login?{}",
                crate::http::encode_query(&[("next", &back)])
            ))))
        }
    }
}

/// The signed-in admin; a customer gets 403.
pub fn require_admin<'c>(ctx: &'c Ctx<'_>) -> Result<&'c User, Stop> {
    let user = require_user(ctx)?;
    if user.role == crate::domain::Role::Admin {
        Ok(user)
    } else {
        Err(Stop::Forbidden)
    }
}

/// A local path to return to after sign-in; anything else falls back to `/`.
pub fn safe_next(next: Option<&String>) -> Option<String> {
    let n = next?;
    let ok = n.starts_with('/')
        && !n.starts_with("//")
        && !n.starts_with("/\\")
        && !n.chars().any(|c| c.is_control());
    ok.then(|| n.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        let s = |v: &str| safe_next(Some(&v.to_string()));
        assert_eq!(s("/my").as_deref(), Some("/my"));
        assert_eq!(s("//evil.example"), None);
        assert_eq!(s("https://evil.example"), None);
        assert_eq!(s("/\\evil"), None);
        assert_eq!(safe_next(None), None);
    }

    #[test]
    fn flash_round_trip_and_tamper() {
        let key = b"k".to_vec();
        let payload = format!("n{}", secure::hex("Saved.".as_bytes()));
        let mac = secure::mac(&key, &format!("flash:{payload}"));
        let f = read_flash(&key, &format!("{payload}.{mac}")).unwrap();
        assert_eq!(f.text, "Saved.");
        assert!(read_flash(&key, &format!("e{}.{mac}", &payload[1..])).is_none());
    }
}
