//! The admin's billing page: renewals due soon, overdue and suspended numbers, failed
//! suspensions, and revenue by month.

use maud::{Markup, html};

use super::orders::money;
use super::page;
use crate::domain::billing::{DAY, day_of, format_day};
use crate::domain::phone::pretty;
use crate::store::billing::{self, Renewable};
use crate::web::{Ctx, Reply, require_admin};

/// `GET /admin/billing`: renewals due soon, overdue and suspended numbers, failed suspensions,
/// and revenue by month.
pub fn show(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    let today = day_of(ctx.app.now());
    let since = crate::domain::billing::add_months_anchored(today, -11, 1);
    let (rows, revenue) = ctx.read(|tx| {
        Ok((
            billing::admin_rows(tx, today + 14 * DAY)?,
            billing::revenue_by_month(tx, since)?,
        ))
    })?;
    let currency = ctx.app.config().currency;
    let cur = currency.as_str();
    let (due, late): (Vec<_>, Vec<_>) = rows.iter().partition(|r| r.n.paid_through > today);
    let row = |r: &billing::BillingRow| -> Markup {
        let n: &Renewable = &r.n;
        let days = (today - n.paid_through) / DAY;
        html! {
            tr id={ "billing-" (n.order_id) } data-status=(n.status.as_str()) {
                td.tel.title-cell { (pretty(&n.number)) }
                td data-label="Customer" { a href={ "/admin/customers/" (n.user_id) } { (n.email) } }
                td data-label="Paid through" { (format_day(n.paid_through)) @if days > 0 { " (" (days) " days overdue)" } }
                td.num data-label="Monthly" { (money(n.monthly_cents, &n.currency)) }
                td data-label="Status" { (super::badges::number(n.status))
                    @if n.cancel_at_period_end { " " span.badge.badge-off { "Stops renewing" } }
                    @if r.suspension_failed { " " span.badge.badge-bad id={ "suspension-failed-" (n.order_id) } { "Suspension failed" } } }
                td data-label="Invoice" { @if let Some((id, number)) = &r.open_invoice { a href={ "/invoices/" (id) } { (number) } } @else { span.muted { "—" } } }
            }
        }
    };
    let head = html! { thead { tr { th { "Number" } th { "Customer" } th { "Paid through" } th.num { "Monthly" } th { "Status" } th { "Open invoice" } } } };
    Ok(page(
        ctx,
        200,
        "Billing",
        html! {
            h1 { "Billing" }
            section id="billing-late" {
                h2 { "Overdue and suspended" }
                @if late.is_empty() { p.empty { "Nothing overdue." } } @else {
                    div.table-wrap { table.data.stacked { (head) tbody { @for r in &late { (row(r)) } } } }
                }
            }
            section id="billing-due" {
                h2 { "Renewing in the next 14 days" }
                @if due.is_empty() { p.empty { "No renewals in the next 14 days." } } @else {
                    div.table-wrap { table.data.stacked { (head) tbody { @for r in &due { (row(r)) } } } }
                }
            }
            section id="billing-revenue" {
                h2 { "Revenue by month" }
                @if revenue.is_empty() { p.empty { "No payments in the last 12 months." } } @else {
                    @let bars: Vec<(String, i64)> = revenue.iter().map(|(m, c)| (m.get(5..).unwrap_or(m).to_string(), *c)).collect();
                    (super::charts::bars("revenue-chart", "Revenue by month, last 12 months", &bars, 1))
                    div.table-wrap {
                        table.data.stacked id="revenue-table" {
                            thead { tr { th { "Month" } th.num { "Revenue" } } }
                            tbody { @for (m, c) in &revenue { tr { td.title-cell { (m) } td.num data-label="Revenue" { (money(*c, cur)) } } } }
                        }
                    }
                }
            }
        },
    ))
}
