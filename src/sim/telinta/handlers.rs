//! Method handlers of the simulator (docs/telinta.md, "Simulator"): dispatch,
//! authentication, the Session, Customer and Voicemail services. Account handlers
//! are in `account.rs`, DID handlers in `did.rs`.
//!
//! Each handler reads `params`, changes [`State`] and returns the reply object or a
//! [`Fault`]. Fault codes marked *(fake)* in docs/telinta.md ("Simulator") are placeholders.

use serde_json::{Map, Value, json};

use super::state::{SimCustomer, State};
use super::wire::{flag, int, text, yn};
use super::{account, did};

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Api {
    /// The PortaBilling admin API (`base_url`).
    Admin,
    /// The unified-messaging API (`voicemail_url`).
    Voicemail,
}

/// A PortaBilling fault: HTTP 500 `{"faultcode","faultstring"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fault {
    pub code: String,
    pub message: String,
}

pub(super) fn fault(code: &str, message: impl Into<String>) -> Fault {
    Fault {
        code: code.to_string(),
        message: message.into(),
    }
}

/// `Client.bad_params` *(fake)*.
pub(super) fn bad_params(message: impl Into<String>) -> Fault {
    fault("Client.bad_params", message)
}

/// The credentials found in a request, whichever encoding it used.
#[derive(Debug, Clone, Default)]
pub(super) struct Credentials {
    pub session_id: Option<String>,
    pub login: Option<String>,
    pub password: Option<String>,
    pub token: Option<String>,
    pub bearer: Option<String>,
    /// The unified-messaging `domain` (voicemail logins).
    pub domain: Option<String>,
}

impl Credentials {
    /// Reads an `auth_info` object.
    pub(super) fn from_auth_info(m: &Map<String, Value>, bearer: Option<String>) -> Self {
        Credentials {
            session_id: text(m.get("session_id")),
            login: text(m.get("login")),
            password: text(m.get("password")),
            token: text(m.get("token")),
            bearer,
            domain: text(m.get("domain")),
        }
    }
}

type Reply = Result<Value, Fault>;
type Params = Map<String, Value>;

// ---- parameter readers ---------------------------------------------------------------

pub(super) fn opt_int(p: &Params, key: &str) -> Result<Option<i64>, Fault> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        v => int(v)
            .map(Some)
            .ok_or_else(|| bad_params(format!("{key} must be an integer"))),
    }
}

pub(super) fn req_int(p: &Params, key: &str) -> Result<i64, Fault> {
    opt_int(p, key)?.ok_or_else(|| bad_params(format!("{key} is required")))
}

pub(super) fn opt_str(p: &Params, key: &str) -> Result<Option<String>, Fault> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        v => text(v)
            .map(Some)
            .ok_or_else(|| bad_params(format!("{key} must be a string"))),
    }
}

pub(super) fn req_str(p: &Params, key: &str) -> Result<String, Fault> {
    opt_str(p, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| bad_params(format!("{key} is required")))
}

pub(super) fn opt_flag(p: &Params, key: &str) -> Result<Option<bool>, Fault> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        v => flag(v)
            .map(Some)
            .ok_or_else(|| bad_params(format!("{key} must be Y or N"))),
    }
}

pub(super) fn req_obj<'a>(p: &'a Params, key: &str) -> Result<&'a Params, Fault> {
    p.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| bad_params(format!("{key} must be an object")))
}

pub(super) fn opt_mode(p: &Params, key: &str) -> Result<Option<String>, Fault> {
    match opt_str(p, key)? {
        None => Ok(None),
        Some(m) if ["N", "C", "Y", "U", "F"].contains(&m.as_str()) => Ok(Some(m)),
        Some(_) => Err(bad_params(format!("{key} must be one of N, C, Y, U, F"))),
    }
}

// ---- dispatch ------------------------------------------------------------------------

const ADMIN_METHODS: &[&str] = &[
    "Session/logout",
    "Session/ping",
    "Account/get_account_info",
    "Account/get_account_list",
    "Account/add_account",
    "Account/update_account",
    "Account/get_account_followme",
    "Account/update_account_followme",
    "Account/add_followme_number",
    "Account/update_followme_number",
    "Account/delete_followme_number",
    "Account/update_service_features",
    "Account/get_service_features",
    "Customer/get_customer_info",
    "Customer/get_customer_list",
    "Customer/add_customer",
    "Product/get_product_info",
    "DID/get_vendor_batch_list",
    "DID/get_number_list",
    "DID/get_number_info",
    "DID/add_number",
    "DID/update_number",
    "DID/assign_did_to_customer",
    "DID/release_did_from_customer",
    "DID/assign_did_to_owner_batch",
    "DID/get_owner_batch_list",
];

/// Runs `Service/method` for an already-parsed request.
pub(super) fn dispatch(
    st: &mut State,
    api: Api,
    method: &str,
    creds: &Credentials,
    p: &Params,
) -> Reply {
    let unknown = || fault("Client.unknown_method", format!("unknown method {method}"));
    match api {
        Api::Admin if method == "Session/login" => login(st, p),
        Api::Admin if ADMIN_METHODS.contains(&method) => {
            authenticate(st, creds)?;
            if st.denied.contains(method) {
                return Err(fault(
                    "Server.Session.permission_denied",
                    format!("Access denied: this login has no permission for {method}"),
                ));
            }
            if st.ignored.contains(method) {
                // Answer as if done, change nothing: run it on a scratch copy.
                let mut scratch = st.clone();
                scratch.ignored.clear();
                return dispatch(&mut scratch, api, method, creds, p);
            }
            match method {
                "Session/logout" => logout(st, creds, p),
                "Session/ping" => ping(st, p),
                "Customer/get_customer_info" => get_customer_info(st, p),
                "Customer/get_customer_list" => get_customer_list(st, p),
                "Customer/add_customer" => add_customer(st, p),
                "Product/get_product_info" => get_product_info(st, p),
                "DID/get_vendor_batch_list" => Ok(vendor_batch_list(st)),
                _ => account::dispatch(st, method, p)
                    .or_else(|| did::dispatch(st, method, p))
                    .unwrap_or_else(|| Err(unknown())),
            }
        }
        Api::Voicemail if method == "Voicemail/get_vm_settings" => {
            let id = authenticate_account(st, creds)?;
            let pin = st.vm_pins.get(&id);
            Ok(json!({ "vm_settings": pin.map(|p| json!({ "password": p })).unwrap_or(json!({})) }))
        }
        Api::Voicemail if method == "Voicemail/set_vm_settings" => {
            let id = authenticate_account(st, creds)?;
            let settings = req_obj(p, "vm_settings")?;
            if let Some(pin) = opt_str(settings, "password")? {
                if pin.len() != 4 || !pin.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(fault(
                        "Server.Voicemail.invalid_password",
                        "The voicemail PIN must be 4 digits",
                    ));
                }
                st.vm_pins.insert(id, pin);
            }
            Ok(json!({ "vm_settings_saved": 1 }))
        }
        _ => Err(unknown()),
    }
}

// ---- Session ---------------------------------------------------------------------------

fn check_auth_failed() -> Fault {
    fault(
        "Server.Session.check_auth.auth_failed",
        "Session is not valid or has expired",
    )
}

fn login_failed() -> Fault {
    fault(
        "Server.Session.auth_failed",
        "The login or password is incorrect. Please note: your password is case sensitive.",
    )
}

fn user_matches(
    st: &State,
    login: Option<&str>,
    password: Option<&str>,
    token: Option<&str>,
) -> bool {
    let u = &st.user;
    login == Some(u.login.as_str())
        && (password == Some(u.password.as_str())
            || (token.is_some() && token == u.token.as_deref()))
}

/// Any of: a known bearer token, a known session, or the configured login + password/token.
fn authenticate(st: &State, c: &Credentials) -> Result<(), Fault> {
    if let Some(b) = &c.bearer {
        return if st.tokens.contains(b) {
            Ok(())
        } else {
            Err(check_auth_failed())
        };
    }
    if let Some(s) = &c.session_id {
        return if st.sessions.contains(s) {
            Ok(())
        } else {
            Err(check_auth_failed())
        };
    }
    if c.login.is_some() {
        let ok = user_matches(
            st,
            c.login.as_deref(),
            c.password.as_deref(),
            c.token.as_deref(),
        );
        return if ok { Ok(()) } else { Err(login_failed()) };
    }
    Err(fault(
        "Client.check_auth.envelope_missed",
        "No authentication information supplied",
    ))
}

/// The unified-messaging domain the simulated voicemail server expects at login.
pub const UM_DOMAIN: &str = "um.sim.invalid";

/// UM login: as the account, with its web password or its service password. Returns the account id.
fn authenticate_account(st: &State, c: &Credentials) -> Result<String, Fault> {
    let (Some(login), Some(password)) = (&c.login, &c.password) else {
        return Err(fault(
            "Client.check_auth.envelope_missed",
            "No authentication information supplied",
        ));
    };
    // Public UM clients always send the UM domain; the simulator insists on it.
    if c.domain.as_deref() != Some(UM_DOMAIN) {
        return Err(login_failed());
    }
    let acc = st.account_by_id(login).ok_or_else(login_failed)?;
    let ok = acc.password.as_deref() == Some(password.as_str())
        || (!acc.h323_password.is_empty() && acc.h323_password == *password);
    if ok {
        Ok(acc.id.clone())
    } else {
        Err(login_failed())
    }
}

fn login(st: &mut State, p: &Params) -> Reply {
    let login = opt_str(p, "login")?;
    let password = opt_str(p, "password")?;
    let token = opt_str(p, "token")?;
    if !user_matches(st, login.as_deref(), password.as_deref(), token.as_deref()) {
        return Err(login_failed());
    }
    let session_id = st.hex(16);
    let access_token = format!("sim.{}", st.hex(24));
    let refresh_token = st.hex(16);
    st.sessions.insert(session_id.clone());
    st.tokens.insert(access_token.clone());
    Ok(json!({
        "session_id": session_id,
        "access_token": access_token,
        "refresh_token": refresh_token,
        "expires_at": "2030-01-01 00:00:00",
        "expires_in": 900,
    }))
}

fn logout(st: &mut State, c: &Credentials, p: &Params) -> Reply {
    let sid = opt_str(p, "session_id")?.or_else(|| c.session_id.clone());
    let tok = opt_str(p, "access_token")?.or_else(|| c.bearer.clone());
    let removed =
        sid.is_some_and(|s| st.sessions.remove(&s)) | tok.is_some_and(|t| st.tokens.remove(&t));
    Ok(json!({ "success": i32::from(removed) }))
}

fn ping(st: &State, p: &Params) -> Reply {
    let valid = opt_str(p, "session_id")?.is_some_and(|s| st.sessions.contains(&s))
        || opt_str(p, "access_token")?.is_some_and(|t| st.tokens.contains(&t));
    Ok(json!({ "user_id": i32::from(valid) }))
}

// ---- Product and vendor batches --------------------------------------------------------

/// `{"i_product"}` → `{"product_info":{"i_product","name","iso_4217"}}`, or `{}` *(reply
/// shape [I])*.
fn get_product_info(st: &State, p: &Params) -> Reply {
    let i = req_int(p, "i_product")?;
    Ok(if st.products.contains(&i) {
        json!({ "product_info": { "i_product": i, "name": format!("Product {i}"), "iso_4217": "USD" } })
    } else {
        json!({})
    })
}

/// `{}` → `{"vendor_batch_list":[{"i_dv_batch","name"}]}` *(reply shape [I])*.
fn vendor_batch_list(st: &State) -> Value {
    let list: Vec<Value> = st
        .vendor_batches
        .iter()
        .map(|(i, n)| json!({ "i_dv_batch": i, "name": n }))
        .collect();
    json!({ "vendor_batch_list": list })
}

// ---- Customer ------------------------------------------------------------------------

fn customer_json(c: &SimCustomer) -> Value {
    json!({
        "i_customer": c.i_customer,
        "name": c.name,
        "email": c.email,
        "i_parent": c.i_parent,
        "iso_4217": c.iso_4217,
        "i_customer_type": c.i_customer_type,
        "bill_status": c.bill_status,
        "blocked": yn(c.blocked),
        "i_do_batch": c.i_do_batch,
    })
}

fn get_customer_info(st: &State, p: &Params) -> Reply {
    let found = if let Some(i) = opt_int(p, "i_customer")? {
        st.customers.get(&i)
    } else if let Some(n) = opt_str(p, "name")? {
        st.customer_by_name(&n)
    } else {
        return Err(bad_params("one of i_customer or name is required"));
    };
    Ok(found.map_or_else(
        || json!({}),
        |c| json!({ "customer_info": customer_json(c) }),
    ))
}

fn get_customer_list(st: &State, p: &Params) -> Reply {
    let name = opt_str(p, "name")?;
    let offset = opt_int(p, "offset")?.unwrap_or(0).max(0) as usize;
    let limit = opt_int(p, "limit")?.map_or(usize::MAX, |l| l.max(0) as usize);
    let list: Vec<Value> = st
        .customers
        .values()
        .filter(|c| name.as_deref().is_none_or(|n| did::like(n, &c.name)))
        .skip(offset)
        .take(limit)
        .map(customer_json)
        .collect();
    Ok(json!({ "customer_list": list }))
}

fn add_customer(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "customer_info")?;
    let name = req_str(info, "name")?;
    if st.customer_by_name(&name).is_some() {
        return Err(fault(
            "Server.Customer.duplicate_name",
            format!("Customer {name} already exists"),
        ));
    }
    let c = SimCustomer {
        i_customer: st.next_id(),
        name,
        email: opt_str(info, "email")?,
        i_parent: opt_int(info, "i_parent")?,
        iso_4217: opt_str(info, "iso_4217")?.unwrap_or_else(|| "USD".into()),
        i_customer_type: 1,
        bill_status: "O".into(),
        blocked: false,
        i_do_batch: opt_int(info, "i_do_batch")?,
    };
    let i = c.i_customer;
    st.customers.insert(i, c);
    Ok(json!({ "i_customer": i }))
}

/// Today's date (UTC) as `YYYY-MM-DD`.
pub(super) fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Civil-from-days (H. Hinnant).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
