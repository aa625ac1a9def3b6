//! The PayPal client's settings: where it connects and with which credentials.
//!
//! Kept apart from the client's wire code so that the simulator (docs/architecture.md,
//! "Simulators") can hand out settings for itself without touching how the client reads
//! PayPal's answers.

use std::time::Duration;

use secrecy::SecretString;

/// PayPal's sandbox REST base (the default of `DIDPORT_PAYPAL_API`).
pub const SANDBOX_API: &str = "https://api-m.sandbox.paypal.com";
/// PayPal's live REST base.
pub const LIVE_API: &str = "https://api-m.paypal.com";
/// Timeout used by [`PayPalClientConfig::new`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Client settings. Maps to `DIDPORT_PAYPAL_API`, `DIDPORT_PAYPAL_CLIENT_ID`,
/// `DIDPORT_PAYPAL_SECRET` and `DIDPORT_PAYPAL_WEBHOOK_ID`. `Debug` shows no
/// secret.
#[derive(Debug, Clone)]
pub struct PayPalClientConfig {
    /// REST base without trailing slash, e.g. [`SANDBOX_API`] or a simulator's URL.
    pub api_base: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// Id of the webhook registered for `BASE_URL/webhooks/paypal`; needed only
    /// by [`super::Payments::verify_webhook`].
    pub webhook_id: Option<String>,
    /// Whole-request timeout (connect, send, wait, read) for every call.
    pub timeout: Duration,
}

impl PayPalClientConfig {
    /// Settings with no webhook id and [`DEFAULT_TIMEOUT`].
    pub fn new(api_base: &str, client_id: &str, client_secret: impl Into<SecretString>) -> Self {
        PayPalClientConfig {
            api_base: api_base.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.into(),
            webhook_id: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}
