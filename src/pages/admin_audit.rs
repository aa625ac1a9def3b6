//! The audit log as sentences ("ops@example.com changed the status of (212) 555-0142"),
//! filtered by who, which number and what kind of change.

use maud::{Markup, html};

use super::page;
use crate::clock::format_utc;
use crate::domain::phone::pretty;
use crate::http::encode_query;
use crate::store::audit::{self, Filter, Outcome, Row};
use crate::web::{Ctx, Reply, require_admin};

const PAGE_SIZE: i64 = 50;

/// Every action the program records, with the words of its sentence. An action missing here
/// is still shown, by its code.
const KINDS: &[(&str, &str, &str)] = &[
    // (code, label in the filter, verb in the sentence)
    ("order_create", "Orders placed", "ordered"),
    ("order_cancel", "Orders given up", "gave up the order for"),
    ("payment_capture", "Payments", "paid for"),
    (
        "payment_offline",
        "Payments recorded by an admin",
        "recorded a payment for",
    ),
    ("payment_refund", "Refunds", "refunded"),
    ("number_status", "Status changes", "changed the status of"),
    ("number_activate", "Activations", "activated"),
    ("number_suspend", "Suspensions", "suspended"),
    ("number_cancel", "Cancellations", "cancelled"),
    (
        "number_settings",
        "PIN and forwarding",
        "changed the settings of",
    ),
    (
        "renewal_invoice",
        "Renewal invoices",
        "issued a renewal invoice for",
    ),
    ("renewal_paid", "Renewals paid", "paid the renewal of"),
    ("numbers_import", "Inventory imports", "imported numbers"),
    (
        "customer_link",
        "Telinta customer links",
        "linked the Telinta customer of user",
    ),
    ("outbox_retry", "Emails retried", "sent again email"),
    ("signup", "Sign-ups", "created the account"),
    ("user_add", "Users added", "added the user"),
    ("login", "Sign-ins", "signed in as"),
    (
        "login_second_step",
        "Two-factor codes",
        "entered a two-factor code for",
    ),
    (
        "two_factor_enabled",
        "Two-factor turned on",
        "turned on two-factor sign-in for",
    ),
    (
        "two_factor_reset",
        "Two-factor resets",
        "reset two-factor sign-in for",
    ),
    (
        "password_reset_request",
        "Password reset links",
        "asked for a password reset link for",
    ),
    ("password_reset", "Password resets", "reset the password of"),
    (
        "password_change",
        "Password changes",
        "changed the password of",
    ),
];

fn verb(action: &str) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(code, ..)| *code == action)
        .map(|(_, _, v)| *v)
}

/// A ten-digit subject is a phone number and reads as one.
fn subject(s: &str) -> String {
    if s.len() == 10 && s.bytes().all(|b| b.is_ascii_digit()) {
        pretty(s)
    } else {
        s.to_string()
    }
}

/// One entry as a sentence.
fn sentence(r: &Row) -> Markup {
    let failed = r.outcome != Outcome::Ok;
    html! {
        strong { (r.actor) } " "
        @match verb(&r.action) {
            Some(v) => {
                @if failed { "tried: " }
                (v)
            }
            None => { "did " code { (r.action) } " to" }
        }
        @if !r.subject.is_empty() && r.action != "numbers_import" {
            " " strong.subject { (subject(&r.subject)) }
        }
    }
}

fn outcome_badge(outcome: Outcome) -> Markup {
    html! {
        @match outcome {
            Outcome::Ok => span.badge.badge-ok { "Done" },
            Outcome::Failed => span.badge.badge-bad { "Failed" },
            Outcome::Refused => span.badge.badge-wait { "Refused" },
        }
    }
}

pub fn list(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let q = ctx.req.query_params();
    let get = |k: &str| {
        q.get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let before = get("before").and_then(|v| v.parse::<i64>().ok());
    let actor = get("actor");
    let number_typed = get("number");
    let kind = get("kind").filter(|k| KINDS.iter().any(|(c, ..)| c == k));
    // A number as people write it, `(212) 555-0142` or `555-0142`: its digits.
    let number = number_typed.as_ref().map(|n| {
        let d: String = n.chars().filter(char::is_ascii_digit).collect();
        match d.strip_prefix('1') {
            Some(rest) if d.len() == 11 => rest.to_string(),
            _ => d,
        }
    });
    let filter = Filter {
        actor: actor.clone(),
        number: number.clone().filter(|d| !d.is_empty()),
        action: kind.clone(),
    };
    let mut rows = ctx.read(|tx| audit::list_filtered(tx, &filter, before, PAGE_SIZE + 1))?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);
    let older = |last: i64| {
        let mut pairs: Vec<(&str, String)> = vec![("before", last.to_string())];
        if let Some(a) = &actor {
            pairs.push(("actor", a.clone()));
        }
        if let Some(n) = &number_typed {
            pairs.push(("number", n.clone()));
        }
        if let Some(k) = &kind {
            pairs.push(("kind", k.clone()));
        }
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!("/admin/audit?{}", encode_query(&pairs))
    };
    let filtered = actor.is_some() || number_typed.is_some() || kind.is_some();
    Ok(page(
        ctx,
        200,
        "Audit log",
        html! {
            h1 { "Audit log" }
            form.search-panel.audit-filter id="audit-filter" method="get" action="/admin/audit" {
                div.field {
                    label for="a-actor" { "Who" }
                    input id="a-actor" name="actor" type="search" value=(actor.as_deref().unwrap_or("")) placeholder="ops@example.com";
                }
                div.field {
                    label for="a-number" { "Number" }
                    input id="a-number" name="number" type="search" value=(number_typed.as_deref().unwrap_or("")) placeholder="(212) 555-0142";
                }
                div.field {
                    label for="a-kind" { "Kind" }
                    select id="a-kind" name="kind" {
                        option value="" { "Everything" }
                        @for (code, label, _) in KINDS {
                            option value=(code) selected[kind.as_deref() == Some(*code)] { (label) }
                        }
                    }
                }
                button type="submit" id="audit-filter-submit" { "Filter" }
            }
            @if rows.is_empty() {
                p.empty id="audit-empty" {
                    @if filtered { "Nothing recorded matches. " a href="/admin/audit" { "Show everything" } }
                    @else { "Nothing recorded yet." }
                }
            } @else {
                div.table-wrap {
                    table.data.stacked id="audit" {
                        thead { tr { th { "What happened" } th { "When" } th { "Outcome" } th { "Details" } } }
                        tbody {
                            @for r in &rows {
                                tr id=(format!("audit-{}", r.id)) data-outcome=(r.outcome) data-action=(r.action) {
                                    td.title-cell.sentence { span { (sentence(r)) } }
                                    td.dates data-label="When" { (format_utc(r.at)) }
                                    td data-label="Outcome" { (outcome_badge(r.outcome)) }
                                    td.detail data-label="Details" {
                                        span {
                                            (r.detail)
                                            @if !r.address.is_empty() { br; span.muted { "from " (r.address) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if more {
                    @if let Some(last) = rows.last() {
                        nav.pager aria-label="Pages" {
                            a href=(older(last.id)) rel="next" id="next-page" { "Older entries →" }
                        }
                    }
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(action: &str, subject: &str, outcome: &str) -> Row {
        Row {
            id: 1,
            at: 0,
            actor: "ops@example.com".into(),
            action: action.into(),
            subject: subject.into(),
            outcome: Outcome::parse(outcome).unwrap(),
            detail: String::new(),
            address: String::new(),
        }
    }

    #[test]
    fn entries_read_as_sentences() {
        let text = |r: &Row| {
            sentence(r)
                .into_string()
                .replace("<strong>", "")
                .replace("<strong class=\"subject\">", "")
                .replace("</strong>", "")
        };
        assert_eq!(
            text(&row("number_status", "2125550142", "ok")),
            "ops@example.com changed the status of (212) 555-0142"
        );
        assert_eq!(
            text(&row("login", "ops@example.com", "failed")),
            "ops@example.com tried: signed in as ops@example.com"
        );
        assert!(text(&row("something_new", "x", "ok")).contains("<code>something_new</code>"));
        let codes: Vec<_> = KINDS.iter().map(|(c, ..)| *c).collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), codes.len(), "each kind once");
    }
}
