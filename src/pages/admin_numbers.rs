//! Admin inventory: counts, CSV upload, Telinta sync, and the reports of past runs.

use maud::{Markup, html};

use super::{csrf_field, page};
use crate::clock::format_utc;
use crate::store::imports::{self, ImportRun};
use crate::store::numbers;
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};
use crate::workflow::inventory::{self, ImportError, SyncError};

const LIST_PAGE: i64 = 50;

/// The inventory list's filter: digits as typed (a written number works) and availability.
struct ListQuery {
    typed: String,
    digits: Option<String>,
    availability: Option<&'static str>,
    page: i64,
}

impl ListQuery {
    fn of(ctx: &Ctx<'_>) -> ListQuery {
        let q = ctx.req.query_params();
        let typed = q.get("q").map(|v| v.trim().to_string()).unwrap_or_default();
        let d: String = typed.chars().filter(char::is_ascii_digit).collect();
        let digits = match d.strip_prefix('1') {
            Some(rest) if d.len() == 11 => Some(rest.to_string()),
            _ => Some(d).filter(|d| !d.is_empty()),
        };
        let availability = match q.get("availability").map(String::as_str) {
            Some("available") => Some("available"),
            Some("held") => Some("held"),
            Some("sold") => Some("sold"),
            _ => None,
        };
        let page = q
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| (1..=100_000).contains(p))
            .unwrap_or(1);
        ListQuery {
            typed,
            digits,
            availability,
            page,
        }
    }

    fn link(&self, page: i64) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if !self.typed.is_empty() {
            pairs.push(("q", self.typed.clone()));
        }
        if let Some(a) = self.availability {
            pairs.push(("availability", a.to_string()));
        }
        pairs.push(("page", page.to_string()));
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        format!(
            "/admin/numbers?{}#numbers-list",
            crate::http::encode_query(&pairs)
        )
    }
}

/// Where a number is in its sale, in the words of the counts above.
fn availability_badge(a: &str) -> Markup {
    html! {
        @match a {
            "available" => span.badge.badge-ok { "Available" },
            "held" => span.badge.badge-wait { "Held during checkout" },
            "sold" => span.badge.badge-info { "Sold" },
            other => span.badge.badge-off { (other) },
        }
    }
}

fn numbers_list(ctx: &Ctx<'_>, lq: &ListQuery) -> Markup {
    let offset = (lq.page - 1).saturating_mul(LIST_PAGE);
    let rows = match ctx.app.services.store.read(|tx| {
        numbers::admin_list(
            tx,
            lq.digits.as_deref(),
            lq.availability,
            LIST_PAGE + 1,
            offset,
        )
    }) {
        Ok(r) => r,
        Err(e) => {
            let id = crate::secure::short_id();
            log::error!("incident {id}: inventory list failed: {e}");
            return html! { p.flash.flash-error id="numbers-list-error" { "The list could not be read (incident " (id) ")." } };
        }
    };
    let more = rows.len() as i64 > LIST_PAGE;
    html! {
        section id="numbers-list" {
            h2 { "Numbers" }
            form.search-panel.inventory-filter id="numbers-filter" method="get" action="/admin/numbers" {
                div.field {
                    label for="n-q" { "Number or digits" }
                    input id="n-q" name="q" type="search" value=(lq.typed) placeholder="(212) 555-0142 or 0142" inputmode="tel";
                }
                div.field {
                    label for="n-availability" { "State" }
                    select id="n-availability" name="availability" {
                        option value="" { "Any" }
                        option value="available" selected[lq.availability == Some("available")] { "Available" }
                        option value="held" selected[lq.availability == Some("held")] { "Held during checkout" }
                        option value="sold" selected[lq.availability == Some("sold")] { "Sold" }
                    }
                }
                button type="submit" id="numbers-filter-submit" { "Show" }
            }
            @if rows.is_empty() {
                p.empty id="no-numbers" { "No numbers match." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="numbers" {
                        thead { tr { th { "Number" } th { "Location" } th { "Type" } th { "State" } th { "Source" } } }
                        tbody {
                            @for r in rows.iter().take(LIST_PAGE as usize) {
                                tr id={ "number-" (r.number) } data-availability=(r.availability) {
                                    td.title-cell { (crate::domain::phone::pretty(&r.number)) }
                                    td data-label="Location" { span { (super::numbers::location(r)) } }
                                    td data-label="Type" { (super::numbers::type_badge(r.kind)) }
                                    td data-label="State" { (availability_badge(r.availability)) }
                                    td data-label="Source" { (source_label(r.source)) }
                                }
                            }
                        }
                    }
                }
                nav.pager aria-label="Pages of numbers" {
                    @if lq.page > 1 { a rel="prev" href=(lq.link(lq.page - 1)) { "← Previous" } }
                    @if more { a rel="next" id="numbers-next" href=(lq.link(lq.page + 1)) { "Next →" } }
                }
            }
        }
    }
}

fn source_label(s: &str) -> &'static str {
    match s {
        "telinta" => "Telinta sync",
        "demo" => "Demo data",
        _ => "Import",
    }
}

pub fn inventory(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let report_id = ctx
        .req
        .query_params()
        .get("report")
        .and_then(|v| v.parse::<i64>().ok());
    inventory_page(ctx, 200, None, report_id)
}

fn inventory_page(
    ctx: &Ctx<'_>,
    status: u16,
    error: Option<&str>,
    report_id: Option<i64>,
) -> Reply {
    let (counts, recent, report) = ctx.read(|tx| {
        Ok((
            numbers::counts(tx)?,
            imports::recent(tx, 10)?,
            match report_id {
                Some(id) => imports::get(tx, id)?,
                None => None,
            },
        ))
    })?;
    let telinta = ctx.app.services.telinta.is_some();
    Ok(page(
        ctx,
        status,
        "Inventory",
        html! {
            h1 { "Inventory" }
            div.cards {
                div.card id="count-available" { h2 { (counts.available) } p { "available" } }
                div.card id="count-held" { h2 { (counts.held) } p { "held during checkout" } }
                div.card id="count-sold" { h2 { (counts.sold) } p { "sold" } }
            }
            @if let Some(r) = &report { (report_view(r)) }
            (numbers_list(ctx, &ListQuery::of(ctx)))
            section.panel {
                h2 { "Import a CSV file" }
                p { "The first line names the columns: " code { "number" } " (required), "
                    code { "state" } ", " code { "rate_center" } ", " code { "type" }
                    " (" code { "local" } " or " code { "tollfree" } "; worked out from the area code when empty). "
                    "Numbers already in the inventory keep their availability; held and sold numbers are never put back on sale." }
                form.stack id="import-form" method="post" action="/admin/numbers/import" enctype="multipart/form-data" {
                    (csrf_field(ctx))
                    div class=(if error.is_some() { "field has-error" } else { "field" }) {
                        label for="f-file" { "CSV file" }
                        input id="f-file" name="file" type="file" accept=".csv,text/csv" required
                            autofocus[error.is_some()] aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "file-error")];
                        @if let Some(e) = error { p.field-error id="file-error" { (e) } }
                    }
                    button type="submit" id="import-submit" { "Import" }
                }
            }
            section.panel {
                h2 { "Sync with Telinta" }
                @if telinta {
                    p { "Adds the numbers that are free in the Telinta DID inventory, and stops offering "
                        "numbers Telinta no longer lists as free." }
                    form method="post" action="/admin/numbers/sync" {
                        (csrf_field(ctx))
                        button type="submit" id="sync-submit" { "Sync now" }
                    }
                } @else {
                    p.notice id="telinta-missing" { "Telinta is not configured (DIDPORT_TELINTA_URL), so there is nothing to sync with." }
                }
            }
            @if !recent.is_empty() {
                section {
                    h2 { "Recent runs" }
                    div.table-wrap {
                        table.data.stacked id="imports" {
                            thead { tr { th { "When" } th { "What" } th { "By" } th.num { "Added" } th.num { "Updated" } th.num { "Removed" } th.num { "Skipped" } th { "Result" } } }
                            tbody {
                                @for r in &recent {
                                    tr id=(format!("import-{}", r.id)) {
                                        td.title-cell { a href=(format!("/admin/numbers?report={}", r.id)) { (format_utc(r.at)) } }
                                        td data-label="What" { (kind_label(&r.kind)) }
                                        td data-label="By" { (r.actor) }
                                        td.num data-label="Added" { (r.added) }
                                        td.num data-label="Updated" { (r.updated) }
                                        td.num data-label="Removed" { (r.removed) }
                                        td.num data-label="Skipped" { (r.bad) }
                                        td data-label="Result" {
                                            @if let Some(e) = &r.error { span.badge.badge-bad { "Failed" } " " small { (e) } }
                                            @else if r.bad > 0 { span.badge.badge-wait { "Done, rows skipped" } }
                                            @else { span.badge.badge-ok { "Done" } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
}

fn kind_label(k: &str) -> &'static str {
    match k {
        "upload" => "Upload",
        "cli" => "Command line",
        _ => "Telinta sync",
    }
}

fn report_view(r: &ImportRun) -> Markup {
    html! {
        section.panel id="import-report" data-bad=(r.bad) data-added=(r.added) {
            h2 { (kind_label(&r.kind)) " of " (format_utc(r.at)) }
            @if let Some(e) = &r.error {
                p.flash.flash-error { "It failed, and nothing was changed: " (e) }
            } @else {
                p {
                    strong { (r.added) } " added, " strong { (r.updated) } " updated, "
                    strong { (r.unchanged) } " unchanged"
                    @if r.kind == "sync" { ", " strong { (r.removed) } " withdrawn" }
                    ", " strong { (r.bad) } " rows skipped (bad or repeated)."
                }
            }
            @if !r.problems.is_empty() {
                div.table-wrap {
                    table.data.stacked id="problems" {
                        thead { tr { th { "Where" } th { "Why it was skipped" } } }
                        tbody {
                            @for (line, why) in &r.problems {
                                tr id=(format!("problem-{line}")) { td.title-cell { "Line " (line) } td data-label="Why" { span { (why) } } }
                            }
                        }
                    }
                }
                @if r.bad > r.problems.len() as i64 {
                    p.muted { "Only the first " (r.problems.len()) " of " (r.bad) " skipped rows are listed." }
                }
            }
        }
    }
}

pub fn import(ctx: &Ctx<'_>) -> Reply {
    let admin = require_admin(ctx)?;
    let file = match ctx.upload("file") {
        Ok(Some(f)) if f.len > 0 => f,
        Ok(_) => {
            return inventory_page(ctx, 400, Some("Choose a CSV file to import."), None);
        }
        Err(why) => {
            return inventory_page(
                ctx,
                400,
                Some(&format!("The upload could not be read: {why}.")),
                None,
            );
        }
    };
    let uploaded = inventory::import_upload(
        &ctx.app.services,
        admin,
        file.filename.as_deref(),
        file.data,
        &ctx.client,
    );
    let (report, id) = match uploaded {
        Ok(v) => v,
        Err(ImportError::BadFile(m)) => return inventory_page(ctx, 400, Some(&m), None),
        Err(ImportError::Internal(e)) => return Err(Stop::internal(e)),
    };
    // Only an import that took nothing in is an error; skipped rows in a file that was
    // otherwise imported are listed in the report below.
    let took_something = report.added + report.updated + report.unchanged > 0;
    let kind = if report.bad > 0 && !took_something {
        FlashKind::Error
    } else {
        FlashKind::Notice
    };
    let skipped = match report.bad {
        0 => String::new(),
        1 => " 1 row was skipped; see why below.".to_string(),
        n => format!(" {n} rows were skipped; see why below."),
    };
    Ok(ctx.redirect_with(
        &format!("/admin/numbers?report={id}"),
        kind,
        &format!(
            "Import finished: {} added, {} updated, {} unchanged.{skipped}",
            report.added, report.updated, report.unchanged
        ),
    ))
}

pub fn sync(ctx: &Ctx<'_>) -> Reply {
    let admin = require_admin(ctx)?;
    Ok(match inventory::sync(&ctx.app.services, &admin.email) {
        Ok(r) => ctx.redirect_with(
            "/admin/numbers",
            FlashKind::Notice,
            &format!(
                "Sync finished: {} numbers free at Telinta, {} added, {} withdrawn.",
                r.free_upstream, r.added, r.removed
            ),
        ),
        Err(SyncError::Internal(e)) => return Err(Stop::internal(e)),
        Err(e) => ctx.redirect_with(
            "/admin/numbers",
            FlashKind::Error,
            &format!("The sync failed and nothing was changed: {e}"),
        ),
    })
}
