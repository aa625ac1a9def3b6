//! Admin pages: the dashboard and the outbox (the audit log is `admin_audit`).

use maud::html;

use super::{csrf_field, page};
use crate::app::{Ctx, FlashKind, require_admin};
use crate::clock::format_utc;
use crate::domain::{MailEvent, OutboxStatus};
use crate::http::{Response, encode_query};
use crate::store::outbox;

const PAGE_SIZE: i64 = 50;

pub fn dashboard(ctx: &Ctx<'_>) -> Response {
    let admin = match require_admin(ctx) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let without_two_factor = !admin.two_factor;
    let hold_ends = ctx.app.now() + super::admin_orders::HOLD_ENDING_SECS;
    let loaded = ctx.app.services.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            outbox::counts(tx)?,
            crate::store::purchased::work_queue(tx, hold_ends)?,
            crate::store::settings::last_upstream_check(tx)?,
        ))
    });
    let (counts, queue, upstream) = match loaded {
        Ok(c) => c,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let activity = match activity(ctx) {
        Ok(m) => m,
        Err(e) => return super::errors::internal(ctx, &e),
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
    page(
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
    )
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
pub fn reconcile(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let s = &ctx.app.services;
    let stale_before = s.now() - crate::workflow::reconcile::GRACE_SECS;
    match crate::workflow::reconcile::run(s, stale_before) {
        Ok(report) if report.is_empty() => {
            ctx.redirect_with("/admin", FlashKind::Notice, "Nothing to reconcile.")
        }
        Ok(report) => ctx.redirect_with(
            "/admin",
            FlashKind::Notice,
            &format!("Reconciled: {}.", report.summary()),
        ),
        Err(e) => super::errors::internal(ctx, &e),
    }
}

fn parse_before(ctx: &Ctx<'_>) -> Option<i64> {
    ctx.req
        .query_params()
        .get("before")
        .and_then(|v| v.parse().ok())
}

pub fn outbox(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let q = ctx.req.query_params();
    let status = q.get("status").and_then(|s| OutboxStatus::parse(s));
    let before = parse_before(ctx);
    // The templates tab: every email the portal sends, previewed with sample data.
    let templates = q.get("view").is_some_and(|v| v == "templates");
    let loaded = ctx.app.services.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            outbox::list(tx, status, before, PAGE_SIZE + 1)?,
            outbox::counts(tx)?,
        ))
    });
    let (mut mails, counts) = match loaded {
        Ok(v) => v,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let more = mails.len() as i64 > PAGE_SIZE;
    mails.truncate(PAGE_SIZE as usize);
    let next_link = mails.last().filter(|_| more).map(|m| {
        let before = m.id.to_string();
        let mut pairs = vec![("before", before.as_str())];
        if let Some(s) = status {
            pairs.push(("status", s.as_str()));
        }
        format!("/admin/outbox?{}", encode_query(&pairs))
    });
    let demo = ctx.app.demo;
    page(
        ctx,
        200,
        "Outbox",
        html! {
            h1 { "Outbox" }
            @if !ctx.app.mail_configured {
                div.notice id="smtp-missing" role="status" {
                    @if demo {
                        "Sandbox: email is not sent anywhere. Every message the portal would send is listed here."
                    } @else {
                        strong { "Email is not being sent:" }
                        " no SMTP server is configured (DIDPORT_SMTP_HOST). "
                        (counts.queued) " message(s) are waiting and will go out once it is."
                    }
                }
            }
            nav.filters aria-label="Filter by state" {
                a href="/admin/outbox" aria-current=[(status.is_none() && !templates).then_some("page")] { "All" }
                @for (s, label, n) in [
                    (OutboxStatus::Queued, "Waiting", counts.queued),
                    (OutboxStatus::Sent, "Sent", counts.sent),
                    (OutboxStatus::Failed, "Failed", counts.failed),
                ] {
                    a href={ "/admin/outbox?status=" (s) } aria-current=[(status == Some(s)).then_some("page")] { (label) " (" (n) ")" }
                }
                a href="/admin/outbox?view=templates" id="outbox-templates-tab" aria-current=[templates.then_some("page")] { "Templates" }
            }
            @if templates {
                (super::admin_emails::templates(ctx))
            } @else if mails.is_empty() {
                p.empty id="outbox-empty" { "No messages." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="outbox" {
                        thead { tr { th { "Subject" } th { "State" } th { "To" } th { "Event" } th { "Delivery" } th { span.visually-hidden { "Actions" } } } }
                        tbody {
                            @for m in &mails {
                                tr id=(format!("mail-{}", m.id)) data-event=(m.event) data-status=(m.status) {
                                    td.title-cell.mail-cell {
                                        details {
                                            summary { (m.subject) }
                                            @if m.event == MailEvent::PasswordReset.as_str() && !demo {
                                                p.muted { "Hidden: this message carries a sign-in link meant only for its recipient." }
                                            } @else {
                                                pre.mail-body { (m.body) }
                                            }
                                        }
                                    }
                                    td.aside {
                                        @match m.status {
                                            OutboxStatus::Sent => { span.badge.badge-ok { "Sent" } }
                                            OutboxStatus::Failed => { span.badge.badge-bad { "Failed" } }
                                            OutboxStatus::Queued => { span.badge.badge-wait { "Waiting" } }
                                        }
                                    }
                                    td.who data-label="To" { span.email { (m.to) } }
                                    td data-label="Event" { code { (m.event) } }
                                    td.dates.delivery data-label="Delivery" {
                                        span {
                                            "queued " (format_utc(m.created_at))
                                            @if let Some(at) = m.sent_at { br; "sent " (format_utc(at)) }
                                            @if m.attempts > 0 {
                                                br; (m.attempts) @if m.attempts == 1 { " attempt" } @else { " attempts" }
                                                @if m.status == OutboxStatus::Queued { ", next try " (format_utc(m.next_attempt_at)) }
                                            }
                                            @if let Some(err) = &m.last_error { span.small-error { (err) } }
                                        }
                                    }
                                    td.action-cell {
                                        @if m.status != OutboxStatus::Sent && ctx.app.mail_configured {
                                            form method="post" action=(format!("/admin/outbox/{}/retry", m.id)) {
                                                (csrf_field(ctx))
                                                button.small type="submit" { "Retry now" }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if let Some(link) = next_link {
                    p { a href=(link) rel="next" id="next-page" { "Older messages →" } }
                }
            }
        },
    )
}

pub fn outbox_retry(ctx: &Ctx<'_>, id: &str) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return super::errors::not_found(ctx);
    };
    let now = ctx.app.now();
    match ctx
        .app
        .services
        .store
        .write(|tx| outbox::retry_now(tx, id, now))
    {
        Ok(true) => {
            ctx.app.services.mail.wake();
            ctx.redirect_with(
                "/admin/outbox",
                FlashKind::Notice,
                "The message will be sent again now.",
            )
        }
        Ok(false) => ctx.redirect_with(
            "/admin/outbox",
            FlashKind::Error,
            "That message was already sent, or does not exist.",
        ),
        Err(e) => super::errors::internal(ctx, &e),
    }
}
