//! Logging to stderr through env_logger, filtered by `DIDPORT_LOG` (`info`, `didport=debug,info`).

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
                record.args()
            )
        })
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

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
