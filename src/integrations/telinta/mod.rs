//! Telinta (PortaBilling) integration: the [`Telinta`] trait the portal calls, the real
//! client ([`TelintaClient`], ureq). Its simulator lives apart, in `crate::sim::telinta`.
//!
//! Wire format and what is confirmed: docs/telinta.md. The trait speaks plain Rust types;
//! numbers are the portal's 10-digit strings, and the client adds the leading `"1"`
//! Telinta expects. No ureq type appears outside `client/`.
//!
//! Every method is blocking and bounded by the client's timeout. A call that fails
//! with an auth fault is retried exactly once after a fresh login; nothing else is
//! retried (the workflow layer decides what to do with an error).

mod client;
mod config;
mod error;
mod types;
mod wire;

#[cfg(test)]
#[cfg(feature = "demo")]
mod tests;

use std::collections::HashSet;

pub use client::{TelintaClient, random_service_password};
pub use config::{Credential, TelintaClientConfig};
pub use error::{ErrorKind, TelintaError};
pub use types::{
    ANSWERING_MODE_FEATURE, Account, AccountUpdate, Customer, DidNumber, FORWARD_MODE_FEATURE,
    FollowMe, FollowMeNumber, FollowMeNumberUpdate, FollowMeSettings, ForwardMode, NewAccount,
    NewCustomer, NewFollowMeNumber, PricingBatch, Product, ServiceFeature, VendorBatch,
    answering_mode_forwards,
};

/// The PortaBilling methods the activation and settings flows call, with the parameters
/// `probe` sends: each names nothing that exists, so the call can change nothing.
pub const FLOW_METHODS: &[(&str, &str)] = &[
    (
        "DID/get_number_list",
        r#"{"number":"10000000000","limit":1}"#,
    ),
    ("DID/add_number", r#"{"number_info":{}}"#),
    ("DID/update_number", r#"{"number_info":{"i_did_number":0}}"#),
    (
        "DID/assign_did_to_owner_batch",
        r#"{"i_did_number":0,"i_do_batch":0}"#,
    ),
    (
        "DID/assign_did_to_customer",
        r#"{"i_did_number":0,"i_customer":0}"#,
    ),
    ("Customer/get_customer_info", r#"{"i_customer":0}"#),
    ("Customer/add_customer", r#"{"customer_info":{}}"#),
    ("Account/get_account_info", r#"{"id":"0"}"#),
    ("Account/add_account", r#"{"account_info":{}}"#),
    (
        "Account/update_account",
        r#"{"account_info":{"i_account":0}}"#,
    ),
    ("Account/get_service_features", r#"{"i_account":0}"#),
    (
        "Account/update_service_features",
        r#"{"i_account":0,"service_features":[]}"#,
    ),
    ("Account/get_account_followme", r#"{"i_account":0}"#),
    (
        "Account/update_account_followme",
        r#"{"i_account":0,"followme_info":{"i_account":0}}"#,
    ),
    (
        "Account/add_followme_number",
        r#"{"number_info":{"i_account":0}}"#,
    ),
    (
        "Account/update_followme_number",
        r#"{"number_info":{"i_follow_me_number":0}}"#,
    ),
];

/// Everything the portal asks of Telinta. Implemented by [`TelintaClient`]; tests of
/// the workflows can also implement it in memory, but prefer the client against
/// the Telinta simulator (`crate::sim::telinta`), which exercises the wire format too.
///
/// `number` arguments are 10 ASCII digits; anything else fails with
/// [`ErrorKind::InvalidInput`] before anything is sent.
pub trait Telinta: Send + Sync {
    // ---- Preflight (`didport check-upstream`) ------------------------------------------

    /// Logs in now (`Session/login`), replacing any session.
    fn sign_in(&self) -> Result<(), TelintaError>;

    /// The product `i_product`, or `None` (`Product/get_product_info`). **Unconfirmed**:
    /// the Product service is public, this method's reply shape is inferred
    /// (docs/telinta.md, "Unconfirmed").
    fn get_product(&self, i_product: i64) -> Result<Option<Product>, TelintaError>;

    /// The vendor batches visible to the login (`DID/get_vendor_batch_list`; name public,
    /// reply shape inferred).
    fn list_vendor_batches(&self) -> Result<Vec<VendorBatch>, TelintaError>;

    /// Calls `method` with parameters that change nothing (an empty or id-0 object), to
    /// learn whether this login may call it: `Err` with [`TelintaError::is_permission_fault`]
    /// means it may not; any other fault means it may (the method ran and refused the
    /// empty request). Only the methods the flows use are accepted.
    fn probe(&self, method: &str) -> Result<(), TelintaError>;

    // ---- DID inventory -------------------------------------------------------------

    /// One page of free, unassigned numbers (`DID/get_number_list` with `usage: "I"`:
    /// no customer, not used by an account), in Telinta's order. Page with `offset`
    /// until an empty page comes back; do not stop at a short page (Telinta may cap
    /// `limit`). Frozen numbers are included with `frozen = true`: skip them.
    fn list_free_numbers(&self, limit: u32, offset: u64) -> Result<Vec<DidNumber>, TelintaError>;

    /// The inventory entry whose number is exactly `"1"` + `number`, if any.
    fn find_number(&self, number: &str) -> Result<Option<DidNumber>, TelintaError>;

    /// Adds `number` to the DID inventory under vendor batch `i_dv_batch`
    /// (`DID/add_number`), **unfrozen** (`frozen: "N"`: PortaBilling's upload creates
    /// numbers frozen) and with pricing batch `i_do_batch` when given; returns its
    /// `i_did_number`. `frozen` and `i_do_batch` inside `number_info` are seen in a public
    /// import script (docs/telinta.md, "Frozen numbers"); read the number back after.
    fn add_number(
        &self,
        number: &str,
        i_dv_batch: i64,
        i_do_batch: Option<i64>,
        description: Option<&str>,
    ) -> Result<i64, TelintaError>;

    /// Unfreezes a number (`DID/update_number` with `number_info: {i_did_number,
    /// frozen: "N"}`). **Unconfirmed**: the method name is public, its parameters are
    /// inferred (docs/telinta.md, "Unconfirmed"); callers read the number back.
    fn unfreeze_number(&self, i_did_number: i64) -> Result<(), TelintaError>;

    /// The pricing batches visible to the login (`DID/get_owner_batch_list`).
    fn list_pricing_batches(&self) -> Result<Vec<PricingBatch>, TelintaError>;

    /// Attaches pricing batch `i_do_batch` to a number (`DID/assign_did_to_owner_batch`).
    /// **Unconfirmed**: the method name is public, its parameters are not; callers read
    /// the number back to see that the batch took (docs/telinta.md, "Unconfirmed").
    fn attach_pricing_batch(&self, i_did_number: i64, i_do_batch: i64) -> Result<(), TelintaError>;

    /// Assigns a number to a customer (`DID/assign_did_to_customer`). Check
    /// [`DidNumber::has_pricing_batch`] and the current owner first.
    fn assign_number_to_customer(
        &self,
        i_did_number: i64,
        i_customer: i64,
    ) -> Result<(), TelintaError>;

    // ---- Customers -------------------------------------------------------------------

    /// The customer with this `i_customer`, or `None`.
    fn get_customer(&self, i_customer: i64) -> Result<Option<Customer>, TelintaError>;

    /// The customer with exactly this name, or `None`.
    fn find_customer_by_name(&self, name: &str) -> Result<Option<Customer>, TelintaError>;

    /// Creates a customer; returns its `i_customer`.
    fn add_customer(&self, customer: &NewCustomer) -> Result<i64, TelintaError>;

    // ---- Accounts --------------------------------------------------------------------

    /// The account whose `id` is `"1"` + `number`, or `None` (never a fault).
    fn get_account(&self, number: &str) -> Result<Option<Account>, TelintaError>;

    /// Creates a number account; returns its `i_account`. An existing id fails with
    /// a fault for which [`TelintaError::is_duplicate_id`] is true.
    fn add_account(&self, account: &NewAccount) -> Result<i64, TelintaError>;

    /// Changes the `Some` fields of an account.
    fn update_account(&self, update: &AccountUpdate) -> Result<(), TelintaError>;

    /// The account's service features (`Account/get_service_features {i_account}`).
    fn get_service_features(&self, i_account: i64) -> Result<Vec<ServiceFeature>, TelintaError>;

    /// Sets service features (`Account/update_service_features`), each as
    /// `{name, flag_value, effective_flag_value, locked: 0, locks: []}` like the public
    /// "simple forward" script (docs/telinta.md, "Forwarding").
    fn update_service_features(
        &self,
        i_account: i64,
        features: &[(&str, &str)],
    ) -> Result<(), TelintaError>;

    // ---- Follow-me (call forwarding) -------------------------------------------------

    /// The follow-me record and forwarding numbers of an account. The current mode is
    /// [`Account::forward_mode`] from [`Telinta::get_account`].
    fn get_follow_me(&self, i_account: i64) -> Result<FollowMe, TelintaError>;

    /// Creates or updates the follow-me record (`update_account_followme`,
    /// sequence `Order`, ring `timeout` seconds).
    fn set_follow_me_settings(&self, i_account: i64, timeout: u32) -> Result<(), TelintaError>;

    /// Adds a forwarding number; returns its `i_follow_me_number`.
    fn add_follow_me_number(&self, number: &NewFollowMeNumber) -> Result<i64, TelintaError>;

    /// Changes the `Some` fields of a forwarding number (`Account/update_followme_number`).
    /// **Unconfirmed**: the method and its reply are public, the nesting of the parameters
    /// under `number_info` is inferred (docs/telinta.md, "Unconfirmed"); `set_forwarding`
    /// reads the numbers back.
    fn update_follow_me_number(&self, update: &FollowMeNumberUpdate) -> Result<(), TelintaError>;

    // ---- Voicemail -------------------------------------------------------------------

    /// Sets the voicemail PIN of the account `"1"` + `number` on the unified-messaging
    /// server (`Voicemail/set_vm_settings`, separate base URL), logging in there as
    /// the account with `account_password`. Unconfirmed (docs/telinta.md, "PIN"): which account
    /// password the UM server accepts, and whether it has a JSON API at all.
    fn set_voicemail_pin(
        &self,
        number: &str,
        account_password: &str,
        pin: &str,
    ) -> Result<(), TelintaError>;

    // ---- Provided recipes (built only from the methods above) ------------------------

    /// Sets the forwarding mode through the `forward_mode` service feature, then reads
    /// the features back: the mode in force must be `mode`, and when Telinta reports an
    /// answering mode it must include forwarding for any mode but `Off` (PortaOne: calls
    /// are forwarded only then). didport never writes the answering mode: its API name is
    /// unconfirmed (docs/telinta.md, "Forwarding").
    fn set_forward_mode(&self, i_account: i64, mode: ForwardMode) -> Result<(), TelintaError> {
        const M: &str = "Account/update_service_features";
        self.update_service_features(i_account, &[(FORWARD_MODE_FEATURE, mode.code())])?;
        let features = self.get_service_features(i_account)?;
        let value = |name: &str| {
            features
                .iter()
                .find(|f| f.name == name)
                .and_then(|f| f.value().map(str::to_string))
        };
        match value(FORWARD_MODE_FEATURE) {
            Some(v) if v == mode.code() => {}
            found => {
                return Err(TelintaError::new(
                    M,
                    ErrorKind::NotApplied(format!(
                        "forward_mode is {} instead of {}",
                        found.as_deref().unwrap_or("not reported"),
                        mode.code()
                    )),
                ));
            }
        }
        if mode != ForwardMode::Off
            && let Some(am) = value(ANSWERING_MODE_FEATURE)
            && !answering_mode_forwards(&am)
        {
            return Err(TelintaError::new(
                M,
                ErrorKind::NotApplied(format!(
                    "the account's answering mode is {am}, which does not forward calls; \
                     set it to one that includes forwarding in Telinta"
                )),
            ));
        }
        Ok(())
    }

    /// Sets the service password (`h323_password`), one of the two PIN targets, and
    /// reads the account back. The same field authenticates the account's calls
    /// (docs/telinta.md, "PIN").
    fn set_service_password(&self, account: &Account, password: &str) -> Result<(), TelintaError> {
        const M: &str = "Account/update_account";
        let mut u = AccountUpdate::new(account.i_account);
        u.service_password = Some(password.to_string());
        self.update_account(&u)?;
        let back = self.get_account(&account.number)?;
        if back.and_then(|a| a.service_password).as_deref() == Some(password) {
            Ok(())
        } else {
            Err(TelintaError::new(
                M,
                ErrorKind::NotApplied("the service password reads back unchanged".into()),
            ))
        }
    }

    /// "Forward all calls to this 10-digit number" (docs/telinta.md, "Forwarding"):
    /// create the follow-me record if missing, update the first forwarding number or add
    /// one, then set mode `C` through the `forward_mode` service feature; finally read
    /// the forwarding numbers back. Safe to run again after a partial failure.
    fn set_forwarding(&self, i_account: i64, number: &str) -> Result<(), TelintaError> {
        const M: &str = "Account/get_account_followme";
        if !is_ten_digits(number) {
            return Err(TelintaError::new(
                "Account/update_followme_number",
                ErrorKind::InvalidInput("forwarding number must be 10 digits".into()),
            ));
        }
        let current = self.get_follow_me(i_account)?;
        if current.settings.is_none() {
            self.set_follow_me_settings(i_account, 20)?;
        }
        match current.numbers.first() {
            Some(first) => {
                let mut u = FollowMeNumberUpdate::new(first.i_follow_me_number);
                u.redirect_number = Some(number.to_string());
                u.active = Some(true);
                self.update_follow_me_number(&u)?;
            }
            None => {
                self.add_follow_me_number(&NewFollowMeNumber::new(i_account, number))?;
            }
        }
        self.set_forward_mode(i_account, ForwardMode::Simple)?;
        let back = self.get_follow_me(i_account)?;
        match back.numbers.first() {
            Some(n) if n.redirect_number == number && n.active => Ok(()),
            Some(n) => Err(TelintaError::new(
                M,
                ErrorKind::NotApplied(format!(
                    "the forwarding number reads back as {}{}",
                    n.redirect_number,
                    if n.active { "" } else { " (inactive)" }
                )),
            )),
            None => Err(TelintaError::new(
                M,
                ErrorKind::NotApplied("no forwarding number reads back".into()),
            )),
        }
    }

    /// Turns forwarding off: mode `N` through the `forward_mode` service feature, read
    /// back. The forwarding number is left in place (it does nothing in mode `N`).
    fn clear_forwarding(&self, i_account: i64) -> Result<(), TelintaError> {
        self.set_forward_mode(i_account, ForwardMode::Off)
    }

    /// Every free number, paging with `page_size` until an empty page. Stops with
    /// [`ErrorKind::Malformed`] if a page brings nothing new (a server ignoring `offset`).
    fn list_all_free_numbers(&self, page_size: u32) -> Result<Vec<DidNumber>, TelintaError> {
        let page_size = page_size.max(1);
        let mut all = Vec::new();
        let mut seen = HashSet::new();
        let mut offset = 0u64;
        loop {
            let page = self.list_free_numbers(page_size, offset)?;
            if page.is_empty() {
                return Ok(all);
            }
            offset += page.len() as u64;
            let before = all.len();
            for n in page {
                if seen.insert(n.i_did_number) {
                    all.push(n);
                }
            }
            if all.len() == before {
                return Err(TelintaError::new(
                    "DID/get_number_list",
                    ErrorKind::Malformed("paging does not advance".into()),
                ));
            }
        }
    }
}

/// True for exactly 10 ASCII digits.
pub fn is_ten_digits(s: &str) -> bool {
    s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The portal's 10 digits as Telinta writes them: `"1"` + number.
fn to_wire_number(method: &str, number: &str) -> Result<String, TelintaError> {
    if is_ten_digits(number) {
        Ok(format!("1{number}"))
    } else {
        Err(TelintaError::new(
            method,
            ErrorKind::InvalidInput("a number must be exactly 10 digits".into()),
        ))
    }
}

/// Telinta's `"1"` + 10 digits as the portal's 10 digits; anything else unchanged.
fn from_wire_number(number: &str) -> String {
    match number.strip_prefix('1') {
        Some(rest) if is_ten_digits(rest) => rest.to_string(),
        _ => number.to_string(),
    }
}
