//! Admin inventory: counts, CSV upload, Telinta sync, and the reports of past runs.

use maud::{Markup, html};

use super::{csrf_field, page};
use crate::app::{Ctx, FlashKind, require_admin};
use crate::clock::format_utc;
use crate::http::Response;
use crate::store::imports::{self, ImportRun};
use crate::store::numbers;
use crate::workflow::inventory::{self, ImportError, SyncError};

pub fn inventory(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
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
) -> Response {
    let loaded = ctx.app.services.store.read(|tx| {
        Ok::<_, crate::store::Error>((
            numbers::counts(tx)?,
            imports::recent(tx, 10)?,
            match report_id {
                Some(id) => imports::get(tx, id)?,
                None => None,
            },
        ))
    });
    let (counts, recent, report) = match loaded {
        Ok(v) => v,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let telinta = ctx.app.services.telinta.is_some();
    page(
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
                        table.data id="imports" {
                            thead { tr { th { "When" } th { "What" } th { "By" } th.num { "Added" } th.num { "Updated" } th.num { "Removed" } th.num { "Bad rows" } th { "Result" } } }
                            tbody {
                                @for r in &recent {
                                    tr id=(format!("import-{}", r.id)) {
                                        td { a href=(format!("/admin/numbers?report={}", r.id)) { (format_utc(r.at)) } }
                                        td { (kind_label(&r.kind)) }
                                        td { (r.actor) }
                                        td.num { (r.added) }
                                        td.num { (r.updated) }
                                        td.num { (r.removed) }
                                        td.num { (r.bad) }
                                        td {
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
    )
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
                    ", " strong { (r.bad) } " bad rows skipped."
                }
            }
            @if !r.problems.is_empty() {
                div.table-wrap {
                    table.data id="problems" {
                        thead { tr { th.num { "Line" } th { "Why it was skipped" } } }
                        tbody {
                            @for (line, why) in &r.problems {
                                tr id=(format!("problem-{line}")) { td.num { (line) } td { (why) } }
                            }
                        }
                    }
                }
                @if r.bad > r.problems.len() as i64 {
                    p.muted { "Only the first " (r.problems.len()) " of " (r.bad) " bad rows are listed." }
                }
            }
        }
    }
}

pub fn import(ctx: &Ctx<'_>) -> Response {
    let admin = match require_admin(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    let file = match ctx.req.upload("file") {
        Ok(Some(f)) if f.len > 0 => f,
        Ok(_) => return inventory_page(ctx, 400, Some("Choose a CSV file to import."), None),
        Err(why) => {
            return inventory_page(
                ctx,
                400,
                Some(&format!("The upload could not be read: {why}.")),
                None,
            );
        }
    };
    let now = ctx.app.now();
    let result = inventory::import_csv(&ctx.app.services.store, file.data, now, &mut |_| {});
    let report = match result {
        Ok(r) => r,
        Err(ImportError::BadFile(m)) => return inventory_page(ctx, 400, Some(&m), None),
        Err(ImportError::Internal(e)) => return super::errors::internal(ctx, &e),
    };
    let run = report.as_run(now, &admin.email, "upload");
    let id = match ctx.app.services.store.write(|tx| {
        let id = imports::record(tx, &run)?;
        crate::store::audit::record(
            tx,
            now,
            &crate::store::audit::Entry {
                actor_id: Some(admin.id),
                actor: &admin.email,
                action: "numbers_import",
                subject: file.filename.as_deref().unwrap_or("upload"),
                outcome: crate::store::audit::Outcome::Ok,
                detail: &format!(
                    "{} added, {} updated, {} bad rows",
                    report.added, report.updated, report.bad
                ),
                address: &ctx.client,
            },
        )?;
        Ok::<_, crate::store::Error>(id)
    }) {
        Ok(id) => id,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let kind = if report.bad > 0 {
        FlashKind::Error
    } else {
        FlashKind::Notice
    };
    ctx.redirect_with(
        &format!("/admin/numbers?report={id}"),
        kind,
        &format!(
            "Import finished: {} added, {} updated, {} unchanged, {} bad rows skipped.",
            report.added, report.updated, report.unchanged, report.bad
        ),
    )
}

pub fn sync(ctx: &Ctx<'_>) -> Response {
    let admin = match require_admin(ctx) {
        Ok(u) => u,
        Err(r) => return r,
    };
    match inventory::sync(&ctx.app.services, &admin.email) {
        Ok(r) => ctx.redirect_with(
            "/admin/numbers",
            FlashKind::Notice,
            &format!(
                "Sync finished: {} numbers free at Telinta, {} added, {} withdrawn.",
                r.free_upstream, r.added, r.removed
            ),
        ),
        Err(SyncError::Internal(e)) => super::errors::internal(ctx, &e),
        Err(e) => ctx.redirect_with(
            "/admin/numbers",
            FlashKind::Error,
            &format!("The sync failed and nothing was changed: {e}"),
        ),
    }
}
