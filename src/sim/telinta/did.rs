//! DID service handlers of the simulator (docs/telinta.md, "Simulator").

use serde_json::{Map, Value, json};

use super::handlers::{
    Fault, bad_params, fault, opt_flag, opt_int, opt_str, req_int, req_obj, req_str,
};
use super::state::{SimDid, SimPricingBatch, State, Usage};
use super::wire::yn;

type Reply = Result<Value, Fault>;
type Params = Map<String, Value>;

/// Runs a `DID/*` method; `None` if the method is not one of them.
pub(super) fn dispatch(st: &mut State, method: &str, p: &Params) -> Option<Reply> {
    Some(match method {
        "DID/get_number_list" => get_number_list(st, p),
        "DID/get_number_info" => get_number_info(st, p),
        "DID/add_number" => add_number(st, p),
        "DID/update_number" => update_number(st, p),
        "DID/assign_did_to_customer" => assign_to_customer(st, p),
        "DID/release_did_from_customer" => release_from_customer(st, p),
        "DID/assign_did_to_owner_batch" => assign_to_owner_batch(st, p),
        "DID/get_owner_batch_list" => Ok(owner_batch_list(st)),
        _ => return None,
    })
}

/// `NumberInfo` JSON; `i_do_batch` and `owner_batch_name` only when the DID has a
/// pricing batch.
fn did_json(st: &State, d: &SimDid) -> Value {
    let mut v = json!({
        "i_did_number": d.i_did_number,
        "number": d.number,
        "i_customer": d.i_customer,
        "i_dv_batch": d.i_dv_batch,
        "frozen": yn(d.frozen),
        "is_used": i32::from(d.is_used),
        "description": d.description,
    });
    if let Some(b) = d.i_do_batch {
        v["i_do_batch"] = json!(b);
        if let Some(name) = st.batch_name(Some(b)) {
            v["owner_batch_name"] = json!(name);
        }
    }
    v
}

/// SQL `LIKE` matching with `%` (any run) and `_` (one character), case-sensitive.
pub(super) fn like(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '%')
}

fn get_number_list(st: &State, p: &Params) -> Reply {
    let usage_code = opt_str(p, "usage")?.unwrap_or_default();
    let usage = Usage::parse(&usage_code)
        .ok_or_else(|| bad_params("usage must be one of A, I, F, U, Z"))?;
    let offset = opt_int(p, "offset")?.unwrap_or(0).max(0) as usize;
    let limit = opt_int(p, "limit")?.map_or(usize::MAX, |l| l.max(0) as usize);
    let number = opt_str(p, "number")?;
    let i_customer = opt_int(p, "i_customer")?;
    let i_dv_batch = opt_int(p, "i_dv_batch")?;
    let other_filters = |d: &SimDid| {
        i_customer.is_none_or(|c| d.i_customer == Some(c))
            && i_dv_batch.is_none_or(|b| d.i_dv_batch == Some(b))
    };
    let found: Vec<&SimDid> = match &number {
        Some(n) if !n.contains('%') && !n.contains('_') => st
            .did_by_number(n)
            .filter(|d| usage.matches(d) && other_filters(d))
            .into_iter()
            .skip(offset)
            .take(limit)
            .collect(),
        Some(pat) => {
            let keep = |d: &SimDid| other_filters(d) && like(pat, &d.number);
            st.list_dids(usage, Some(&keep), offset, limit)
        }
        None if i_customer.is_some() || i_dv_batch.is_some() => {
            st.list_dids(usage, Some(&other_filters), offset, limit)
        }
        None => st.list_dids(usage, None, offset, limit),
    };
    let list: Vec<Value> = found.into_iter().map(|d| did_json(st, d)).collect();
    Ok(json!({ "number_list": list }))
}

fn get_number_info(st: &State, p: &Params) -> Reply {
    let found = if let Some(i) = opt_int(p, "i_did_number")? {
        st.did(i)
    } else if let Some(n) = opt_str(p, "number")? {
        st.did_by_number(&n)
    } else {
        return Err(bad_params("one of i_did_number or number is required"));
    };
    Ok(found.map_or_else(|| json!({}), |d| json!({ "number_info": did_json(st, d) })))
}

fn number_not_found(i: i64) -> Fault {
    fault("Server.DID.number_not_found", format!("DID {i} not found"))
}

fn batch_not_found(i: i64) -> Fault {
    fault(
        "Server.DID.batch_not_found",
        format!("Pricing batch {i} not found"),
    )
}

fn add_number(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "number_info")?;
    let number = req_str(info, "number")?;
    let i_dv_batch = opt_int(info, "i_dv_batch")?;
    let i_do_batch = opt_int(info, "i_do_batch")?.filter(|b| *b != 0);
    let description = opt_str(info, "description")?.unwrap_or_default();
    let frozen = opt_flag(info, "frozen")?.unwrap_or(st.frozen_on_add);
    if let Some(b) = i_do_batch.filter(|b| !st.batches.contains_key(b)) {
        return Err(batch_not_found(b));
    }
    match st.insert_did(&number, i_dv_batch, i_do_batch, &description) {
        Some(i) => {
            if frozen {
                st.modify_did(i, |d| d.frozen = true);
            }
            Ok(json!({ "i_did_number": i }))
        }
        None => Err(fault(
            "Server.DID.duplicate_number",
            format!("Number {number} is already in the DID inventory"),
        )),
    }
}

/// `DID/update_number` `{"number_info":{"i_did_number", "frozen"?, "i_do_batch"?, "description"?}}`
/// returns `{"i_did_number"}` *(reply shape [I])*.
fn update_number(st: &mut State, p: &Params) -> Reply {
    let info = req_obj(p, "number_info")?;
    let i_did = req_int(info, "i_did_number")?;
    let frozen = opt_flag(info, "frozen")?;
    let i_do_batch = opt_int(info, "i_do_batch")?;
    let description = opt_str(info, "description")?;
    if let Some(b) = i_do_batch.filter(|b| *b != 0 && !st.batches.contains_key(b)) {
        return Err(batch_not_found(b));
    }
    let found = st.modify_did(i_did, |d| {
        if let Some(f) = frozen {
            d.frozen = f;
        }
        if let Some(b) = i_do_batch {
            d.i_do_batch = (b != 0).then_some(b);
        }
        if let Some(t) = description {
            d.description = t;
        }
    });
    if !found {
        return Err(number_not_found(i_did));
    }
    Ok(json!({ "i_did_number": i_did }))
}

fn assign_to_customer(st: &mut State, p: &Params) -> Reply {
    let i_did = req_int(p, "i_did_number")?;
    let i_customer = req_int(p, "i_customer")?;
    let did = st.did(i_did).ok_or_else(|| number_not_found(i_did))?;
    if !st.customers.contains_key(&i_customer) {
        return Err(fault(
            "Server.DID.customer_not_found",
            format!("Customer {i_customer} not found"),
        ));
    }
    if did.frozen || did.i_customer.is_some_and(|c| c != i_customer) {
        return Err(fault(
            "Server.DID.number_not_available",
            format!(
                "DID {} is frozen or assigned to another customer",
                did.number
            ),
        ));
    }
    if did.i_do_batch.is_none() {
        return Err(fault(
            "Server.DID.no_pricing_batch",
            format!("DID {} has no pricing batch", did.number),
        ));
    }
    st.modify_did(i_did, |d| d.i_customer = Some(i_customer));
    Ok(json!({ "success": 1 }))
}

fn release_from_customer(st: &mut State, p: &Params) -> Reply {
    let i_did = req_int(p, "i_did_number")?;
    if !st.modify_did(i_did, |d| d.i_customer = None) {
        return Err(number_not_found(i_did));
    }
    Ok(json!({ "success": 1 }))
}

fn assign_to_owner_batch(st: &mut State, p: &Params) -> Reply {
    let i_did = req_int(p, "i_did_number")?;
    let i_do_batch = req_int(p, "i_do_batch")?;
    if st.did(i_did).is_none() {
        return Err(number_not_found(i_did));
    }
    if !st.batches.contains_key(&i_do_batch) {
        return Err(batch_not_found(i_do_batch));
    }
    st.modify_did(i_did, |d| d.i_do_batch = Some(i_do_batch));
    Ok(json!({ "success": 1 }))
}

fn owner_batch_list(st: &State) -> Value {
    let list: Vec<Value> = st
        .batches
        .values()
        .map(
            |SimPricingBatch {
                 i_do_batch,
                 name,
                 i_customer,
             }| {
                json!({ "i_do_batch": i_do_batch, "name": name, "i_customer": i_customer })
            },
        )
        .collect();
    json!({ "owner_batch_list": list })
}

#[cfg(test)]
mod tests {
    use super::like;

    #[test]
    fn like_patterns() {
        assert!(like("1212%", "12125551234"));
        assert!(like("%1234", "12125551234"));
        assert!(like("1_125551234", "12125551234"));
        assert!(like("%", ""));
        assert!(like("1%5%4", "12125551234"));
        assert!(!like("1213%", "12125551234"));
        assert!(!like("12125551234_", "12125551234"));
    }
}
