//! Account service handlers of the simulator: accounts, service features and
//! follow-me (docs/telinta.md, "Simulator").

use serde_json::{Map, Value, json};

use super::did;
use super::handlers::{
    Fault, bad_params, fault, opt_flag, opt_int, opt_mode, opt_str, req_int, req_obj, req_str,
    today,
};
use super::state::{SimAccount, SimFollowMe, SimFollowMeNumber, State};
use super::wire::yn;

type Reply = Result<Value, Fault>;
type Params = Map<String, Value>;

/// Runs an `Account/*` method; `None` if the method is not one of them.
pub(super) fn dispatch(st: &mut State, method: &str, p: &Params) -> Option<Reply> {
    Some(match method {
        "Account/get_account_info" => get_account_info(st, p),
        "Account/get_account_list" => get_account_list(st, p),
        "Account/add_account" => add_account(st, p),
        "Account/update_account" => update_account(st, p),
        "Account/get_account_followme" => get_followme(st, p),
        "Account/update_account_followme" => update_followme(st, p),
        "Account/add_followme_number" => add_followme_number(st, p),
        "Account/update_followme_number" => update_followme_number(st, p),
        "Account/delete_followme_number" => delete_followme_number(st, p),
        "Account/update_service_features" => update_service_features(st, p),
        "Account/get_service_features" => get_service_features(st, p),
        _ => return None,
    })
}

fn account_json(st: &State, a: &SimAccount) -> Value {
    let mut v = json!({
        "i_account": a.i_account,
        "id": a.id,
        "i_customer": a.i_customer,
        "customer_name": st.customers.get(&a.i_customer).map(|c| c.name.clone()),
        "i_product": a.i_product,
        "billing_model": a.billing_model,
        "iso_4217": a.iso_4217,
        "h323_password": a.h323_password,
        "follow_me_enabled": a.follow_me_enabled,
        "blocked": yn(a.blocked),
        "bill_status": a.bill_status,
        "activation_date": a.activation_date,
    });
    if let Some(l) = &a.login {
        v["login"] = json!(l);
    }
    if let Some(pw) = &a.password {
        v["password"] = json!(pw);
    }
    v
}

fn account_not_found(i_account: i64) -> Fault {
    fault(
        "Server.Account.not_found",
        format!("Account {i_account} not found"),
    )
}

fn get_account_info(st: &State, p: &Params) -> Reply {
    let found = if let Some(i) = opt_int(p, "i_account")? {
        st.accounts.get(&i)
    } else if let Some(id) = opt_str(p, "id")? {
        st.account_by_id(&id)
    } else if let Some(l) = opt_str(p, "login")? {
        st.accounts
            .values()
            .find(|a| a.login.as_deref() == Some(l.as_str()))
    } else {
        return Err(bad_params("one of i_account, id or login is required"));
    };
    Ok(found.map_or_else(
        || json!({}),
        |a| json!({ "account_info": account_json(st, a) }),
    ))
}

fn get_account_list(st: &State, p: &Params) -> Reply {
    let i_customer = opt_int(p, "i_customer")?;
    let pattern = opt_str(p, "id")?;
    let offset = opt_int(p, "offset")?.unwrap_or(0).max(0) as usize;
    let limit = opt_int(p, "limit")?.map_or(usize::MAX, |l| l.max(0) as usize);
    let list: Vec<Value> = st
        .accounts
        .values()
        .filter(|a| i_customer.is_none_or(|c| a.i_customer == c))
        .filter(|a| pattern.as_deref().is_none_or(|pat| did::like(pat, &a.id)))
        .skip(offset)
        .take(limit)
        .map(|a| account_json(st, a))
        .collect();
    Ok(json!({ "account_list": list }))
}

fn add_account(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "account_info")?;
    let id = req_str(info, "id")?;
    let i_customer = req_int(info, "i_customer")?;
    let i_product = opt_int(info, "i_product")?;
    let mode = opt_mode(info, "follow_me_enabled")?.unwrap_or_else(|| "N".into());
    let customer = st.customers.get(&i_customer).ok_or_else(|| {
        fault(
            "Server.Account.customer_not_found",
            format!("Customer {i_customer} not found"),
        )
    })?;
    let iso = opt_str(info, "iso_4217")?.unwrap_or_else(|| customer.iso_4217.clone());
    if let Some(pr) = i_product.filter(|pr| !st.products.contains(pr)) {
        return Err(fault(
            "Server.Account.product_not_found",
            format!("Product {pr} not found"),
        ));
    }
    if st.account_by_id(&id).is_some() {
        return Err(fault(
            "Server.Account.duplicate_id",
            format!("Account with ID {id} already exists"),
        ));
    }
    let account = SimAccount {
        i_account: st.next_id(),
        id,
        i_customer,
        i_product,
        billing_model: opt_int(info, "billing_model")?.unwrap_or(1),
        h323_password: opt_str(info, "h323_password")?.unwrap_or_default(),
        follow_me_enabled: mode,
        blocked: opt_flag(info, "blocked")?.unwrap_or(false),
        bill_status: "O".into(),
        iso_4217: iso,
        activation_date: opt_str(info, "activation_date")?.unwrap_or_else(today),
        login: opt_str(info, "login")?,
        password: opt_str(info, "password")?,
        service_features: [(
            ANSWERING_MODE.to_string(),
            st.default_answering_mode.clone(),
        )]
        .into_iter()
        .collect(),
    };
    let i_account = account.i_account;
    st.insert_account(account);
    Ok(json!({ "i_account": i_account }))
}

fn update_account(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "account_info")?;
    let i_account = req_int(info, "i_account")?;
    let h323 = opt_str(info, "h323_password")?;
    let mode = opt_mode(info, "follow_me_enabled")?;
    let blocked = opt_flag(info, "blocked")?;
    let password = opt_str(info, "password")?;
    let login = opt_str(info, "login")?;
    let product = opt_int(info, "i_product")?;
    if let Some(pr) = product.filter(|pr| !st.products.contains(pr)) {
        return Err(fault(
            "Server.Account.product_not_found",
            format!("Product {pr} not found"),
        ));
    }
    let a = st
        .accounts
        .get_mut(&i_account)
        .ok_or_else(|| account_not_found(i_account))?;
    if let Some(v) = h323 {
        a.h323_password = v;
    }
    if let Some(v) = mode {
        a.follow_me_enabled = v;
    }
    if let Some(v) = blocked {
        a.blocked = v;
    }
    if password.is_some() {
        a.password = password;
    }
    if login.is_some() {
        a.login = login;
    }
    if product.is_some() {
        a.i_product = product;
    }
    Ok(json!({ "i_account": i_account }))
}

/// The answering-mode feature name the simulator models (its real name is unconfirmed).
pub(super) const ANSWERING_MODE: &str = "answering_mode";

/// `{"i_account", "service_features":[{"name","flag_value",…}]}`: `forward_mode` sets
/// `follow_me_enabled`; any other named feature is kept as sent.
fn update_service_features(st: &mut State, p: &Params) -> Reply {
    let i_account = req_int(p, "i_account")?;
    let features = p
        .get("service_features")
        .and_then(Value::as_array)
        .ok_or_else(|| bad_params("service_features must be a list"))?;
    let mut mode = None;
    let mut others = Vec::new();
    for f in features.iter().filter_map(Value::as_object) {
        let name = req_str(f, "name")?;
        if name == "forward_mode" {
            mode = opt_mode(f, "flag_value")?;
        } else if let Some(v) = opt_str(f, "flag_value")? {
            others.push((name, v));
        }
    }
    let a = st
        .accounts
        .get_mut(&i_account)
        .ok_or_else(|| account_not_found(i_account))?;
    if let Some(m) = mode {
        a.follow_me_enabled = m;
    }
    a.service_features.extend(others);
    Ok(json!({ "i_account": i_account }))
}

/// `{"i_account"}` → `{"service_features":[{"name","flag_value","effective_flag_value"}]}`.
fn get_service_features(st: &State, p: &Params) -> Reply {
    let i_account = req_int(p, "i_account")?;
    let a = st
        .accounts
        .get(&i_account)
        .ok_or_else(|| account_not_found(i_account))?;
    let feature = |name: &str, v: &str| json!({ "name": name, "flag_value": v, "effective_flag_value": v, "locked": 0 });
    let mut list = vec![feature("forward_mode", &a.follow_me_enabled)];
    list.extend(a.service_features.iter().map(|(n, v)| feature(n, v)));
    Ok(json!({ "service_features": list }))
}

fn number_json(n: &SimFollowMeNumber) -> Value {
    json!({
        "i_follow_me_number": n.i_follow_me_number,
        "i_account": n.i_account,
        "redirect_number": n.redirect_number,
        "name": n.name,
        "timeout": n.timeout,
        "active": yn(n.active),
        "period": n.period,
    })
}

fn get_followme(st: &State, p: &Params) -> Reply {
    let i_account = req_int(p, "i_account")?;
    if !st.accounts.contains_key(&i_account) {
        return Err(account_not_found(i_account));
    }
    let fm = st.followme.get(&i_account).cloned().unwrap_or_default();
    let numbers: Vec<Value> = fm.numbers.iter().map(number_json).collect();
    let mut reply = json!({ "followme_numbers": numbers });
    if let Some(i) = fm.i_follow_me {
        reply["followme_info"] = json!({
            "i_follow_me": i, "i_account": i_account, "sequence": fm.sequence, "timeout": fm.timeout,
        });
    }
    Ok(reply)
}

/// The follow-me record of an account, created on first use.
fn followme_record(st: &mut State, i_account: i64) -> &mut SimFollowMe {
    let fresh = st.next_id();
    let fm = st.followme.entry(i_account).or_default();
    if fm.i_follow_me.is_none() {
        *fm = SimFollowMe {
            i_follow_me: Some(fresh),
            sequence: "Order".into(),
            timeout: 20,
            numbers: std::mem::take(&mut fm.numbers),
        };
    }
    fm
}

fn update_followme(st: &mut State, p: &Params) -> Reply {
    let empty = Map::new();
    let info = match p.get("followme_info") {
        None | Some(Value::Null) => &empty,
        Some(_) => req_obj(p, "followme_info")?,
    };
    let i_account = match opt_int(p, "i_account")? {
        Some(i) => i,
        None => req_int(info, "i_account")?,
    };
    if !st.accounts.contains_key(&i_account) {
        return Err(account_not_found(i_account));
    }
    let sequence = opt_str(info, "sequence")?;
    let timeout = opt_int(info, "timeout")?;
    let fm = followme_record(st, i_account);
    if let Some(s) = sequence {
        fm.sequence = s;
    }
    if let Some(t) = timeout {
        fm.timeout = t;
    }
    Ok(json!({ "i_follow_me": fm.i_follow_me }))
}

fn add_followme_number(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "number_info")?;
    let i_account = match opt_int(info, "i_account")? {
        Some(i) => i,
        None => req_int(p, "i_account")?,
    };
    let redirect_number = req_str(info, "redirect_number")?;
    if !st.accounts.contains_key(&i_account) {
        return Err(account_not_found(i_account));
    }
    let number = SimFollowMeNumber {
        i_follow_me_number: st.next_id(),
        i_account,
        redirect_number,
        name: opt_str(info, "name")?.unwrap_or_default(),
        timeout: opt_int(info, "timeout")?.unwrap_or(20),
        active: opt_flag(info, "active")?.unwrap_or(true),
        period: opt_str(info, "period")?.unwrap_or_else(|| "Always".into()),
    };
    let id = number.i_follow_me_number;
    followme_record(st, i_account).numbers.push(number);
    Ok(json!({ "i_follow_me_number": id }))
}

fn find_number_mut(st: &mut State, i: i64) -> Result<&mut SimFollowMeNumber, Fault> {
    st.followme
        .values_mut()
        .flat_map(|fm| fm.numbers.iter_mut())
        .find(|n| n.i_follow_me_number == i)
        .ok_or_else(|| {
            fault(
                "Server.Account.followme_number_not_found",
                format!("Follow-me number {i} not found"),
            )
        })
}

fn update_followme_number(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "number_info")?;
    let i = req_int(info, "i_follow_me_number")?;
    let redirect = match info.get("redirect_number") {
        None => None,
        Some(_) => Some(req_str(info, "redirect_number")?),
    };
    let (name, timeout) = (opt_str(info, "name")?, opt_int(info, "timeout")?);
    let (active, period) = (opt_flag(info, "active")?, opt_str(info, "period")?);
    let n = find_number_mut(st, i)?;
    if let Some(v) = redirect {
        n.redirect_number = v;
    }
    if let Some(v) = name {
        n.name = v;
    }
    if let Some(v) = timeout {
        n.timeout = v;
    }
    if let Some(v) = active {
        n.active = v;
    }
    if let Some(v) = period {
        n.period = v;
    }
    Ok(json!({ "i_follow_me_number": i }))
}

fn delete_followme_number(st: &mut State, p: &Params) -> Reply {
    let i = req_int(p, "i_follow_me_number")?;
    find_number_mut(st, i)?;
    for fm in st.followme.values_mut() {
        fm.numbers.retain(|n| n.i_follow_me_number != i);
    }
    Ok(json!({ "success": 1 }))
}
