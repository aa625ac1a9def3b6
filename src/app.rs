//! The running portal: startup wiring, the request context (session, CSRF, flash), and the
//! router, a plain `match` on method and path segments.

use std::cell::OnceCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};

use secrecy::ExposeSecret;
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::server::{self, Running, ServerSetup};
use crate::http::{Method, Request, Response, cookies};
use crate::integrations::mail::Mailer;
use crate::pages;
use crate::secure;
use crate::store::Store;
use crate::store::users::User;
use crate::workflow::{Services, accounts, mail_sender};

mod signed_cookies;
pub use signed_cookies::{DEVICE_COOKIE, SECOND_STEP_COOKIE};

pub const SESSION_COOKIE: &str = "didport_session";
pub const ANON_COOKIE: &str = "didport_visitor";
pub const FLASH_COOKIE: &str = "didport_flash";

/// Cookie names carry this prefix when the portal is served over https: a browser then takes
/// the cookie only if it is `Secure`, has `Path=/` and names no domain, so a sibling subdomain
/// or a plain-HTTP page cannot plant one (a planted visitor cookie would fix its CSRF token).
pub const HOST_PREFIX: &str = "__Host-";

/// Password-reset asks one client address may make in an hour; more get the same answer and
/// send nothing.
pub const RESET_ASKS_PER_CLIENT_HOUR: u32 = 10;

/// A route that tests add (for instance one that panics); never used by `serve`.
pub type ExtraRoute = dyn Fn(&Request) -> Option<Response> + Send + Sync;

pub struct App {
    pub services: Services,
    signing_key: Vec<u8>,
    pub secure_cookies: bool,
    /// `__Host-` when `secure_cookies`, else empty.
    cookie_prefix: &'static str,
    pub demo: bool,
    pub mail_configured: bool,
    pub search_limiter: crate::http::ratelimit::RateLimiter,
    /// Password-reset asks per client address and hour.
    pub reset_limiter: crate::http::ratelimit::RateLimiter,
    extra: Option<Arc<ExtraRoute>>,
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

pub struct StartOptions {
    pub clock: Arc<dyn Clock>,
    pub mailer: Option<Arc<dyn Mailer>>,
    pub demo: bool,
    pub extra_route: Option<Arc<ExtraRoute>>,
    pub telinta: Option<Arc<dyn crate::integrations::telinta::Telinta>>,
    pub payments: Option<Arc<dyn crate::integrations::paypal::Payments>>,
    /// How often the mail sender looks for due messages without being woken.
    pub mail_poll: Duration,
    /// Read timeouts and size limits of the HTTP server.
    pub http: server::Limits,
}

impl StartOptions {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        StartOptions {
            clock,
            mailer: None,
            demo: false,
            extra_route: None,
            telinta: None,
            payments: None,
            mail_poll: Duration::from_secs(5),
            http: server::Limits::default(),
        }
    }
}

/// A started portal: HTTP workers and the mail sender.
pub struct Portal {
    pub addr: SocketAddr,
    pub url: String,
    pub services: Services,
    server: Option<Running>,
    sender: Option<mail_sender::Sender>,
    _housekeeper: crate::workflow::housekeeping::Housekeeper,
}

impl Portal {
    /// Blocks until the server stops (it does not, short of the process ending).
    pub fn wait(mut self) {
        if let Some(s) = self.server.take() {
            s.wait();
        }
    }

    pub fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
        if let Some(s) = self.sender.take() {
            s.stop();
        }
    }
}

/// Opens the database and starts the portal.
pub fn start(config: Config, opts: StartOptions) -> Result<Portal, String> {
    let store =
        Store::open(&config.db, db_connections(config.workers)).map_err(|e| e.to_string())?;
    start_with_store(config, store, opts)
}

pub fn start_with_store(
    config: Config,
    store: Store,
    opts: StartOptions,
) -> Result<Portal, String> {
    let signing_key = store.signing_key().map_err(|e| e.to_string())?;
    let config = Arc::new(config);
    let cell: Arc<OnceLock<App>> = Arc::new(OnceLock::new());
    let handler_cell = cell.clone();
    let panic_cell = cell.clone();
    let large_cell = cell.clone();
    let limit_cell = cell.clone();
    let busy_cell = cell.clone();
    let running = server::start(ServerSetup {
        listen: config.listen,
        workers: config.workers,
        password_workers: password_workers(),
        max_body: Arc::new(move |head| body_limit(limit_cell.get(), head)),
        lane: Arc::new(|head| lane(head.path)),
        busy_page: Arc::new(move |retry| pages::errors::busy(busy_cell.get(), retry)),
        handler: Arc::new(move |req| match handler_cell.get() {
            Some(app) => handle(app, req),
            None => Response::text(503, "Starting up; try again in a moment."),
        }),
        panic_page: Arc::new(move |id| pages::errors::incident(panic_cell.get(), id)),
        too_large_page: Arc::new(move || pages::errors::too_large(large_cell.get())),
        limits: opts.http.clone(),
        security_headers: server::security_headers(
            config
                .base_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            &opts
                .payments
                .as_ref()
                .map(|p| p.buyer_origins())
                .unwrap_or_default(),
        ),
    })?;
    let addr = running.addr;
    let url = config.public_url(addr);
    let waker = mail_sender::Waker::default();
    let run = crate::workflow::runs::Run::begin(&store, opts.clock.now())
        .map_err(|e| format!("cannot record this process run: {e}"))?;
    let services = Services {
        store: store.clone(),
        clock: opts.clock.clone(),
        config: config.clone(),
        public_url: url.clone(),
        mail: waker.clone(),
        telinta: opts.telinta.clone(),
        payments: opts.payments.clone(),
        run,
    };
    let mail_configured = opts.mailer.is_some();
    let sender = match opts.mailer {
        Some(mailer) => Some(
            mail_sender::spawn(mail_sender::SenderSetup {
                store: store.clone(),
                clock: opts.clock.clone(),
                mailer,
                waker,
                from: config.sender(&url),
                host: url_host(&url),
                poll: opts.mail_poll,
            })
            .map_err(|e| format!("cannot start the mail sender: {e}"))?,
        ),
        None => None,
    };
    let app = App {
        services: services.clone(),
        signing_key,
        secure_cookies: url.starts_with("https://"),
        cookie_prefix: if url.starts_with("https://") {
            HOST_PREFIX
        } else {
            ""
        },
        demo: opts.demo,
        mail_configured,
        search_limiter: crate::http::ratelimit::RateLimiter::new(config.search_rate_limit),
        reset_limiter: crate::http::ratelimit::RateLimiter::per_window(
            RESET_ASKS_PER_CLIENT_HOUR,
            3600,
        ),
        extra: opts.extra_route,
    };
    let _ = cell.set(app);
    let housekeeper = crate::workflow::housekeeping::Housekeeper::spawn(
        services.clone(),
        Duration::from_secs(60),
    )
    .map_err(|e| format!("cannot start housekeeping: {e}"))?;
    log::info!("listening on http://{addr}");
    Ok(Portal {
        addr,
        url,
        services,
        server: Some(running),
        sender,
        _housekeeper: housekeeper,
    })
}

/// How large a body may be, decided from the head before any of it is read: only a signed-in
/// admin may send more than a small form, and only the CSV import takes an upload, which is
/// spooled to a file. A visitor or customer cannot make the server hold more than 64 KiB.
fn body_limit(app: Option<&App>, head: &server::BodyHead<'_>) -> server::BodyLimit {
    use server::BodyLimit::{Memory, Spool};
    let admin = app.is_some_and(|app| {
        head.cookie
            .and_then(|c| cookies::find(c, &app.cookie_name(SESSION_COOKIE)))
            .filter(|t| t.len() == 64)
            .and_then(|t| accounts::current_user(&app.services, t).ok().flatten())
            .is_some_and(|u| u.role == crate::domain::Role::Admin)
    });
    let multipart = head
        .content_type
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    match (admin, head.path) {
        (true, "/admin/numbers/import") if multipart => Spool(server::MAX_UPLOAD_BYTES),
        (true, _) => Memory(server::MAX_BODY_BYTES),
        (false, _) => Memory(server::MAX_SMALL_BODY_BYTES),
    }
}

/// Threads that hash passwords: one per core. Argon2id is all computation, so more threads
/// than cores would only make each hash slower and hold more 19 MiB buffers at once.
pub fn password_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// The pool for a request with a body: the forms that hash or verify a password go to their
/// own bounded pool (`http/server.rs`), everything else to the body pool.
fn lane(path: &str) -> server::Lane {
    let hashes = matches!(
        path,
        "/login" | "/signup" | "/password/reset" | "/account/password" | "/account/email"
    );
    if hashes {
        server::Lane::Password
    } else {
        server::Lane::Body
    }
}

fn url_host(url: &str) -> String {
    url.split("://")
        .nth(1)
        .and_then(|r| r.split(['/', ':']).next())
        .filter(|h| !h.is_empty())
        .unwrap_or("localhost")
        .to_string()
}

/// Database connections for `workers`: one for each handler thread (a pool for pages and one
/// as large for requests with a body), plus housekeeping and the mail sender.
pub fn db_connections(workers: usize) -> u32 {
    (2 * workers.max(1) + password_workers()) as u32 + 2
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

/// Everything a handler knows about the request beyond its raw value.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub req: &'a Request,
    pub user: Option<User>,
    pub session_token: Option<String>,
    /// The client's address (the proxy's `X-Forwarded-For` when the peer is the trusted proxy).
    pub client: String,
    pub flash: Option<Flash>,
    anon: Option<String>,
    new_anon: OnceCell<String>,
    /// Set when sign-in replaced the visitor cookie.
    anon_rotated: std::cell::Cell<bool>,
    set_cookies: std::cell::RefCell<Vec<String>>,
}

impl Ctx<'_> {
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

    /// Signed in, only the session's token counts: a visitor token (which a page seen before
    /// sign-in, or a planted visitor cookie, may have given away) is refused.
    fn csrf_ok(&self, given: &str) -> bool {
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

const VISITOR_LIFETIME_SECS: i64 = 30 * 24 * 3600;

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

/// Routes whose POSTs carry no CSRF field (machine-to-machine).
fn csrf_exempt(segs: &[&str]) -> bool {
    matches!(segs, ["webhooks", _])
}

/// Turns a request into a response: context, CSRF, routing, then cookies.
pub fn handle(app: &App, req: Request) -> Response {
    if let Some(extra) = &app.extra
        && let Some(r) = extra(&req)
    {
        return r;
    }
    let segs_owned = req.segments();
    let segs: Vec<&str> = segs_owned.iter().map(String::as_str).collect();

    // Static files and health checks need no session.
    match (req.method, segs.as_slice()) {
        (Method::Get | Method::Head, ["healthz"]) => return healthz(app),
        (Method::Get, ["metrics"]) => return metrics(app, &req),
        (Method::Get | Method::Head, ["assets", file]) => {
            let versioned = req.query.starts_with("v=");
            return crate::http::assets::serve(file, req.header("if-none-match"), versioned)
                .unwrap_or_else(pages::errors::not_found_plain);
        }
        _ => {}
    }

    let session_token = req
        .cookie(&app.cookie_name(SESSION_COOKIE))
        .filter(|t| t.len() == 64);
    let (user, stale_session) = match &session_token {
        Some(t) => match accounts::current_user(&app.services, t) {
            Ok(Some(u)) => (Some(u), false),
            Ok(None) => (None, true),
            Err(e) => {
                let id = secure::short_id();
                log::error!("incident {id}: session lookup failed: {e}");
                return pages::errors::incident(Some(app), &id);
            }
        },
        None => (None, false),
    };
    let flash_raw = req.cookie(&app.cookie_name(FLASH_COOKIE));
    let ctx = Ctx {
        app,
        req: &req,
        session_token: if user.is_some() { session_token } else { None },
        user,
        client: client_address(app, &req).to_string(),
        flash: flash_raw
            .as_deref()
            .and_then(|raw| read_flash(&app.signing_key, raw)),
        anon: req
            .cookie(&app.cookie_name(ANON_COOKIE))
            .filter(|t| t.len() == 64),
        new_anon: OnceCell::new(),
        anon_rotated: std::cell::Cell::new(false),
        set_cookies: std::cell::RefCell::new(Vec::new()),
    };
    if stale_session {
        ctx.end_session();
    }

    let mut response = if req.method == Method::Post
        && !csrf_exempt(&segs)
        && !ctx.csrf_ok(req.form().get("csrf").map_or("", String::as_str))
    {
        log::warn!("{} {}: missing or wrong csrf field", "POST", req.path);
        pages::errors::forbidden_csrf(&ctx)
    } else {
        route(&ctx, &segs)
    };

    // The flash was shown on this page (not passed on by a redirect): remove it.
    let redirected = (300..400).contains(&response.status);
    if flash_raw.is_some() && !redirected {
        ctx.set_cookie(cookies::clear(
            &app.cookie_name(FLASH_COOKIE),
            app.secure_cookies,
        ));
    }
    if let Some(anon) = ctx.new_anon.get()
        && !ctx.anon_rotated.get()
    {
        ctx.set_cookie(cookies::set(
            &app.cookie_name(ANON_COOKIE),
            anon,
            Some(VISITOR_LIFETIME_SECS),
            app.secure_cookies,
        ));
    }
    for c in ctx.set_cookies.take() {
        response.headers.push(("Set-Cookie".into(), c));
    }
    response
}

fn healthz(app: &App) -> Response {
    match app.services.store.ping() {
        Ok(()) => Response::json(200, &serde_json::json!({"status": "ok"})),
        Err(e) => {
            log::error!("health check: {e}");
            Response::json(503, &serde_json::json!({"status": "unavailable"}))
        }
    }
}

/// `GET /metrics`: with `DIDPORT_METRICS_TOKEN` set, only a request bearing it; without, only
/// loopback clients (a reverse proxy on the same host makes every client loopback: set a token).
fn metrics(app: &App, req: &Request) -> Response {
    match &app.services.config.metrics_token {
        Some(token) => {
            let given = req
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or_default();
            // Digests compared, so the comparison's time says nothing about the token.
            if secure::token_digest(given) != secure::token_digest(token.expose_secret()) {
                return Response::text(401, "A bearer token is required.")
                    .with_header("WWW-Authenticate", "Bearer realm=\"metrics\"");
            }
        }
        None if !req.peer.is_loopback() => {
            return Response::text(
                403,
                "Metrics are served to loopback clients only; set DIDPORT_METRICS_TOKEN.",
            );
        }
        None => {}
    }
    let today = crate::domain::billing::day_of(app.now());
    let snapshot = match app
        .services
        .store
        .read(|tx| crate::store::stats::snapshot(tx, today))
    {
        Ok(s) => s,
        Err(e) => {
            log::error!("metrics: {e}");
            return Response::text(503, "The database could not be read.");
        }
    };
    match crate::metrics::render(&snapshot) {
        Ok(body) => Response::new(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            body,
        ),
        Err(e) => {
            log::error!("metrics: {e}");
            Response::text(500, "The metrics could not be written.")
        }
    }
}

fn not_allowed(allow: &str) -> Response {
    Response::text(405, "Method not allowed.").with_header("Allow", allow)
}

fn route(ctx: &Ctx<'_>, segs: &[&str]) -> Response {
    use Method::{Get, Head, Post};
    let m = match ctx.req.method {
        Head => Get,
        m => m,
    };
    // With DIDPORT_ADMIN_2FA=required, an admin without two-factor sign-in can only set it
    // up or sign out.
    if ctx.user.as_ref().is_some_and(|u| {
        u.role == crate::domain::Role::Admin
            && !u.two_factor
            && ctx.app.config().admin_2fa == crate::config::AdminTwoFactor::Required
    }) && !matches!(segs, ["account", "2fa"] | ["logout"])
    {
        return Response::see_other("/account/2fa");
    }
    match (m, segs) {
        (Get, []) => pages::home::show(ctx),

        (Get, ["signup"]) => pages::auth::signup_form(ctx),
        (Post, ["signup"]) => pages::auth::signup_submit(ctx),
        (_, ["signup"]) => not_allowed("GET, POST"),
        (Get, ["login"]) => pages::auth::login_form(ctx),
        (Post, ["login"]) => pages::auth::login_submit(ctx),
        (_, ["login"]) => not_allowed("GET, POST"),
        (Post, ["logout"]) => pages::auth::logout(ctx),
        (_, ["logout"]) => not_allowed("POST"),
        (Get, ["password", "forgot"]) => pages::auth::forgot_form(ctx),
        (Post, ["password", "forgot"]) => pages::auth::forgot_submit(ctx),
        (_, ["password", "forgot"]) => not_allowed("GET, POST"),
        (Get, ["password", "reset"]) => pages::auth::reset_form(ctx),
        (Post, ["password", "reset"]) => pages::auth::reset_submit(ctx),
        (_, ["password", "reset"]) => not_allowed("GET, POST"),
        (Get, ["login", "2fa"]) => pages::twofactor::code_form(ctx),
        (Post, ["login", "2fa"]) => pages::twofactor::code_submit(ctx),
        (_, ["login", "2fa"]) => not_allowed("GET, POST"),
        (Get, ["account", "2fa"]) => pages::twofactor::enrol_form(ctx),
        (Post, ["account", "2fa"]) => pages::twofactor::enrol_submit(ctx),
        (_, ["account", "2fa"]) => not_allowed("GET, POST"),
        (Get, ["account", "password"]) => pages::auth::change_form(ctx),
        (Post, ["account", "password"]) => pages::auth::change_submit(ctx),
        (_, ["account", "password"]) => not_allowed("GET, POST"),

        (Get, ["numbers"]) => pages::numbers::search_page(ctx),
        (Get, ["numbers", number]) => pages::numbers::detail(ctx, number),
        (Get, ["api", "v1", "numbers"]) => pages::numbers::search_api(ctx),

        (Post, ["checkout"]) => pages::checkout::submit(ctx),
        (Get, ["checkout", "paypal", "return"]) => pages::checkout::paypal_return(ctx),
        (Get, ["checkout", "paypal", "cancel"]) => pages::checkout::paypal_cancel(ctx),
        (Get, ["invoices", id]) => pages::checkout::invoice(ctx, id),
        (Post, ["webhooks", "paypal"]) => pages::checkout::paypal_webhook(ctx),
        (_, ["checkout"]) => not_allowed("POST"),
        (Get, ["orders"]) => pages::orders::list(ctx),
        (Get, ["orders", id]) => pages::orders::show(ctx, id),
        (Get, ["orders", id, "pay"]) => pages::orders::pay(ctx, id),
        (Post, ["orders", id, "cancel"]) => pages::orders::cancel(ctx, id),
        (Post, ["orders", id, "record-payment"]) => pages::orders::record_payment(ctx, id),
        (Post, ["orders", id, "refund"]) => pages::orders::refund(ctx, id),

        (Get, ["my"]) => pages::my::home(ctx),
        (Get, ["my", "numbers", number]) => pages::my::number_page(ctx, number),
        (Post, ["my", "numbers", number, "settings"]) => pages::my::save(ctx, number),
        (Post, ["my", "numbers", number, "cancel"]) => pages::renewals::stop(ctx, number),
        (Post, ["my", "numbers", number, "resume"]) => pages::renewals::resume(ctx, number),
        (Get, ["my", "invoices"]) => pages::renewals::my_invoices(ctx),
        (Post, ["invoices", id, "pay"]) => pages::renewals::pay_invoice(ctx, id),
        (Post, ["invoices", id, "record-payment"]) => {
            pages::renewals::record_invoice_payment(ctx, id)
        }
        (Get, ["admin", "billing"]) => pages::renewals::admin_billing(ctx),

        (Get, ["admin"]) => pages::admin::dashboard(ctx),
        (Post, ["admin", "reconcile"]) => pages::admin::reconcile(ctx),
        (Get, ["admin", "outbox"]) => pages::admin::outbox(ctx),
        (Post, ["admin", "outbox", id, "retry"]) => pages::admin::outbox_retry(ctx, id),
        (Get, ["admin", "outbox", "preview", event, reader]) => {
            pages::admin_emails::preview(ctx, event, reader)
        }
        (Get, ["admin", "audit"]) => pages::admin_audit::list(ctx),
        (Get, ["admin", "numbers"]) => pages::admin_numbers::inventory(ctx),
        (Post, ["admin", "numbers", "import"]) => pages::admin_numbers::import(ctx),
        (Post, ["admin", "numbers", "sync"]) => pages::admin_numbers::sync(ctx),
        (Get, ["admin", "orders"]) => pages::admin_orders::list(ctx),
        (Post, ["admin", "orders", id, "status"]) => pages::admin_orders::change_status(ctx, id),
        (Get, ["admin", "customers", id]) => pages::admin_orders::customer(ctx, id),
        (Post, ["admin", "customers", id]) => pages::admin_orders::link_customer(ctx, id),
        (Get, ["admin", "plans"]) => pages::admin_plans::list(ctx),
        (Post, ["admin", "plans"]) => pages::admin_plans::create(ctx),
        (Post, ["admin", "plans", id]) => pages::admin_plans::edit(ctx, id),

        _ => pages::errors::not_found(ctx),
    }
}

/// The signed-in user, or a redirect to the sign-in page that comes back here.
pub fn require_user<'c>(ctx: &'c Ctx<'_>) -> Result<&'c User, Response> {
    match &ctx.user {
        Some(u) => Ok(u),
        None => {
            let back = if ctx.req.method == Method::Get {
                ctx.path_and_query()
            } else {
                "/".to_string()
            };
            Err(Response::see_other(&format!(
                "/login?{}",
                crate::http::encode_query(&[("next", &back)])
            )))
        }
    }
}

/// The signed-in admin; a customer gets 403.
pub fn require_admin<'c>(ctx: &'c Ctx<'_>) -> Result<&'c User, Response> {
    let user = require_user(ctx)?;
    if user.role == crate::domain::Role::Admin {
        Ok(user)
    } else {
        Err(pages::errors::forbidden(ctx))
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
