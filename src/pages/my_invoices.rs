//! `GET /my/invoices`: the customer's invoices and credit notes.

use maud::html;

use super::orders::money;
use super::page;
use crate::clock::format_utc;
use crate::domain::InvoiceStatus;
use crate::domain::phone::pretty;
use crate::store::billing;
use crate::web::{Ctx, Reply, require_user};

/// `GET /my/invoices`: every invoice and credit note of the customer.
pub fn list(ctx: &Ctx<'_>) -> Reply {
    let user = require_user(ctx)?;
    let rows = ctx.read(|tx| billing::statements(tx, user.id))?;
    Ok(page(
        ctx,
        200,
        "My invoices",
        html! {
            h1 { "My invoices" }
            p.muted { a href="/my" { "← My numbers" } }
            @if rows.is_empty() {
                p.empty id="no-invoices" { "No invoices yet." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="invoices" {
                        thead { tr { th { "Document" } th { "Number" } th { "Date" } th.num { "Amount" } th { "State" } } }
                        tbody {
                            @for r in &rows {
                                tr data-status=(r.status.map_or("credit", InvoiceStatus::as_str)) {
                                    td.title-cell {
                                        @if r.credit_note { "Credit note " (r.number) }
                                        @else { a href={ "/invoices/" (r.invoice_id) } { "Invoice " (r.number) } }
                                    }
                                    td.tel data-label="Number" { (pretty(&r.phone)) }
                                    td data-label="Date" { (format_utc(r.issued_at)) }
                                    td.num data-label="Amount" { span.price { (money(r.total_cents, &r.currency)) } }
                                    td data-label="State" {
                                        @match r.status {
                                            Some(InvoiceStatus::Open) => span.badge.badge-wait { "Open" },
                                            Some(InvoiceStatus::Paid) => span.badge.badge-ok { "Paid" },
                                            Some(InvoiceStatus::Void) => span.badge.badge-off { "Void" },
                                            None => span.badge.badge-info { "Credit" },
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
