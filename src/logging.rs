//! Logging to stderr through env_logger, filtered by `DIDPORT_LOG` (`info`, `didport=debug,info`).

use std::borrow::Cow;
use std::io::Write;

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Checks a filter such as `info,didport::http=debug`; env_logger itself only warns.
pub fn check_filter(filter: &str) -> Result<(), String> {
    for item in filter.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let level = match item.split_once('=') {
            Some((module, level)) => {
                if module.is_empty()
                    || !module
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                {
                    return Err(format!("{item:?} does not name a module"));
                }
                level
            }
            None if LEVELS.contains(&item.to_ascii_lowercase().as_str()) => item,
            None => continue, // a bare module name turns on everything for it
        };
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            return Err(format!(
                "{level:?} is not a log level (off, error, warn, info, debug, trace)"
            ));
        }
    }
    Ok(())
}

/// A log message with its control characters written as escapes (`\r`, `\n`, `\0`,
/// `\u{1b}`): text that came from a client can neither start a forged log line nor send
/// escape sequences to an operator's terminal.
pub fn escape_controls(message: &str) -> Cow<'_, str> {
    if !message.chars().any(char::is_control) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

thread_local! {
    /// The id of the request this thread is answering, put on every line logged meanwhile.
    static REQUEST_ID: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Marks the lines this thread logs as belonging to request `id` until the guard drops.
pub fn request_scope(id: String) -> RequestScope {
    REQUEST_ID.with(|r| *r.borrow_mut() = Some(id));
    RequestScope
}

/// While it lives, log lines of this thread carry the request id.
pub struct RequestScope;

impl Drop for RequestScope {
    fn drop(&mut self) {
        REQUEST_ID.with(|r| *r.borrow_mut() = None);
    }
}

fn request_id() -> Option<String> {
    REQUEST_ID.with(|r| r.borrow().clone())
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `2026-12-04T21:00:00Z INFO  didport::app: message [req 1a2b3c4d]`
    #[default]
    Text,
    /// One JSON object per line, for log shippers:
    /// `{"ts":"…","level":"INFO","target":"…","msg":"…","request_id":"…"}`.
    Json,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "text" => Some(Format::Text),
            "json" => Some(Format::Json),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
        }
    }
}

/// One JSON log line (without the newline).
pub fn json_line(ts: &str, level: &str, target: &str, msg: &str, request: Option<&str>) -> String {
    let mut v = serde_json::json!({
        "ts": ts,
        "level": level,
        "target": target,
        "msg": msg,
    });
    if let (Some(id), Some(map)) = (request, v.as_object_mut()) {
        map.insert("request_id".into(), serde_json::Value::from(id));
    }
    v.to_string()
}

/// Installs the process logger. Noisy dependencies are quieted unless the filter names them.
pub fn init(filter: &str) {
    init_with(filter, Format::Text);
}

/// [`init`] with a line format.
pub fn init_with(filter: &str, format: Format) {
    let full = format!(
        "rustls=warn,ureq=warn,ureq_proto=warn,tiny_http=warn,mail_send=warn,r2d2=warn,{filter}"
    );
    let _ = env_logger::Builder::new()
        .parse_filters(&full)
        .format(move |buf, record| {
            let msg = record.args().to_string();
            let id = request_id();
            match format {
                Format::Text => match id {
                    Some(id) => writeln!(
                        buf,
                        "{} {:<5} {}: {} [req {id}]",
                        buf.timestamp_seconds(),
                        record.level(),
                        record.target(),
                        escape_controls(&msg)
                    ),
                    None => writeln!(
                        buf,
                        "{} {:<5} {}: {}",
                        buf.timestamp_seconds(),
                        record.level(),
                        record.target(),
                        escape_controls(&msg)
                    ),
                },
                // serde_json escapes every control character, so a line stays one line.
                Format::Json => writeln!(
                    buf,
                    "{}",
                    json_line(
                        &buf.timestamp_millis().to_string(),
                        record.level().as_str(),
                        record.target(),
                        &msg,
                        id.as_deref()
                    )
                ),
            }
        })
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_controls("GET /a 404"), "GET /a 404");
        assert_eq!(
            escape_controls("GET /a\r\nGET /b 200\0\u{1b}[31m\u{7f}\tx é"),
            "GET /a\\r\\nGET /b 200\\0\\u{1b}[31m\\u{7f}\\tx é"
        );
    }

    #[test]
    fn json_lines_are_one_object_with_the_request_id() {
        let line = json_line(
            "t",
            "INFO",
            "didport::app",
            "GET /a\r\nforged 200",
            Some("ab12"),
        );
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["msg"], "GET /a\r\nforged 200");
        assert_eq!(v["request_id"], "ab12");
        let v: serde_json::Value =
            serde_json::from_str(&json_line("t", "WARN", "x", "m", None)).unwrap();
        assert!(v.get("request_id").is_none());
        assert_eq!(Format::parse("json"), Some(Format::Json));
        assert_eq!(Format::parse("xml"), None);
        let scope = request_scope("r1".into());
        assert_eq!(request_id().as_deref(), Some("r1"));
        drop(scope);
        assert_eq!(request_id(), None);
    }

    #[test]
    fn filters() {
        assert!(check_filter("info").is_ok());
        assert!(check_filter("warn,didport=debug").is_ok());
        assert!(check_filter("didport::http=trace").is_ok());
        assert!(check_filter("loud").is_ok());
        assert!(check_filter("didport=verbose").is_err());
        assert!(check_filter("=info").is_err());
    }
}
