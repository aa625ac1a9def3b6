//! Configuration from `DIDPORT_*` environment variables (docs/contract.md §2), parsed once into a
//! validated value that is passed by reference. Every problem is reported, not just the first.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use secrecy::SecretString;

use crate::domain::EmailAddress;
use crate::domain::money::Currency;
use crate::domain::tax::TaxRate;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    StartTls,
    Implicit,
    None,
}

impl SmtpTls {
    pub fn as_str(self) -> &'static str {
        match self {
            SmtpTls::StartTls => "starttls",
            SmtpTls::Implicit => "implicit",
            SmtpTls::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub user: Option<String>,
    pub password: Option<SecretString>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinField {
    ServicePassword,
    Voicemail,
}

#[derive(Debug, Clone)]
pub struct TelintaConfig {
    pub url: String,
    pub login: String,
    /// Password or API token; one of the two is set.
    pub password: Option<SecretString>,
    pub token: Option<SecretString>,
    pub product: Option<i64>,
    pub vendor_batch: Option<i64>,
    pub pricing_batch: Option<i64>,
    pub pin_field: PinField,
    pub voicemail_url: Option<String>,
    /// The unified-messaging domain sent at every voicemail login (docs/telinta.md, "PIN").
    pub voicemail_domain: Option<String>,
    pub create_customers: bool,
}

#[derive(Debug, Clone)]
pub struct PayPalConfig {
    pub api: String,
    pub client_id: String,
    pub secret: SecretString,
    pub webhook_id: Option<String>,
}

/// Whether admins must sign in with a second factor (`DIDPORT_ADMIN_2FA`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminTwoFactor {
    /// Admins may turn two-factor sign-in on (the default).
    Optional,
    /// An admin without it is sent to `/account/2fa` until it is on.
    Required,
}

impl AdminTwoFactor {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminTwoFactor::Optional => "optional",
            AdminTwoFactor::Required => "required",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub db: PathBuf,
    pub listen: SocketAddr,
    /// Without a trailing slash. `None` means `http://<the bound address>`.
    pub base_url: Option<String>,
    pub site_name: String,
    pub admin_email: Option<EmailAddress>,
    pub currency: Currency,
    pub hold_minutes: u32,
    /// Bearer token for `GET /metrics`; without one only loopback clients may read it.
    pub metrics_token: Option<SecretString>,
    /// `text` or `json` log lines.
    pub log_format: crate::logging::Format,
    /// Days before `paid_through` that the renewal invoice is issued.
    pub renewal_notice_days: u32,
    /// Days after `paid_through` that an unpaid number is suspended.
    pub grace_days: u32,
    pub log: String,
    pub workers: usize,
    pub admin_2fa: AdminTwoFactor,
    pub search_rate_limit: u32,
    pub trusted_proxy: Option<IpAddr>,
    pub telinta: Option<TelintaConfig>,
    pub paypal: Option<PayPalConfig>,
    pub smtp: Option<SmtpConfig>,
    pub mail_from: Option<EmailAddress>,
    /// Who sells, on every invoice (`DIDPORT_SELLER_NAME`; the site name when unset).
    pub seller_name: Option<String>,
    /// The seller's postal address, one entry per line (`DIDPORT_SELLER_ADDRESS`, lines
    /// separated by `;`).
    pub seller_address: Vec<String>,
    /// Sales tax included in prices, shown on invoices (`DIDPORT_TAX_RATE`, percent).
    pub tax_rate: Option<TaxRate>,
    /// Where customers write for help (`DIDPORT_SUPPORT_EMAIL`; the admin email when unset).
    pub support_email: Option<EmailAddress>,
}

/// Command-line values that take precedence over the environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub db: Option<PathBuf>,
    pub listen: Option<String>,
}

/// Reads one variable; tests pass a map instead of the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for std::collections::HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

struct Reader<'a> {
    env: &'a dyn Env,
    problems: Vec<String>,
}

impl Reader<'_> {
    /// A plain variable; empty counts as unset.
    fn get(&mut self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// A secret: the variable itself or the contents of the file named by `NAME_FILE`.
    fn secret(&mut self, name: &str) -> Option<SecretString> {
        self.secret_text(name).map(SecretString::from)
    }

    fn secret_text(&mut self, name: &str) -> Option<String> {
        let file_var = format!("{name}_FILE");
        let direct = self.env.var(name).filter(|v| !v.is_empty());
        let file = self.get(&file_var);
        match (direct, file) {
            (Some(_), Some(_)) => {
                self.problems
                    .push(format!("{name} and {file_var} are both set; set only one"));
                None
            }
            (Some(v), None) => Some(v),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(s) => {
                    let v = s.trim_end_matches(['\r', '\n']).to_string();
                    if v.is_empty() {
                        self.problems
                            .push(format!("{file_var}: the file {path} is empty"));
                        None
                    } else {
                        Some(v)
                    }
                }
                Err(e) => {
                    self.problems
                        .push(format!("{file_var}: cannot read {path}: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn parse<T>(
        &mut self,
        name: &str,
        default: T,
        what: &str,
        ok: impl Fn(&str) -> Option<T>,
    ) -> T {
        match self.get(name) {
            None => default,
            Some(v) => match ok(&v) {
                Some(t) => t,
                None => {
                    self.problems.push(format!("{name}: {v:?} is not {what}"));
                    default
                }
            },
        }
    }

    fn optional_int(&mut self, name: &str) -> Option<i64> {
        let v = self.get(name)?;
        match v.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                self.problems
                    .push(format!("{name}: {v:?} is not a positive whole number"));
                None
            }
        }
    }

    fn url(&mut self, name: &str) -> Option<String> {
        let v = self.get(name)?;
        match check_url(&v) {
            Ok(u) => Some(u),
            Err(why) => {
                self.problems.push(format!("{name}: {v:?} {why}"));
                None
            }
        }
    }
}

/// `http(s)://host[:port][/path]` without a trailing slash.
fn check_url(v: &str) -> Result<String, &'static str> {
    let rest = v
        .strip_prefix("https://")
        .or_else(|| v.strip_prefix("http://"))
        .ok_or("is not an http:// or https:// URL")?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) || v.contains(['?', '#']) {
        return Err("is not a usable URL (scheme, host, optional port and path)");
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// `HOST:PORT`, `:PORT` (loopback) or `[::1]:PORT`.
pub fn parse_listen(v: &str) -> Result<SocketAddr, String> {
    let full = if v.starts_with(':') {
        format!("127.0.0.1{v}")
    } else {
        v.to_string()
    };
    let Some((_, port)) = full.rsplit_once(':') else {
        return Err(format!("{v:?} is not HOST:PORT"));
    };
    if port.parse::<u16>().is_err() {
        return Err(format!(
            "{v:?}: the port {port:?} is not a number from 0 to 65535"
        ));
    }
    match full.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("{v:?} does not resolve to an address")),
        Err(e) => Err(format!("{v:?} is not a usable address: {e}")),
    }
}

impl Config {
    /// Reads and checks everything; on failure returns one line per problem.
    pub fn from_env(env: &dyn Env, over: &Overrides) -> Result<Config, Vec<String>> {
        let mut r = Reader {
            env,
            problems: Vec::new(),
        };

        let db = over
            .db
            .clone()
            .or_else(|| r.get("DIDPORT_DB").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("./didport.sqlite3"));

        let listen_raw = over
            .listen
            .clone()
            .or_else(|| r.get("DIDPORT_LISTEN"))
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let listen = match parse_listen(&listen_raw) {
            Ok(a) => a,
            Err(e) => {
                r.problems.push(format!("DIDPORT_LISTEN: {e}"));
                SocketAddr::from(([127, 0, 0, 1], 8080))
            }
        };

        let base_url = r.url("DIDPORT_BASE_URL");
        let site_name = r
            .get("DIDPORT_SITE_NAME")
            .unwrap_or_else(|| "didport".into());
        let admin_email = match r.get("DIDPORT_ADMIN_EMAIL") {
            None => None,
            Some(v) => match EmailAddress::parse(&v) {
                Ok(e) => Some(e),
                Err(_) => {
                    r.problems.push(format!(
                        "DIDPORT_ADMIN_EMAIL: {v:?} is not an email address"
                    ));
                    None
                }
            },
        };
        let currency = r.parse(
            "DIDPORT_CURRENCY",
            Currency::USD,
            "a three-letter ISO 4217 code such as USD",
            Currency::parse,
        );
        let hold_minutes = r.parse(
            "DIDPORT_HOLD_MINUTES",
            15,
            "a number of minutes from 1 to 1440",
            |v| v.parse::<u32>().ok().filter(|m| (1..=1440).contains(m)),
        );
        let renewal_notice_days = r.parse(
            "DIDPORT_RENEWAL_NOTICE_DAYS",
            7,
            "a number of days from 0 to 27",
            |v| v.parse::<u32>().ok().filter(|d| *d <= 27),
        );
        let grace_days = r.parse(
            "DIDPORT_GRACE_DAYS",
            7,
            "a number of days from 0 to 60",
            |v| v.parse::<u32>().ok().filter(|d| *d <= 60),
        );
        let metrics_token = r.secret("DIDPORT_METRICS_TOKEN");
        let log_format = r.parse(
            "DIDPORT_LOG_FORMAT",
            crate::logging::Format::Text,
            "text or json",
            crate::logging::Format::parse,
        );
        let log = r.get("DIDPORT_LOG").unwrap_or_else(|| "info".into());
        if let Err(e) = crate::logging::check_filter(&log) {
            r.problems.push(format!("DIDPORT_LOG: {e}"));
        }
        let workers = r.parse(
            "DIDPORT_WORKERS",
            4,
            "a number of threads from 1 to 256",
            |v| v.parse::<usize>().ok().filter(|n| (1..=256).contains(n)),
        );
        let admin_2fa = r.parse(
            "DIDPORT_ADMIN_2FA",
            AdminTwoFactor::Optional,
            "optional or required",
            |v| match v {
                "optional" => Some(AdminTwoFactor::Optional),
                "required" => Some(AdminTwoFactor::Required),
                _ => None,
            },
        );
        let search_rate_limit = r.parse(
            "DIDPORT_SEARCH_RATE_LIMIT",
            120,
            "a whole number of searches per minute (0 turns the limit off)",
            |v| v.parse::<u32>().ok(),
        );
        let trusted_proxy = match r.get("DIDPORT_TRUSTED_PROXY") {
            None => None,
            Some(v) => match v.parse::<IpAddr>() {
                Ok(ip) => Some(ip),
                Err(_) => {
                    r.problems
                        .push(format!("DIDPORT_TRUSTED_PROXY: {v:?} is not an IP address"));
                    None
                }
            },
        };

        let telinta = read_telinta(&mut r);
        let paypal = read_paypal(&mut r);
        let smtp = read_smtp(&mut r);

        let mail_from = match r.get("DIDPORT_MAIL_FROM") {
            None => None,
            Some(v) => match EmailAddress::parse(&v) {
                Ok(e) => Some(e),
                Err(_) => {
                    r.problems
                        .push(format!("DIDPORT_MAIL_FROM: {v:?} is not an email address"));
                    None
                }
            },
        };

        let seller_name = r.get("DIDPORT_SELLER_NAME");
        let seller_address: Vec<String> = r
            .get("DIDPORT_SELLER_ADDRESS")
            .map(|v| {
                v.split([';', '\n'])
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let tax_rate = match r.get("DIDPORT_TAX_RATE") {
            None => None,
            Some(v) => match TaxRate::parse(&v) {
                Some(t) => Some(t),
                None => {
                    r.problems.push(format!(
                        "DIDPORT_TAX_RATE: {v:?} is not a percent above 0 and at most 100, like 8.875"
                    ));
                    None
                }
            },
        };
        let support_email = match r.get("DIDPORT_SUPPORT_EMAIL") {
            None => admin_email.clone(),
            Some(v) => match EmailAddress::parse(&v) {
                Ok(e) => Some(e),
                Err(_) => {
                    r.problems.push(format!(
                        "DIDPORT_SUPPORT_EMAIL: {v:?} is not an email address"
                    ));
                    None
                }
            },
        };

        if r.problems.is_empty() {
            Ok(Config {
                seller_name,
                seller_address,
                tax_rate,
                support_email,
                db,
                listen,
                base_url,
                site_name,
                admin_email,
                currency,
                hold_minutes,
                renewal_notice_days,
                grace_days,
                log_format,
                metrics_token,
                log,
                workers,
                admin_2fa,
                search_rate_limit,
                trusted_proxy,
                telinta,
                paypal,
                smtp,
                mail_from,
            })
        } else {
            Err(r.problems)
        }
    }

    /// What `serve` needs beyond a parseable configuration.
    pub fn problems_for_serve(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.admin_email.is_none() {
            p.push("DIDPORT_ADMIN_EMAIL is required: admin notifications go there".to_string());
        }
        p
    }

    /// The public URL: `DIDPORT_BASE_URL`, or `http://` + the bound address.
    pub fn public_url(&self, bound: SocketAddr) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }

    /// Sender address: `DIDPORT_MAIL_FROM` or `didport@<host of the public URL>`.
    pub fn sender(&self, public_url: &str) -> String {
        if let Some(f) = &self.mail_from {
            return f.to_string();
        }
        let host = public_url
            .split("://")
            .nth(1)
            .unwrap_or("localhost")
            .split(['/', ':'])
            .next()
            .unwrap_or("localhost");
        let host = if host.is_empty() || host.parse::<IpAddr>().is_ok() {
            "localhost"
        } else {
            host
        };
        format!("didport@{host}")
    }

    /// A sample configuration for tests and demo mode.
    pub fn for_tests(db: PathBuf) -> Config {
        Config {
            db,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            base_url: None,
            site_name: "didport".into(),
            admin_email: EmailAddress::parse("admin@example.com").ok(),
            currency: Currency::USD,
            hold_minutes: 15,
            renewal_notice_days: 7,
            grace_days: 7,
            log_format: crate::logging::Format::Text,
            metrics_token: None,
            log: "info".into(),
            workers: 4,
            admin_2fa: AdminTwoFactor::Optional,
            search_rate_limit: 0,
            trusted_proxy: None,
            telinta: None,
            paypal: None,
            smtp: None,
            mail_from: None,
            seller_name: None,
            seller_address: Vec::new(),
            tax_rate: None,
            support_email: EmailAddress::parse("admin@example.com").ok(),
        }
    }

    /// The name on invoices: `DIDPORT_SELLER_NAME` or the site name.
    pub fn seller(&self) -> &str {
        self.seller_name.as_deref().unwrap_or(&self.site_name)
    }

    /// Human-readable effective settings with secrets redacted, for `check-config`: one line
    /// per variable of [`VARIABLES`] that applies (a group that is off shows its first
    /// variable only, saying so).
    pub fn describe(&self) -> Vec<(String, String)> {
        VARIABLES
            .iter()
            .filter_map(|(name, show)| show(self).map(|v| (name.to_string(), v)))
            .collect()
    }
}

/// A value as `check-config` shows it, or `(not set)`.
fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(not set)".to_string(), T::to_string)
}

/// A secret as `check-config` shows it: only whether it is set.
fn secret(v: &Option<SecretString>) -> String {
    if v.is_some() {
        "(set, hidden)".into()
    } else {
        "(not set)".into()
    }
}

/// How `check-config` shows one variable: `None` leaves it out.
type Show = fn(&Config) -> Option<String>;

/// Every variable the configuration reads (docs/contract.md), in the order `check-config` shows
/// them, with how each effective value is shown. The Telinta, PayPal and SMTP groups show only
/// their first variable, with a note, when they are off.
pub const VARIABLES: &[(&str, Show)] = &[
    ("DIDPORT_DB", |c| Some(c.db.display().to_string())),
    ("DIDPORT_LISTEN", |c| Some(c.listen.to_string())),
    ("DIDPORT_BASE_URL", |c| {
        Some(
            c.base_url
                .clone()
                .unwrap_or_else(|| format!("http://{} (derived)", c.listen)),
        )
    }),
    ("DIDPORT_SITE_NAME", |c| Some(c.site_name.clone())),
    ("DIDPORT_ADMIN_EMAIL", |c| Some(opt(&c.admin_email))),
    ("DIDPORT_CURRENCY", |c| {
        Some(c.currency.as_str().to_string())
    }),
    ("DIDPORT_HOLD_MINUTES", |c| Some(c.hold_minutes.to_string())),
    ("DIDPORT_RENEWAL_NOTICE_DAYS", |c| {
        Some(c.renewal_notice_days.to_string())
    }),
    ("DIDPORT_GRACE_DAYS", |c| Some(c.grace_days.to_string())),
    ("DIDPORT_LOG", |c| Some(c.log.clone())),
    ("DIDPORT_LOG_FORMAT", |c| {
        Some(c.log_format.as_str().to_string())
    }),
    ("DIDPORT_METRICS_TOKEN", |c| Some(secret(&c.metrics_token))),
    ("DIDPORT_WORKERS", |c| Some(c.workers.to_string())),
    ("DIDPORT_ADMIN_2FA", |c| {
        Some(c.admin_2fa.as_str().to_string())
    }),
    ("DIDPORT_SEARCH_RATE_LIMIT", |c| {
        Some(c.search_rate_limit.to_string())
    }),
    ("DIDPORT_TRUSTED_PROXY", |c| Some(opt(&c.trusted_proxy))),
    ("DIDPORT_SELLER_NAME", |c| {
        Some(match &c.seller_name {
            Some(n) => n.clone(),
            None => format!("{} (the site name)", c.site_name),
        })
    }),
    ("DIDPORT_SELLER_ADDRESS", |c| {
        Some(if c.seller_address.is_empty() {
            "(not set: invoices show no address)".into()
        } else {
            c.seller_address.join("; ")
        })
    }),
    ("DIDPORT_TAX_RATE", |c| {
        Some(c.tax_rate.map_or_else(
            || "(not set: invoices show no tax line)".into(),
            |t| format!("{t} included in prices"),
        ))
    }),
    ("DIDPORT_SUPPORT_EMAIL", |c| Some(opt(&c.support_email))),
    ("DIDPORT_TELINTA_URL", |c| {
        Some(c.telinta.as_ref().map_or_else(
            || "(not set: activation and sync unavailable)".into(),
            |t| t.url.clone(),
        ))
    }),
    ("DIDPORT_TELINTA_LOGIN", |c| {
        c.telinta.as_ref().map(|t| t.login.clone())
    }),
    ("DIDPORT_TELINTA_PASSWORD", |c| {
        c.telinta.as_ref().map(|t| secret(&t.password))
    }),
    ("DIDPORT_TELINTA_TOKEN", |c| {
        c.telinta.as_ref().map(|t| secret(&t.token))
    }),
    ("DIDPORT_TELINTA_PRODUCT", |c| {
        c.telinta.as_ref().map(|t| opt(&t.product))
    }),
    ("DIDPORT_TELINTA_VENDOR_BATCH", |c| {
        c.telinta.as_ref().map(|t| opt(&t.vendor_batch))
    }),
    ("DIDPORT_TELINTA_PRICING_BATCH", |c| {
        c.telinta.as_ref().map(|t| opt(&t.pricing_batch))
    }),
    ("DIDPORT_TELINTA_PIN_FIELD", |c| {
        c.telinta.as_ref().map(|t| {
            match t.pin_field {
                PinField::ServicePassword => {
                    "service_password (the customer's PIN \
                    becomes the account's h323_password, which also authenticates \
                    every call made with the account: a SIP device registered with \
                    it then has a 4-digit password; choose voicemail if that matters)"
                }
                PinField::Voicemail => {
                    "voicemail (the voicemail PIN on the \
                    unified-messaging server)"
                }
            }
            .to_string()
        })
    }),
    ("DIDPORT_TELINTA_VOICEMAIL_URL", |c| {
        c.telinta.as_ref().map(|t| opt(&t.voicemail_url))
    }),
    ("DIDPORT_TELINTA_VOICEMAIL_DOMAIN", |c| {
        c.telinta.as_ref().map(|t| opt(&t.voicemail_domain))
    }),
    ("DIDPORT_TELINTA_CREATE_CUSTOMERS", |c| {
        c.telinta.as_ref().map(|t| t.create_customers.to_string())
    }),
    ("DIDPORT_PAYPAL_API", |c| {
        c.paypal.as_ref().map(|p| p.api.clone())
    }),
    ("DIDPORT_PAYPAL_CLIENT_ID", |c| {
        Some(c.paypal.as_ref().map_or_else(
            || "(not set: PayPal checkout unavailable)".into(),
            |p| p.client_id.clone(),
        ))
    }),
    ("DIDPORT_PAYPAL_SECRET", |c| {
        c.paypal.as_ref().map(|_| "(set, hidden)".into())
    }),
    ("DIDPORT_PAYPAL_WEBHOOK_ID", |c| {
        c.paypal.as_ref().map(|p| opt(&p.webhook_id))
    }),
    ("DIDPORT_SMTP_HOST", |c| {
        Some(c.smtp.as_ref().map_or_else(
            || "(not set: mail waits in the outbox)".into(),
            |s| s.host.clone(),
        ))
    }),
    ("DIDPORT_SMTP_PORT", |c| {
        c.smtp.as_ref().map(|s| s.port.to_string())
    }),
    ("DIDPORT_SMTP_TLS", |c| {
        c.smtp.as_ref().map(|s| s.tls.as_str().into())
    }),
    ("DIDPORT_SMTP_USER", |c| {
        c.smtp.as_ref().map(|s| opt(&s.user))
    }),
    ("DIDPORT_SMTP_PASSWORD", |c| {
        c.smtp.as_ref().map(|s| secret(&s.password))
    }),
    ("DIDPORT_MAIL_FROM", |c| Some(opt(&c.mail_from))),
];

fn read_telinta(r: &mut Reader<'_>) -> Option<TelintaConfig> {
    let url = r.url("DIDPORT_TELINTA_URL");
    let login = r.get("DIDPORT_TELINTA_LOGIN");
    let password = r.secret("DIDPORT_TELINTA_PASSWORD");
    let token = r.secret("DIDPORT_TELINTA_TOKEN");
    let product = r.optional_int("DIDPORT_TELINTA_PRODUCT");
    let vendor_batch = r.optional_int("DIDPORT_TELINTA_VENDOR_BATCH");
    let pricing_batch = r.optional_int("DIDPORT_TELINTA_PRICING_BATCH");
    let pin_field = r.parse(
        "DIDPORT_TELINTA_PIN_FIELD",
        PinField::ServicePassword,
        "service_password or voicemail",
        |v| match v {
            "service_password" => Some(PinField::ServicePassword),
            "voicemail" => Some(PinField::Voicemail),
            _ => None,
        },
    );
    let voicemail_url = r.url("DIDPORT_TELINTA_VOICEMAIL_URL");
    let voicemail_domain = r.get("DIDPORT_TELINTA_VOICEMAIL_DOMAIN");
    let create_customers = r.parse(
        "DIDPORT_TELINTA_CREATE_CUSTOMERS",
        false,
        "true or false",
        parse_bool,
    );
    let url = url?;
    let Some(login) = login else {
        r.problems
            .push("DIDPORT_TELINTA_LOGIN is required when DIDPORT_TELINTA_URL is set".into());
        return None;
    };
    if password.is_none() && token.is_none() {
        r.problems.push(
            "DIDPORT_TELINTA_PASSWORD or DIDPORT_TELINTA_TOKEN is required when DIDPORT_TELINTA_URL is set".into(),
        );
    }
    if pin_field == PinField::Voicemail && voicemail_url.is_none() {
        r.problems.push(
            "DIDPORT_TELINTA_VOICEMAIL_URL is required when DIDPORT_TELINTA_PIN_FIELD is voicemail"
                .into(),
        );
    }
    if pin_field == PinField::Voicemail && voicemail_domain.is_none() {
        r.problems.push(
            "DIDPORT_TELINTA_VOICEMAIL_DOMAIN is required when DIDPORT_TELINTA_PIN_FIELD is voicemail \
             (the unified-messaging server expects a domain at every login)"
                .into(),
        );
    }
    Some(TelintaConfig {
        url,
        login,
        password,
        token,
        product,
        vendor_batch,
        pricing_batch,
        pin_field,
        voicemail_url,
        voicemail_domain,
        create_customers,
    })
}

fn read_paypal(r: &mut Reader<'_>) -> Option<PayPalConfig> {
    let api = r
        .url("DIDPORT_PAYPAL_API")
        .unwrap_or_else(|| "https://api-m.sandbox.paypal.com".into());
    let client_id = r.get("DIDPORT_PAYPAL_CLIENT_ID");
    let secret = r.secret("DIDPORT_PAYPAL_SECRET");
    let webhook_id = r.get("DIDPORT_PAYPAL_WEBHOOK_ID");
    match (client_id, secret) {
        (None, None) => None,
        (Some(client_id), Some(secret)) => Some(PayPalConfig {
            api,
            client_id,
            secret,
            webhook_id,
        }),
        (Some(_), None) => {
            r.problems.push(
                "DIDPORT_PAYPAL_SECRET is required when DIDPORT_PAYPAL_CLIENT_ID is set".into(),
            );
            None
        }
        (None, Some(_)) => {
            r.problems.push(
                "DIDPORT_PAYPAL_CLIENT_ID is required when DIDPORT_PAYPAL_SECRET is set".into(),
            );
            None
        }
    }
}

fn read_smtp(r: &mut Reader<'_>) -> Option<SmtpConfig> {
    let host = r.get("DIDPORT_SMTP_HOST");
    let port = r.parse(
        "DIDPORT_SMTP_PORT",
        587u16,
        "a port number from 1 to 65535",
        |v| v.parse::<u16>().ok().filter(|p| *p > 0),
    );
    let tls = r.parse(
        "DIDPORT_SMTP_TLS",
        SmtpTls::StartTls,
        "one of starttls, implicit or none",
        |v| match v {
            "starttls" => Some(SmtpTls::StartTls),
            "implicit" => Some(SmtpTls::Implicit),
            "none" => Some(SmtpTls::None),
            _ => None,
        },
    );
    let user = r.get("DIDPORT_SMTP_USER");
    let password = r.secret("DIDPORT_SMTP_PASSWORD");
    let host = host?;
    if tls == SmtpTls::None && !is_loopback_host(&host) {
        r.problems.push(format!(
            "DIDPORT_SMTP_TLS: none is allowed only for a relay on this machine, not {host:?}"
        ));
    }
    if user.is_some() != password.is_some() {
        r.problems.push(
            "DIDPORT_SMTP_USER and DIDPORT_SMTP_PASSWORD go together: set both or neither".into(),
        );
    }
    Some(SmtpConfig {
        host,
        port,
        tls,
        user,
        password,
    })
}

fn is_loopback_host(host: &str) -> bool {
    host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Some(true),
        "false" | "no" | "0" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::from_env(&env(&[]), &Overrides::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.currency.as_str(), "USD");
        assert_eq!(c.hold_minutes, 15);
        assert!(c.smtp.is_none() && c.paypal.is_none() && c.telinta.is_none());
        assert_eq!(c.problems_for_serve().len(), 1);
        assert_eq!(c.sender("http://127.0.0.1:8080"), "didport@localhost");
        assert_eq!(
            c.sender("https://shop.example.com/x"),
            "didport@shop.example.com"
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let e = Config::from_env(
            &env(&[
                ("DIDPORT_SMTP_HOST", "mail.example.com"),
                ("DIDPORT_SMTP_TLS", "ssl"),
                ("DIDPORT_SMTP_PORT", "abc"),
                ("DIDPORT_LISTEN", "127.0.0.1:http"),
                ("DIDPORT_SMTP_PASSWORD_FILE", "/nonexistent/secret"),
                ("DIDPORT_CURRENCY", "dollars"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        let all = e.join("\n");
        assert!(all.contains("DIDPORT_SMTP_TLS"), "{all}");
        assert!(all.contains("DIDPORT_SMTP_PORT"), "{all}");
        assert!(all.contains("DIDPORT_LISTEN"), "{all}");
        assert!(all.contains("DIDPORT_SMTP_PASSWORD_FILE"), "{all}");
        assert!(all.contains("DIDPORT_CURRENCY"), "{all}");
        assert!(e.len() >= 5);
    }

    #[test]
    fn seller_tax_and_support_settings() {
        let c = Config::from_env(
            &env(&[
                ("DIDPORT_ADMIN_EMAIL", "ops@example.com"),
                ("DIDPORT_SELLER_NAME", "Example VoIP LLC"),
                ("DIDPORT_SELLER_ADDRESS", "1 Main St; Tampa, FL 33602 ;"),
                ("DIDPORT_TAX_RATE", "8.875"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.seller(), "Example VoIP LLC");
        assert_eq!(c.seller_address, ["1 Main St", "Tampa, FL 33602"]);
        assert_eq!(c.tax_rate.map(|t| t.to_string()).as_deref(), Some("8.875%"));
        assert_eq!(
            c.support_email.as_ref().map(|e| e.as_str()),
            Some("ops@example.com"),
            "support defaults to the admin"
        );
        let described = c.describe();
        for k in [
            "DIDPORT_SELLER_NAME",
            "DIDPORT_SELLER_ADDRESS",
            "DIDPORT_TAX_RATE",
            "DIDPORT_SUPPORT_EMAIL",
        ] {
            assert!(described.iter().any(|(n, _)| n == k), "{k} in check-config");
        }
        let e = Config::from_env(
            &env(&[
                ("DIDPORT_TAX_RATE", "eight"),
                ("DIDPORT_SUPPORT_EMAIL", "not-an-address"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err()
        .join("\n");
        assert!(
            e.contains("DIDPORT_TAX_RATE") && e.contains("DIDPORT_SUPPORT_EMAIL"),
            "{e}"
        );
        let plain = Config::from_env(&env(&[]), &Overrides::default()).unwrap();
        assert_eq!(plain.seller(), "didport");
        assert!(plain.tax_rate.is_none());
    }

    #[test]
    fn secrets_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        let c = Config::from_env(
            &env(&[
                ("DIDPORT_SMTP_HOST", "127.0.0.1"),
                ("DIDPORT_SMTP_TLS", "none"),
                ("DIDPORT_SMTP_USER", "u"),
                ("DIDPORT_SMTP_PASSWORD_FILE", p.to_str().unwrap()),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(
            c.smtp.unwrap().password.as_ref().map(|p| p.expose_secret()),
            Some("s3cret")
        );
    }

    #[test]
    fn plain_smtp_only_on_loopback() {
        let e = Config::from_env(
            &env(&[
                ("DIDPORT_SMTP_HOST", "mail.example.com"),
                ("DIDPORT_SMTP_TLS", "none"),
            ]),
            &Overrides::default(),
        )
        .unwrap_err();
        assert!(e[0].contains("none is allowed only"));
    }

    #[test]
    fn listen_forms() {
        assert_eq!(parse_listen(":0").unwrap().to_string(), "127.0.0.1:0");
        assert_eq!(
            parse_listen("[::1]:9000").unwrap().to_string(),
            "[::1]:9000"
        );
        assert!(parse_listen("127.0.0.1:99999").is_err());
        assert!(parse_listen("nonsense").is_err());
    }

    #[test]
    fn describe_hides_secrets() {
        let c = Config::from_env(
            &env(&[
                ("DIDPORT_PAYPAL_CLIENT_ID", "cid"),
                ("DIDPORT_PAYPAL_SECRET", "topsecretvalue"),
                ("DIDPORT_TELINTA_URL", "https://billing.example.com:443"),
                ("DIDPORT_TELINTA_LOGIN", "api"),
                ("DIDPORT_TELINTA_PASSWORD", "telintapass"),
            ]),
            &Overrides::default(),
        )
        .unwrap();
        let text = format!("{:?}", c.describe());
        assert!(!text.contains("topsecretvalue"));
        assert!(!text.contains("telintapass"));
        assert!(text.contains("cid"));
    }

    #[test]
    fn the_pin_target_is_explained_and_voicemail_needs_its_domain() {
        let base = [
            ("DIDPORT_TELINTA_URL", "https://billing.example.com:443"),
            ("DIDPORT_TELINTA_LOGIN", "api"),
            ("DIDPORT_TELINTA_PASSWORD", "telintapass"),
        ];
        let c = Config::from_env(&env(&base), &Overrides::default()).unwrap();
        let pin = c
            .describe()
            .into_iter()
            .find(|(k, _)| k == "DIDPORT_TELINTA_PIN_FIELD")
            .unwrap()
            .1;
        assert!(pin.contains("h323_password"), "{pin}");
        assert!(pin.contains("authenticates"), "{pin}");

        let mut vm = base.to_vec();
        vm.push(("DIDPORT_TELINTA_PIN_FIELD", "voicemail"));
        vm.push((
            "DIDPORT_TELINTA_VOICEMAIL_URL",
            "https://um.example.com:8992",
        ));
        let e = Config::from_env(&env(&vm), &Overrides::default()).unwrap_err();
        assert!(
            e.iter()
                .any(|p| p.contains("DIDPORT_TELINTA_VOICEMAIL_DOMAIN")),
            "{e:?}"
        );
        vm.push(("DIDPORT_TELINTA_VOICEMAIL_DOMAIN", "um.example.com"));
        let c = Config::from_env(&env(&vm), &Overrides::default()).unwrap();
        assert_eq!(
            c.telinta.unwrap().voicemail_domain.as_deref(),
            Some("um.example.com")
        );
    }
}
