//! Functions a save adds are bound before the commit swaps in the bodies that call them: a
//! thread that calls a new body between the commit and the execute phase (the interpreter can
//! hand it the GIL at the first bytecode the execute phase runs) finds the new function there,
//! as in a fresh start. Only plain additions qualify: a module-level `def` without decorators,
//! under a name the module does not have, whose defaults and annotations read nothing the same
//! save binds in that module (evaluated now, they see what a fresh start sees).

use std::collections::HashSet;

use hotswap_core::plan::{Binding, PatchPlan, PatchStep, Reason, StepAction, Target};
use pyo3::prelude::*;

use super::execute::{execute, Scratches};
use super::{Deferred, FileOutcome, FilePatch, Prepared};

/// Runs, before the commit, the deferred steps of `prep` that add a plain function (see the
/// module doc); the rest stay for the execute phase. Failures are carried to it.
pub(super) fn bind_added_functions<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    prep: &mut Prepared<'py>,
    outcome: &mut FileOutcome,
) {
    let bound_by_save = names_bound(&patch.plan);
    let (early, rest): (Vec<Deferred<'py>>, Vec<Deferred<'py>>) =
        std::mem::take(&mut prep.deferred).into_iter().partition(|item| match item {
            Deferred::Execute { step, scope, .. } => {
                let step = &patch.plan.steps[*step];
                plain_added_function(step, &bound_by_save) && !scope.module.hasattr(step.target.label()).unwrap_or(true)
            }
            _ => false,
        });
    prep.deferred = rest;
    if early.is_empty() {
        return;
    }
    let failed_before = outcome.failed_steps.len();
    let mut scratches: Scratches<'py> = Vec::new();
    execute(py, patch, early, prep.failures.clone(), outcome, &mut prep.init_changed, &mut scratches);
    for &index in &outcome.failed_steps[failed_before..] {
        prep.failures.record(&patch.plan.steps[index]);
    }
}

/// Every name a step of the plan binds at module level.
fn names_bound(plan: &PatchPlan) -> HashSet<&str> {
    plan.steps.iter().filter(|step| step.scope.is_empty()).flat_map(|step| step.target.binds()).collect()
}

/// An added module-level function without decorators whose signature reads nothing the save
/// binds.
fn plain_added_function(step: &PatchStep, bound_by_save: &HashSet<&str>) -> bool {
    let StepAction::Execute { unit, block: false, binding: Binding::New } = &step.action else { return false };
    let first = unit.lines().map(str::trim_start).find(|line| !line.is_empty()).unwrap_or_default();
    step.scope.is_empty()
        && matches!(step.target, Target::Def { .. })
        && step.reason == Reason::Added
        && (first.starts_with("def ") || first.starts_with("async def "))
        && step.reads.iter().all(|name| !bound_by_save.contains(name.as_str()))
}
