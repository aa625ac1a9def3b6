//! What the simulated people do. A customer's visit: one to three anonymous searches, sign up
//! (a new person) or sign in, a few actions (search, buy a number with PayPal, change the
//! settings of an active number), sign out. An admin signs in once and keeps activating paid
//! numbers on View Orders.
//!
//! Every step checks that the page is what a person would expect. A number someone else got
//! first is the correct "sorry, taken" answer, counted apart from errors.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use didport::demo::{AREAS, Rng};

use crate::browser::{Browser, Resp};
use crate::report::Kind;

/// What every simulated person knows about the run.
pub struct Shared {
    pub base: String,
    pub paypal: String,
    pub started: Instant,
    pub deadline: Instant,
    /// A run tag, so account emails differ between runs on a kept database.
    pub tag: String,
}

/// What one simulated person did.
#[derive(Default)]
pub struct Outcome {
    pub timings: Vec<(Kind, f32)>,
    /// The slowest requests: milliseconds, what, and seconds into the run.
    pub slowest: Vec<(f32, String, f32)>,
    pub errors: Vec<String>,
    pub busy: u32,
    /// Sign-ins and sign-ups refused busy (503 + `Retry-After`) and sent again.
    pub shed: u32,
    pub visits: u64,
    pub signups: u64,
    /// Orders this person saw paid: (order id, number).
    pub paid: Vec<(i64, String)>,
    /// Numbers someone else got first (at the number page or at checkout).
    pub taken: u64,
    pub cancelled: u64,
    /// Forwarding last saved per number, and numbers whose PIN was set.
    pub forwarding: BTreeMap<String, String>,
    pub pins: Vec<String>,
    pub settings_saved: u64,
    pub activated: u64,
    /// Activations another admin was already running or had finished.
    pub activation_races: u64,
}

impl Outcome {
    pub fn merge(&mut self, o: Outcome) {
        self.timings.extend(o.timings);
        self.slowest.extend(o.slowest);
        self.slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.slowest.truncate(5);
        self.errors.extend(o.errors);
        self.busy += o.busy;
        self.shed += o.shed;
        self.visits += o.visits;
        self.signups += o.signups;
        self.paid.extend(o.paid);
        self.taken += o.taken;
        self.cancelled += o.cancelled;
        self.forwarding.extend(o.forwarding);
        self.pins.extend(o.pins);
        self.settings_saved += o.settings_saved;
        self.activated += o.activated;
        self.activation_races += o.activation_races;
    }
}

fn expect(ok: bool, step: &str, r: &Resp) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!("{step}: unexpected answer: {}", r.summary()))
    }
}

/// Ten-digit numbers linked from a results page.
fn result_numbers(r: &Resp) -> Vec<String> {
    r.values_after("href=\"/numbers/")
        .into_iter()
        .filter(|n| n.len() == 10 && n.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

const WORDS: [&str; 12] = [
    "FLOWERS", "CALL", "PIZZA", "HELP", "TAXI", "LAW", "DENTIST", "CARS", "HOME", "BOOK",
    "PLUMBER", "FOOD",
];

struct Customer<'a> {
    sh: &'a Shared,
    id: usize,
    b: Browser,
    rng: Rng,
    account: Option<(String, String)>,
    accounts_made: u64,
    out: Outcome,
}

pub fn customer(sh: &Shared, id: usize) -> Outcome {
    let mut c = Customer {
        sh,
        id,
        b: Browser::new(&sh.base, sh.started),
        rng: Rng::new(0x5eed_0000 + id as u64),
        account: None,
        accounts_made: 0,
        out: Outcome::default(),
    };
    while Instant::now() < sh.deadline {
        if let Err(e) = c.visit() {
            c.out.errors.push(e);
            // Start again as a fresh browser, as a person would after an error page.
            c.b.forget();
        }
    }
    c.out.timings = std::mem::take(&mut c.b.timings);
    c.out.slowest = vec![std::mem::take(&mut c.b.slowest)];
    c.out.busy = c.b.busy;
    c.out.shed = c.b.shed;
    c.out
}

impl Customer<'_> {
    fn visit(&mut self) -> Result<(), String> {
        self.out.visits += 1;
        for _ in 0..1 + self.rng.below(3) {
            self.search()?;
        }
        if self.account.is_none() || self.rng.below(10) == 0 {
            self.sign_up()?;
        } else {
            self.sign_in()?;
        }
        for _ in 0..3 + self.rng.below(6) {
            if Instant::now() >= self.sh.deadline {
                break;
            }
            match self.rng.below(100) {
                0..40 => {
                    self.search()?;
                }
                40..75 => self.checkout()?,
                _ => self.settings()?,
            }
        }
        self.sign_out()
    }

    fn pick<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.rng.below(from.len() as u64) as usize]
    }

    /// A search a visitor might type: area code, state, or a vanity word or digits that the
    /// number contains or ends with.
    fn random_query(&mut self) -> String {
        match self.rng.below(100) {
            0..30 => {
                let (npa, _, _) = AREAS[self.rng.below(AREAS.len() as u64) as usize];
                format!("/numbers?npa={npa}")
            }
            30..55 => {
                let (_, state, _) = AREAS[self.rng.below(AREAS.len() as u64) as usize];
                format!("/numbers?state={state}")
            }
            55..80 => format!("/numbers?q={}&match=contains", self.pick(&WORDS)),
            80..90 => format!("/numbers?q={}&match=ends", self.pick(&WORDS)),
            _ => format!("/numbers?q={:04}&match=ends", self.rng.below(10_000)),
        }
    }

    fn search_page(&mut self, path: &str) -> Result<Vec<String>, String> {
        let r = self.b.get(Kind::Search, path)?;
        expect(
            r.status == 200 && (r.has("id=\"results\"") || r.has("id=\"no-results\"")),
            &format!("search {path}"),
            &r,
        )?;
        Ok(result_numbers(&r))
    }

    fn search(&mut self) -> Result<Vec<String>, String> {
        let q = self.random_query();
        self.search_page(&q)
    }

    fn sign_up(&mut self) -> Result<(), String> {
        self.b.forget();
        self.accounts_made += 1;
        let email = format!(
            "user{}-{}-{}@load.example",
            self.id, self.accounts_made, self.sh.tag
        );
        let password = format!("load test {} {}", self.id, self.rng.next_u64());
        let form = self.b.get(Kind::Page, "/signup")?;
        expect(
            form.status == 200 && form.has("id=\"signup-form\""),
            "sign-up form",
            &form,
        )?;
        let name = format!("Load User {}", self.id);
        let r = self.b.post_password(
            Kind::SignUp,
            "/signup",
            &[("name", &name), ("email", &email), ("password", &password)],
        )?;
        expect(r.status == 303 && r.location == "/my", "sign-up", &r)?;
        let home = self.b.get(Kind::Page, "/my")?;
        expect(
            home.status == 200 && home.has("id=\"my-numbers-empty\""),
            "home after sign-up",
            &home,
        )?;
        self.account = Some((email, password));
        self.out.signups += 1;
        Ok(())
    }

    fn sign_in(&mut self) -> Result<(), String> {
        let (email, password) = self.account.clone().ok_or("no account to sign in")?;
        let form = self.b.get(Kind::Page, "/login")?;
        expect(
            form.status == 200 && form.has("id=\"login-form\""),
            "sign-in form",
            &form,
        )?;
        let r = self.b.post_password(
            Kind::SignIn,
            "/login",
            &[("email", &email), ("password", &password)],
        )?;
        expect(r.status == 303 && r.location == "/my", "sign-in", &r)?;
        let home = self.b.get(Kind::Page, "/my")?;
        expect(
            home.status == 200 && home.has("id=\"my-numbers"),
            "home after sign-in",
            &home,
        )
    }

    fn sign_out(&mut self) -> Result<(), String> {
        let r = self.b.post(Kind::SignOut, "/logout", &[])?;
        expect(r.status == 303 && r.location == "/", "sign-out", &r)
    }

    /// Search, open a number, buy it with PayPal (approve, or now and then cancel), then look
    /// at the order and its invoice. One checkout in five goes for the first few numbers of a
    /// popular search, so buyers race for the same number.
    fn checkout(&mut self) -> Result<(), String> {
        let (query, among) = if self.rng.below(5) == 0 {
            ("/numbers?npa=212".to_string(), 3)
        } else {
            (self.random_query(), 50)
        };
        let found = self.search_page(&query)?;
        if found.is_empty() {
            return Ok(());
        }
        let n = found[self.rng.below(found.len().min(among) as u64) as usize].clone();
        let page = self.b.get(Kind::Page, &format!("/numbers/{n}"))?;
        if page.has("id=\"number-unavailable\"") {
            self.out.taken += 1;
            return Ok(());
        }
        expect(
            page.status == 200 && page.has("id=\"buy-form\""),
            "number page",
            &page,
        )?;
        let plans: Vec<String> = page
            .values_after("name=\"plan\" id=\"plan-")
            .into_iter()
            .map(str::to_string)
            .collect();
        if plans.is_empty() {
            return Err(format!("number page of {n} offers no plan"));
        }
        let plan = plans[self.rng.below(plans.len() as u64) as usize].clone();
        let r = self.b.post(
            Kind::Checkout,
            "/checkout",
            &[("number", &n), ("plan", &plan)],
        )?;
        if r.status == 409 && r.has("id=\"checkout-error\"") {
            self.out.taken += 1;
            return Ok(());
        }
        expect(
            r.status == 303 && r.location.starts_with(&self.sh.paypal),
            "checkout",
            &r,
        )?;
        let approval = r.location;
        let at_paypal = self.b.get(Kind::PayPal, &approval)?;
        expect(
            at_paypal.status == 200 && at_paypal.has("id=\"approve-form\""),
            "PayPal approval page",
            &at_paypal,
        )?;
        let cancel = self.rng.below(10) == 0;
        let action = if cancel { "cancel" } else { "approve" };
        let back = self
            .b
            .get(Kind::PayPal, &format!("{approval}&fake_action={action}"))?;
        let expected_back = format!(
            "{}/checkout/paypal/{}",
            self.sh.base,
            if cancel { "cancel" } else { "return" }
        );
        expect(
            (300..400).contains(&back.status) && back.location.starts_with(&expected_back),
            &format!("PayPal {action}"),
            &back,
        )?;
        if cancel {
            let r = self.b.get(Kind::Cancel, &back.location)?;
            // The order is cancelled and its number released; its page says so.
            expect(
                r.status == 303 && r.location.starts_with("/orders/"),
                "return after cancelling",
                &r,
            )?;
            let p = self.b.get(Kind::Page, &r.location)?;
            expect(
                p.status == 200 && p.flash().contains("cancelled the payment"),
                "order page after cancelling",
                &p,
            )?;
            self.out.cancelled += 1;
            return Ok(());
        }
        let r = self.b.get(Kind::Capture, &back.location)?;
        expect(
            r.status == 303 && r.location.starts_with("/orders/"),
            "return from PayPal",
            &r,
        )?;
        let order_id: i64 = r.location["/orders/".len()..]
            .parse()
            .map_err(|_| format!("return from PayPal: odd location {}", r.location))?;
        let order = self.b.get(Kind::Page, &r.location)?;
        expect(
            order.status == 200 && order.attr("id=\"order\"", "data-status") == Some("paid"),
            &format!("order {order_id} after paying"),
            &order,
        )?;
        let invoice = order
            .attr("id=\"invoice-link\"", "href")
            .ok_or_else(|| format!("order {order_id} is paid but links no invoice"))?
            .to_string();
        let inv = self.b.get(Kind::Page, &invoice)?;
        expect(
            inv.status == 200 && inv.has("id=\"invoice\""),
            &format!("invoice of order {order_id}"),
            &inv,
        )?;
        self.out.paid.push((order_id, n));
        Ok(())
    }

    /// Open the home page, pick an active number and change its PIN, its forwarding or both.
    fn settings(&mut self) -> Result<(), String> {
        let home = self.b.get(Kind::Page, "/my")?;
        expect(home.status == 200, "home", &home)?;
        let active: Vec<String> = home
            .values_after("id=\"number-")
            .into_iter()
            .filter(|v| v.len() == 10)
            .filter(|v| home.has(&format!("id=\"number-{v}\" data-status=\"active\"")))
            .map(str::to_string)
            .collect();
        if active.is_empty() {
            // Nothing active yet: the person browses instead.
            self.search()?;
            return Ok(());
        }
        let n = active[self.rng.below(active.len() as u64) as usize].clone();
        let page = self.b.get(Kind::Page, &format!("/my/numbers/{n}"))?;
        expect(
            page.status == 200 && page.has("id=\"settings-form\""),
            "settings page",
            &page,
        )?;
        let which = self.rng.below(3);
        let pin = if which != 1 {
            format!("{:04}", self.rng.below(10_000))
        } else {
            String::new()
        };
        let forwarding = if which != 0 {
            let (npa, _, _) = AREAS[self.rng.below(AREAS.len() as u64) as usize];
            format!(
                "{npa}{:03}{:04}",
                200 + self.rng.below(800),
                self.rng.below(10_000)
            )
        } else {
            String::new()
        };
        if forwarding == n {
            return Ok(());
        }
        let path = format!("/my/numbers/{n}/settings");
        let r = self.b.post(
            Kind::Settings,
            &path,
            &[("pin", &pin), ("forwarding", &forwarding)],
        )?;
        expect(
            r.status == 303 && r.location == format!("/my/numbers/{n}"),
            "settings change",
            &r,
        )?;
        let after = self.b.get(Kind::Page, &r.location)?;
        expect(
            after.status == 200 && after.flash().starts_with("Saved"),
            "settings page after saving",
            &after,
        )?;
        if !pin.is_empty() {
            self.out.pins.push(n.clone());
        }
        if !forwarding.is_empty() {
            self.out.forwarding.insert(n, forwarding);
        }
        self.out.settings_saved += 1;
        Ok(())
    }
}

/// An admin on View Orders: activates every pending number, oldest first for the first admin
/// and newest first for the next, so two admins sometimes pick the same order.
pub fn admin(sh: &Shared, id: usize, email: &str, password: &str) -> Outcome {
    let mut a = Admin {
        b: Browser::new(&sh.base, sh.started),
        out: Outcome::default(),
        id,
    };
    match a.sign_in(email, password) {
        Ok(()) => {
            while Instant::now() < sh.deadline {
                if let Err(e) = a.round(sh) {
                    a.out.errors.push(format!("admin {id}: {e}"));
                }
            }
        }
        Err(e) => a.out.errors.push(format!("admin {id}: {e}")),
    }
    a.out.timings = std::mem::take(&mut a.b.timings);
    a.out.slowest = vec![std::mem::take(&mut a.b.slowest)];
    a.out.busy = a.b.busy;
    a.out.shed = a.b.shed;
    a.out
}

struct Admin {
    b: Browser,
    out: Outcome,
    id: usize,
}

impl Admin {
    fn sign_in(&mut self, email: &str, password: &str) -> Result<(), String> {
        let form = self.b.get(Kind::Page, "/login")?;
        expect(form.status == 200, "admin sign-in form", &form)?;
        let r = self.b.post_password(
            Kind::SignIn,
            "/login",
            &[("email", email), ("password", password)],
        )?;
        expect(
            r.status == 303 && r.location == "/admin",
            "admin sign-in",
            &r,
        )
    }

    /// Reads the pending numbers and activates up to ten of them.
    fn round(&mut self, sh: &Shared) -> Result<(), String> {
        let list = self.b.get(Kind::Page, "/admin/orders?status=pending")?;
        expect(
            list.status == 200 && (list.has("id=\"orders\"") || list.has("id=\"no-orders\"")),
            "View Orders",
            &list,
        )?;
        let mut pending: Vec<String> = list
            .values_after("id=\"order-")
            .into_iter()
            .filter(|v| list.has(&format!("id=\"order-{v}\" data-status=\"pending\"")))
            .map(str::to_string)
            .collect();
        if pending.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
            return Ok(());
        }
        if self.id.is_multiple_of(2) {
            pending.reverse();
        }
        for order in pending.iter().take(10) {
            if Instant::now() >= sh.deadline {
                break;
            }
            let path = format!("/admin/orders/{order}/status");
            let r = self
                .b
                .post(Kind::Activation, &path, &[("status", "active")])?;
            expect(
                r.status == 303 && r.location == "/admin/orders",
                &format!("activation of order {order}"),
                &r,
            )?;
            let after = self.b.get(Kind::Page, &r.location)?;
            let flash = after.flash();
            if flash.contains("is now active") {
                self.out.activated += 1;
            } else if flash.contains("was already active")
                || flash.contains("Another activation")
                || flash.contains("changed while")
            {
                self.out.activation_races += 1;
            } else {
                return Err(format!("activation of order {order}: {}", after.summary()));
            }
        }
        Ok(())
    }
}
