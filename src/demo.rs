//! `didport demo`: a sandbox portal with demo accounts, plans and numbers.

use std::path::PathBuf;
use std::sync::Arc;

use crate::app::{self, StartOptions};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::domain::plan::PlanNumberType;
use crate::domain::{EmailAddress, NumberStatus, PhoneNumber, Role};
use crate::secure;
use crate::store::numbers::{NewNumber, insert_new};
use crate::store::plans::{NewPlan, insert as insert_plan};
use crate::store::{Store, users};

/// How many numbers the demo offers.
pub const DEMO_NUMBERS: usize = 3000;
const DEMO_SEED: u64 = 2026;

pub const ADMIN_EMAIL: &str = "admin@demo.example";
pub const CUSTOMER_EMAIL: &str = "customer@demo.example";

/// Area codes with their state and a few rate centers, for realistic demo data.
pub const AREAS: &[(&str, &str, &[&str])] = &[
    ("212", "NY", &["NWYRCYZN01", "NWYRCYZN03"]),
    ("718", "NY", &["NWYRCYZN04", "NWYRCYZN05"]),
    ("516", "NY", &["HEMPSTEAD", "GLEN COVE"]),
    ("213", "CA", &["LOS ANGELES"]),
    ("310", "CA", &["SANTA MONICA", "TORRANCE"]),
    ("415", "CA", &["SAN FRANCISCO"]),
    ("619", "CA", &["SAN DIEGO"]),
    ("916", "CA", &["SACRAMENTO"]),
    ("312", "IL", &["CHICAGO"]),
    ("773", "IL", &["CHICAGO"]),
    ("305", "FL", &["MIAMI"]),
    ("407", "FL", &["ORLANDO"]),
    ("813", "FL", &["TAMPA"]),
    ("214", "TX", &["DALLAS"]),
    ("512", "TX", &["AUSTIN"]),
    ("713", "TX", &["HOUSTON"]),
    ("210", "TX", &["SAN ANTONIO"]),
    ("206", "WA", &["SEATTLE"]),
    ("509", "WA", &["SPOKANE"]),
    ("303", "CO", &["DENVER"]),
    ("404", "GA", &["ATLANTA"]),
    ("617", "MA", &["BOSTON"]),
    ("602", "AZ", &["PHOENIX"]),
    ("702", "NV", &["LAS VEGAS"]),
    ("503", "OR", &["PORTLAND"]),
    ("215", "PA", &["PHILADELPHIA"]),
    ("412", "PA", &["PITTSBURGH"]),
    ("313", "MI", &["DETROIT"]),
    ("612", "MN", &["MINNEAPOLIS"]),
    ("615", "TN", &["NASHVILLE"]),
    ("504", "LA", &["NEW ORLEANS"]),
    ("801", "UT", &["SALT LAKE CITY"]),
    ("704", "NC", &["CHARLOTTE"]),
    ("202", "DC", &["WASHINGTON"]),
];

/// Toll-free area codes and their share of generated numbers (1 in N).
pub const TOLL_FREE_ONE_IN: u64 = 8;

/// A small deterministic generator (xorshift64*): demo and benchmark data, not secrets.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

pub struct GeneratedNumber {
    pub number: PhoneNumber,
    pub state: &'static str,
    pub rate_center: &'static str,
}

/// `count` distinct numbers across many area codes and states, with a toll-free share.
pub fn generate_numbers(count: usize, seed: u64) -> Vec<GeneratedNumber> {
    let mut rng = Rng::new(seed);
    let mut seen = std::collections::HashSet::with_capacity(count);
    let mut out = Vec::with_capacity(count);
    let toll_free = crate::domain::phone::TOLL_FREE_NPAS;
    let mut guard = 0usize;
    while out.len() < count && guard < count * 20 + 1000 {
        guard += 1;
        let (npa, state, rc) = if rng.below(TOLL_FREE_ONE_IN) == 0 {
            (
                toll_free[rng.below(toll_free.len() as u64) as usize],
                "",
                "",
            )
        } else {
            let (npa, state, rcs) = AREAS[rng.below(AREAS.len() as u64) as usize];
            (npa, state, rcs[rng.below(rcs.len() as u64) as usize])
        };
        let nxx = 200 + rng.below(800);
        if nxx % 100 == 11 || nxx == 555 {
            continue; // N11 and 555 exchanges are not assigned to subscribers
        }
        let line = rng.below(10_000);
        let text = format!("{npa}{nxx:03}{line:04}");
        if !seen.insert(text.clone()) {
            continue;
        }
        if let Ok(number) = PhoneNumber::parse(&text) {
            out.push(GeneratedNumber {
                number,
                state,
                rate_center: rc,
            });
        }
    }
    out
}

pub struct DemoAccounts {
    pub admin_password: String,
    pub customer_password: String,
    pub numbers_added: usize,
}

fn demo_password() -> Result<String, String> {
    let t = secure::random_token()?;
    Ok(format!("demo-{}", &t[..12]))
}

/// Seeds accounts (with fresh passwords every start), plans and numbers (once).
pub fn seed(store: &Store, now: i64) -> Result<DemoAccounts, String> {
    let admin_password = demo_password()?;
    let customer_password = demo_password()?;
    let admin_hash = secure::hash_password(&admin_password)?;
    let customer_hash = secure::hash_password(&customer_password)?;
    let numbers = generate_numbers(DEMO_NUMBERS, DEMO_SEED);
    store
        .write(|tx| {
            for (email, name, role, hash) in [
                (ADMIN_EMAIL, "Demo Admin", Role::Admin, &admin_hash),
                (
                    CUSTOMER_EMAIL,
                    "Demo Customer",
                    Role::Customer,
                    &customer_hash,
                ),
            ] {
                let email = EmailAddress::parse(email)
                    .map_err(|m| crate::store::Error::Io(m.to_string()))?;
                match users::by_email(tx, &email)? {
                    Some((u, _)) => users::set_password(tx, u.id, hash, now)?,
                    None => {
                        users::insert(tx, &email, name, role, hash, now)?;
                    }
                }
            }
            if crate::store::plans::count(tx)? == 0 {
                for (name, description, setup, monthly, number_type) in [
                    (
                        "Starter",
                        "One local number with unlimited inbound calls.",
                        500,
                        300,
                        PlanNumberType::Local,
                    ),
                    (
                        "Business",
                        "Local number with call forwarding and voicemail PIN.",
                        1000,
                        800,
                        PlanNumberType::Local,
                    ),
                    (
                        "Toll-free",
                        "A toll-free number for your customers to call free.",
                        2500,
                        1500,
                        PlanNumberType::TollFree,
                    ),
                ] {
                    insert_plan(
                        tx,
                        &NewPlan {
                            name,
                            description,
                            setup_cents: setup,
                            monthly_cents: monthly,
                            number_type,
                        },
                        now,
                    )?;
                }
            }
            let rows: Vec<NewNumber<'_>> = numbers
                .iter()
                .map(|g| NewNumber {
                    number: &g.number,
                    state: g.state,
                    rate_center: g.rate_center,
                    kind: None,
                    source: "demo",
                })
                .collect();
            let added = insert_new(tx, &rows, now)?;
            Ok(DemoAccounts {
                admin_password: admin_password.clone(),
                customer_password: customer_password.clone(),
                numbers_added: added,
            })
        })
        .map_err(|e: crate::store::Error| e.to_string())
}

/// A fresh database file in a new temporary folder.
fn fresh_db_path() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("didport-demo-{}", secure::short_id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir.join("demo.sqlite3"))
}

pub fn run(mut config: Config, db_given: bool) -> Result<(), String> {
    crate::logging::init_with(&config.log, config.log_format);
    if !db_given && std::env::var_os("DIDPORT_DB").is_none() {
        config.db = fresh_db_path()?;
    }
    // The sandbox never sends real mail: everything stays in the outbox.
    config.smtp = None;
    if config.admin_email.is_none() {
        config.admin_email = EmailAddress::parse(ADMIN_EMAIL).ok();
    }
    let store = Store::open(&config.db, crate::app::db_connections(config.workers))
        .map_err(|e| e.to_string())?;
    let clock = Arc::new(SystemClock);
    let accounts = seed(&store, clock.now())?;
    // The Telinta simulator knows the same numbers as free, so sync and activation work.
    let telinta_sim = crate::sim::telinta::TelintaSim::start(DEMO_SEED)
        .map_err(|e| format!("cannot start the Telinta simulator: {e}"))?;
    telinta_sim.add_free_numbers(
        generate_numbers(DEMO_NUMBERS, DEMO_SEED)
            .iter()
            .map(|g| g.number.digits().to_string()),
        Some(1),
    );
    let telinta = crate::integrations::telinta::TelintaClient::new(telinta_sim.client_config())
        .map_err(|e| e.to_string())?;
    // Activation reads its batches and product from the configuration: point it at the simulator.
    config.telinta = Some(crate::config::TelintaConfig {
        url: telinta_sim.base_url().to_string(),
        login: "didport".into(),
        password: Some("sim-password".into()),
        token: None,
        product: Some(1),
        vendor_batch: Some(1),
        pricing_batch: Some(1),
        pin_field: crate::config::PinField::ServicePassword,
        voicemail_url: Some(telinta_sim.voicemail_url().to_string()),
        voicemail_domain: Some(telinta_sim.voicemail_domain().to_string()),
        create_customers: true,
    });
    // The PayPal simulator plays PayPal, with its own approval page.
    let paypal_sim = crate::sim::paypal::PayPalSim::start(crate::sim::paypal::SimConfig::default())
        .map_err(|e| format!("cannot start the PayPal simulator: {e}"))?;
    let paypal = crate::integrations::paypal::PayPalClient::new(paypal_sim.client_config())
        .map_err(|e| e.to_string())?;
    // So `check-upstream`'s PayPal checks run against the simulator too.
    config.paypal = Some(crate::config::PayPalConfig {
        api: paypal_sim.base_url().to_string(),
        client_id: paypal_sim.client_id(),
        secret: paypal_sim.client_secret().into(),
        webhook_id: Some(paypal_sim.webhook_id()),
    });
    let mut opts = StartOptions::new(clock);
    opts.demo = true;
    opts.telinta = Some(Arc::new(telinta));
    opts.payments = Some(Arc::new(paypal));
    let db = config.db.clone();
    let portal = app::start_with_store(config, store, opts)?;
    // Webhooks from the PayPal simulator reach the portal, so dashboard refunds, reversals and
    // disputes made through its controls show up on the orders.
    paypal_sim.set_webhook_target(
        Some(&format!("{}/webhooks/paypal", portal.url)),
        true,
        std::time::Duration::ZERO,
    );
    // The preflight against the simulators, so the admin dashboard shows a result.
    let report = crate::workflow::upstream::check(&portal.services);
    if let Err(e) = crate::workflow::upstream::record(&portal.services, &report) {
        log::warn!("demo: the preflight result was not stored: {e}");
    }
    match seed_renewals(&portal.services) {
        Ok(0) => {}
        Ok(n) => log::info!("demo: {n} numbers seeded at points of the renewal cycle"),
        Err(e) => log::warn!("demo: renewal examples not seeded: {e}"),
    }
    println!("didport demo (sandbox) is running at {}", portal.url);
    println!("  database  {}", db.display());
    println!(
        "  admin     {ADMIN_EMAIL}  password {}",
        accounts.admin_password
    );
    println!(
        "  customer  {CUSTOMER_EMAIL}  password {}",
        accounts.customer_password
    );
    println!(
        "  numbers   {} added to the inventory",
        accounts.numbers_added
    );
    println!("  telinta   simulator at {}", telinta_sim.base_url());
    println!("  paypal    simulator at {}", paypal_sim.base_url());
    println!(
        "  paypal    after a payment, POST {}/__fake/captures/<capture id>/dashboard-refund, \
         /reverse or /dispute to play a refund made in PayPal, a chargeback or a dispute",
        paypal_sim.base_url()
    );
    println!(
        "  preflight {} (didport check-upstream against the simulators)",
        if report.ok() {
            "all checks passed"
        } else {
            "some checks failed"
        }
    );
    println!(
        "Emails are kept in the outbox: sign in as admin and open /admin/outbox. Ctrl-C stops."
    );
    portal.wait();
    drop(telinta_sim);
    drop(paypal_sim);
    Ok(())
}

/// The demo customer's numbers at three points of the renewal cycle, bought through the real
/// flows as if days ago and activated at the Telinta simulator: one renewing within a week (its
/// invoice open), one a few days overdue, and one suspended for non-payment. Only on a database
/// without purchases. Returns how many were seeded.
fn seed_renewals(s: &crate::workflow::Services) -> Result<usize, String> {
    use crate::domain::billing::{DAY, day_of};
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let has_purchases = s
        .store
        .read(crate::store::purchased::any)
        .map_err(|e| err(&e))?;
    if has_purchases {
        return Ok(0);
    }
    let user = |email: &str| -> Result<crate::store::users::User, String> {
        let e = EmailAddress::parse(email).map_err(|e| err(&e))?;
        s.store
            .read(|tx| crate::store::users::by_email(tx, &e))
            .map_err(|e| err(&e))?
            .map(|(u, _)| u)
            .ok_or_else(|| format!("no user {email}"))
    };
    let (admin, customer) = (user(ADMIN_EMAIL)?, user(CUSTOMER_EMAIL)?);
    let plan = s
        .store
        .read(|tx| crate::store::plans::list(tx, true))
        .map_err(|e| err(&e))?
        .into_iter()
        .find(|p| p.number_type != PlanNumberType::TollFree)
        .ok_or("no local plan")?;
    let numbers: Vec<String> = generate_numbers(DEMO_NUMBERS, DEMO_SEED)
        .into_iter()
        .filter(|g| !g.number.is_toll_free())
        .take(3)
        .map(|g| g.number.digits().to_string())
        .collect();
    let now = s.now();
    for (number, days_ago) in numbers.iter().zip([25i64, 33, 40]) {
        let then = crate::clock::ManualClock::new(now - days_ago * DAY);
        let mut past = s.clone();
        past.clock = Arc::new(then);
        let id = crate::workflow::checkout::start(
            &past,
            &customer,
            number,
            &plan.id.to_string(),
            "demo",
        )
        .map_err(|e| format!("{e:?}"))?;
        let order = past
            .store
            .read(|tx| crate::store::orders::get(tx, id))
            .map_err(|e| err(&e))?
            .ok_or("order vanished")?;
        crate::workflow::payments::record_paid(&past, &order, &customer, None, None)
            .map_err(|e| err(&e))?;
        crate::workflow::activation::change_status(
            &past,
            &admin,
            id,
            NumberStatus::Active.as_str(),
            "demo",
        )
        .map_err(|e| format!("{e:?}"))?;
    }
    crate::workflow::billing::run(s, day_of(now), false).map_err(|e| err(&e))?;
    Ok(numbers.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_numbers_are_distinct_and_valid() {
        let n = generate_numbers(5000, 7);
        assert_eq!(n.len(), 5000);
        let set: std::collections::HashSet<_> = n.iter().map(|g| g.number.clone()).collect();
        assert_eq!(set.len(), 5000);
        let tf = n.iter().filter(|g| g.number.is_toll_free()).count();
        assert!(tf > 300 && tf < 1000, "toll-free share {tf}");
        assert!(
            n.iter()
                .filter(|g| !g.number.is_toll_free())
                .all(|g| !g.state.is_empty())
        );
    }
}
