//! The Telinta client's settings: where it connects and how it signs in.
//!
//! Kept apart from the client's wire code so that the simulator (docs/architecture.md,
//! "Simulators") can hand out settings for itself without touching how the client reads
//! PortaBilling's answers.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// How the client proves who it is at `Session/login`. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `DIDPORT_TELINTA_PASSWORD`.
    Password(SecretString),
    /// `DIDPORT_TELINTA_TOKEN`: an API token set in the Telinta web UI.
    Token(SecretString),
}

impl Credential {
    /// The password or token, for the login request only.
    pub(super) fn secret(&self) -> &str {
        match self {
            Credential::Password(s) | Credential::Token(s) => s.expose_secret(),
        }
    }
}

/// Connection settings of [`super::TelintaClient`] (the `DIDPORT_TELINTA_*` values).
#[derive(Debug, Clone)]
pub struct TelintaClientConfig {
    /// e.g. `https://mybilling.telinta.com:443`; the client appends `/rest/<Service>/<method>`.
    pub base_url: String,
    /// API login.
    pub login: String,
    /// Password or API token.
    pub credential: Credential,
    /// Unified-messaging API base (voicemail PIN), e.g. `https://mybilling.telinta.com:8992`.
    pub voicemail_url: Option<String>,
    /// UM `domain` sent at the voicemail login, when Telinta requires one.
    pub voicemail_domain: Option<String>,
    /// Bound on every call (connect, send, wait, read). Tests use a few hundred ms.
    pub timeout: Duration,
}

impl TelintaClientConfig {
    /// Settings with a 20-second timeout and no voicemail URL.
    pub fn new(
        base_url: impl Into<String>,
        login: impl Into<String>,
        credential: Credential,
    ) -> Self {
        TelintaClientConfig {
            base_url: base_url.into(),
            login: login.into(),
            credential,
            voicemail_url: None,
            voicemail_domain: None,
            timeout: Duration::from_secs(20),
        }
    }
}
