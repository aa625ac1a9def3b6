//! `GET /metrics` in the Prometheus text format (prometheus-client): requests by route and
//! status with latency histograms, upstream calls by service, method and outcome with latency,
//! and, read from the database when scraped, orders by payment status, numbers by status, the
//! outbox, renewals due and overdue, failures of the flows that cross to Telinta, and the
//! database's size.
//!
//! The registry is one per process: request and upstream counters are recorded from the
//! threads that do the work, without threading a handle through every layer.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::OutboxStatus;
use crate::store::stats::Snapshot;

type Labels = Vec<(String, String)>;
type Histograms = Family<Labels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    request_seconds: Histograms,
    upstream: Family<Labels, Counter>,
    upstream_seconds: Histograms,
    orders: Family<Labels, Gauge>,
    numbers: Family<Labels, Gauge>,
    outbox: Family<Labels, Gauge>,
    renewals: Family<Labels, Gauge>,
    failures: Family<Labels, Gauge>,
    db_bytes: Gauge,
    write_seconds: Histogram,
    longest_write: Family<Labels, Gauge<f64, AtomicU64>>,
}

fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let mut registry = Registry::with_prefix("didport");
        let m = Metrics {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(latency_histogram),
            upstream: Family::default(),
            upstream_seconds: Family::new_with_constructor(latency_histogram),
            orders: Family::default(),
            numbers: Family::default(),
            outbox: Family::default(),
            renewals: Family::default(),
            failures: Family::default(),
            db_bytes: Gauge::default(),
            // 0.1 ms to about 13 s.
            write_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 18)),
            longest_write: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            m.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            m.request_seconds.clone(),
        );
        registry.register(
            "upstream_calls",
            "Calls to Telinta and PayPal, by service, method and outcome",
            m.upstream.clone(),
        );
        registry.register(
            "upstream_call_duration_seconds",
            "Time of a call to Telinta or PayPal, by service and method",
            m.upstream_seconds.clone(),
        );
        registry.register("orders", "Orders by payment status", m.orders.clone());
        registry.register("numbers", "Purchased numbers by status", m.numbers.clone());
        registry.register(
            "outbox_messages",
            "Notifications by delivery state (queued, sent, failed)",
            m.outbox.clone(),
        );
        registry.register(
            "renewals",
            "Open renewal invoices: due (month not begun) and overdue",
            m.renewals.clone(),
        );
        registry.register(
            "flow_failures",
            "Failed activations, settings changes and suspensions (audit entries)",
            m.failures.clone(),
        );
        registry.register(
            "database_size_bytes",
            "Size of the SQLite database",
            m.db_bytes.clone(),
        );
        registry.register(
            "db_write_transaction_duration_seconds",
            "Time a write transaction held the database's write lock",
            m.write_seconds.clone(),
        );
        registry.register(
            "db_write_transaction_longest_seconds",
            "The longest write transaction since start, by the code that ran it",
            m.longest_write.clone(),
        );
        Metrics { registry, ..m }
    })
}

/// The route of a path for a label: numbers and tokens become `:id`, so labels stay few.
pub fn route_of(path: &str) -> String {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.first() == Some(&"assets") {
        return "/assets/:file".into();
    }
    let mut out = String::new();
    for s in segs.iter().take(5) {
        out.push('/');
        if s.chars().any(|c| c.is_ascii_digit()) || s.len() > 24 {
            out.push_str(":id");
        } else {
            out.push_str(s);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Searches not yet written to the database (see [`take_searches`]).
static SEARCHES: AtomicU64 = AtomicU64::new(0);
/// Calls and failed calls per upstream since the process started: [telinta, paypal].
static UPSTREAM_CALLS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];
static UPSTREAM_ERRORS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Counts a number search (page or API).
pub fn count_search() {
    SEARCHES.fetch_add(1, Ordering::Relaxed);
}

/// The searches counted since the last call, for the housekeeping pass to store per hour.
pub fn take_searches() -> u64 {
    SEARCHES.swap(0, Ordering::Relaxed)
}

/// (service, calls, failed calls) since the process started.
pub fn upstream_totals() -> Vec<(&'static str, u64, u64)> {
    ["telinta", "paypal"]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                *s,
                UPSTREAM_CALLS[i].load(Ordering::Relaxed),
                UPSTREAM_ERRORS[i].load(Ordering::Relaxed),
            )
        })
        .collect()
}

/// Counts an answered request.
pub fn record_request(path: &str, status: u16, seconds: f64) {
    let m = metrics();
    let route = route_of(path);
    m.requests
        .get_or_create(&vec![
            ("route".into(), route.clone()),
            ("status".into(), status.to_string()),
        ])
        .inc();
    m.request_seconds
        .get_or_create(&vec![("route".into(), route)])
        .observe(seconds);
}

/// The longest write transaction so far: seconds and where it was run.
static LONGEST_WRITE: std::sync::Mutex<(f64, String)> = std::sync::Mutex::new((0.0, String::new()));

/// Records how long a write transaction held the write lock; `site` is the code that ran it.
pub fn record_write(site: &std::panic::Location<'_>, seconds: f64) {
    let m = metrics();
    m.write_seconds.observe(seconds);
    let mut longest = LONGEST_WRITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seconds > longest.0 {
        let place = format!("{}:{}", site.file(), site.line());
        m.longest_write.clear();
        m.longest_write
            .get_or_create(&vec![("site".into(), place.clone())])
            .set(seconds);
        *longest = (seconds, place);
    }
}

/// The longest write transaction so far: seconds and the code that ran it.
pub fn longest_write() -> (f64, String) {
    LONGEST_WRITE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Counts a call to an upstream (`telinta`, `paypal`); `outcome` is `ok` or a short kind.
pub fn record_upstream(service: &str, method: &str, outcome: &str, seconds: f64) {
    let i = usize::from(service == "paypal");
    UPSTREAM_CALLS[i].fetch_add(1, Ordering::Relaxed);
    if outcome != "ok" && outcome != "2xx" {
        UPSTREAM_ERRORS[i].fetch_add(1, Ordering::Relaxed);
    }
    let m = metrics();
    m.upstream
        .get_or_create(&vec![
            ("service".into(), service.into()),
            ("method".into(), method.into()),
            ("outcome".into(), outcome.into()),
        ])
        .inc();
    m.upstream_seconds
        .get_or_create(&vec![
            ("service".into(), service.into()),
            ("method".into(), method.into()),
        ])
        .observe(seconds);
}

fn set_all(family: &Family<Labels, Gauge>, key: &str, values: &[(String, i64)], all: &[&str]) {
    for name in all {
        let v = values
            .iter()
            .find(|(k, _)| k == name)
            .map_or(0, |(_, n)| *n);
        family
            .get_or_create(&vec![(key.into(), (*name).into())])
            .set(v);
    }
}

/// The exposition, with the database figures of `snapshot`.
pub fn render(snapshot: &Snapshot) -> Result<String, std::fmt::Error> {
    let m = metrics();
    let payments: Vec<&str> = crate::domain::PaymentStatus::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    set_all(&m.orders, "payment_status", &snapshot.orders, &payments);
    let statuses: Vec<&str> = crate::domain::NumberStatus::ALL
        .iter()
        .map(|n| n.as_str())
        .collect();
    set_all(&m.numbers, "status", &snapshot.numbers, &statuses);
    set_all(
        &m.outbox,
        "status",
        &snapshot.outbox,
        &OutboxStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    set_all(
        &m.renewals,
        "state",
        &[
            ("due".into(), snapshot.renewals_due),
            ("overdue".into(), snapshot.renewals_overdue),
        ],
        &["due", "overdue"],
    );
    set_all(
        &m.failures,
        "flow",
        &snapshot.failures,
        &["number_activate", "number_settings", "number_suspend"],
    );
    m.db_bytes.set(snapshot.db_bytes);
    let mut out = String::new();
    encode(&mut out, &m.registry)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_labels_few() {
        assert_eq!(route_of("/"), "/");
        assert_eq!(route_of("/orders/17/pay"), "/orders/:id/pay");
        assert_eq!(route_of("/my/numbers/2125551234"), "/my/numbers/:id");
        assert_eq!(route_of("/assets/style.css"), "/assets/:file");
        assert_eq!(route_of("/numbers"), "/numbers");
    }
}
