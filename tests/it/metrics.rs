//! `GET /metrics`: the Prometheus/OpenMetrics text, parsed with a parser crate, and its access
//! rule (a bearer token when configured, else loopback clients only).

use crate::activation::{paid_order, setup};
use crate::support::TestPortal;

fn scrape(body: &str) -> prometheus_parse::Scrape {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    prometheus_parse::Scrape::parse(lines).expect("a valid exposition")
}

fn value(s: &prometheus_parse::Scrape, name: &str, label: (&str, &str)) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == name && x.labels.get(label.0) == Some(label.1))
        .and_then(|x| match x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => Some(v),
            _ => None,
        })
}

#[test]
fn metrics_show_requests_upstream_calls_and_the_state_of_the_shop() {
    let mut s = setup(Some(1), true);
    let order = paid_order(&s, "metric@example.com", "2125550901");
    crate::activation::set(&mut s, order, "active");
    let mut anon = s.p.client();
    assert_eq!(anon.get("/numbers?npa=212").status, 200);
    let r = anon.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        r.header("content-type")
    );
    let m = scrape(&r.body);
    assert_eq!(
        value(&m, "didport_orders", ("payment_status", "paid")),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "didport_numbers", ("status", "active")),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "didport_numbers", ("status", "suspended")),
        Some(0.0)
    );
    assert!(value(&m, "didport_outbox_messages", ("status", "queued")).is_some());
    assert!(value(&m, "didport_renewals", ("state", "overdue")).is_some());
    assert!(
        m.samples
            .iter()
            .any(|x| x.metric == "didport_database_size_bytes"
                && matches!(x.value, prometheus_parse::Value::Gauge(v) if v > 0.0))
    );
    // Requests by route (numbers in paths folded), and the activation's calls to Telinta.
    assert!(
        m.samples
            .iter()
            .any(|x| x.metric == "didport_http_requests_total"
                && x.labels.get("route") == Some("/numbers")
                && x.labels.get("status") == Some("200")),
    );
    assert!(
        m.samples
            .iter()
            .any(|x| x.metric == "didport_http_requests_total"
                && x.labels.get("route") == Some("/admin/orders/:id/status"))
    );
    assert!(
        m.samples
            .iter()
            .any(|x| x.metric == "didport_upstream_calls_total"
                && x.labels.get("service") == Some("telinta")
                && x.labels.get("method") == Some("Account/add_account")
                && x.labels.get("outcome") == Some("ok"))
    );
    assert!(m.samples.iter().any(|x| {
        x.metric
            .starts_with("didport_http_request_duration_seconds")
    }));
    // Write transactions are timed, with the longest and the code that ran it.
    assert!(
        m.samples.iter().any(|x| x
            .metric
            .starts_with("didport_db_write_transaction_duration_seconds")),
        "the write-lock histogram is exposed"
    );
    assert!(
        m.samples.iter().any(
            |x| x.metric == "didport_db_write_transaction_longest_seconds"
                // The figures are the process's: the tests share one process, so the
                // longest may be a test's own setup (`tests/…`) rather than the portal's.
                && x.labels.get("site").is_some_and(|s| {
                    s.rsplit_once(".rs:")
                        .is_some_and(|(file, line)| !file.is_empty() && line.parse::<u32>().is_ok())
                })
        ),
        "the longest write names its caller (file and line)"
    );
}

#[test]
fn with_a_token_only_its_bearer_may_read_metrics() {
    let p = TestPortal::start_with(|c, _| c.metrics_token = Some("s3cret-token".into()));
    let mut c = p.client();
    let r = c.get("/metrics");
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").is_some());
    let wrong = ureq::get(&format!("{}/metrics", p.url))
        .header("Authorization", "Bearer nope")
        .call();
    assert!(
        matches!(wrong, Err(ureq::Error::StatusCode(401))),
        "{wrong:?}"
    );
    let mut ok = ureq::get(&format!("{}/metrics", p.url))
        .header("Authorization", "Bearer s3cret-token")
        .call()
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body = ok.body_mut().read_to_string().unwrap();
    assert!(!body.contains("s3cret-token"));
    scrape(&body);
}

#[test]
fn the_dashboard_charts_orders_revenue_searches_and_upstream_errors() {
    let mut s = setup(Some(1), true);
    paid_order(&s, "chart1@example.com", "2125550902");
    let mut anon = s.p.client();
    anon.get("/numbers?npa=212");
    didport::workflow::housekeeping::run_once(s.p.services(), 0).unwrap();
    let dash = s.admin.get("/admin");
    assert!(
        dash.text("#orders-30d").starts_with("1 orders"),
        "{}",
        dash.text("#orders-30d")
    );
    assert!(
        dash.text("#revenue-30d").starts_with("$8.00"),
        "{}",
        dash.text("#revenue-30d")
    );
    assert_eq!(dash.texts("#chart-orders rect").len(), 30);
    assert_eq!(dash.texts("#chart-searches rect").len(), 48);
    assert!(dash.has("#upstream-telinta"));
}
