//! Admin plans: create, edit and retire what customers can buy.

use std::collections::HashMap;

use maud::{Markup, html};

use super::{csrf_field, page};
use crate::domain::Money;
use crate::domain::money::parse_amount;
use crate::domain::plan::{PlanInput, PlanNumberType};
use crate::store::plans::{self, Plan};
use crate::web::{Ctx, FlashKind, Reply, Stop, require_admin};
use crate::workflow::plans::{self as workflow, PlanError};

type Errors = Vec<(&'static str, String)>;

pub fn list(ctx: &Ctx<'_>) -> Reply {
    require_admin(ctx)?;
    plans_page(ctx, 200, &HashMap::new(), &[], None)
}

/// The plans page; `form`/`errors` refill the form that failed (`editing` names its plan).
fn plans_page(
    ctx: &Ctx<'_>,
    status: u16,
    form: &HashMap<String, String>,
    errors: &[(&'static str, String)],
    editing: Option<i64>,
) -> Reply {
    let all = ctx.read(|tx| plans::list(tx, false))?;
    let currency = ctx.app.config().currency;
    Ok(page(
        ctx,
        status,
        "Plans",
        html! {
            h1 { "Plans" }
            p.muted { "What a customer pays for a number: a setup fee once, and a monthly fee. "
                "Retired plans are no longer offered; numbers already sold keep theirs." }
            @if all.is_empty() {
                p.empty id="no-plans" { "No plans yet. Create the first one below." }
            } @else {
                div.table-wrap {
                    table.data.stacked id="plans" {
                        thead { tr { th { "Plan" } th { "For" } th.num { "Setup" } th.num { "Monthly" } th { "State" } } }
                        @for p in &all {
                            // One body per plan: its row, and below it the edit form across the
                            // table's whole width.
                            tbody.plan-group {
                                tr id={ "plan-" (p.id) } data-active=(if p.active { "1" } else { "0" }) {
                                    td.title-cell { strong { (p.name) } @if !p.description.is_empty() { br; small.muted.plan-note { (p.description) } } }
                                    td data-label="For" data-number-type=(p.number_type.as_str()) { (p.number_type.label()) }
                                    td.num.price data-label="Setup" { (Money::new(p.setup_cents, currency)) }
                                    td.num.price data-label="Monthly" { (Money::new(p.monthly_cents, currency)) }
                                    td data-label="State" { @if p.active { span.badge.badge-ok { "On sale" } } @else { span.badge.badge-off { "Retired" } } }
                                }
                                tr.edit-row {
                                    td colspan="5" {
                                        details open[editing == Some(p.id)] {
                                            summary { "Edit " (p.name) }
                                            (plan_form(ctx, Some(p), if editing == Some(p.id) { Some(form) } else { None }, if editing == Some(p.id) { errors } else { &[] }))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section.panel {
                h2 { "New plan" }
                (plan_form(ctx, None, if editing.is_none() { Some(form) } else { None }, if editing.is_none() { errors } else { &[] }))
            }
        },
    ))
}

fn plan_form(
    ctx: &Ctx<'_>,
    plan: Option<&Plan>,
    refill: Option<&HashMap<String, String>>,
    errors: &[(&'static str, String)],
) -> Markup {
    let prefix = plan.map_or_else(|| "new".to_string(), |p| p.id.to_string());
    let currency = ctx.app.config().currency;
    let value = |k: &str, current: String| -> String {
        refill
            .and_then(|f| f.get(k).cloned())
            .filter(|_| refill.is_some_and(|f| !f.is_empty()))
            .unwrap_or(current)
    };
    let field = |name: &'static str,
                 label: &str,
                 current: String,
                 hint: Option<&str>,
                 wide: bool|
     -> Markup {
        let id = format!("p{prefix}-{name}");
        let err = errors
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str());
        let err_id = format!("p{prefix}-{name}-error");
        html! {
            div class=(format!("field{}{}", if err.is_some() { " has-error" } else { "" }, if wide { " wide" } else { "" })) {
                label for=(id) { (label) }
                @if let Some(h) = hint { p.hint { (h) } }
                input id=(id) name=(name) type="text" value=(value(name, current))
                    inputmode=[(!wide).then_some("decimal")]
                    aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| err_id.as_str())];
                @if let Some(e) = err { p.field-error id=(err_id) { (e) } }
            }
        }
    };
    let action = plan.map_or_else(
        || "/admin/plans".to_string(),
        |p| format!("/admin/plans/{}", p.id),
    );
    let number_type = refill
        .filter(|f| !f.is_empty())
        .and_then(|f| f.get("number_type"))
        .and_then(|v| PlanNumberType::parse(v))
        .or(plan.map(|p| p.number_type))
        .unwrap_or_default();
    let type_err = errors
        .iter()
        .find(|(f, _)| *f == "number_type")
        .map(|(_, m)| m.as_str());
    let active = match refill.filter(|f| !f.is_empty()) {
        Some(f) => f.contains_key("active"),
        None => plan.is_none_or(|p| p.active),
    };
    html! {
        form.plan-form id={ "plan-form-" (prefix) } method="post" action=(action) novalidate {
            (csrf_field(ctx))
            (field("name", "Name", plan.map(|p| p.name.clone()).unwrap_or_default(), Some("Shown to buyers."), true))
            (field("description", "Description", plan.map(|p| p.description.clone()).unwrap_or_default(), Some("Optional; shown under the name."), true))
            (field("setup", &format!("Setup fee ({})", currency.as_str()), plan.map(|p| Money::new(p.setup_cents, currency).decimal()).unwrap_or_default(), Some("Like 5.00; 0 for none."), false))
            (field("monthly", &format!("Monthly fee ({})", currency.as_str()), plan.map(|p| Money::new(p.monthly_cents, currency).decimal()).unwrap_or_default(), Some("Like 3.00."), false))
            div class=(if type_err.is_some() { "field has-error" } else { "field" }) {
                label for={ "p" (prefix) "-number_type" } { "Offered for" }
                select id={ "p" (prefix) "-number_type" } name="number_type"
                    aria-invalid=[type_err.map(|_| "true")] aria-describedby=[type_err.map(|_| format!("p{prefix}-number_type-error"))] {
                    @for t in PlanNumberType::ALL {
                        option value=(t.as_str()) selected[t == number_type] { (t.label()) }
                    }
                }
                @if let Some(e) = type_err { p.field-error id={ "p" (prefix) "-number_type-error" } { (e) } }
            }
            div.field.check {
                label for={ "p" (prefix) "-active" } {
                    input type="checkbox" id={ "p" (prefix) "-active" } name="active" value="1" checked[active];
                    " On sale"
                }
            }
            div.form-actions {
                button type="submit" { @if plan.is_some() { "Save changes" } @else { "Create plan" } }
            }
        }
    }
}

/// Reads and checks the form. Fees are typed in the currency (`setup`, `monthly`: `3.00`);
/// scripts written for the old form may still send whole cents (`setup_cents`,
/// `monthly_cents`).
fn read_form(f: &HashMap<String, String>) -> Result<(PlanInput, bool), Errors> {
    let mut errors: Errors = Vec::new();
    let mut amount = |typed: &'static str, old: &'static str| -> i64 {
        match (f.get(typed), f.get(old)) {
            (Some(v), _) => match parse_amount(v) {
                Ok(c) => c,
                Err(m) => {
                    errors.push((typed, m.to_string()));
                    0
                }
            },
            (None, Some(raw)) => match raw.trim().parse::<i64>() {
                Ok(v) => v,
                Err(_) => {
                    errors.push((typed, "Enter a whole number of cents, like 500.".into()));
                    0
                }
            },
            (None, None) => {
                errors.push((typed, "Enter an amount like 3.00.".into()));
                0
            }
        }
    };
    let setup = amount("setup", "setup_cents");
    let monthly = amount("monthly", "monthly_cents");
    // The plan rules name the cents fields; the page shows the typed amounts' fields.
    let rename = |k: &'static str| -> &'static str {
        match k {
            "setup_cents" => "setup",
            "monthly_cents" => "monthly",
            other => other,
        }
    };
    // A form without the field (an older page, a script) means "any number", as before.
    let number_type = match f.get("number_type").map(|v| v.trim()) {
        None | Some("") => PlanNumberType::Any,
        Some(v) => PlanNumberType::parse(v).unwrap_or_else(|| {
            errors.push((
                "number_type",
                "Choose any number, local numbers or toll-free numbers.".into(),
            ));
            PlanNumberType::Any
        }),
    };
    let checked = PlanInput::check(
        f.get("name").map_or("", String::as_str),
        f.get("description").map_or("", String::as_str),
        setup,
        monthly,
        number_type,
    );
    match checked {
        Ok(p) if errors.is_empty() => Ok((p, f.contains_key("active"))),
        Ok(_) => Err(errors),
        Err(more) => {
            for (k, m) in more {
                let k = rename(k);
                if !errors.iter().any(|(e, _)| *e == k) {
                    errors.push((k, m));
                }
            }
            Err(errors)
        }
    }
}

/// `POST /admin/plans`: a new plan.
pub fn create(ctx: &Ctx<'_>) -> Reply {
    let admin = require_admin(ctx)?;
    let f = ctx.form();
    let (p, active) = match read_form(f) {
        Ok(v) => v,
        Err(errors) => return plans_page(ctx, 400, f, &errors, None),
    };
    match workflow::create(&ctx.app.services, admin, &p, active, &ctx.client) {
        Ok(_) => Ok(ctx.redirect_with(
            "/admin/plans",
            FlashKind::Notice,
            &format!("Plan {:?} created.", p.name),
        )),
        Err(PlanError::NameTaken) => plans_page(
            ctx,
            400,
            f,
            &[("name", "A plan with this name exists already.".into())],
            None,
        ),
        Err(PlanError::NotFound) => Err(Stop::NotFound),
        Err(PlanError::Internal(e)) => Err(Stop::internal(e)),
    }
}

/// `POST /admin/plans/{id}`: a plan changed or retired.
pub fn edit(ctx: &Ctx<'_>, id: &str) -> Reply {
    let admin = require_admin(ctx)?;
    let Ok(id) = id.parse::<i64>() else {
        return Err(Stop::NotFound);
    };
    let f = ctx.form();
    let (p, active) = match read_form(f) {
        Ok(v) => v,
        Err(errors) => return plans_page(ctx, 400, f, &errors, Some(id)),
    };
    match workflow::update(&ctx.app.services, admin, id, &p, active, &ctx.client) {
        Ok(()) => Ok(ctx.redirect_with(
            "/admin/plans",
            FlashKind::Notice,
            &format!("Plan {:?} saved.", p.name),
        )),
        Err(PlanError::NotFound) => Err(Stop::NotFound),
        Err(PlanError::NameTaken) => plans_page(
            ctx,
            400,
            f,
            &[("name", "A plan with this name exists already.".into())],
            Some(id),
        ),
        Err(PlanError::Internal(e)) => Err(Stop::internal(e)),
    }
}
