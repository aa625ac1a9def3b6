//! The PayPal client's settings: where it connects and with which credentials.
//!
//! Kept apart from the client's wire code so that the simulator (docs/architecture.md,
//! "Simulators") can hand out settings for itself without touching how the client reads
//! PayPal's answers.

use std::fmt;
use std::time::Duration;

/// PayPal's sandbox REST base (the default of `DIDPORT_PAYPAL_API`).
pub const SANDBOX_API: &str = "https://api-m.sandbox.paypal.com";
/// PayPal's live REST base.
pub const LIVE_API: &str = "https://api-m.paypal.com";
/// Timeout used by [`PayPalClientConfig::new`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Client settings. Maps to `DIDPORT_PAYPAL_API`, `DIDPORT_PAYPAL_CLIENT_ID`,
/// `DIDPORT_PAYPAL_SECRET` and `DIDPORT_PAYPAL_WEBHOOK_ID`. `Debug` redacts
/// the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PayPalClientConfig {
    /// REST base without trailing slash, e.g. [`SANDBOX_API`] or a simulator's URL.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: String,
    /// Id of the webhook registered for `BASE_URL/webhooks/paypal`; needed only
    /// by [`super::Payments::verify_webhook`].
    pub webhook_id: Option<String>,
    /// Whole-request timeout (connect, send, wait, read) for every call.
    pub timeout: Duration,
}

impl PayPalClientConfig {
    /// Settings with no webhook id and [`DEFAULT_TIMEOUT`].
    pub fn new(api_base: &str, client_id: &str, client_secret: &str) -> Self {
        PayPalClientConfig {
            api_base: api_base.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            webhook_id: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

impl fmt::Debug for PayPalClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayPalClientConfig")
            .field("api_base", &self.api_base)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("webhook_id", &self.webhook_id)
            .field("timeout", &self.timeout)
            .finish()
    }
}
