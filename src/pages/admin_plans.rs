//! Admin plans: create, edit and retire what customers can buy.

use std::collections::HashMap;

use maud::{Markup, html};

use super::{csrf_field, page};
use crate::app::{Ctx, FlashKind, require_admin};
use crate::domain::Money;
use crate::domain::plan::{PlanInput, PlanNumberType};
use crate::http::Response;
use crate::store::audit::{self, Entry, Outcome};
use crate::store::plans::{self, NewPlan, Plan};

type Errors = Vec<(&'static str, String)>;

pub fn list(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    plans_page(ctx, 200, &HashMap::new(), &[], None)
}

/// The plans page; `form`/`errors` refill the form that failed (`editing` names its plan).
fn plans_page(
    ctx: &Ctx<'_>,
    status: u16,
    form: &HashMap<String, String>,
    errors: &[(&'static str, String)],
    editing: Option<i64>,
) -> Response {
    let all = match ctx.app.services.store.read(|tx| plans::list(tx, false)) {
        Ok(p) => p,
        Err(e) => return super::errors::internal(ctx, &e),
    };
    let currency = ctx.app.config().currency;
    page(
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
                    table.data id="plans" {
                        thead { tr { th { "Plan" } th { "For" } th.num { "Setup" } th.num { "Monthly" } th { "State" } th { span.visually-hidden { "Edit" } } } }
                        tbody {
                            @for p in &all {
                                tr id={ "plan-" (p.id) } data-active=(if p.active { "1" } else { "0" }) {
                                    td { strong { (p.name) } @if !p.description.is_empty() { br; small.muted { (p.description) } } }
                                    td data-number-type=(p.number_type.as_str()) { (p.number_type.label()) }
                                    td.num.price { (Money::new(p.setup_cents, currency)) }
                                    td.num.price { (Money::new(p.monthly_cents, currency)) }
                                    td { @if p.active { span.badge.badge-ok { "On sale" } } @else { span.badge.badge-off { "Retired" } } }
                                    td {
                                        details open[editing == Some(p.id)] {
                                            summary { "Edit" }
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
    )
}

fn plan_form(
    ctx: &Ctx<'_>,
    plan: Option<&Plan>,
    refill: Option<&HashMap<String, String>>,
    errors: &[(&'static str, String)],
) -> Markup {
    let prefix = plan.map_or_else(|| "new".to_string(), |p| p.id.to_string());
    let value = |k: &str, current: String| -> String {
        refill
            .and_then(|f| f.get(k).cloned())
            .filter(|_| refill.is_some_and(|f| !f.is_empty()))
            .unwrap_or(current)
    };
    let field = |name: &'static str, label: &str, current: String, hint: Option<&str>| -> Markup {
        let id = format!("p{prefix}-{name}");
        let err = errors
            .iter()
            .find(|(f, _)| *f == name)
            .map(|(_, m)| m.as_str());
        let err_id = format!("p{prefix}-{name}-error");
        html! {
            div class=(if err.is_some() { "field has-error" } else { "field" }) {
                label for=(id) { (label) }
                @if let Some(h) = hint { p.hint { (h) } }
                input id=(id) name=(name) type="text" value=(value(name, current))
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
        form.stack id={ "plan-form-" (prefix) } method="post" action=(action) novalidate {
            (csrf_field(ctx))
            (field("name", "Name", plan.map(|p| p.name.clone()).unwrap_or_default(), None))
            (field("description", "Description", plan.map(|p| p.description.clone()).unwrap_or_default(), Some("Optional; shown to buyers.")))
            (field("setup_cents", "Setup fee, in cents", plan.map(|p| p.setup_cents.to_string()).unwrap_or_default(), Some("500 is 5.00 in the shop's currency.")))
            (field("monthly_cents", "Monthly fee, in cents", plan.map(|p| p.monthly_cents.to_string()).unwrap_or_default(), None))
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
            button type="submit" { @if plan.is_some() { "Save changes" } @else { "Create plan" } }
        }
    }
}

/// Reads and checks the form; cents must be whole numbers.
fn read_form(f: &HashMap<String, String>) -> Result<(PlanInput, bool), Errors> {
    let mut errors: Errors = Vec::new();
    let mut cents = |k: &'static str| -> i64 {
        let raw = f.get(k).map_or("", |v| v.trim());
        match raw.parse::<i64>() {
            Ok(v) => v,
            Err(_) => {
                errors.push((k, "Enter a whole number of cents, like 500.".into()));
                0
            }
        }
    };
    let setup = cents("setup_cents");
    let monthly = cents("monthly_cents");
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
                if !errors.iter().any(|(e, _)| *e == k) {
                    errors.push((k, m));
                }
            }
            Err(errors)
        }
    }
}

fn audit_entry<'a>(
    ctx: &'a Ctx<'_>,
    action: &'a str,
    subject: &'a str,
    detail: &'a str,
) -> Option<Entry<'a>> {
    let u = ctx.user.as_ref()?;
    Some(Entry {
        actor_id: Some(u.id),
        actor: &u.email,
        action,
        subject,
        outcome: Outcome::Ok,
        detail,
        address: &ctx.client,
    })
}

pub fn create(ctx: &Ctx<'_>) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let f = ctx.req.form();
    let (p, active) = match read_form(&f) {
        Ok(v) => v,
        Err(errors) => return plans_page(ctx, 400, &f, &errors, None),
    };
    let now = ctx.app.now();
    let result = ctx.app.services.store.write(|tx| {
        let id = plans::insert(
            tx,
            &NewPlan {
                name: &p.name,
                description: &p.description,
                setup_cents: p.setup_cents,
                monthly_cents: p.monthly_cents,
                number_type: p.number_type,
            },
            now,
        )?;
        if !active {
            plans::update(
                tx,
                id,
                &NewPlan {
                    name: &p.name,
                    description: &p.description,
                    setup_cents: p.setup_cents,
                    monthly_cents: p.monthly_cents,
                    number_type: p.number_type,
                },
                false,
                now,
            )?;
        }
        let detail = format!(
            "setup {} monthly {} cents, for {}",
            p.setup_cents,
            p.monthly_cents,
            p.number_type.as_str()
        );
        if let Some(e) = audit_entry(ctx, "plan_create", &p.name, &detail) {
            audit::record(tx, now, &e)?;
        }
        Ok::<_, crate::store::Error>(id)
    });
    match result {
        Ok(_) => ctx.redirect_with(
            "/admin/plans",
            FlashKind::Notice,
            &format!("Plan {:?} created.", p.name),
        ),
        Err(e) if e.is_constraint() => plans_page(
            ctx,
            400,
            &f,
            &[("name", "A plan with this name exists already.".into())],
            None,
        ),
        Err(e) => super::errors::internal(ctx, &e),
    }
}

pub fn edit(ctx: &Ctx<'_>, id: &str) -> Response {
    if let Err(r) = require_admin(ctx) {
        return r;
    }
    let Ok(id) = id.parse::<i64>() else {
        return super::errors::not_found(ctx);
    };
    let f = ctx.req.form();
    let (p, active) = match read_form(&f) {
        Ok(v) => v,
        Err(errors) => return plans_page(ctx, 400, &f, &errors, Some(id)),
    };
    let now = ctx.app.now();
    let result = ctx.app.services.store.write(|tx| {
        let found = plans::update(
            tx,
            id,
            &NewPlan {
                name: &p.name,
                description: &p.description,
                setup_cents: p.setup_cents,
                monthly_cents: p.monthly_cents,
                number_type: p.number_type,
            },
            active,
            now,
        )?;
        if found {
            let detail = format!(
                "setup {} monthly {} cents, for {}, {}",
                p.setup_cents,
                p.monthly_cents,
                p.number_type.as_str(),
                if active { "on sale" } else { "retired" }
            );
            if let Some(e) = audit_entry(ctx, "plan_update", &p.name, &detail) {
                audit::record(tx, now, &e)?;
            }
        }
        Ok::<_, crate::store::Error>(found)
    });
    match result {
        Ok(true) => ctx.redirect_with(
            "/admin/plans",
            FlashKind::Notice,
            &format!("Plan {:?} saved.", p.name),
        ),
        Ok(false) => super::errors::not_found(ctx),
        Err(e) if e.is_constraint() => plans_page(
            ctx,
            400,
            &f,
            &[("name", "A plan with this name exists already.".into())],
            Some(id),
        ),
        Err(e) => super::errors::internal(ctx, &e),
    }
}
