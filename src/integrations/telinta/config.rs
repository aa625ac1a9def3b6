//! The Telinta client's settings: where it connects and how it signs in.
//!
//! Kept apart from the client's wire code so that the simulator (docs/architecture.md,
//! "Simulators") can hand out settings for itself without touching how the client reads
//! PortaBilling's answers.

use std::fmt;
use std::time::Duration;

/// How the client proves who it is at `Session/login`.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    /// `DIDPORT_TELINTA_PASSWORD`.
    Password(String),
    /// `DIDPORT_TELINTA_TOKEN`: an API token set in the Telinta web UI.
    Token(String),
}

impl Credential {
    pub(super) fn secret(&self) -> &str {
        match self {
            Credential::Password(s) | Credential::Token(s) => s,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Password(_) => f.write_str("Password(***)"),
            Credential::Token(_) => f.write_str("Token(***)"),
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
