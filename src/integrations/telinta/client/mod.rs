//! The real Telinta client: PortaBilling REST over ureq 3.
//!
//! **Request encoding: the classic form encoding (docs/telinta.md, "Transport").** Every call is a
//! `POST <base>/rest/<Service>/<method>` with an `application/x-www-form-urlencoded`
//! body of two fields whose values are JSON strings: `auth_info` (`{"session_id":…}`)
//! and `params`. `Session/login` sends `params` only. This form is confirmed against
//! Telinta itself (S9, S18) and works on every PortaBilling release, while the JSON +
//! Bearer form needs MR100 or later. Credentials travel only in the body, never in the
//! URL, so ureq's error texts (which may name the URL) carry no secret.
//!
//! Sessions: one `Session/login` on first use; the `session_id` is shared by all
//! threads (a `Mutex`, held during a login so that concurrent callers wait for one
//! login instead of starting many). A call refused with an auth fault triggers one
//! fresh login and one retry; a second refusal is [`ErrorKind::AuthFailed`].
//!
//! Every call is bounded by `timeout_global`; 4xx/5xx replies are read (not turned
//! into ureq errors) so the fault body can be parsed. Params, replies and secrets are
//! never logged: log lines name the method, the HTTP status and the duration only.

use std::fmt;
use std::io::ErrorKind as IoKind;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use serde_json::{Map, Value, json};

mod methods;

use super::wire::{flag, int, non_empty, text};
use super::{Credential, ErrorKind, TelintaClientConfig, TelintaError};

/// Largest reply body read (a big `get_number_list` page is a few MiB).
const MAX_REPLY_BYTES: u64 = 64 * 1024 * 1024;

/// The real client. Cheap to share: wrap it in an `Arc` and use it from any thread.
pub struct TelintaClient {
    cfg: TelintaClientConfig,
    agent: ureq::Agent,
    session: Mutex<Option<String>>,
}

impl fmt::Debug for TelintaClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelintaClient")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl TelintaClient {
    /// Checks the settings and builds the HTTP agent. Does not connect.
    pub fn new(cfg: TelintaClientConfig) -> Result<Self, TelintaError> {
        let bad = |what: &str| {
            Err(TelintaError::new(
                "Session/login",
                ErrorKind::NotConfigured(what.into()),
            ))
        };
        let url = cfg.base_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return bad("the Telinta URL must start with https:// or http://");
        }
        if cfg.login.trim().is_empty() {
            return bad("the Telinta login is empty");
        }
        if cfg.credential.secret().is_empty() {
            return bad("the Telinta password or token is empty");
        }
        if cfg.timeout.is_zero() {
            return bad("the Telinta timeout is zero");
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent("didport")
            .build()
            .into();
        Ok(TelintaClient {
            cfg,
            agent,
            session: Mutex::new(None),
        })
    }

    /// Logs in now, replacing any current session. `check-config` can use it to test
    /// the settings; ordinary calls log in by themselves.
    pub fn login(&self) -> Result<(), TelintaError> {
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        *guard = Some(self.do_login()?);
        Ok(())
    }

    /// Ends the current session (`Session/logout`), if there is one.
    pub fn logout(&self) -> Result<(), TelintaError> {
        let sid = self
            .session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        match sid {
            None => Ok(()),
            Some(sid) => {
                let auth = json!({ "session_id": sid });
                let params = json!({ "session_id": sid });
                let base = self.cfg.base_url.clone();
                self.post(&base, "Session/logout", Some(&auth), &params)
                    .map(|_| ())
                    .map_err(|e| e.scrub(&[&sid]))
            }
        }
    }

    fn do_login(&self) -> Result<String, TelintaError> {
        const M: &str = "Session/login";
        let secret = self.cfg.credential.secret();
        let params = match &self.cfg.credential {
            Credential::Password(_) => json!({ "login": self.cfg.login, "password": secret }),
            Credential::Token(_) => json!({ "login": self.cfg.login, "token": secret }),
        };
        let reply = self
            .post(&self.cfg.base_url, M, None, &params)
            .map_err(|e| match e.kind() {
                ErrorKind::Fault { code, .. } => {
                    TelintaError::new(M, ErrorKind::AuthFailed { code: code.clone() })
                }
                _ => e,
            })?;
        let sid = non_empty(reply.get("session_id"))
            .ok_or_else(|| malformed(M, "reply lacks session_id"))?;
        log::info!("telinta: logged in as {}", self.cfg.login);
        Ok(sid)
    }

    /// The current session id, logging in first if there is none.
    fn session_id(&self) -> Result<String, TelintaError> {
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sid) = guard.as_ref() {
            return Ok(sid.clone());
        }
        let sid = self.do_login()?;
        *guard = Some(sid.clone());
        Ok(sid)
    }

    /// A session other than `stale`: another thread's fresh one, or a new login.
    fn renew_session(&self, stale: &str) -> Result<String, TelintaError> {
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sid) = guard.as_ref().filter(|s| s.as_str() != stale) {
            return Ok(sid.clone());
        }
        *guard = None;
        let sid = self.do_login()?;
        *guard = Some(sid.clone());
        Ok(sid)
    }

    /// One authenticated admin-API call, counted for `/metrics`.
    fn call(&self, method: &str, params: Value) -> Result<Map<String, Value>, TelintaError> {
        let started = std::time::Instant::now();
        let result = self.call_once(method, params);
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) if e.fault_code().is_some() => "fault",
            Err(_) => "error",
        };
        crate::metrics::record_upstream(
            "telinta",
            method,
            outcome,
            started.elapsed().as_secs_f64(),
        );
        result
    }

    /// One authenticated admin-API call with the re-login-and-retry-once rule.
    fn call_once(&self, method: &str, params: Value) -> Result<Map<String, Value>, TelintaError> {
        let sid = self.session_id()?;
        let first = self.post(
            &self.cfg.base_url,
            method,
            Some(&json!({ "session_id": sid })),
            &params,
        );
        let result = match first {
            Err(e) if e.is_session_fault() => {
                log::warn!(
                    "telinta {method}: session refused ({}); logging in again",
                    e.fault_code().unwrap_or("?")
                );
                let sid2 = self.renew_session(&sid)?;
                let auth = json!({ "session_id": sid2 });
                match self.post(&self.cfg.base_url, method, Some(&auth), &params) {
                    Err(e) if e.is_session_fault() => {
                        let code = e.fault_code().unwrap_or_default().to_string();
                        Err(TelintaError::new(method, ErrorKind::AuthFailed { code })
                            .scrub(&[&sid2]))
                    }
                    other => other.map_err(|e| e.scrub(&[&sid2])),
                }
            }
            other => other,
        };
        result.map_err(|e| e.scrub(&[&sid]))
    }

    /// One POST in the classic form encoding; interprets status and body.
    fn post(
        &self,
        base: &str,
        method: &str,
        auth: Option<&Value>,
        params: &Value,
    ) -> Result<Map<String, Value>, TelintaError> {
        let url = format!("{}/rest/{}", base.trim().trim_end_matches('/'), method);
        let mut form: Vec<(&str, String)> = Vec::with_capacity(2);
        if let Some(a) = auth {
            form.push(("auth_info", a.to_string()));
        }
        form.push(("params", params.to_string()));
        let started = Instant::now();
        let outcome = self
            .agent
            .post(&url)
            .header("Accept", "application/json")
            .send_form(form)
            .and_then(|mut resp| {
                let status = resp.status().as_u16();
                let body = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_REPLY_BYTES)
                    .read_to_vec()?;
                Ok((status, body))
            });
        let ms = started.elapsed().as_millis();
        let secret = self.cfg.credential.secret();
        match outcome {
            Ok((status, body)) => {
                log::debug!("telinta {method}: HTTP {status} in {ms} ms");
                interpret(method, status, &body).map_err(|e| e.scrub(&[secret]))
            }
            Err(e) => {
                let err = map_ureq(method, e).scrub(&[secret]);
                log::debug!("telinta {method}: failed after {ms} ms: {err}");
                Err(err)
            }
        }
    }
}

/// 200 + JSON object → Ok; 500 + `faultcode` → Fault; other statuses → Http;
/// a 200 that is not a JSON object → Malformed.
fn interpret(method: &str, status: u16, body: &[u8]) -> Result<Map<String, Value>, TelintaError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    match status {
        200 => match parsed {
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(malformed(method, "reply is JSON but not an object")),
            None => Err(malformed(method, "reply is not JSON")),
        },
        500 => {
            let fault = parsed.as_ref().and_then(Value::as_object).and_then(|m| {
                non_empty(m.get("faultcode")).map(|code| (code, text(m.get("faultstring"))))
            });
            match fault {
                Some((code, message)) => Err(TelintaError::new(
                    method,
                    ErrorKind::Fault {
                        code,
                        message: message.unwrap_or_default(),
                    },
                )),
                None => Err(TelintaError::new(method, ErrorKind::Http(500))),
            }
        }
        s => Err(TelintaError::new(method, ErrorKind::Http(s))),
    }
}

fn map_ureq(method: &str, e: ureq::Error) -> TelintaError {
    let kind = match e {
        ureq::Error::Timeout(_) => ErrorKind::Timeout,
        ureq::Error::Io(io) if matches!(io.kind(), IoKind::TimedOut | IoKind::WouldBlock) => {
            ErrorKind::Timeout
        }
        ureq::Error::StatusCode(s) => ErrorKind::Http(s),
        ureq::Error::BodyExceedsLimit(_) => ErrorKind::Malformed("reply too large".into()),
        other => ErrorKind::Transport(other.to_string()),
    };
    TelintaError::new(method, kind)
}

fn malformed(method: &str, what: &str) -> TelintaError {
    TelintaError::new(method, ErrorKind::Malformed(what.to_string()))
}

/// A 200 reply may carry `success: 0` instead of a fault; treat that as a failure.
fn expect_success(method: &str, reply: &Map<String, Value>) -> Result<(), TelintaError> {
    match reply.get("success").map(|v| flag(Some(v))) {
        Some(Some(false)) => Err(malformed(method, "the server answered success=0")),
        _ => Ok(()),
    }
}

fn required_int(method: &str, m: &Map<String, Value>, key: &str) -> Result<i64, TelintaError> {
    int(m.get(key)).ok_or_else(|| malformed(method, &format!("reply lacks {key}")))
}

fn list<'a>(
    method: &str,
    m: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Vec<Value>, TelintaError> {
    m.get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| malformed(method, &format!("reply lacks {key}")))
}

/// A random 16-character alphanumeric service password (`h323_password`) for a new
/// number account.
pub fn random_service_password() -> std::io::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let limit = 256 - (256 % ALPHABET.len());
    let mut out = String::with_capacity(16);
    while out.len() < 16 {
        let mut buf = [0u8; 32];
        getrandom::fill(&mut buf).map_err(|e| std::io::Error::other(e.to_string()))?;
        for b in buf {
            if (b as usize) < limit && out.len() < 16 {
                out.push(char::from(ALPHABET[b as usize % ALPHABET.len()]));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod props {
    use super::*;
    use crate::proptest_json::{any_json, object_with, reply_bytes};
    use proptest::prelude::*;

    const REPLY_KEYS: &[&str] = &[
        "faultcode",
        "faultstring",
        "session_id",
        "number_list",
        "success",
        "i_did_number",
    ];

    /// An error's text goes on pages, into emails and log lines: one line, bounded.
    fn check_error_text(e: &TelintaError) -> Result<(), TestCaseError> {
        let text = e.to_string();
        prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
        prop_assert!(text.chars().count() < 700, "{}", text.len());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Garbage, truncated or wrong-typed JSON is an error value, never a panic.
        #[test]
        fn any_reply_is_interpreted_without_panicking(
            status in prop_oneof![Just(200u16), Just(500u16), 100u16..600],
            body in reply_bytes(REPLY_KEYS),
        ) {
            match interpret("DID/get_number_list", status, &body) {
                Ok(m) => {
                    prop_assert_eq!(status, 200);
                    prop_assert_eq!(
                        serde_json::from_slice::<Value>(&body).ok(),
                        Some(Value::Object(m))
                    );
                }
                Err(e) => check_error_text(&e)?,
            }
        }

        #[test]
        fn reply_helpers_take_any_shape(m in object_with(REPLY_KEYS), v in any_json()) {
            let _ = expect_success("x", &m);
            if let Err(e) = required_int("x", &m, "i_did_number") {
                check_error_text(&e)?;
            }
            if let Ok(items) = list("x", &m, "number_list") {
                prop_assert_eq!(Some(items), m.get("number_list").and_then(Value::as_array));
            }
            let _ = (flag(Some(&v)), int(Some(&v)), text(Some(&v)), non_empty(Some(&v)));
        }
    }
}
