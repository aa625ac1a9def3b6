//! The admin's dashboard: the work queue, charts, the upstream preflight and "Reconcile now"
//! (the outbox is `admin_outbox`, the audit log `admin_audit`).

use maud::html;

use super::{csrf_field, page};
use crate::clock::format_utc;
use crate::store::outbox;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};

pub fn dashboard(ctx: &Ctx<'_>) -> Reply {
    let admin = require_admin(ctx)?;
    let without_two_factor = !admin.two_factor;
    let hold_ends = ctx.app.now() + super::admin_orders::HOLD_ENDING_SECS;
    let (counts, queue, upstream) = ctx.read(|tx| {
        Ok((
            outbox::counts(tx)?,
            crate::store::purchased::work_queue(tx, hold_ends)?,
            crate::store::settings::last_upstream_check(tx)?,
        ))
    })?;
    let activity = match activity(ctx) {
        Ok(m) => m,
        Err(e) => return Err(Stop::internal(e)),
    };
    let items = [
        (
            "queue-awaiting-activation",
            queue.awaiting_activation,
            "paid, waiting for activation",
            "/admin/orders?status=awaiting_activation",
        ),
        (
            "queue-activation-failed",
            queue.activation_failed,
            "activations failed",
            "/admin/orders?status=activation_failed",
        ),
        (
            "queue-holds-ending",
            queue.holds_ending,
            "holds end within 5 minutes",
            "/admin/orders?status=hold_ending",
        ),
        (
            "queue-undelivered-mail",
            queue.undelivered_mail,
            "emails not delivered",
            "/admin/outbox?status=failed",
        ),
        (
            "queue-needs-check",
            queue.needs_check,
            "payments flagged for a check",
            "/admin/orders?status=needs_check",
        ),
    ];
    let waiting: i64 = items.iter().map(|i| i.1).sum();
    Ok(page(
        ctx,
        200,
        "Admin",
        html! {
            h1 { "Admin" }
            @if without_two_factor {
                div.notice id="two-factor-off" role="status" {
                    "Your password alone signs you in to this admin area. "
                    a href="/account/2fa" { "Turn on two-factor sign-in" }
                }
            }
            section.panel id="work-queue" aria-labelledby="work-queue-title" {
                h2 id="work-queue-title" { "Waiting for you" }
                @if waiting == 0 {
                    p id="queue-empty" { "Nothing waits for you. New paid orders will show here." }
                } @else {
                    ul.queue {
                        @for (id, n, label, href) in items {
                            li id=(id) data-count=(n) class=(if n > 0 { "queue-item busy" } else { "queue-item" }) {
                                @if n > 0 { a href=(href) { strong { (n) } " " (label) } } @else { span.muted { "0 " (label) } }
                            }
                        }
                    }
                }
            }
            div.cards {
                a.card href="/admin/orders" id="card-orders" {
                    h2 { "View Orders" }
                    p { "Orders, payments, and each number's status." }
                }
                a.card href="/admin/outbox" id="card-outbox" {
                    h2 { "Outbox" }
                    p { (counts.queued) " waiting · " (counts.sent) " sent · " (counts.failed) " failed" }
                }
                a.card href="/admin/numbers" id="card-numbers" {
                    h2 { "Inventory" }
                    p { "Numbers for sale: import, sync with Telinta." }
                }
                a.card href="/admin/billing" id="card-billing" {
                    h2 { "Billing" }
                    p { "Renewals due, overdue and suspended numbers, revenue by month." }
                }
                a.card href="/admin/plans" id="card-plans" {
                    h2 { "Plans" }
                    p { "Setup and monthly fees customers choose from." }
                }
                a.card href="/admin/audit" id="card-audit" {
                    h2 { "Audit log" }
                    p { "Who changed what, and the outcome." }
                }
            }
            section.panel id="upstream-check" data-ok=[upstream.as_ref().map(|u| u.ok.to_string())] {
                h2 { "Telinta and PayPal preflight" }
                @match &upstream {
                    None => p id="upstream-never" {
                        "Not run yet. Run " code { "didport check-upstream" } " on the server: it checks, "
                        "without changing anything, that Telinta and PayPal accept the configuration and "
                        "allow every call the shop makes."
                    },
                    Some(u) => {
                        p id="upstream-summary" {
                            @if u.ok { span.badge.badge-ok { "All checks passed" } }
                            @else { span.badge.badge-off { "Some checks failed" } }
                            " · last run " span id="upstream-at" { (format_utc(u.at)) }
                            " · run " code { "didport check-upstream" } " again after changing the settings."
                        }
                        @let failed: Vec<&String> = u.lines.iter().filter(|l| l.starts_with("FAIL")).collect();
                        @if !failed.is_empty() {
                            ul id="upstream-failures" {
                                @for l in failed { li { (l) } }
                            }
                        }
                    }
                }
            }
            (activity)
            section #reconcile {
                h2 { "Reconcile" }
                p {
                    "Checks unpaid PayPal orders with PayPal, runs again activations that stopped midway, "
                    "and reads back settings changes that Telinta never confirmed. It also runs by itself "
                    "every minute and when the portal starts."
                }
                form method="post" action="/admin/reconcile" {
                    (csrf_field(ctx))
                    button type="submit" id="reconcile-button" { "Reconcile now" }
                }
            }
        },
    ))
}

/// The dashboard's charts: orders and revenue per day for 30 days, searches per hour for 48
/// hours, and how often Telinta and PayPal failed since the portal started.
fn activity(ctx: &Ctx<'_>) -> Result<maud::Markup, crate::store::Error> {
    use crate::domain::billing::{DAY, day_of, format_day};
    let now = ctx.app.now();
    let today = day_of(now);
    let since_day = today - 29 * DAY;
    let this_hour = now.div_euclid(3600) * 3600;
    let since_hour = this_hour - 47 * 3600;
    let (days, hours) = ctx.app.services.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            crate::store::stats::orders_by_day(tx, since_day)?,
            crate::store::stats::searches_by_hour(tx, since_hour)?,
        ))
    })?;
    let currency = ctx.app.config().currency;
    let per_day: Vec<(i64, i64, i64)> = (0..30)
        .map(|i| {
            let d = since_day + i * DAY;
            let (o, c) = days
                .iter()
                .find(|(day, ..)| *day == d)
                .map_or((0, 0), |(_, o, c)| (*o, *c));
            (d, o, c)
        })
        .collect();
    let label = |d: i64| format_day(d).get(5..).unwrap_or_default().to_string();
    let orders: Vec<(String, i64)> = per_day.iter().map(|(d, o, _)| (label(*d), *o)).collect();
    let revenue: Vec<(String, i64)> = per_day.iter().map(|(d, _, c)| (label(*d), *c)).collect();
    let searches: Vec<(String, i64)> = (0..48)
        .map(|i| {
            let h = since_hour + i * 3600;
            let n = hours.iter().find(|(hh, _)| *hh == h).map_or(0, |(_, n)| *n);
            (format!("{:02}h", h.rem_euclid(DAY) / 3600), n)
        })
        .collect();
    let total = |v: &[(String, i64)]| v.iter().map(|(_, n)| n).sum::<i64>();
    let upstream = crate::metrics::upstream_totals();
    Ok(maud::html! {
        section.panel id="activity" {
            h2 { "Activity" }
            div.chart-row {
                div {
                    h3 { "Orders per day, 30 days" }
                    (super::charts::bars("chart-orders", "Orders per day for the last 30 days", &orders, 7))
                }
                p.chart-figure id="orders-30d" { strong { (total(&orders)) } " orders" br; "today " (per_day.last().map_or(0, |x| x.1)) }
            }
            div.chart-row {
                div {
                    h3 { "Revenue per day, 30 days" }
                    (super::charts::bars("chart-revenue", "Revenue per day for the last 30 days", &revenue, 7))
                }
                p.chart-figure id="revenue-30d" { strong { (crate::domain::Money::new(total(&revenue), currency)) } br; "today " (crate::domain::Money::new(per_day.last().map_or(0, |x| x.2), currency)) }
            }
            div.chart-row {
                div {
                    h3 { "Searches per hour, 48 hours" }
                    (super::charts::bars("chart-searches", "Searches per hour for the last 48 hours", &searches, 6))
                }
                p.chart-figure id="searches-48h" { strong { (total(&searches)) } " searches" }
            }
            h3 { "Upstream errors since the portal started" }
            table.data id="upstream-errors" {
                thead { tr { th { "Service" } th.num { "Calls" } th.num { "Failed" } th.num { "Rate" } } }
                tbody {
                    @for (service, calls, errors) in &upstream {
                        tr id={ "upstream-" (service) } {
                            td { (service) }
                            td.num { (calls) }
                            td.num { (errors) }
                            td.num { @if *calls == 0 { "—" } @else { (format!("{:.1} %", *errors as f64 * 100.0 / *calls as f64)) } }
                        }
                    }
                }
            }
        }
    })
}

/// The admin's "Reconcile now": one pass at once, with what it did as the flash message.
pub fn reconcile(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let s = &ctx.app.services;
    let stale_before = s.now() - crate::workflow::reconcile::GRACE_SECS;
    Ok(match crate::workflow::reconcile::run(s, stale_before) {
        Ok(report) if report.is_empty() => {
            ctx.redirect_with("/admin", FlashKind::Notice, "Nothing to reconcile.")
        }
        Ok(report) => ctx.redirect_with(
            "/admin",
            FlashKind::Notice,
            &format!("Reconciled: {}.", report.summary()),
        ),
        Err(e) => return Err(Stop::internal(e)),
    })
}
