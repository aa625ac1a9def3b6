//! `didport check-upstream`: a read-only preflight against the configured Telinta and PayPal,
//! so an operator learns what their Telinta login may do, and whether the ids in the
//! configuration exist, **before** a customer pays (docs/telinta.md, "Preflight";
//! docs/paypal.md, "Preflight"). Nothing is created or changed upstream: writes are probed
//! with parameters that name nothing (see `FLOW_METHODS`). The result is kept in the
//! database for the admin dashboard.

use std::fmt;

use super::{Internal, Services};
use crate::integrations::paypal::Payments;
use crate::integrations::telinta::{ErrorKind, FLOW_METHODS, Telinta};
use crate::store::settings::{self, UpstreamCheck};

/// One check: its name and, when it failed, why and what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub name: String,
    /// `None` when the check passed; else the reason and what to change.
    pub failure: Option<String>,
    /// A note on a passed check (what was found).
    pub note: Option<String>,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.failure, &self.note) {
            (Some(why), _) => write!(f, "FAIL {}: {why}", self.name),
            (None, Some(note)) => write!(f, "ok   {}: {note}", self.name),
            (None, None) => write!(f, "ok   {}", self.name),
        }
    }
}

/// Every check, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamReport {
    pub lines: Vec<Line>,
}

impl UpstreamReport {
    /// True when no check failed.
    pub fn ok(&self) -> bool {
        self.lines.iter().all(|l| l.failure.is_none())
    }

    fn pass(&mut self, name: impl Into<String>, note: Option<String>) {
        self.lines.push(Line {
            name: name.into(),
            failure: None,
            note,
        });
    }

    fn fail(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.lines.push(Line {
            name: name.into(),
            failure: Some(why.into()),
            note: None,
        });
    }
}

/// Runs every check against what `s` is configured with. Neither upstream configured gives an
/// empty report: the caller treats that as a configuration error.
pub fn check(s: &Services) -> UpstreamReport {
    let mut r = UpstreamReport::default();
    if let (Some(t), Some(cfg)) = (&s.telinta, &s.config.telinta) {
        check_telinta(s, t.as_ref(), cfg, &mut r);
    }
    if let (Some(p), Some(cfg)) = (&s.payments, &s.config.paypal) {
        check_paypal(p.as_ref(), cfg, &mut r);
    }
    r
}

/// Keeps the report and when it ran, for the admin dashboard.
pub fn record(s: &Services, report: &UpstreamReport) -> Result<(), Internal> {
    let check = UpstreamCheck {
        at: s.now(),
        ok: report.ok(),
        lines: report.lines.iter().map(ToString::to_string).collect(),
    };
    Ok(s.store
        .write(|tx| settings::record_upstream_check(tx, &check))?)
}

fn check_telinta(
    s: &Services,
    t: &dyn Telinta,
    cfg: &crate::config::TelintaConfig,
    r: &mut UpstreamReport,
) {
    const LOGIN: &str = "telinta login";
    match t.sign_in() {
        Ok(()) => r.pass(LOGIN, Some(format!("signed in as {}", cfg.login))),
        Err(e) if matches!(e.kind(), ErrorKind::AuthFailed { .. }) => {
            r.fail(
                LOGIN,
                format!(
                    "Telinta refused the login ({}); change DIDPORT_TELINTA_LOGIN and \
                     DIDPORT_TELINTA_PASSWORD (or DIDPORT_TELINTA_TOKEN)",
                    e.fault_code().unwrap_or("no code")
                ),
            );
            return;
        }
        Err(e) => {
            r.fail(
                LOGIN,
                format!("{e}; check DIDPORT_TELINTA_URL and that this host can reach it"),
            );
            return;
        }
    }

    const PRODUCT: &str = "telinta product";
    match cfg.product {
        None => r.fail(
            PRODUCT,
            "not set; set DIDPORT_TELINTA_PRODUCT to the i_product new number accounts get",
        ),
        Some(p) => match t.get_product(p) {
            Ok(None) => r.fail(
                PRODUCT,
                format!(
                    "product {p} does not exist or this login cannot see it; change \
                     DIDPORT_TELINTA_PRODUCT"
                ),
            ),
            Ok(Some(prod)) => match prod.iso_4217 {
                Some(cur) if !cur.eq_ignore_ascii_case(s.config.currency.as_str()) => r.fail(
                    PRODUCT,
                    format!(
                        "product {p} ({}) bills in {cur} but the shop sells in {}; change \
                         DIDPORT_TELINTA_PRODUCT or DIDPORT_CURRENCY",
                        prod.name,
                        s.config.currency.as_str()
                    ),
                ),
                _ => r.pass(PRODUCT, Some(format!("{p} ({})", prod.name))),
            },
            Err(e) => fail_call(r, PRODUCT, &e, "DIDPORT_TELINTA_PRODUCT"),
        },
    }

    const VENDOR: &str = "telinta vendor batch";
    match cfg.vendor_batch {
        None => r.fail(
            VENDOR,
            "not set; set DIDPORT_TELINTA_VENDOR_BATCH, or numbers missing from the DID \
             inventory cannot be added at activation",
        ),
        Some(v) => match t.list_vendor_batches() {
            Ok(list) => match list.iter().find(|b| b.i_dv_batch == v) {
                Some(b) => r.pass(VENDOR, Some(format!("{v} ({})", b.name))),
                None => r.fail(
                    VENDOR,
                    format!(
                        "vendor batch {v} is not among the {} this login sees; change \
                         DIDPORT_TELINTA_VENDOR_BATCH",
                        list.len()
                    ),
                ),
            },
            Err(e) => fail_call(r, VENDOR, &e, "DIDPORT_TELINTA_VENDOR_BATCH"),
        },
    }

    const PRICING: &str = "telinta pricing batch";
    match cfg.pricing_batch {
        None => r.fail(
            PRICING,
            "not set; set DIDPORT_TELINTA_PRICING_BATCH, or a number without a pricing batch \
             cannot be assigned at activation",
        ),
        Some(b) => match t.list_pricing_batches() {
            Ok(list) => match list.iter().find(|x| x.i_do_batch == b) {
                None => r.fail(
                    PRICING,
                    format!(
                        "pricing batch {b} is not among the {} this login sees; change \
                         DIDPORT_TELINTA_PRICING_BATCH",
                        list.len()
                    ),
                ),
                Some(x) if x.i_customer.is_some() => r.fail(
                    PRICING,
                    format!(
                        "pricing batch {b} ({}) belongs to customer {}: numbers sold to other \
                         customers cannot use it; choose a batch of your own in \
                         DIDPORT_TELINTA_PRICING_BATCH",
                        x.name,
                        x.i_customer.unwrap_or_default()
                    ),
                ),
                Some(x) => r.pass(PRICING, Some(format!("{b} ({})", x.name))),
            },
            Err(e) => fail_call(r, PRICING, &e, "DIDPORT_TELINTA_PRICING_BATCH"),
        },
    }

    for (method, _) in FLOW_METHODS {
        if *method == "Customer/add_customer" && !cfg.create_customers {
            continue;
        }
        let name = format!("telinta may call {method}");
        match t.probe(method) {
            Ok(()) => r.pass(name, None),
            Err(e) if e.is_permission_fault() => r.fail(
                name,
                format!(
                    "this login has no permission ({}); give the API login {} access to it in \
                     Telinta, or configure a login that has it",
                    e.fault_code().unwrap_or("no code"),
                    cfg.login
                ),
            ),
            // The method ran and refused the empty request: the login may call it.
            Err(e) if matches!(e.kind(), ErrorKind::Fault { .. }) => r.pass(
                name,
                Some(format!(
                    "permitted (it refused the empty test call with {})",
                    e.fault_code().unwrap_or("a fault")
                )),
            ),
            Err(e) => r.fail(
                name,
                format!("{e}; try again, or check DIDPORT_TELINTA_URL"),
            ),
        }
    }
}

fn fail_call(
    r: &mut UpstreamReport,
    name: &str,
    e: &crate::integrations::telinta::TelintaError,
    var: &str,
) {
    let why = if e.is_permission_fault() {
        format!(
            "this login may not call {} ({e}); give it access in Telinta",
            e.method()
        )
    } else {
        format!("{e}; check {var}")
    };
    r.fail(name, why);
}

fn check_paypal(p: &dyn Payments, cfg: &crate::config::PayPalConfig, r: &mut UpstreamReport) {
    const CREDS: &str = "paypal credentials";
    if let Err(e) = p.check_credentials() {
        r.fail(
            CREDS,
            format!(
                "PayPal refused them or cannot be reached ({e}); change DIDPORT_PAYPAL_CLIENT_ID \
                 and DIDPORT_PAYPAL_SECRET, and check DIDPORT_PAYPAL_API ({}: sandbox and live \
                 have different apps)",
                cfg.api
            ),
        );
        return;
    }
    r.pass(CREDS, Some(format!("token issued by {}", cfg.api)));

    const READ: &str = "paypal order read";
    match p.get_order("DIDPORTPREFLIGHT0") {
        Ok(_) => r.pass(READ, None),
        Err(e) if e.is_not_found() => r.pass(READ, Some("the Orders API answers".into())),
        Err(e) => r.fail(
            READ,
            format!(
                "{e}; the app may lack the Orders API: check it in PayPal's developer dashboard"
            ),
        ),
    }

    const HOOK: &str = "paypal webhook id";
    match (&cfg.webhook_id, p.webhook_exists()) {
        (None, _) => r.fail(
            HOOK,
            "not set; set DIDPORT_PAYPAL_WEBHOOK_ID to the id of the webhook registered for \
             this app, or no webhook can be verified",
        ),
        (Some(id), Ok(true)) => r.pass(HOOK, Some(id.clone())),
        (Some(id), Ok(false)) => r.fail(
            HOOK,
            format!(
                "PayPal knows no webhook {id} for this app; copy the id from the app's webhook \
                 settings into DIDPORT_PAYPAL_WEBHOOK_ID"
            ),
        ),
        (Some(_), Err(e)) => r.fail(HOOK, format!("{e}; try again")),
    }
}
