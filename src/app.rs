//! The running portal: start-up wiring and the router, a plain `match` on method and path
//! segments. The request context (session, CSRF, flash, the form) is `web`; the machine
//! endpoints (`/healthz`, `/metrics`, PayPal's webhook) are `machine`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::clock::Clock;
use crate::config::Config;
use crate::http::server::{self, Running, ServerSetup};
use crate::http::{Method, Request, Response, cookies};
use crate::integrations::mail::Mailer;
use crate::pages;
use crate::secure;
use crate::store::Store;
use crate::web::{App, Ctx, ExtraRoute, HOST_PREFIX, Reply, SESSION_COOKIE, Stop};
use crate::workflow::{Services, accounts, mail_sender};

mod machine;

/// Password-reset asks one client address may make in an hour; more get the same answer and
/// send nothing.
pub const RESET_ASKS_PER_CLIENT_HOUR: u32 = 10;

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
/// own bounded pool (`http/server.rs`), everything else to the body pool. The path is read as
/// the router reads it, so `/login/` or `/%6Cogin` cannot reach a password form by the
/// unbounded pool.
fn lane(path: &str) -> server::Lane {
    let segments = crate::http::segments(path);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let hashes = matches!(
        segments.as_slice(),
        ["login"]
            | ["signup"]
            | ["password", "reset"]
            | ["account", "password"]
            | ["account", "email"]
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
        (Method::Get | Method::Head, ["healthz"]) => return machine::healthz(app),
        (Method::Get, ["metrics"]) => return machine::metrics(app, &req),
        (Method::Get | Method::Head, ["assets", file]) => {
            let versioned = req.query.starts_with("v=");
            return crate::http::assets::serve(file, req.header("if-none-match"), versioned)
                .unwrap_or_else(pages::errors::not_found_plain);
        }
        _ => {}
    }

    let ctx = match Ctx::open(app, &req) {
        Ok(ctx) => ctx,
        Err(e) => {
            let id = secure::short_id();
            log::error!("incident {id}: session lookup failed: {e}");
            return pages::errors::incident(Some(app), &id);
        }
    };

    let response = if req.method == Method::Post && !csrf_exempt(&segs) && !ctx.csrf_ok() {
        log::warn!("{} {}: missing or wrong csrf field", "POST", req.path);
        pages::errors::forbidden_csrf(&ctx)
    } else {
        route(&ctx, &segs).unwrap_or_else(|f| pages::errors::for_stop(&ctx, f))
    };
    ctx.finish(response)
}

fn not_allowed(allow: &str) -> Reply {
    Ok(Response::text(405, "Method not allowed.").with_header("Allow", allow))
}

fn route(ctx: &Ctx<'_>, segs: &[&str]) -> Reply {
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
        return Ok(Response::see_other("/account/2fa"));
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
        (Get, ["password", "forgot"]) => pages::password_reset::forgot_form(ctx),
        (Post, ["password", "forgot"]) => pages::password_reset::forgot_submit(ctx),
        (_, ["password", "forgot"]) => not_allowed("GET, POST"),
        (Get, ["password", "reset"]) => pages::password_reset::reset_form(ctx),
        (Post, ["password", "reset"]) => pages::password_reset::reset_submit(ctx),
        (_, ["password", "reset"]) => not_allowed("GET, POST"),
        (Get, ["login", "2fa"]) => pages::twofactor_code::code_form(ctx),
        (Post, ["login", "2fa"]) => pages::twofactor_code::code_submit(ctx),
        (_, ["login", "2fa"]) => not_allowed("GET, POST"),
        (Get, ["account", "2fa"]) => pages::twofactor::enrol_form(ctx),
        (Post, ["account", "2fa"]) => pages::twofactor::enrol_submit(ctx),
        (_, ["account", "2fa"]) => not_allowed("GET, POST"),
        (Get, ["account"]) => pages::account::show(ctx),
        (_, ["account"]) => not_allowed("GET"),
        (Post, ["account", "name"]) => pages::account::name_submit(ctx),
        (_, ["account", "name"]) => not_allowed("POST"),
        (Post, ["account", "email"]) => pages::account::email_submit(ctx),
        (_, ["account", "email"]) => not_allowed("POST"),
        (Get, ["account", "email", "confirm"]) => pages::account::email_confirm(ctx),
        (_, ["account", "email", "confirm"]) => not_allowed("GET"),
        (Get, ["account", "password"]) => pages::account::show(ctx),
        (Post, ["account", "password"]) => pages::account::password_submit(ctx),
        (_, ["account", "password"]) => not_allowed("GET, POST"),

        (Get, ["numbers"]) => pages::numbers::search_page(ctx),
        (Get, ["numbers", number]) => pages::number::show(ctx, number),
        (Get, ["api", "v1", "numbers"]) => pages::numbers::search_api(ctx),

        (Post, ["checkout"]) => pages::checkout::submit(ctx),
        (Get, ["checkout", "paypal", "return"]) => pages::checkout::paypal_return(ctx),
        (Get, ["checkout", "paypal", "cancel"]) => pages::checkout::paypal_cancel(ctx),
        (Get, ["invoices", id]) => pages::invoice::show(ctx, id),
        (Post, ["webhooks", "paypal"]) => Ok(machine::paypal_webhook(ctx.app, ctx.req)),
        (_, ["checkout"]) => not_allowed("POST"),
        (Get, ["orders"]) => pages::my_orders::list(ctx),
        (Get, ["orders", id]) => pages::orders::show(ctx, id),
        (Get, ["orders", id, "pay"]) => pages::orders::pay(ctx, id),
        (Post, ["orders", id, "cancel"]) => pages::orders::cancel(ctx, id),
        (Post, ["orders", id, "record-payment"]) => pages::orders::record_payment(ctx, id),
        (Post, ["orders", id, "refund"]) => pages::admin_refunds::refund(ctx, id),

        (Get, ["my"]) => pages::my::home(ctx),
        (Get, ["my", "numbers", number]) => pages::my::number_page(ctx, number),
        (Post, ["my", "numbers", number, "settings"]) => pages::my::save(ctx, number),
        (Post, ["my", "numbers", number, "cancel"]) => pages::renewals::stop(ctx, number),
        (Post, ["my", "numbers", number, "resume"]) => pages::renewals::resume(ctx, number),
        (Get, ["my", "invoices"]) => pages::my_invoices::list(ctx),
        (Post, ["invoices", id, "pay"]) => pages::invoice::pay(ctx, id),
        (Post, ["invoices", id, "record-payment"]) => pages::invoice::record_payment(ctx, id),
        (Get, ["admin", "billing"]) => pages::admin_billing::show(ctx),

        (Get, ["admin"]) => pages::admin::dashboard(ctx),
        (Post, ["admin", "reconcile"]) => pages::admin::reconcile(ctx),
        (Get, ["admin", "outbox"]) => pages::admin_outbox::list(ctx),
        (Post, ["admin", "outbox", id, "retry"]) => pages::admin_outbox::retry(ctx, id),
        (Get, ["admin", "outbox", "preview", event, reader]) => {
            pages::admin_emails::preview(ctx, event, reader)
        }
        (Get, ["admin", "audit"]) => pages::admin_audit::list(ctx),
        (Get, ["admin", "numbers"]) => pages::admin_numbers::inventory(ctx),
        (Post, ["admin", "numbers", "import"]) => pages::admin_numbers::import(ctx),
        (Post, ["admin", "numbers", "sync"]) => pages::admin_numbers::sync(ctx),
        (Get, ["admin", "orders"]) => pages::admin_orders::list(ctx),
        (Post, ["admin", "orders", id, "status"]) => pages::admin_orders::change_status(ctx, id),
        (Get, ["admin", "customers", id]) => pages::admin_customers::show(ctx, id),
        (Post, ["admin", "customers", id]) => pages::admin_customers::link(ctx, id),
        (Get, ["admin", "plans"]) => pages::admin_plans::list(ctx),
        (Post, ["admin", "plans"]) => pages::admin_plans::create(ctx),
        (Post, ["admin", "plans", id]) => pages::admin_plans::edit(ctx, id),

        _ => Err(Stop::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_that_hash_a_password_go_to_the_password_pool() {
        for path in [
            "/login",
            "/signup",
            "/password/reset",
            "/account/password",
            "/account/email",
            // Spelled otherwise, the same routes.
            "/login/",
            "//login",
            "/%6Cogin",
            "/account//password/",
        ] {
            assert_eq!(lane(path), server::Lane::Password, "{path}");
        }
        for path in [
            "/logout",
            "/checkout",
            "/login/2fa",
            "/webhooks/paypal",
            "/admin/orders/1/status",
        ] {
            assert_eq!(lane(path), server::Lane::Body, "{path}");
        }
    }
}
