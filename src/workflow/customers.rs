//! A customer's link to their Telinta customer (`i_customer`), set by the admin, with its
//! audit row in the same transaction.

use super::{Internal, Services};
use crate::store::audit::{Entry, Outcome};
use crate::store::purchased;
use crate::store::users::User;

/// Links user `user_id` to Telinta customer `i_customer`, or unlinks them (`None`: the next
/// activation looks the customer up by email). `false` when there is no such user.
pub fn link_telinta(
    s: &Services,
    admin: &User,
    user_id: i64,
    i_customer: Option<i64>,
    address: &str,
) -> Result<bool, Internal> {
    let now = s.now();
    let detail = i_customer.map_or_else(|| "unlinked".to_string(), |v| format!("i_customer {v}"));
    Ok(super::change(s, now, |tx, r| {
        let found = purchased::set_telinta_customer(tx, user_id, i_customer)?;
        if found {
            r.audit(&Entry {
                actor_id: Some(admin.id),
                actor: &admin.email,
                action: "customer_link",
                subject: &user_id.to_string(),
                outcome: Outcome::Ok,
                detail: &detail,
                address,
            })?;
        }
        Ok::<_, crate::store::Error>(found)
    })?)
}
