//! Plain data types of the [`Telinta`](super::Telinta) trait.
//!
//! Phone numbers are the portal's 10-digit strings (`"2125551234"`) both ways: the
//! client adds the leading `"1"` when it talks to Telinta and strips it from replies.
//! A number from Telinta that is not `"1"` + 10 digits is passed through unchanged
//! (the portal's own number parser will reject it).
//!
//! Types that carry a password implement `Debug` by hand and print `***` instead.

use std::fmt;

/// One number of the Telinta DID inventory (`NumberInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DidNumber {
    /// Telinta's key of the number.
    pub i_did_number: i64,
    /// 10 digits (see the module notes).
    pub number: String,
    /// The customer the number is assigned to, if any.
    pub i_customer: Option<i64>,
    /// The pricing ("owner") batch, if any.
    pub i_do_batch: Option<i64>,
    /// The pricing batch's name, if any.
    pub owner_batch_name: Option<String>,
    /// `frozen == "Y"`: the number may not be assigned.
    pub frozen: bool,
    /// `is_used == 1`: provisioned as an account id.
    pub is_used: bool,
    /// Free text.
    pub description: String,
}

impl DidNumber {
    /// Rule of docs/telinta.md ("DID inventory"): the number has a pricing batch iff `i_do_batch` is
    /// set and non-zero, or `owner_batch_name` is non-empty.
    pub fn has_pricing_batch(&self) -> bool {
        self.i_do_batch.is_some_and(|b| b != 0)
            || self
                .owner_batch_name
                .as_deref()
                .is_some_and(|n| !n.trim().is_empty())
    }
}

/// A pricing ("owner") batch from `DID/get_owner_batch_list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingBatch {
    pub i_do_batch: i64,
    pub name: String,
    /// Empty for admin-level batches.
    pub i_customer: Option<i64>,
}

/// A Telinta customer (`customer_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub i_customer: i64,
    pub name: String,
    /// The managing reseller.
    pub i_parent: Option<i64>,
    pub iso_4217: String,
    /// `O` open, `S` suspended, `C` closed, `E` exported, `D` deactivated.
    pub bill_status: String,
    pub blocked: bool,
    /// The customer's "auto-provision DIDs via batch" pricing batch.
    pub i_do_batch: Option<i64>,
}

/// Parameters of `Customer/add_customer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCustomer {
    /// Unique name; the portal uses the customer's email address.
    pub name: String,
    pub email: Option<String>,
    /// ISO 4217 currency, e.g. `"USD"`.
    pub iso_4217: String,
    /// Managing reseller, when the login may create customers under several.
    pub i_parent: Option<i64>,
}

impl NewCustomer {
    /// A customer named `name` with email `name` when it looks like one, in USD.
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let email = name.contains('@').then(|| name.clone());
        NewCustomer {
            name,
            email,
            iso_4217: "USD".to_string(),
            i_parent: None,
        }
    }
}

/// Call forwarding mode, `account_info.follow_me_enabled` (docs/telinta.md, "Forwarding").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardMode {
    /// `N`: no forwarding.
    Off,
    /// `C`: simple forwarding to one number ("Forward to CLD").
    Simple,
    /// `Y`: follow-me.
    FollowMe,
    /// `U`: forward to a SIP URI.
    SipUri,
    /// `F`: advanced forwarding.
    Advanced,
    /// A value this client does not know, kept as sent.
    Other(String),
}

impl ForwardMode {
    /// The one-letter wire code.
    pub fn code(&self) -> &str {
        match self {
            ForwardMode::Off => "N",
            ForwardMode::Simple => "C",
            ForwardMode::FollowMe => "Y",
            ForwardMode::SipUri => "U",
            ForwardMode::Advanced => "F",
            ForwardMode::Other(s) => s,
        }
    }

    /// Parses a wire code; an empty or missing value means `Off`.
    pub fn from_code(code: &str) -> Self {
        match code {
            "" | "N" => ForwardMode::Off,
            "C" => ForwardMode::Simple,
            "Y" => ForwardMode::FollowMe,
            "U" => ForwardMode::SipUri,
            "F" => ForwardMode::Advanced,
            other => ForwardMode::Other(other.to_string()),
        }
    }
}

/// A Telinta account (`account_info`); for a DID line its `id` is the number.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    pub i_account: i64,
    /// The account `id`, as 10 digits for a DID line.
    pub number: String,
    pub i_customer: Option<i64>,
    pub i_product: Option<i64>,
    /// -1 debit, 0 voucher, 1 credit, 2 alias.
    pub billing_model: Option<i64>,
    pub forward_mode: ForwardMode,
    pub blocked: bool,
    pub bill_status: Option<String>,
    /// Service password (`h323_password`). Secret.
    pub service_password: Option<String>,
    /// Web self-care login, if set.
    pub web_login: Option<String>,
    /// Web self-care password (`password`), if the API returns it. Secret.
    pub web_password: Option<String>,
}

impl fmt::Debug for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("i_account", &self.i_account)
            .field("number", &self.number)
            .field("i_customer", &self.i_customer)
            .field("i_product", &self.i_product)
            .field("billing_model", &self.billing_model)
            .field("forward_mode", &self.forward_mode)
            .field("blocked", &self.blocked)
            .field("bill_status", &self.bill_status)
            .field("service_password", &redacted(&self.service_password))
            .field("web_login", &self.web_login)
            .field("web_password", &redacted(&self.web_password))
            .finish()
    }
}

/// Parameters of `Account/add_account`.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAccount {
    /// 10 digits; becomes the account `id` `"1"` + number.
    pub number: String,
    pub i_customer: i64,
    pub i_product: i64,
    /// 1 (credit) unless told otherwise.
    pub billing_model: i64,
    /// Service password (`h323_password`). Secret.
    pub service_password: String,
    /// `YYYY-MM-DD`; `None` leaves it to Telinta (today).
    pub activation_date: Option<String>,
    pub forward_mode: Option<ForwardMode>,
    pub web_login: Option<String>,
    /// Secret.
    pub web_password: Option<String>,
}

impl NewAccount {
    /// A credit account for `number` under `i_customer` with product `i_product`.
    pub fn new(
        number: impl Into<String>,
        i_customer: i64,
        i_product: i64,
        service_password: impl Into<String>,
    ) -> Self {
        NewAccount {
            number: number.into(),
            i_customer,
            i_product,
            billing_model: 1,
            service_password: service_password.into(),
            activation_date: None,
            forward_mode: None,
            web_login: None,
            web_password: None,
        }
    }
}

impl fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAccount")
            .field("number", &self.number)
            .field("i_customer", &self.i_customer)
            .field("i_product", &self.i_product)
            .field("billing_model", &self.billing_model)
            .field("service_password", &"***")
            .field("activation_date", &self.activation_date)
            .field("forward_mode", &self.forward_mode)
            .field("web_login", &self.web_login)
            .field("web_password", &redacted(&self.web_password))
            .finish()
    }
}

/// Parameters of `Account/update_account`: only the `Some` fields are sent.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountUpdate {
    pub i_account: i64,
    /// New service password (`h323_password`). Secret.
    pub service_password: Option<String>,
    pub forward_mode: Option<ForwardMode>,
    pub blocked: Option<bool>,
    /// New web self-care password. Secret.
    pub web_password: Option<String>,
}

impl AccountUpdate {
    /// An update of `i_account` that changes nothing yet.
    pub fn new(i_account: i64) -> Self {
        AccountUpdate {
            i_account,
            service_password: None,
            forward_mode: None,
            blocked: None,
            web_password: None,
        }
    }
}

impl fmt::Debug for AccountUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountUpdate")
            .field("i_account", &self.i_account)
            .field("service_password", &redacted(&self.service_password))
            .field("forward_mode", &self.forward_mode)
            .field("blocked", &self.blocked)
            .field("web_password", &redacted(&self.web_password))
            .finish()
    }
}

/// An account's follow-me record and forwarding numbers (`get_account_followme`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FollowMe {
    /// `followme_info`; `None` when the account never had one.
    pub settings: Option<FollowMeSettings>,
    /// `followme_numbers`, in Telinta's order.
    pub numbers: Vec<FollowMeNumber>,
}

/// `followme_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowMeSettings {
    pub i_follow_me: Option<i64>,
    /// `"Order"` etc.
    pub sequence: Option<String>,
    pub timeout: Option<u32>,
}

/// One forwarding number (`FollowMeNumberInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowMeNumber {
    pub i_follow_me_number: i64,
    /// 10 digits for a US destination (see the module notes).
    pub redirect_number: String,
    pub name: Option<String>,
    pub timeout: Option<u32>,
    pub active: bool,
    pub period: Option<String>,
}

/// Parameters of `Account/add_followme_number`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowMeNumber {
    pub i_account: i64,
    /// 10 digits; sent as `"1"` + number.
    pub redirect_number: String,
    pub name: String,
    /// Ring time in seconds.
    pub timeout: u32,
    pub active: bool,
}

impl NewFollowMeNumber {
    /// An active forwarding number named `"forward"` ringing 20 s.
    pub fn new(i_account: i64, redirect_number: impl Into<String>) -> Self {
        NewFollowMeNumber {
            i_account,
            redirect_number: redirect_number.into(),
            name: "forward".to_string(),
            timeout: 20,
            active: true,
        }
    }
}

/// Parameters of `Account/update_followme_number`: only the `Some` fields are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowMeNumberUpdate {
    pub i_follow_me_number: i64,
    /// 10 digits; sent as `"1"` + number.
    pub redirect_number: Option<String>,
    pub active: Option<bool>,
    pub timeout: Option<u32>,
    pub name: Option<String>,
}

impl FollowMeNumberUpdate {
    /// An update of `i_follow_me_number` that changes nothing yet.
    pub fn new(i_follow_me_number: i64) -> Self {
        FollowMeNumberUpdate {
            i_follow_me_number,
            redirect_number: None,
            active: None,
            timeout: None,
            name: None,
        }
    }
}

fn redacted(v: &Option<String>) -> Option<&'static str> {
    v.as_ref().map(|_| "***")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pricing_batch_rule() {
        let mut d = DidNumber {
            i_did_number: 1,
            number: "2125551234".into(),
            i_customer: None,
            i_do_batch: None,
            owner_batch_name: None,
            frozen: false,
            is_used: false,
            description: String::new(),
        };
        assert!(!d.has_pricing_batch());
        d.i_do_batch = Some(0);
        assert!(!d.has_pricing_batch());
        d.owner_batch_name = Some(" ".into());
        assert!(!d.has_pricing_batch());
        d.owner_batch_name = Some("US".into());
        assert!(d.has_pricing_batch());
        d.owner_batch_name = None;
        d.i_do_batch = Some(7);
        assert!(d.has_pricing_batch());
    }

    #[test]
    fn debug_hides_passwords() {
        let mut a = NewAccount::new("2125551234", 1, 2, "s3cr3t-pw");
        a.web_password = Some("web-s3cr3t".into());
        let s = format!("{a:?}");
        assert!(!s.contains("s3cr3t"), "{s}");
        let mut u = AccountUpdate::new(5);
        u.service_password = Some("s3cr3t-pw".into());
        assert!(!format!("{u:?}").contains("s3cr3t"));
    }

    #[test]
    fn forward_mode_codes_round_trip() {
        for c in ["N", "C", "Y", "U", "F", "Q"] {
            assert_eq!(ForwardMode::from_code(c).code(), c);
        }
        assert_eq!(ForwardMode::from_code(""), ForwardMode::Off);
    }
}

/// One entry of an account's `service_features` (`Account/get_service_features`).
/// Reference: docs/telinta.md, "Forwarding".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceFeature {
    /// e.g. `forward_mode`.
    pub name: String,
    /// The value set on the account, if any.
    pub flag_value: Option<String>,
    /// The value in force (the account's own, or the product's when not overridden).
    pub effective_flag_value: Option<String>,
}

impl ServiceFeature {
    /// The value in force: `effective_flag_value`, else `flag_value`.
    pub fn value(&self) -> Option<&str> {
        self.effective_flag_value
            .as_deref()
            .or(self.flag_value.as_deref())
    }
}

/// The service feature that carries the forwarding mode (`N`, `C`, `Y`, `U`, `F`).
/// Confirmed by a public PortaOne script (docs/telinta.md, "Forwarding").
pub const FORWARD_MODE_FEATURE: &str = "forward_mode";

/// The service feature read as the account's answering mode. **Unconfirmed**: PortaOne
/// documents that calls are forwarded only when the answering mode includes forwarding,
/// but no public source names the API field; didport only reads it, and only when
/// Telinta reports a feature of this name (docs/telinta.md, "Unconfirmed").
pub const ANSWERING_MODE_FEATURE: &str = "answering_mode";

/// True when an answering-mode value lets calls be forwarded (it mentions forwarding).
pub fn answering_mode_forwards(value: &str) -> bool {
    value.to_ascii_lowercase().contains("forward")
}

/// A product (`Product/get_product_info`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub i_product: i64,
    pub name: String,
    /// The product's currency, when reported.
    pub iso_4217: Option<String>,
}

/// A vendor batch (`DID/get_vendor_batch_list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorBatch {
    pub i_dv_batch: i64,
    pub name: String,
}
