//! `impl Telinta for TelintaClient`: one PortaBilling call per trait method, with the
//! reply parsers. Numbers get their leading `"1"` here (and lose it in replies).

use serde_json::{Map, Value, json};

use super::{TelintaClient, expect_success, list, malformed, required_int};
use crate::integrations::telinta::wire::{flag, id, int, non_empty, object, text, yn};
use crate::integrations::telinta::{
    Account, AccountUpdate, Customer, DidNumber, ErrorKind, FLOW_METHODS, FollowMe, FollowMeNumber,
    FollowMeNumberUpdate, FollowMeSettings, ForwardMode, NewAccount, NewCustomer,
    NewFollowMeNumber, PricingBatch, Product, ServiceFeature, Telinta, TelintaError, VendorBatch,
    from_wire_number, to_wire_number,
};

fn parse_did(method: &str, v: &Value) -> Result<DidNumber, TelintaError> {
    let m = v
        .as_object()
        .ok_or_else(|| malformed(method, "number entry is not an object"))?;
    let number =
        non_empty(m.get("number")).ok_or_else(|| malformed(method, "number entry lacks number"))?;
    Ok(DidNumber {
        i_did_number: required_int(method, m, "i_did_number")?,
        number: from_wire_number(&number),
        i_customer: id(m.get("i_customer")),
        i_do_batch: id(m.get("i_do_batch")),
        owner_batch_name: non_empty(m.get("owner_batch_name")),
        frozen: flag(m.get("frozen")).unwrap_or(false),
        is_used: flag(m.get("is_used")).unwrap_or(false),
        description: text(m.get("description")).unwrap_or_default(),
    })
}

fn parse_customer(method: &str, m: &Map<String, Value>) -> Result<Customer, TelintaError> {
    Ok(Customer {
        i_customer: required_int(method, m, "i_customer")?,
        name: text(m.get("name")).unwrap_or_default(),
        i_parent: id(m.get("i_parent")),
        iso_4217: text(m.get("iso_4217")).unwrap_or_default(),
        bill_status: text(m.get("bill_status")).unwrap_or_default(),
        blocked: flag(m.get("blocked")).unwrap_or(false),
        i_do_batch: id(m.get("i_do_batch")),
    })
}

fn parse_account(method: &str, m: &Map<String, Value>) -> Result<Account, TelintaError> {
    let number =
        non_empty(m.get("id")).ok_or_else(|| malformed(method, "account_info lacks id"))?;
    Ok(Account {
        i_account: required_int(method, m, "i_account")?,
        number: from_wire_number(&number),
        i_customer: id(m.get("i_customer")),
        i_product: id(m.get("i_product")),
        billing_model: int(m.get("billing_model")),
        forward_mode: ForwardMode::from_code(&text(m.get("follow_me_enabled")).unwrap_or_default()),
        blocked: flag(m.get("blocked")).unwrap_or(false),
        bill_status: non_empty(m.get("bill_status")),
        service_password: text(m.get("h323_password")),
        web_login: non_empty(m.get("login")),
        web_password: text(m.get("password")),
    })
}

fn parse_follow_me_number(method: &str, v: &Value) -> Result<FollowMeNumber, TelintaError> {
    let m = v
        .as_object()
        .ok_or_else(|| malformed(method, "followme number is not an object"))?;
    Ok(FollowMeNumber {
        i_follow_me_number: required_int(method, m, "i_follow_me_number")?,
        redirect_number: from_wire_number(&text(m.get("redirect_number")).unwrap_or_default()),
        name: non_empty(m.get("name")),
        timeout: int(m.get("timeout")).and_then(|t| u32::try_from(t).ok()),
        active: flag(m.get("active")).unwrap_or(true),
        period: non_empty(m.get("period")),
    })
}

impl Telinta for TelintaClient {
    fn sign_in(&self) -> Result<(), TelintaError> {
        self.login()
    }

    fn get_product(&self, i_product: i64) -> Result<Option<Product>, TelintaError> {
        const M: &str = "Product/get_product_info";
        let reply = self.call(M, json!({ "i_product": i_product }))?;
        object(&reply, "product_info")
            .map(|m| {
                Ok(Product {
                    i_product: required_int(M, m, "i_product")?,
                    name: text(m.get("name")).unwrap_or_default(),
                    iso_4217: non_empty(m.get("iso_4217")),
                })
            })
            .transpose()
    }

    fn list_vendor_batches(&self) -> Result<Vec<VendorBatch>, TelintaError> {
        const M: &str = "DID/get_vendor_batch_list";
        let reply = self.call(M, json!({}))?;
        list(M, &reply, "vendor_batch_list")?
            .iter()
            .map(|v| {
                let m = v
                    .as_object()
                    .ok_or_else(|| malformed(M, "batch is not an object"))?;
                Ok(VendorBatch {
                    i_dv_batch: required_int(M, m, "i_dv_batch")?,
                    name: text(m.get("name")).unwrap_or_default(),
                })
            })
            .collect()
    }

    fn probe(&self, method: &str) -> Result<(), TelintaError> {
        let Some((m, params)) = FLOW_METHODS.iter().find(|(m, _)| *m == method) else {
            return Err(TelintaError::new(
                method,
                ErrorKind::InvalidInput("not a method the flows use".into()),
            ));
        };
        let params: Value = serde_json::from_str(params)
            .map_err(|e| TelintaError::new(*m, ErrorKind::InvalidInput(e.to_string())))?;
        self.call(m, params).map(|_| ())
    }

    fn list_free_numbers(&self, limit: u32, offset: u64) -> Result<Vec<DidNumber>, TelintaError> {
        const M: &str = "DID/get_number_list";
        let reply = self.call(M, json!({ "usage": "I", "limit": limit, "offset": offset }))?;
        list(M, &reply, "number_list")?
            .iter()
            .map(|v| parse_did(M, v))
            .collect()
    }

    fn find_number(&self, number: &str) -> Result<Option<DidNumber>, TelintaError> {
        const M: &str = "DID/get_number_list";
        let wire = to_wire_number(M, number)?;
        let reply = self.call(M, json!({ "number": wire }))?;
        for v in list(M, &reply, "number_list")? {
            if v.get("number").and_then(Value::as_str) == Some(wire.as_str()) {
                return parse_did(M, v).map(Some);
            }
        }
        Ok(None)
    }

    fn add_number(
        &self,
        number: &str,
        i_dv_batch: i64,
        i_do_batch: Option<i64>,
        description: Option<&str>,
    ) -> Result<i64, TelintaError> {
        const M: &str = "DID/add_number";
        let wire = to_wire_number(M, number)?;
        let mut info = json!({ "number": wire, "i_dv_batch": i_dv_batch, "frozen": "N" });
        if let Some(b) = i_do_batch {
            info["i_do_batch"] = json!(b);
        }
        if let Some(d) = description {
            info["description"] = json!(d);
        }
        let reply = self.call(M, json!({ "number_info": info }))?;
        required_int(M, &reply, "i_did_number")
    }

    fn unfreeze_number(&self, i_did_number: i64) -> Result<(), TelintaError> {
        const M: &str = "DID/update_number";
        let info = json!({ "i_did_number": i_did_number, "frozen": "N" });
        self.call(M, json!({ "number_info": info })).map(|_| ())
    }

    fn list_pricing_batches(&self) -> Result<Vec<PricingBatch>, TelintaError> {
        const M: &str = "DID/get_owner_batch_list";
        let reply = self.call(M, json!({}))?;
        list(M, &reply, "owner_batch_list")?
            .iter()
            .map(|v| {
                let m = v
                    .as_object()
                    .ok_or_else(|| malformed(M, "batch is not an object"))?;
                Ok(PricingBatch {
                    i_do_batch: required_int(M, m, "i_do_batch")?,
                    name: text(m.get("name")).unwrap_or_default(),
                    i_customer: id(m.get("i_customer")),
                })
            })
            .collect()
    }

    fn attach_pricing_batch(&self, i_did_number: i64, i_do_batch: i64) -> Result<(), TelintaError> {
        const M: &str = "DID/assign_did_to_owner_batch";
        let reply = self.call(
            M,
            json!({ "i_did_number": i_did_number, "i_do_batch": i_do_batch }),
        )?;
        expect_success(M, &reply)
    }

    fn assign_number_to_customer(
        &self,
        i_did_number: i64,
        i_customer: i64,
    ) -> Result<(), TelintaError> {
        const M: &str = "DID/assign_did_to_customer";
        let reply = self.call(
            M,
            json!({ "i_did_number": i_did_number, "i_customer": i_customer }),
        )?;
        expect_success(M, &reply)
    }

    fn get_customer(&self, i_customer: i64) -> Result<Option<Customer>, TelintaError> {
        const M: &str = "Customer/get_customer_info";
        let reply = self.call(M, json!({ "i_customer": i_customer }))?;
        object(&reply, "customer_info")
            .map(|m| parse_customer(M, m))
            .transpose()
    }

    fn find_customer_by_name(&self, name: &str) -> Result<Option<Customer>, TelintaError> {
        const M: &str = "Customer/get_customer_info";
        if name.trim().is_empty() {
            return Err(TelintaError::new(
                M,
                ErrorKind::InvalidInput("empty customer name".into()),
            ));
        }
        let reply = self.call(M, json!({ "name": name }))?;
        object(&reply, "customer_info")
            .map(|m| parse_customer(M, m))
            .transpose()
    }

    fn add_customer(&self, customer: &NewCustomer) -> Result<i64, TelintaError> {
        const M: &str = "Customer/add_customer";
        let mut info = json!({ "name": customer.name, "iso_4217": customer.iso_4217 });
        if let Some(e) = &customer.email {
            info["email"] = json!(e);
        }
        if let Some(p) = customer.i_parent {
            info["i_parent"] = json!(p);
        }
        let reply = self.call(M, json!({ "customer_info": info }))?;
        required_int(M, &reply, "i_customer")
    }

    fn get_account(&self, number: &str) -> Result<Option<Account>, TelintaError> {
        const M: &str = "Account/get_account_info";
        let wire = to_wire_number(M, number)?;
        let reply = self.call(M, json!({ "id": wire }))?;
        object(&reply, "account_info")
            .map(|m| parse_account(M, m))
            .transpose()
    }

    fn add_account(&self, a: &NewAccount) -> Result<i64, TelintaError> {
        const M: &str = "Account/add_account";
        let mut info = json!({
            "id": to_wire_number(M, &a.number)?,
            "i_customer": a.i_customer,
            "i_product": a.i_product,
            "billing_model": a.billing_model,
            "h323_password": a.service_password,
        });
        if let Some(d) = &a.activation_date {
            info["activation_date"] = json!(d);
        }
        if let Some(m) = &a.forward_mode {
            info["follow_me_enabled"] = json!(m.code());
        }
        if let Some(l) = &a.web_login {
            info["login"] = json!(l);
        }
        if let Some(p) = &a.web_password {
            info["password"] = json!(p);
        }
        let secrets = [
            a.service_password.as_str(),
            a.web_password.as_deref().unwrap_or(""),
        ];
        let reply = self
            .call(M, json!({ "account_info": info }))
            .map_err(|e| e.scrub(&secrets))?;
        required_int(M, &reply, "i_account")
    }

    fn update_account(&self, u: &AccountUpdate) -> Result<(), TelintaError> {
        const M: &str = "Account/update_account";
        let mut info = json!({ "i_account": u.i_account });
        if let Some(p) = &u.service_password {
            info["h323_password"] = json!(p);
        }
        if let Some(m) = &u.forward_mode {
            info["follow_me_enabled"] = json!(m.code());
        }
        if let Some(b) = u.blocked {
            info["blocked"] = yn(b);
        }
        if let Some(p) = &u.web_password {
            info["password"] = json!(p);
        }
        let secrets = [
            u.service_password.as_deref().unwrap_or(""),
            u.web_password.as_deref().unwrap_or(""),
        ];
        self.call(M, json!({ "account_info": info }))
            .map(|_| ())
            .map_err(|e| e.scrub(&secrets))
    }

    fn get_service_features(&self, i_account: i64) -> Result<Vec<ServiceFeature>, TelintaError> {
        const M: &str = "Account/get_service_features";
        let reply = self.call(M, json!({ "i_account": i_account }))?;
        match reply.get("service_features") {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    let m = v
                        .as_object()
                        .ok_or_else(|| malformed(M, "service feature is not an object"))?;
                    Ok(ServiceFeature {
                        name: non_empty(m.get("name"))
                            .ok_or_else(|| malformed(M, "service feature lacks name"))?,
                        flag_value: non_empty(m.get("flag_value")),
                        effective_flag_value: non_empty(m.get("effective_flag_value")),
                    })
                })
                .collect(),
            Some(_) => Err(malformed(M, "service_features is not a list")),
        }
    }

    fn update_service_features(
        &self,
        i_account: i64,
        features: &[(&str, &str)],
    ) -> Result<(), TelintaError> {
        const M: &str = "Account/update_service_features";
        let list: Vec<Value> = features
            .iter()
            .map(|(name, value)| {
                json!({
                    "name": name,
                    "flag_value": value,
                    "effective_flag_value": value,
                    "locked": 0,
                    "locks": [],
                })
            })
            .collect();
        self.call(
            M,
            json!({ "i_account": i_account, "service_features": list }),
        )
        .map(|_| ())
    }

    fn get_follow_me(&self, i_account: i64) -> Result<FollowMe, TelintaError> {
        const M: &str = "Account/get_account_followme";
        let reply = self.call(M, json!({ "i_account": i_account }))?;
        let settings = object(&reply, "followme_info").map(|m| FollowMeSettings {
            i_follow_me: id(m.get("i_follow_me")),
            sequence: non_empty(m.get("sequence")),
            timeout: int(m.get("timeout")).and_then(|t| u32::try_from(t).ok()),
        });
        let numbers = match reply.get("followme_numbers") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| parse_follow_me_number(M, v))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(malformed(M, "followme_numbers is not a list")),
        };
        Ok(FollowMe { settings, numbers })
    }

    fn set_follow_me_settings(&self, i_account: i64, timeout: u32) -> Result<(), TelintaError> {
        const M: &str = "Account/update_account_followme";
        let info = json!({ "i_account": i_account, "sequence": "Order", "timeout": timeout });
        self.call(M, json!({ "i_account": i_account, "followme_info": info }))
            .map(|_| ())
    }

    fn add_follow_me_number(&self, n: &NewFollowMeNumber) -> Result<i64, TelintaError> {
        const M: &str = "Account/add_followme_number";
        let info = json!({
            "i_account": n.i_account,
            "redirect_number": to_wire_number(M, &n.redirect_number)?,
            "name": n.name,
            "timeout": n.timeout,
            "active": yn(n.active),
            "period": "Always",
        });
        let reply = self.call(M, json!({ "i_account": n.i_account, "number_info": info }))?;
        required_int(M, &reply, "i_follow_me_number")
    }

    fn update_follow_me_number(&self, u: &FollowMeNumberUpdate) -> Result<(), TelintaError> {
        const M: &str = "Account/update_followme_number";
        let mut info = json!({ "i_follow_me_number": u.i_follow_me_number });
        if let Some(n) = &u.redirect_number {
            info["redirect_number"] = json!(to_wire_number(M, n)?);
        }
        if let Some(a) = u.active {
            info["active"] = yn(a);
        }
        if let Some(t) = u.timeout {
            info["timeout"] = json!(t);
        }
        if let Some(n) = &u.name {
            info["name"] = json!(n);
        }
        self.call(M, json!({ "number_info": info })).map(|_| ())
    }

    fn set_voicemail_pin(
        &self,
        number: &str,
        account_password: &str,
        pin: &str,
    ) -> Result<(), TelintaError> {
        const M: &str = "Voicemail/set_vm_settings";
        let base = match self.cfg.voicemail_url.as_deref().map(str::trim) {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => {
                return Err(TelintaError::new(
                    M,
                    ErrorKind::NotConfigured("voicemail URL is not set".into()),
                ));
            }
        };
        let domain = match self.cfg.voicemail_domain.as_deref().map(str::trim) {
            Some(d) if !d.is_empty() => d.to_string(),
            _ => {
                return Err(TelintaError::new(
                    M,
                    ErrorKind::NotConfigured("voicemail domain is not set".into()),
                ));
            }
        };
        let auth = json!({
            "login": to_wire_number(M, number)?,
            "password": account_password,
            "domain": domain,
        });
        let um_call = |method: &str, params: &Value| {
            self.post(&base, method, Some(&auth), params)
                .map_err(|e| match e.kind() {
                    ErrorKind::Fault { code, .. } if e.is_session_fault() => {
                        TelintaError::new(method, ErrorKind::AuthFailed { code: code.clone() })
                    }
                    _ => e,
                })
                .map_err(|e| e.scrub(&[account_password, pin]))
        };
        let reply = um_call(M, &json!({ "vm_settings": { "password": pin } }))?;
        if flag(reply.get("vm_settings_saved")) != Some(true) {
            return Err(malformed(M, "the server did not confirm vm_settings_saved"));
        }
        // Read back: the PIN in force must be the one just set.
        let back = um_call("Voicemail/get_vm_settings", &json!({}))?;
        let now = object(&back, "vm_settings").and_then(|m| text(m.get("password")));
        if now.as_deref() == Some(pin) {
            Ok(())
        } else {
            Err(TelintaError::new(
                M,
                ErrorKind::NotApplied("the voicemail PIN reads back unchanged".into()),
            ))
        }
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::proptest_json::{any_json, object_with};
    use proptest::prelude::*;

    const DID_KEYS: &[&str] = &[
        "number",
        "i_did_number",
        "i_customer",
        "i_do_batch",
        "owner_batch_name",
        "frozen",
        "is_used",
        "description",
    ];
    const CUSTOMER_KEYS: &[&str] = &[
        "i_customer",
        "name",
        "i_parent",
        "iso_4217",
        "bill_status",
        "blocked",
        "i_do_batch",
    ];
    const ACCOUNT_KEYS: &[&str] = &[
        "id",
        "i_account",
        "i_customer",
        "i_product",
        "billing_model",
        "follow_me_enabled",
        "blocked",
        "bill_status",
        "h323_password",
        "login",
        "password",
    ];
    const FOLLOW_ME_KEYS: &[&str] = &[
        "i_follow_me_number",
        "redirect_number",
        "name",
        "timeout",
        "active",
        "period",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Wrong-typed members give an error or a value, never a panic; what is read keeps
        /// the portal's 10-digit form when the wire form was `"1"` + 10 digits.
        #[test]
        fn number_entries_of_any_shape(m in object_with(DID_KEYS), v in any_json()) {
            let _ = parse_did("DID/get_number_list", &v);
            if let Ok(d) = parse_did("DID/get_number_list", &Value::Object(m.clone())) {
                let wire = non_empty(m.get("number")).unwrap();
                prop_assert_eq!(d.number, from_wire_number(&wire));
                prop_assert_eq!(Some(d.i_did_number), int(m.get("i_did_number")));
            }
        }

        #[test]
        fn customers_of_any_shape(m in object_with(CUSTOMER_KEYS)) {
            if let Ok(c) = parse_customer("Customer/get_customer_info", &m) {
                prop_assert_eq!(Some(c.i_customer), int(m.get("i_customer")));
            }
        }

        #[test]
        fn accounts_of_any_shape(m in object_with(ACCOUNT_KEYS)) {
            if let Ok(a) = parse_account("Account/get_account_info", &m) {
                prop_assert_eq!(Some(a.i_account), int(m.get("i_account")));
            }
        }

        #[test]
        fn follow_me_numbers_of_any_shape(m in object_with(FOLLOW_ME_KEYS), v in any_json()) {
            let _ = parse_follow_me_number("Account/get_account_followme", &v);
            let _ = parse_follow_me_number("Account/get_account_followme", &Value::Object(m));
        }
    }
}
