//! The admin's plans: creating one and changing (or retiring) one, each with its audit row in
//! the same transaction.

use super::{Internal, Services};
use crate::domain::plan::PlanInput;
use crate::store::audit::{Entry, Outcome};
use crate::store::plans::{self, NewPlan};
use crate::store::users::User;

#[derive(Debug)]
pub enum PlanError {
    /// Another plan has this name.
    NameTaken,
    /// No plan has this id.
    NotFound,
    Internal(Internal),
}

internal_errors!(PlanError);

fn new_plan(p: &PlanInput) -> NewPlan<'_> {
    NewPlan {
        name: &p.name,
        description: &p.description,
        setup_cents: p.setup_cents,
        monthly_cents: p.monthly_cents,
        number_type: p.number_type,
    }
}

/// A store error as a plan error: a duplicate name is the admin's to fix.
fn plan_error(e: crate::store::Error) -> PlanError {
    if e.is_constraint() {
        PlanError::NameTaken
    } else {
        PlanError::Internal(e.into())
    }
}

/// Creates a plan, on sale or (with `active` false) retired from the start; returns its id.
pub fn create(
    s: &Services,
    admin: &User,
    p: &PlanInput,
    active: bool,
    address: &str,
) -> Result<i64, PlanError> {
    let now = s.now();
    super::change(s, now, |tx, r| {
        let id = plans::insert(tx, &new_plan(p), now)?;
        if !active {
            plans::update(tx, id, &new_plan(p), false, now)?;
        }
        let detail = format!(
            "setup {} monthly {} cents, for {}",
            p.setup_cents,
            p.monthly_cents,
            p.number_type.as_str()
        );
        r.audit(&Entry {
            actor_id: Some(admin.id),
            actor: &admin.email,
            action: "plan_create",
            subject: &p.name,
            outcome: Outcome::Ok,
            detail: &detail,
            address,
        })?;
        Ok(id)
    })
    .map_err(plan_error)
}

/// Changes plan `id`: its name, fees, number type, and whether it is on sale.
pub fn update(
    s: &Services,
    admin: &User,
    id: i64,
    p: &PlanInput,
    active: bool,
    address: &str,
) -> Result<(), PlanError> {
    let now = s.now();
    let found = super::change(s, now, |tx, r| {
        let found = plans::update(tx, id, &new_plan(p), active, now)?;
        if found {
            let detail = format!(
                "setup {} monthly {} cents, for {}, {}",
                p.setup_cents,
                p.monthly_cents,
                p.number_type.as_str(),
                if active { "on sale" } else { "retired" }
            );
            r.audit(&Entry {
                actor_id: Some(admin.id),
                actor: &admin.email,
                action: "plan_update",
                subject: &p.name,
                outcome: Outcome::Ok,
                detail: &detail,
                address,
            })?;
        }
        Ok(found)
    })
    .map_err(plan_error)?;
    if found {
        Ok(())
    } else {
        Err(PlanError::NotFound)
    }
}
