//! The emails the portal sends, previewed with sample data: the list of templates on the
//! outbox page and one page per event and reader showing the subject, the text part and the
//! HTML part as a mail client would (docs/contract.md §6).

use maud::{Markup, html};

use super::page;
use crate::domain::MailEvent;
use crate::emails::{Reader, samples};
use crate::http::server::CSP_WITH_INLINE_STYLES;
use crate::web::{Ctx, Reply, Stop, require_admin};

fn reader_label(r: Reader) -> &'static str {
    match r {
        Reader::Customer => "Customer",
        Reader::Admin => "Admin",
    }
}

fn preview_link(event: MailEvent, reader: Reader) -> String {
    format!(
        "/admin/outbox/preview/{}/{}",
        event.as_str(),
        reader.as_str()
    )
}

/// About how tall the email is drawn with `per_line` characters to a line: the frame is
/// inert (nothing in it scrolls or takes focus), so it is made tall enough to show it whole.
fn frame_height(email: &crate::emails::Email, per_line: usize) -> usize {
    let lines = |t: &str, n: usize| t.chars().count().div_ceil(n).max(1);
    let chrome = 280;
    let heading = lines(&email.subject, per_line * 3 / 4) * 28;
    let body: usize = email
        .text
        .split("\n-- \n")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| {
            if l.is_empty() {
                10
            } else {
                lines(l, per_line) * 25
            }
        })
        .sum();
    chrome + heading + body
}

/// The templates section of the outbox page: one row per event and reader.
pub fn templates(ctx: &Ctx<'_>) -> Markup {
    let all = samples::all(&crate::workflow::notify::site(&ctx.app.services));
    let mut rows: Vec<(MailEvent, Reader, Vec<&samples::Sample>)> = Vec::new();
    for s in &all {
        match rows
            .iter_mut()
            .find(|(e, r, _)| *e == s.event && *r == s.reader)
        {
            Some(row) => row.2.push(s),
            None => rows.push((s.event, s.reader, vec![s])),
        }
    }
    html! {
        section id="templates" aria-labelledby="templates-title" {
            h2 id="templates-title" { "Templates" }
            p.muted { "Every email the portal sends, for each reader, filled with sample data. Each is sent as plain text with an HTML alternative." }
            div.table-wrap {
                table.data.stacked id="template-list" {
                    thead { tr { th { "Event" } th { "Reader" } th { "Subject" } th { span.visually-hidden { "Preview" } } } }
                    tbody {
                        @for (event, reader, variants) in &rows {
                            tr id=(format!("template-{}-{}", event.as_str(), reader.as_str())) {
                                td.title-cell { code { (event.as_str()) } }
                                td data-label="Reader" { (reader_label(*reader)) }
                                td.sentence data-label="Subject" {
                                    span {
                                        @for (i, v) in variants.iter().enumerate() {
                                            @if i > 0 { br; }
                                            (v.email.subject)
                                        }
                                    }
                                }
                                td.action-cell {
                                    a href=(preview_link(*event, *reader)) {
                                        "Preview" span.visually-hidden { " " (event.as_str()) " for the " (reader.as_str()) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /admin/outbox/preview/{event}/{reader}`: the subject, the text and the HTML of each
/// message of that event and reader, with sample data.
pub fn preview(ctx: &Ctx<'_>, event: &str, reader: &str) -> Reply {
    require_admin(ctx)?;
    let (Some(event), Some(reader)) = (MailEvent::parse(event), Reader::parse(reader)) else {
        return Err(Stop::NotFound);
    };
    let all = samples::all(&crate::workflow::notify::site(&ctx.app.services));
    let shown: Vec<&samples::Sample> = all
        .iter()
        .filter(|s| s.event == event && s.reader == reader)
        .collect();
    if shown.is_empty() {
        return Err(Stop::NotFound);
    }
    let to = match reader {
        Reader::Customer => "the customer's address",
        Reader::Admin => "the admin address (DIDPORT_ADMIN_EMAIL)",
    };
    Ok(page(
        ctx,
        200,
        &format!(
            "Email preview: {} for the {}",
            event.as_str(),
            reader.as_str()
        ),
        html! {
            p { a href="/admin/outbox?view=templates" { "← All templates" } }
            h1 { "Email preview" }
            p.lead {
                code { (event.as_str()) } ", written for the " (reader.as_str()) ". "
                "Sample data: nothing is sent from this page."
            }
            @for (i, s) in shown.iter().enumerate() {
                article.mail-preview id=(format!("preview-{}", i + 1)) {
                    h2 {
                        @if s.variant.is_empty() { "The message" } @else { "When: " (s.variant) }
                    }
                    dl.mail-head {
                        dt { "To" } dd { (to) }
                        dt { "Subject" } dd.mail-subject { (s.email.subject) }
                    }
                    h3 { "HTML part" }
                    // Sandboxed without scripts or same-origin, and inert: a picture of the
                    // email as a mail client shows it, whose sample links go nowhere (the text
                    // part below carries the same words and links for a screen reader).
                    iframe.mail-html srcdoc=(s.email.html) sandbox="" inert
                        style=(format!("--narrow: {}px; --wide: {}px", frame_height(&s.email, 28), frame_height(&s.email, 60)))
                        title=(format!("HTML part of {}", s.email.subject)) {}
                    h3 { "Text part" }
                    pre.mail-body.mail-text { (s.email.text) }
                }
            }
        },
    )
    .with_header("Content-Security-Policy", CSP_WITH_INLINE_STYLES))
}
