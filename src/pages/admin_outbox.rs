//! The outbox: every email the portal queued, its state and attempts, and a retry now.

use maud::html;

use super::{csrf_field, page};
use crate::clock::format_utc;
use crate::domain::{MailEvent, OutboxStatus};
use crate::http::encode_query;
use crate::store::outbox;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};

const PAGE_SIZE: i64 = 50;

fn parse_before(ctx: &Ctx<'_>) -> Option<i64> {
    ctx.req
        .query_params()
        .get("before")
        .and_then(|v| v.parse().ok())
}

pub fn list(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let q = ctx.req.query_params();
    let status = q.get("status").and_then(|s| OutboxStatus::parse(s));
    let before = parse_before(ctx);
    // The templates tab: every email the portal sends, previewed with sample data.
    let templates = q.get("view").is_some_and(|v| v == "templates");
    let (mut mails, counts) = ctx.read(|tx| {
        Ok((
            outbox::list(tx, status, before, PAGE_SIZE + 1)?,
            outbox::counts(tx)?,
        ))
    })?;
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
    Ok(page(
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
    ))
}

/// `POST /admin/outbox/{id}/retry`: the message goes out again now.
pub fn retry(ctx: &Ctx<'_>, id: &str) -> Reply {
    let admin = require_admin(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let queued = crate::workflow::outbox::retry_now(&ctx.app.services, admin, id, &ctx.client)
        .map_err(Stop::internal)?;
    Ok(if queued {
        ctx.redirect_with(
            "/admin/outbox",
            FlashKind::Notice,
            "The message will be sent again now.",
        )
    } else {
        ctx.redirect_with(
            "/admin/outbox",
            FlashKind::Error,
            "That message was already sent, or does not exist.",
        )
    })
}
