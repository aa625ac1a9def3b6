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

/// Installs the process logger. Noisy dependencies are quieted unless the filter names them.
pub fn init(filter: &str) {
    let full = format!(
        "rustls=warn,ureq=warn,ureq_proto=warn,tiny_http=warn,mail_send=warn,r2d2=warn,{filter}"
    );
    let _ = env_logger::Builder::new()
        .parse_filters(&full)
        .format(|buf, record| {
            writeln!(
                buf,
                "{} {:<5} {}: {}",
                buf.timestamp_seconds(),
                record.level(),
                record.target(),
                escape_controls(&record.args().to_string())
            )
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
    fn filters() {
        assert!(check_filter("info").is_ok());
        assert!(check_filter("warn,didport=debug").is_ok());
        assert!(check_filter("didport::http=trace").is_ok());
        assert!(check_filter("loud").is_ok());
        assert!(check_filter("didport=verbose").is_err());
        assert!(check_filter("=info").is_err());
    }
}
