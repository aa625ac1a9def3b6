//! Operations that span the database and an outside system (mail today; payments and Telinta
//! as they arrive). Never holds a database transaction across a network call.

/// Gives each workflow error named (an enum with an `Internal(Internal)` variant) the two
/// conversions `?` needs inside a workflow: a store error and an `Internal` both become its
/// `Internal` variant. Each error keeps its own variants for what the user can act on.
macro_rules! internal_errors {
    ($($error:ident),+ $(,)?) => {$(
        impl From<crate::store::Error> for $error {
            fn from(e: crate::store::Error) -> Self {
                $error::Internal(e.into())
            }
        }
        impl From<crate::workflow::Internal> for $error {
            fn from(e: crate::workflow::Internal) -> Self {
                $error::Internal(e)
            }
        }
    )+};
}

pub mod accounts;
pub mod activation;
pub mod billing;
pub(crate) mod change;
pub mod checkout;
pub mod customers;
pub mod housekeeping;
pub mod inventory;
pub mod mail_sender;
pub mod notify;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod plans;
pub mod profile;
pub mod reconcile;
pub mod refunds;
pub mod runs;
pub mod settings;
pub mod twofactor;
pub mod upstream;

use std::sync::Arc;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

pub(crate) use change::change;

/// What workflows need from the running portal.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub config: Arc<Config>,
    /// The public URL, without a trailing slash, for links in emails.
    pub public_url: String,
    pub mail: mail_sender::Waker,
    /// The Telinta (PortaBilling) API, when configured.
    pub telinta: Option<Arc<dyn crate::integrations::telinta::Telinta>>,
    /// PayPal, when configured.
    pub payments: Option<Arc<dyn crate::integrations::paypal::Payments>>,
    /// This process's run, which claims of work in flight record.
    pub run: Arc<runs::Run>,
}

impl Services {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// An operation failed for a reason the user cannot fix; the cause goes to the log.
#[derive(Debug)]
pub struct Internal(pub String);

impl From<crate::store::Error> for Internal {
    fn from(e: crate::store::Error) -> Self {
        Internal(e.to_string())
    }
}

impl std::fmt::Display for Internal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
