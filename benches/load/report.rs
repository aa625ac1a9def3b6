//! Step kinds, latency figures, and what the server's own log says.

use std::collections::BTreeMap;

/// What a request was for. Client-side figures come from the simulated users; server-side
/// figures from the request log, mapped to the same kinds by method and path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Search,
    SignUp,
    SignIn,
    SignOut,
    Checkout,
    PayPal,
    Capture,
    Cancel,
    Activation,
    Settings,
    Webhook,
    Page,
    /// A sign-in or sign-up answered 503 with `Retry-After` (the password pool was full); the
    /// person waits as told and sends it again.
    Shed,
}

impl Kind {
    pub const ALL: [Kind; 13] = [
        Kind::Search,
        Kind::SignUp,
        Kind::SignIn,
        Kind::SignOut,
        Kind::Checkout,
        Kind::PayPal,
        Kind::Capture,
        Kind::Cancel,
        Kind::Activation,
        Kind::Settings,
        Kind::Webhook,
        Kind::Page,
        Kind::Shed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Search => "search",
            Kind::SignUp => "sign-up",
            Kind::SignIn => "sign-in",
            Kind::SignOut => "sign-out",
            Kind::Checkout => "checkout",
            Kind::PayPal => "paypal approve (sim)",
            Kind::Capture => "capture (return)",
            Kind::Cancel => "cancel (return)",
            Kind::Activation => "activation",
            Kind::Settings => "settings",
            Kind::Webhook => "paypal webhook",
            Kind::Page => "other pages",
            Kind::Shed => "sign-in/up refused busy (503)",
        }
    }

    /// The kind of a portal request, from its method and path.
    pub fn of_request(method: &str, path: &str) -> Kind {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        match (method, segs.as_slice()) {
            ("GET", ["numbers"]) | ("GET", ["api", "v1", "numbers"]) => Kind::Search,
            ("POST", ["signup"]) => Kind::SignUp,
            ("POST", ["login"]) => Kind::SignIn,
            ("POST", ["logout"]) => Kind::SignOut,
            ("POST", ["checkout"]) => Kind::Checkout,
            ("GET", ["checkout", "paypal", "return"]) => Kind::Capture,
            ("GET", ["checkout", "paypal", "cancel"]) => Kind::Cancel,
            ("POST", ["admin", "orders", _, "status"]) => Kind::Activation,
            ("POST", ["my", "numbers", _, "settings"]) => Kind::Settings,
            ("POST", ["webhooks", "paypal"]) => Kind::Webhook,
            _ => Kind::Page,
        }
    }
}

pub fn percentile(sorted: &[f32], p: f64) -> f32 {
    if sorted.is_empty() {
        return f32::NAN;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

/// Latencies (ms) grouped by kind, sorted.
pub fn group(timings: impl IntoIterator<Item = (Kind, f32)>) -> BTreeMap<Kind, Vec<f32>> {
    let mut by: BTreeMap<Kind, Vec<f32>> = BTreeMap::new();
    for (k, ms) in timings {
        by.entry(k).or_default().push(ms);
    }
    for v in by.values_mut() {
        v.sort_by(f32::total_cmp);
    }
    by
}

fn ms(v: f32) -> String {
    if v.is_nan() {
        "–".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The figures table: client-side count, rate and percentiles, then the server's p50/p99.
pub fn print_table(
    client: &BTreeMap<Kind, Vec<f32>>,
    server: &BTreeMap<Kind, Vec<f32>>,
    seconds: f64,
) {
    println!(
        "{:<21} {:>7} {:>7} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "kind",
        "count",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "server p50",
        "server p99"
    );
    let empty = Vec::new();
    for k in Kind::ALL {
        let c = client.get(&k).unwrap_or(&empty);
        let s = server.get(&k).unwrap_or(&empty);
        if c.is_empty() && s.is_empty() {
            continue;
        }
        let count = if c.is_empty() { s.len() } else { c.len() };
        println!(
            "{:<21} {:>7} {:>7.1} {:>8} {:>8} {:>8} {:>8} {:>10} {:>10}",
            k.label(),
            count,
            count as f64 / seconds,
            ms(percentile(c, 0.5)),
            ms(percentile(c, 0.9)),
            ms(percentile(c, 0.99)),
            ms(c.last().copied().unwrap_or(f32::NAN)),
            ms(percentile(s, 0.5)),
            ms(percentile(s, 0.99)),
        );
    }
}

/// What the server's log says about the run.
#[derive(Default)]
pub struct ServerLog {
    /// Server-side time of each request, by kind.
    pub timings: Vec<(Kind, f32)>,
    /// Requests answered with a 5xx, as `METHOD PATH STATUS`.
    pub server_errors: Vec<String>,
    /// Lines at ERROR level.
    pub errors: Vec<String>,
    /// Lines that report a busy or locked database.
    pub busy: Vec<String>,
    /// Password requests answered 503 at once because their pool was full.
    pub shed: usize,
}

/// Reads the request log lines (`METHOD PATH STATUS 1.23ms`), ERROR lines and busy reports.
pub fn read_server_log(text: &str) -> ServerLog {
    let mut out = ServerLog::default();
    for line in text.lines() {
        if crate::browser::mentions_busy(line) {
            out.busy.push(line.to_string());
        }
        if line.contains(" ERROR ") {
            out.errors.push(line.to_string());
        }
        let Some(rest) = line.split("didport::http::server: ").nth(1) else {
            continue;
        };
        if rest.contains("(pool busy)") {
            out.shed += 1;
            continue;
        }
        // `METHOD PATH STATUS TIMEms`, then the request id (`[req …]`).
        let parts: Vec<&str> = rest.split(' ').take(4).collect();
        let [method, path, status, time] = parts.as_slice() else {
            continue;
        };
        let (Ok(status), Some(Ok(t))) = (
            status.parse::<u16>(),
            time.strip_suffix("ms").map(str::parse::<f32>),
        ) else {
            continue;
        };
        if status >= 500 {
            out.server_errors.push(format!("{method} {path} {status}"));
        }
        out.timings.push((Kind::of_request(method, path), t));
    }
    out
}
