//! The one error type of the Telinta integration.
//!
//! Every error names the PortaBilling method it came from (`Account/add_account`) and
//! has a [`ErrorKind`]. Its `Display` is a short sentence meant for an administrator
//! (shown on the page, put in the admin email). It never contains a password, API
//! token, session id or PIN: the client scrubs every text it puts in an error against
//! the secrets it knows before building it, and never copies reply bodies into errors.

use std::fmt;

/// Longest fault or transport text kept in an error (characters).
const MAX_TEXT: usize = 300;

/// What went wrong, coarse enough to branch on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// HTTP 500 with a PortaBilling fault body (`faultcode`, `faultstring`).
    /// Only the confirmed codes should be branched on (see [`TelintaError::is_duplicate_id`]);
    /// treat any other as a generic API error.
    Fault { code: String, message: String },
    /// The login was refused (`Server.Session.auth_failed`, a locked login ...), or
    /// the session was refused again right after a fresh login. `code` is the faultcode.
    AuthFailed { code: String },
    /// An HTTP status other than 200, or a 500 whose body is not a fault.
    Http(u16),
    /// No complete reply within the configured timeout.
    Timeout,
    /// Connection refused, DNS failure, TLS failure, broken connection ...
    Transport(String),
    /// HTTP 200 whose body is not JSON or lacks an expected field.
    Malformed(String),
    /// A setting the call needs is missing (for example the voicemail URL).
    NotConfigured(String),
    /// The caller passed a value the client refuses to send (for example a number
    /// that is not 10 digits). Nothing was sent.
    InvalidInput(String),
    /// Telinta answered success, but reading the object back shows the value did not
    /// take (docs/telinta.md, "Read-back"). The text says what was expected and found.
    NotApplied(String),
}

/// An error from a Telinta call: the method it came from plus what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelintaError {
    method: String,
    kind: ErrorKind,
}

impl TelintaError {
    /// Builds an error for `method` (e.g. `"DID/get_number_list"`).
    pub fn new(method: impl Into<String>, kind: ErrorKind) -> Self {
        let kind = match kind {
            ErrorKind::Fault { code, message } => ErrorKind::Fault {
                code: clean(&code),
                message: clean(&message),
            },
            ErrorKind::AuthFailed { code } => ErrorKind::AuthFailed { code: clean(&code) },
            ErrorKind::Transport(t) => ErrorKind::Transport(clean(&t)),
            ErrorKind::Malformed(t) => ErrorKind::Malformed(clean(&t)),
            ErrorKind::NotConfigured(t) => ErrorKind::NotConfigured(clean(&t)),
            ErrorKind::InvalidInput(t) => ErrorKind::InvalidInput(clean(&t)),
            ErrorKind::NotApplied(t) => ErrorKind::NotApplied(clean(&t)),
            other => other,
        };
        TelintaError {
            method: method.into(),
            kind,
        }
    }

    /// The PortaBilling method, such as `"Account/add_account"`.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The `faultcode` when the server answered with a fault (also for `AuthFailed`).
    pub fn fault_code(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Fault { code, .. } | ErrorKind::AuthFailed { code } => Some(code),
            _ => None,
        }
    }

    /// `Server.Account.duplicate_id`: `add_account` with an `id` that already exists.
    /// The activation flow re-reads the account when it sees this.
    pub fn is_duplicate_id(&self) -> bool {
        self.fault_code() == Some("Server.Account.duplicate_id")
    }

    /// A fault that looks like "this login may not call this method". PortaBilling's
    /// code for it is not confirmed by any public source (docs/telinta.md, "Unconfirmed"),
    /// so this matches words rather than one code.
    pub fn is_permission_fault(&self) -> bool {
        match &self.kind {
            ErrorKind::Fault { code, message } => {
                let t = format!("{code} {message}").to_ascii_lowercase();
                [
                    "permission",
                    "access_denied",
                    "access denied",
                    "not allowed",
                    "forbidden",
                ]
                .iter()
                .any(|w| t.contains(w))
            }
            _ => false,
        }
    }

    /// True for [`ErrorKind::AuthFailed`].
    pub fn is_auth_failed(&self) -> bool {
        matches!(self.kind, ErrorKind::AuthFailed { .. })
    }

    /// True for [`ErrorKind::Timeout`]. After a timeout the call may or may not have
    /// taken effect upstream: look before acting again.
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout)
    }

    /// A fault that means "this session or token is not (or no longer) valid": the
    /// client logs in again and retries once. Covers `Server.Session.check_auth.auth_failed`,
    /// the `Client.Session.check_auth.*` token faults and `Server.Session.auth_failed`
    /// seen on an ordinary call.
    pub(super) fn is_session_fault(&self) -> bool {
        match &self.kind {
            ErrorKind::Fault { code, .. } => {
                code.contains("check_auth") || code == "Server.Session.auth_failed"
            }
            _ => false,
        }
    }

    /// Replaces every occurrence of each non-empty secret in the error's texts by `***`.
    pub(super) fn scrub(mut self, secrets: &[&str]) -> Self {
        let scrub_text = |t: &mut String| {
            for s in secrets.iter().filter(|s| s.len() >= 3) {
                if t.contains(*s) {
                    *t = t.replace(*s, "***");
                }
            }
        };
        match &mut self.kind {
            ErrorKind::Fault { code, message } => {
                scrub_text(code);
                scrub_text(message);
            }
            ErrorKind::AuthFailed { code } => scrub_text(code),
            ErrorKind::Transport(t)
            | ErrorKind::Malformed(t)
            | ErrorKind::NotConfigured(t)
            | ErrorKind::InvalidInput(t)
            | ErrorKind::NotApplied(t) => scrub_text(t),
            ErrorKind::Http(_) | ErrorKind::Timeout => {}
        }
        self
    }
}

impl fmt::Display for TelintaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = &self.method;
        match &self.kind {
            ErrorKind::Fault { code, message } if message.is_empty() => {
                write!(f, "Telinta {m} failed: {code}")
            }
            ErrorKind::Fault { code, message } => {
                write!(f, "Telinta {m} failed: {code}: {message}")
            }
            ErrorKind::AuthFailed { code } => {
                write!(
                    f,
                    "Telinta {m}: login refused ({code}); check the Telinta login settings"
                )
            }
            ErrorKind::Http(s) => write!(f, "Telinta {m}: unexpected HTTP status {s}"),
            ErrorKind::Timeout => write!(f, "Telinta {m}: no reply within the timeout"),
            ErrorKind::Transport(t) => write!(f, "Telinta {m}: connection problem: {t}"),
            ErrorKind::Malformed(t) => write!(f, "Telinta {m}: unreadable reply: {t}"),
            ErrorKind::NotConfigured(t) => write!(f, "Telinta {m}: not configured: {t}"),
            ErrorKind::InvalidInput(t) => write!(f, "Telinta {m}: invalid input: {t}"),
            ErrorKind::NotApplied(t) => write!(
                f,
                "Telinta {m} answered success but the change did not take: {t}"
            ),
        }
    }
}

impl std::error::Error for TelintaError {}

/// One line, no control characters, at most [`MAX_TEXT`] characters: safe for an
/// email subject or body and for a log line.
fn clean(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_TEXT)
        .collect();
    if text.chars().count() > MAX_TEXT {
        out.push('…');
    }
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_method_and_code() {
        let e = TelintaError::new(
            "Account/add_account",
            ErrorKind::Fault {
                code: "Server.Account.duplicate_id".into(),
                message: "Duplicate ID\nline two".into(),
            },
        );
        let s = e.to_string();
        assert!(s.contains("Account/add_account"), "{s}");
        assert!(s.contains("Server.Account.duplicate_id"), "{s}");
        assert!(!s.contains('\n'), "{s}");
        assert!(e.is_duplicate_id());
        assert!(!e.is_session_fault());
    }

    #[test]
    fn scrub_removes_secrets_and_text_is_capped() {
        let e = TelintaError::new(
            "Session/login",
            ErrorKind::Transport(format!("failed for hunter2-secret {}", "x".repeat(1000))),
        )
        .scrub(&["hunter2-secret", ""]);
        let s = e.to_string();
        assert!(!s.contains("hunter2-secret"), "{s}");
        assert!(s.contains("***"));
        assert!(s.chars().count() < 400, "{}", s.len());
    }

    #[test]
    fn session_fault_codes() {
        for code in [
            "Server.Session.check_auth.auth_failed",
            "Client.Session.check_auth.failed_to_process_access_token",
            "Client.Session.check_auth.failed_to_process_jwt",
            "Server.Session.auth_failed",
        ] {
            let e = TelintaError::new(
                "x",
                ErrorKind::Fault {
                    code: code.into(),
                    message: String::new(),
                },
            );
            assert!(e.is_session_fault(), "{code}");
        }
        assert!(!TelintaError::new("x", ErrorKind::Http(500)).is_session_fault());
    }
}
