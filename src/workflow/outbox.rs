//! The admin's "Retry now" on a queued or failed email: the message goes back to the front of
//! the queue, the retry is audited in the same transaction, and the mail sender is woken.

use super::{Internal, Services};
use crate::store::audit::{Entry, Outcome};
use crate::store::outbox;
use crate::store::users::User;

/// Puts message `id` back at the front of the queue; `false` when it was sent already or does
/// not exist.
pub fn retry_now(s: &Services, admin: &User, id: i64, address: &str) -> Result<bool, Internal> {
    let now = s.now();
    super::change(s, now, |tx, r| {
        let queued = outbox::retry_now(tx, id, now)?;
        if queued {
            r.audit(&Entry {
                actor_id: Some(admin.id),
                actor: &admin.email,
                action: "outbox_retry",
                subject: &id.to_string(),
                outcome: Outcome::Ok,
                detail: "",
                address,
            })?;
            r.wake();
        }
        Ok(queued)
    })
}
