//! Applier: the one place that changes the user's program.
//!
//! A batch is applied in three phases under the GIL (released only while the commit waits for
//! other threads to leave the batch's modules):
//! 1. **prepare** ([`prepare`]): compile every unit, evaluate new defaults, find the live
//!    functions and work out every swap. Nothing in the program changes; a step whose
//!    preparation fails is reported and left out with the steps that depend on it, the rest of
//!    the file applies.
//! 2. **commit** ([`commit`]): at a moment no other thread is inside the batch's modules (a
//!    bounded wait, [`crate::quiesce`]), assign `__code__`, defaults, annotations and
//!    docstrings, delete names. No user code runs here (the cycle collector is paused so no
//!    finalizer runs either), so another thread sees either none of the batch or all of it.
//! 3. **execute** ([`execute`]): run added definitions and changed statements in source order.
//!    This is user code (decorators, module-level statements), so it comes last.

mod commit;
mod deleted;
mod early;
mod execute;
mod prepare;

use std::collections::HashSet;
use std::sync::atomic::AtomicUsize;

use hotswap_core::plan::{Failures, PatchPlan, PatchStep, StepAction};
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::attr_names::AttrNames;
use crate::classes::reset_abc_caches;
use crate::hooks::{class_hooks, run_module_hooks, AFTER_HOOKS, BEFORE_HOOKS};
use crate::live::Scope;
use crate::pyerr::describe_exception;
use crate::quiesce::BatchModules;
use crate::report::Report;

/// Depth of module-level code being re-run by a reload (read by `currently_reloading()`).
pub static RELOADING: AtomicUsize = AtomicUsize::new(0);

/// One file's plan and the live modules loaded from it.
pub struct FilePatch<'py> {
    /// As Python sees it (`co_filename`, `__file__`).
    pub filename: String,
    /// For messages: relative to the working directory when possible.
    pub display_path: String,
    /// Shared with the file's planned work: a line shift in a big file plans thousands of steps.
    pub plan: std::sync::Arc<PatchPlan>,
    pub module: Bound<'py, PyAny>,
    /// The module's `__name__`, read once.
    pub name: String,
    /// The file's new text (for `linecache`, set in the commit), shared with its record.
    pub text: std::sync::Arc<str>,
    /// The lines the edit left alone at both ends, when the previous text is known.
    pub kept: Option<hotswap_core::kept::KeptLines>,
}

/// What happened to one file.
#[derive(Default)]
pub struct FileOutcome {
    pub report: Report,
    /// Nothing was applied: preparation failed.
    pub rejected: bool,
    /// Indexes of steps that failed after the commit (their items stay "dirty").
    pub failed_steps: Vec<usize>,
}

/// Work for the commit phase.
struct Swap<'py> {
    function: Bound<'py, PyAny>,
    code: Bound<'py, PyAny>,
    /// Attributes taken from a freshly evaluated definition (defaults, annotations, doc).
    attrs: Option<Bound<'py, PyAny>>,
}

/// Work for the execute phase; `step` indexes the plan.
enum Deferred<'py> {
    /// Run `code` in the scope.
    Execute {
        step: usize,
        code: Bound<'py, PyAny>,
        scope: Scope<'py>,
    },
    Delete {
        step: usize,
        scope: Scope<'py>,
        names: Vec<String>,
    },
    /// A function whose new defaults need names that earlier statements of this edit bind:
    /// evaluated and swapped in source order, after those statements ran.
    LateUpdate {
        step: usize,
        function: Bound<'py, PyAny>,
        code: Bound<'py, PyAny>,
        bare: Bound<'py, PyAny>,
        scope: Scope<'py>,
    },
    Rebuild(Rebuild<'py>),
    /// A plain decorated class whose body statements changed: its decorators run again on the
    /// live class, as a fresh start runs them on the new body (one building `__repr__` from
    /// `FIELDS`, say), once the statement steps of the class (up to step `after`) ran.
    Redecorate {
        step: usize,
        after: usize,
        scope: Scope<'py>,
        class: Bound<'py, PyType>,
    },
}

/// Rebuild a class from its new statement and carry it into the live class; `covered` are the
/// statement steps of its body, which the rebuild applies.
struct Rebuild<'py> {
    step: usize,
    code: Bound<'py, PyAny>,
    /// The class without its decorators, when only generating decorators are re-applied.
    bare: Option<Bound<'py, PyAny>>,
    scope: Scope<'py>,
    class: Bound<'py, PyType>,
    keep: Vec<String>,
    covered: Vec<usize>,
}

impl Deferred<'_> {
    fn step(&self) -> usize {
        match self {
            Deferred::Execute { step, .. }
            | Deferred::Delete { step, .. }
            | Deferred::LateUpdate { step, .. }
            | Deferred::Redecorate { step, .. } => *step,
            Deferred::Rebuild(rebuild) => rebuild.step,
        }
    }

    /// Where it runs in the execute phase: in step order, a re-decoration just after the last
    /// step inside its class.
    fn order(&self) -> (usize, bool) {
        match self {
            Deferred::Redecorate { after, .. } => (*after, true),
            other => (other.step(), false),
        }
    }
}

/// What the prepare phase worked out for one file, for the commit and execute phases.
#[derive(Default)]
struct Prepared<'py> {
    swaps: Vec<Swap<'py>>,
    class_attrs: Vec<(Bound<'py, PyType>, &'static str, Bound<'py, PyAny>)>,
    deferred: Vec<Deferred<'py>>,
    /// Steps fully done by the commit, reported once it has happened.
    done: Vec<usize>,
    /// `functools` caches (`lru_cache`, `cache`) in front of updated functions: cleared after
    /// the commit, so no stale result is served for the new code.
    caches: Vec<Bound<'py, PyAny>>,
    /// Objects that hold code and update themselves (`obj.__conform__(new_code)`), called
    /// after the commit.
    conforms: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    /// Class paths whose members changed (for the class hooks), and those whose `__init__`
    /// changed (for `__migrate__`).
    touched: Vec<Vec<String>>,
    init_changed: HashSet<Vec<String>>,
    /// Steps not applied: they failed, or depend on one that did (reported as they happened).
    failed: Vec<usize>,
    /// What those steps leave unsafe to apply, carried into the execute phase.
    failures: Failures,
}

/// Applies every file of a batch: prepare all, commit all, then execute.
pub fn apply_batch<'py>(py: Python<'py>, patches: &[FilePatch<'py>]) -> Vec<FileOutcome> {
    let mut outcomes: Vec<FileOutcome> = patches.iter().map(|_| FileOutcome::default()).collect();
    let mut prepared: Vec<Option<Prepared<'py>>> = Vec::with_capacity(patches.len());
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        if !patch.plan.is_empty() {
            run_module_hooks(py, &patch.module, &patch.display_path, BEFORE_HOOKS, &mut outcome.report);
        }
    }
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        match prepare::prepare_module(py, patch, &mut outcome.report) {
            Ok(mut p) => {
                outcome.failed_steps.append(&mut p.failed);
                prepared.push(Some(p));
            }
            Err((line, err)) => {
                // A compile error knows its own line better than the step does.
                let (line, column) = crate::pyerr::syntax_error_position(py, &err).unwrap_or((line, 1));
                let message = format!("not applied: {}", describe_exception(py, &err));
                outcome.report.error_at(&patch.display_path, line, column, message);
                outcome.rejected = true;
                prepared.push(None);
            }
        }
    }

    for ((patch, prep), outcome) in patches.iter().zip(prepared.iter_mut()).zip(outcomes.iter_mut()) {
        if let Some(prep) = prep {
            early::bind_added_functions(py, patch, prep, outcome);
        }
    }
    // Made before the first look: making them later could hand the GIL to another thread.
    let names = AttrNames::get(py);
    let collector = commit::CollectorPaused::new(py);
    let quiet = crate::quiesce::wait_until_outside(py, names, &batch_modules(patches, &prepared));
    commit::commit(py, names, &prepared, patches, &mut outcomes);
    drop(collector);
    // Before any user code runs again: a traceback of the new code shows the new lines.
    for (patch, prep) in patches.iter().zip(&prepared) {
        if prep.is_some() {
            commit::refresh_linecache(py, &patch.filename, &patch.text, patch.kept.as_ref());
        }
    }
    let notes = quiet.notes(py);
    drop(quiet.held);
    if let Some(outcome) = prepared.iter().zip(outcomes.iter_mut()).find_map(|(p, o)| p.as_ref().map(|_| o)) {
        outcome.report.notes.extend(notes);
    }

    let mut changed_classes = Vec::new();
    let mut scratches = Vec::new();
    for ((patch, prep), outcome) in patches.iter().zip(prepared).zip(outcomes.iter_mut()) {
        if let Some(prep) = prep {
            changed_classes.extend(after_commit(py, patch, prep, outcome, &mut scratches));
        }
    }
    if let Err(err) = crate::classes::redirect_registrations(py, &scratches) {
        let message = format!("registries not pointed back at the live classes: {}", describe_exception(py, &err));
        if let Some((patch, outcome)) = patches.iter().zip(outcomes.iter_mut()).next() {
            outcome.report.error(&patch.display_path, 0, message);
        }
    }
    if !changed_classes.is_empty() {
        if let Err(err) = reset_abc_caches(py, &changed_classes) {
            log::debug!(target: "hotswap", "isinstance caches not reset: {}", describe_exception(py, &err));
        }
    }
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        if !patch.plan.is_empty() && !outcome.rejected {
            run_module_hooks(py, &patch.module, &patch.display_path, AFTER_HOOKS, &mut outcome.report);
        }
    }
    outcomes
}

/// The modules whose changes are about to be committed, for [`crate::quiesce`].
fn batch_modules<'py>(patches: &[FilePatch<'py>], prepared: &[Option<Prepared<'py>>]) -> BatchModules<'py> {
    let mut batch = BatchModules { files: HashSet::new(), names: HashSet::new(), modules: Vec::new() };
    for (patch, prep) in patches.iter().zip(prepared) {
        if prep.is_some() && !patch.plan.is_empty() {
            batch.files.insert(patch.filename.clone());
            batch.names.insert(patch.name.clone());
            batch.modules.push(patch.module.clone());
        }
    }
    batch
}

/// One committed file: reports what the commit did, clears caches, lets conforming objects take
/// their new code, runs the execute phase and the class hooks. Returns the classes that changed.
fn after_commit<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    prep: Prepared<'py>,
    outcome: &mut FileOutcome,
    scratches: &mut execute::Scratches<'py>,
) -> Vec<Bound<'py, PyType>> {
    for &step in &prep.done {
        record_done(patch, &patch.plan.steps[step], &mut outcome.report);
    }
    for cache in &prep.caches {
        if let Err(err) = cache.call_method0("cache_clear") {
            outcome.report.error(
                &patch.display_path,
                0,
                format!("cache not cleared: {}", describe_exception(py, &err)),
            );
        }
    }
    for (target, code) in &prep.conforms {
        if let Err(err) = target.call_method1("__conform__", (code,)) {
            outcome.report.error(
                &patch.display_path,
                0,
                format!("__conform__ failed: {}", describe_exception(py, &err)),
            );
        }
    }
    let mut init_changed = prep.init_changed;
    execute::execute(py, patch, prep.deferred, prep.failures, outcome, &mut init_changed, scratches);
    class_hooks(py, &patch.module, &patch.name, &patch.display_path, &prep.touched, &init_changed, &mut outcome.report)
}

/// Reports a step as applied: moved, deleted, added, skipped or updated.
fn record_done(patch: &FilePatch<'_>, step: &PatchStep, report: &mut Report) {
    let qualified = match step.scope.is_empty() {
        // Most steps of a line shift in a big file: one string, not three.
        true => format!("{}.{}", patch.name, step.target.label()),
        false => format!("{}.{}", patch.name, step.dotted_name()),
    };
    let line = step.lines.shown();
    if matches!(step.action, StepAction::ShiftLines | StepAction::MoveClass) {
        // Often thousands per batch (everything below an inserted line): keep these cheap.
        if log::log_enabled!(target: "hotswap", log::Level::Debug) {
            log::debug!(target: "hotswap", "moved {qualified} ({}:{line})", patch.display_path);
        }
        report.moved.push(qualified);
        return;
    }
    let place = format!("{}:{}", patch.display_path, line);
    match &step.action {
        StepAction::Delete { .. } => {
            log::log!(target: "hotswap", crate::report::item_level(), "deleted {qualified} ({place})");
            report.deleted.push(qualified);
        }
        StepAction::Execute { .. } if step.lines.old.is_none() => {
            log::log!(target: "hotswap", crate::report::item_level(), "added {qualified} ({place})");
            report.added.push(qualified);
        }
        StepAction::Skip => {
            let reason = &step.reason;
            log::info!(target: "hotswap", "skipped {qualified} ({place}): {reason}");
            report.notes.push(format!("skipped {qualified} ({place}): {reason}"));
        }
        _ => {
            log::log!(target: "hotswap", crate::report::item_level(), "updated {qualified} ({place})");
            report.updated.push(qualified);
        }
    }
}
