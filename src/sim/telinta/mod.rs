//! The Telinta simulator: two real HTTP servers on `127.0.0.1:0` (the PortaBilling
//! admin API and the unified-messaging/voicemail API) speaking the wire format of
//! docs/telinta.md ("Simulator"), with state in memory.
//!
//! Used by tests (the real `TelintaClient` of `crate::integrations::telinta` talks to it over
//! HTTP) and by the portal's `demo` mode. Besides the HTTP API it offers a Rust API to
//! seed state, inspect it, count calls and inject failures:
//!
//! ```text
//! use std::time::Duration;
//! use super::{Failure, TelintaSim, Times};
//! let sim = TelintaSim::start(42)?;
//! let numbers = sim.seed_free_numbers(1000, Some(sim.default_pricing_batch()));
//! sim.fail_once("Account/add_account", Failure::fault("Server.Internal", "boom"));
//! sim.fail("DID/add_number", Failure::Http(503), Times::Always);
//! sim.fail_once("Customer/get_customer_info", Failure::Timeout(Duration::from_secs(2)));
//! sim.expire_sessions();
//! ```
//!
//! Both request encodings are accepted: form fields `auth_info` + `params` (JSON
//! strings), or a JSON body `{"params":{…}}` with `Authorization: Bearer <token>`.
//! `multipart/form-data` is not (real servers accept it; didport does not send it).

mod account;
mod did;
mod handlers;
mod server;
mod state;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::integrations::telinta::{Credential, TelintaClientConfig};
use state::{SimUser, State};

pub use handlers::UM_DOMAIN;
pub use state::{SimAccount, SimCustomer, SimDid, SimFollowMe, SimFollowMeNumber, SimPricingBatch};

/// What an injected failure makes the simulator answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500 with `{"faultcode": code, "faultstring": message}`; the call is not performed.
    Fault { code: String, message: String },
    /// This HTTP status with an empty body (e.g. 503); the call is not performed.
    Http(u16),
    /// Wait this long (make it longer than the client timeout), then answer 504
    /// without performing the call.
    Timeout(Duration),
    /// Wait this long, then perform the call and answer normally: "the client gave up
    /// but the change happened".
    Delay(Duration),
    /// HTTP 200 with a truncated JSON body; the call is not performed.
    Malformed,
    /// This status and body, verbatim, with `Content-Type: application/json`.
    Reply { status: u16, body: String },
}

impl Failure {
    /// Shorthand for [`Failure::Fault`].
    pub fn fault(code: &str, message: &str) -> Failure {
        Failure::Fault {
            code: code.to_string(),
            message: message.to_string(),
        }
    }
}

/// How many times an injected failure fires before the method works again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    Once,
    Count(u32),
    Always,
}

/// Settings of [`TelintaSim::start_with`].
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Seeds session ids and generated numbers (same seed, same numbers).
    pub seed: u64,
    /// The API login the simulator accepts.
    pub login: String,
    pub password: String,
    /// An API token accepted instead of the password, if set.
    pub token: Option<String>,
    /// `i_product` values that exist.
    pub products: Vec<i64>,
    /// Pricing batches that exist: `(i_do_batch, name)`.
    pub pricing_batches: Vec<(i64, String)>,
    /// Vendor batches that exist: `(i_dv_batch, name)`.
    pub vendor_batches: Vec<(i64, String)>,
    /// Request worker threads per listener.
    pub workers: usize,
    /// `DID/add_number` without `frozen: "N"` creates a frozen number, as PortaBilling's
    /// upload does (docs/telinta.md, "Frozen numbers"). Default `true`.
    pub frozen_on_add: bool,
    /// Methods this login may not call (a limited reseller login): they answer a
    /// permission fault *(fake code `Server.Session.permission_denied`)*.
    pub denied_methods: Vec<String>,
}

impl Default for SimOptions {
    /// Login `didport` / password `sim-password`, product 1, pricing batch 1 `US-local`.
    fn default() -> Self {
        SimOptions {
            seed: 1,
            login: "didport".into(),
            password: "sim-password".into(),
            token: None,
            products: vec![1],
            pricing_batches: vec![(1, "US-local".into())],
            vendor_batches: vec![(1, "US-vendor".into())],
            workers: 4,
            frozen_on_add: true,
            denied_methods: Vec::new(),
        }
    }
}

/// One armed failure.
#[derive(Debug, Clone)]
struct Armed {
    failure: Failure,
    times: Times,
}

/// State shared by the listeners' threads and the [`TelintaSim`] handle.
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    failures: Mutex<HashMap<String, Armed>>,
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopping(&self) -> bool {
        *self.stopping.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps `d`, or less if the simulator stops meanwhile.
    fn sleep(&self, d: Duration) {
        let deadline = Instant::now() + d;
        let mut stop = self.stopping.lock().unwrap_or_else(PoisonError::into_inner);
        while !*stop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            stop = match self.wake.wait_timeout(stop, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// The failure to apply to this call of `method`, if one is armed (exact method
    /// first, then `"*"`), consuming one use.
    fn take_failure(&self, method: &str) -> Option<Failure> {
        let mut map = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let key = if map.contains_key(method) {
            method
        } else {
            "*"
        };
        let armed = map.get_mut(key)?;
        let failure = armed.failure.clone();
        let spent = match &mut armed.times {
            Times::Always => false,
            Times::Once => true,
            Times::Count(n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
        };
        if spent {
            map.remove(key);
        }
        Some(failure)
    }
}

/// A running simulator. Dropping it (or [`TelintaSim::stop`]) shuts both listeners down.
#[derive(Debug)]
pub struct TelintaSim {
    shared: Arc<Shared>,
    admin: Option<server::Listener>,
    voicemail: Option<server::Listener>,
    admin_url: String,
    voicemail_url: String,
    opts: SimOptions,
}

/// `"1"` + 10 digits for a 10-digit number; anything else unchanged.
fn wire(number: &str) -> String {
    if wire::is_ten_digits(number) {
        format!("1{number}")
    } else {
        number.to_string()
    }
}

impl TelintaSim {
    /// Starts a simulator with [`SimOptions::default`] and this seed.
    pub fn start(seed: u64) -> io::Result<TelintaSim> {
        TelintaSim::start_with(SimOptions {
            seed,
            ..SimOptions::default()
        })
    }

    /// Starts a simulator with these options.
    pub fn start_with(opts: SimOptions) -> io::Result<TelintaSim> {
        let user = SimUser {
            login: opts.login.clone(),
            password: opts.password.clone(),
            token: opts.token.clone(),
        };
        let mut st = State::new(opts.seed, user);
        st.products.extend(opts.products.iter().copied());
        st.frozen_on_add = opts.frozen_on_add;
        st.vendor_batches
            .extend(opts.vendor_batches.iter().map(|(i, n)| (*i, n.clone())));
        st.denied.extend(opts.denied_methods.iter().cloned());
        for (i, name) in &opts.pricing_batches {
            st.batches.insert(
                *i,
                SimPricingBatch {
                    i_do_batch: *i,
                    name: name.clone(),
                    i_customer: None,
                },
            );
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(st),
            failures: Mutex::new(HashMap::new()),
            stopping: Mutex::new(false),
            wake: Condvar::new(),
        });
        let workers = opts.workers.max(1);
        let admin = server::Listener::spawn(shared.clone(), handlers::Api::Admin, workers)?;
        let voicemail =
            server::Listener::spawn(shared.clone(), handlers::Api::Voicemail, workers.min(2))?;
        log::info!(
            "telinta simulator on {} (voicemail {})",
            admin.url,
            voicemail.url
        );
        Ok(TelintaSim {
            admin_url: admin.url.clone(),
            voicemail_url: voicemail.url.clone(),
            admin: Some(admin),
            voicemail: Some(voicemail),
            shared,
            opts,
        })
    }

    /// Base URL of the admin API, e.g. `http://127.0.0.1:40123` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.admin_url
    }

    /// Base URL of the voicemail (UM) API.
    pub fn voicemail_url(&self) -> &str {
        &self.voicemail_url
    }

    /// The unified-messaging domain its voicemail server expects at every login.
    pub fn voicemail_domain(&self) -> &str {
        handlers::UM_DOMAIN
    }

    /// The login the simulator accepts.
    pub fn login(&self) -> &str {
        &self.opts.login
    }

    /// The password the simulator accepts.
    pub fn password(&self) -> &str {
        &self.opts.password
    }

    /// The first configured pricing batch (1 with the default options), or 0.
    pub fn default_pricing_batch(&self) -> i64 {
        self.opts.pricing_batches.first().map_or(0, |b| b.0)
    }

    /// Client settings pointing at this simulator (both URLs, its login and password,
    /// a 5-second timeout).
    pub fn client_config(&self) -> TelintaClientConfig {
        let mut cfg = TelintaClientConfig::new(
            self.admin_url.clone(),
            self.opts.login.clone(),
            Credential::Password(self.opts.password.clone().into()),
        );
        cfg.voicemail_url = Some(self.voicemail_url.clone());
        cfg.voicemail_domain = Some(self.voicemail_domain().to_string());
        cfg.timeout = Duration::from_secs(5);
        cfg
    }

    /// Stops both listeners and waits for their worker threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        {
            let mut s = self
                .shared
                .stopping
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *s = true;
        }
        self.shared.wake.notify_all();
        for l in [self.admin.take(), self.voicemail.take()]
            .into_iter()
            .flatten()
        {
            l.stop();
        }
    }

    // ---- seeding ---------------------------------------------------------------------

    /// Adds free numbers (10 digits or `"1"` + 10) with an optional pricing batch;
    /// numbers already present, or not of that shape, are skipped. Returns how many
    /// were added.
    pub fn add_free_numbers<I, S>(&self, numbers: I, i_do_batch: Option<i64>) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut st = self.shared.state();
        numbers
            .into_iter()
            .filter(|n| {
                let w = wire(n.as_ref());
                let ok = w.len() == 11 && w.starts_with('1') && wire::is_ten_digits(&w[1..]);
                ok && st.insert_did(&w, None, i_do_batch, "").is_some()
            })
            .count()
    }

    /// Adds `count` new free numbers generated from the seed and returns them (10 digits).
    /// 100 000 numbers take well under a second.
    pub fn seed_free_numbers(&self, count: usize, i_do_batch: Option<i64>) -> Vec<String> {
        const NPAS: [u32; 12] = [212, 206, 305, 310, 312, 404, 415, 512, 617, 646, 702, 718];
        let mut st = self.shared.state();
        let mut added = Vec::with_capacity(count);
        let mut attempts = 0usize;
        while added.len() < count && attempts < count.saturating_mul(20).max(1000) {
            attempts += 1;
            let r = st.next_u64();
            let npa = NPAS[(r % NPAS.len() as u64) as usize];
            let nxx = 200 + (r >> 8) % 800;
            let line = (r >> 20) % 10_000;
            let number = format!("{npa}{nxx:03}{line:04}");
            if st
                .insert_did(&wire(&number), None, i_do_batch, "")
                .is_some()
            {
                added.push(number);
            }
        }
        added
    }

    /// Adds a customer named `name`; returns its `i_customer`.
    pub fn add_customer(&self, name: &str) -> i64 {
        let mut st = self.shared.state();
        let i = st.next_id();
        st.customers.insert(
            i,
            SimCustomer {
                i_customer: i,
                name: name.to_string(),
                email: name.contains('@').then(|| name.to_string()),
                i_parent: None,
                iso_4217: "USD".into(),
                i_customer_type: 1,
                bill_status: "O".into(),
                blocked: false,
                i_do_batch: None,
            },
        );
        i
    }

    /// Makes `i_product` exist.
    pub fn add_product(&self, i_product: i64) {
        self.shared.state().products.insert(i_product);
    }

    /// Adds a pricing batch; returns its `i_do_batch`.
    pub fn add_pricing_batch(&self, name: &str) -> i64 {
        let mut st = self.shared.state();
        let i = st.next_id();
        let b = SimPricingBatch {
            i_do_batch: i,
            name: name.to_string(),
            i_customer: None,
        };
        st.batches.insert(i, b);
        i
    }

    fn modify_did(&self, number: &str, f: impl FnOnce(&mut SimDid)) -> bool {
        let mut st = self.shared.state();
        match st.did_by_number(&wire(number)).map(|d| d.i_did_number) {
            Some(i) => st.modify_did(i, f),
            None => false,
        }
    }

    /// Sets or clears a number's pricing batch. False if the number (or batch) is unknown.
    pub fn set_pricing_batch(&self, number: &str, i_do_batch: Option<i64>) -> bool {
        if i_do_batch.is_some_and(|b| !self.shared.state().batches.contains_key(&b)) {
            return false;
        }
        self.modify_did(number, |d| d.i_do_batch = i_do_batch)
    }

    /// Sets or clears a number's owner customer. False if the number is unknown.
    pub fn set_owner(&self, number: &str, i_customer: Option<i64>) -> bool {
        self.modify_did(number, |d| d.i_customer = i_customer)
    }

    /// Freezes or unfreezes a number. False if the number is unknown.
    pub fn set_frozen(&self, number: &str, frozen: bool) -> bool {
        self.modify_did(number, |d| d.frozen = frozen)
    }

    /// Whether `DID/add_number` without `frozen` creates frozen numbers (the default).
    pub fn set_frozen_on_add(&self, frozen: bool) {
        self.shared.state().frozen_on_add = frozen;
    }

    /// Blocks or unblocks the account `number`. False if there is no such account.
    pub fn set_blocked(&self, number: &str, blocked: bool) -> bool {
        let mut st = self.shared.state();
        let Some(i) = st.account_by_id(&wire(number)).map(|a| a.i_account) else {
            return false;
        };
        st.accounts
            .get_mut(&i)
            .map(|a| a.blocked = blocked)
            .is_some()
    }

    /// Sets the answering mode of the account `number` (`ring`, `ring_forward`,
    /// `forward`, `voicemail` …). False if there is no such account.
    pub fn set_answering_mode(&self, number: &str, mode: &str) -> bool {
        let mut st = self.shared.state();
        let Some(i) = st.account_by_id(&wire(number)).map(|a| a.i_account) else {
            return false;
        };
        st.accounts
            .get_mut(&i)
            .map(|a| {
                a.service_features
                    .insert(account::ANSWERING_MODE.to_string(), mode.to_string())
            })
            .is_some()
    }

    /// The answering mode accounts created from now on get (default `ring_forward`).
    pub fn set_default_answering_mode(&self, mode: &str) {
        self.shared.state().default_answering_mode = mode.to_string();
    }

    /// Makes `method` answer a permission fault, as for a login without that right.
    pub fn deny(&self, method: &str) {
        self.shared.state().denied.insert(method.to_string());
    }

    /// Undoes [`TelintaSim::deny`].
    pub fn allow(&self, method: &str) {
        self.shared.state().denied.remove(method);
    }

    /// Makes `method` answer success while changing nothing: a write that "did not take",
    /// for the client's read-back checks.
    pub fn ignore_writes(&self, method: &str) {
        self.shared.state().ignored.insert(method.to_string());
    }

    /// Undoes [`TelintaSim::ignore_writes`].
    pub fn honour_writes(&self, method: &str) {
        self.shared.state().ignored.remove(method);
    }

    // ---- inspection ------------------------------------------------------------------

    /// A copy of the inventory entry for `number` (10 digits or `"1"` + 10).
    pub fn did(&self, number: &str) -> Option<SimDid> {
        self.shared.state().did_by_number(&wire(number)).cloned()
    }

    /// How many numbers the inventory holds.
    pub fn did_count(&self) -> usize {
        self.shared.state().did_count()
    }

    /// A copy of a customer.
    pub fn customer(&self, i_customer: i64) -> Option<SimCustomer> {
        self.shared.state().customers.get(&i_customer).cloned()
    }

    /// A copy of the customer with this exact name.
    pub fn customer_by_name(&self, name: &str) -> Option<SimCustomer> {
        self.shared.state().customer_by_name(name).cloned()
    }

    /// A copy of the account whose id is `number` (10 digits or `"1"` + 10).
    pub fn account(&self, number: &str) -> Option<SimAccount> {
        self.shared.state().account_by_id(&wire(number)).cloned()
    }

    /// The follow-me record and numbers of the account `number`; `None` if the account
    /// has never had one.
    pub fn follow_me(&self, number: &str) -> Option<SimFollowMe> {
        let st = self.shared.state();
        let i = st.account_by_id(&wire(number))?.i_account;
        st.followme.get(&i).cloned()
    }

    /// The voicemail PIN of the account `number`, if set.
    pub fn voicemail_pin(&self, number: &str) -> Option<String> {
        self.shared.state().vm_pins.get(&wire(number)).cloned()
    }

    /// How many requests reached `Service/method` (including refused and failed ones).
    pub fn call_count(&self, method: &str) -> u64 {
        self.shared.state().calls.get(method).copied().unwrap_or(0)
    }

    /// Requests per `Service/method`.
    pub fn call_counts(&self) -> BTreeMap<String, u64> {
        self.shared.state().calls.clone()
    }

    /// Sets every call count back to zero.
    pub fn reset_call_counts(&self) {
        self.shared.state().calls.clear();
    }

    /// How many sessions are currently valid.
    pub fn session_count(&self) -> usize {
        self.shared.state().sessions.len()
    }

    // ---- failure injection -----------------------------------------------------------

    /// Makes the next `times` calls of `method` (`"Service/method"`, or `"*"` for every
    /// method without its own failure) answer with `failure`. Replaces a failure
    /// already armed for that method.
    pub fn fail(&self, method: &str, failure: Failure, times: Times) {
        if times == Times::Count(0) {
            return;
        }
        let mut map = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.insert(method.to_string(), Armed { failure, times });
    }

    /// [`TelintaSim::fail`] with [`Times::Once`].
    pub fn fail_once(&self, method: &str, failure: Failure) {
        self.fail(method, failure, Times::Once);
    }

    /// [`TelintaSim::fail`] with [`Times::Always`].
    pub fn fail_always(&self, method: &str, failure: Failure) {
        self.fail(method, failure, Times::Always);
    }

    /// Disarms the failure of one method.
    pub fn clear_failure(&self, method: &str) {
        let mut map = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.remove(method);
    }

    /// Disarms every failure.
    pub fn clear_failures(&self) {
        let mut map = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        map.clear();
    }

    /// Forgets every session and access token, as if they all expired: the next call
    /// of any client gets `Server.Session.check_auth.auth_failed`.
    pub fn expire_sessions(&self) {
        let mut st = self.shared.state();
        st.sessions.clear();
        st.tokens.clear();
    }
}

impl Drop for TelintaSim {
    fn drop(&mut self) {
        self.shutdown();
    }
}
