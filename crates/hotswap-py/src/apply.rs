//! Applier: the one place that changes the user's program.
//!
//! A batch is applied in three phases, all under one hold of the GIL:
//! 1. **prepare**: compile every unit, evaluate new defaults, find the live functions and work
//!    out every swap. Nothing in the program changes; a file whose preparation fails is left
//!    untouched and reported.
//! 2. **commit**: assign `__code__`, defaults, annotations and docstrings, delete names. No user
//!    code runs here (the cycle collector is paused so no finalizer runs either), so another
//!    thread sees either none of the batch or all of it.
//! 3. **execute**: run added definitions and changed statements in source order. This is user
//!    code (decorators, module-level statements), so it comes last.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use hotswap_core::plan::{PatchPlan, PatchStep, StepAction, Target};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyCode, PyDict, PyFunction, PyString, PyTuple, PyType};

use crate::classes::{generated_kind, instances_of, regenerate_dataclass_subclasses, refresh_derived, reset_abc_caches, transplant, Rebuilt};
use crate::inventory::{functions_running, Lookup};
use crate::report::Report;

/// Depth of module-level code being re-run by a reload (read by `currently_reloading()`).
pub static RELOADING: AtomicUsize = AtomicUsize::new(0);

/// Class-namespace keys that a class body sets for itself; never copied onto the live class.
const CLASS_BODY_KEYS: &[&str] = &[
    "__module__",
    "__qualname__",
    "__classcell__",
    "__firstlineno__",
    "__static_attributes__",
    "__doc__",
    "__dict__",
    "__weakref__",
    "__classdictcell__",
];

/// One file's plan and the live modules loaded from it.
pub struct FilePatch<'py> {
    /// As Python sees it (`co_filename`, `__file__`).
    pub filename: String,
    /// For messages: relative to the working directory when possible.
    pub display_path: String,
    pub plan: PatchPlan,
    pub module: Bound<'py, PyAny>,
    /// The module's `__name__`, read once.
    pub name: String,
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

enum Deferred<'py> {
    /// Run `code` in the scope; `step` indexes the plan.
    Execute { step: usize, code: Bound<'py, PyAny>, scope: Scope<'py> },
    Delete { step: usize, scope: Scope<'py>, names: Vec<String> },
    /// A function whose new defaults need names that earlier statements of this edit bind:
    /// evaluated and swapped in source order, after those statements ran.
    LateUpdate { step: usize, function: Bound<'py, PyAny>, code: Bound<'py, PyAny>, bare: Bound<'py, PyAny>, scope: Scope<'py> },
    /// Rebuild a class from its new statement and carry it into the live class; `covered` are
    /// the statement steps of its body, which the rebuild applies.
    Rebuild {
        step: usize,
        code: Bound<'py, PyAny>,
        /// The class without its decorators, when only generating decorators are re-applied.
        bare: Option<Bound<'py, PyAny>>,
        scope: Scope<'py>,
        class: Bound<'py, PyType>,
        keep: Vec<String>,
        covered: Vec<usize>,
    },
}

#[derive(Clone)]
struct Scope<'py> {
    module: Bound<'py, PyAny>,
    /// The innermost enclosing class, if the step is inside one.
    class: Option<Bound<'py, PyType>>,
    path: Vec<String>,
}

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
}

/// Old code → new code for one definition: the new code, the freshly evaluated function whose
/// defaults, annotations and docstring go along (none for a pure line shift), and the live
/// function found from the definition's binding.
struct CodeSwap<'py> {
    old: Bound<'py, PyAny>,
    new: Bound<'py, PyAny>,
    fresh: Option<Bound<'py, PyAny>>,
    live: Bound<'py, PyAny>,
}

/// Applies every file of a batch: prepare all, commit all, then execute.
pub fn apply_batch<'py>(py: Python<'py>, patches: &[FilePatch<'py>]) -> Vec<FileOutcome> {
    let mut outcomes: Vec<FileOutcome> = patches.iter().map(|_| FileOutcome::default()).collect();
    let mut prepared: Vec<Option<Prepared<'py>>> = Vec::with_capacity(patches.len());
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        if !patch.plan.is_empty() {
            run_module_hooks(py, patch, BEFORE_HOOKS, &mut outcome.report);
        }
    }
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        match prepare_module(py, patch, &mut outcome.report) {
            Ok(p) => prepared.push(Some(p)),
            Err((line, err)) => {
                // A compile error knows its own line better than the step does.
                let line = err
                    .value(py)
                    .getattr("lineno")
                    .ok()
                    .filter(|_| err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py))
                    .and_then(|l| l.extract::<u32>().ok())
                    .unwrap_or(line);
                let message = format!("not applied: {}", describe_exception(py, &err));
                outcome.report.error(&patch.display_path, line, message);
                outcome.rejected = true;
                prepared.push(None);
            }
        }
    }

    commit(py, &prepared, patches, &mut outcomes);

    let mut changed_classes = Vec::new();
    for ((patch, prep), outcome) in patches.iter().zip(prepared).zip(outcomes.iter_mut()) {
        if let Some(prep) = prep {
            for &step in &prep.done {
                record_done(patch, &patch.plan.steps[step], &mut outcome.report);
            }
            for cache in &prep.caches {
                if let Err(err) = cache.call_method0("cache_clear") {
                    outcome.report.error(&patch.display_path, 0, format!("cache not cleared: {}", describe_exception(py, &err)));
                }
            }
            for (target, code) in &prep.conforms {
                if let Err(err) = target.call_method1("__conform__", (code,)) {
                    outcome.report.error(&patch.display_path, 0, format!("__conform__ failed: {}", describe_exception(py, &err)));
                }
            }
            let mut init_changed = prep.init_changed.clone();
            execute(py, patch, prep.deferred, outcome, &mut init_changed);
            changed_classes.extend(class_hooks(py, patch, &prep.touched, &init_changed, &mut outcome.report));
        }
    }
    if !changed_classes.is_empty() {
        if let Err(err) = reset_abc_caches(py, &changed_classes) {
            log::debug!(target: "hotswap", "isinstance caches not reset: {}", describe_exception(py, &err));
        }
    }
    for (patch, outcome) in patches.iter().zip(outcomes.iter_mut()) {
        if !patch.plan.is_empty() && !outcome.rejected {
            run_module_hooks(py, patch, AFTER_HOOKS, &mut outcome.report);
        }
    }
    outcomes
}

/// Module globals holding the callbacks registered by `hotswap.before_reload` and
/// `hotswap.after_reload` (qualified name → function, so registering again replaces).
const BEFORE_HOOKS: &str = "__hotswap_before_reload__";
const AFTER_HOOKS: &str = "__hotswap_after_reload__";

fn run_module_hooks(py: Python<'_>, patch: &FilePatch<'_>, key: &str, report: &mut Report) {
    let Ok(globals) = patch.module.getattr(intern!(patch.module.py(), "__dict__")) else { return };
    let Ok(Some(hooks)) = globals.cast::<PyDict>().map(|g| g.get_item(key).ok().flatten()) else { return };
    let Ok(hooks) = hooks.cast_into::<PyDict>() else { return };
    let mut callbacks = Vec::new();
    let mut gone = Vec::new();
    for (key, callback) in hooks.iter() {
        // A module-level callback whose definition was deleted (its name no longer binds it)
        // is dropped, as a fresh import would never have registered it.
        let name: String = key.extract().unwrap_or_default();
        let defined = name.contains('.') || globals.get_item(name.as_str()).is_ok_and(|bound| bound.is(&callback));
        if defined {
            callbacks.push(callback);
        } else {
            gone.push(key);
        }
    }
    for key in gone {
        let _ = hooks.del_item(key);
    }
    for callback in callbacks {
        if let Err(err) = callback.call0() {
            let name = callback.getattr(intern!(callback.py(), "__qualname__")).map(|n| n.to_string()).unwrap_or_default();
            let line = callback.getattr(intern!(callback.py(), "__code__")).and_then(|c| c.getattr(intern!(c.py(), "co_firstlineno"))).and_then(|l| l.extract()).unwrap_or(0);
            report.error(&patch.display_path, line, format!("reload hook {name} failed: {}", describe_exception(py, &err)));
        }
    }
}

/// After a module's edits: each changed class recomputes what Python derived from its members,
/// existing instances are migrated where `__init__` or the fields changed and the class has a
/// `__migrate__` method, and the class's `__reloaded__` hook runs.
fn class_hooks<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    touched: &[Vec<String>],
    init_changed: &HashSet<Vec<String>>,
    report: &mut Report,
) -> Vec<Bound<'py, PyType>> {
    let mut changed = Vec::new();
    let mut seen = HashSet::new();
    for path in touched {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Ok(scope) = resolve_scope(&patch.module, path) else { continue };
        let Some(class) = scope.class else { continue };
        let qualified = format!("{}.{}", patch.name, path.join("."));
        let fail = |report: &mut Report, what: &str, err: PyErr| {
            report.error(&patch.display_path, 0, format!("{qualified}: {what} failed: {}", describe_exception(py, &err)));
        };
        if let Err(err) = refresh_derived(py, &class) {
            fail(report, "updating abstract methods / protocol members", err);
        }
        let is_dataclass = class.getattr(intern!(class.py(), "__dict__")).and_then(|d| d.contains("__dataclass_fields__")).unwrap_or(false);
        if init_changed.contains(path) && is_dataclass {
            if let Err(err) = regenerate_dataclass_subclasses(py, &class, &mut report.notes) {
                fail(report, "regenerating dataclass subclasses", err);
            }
        }
        if init_changed.contains(path) && class.hasattr(intern!(class.py(), "__migrate__")).unwrap_or(false) {
            match instances_of(py, &class) {
                Ok(instances) => {
                    let mut failed = 0;
                    for instance in &instances {
                        if let Err(err) = instance.call_method0("__migrate__") {
                            failed += 1;
                            if failed == 1 {
                                fail(report, "__migrate__", err);
                            }
                        }
                    }
                    report.notes.push(format!("{qualified}: migrated {} existing instance(s)", instances.len() - failed));
                }
                Err(err) => fail(report, "finding instances", err),
            }
        }
        if let Ok(hook) = class.getattr(intern!(class.py(), "__reloaded__")) {
            if let Err(err) = hook.call0() {
                fail(report, "__reloaded__", err);
            }
        }
        changed.push(class);
    }
    changed
}

/// Phase 2: assignments only, with the cycle collector paused.
fn commit<'py>(
    py: Python<'py>,
    prepared: &[Option<Prepared<'py>>],
    patches: &[FilePatch<'py>],
    outcomes: &mut [FileOutcome],
) {
    let gc = py.import("gc").ok();
    let was_enabled = gc
        .as_ref()
        .and_then(|gc| gc.call_method0("isenabled").ok())
        .and_then(|v| v.extract::<bool>().ok())
        .unwrap_or(false);
    if let (Some(gc), true) = (&gc, was_enabled) {
        let _ = gc.call_method0("disable");
    }
    // Replaced values are released only after the last swap: freeing one could run a user
    // finalizer (`__del__`), which must not see half a batch.
    let mut replaced = Vec::new();
    for ((prep, patch), outcome) in prepared.iter().zip(patches).zip(outcomes.iter_mut()) {
        let Some(prep) = prep else { continue };
        for swap in &prep.swaps {
            if let Err(err) = apply_swap(swap, &mut replaced) {
                let message = format!("could not update code: {}", describe_exception(py, &err));
                outcome.report.error(&patch.display_path, 0, message);
            }
        }
        for (class, attr, value) in &prep.class_attrs {
            replaced.extend(class.getattr(*attr).ok());
            if let Err(err) = class.setattr(*attr, value) {
                outcome.report.error(&patch.display_path, 0, describe_exception(py, &err));
            }
        }
    }
    drop(replaced);
    if let (Some(gc), true) = (&gc, was_enabled) {
        let _ = gc.call_method0("enable");
    }
}

/// Sets the new code (and defaults, annotations, docstring) on a live function; the values it
/// replaces go to `replaced`, for the caller to release when it is safe.
fn apply_swap<'py>(swap: &Swap<'py>, replaced: &mut Vec<Bound<'py, PyAny>>) -> PyResult<()> {
    let function = &swap.function;
    replaced.push(function.getattr(intern!(function.py(), "__code__"))?);
    function.setattr(intern!(function.py(), "__code__"), swap.code.clone())?;
    let mut set = |attr: &str, value: Bound<'py, PyAny>| -> PyResult<()> {
        replaced.extend(function.getattr(attr).ok());
        function.setattr(attr, value)
    };
    if let Some(fresh) = &swap.attrs {
        for attr in ["__defaults__", "__kwdefaults__", "__doc__", "__type_params__"] {
            if let Ok(value) = fresh.getattr(attr) {
                set(attr, value)?;
            }
        }
        // 3.14+ evaluates annotations lazily through `__annotate__`; copy that, not the result.
        if fresh.hasattr(intern!(fresh.py(), "__annotate__"))? {
            set("__annotate__", fresh.getattr(intern!(fresh.py(), "__annotate__"))?)?;
        } else {
            set("__annotations__", fresh.getattr(intern!(fresh.py(), "__annotations__"))?)?;
        }
    }
    Ok(())
}

/// Phase 3: user code, in source order. A failing step is reported and the rest go on.
fn execute<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    deferred: Vec<Deferred<'py>>,
    outcome: &mut FileOutcome,
    init_changed: &mut HashSet<Vec<String>>,
) {
    for item in deferred {
        let (step_index, result) = match item {
            Deferred::Rebuild { step, code, bare, scope, class, keep, covered } => {
                let code = Rebuilding { full: &code, bare: bare.as_ref() };
                rebuild(py, patch, step, code, &scope, &class, &keep, &covered, outcome, init_changed);
                continue;
            }
            Deferred::Execute { step, code, scope } => {
                let planned = &patch.plan.steps[step];
                // A re-run statement re-defines the same functions; an added `def` is a new one
                // even when its name is bound already (`def _` registered with singledispatch).
                let lambdas = match &planned.target {
                    Target::Stmt { binds, .. } => bound_lambdas(&scope, binds),
                    Target::Def { .. } => Vec::new(),
                };
                let result = run_in_scope(py, &code, &scope).and_then(|()| keep_lambdas(&scope, lambdas));
                (step, result)
            }
            Deferred::Delete { step, scope, names } => (step, delete_names(&scope, &names)),
            Deferred::LateUpdate { step, function, code, bare, scope } => {
                let name = patch.plan.steps[step].target.label();
                let mut replaced = Vec::new();
                let result = fresh_function(py, &bare, &scope, name)
                    .and_then(|fresh| apply_swap(&Swap { function, code, attrs: Some(fresh) }, &mut replaced));
                drop(replaced);
                (step, result)
            }
        };
        let step = &patch.plan.steps[step_index];
        let line = step.lines.shown();
        match result {
            Ok(()) => record_done(patch, step, &mut outcome.report),
            Err(err) => {
                let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
                outcome.report.error(&patch.display_path, line, message);
                outcome.failed_steps.push(step_index);
            }
        }
    }
}

/// Runs a [`Deferred::Rebuild`] and reports it (and the statement steps it covers).
#[allow(clippy::too_many_arguments)]
fn rebuild<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    index: usize,
    code: Rebuilding<'_, 'py>,
    scope: &Scope<'py>,
    class: &Bound<'py, PyType>,
    keep: &[String],
    covered: &[usize],
    outcome: &mut FileOutcome,
    init_changed: &mut HashSet<Vec<String>>,
) {
    let step = &patch.plan.steps[index];
    let line = step.lines.shown();
    let qualified = format!("{}.{}", patch.name, step.dotted_name());
    let path = step.path();
    let scratch = match code.bare {
        None => scratch_definition(py, code.full, scope, step.target.label()),
        Some(bare) => scratch_definition(py, bare, scope, step.target.label()).and_then(|undecorated| {
            let StepAction::RefreshClass { decorators, .. } = &step.action else { return Ok(undecorated) };
            redecorate(py, patch, scope, undecorated, decorators, &mut outcome.report)
        }),
    };
    let result = scratch.and_then(|new| transplant(py, class, &new, keep));
    match result {
        Ok(Rebuilt::InPlace { fields_changed, notes }) => {
            if fields_changed {
                init_changed.insert(path);
            }
            outcome.report.notes.extend(notes);
            record_done(patch, step, &mut outcome.report);
            for &c in covered {
                record_done(patch, &patch.plan.steps[c], &mut outcome.report);
            }
        }
        Ok(Rebuilt::Incompatible { replacement, reason }) => {
            let bound = match &scope.class {
                Some(owner) => owner.setattr(step.target.label(), &replacement),
                None => scope.module.setattr(step.target.label(), &replacement),
            };
            match bound {
                Ok(()) => {
                    outcome.report.rude(
                        &patch.display_path,
                        line,
                        format!(
                            "{qualified} not updated in place: {reason}; it was re-created from the new source \
                             (existing instances and references keep the old class)"
                        ),
                    );
                    outcome.report.recreated.push(qualified);
                }
                Err(err) => {
                    let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
                    outcome.report.error(&patch.display_path, line, message);
                    outcome.failed_steps.push(index);
                }
            }
        }
        Err(err) => {
            let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
            outcome.report.error(&patch.display_path, line, message);
            outcome.failed_steps.push(index);
            outcome.failed_steps.extend_from_slice(covered);
        }
    }
}

/// A class statement compiled for a rebuild: whole, and without its decorators.
struct Rebuilding<'a, 'py> {
    full: &'a Bound<'py, PyAny>,
    bare: Option<&'a Bound<'py, PyAny>>,
}

/// Modules whose class decorators generate members from the class body (`dataclass`,
/// `total_ordering`, `enum.unique`, ...): re-applied on a rebuild. Other decorators (a registry,
/// say) already ran on the live class and are not run again.
const GENERATING_DECORATOR_MODULES: &[&str] =
    &["dataclasses", "functools", "enum", "typing", "typing_extensions", "attr", "attrs", "pydantic"];

/// Applies the generating decorators among `decorators` (outermost first) to `class`.
fn redecorate<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    scope: &Scope<'py>,
    mut class: Bound<'py, PyAny>,
    decorators: &[String],
    report: &mut Report,
) -> PyResult<Bound<'py, PyAny>> {
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    let locals = match &scope.class {
        Some(owner) => {
            let ns = PyDict::new(py);
            ns.call_method1("update", (owner.getattr(intern!(owner.py(), "__dict__"))?,))?;
            ns.into_any()
        }
        None => globals.clone(),
    };
    let builtins = py.import("builtins")?;
    for expr in decorators.iter().rev() {
        let code = builtins.getattr(intern!(builtins.py(), "compile"))?.call1((format!("(\n{expr}\n)"), &patch.filename, "eval"))?;
        let decorator = builtins.getattr(intern!(builtins.py(), "eval"))?.call1((code, &globals, &locals))?;
        let module: String = decorator
            .getattr("__module__")
            .or_else(|_| decorator.get_type().getattr("__module__"))
            .and_then(|m| m.extract())
            .unwrap_or_default();
        let root = module.split('.').next().unwrap_or_default();
        if GENERATING_DECORATOR_MODULES.contains(&root) {
            class = decorator.call1((class,))?;
        } else {
            report.notes.push(format!("class decorator @{expr} was not run again (it already ran on the live class)"));
        }
    }
    Ok(class)
}

/// Runs a definition's unit in a scratch namespace (a copy of the class namespace inside a
/// class) and returns what it defined, without binding it in the program; module-level code
/// run this way counts as reloading (`currently_reloading()`).
fn scratch_definition<'py>(py: Python<'py>, unit: &Bound<'py, PyAny>, scope: &Scope<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    RELOADING.fetch_add(1, Ordering::SeqCst);
    let _reset = ResetOnDrop(&RELOADING);
    fresh_function(py, unit, scope, name)
}

fn record_done(patch: &FilePatch<'_>, step: &PatchStep, report: &mut Report) {
    let qualified = format!("{}.{}", patch.name, step.dotted_name());
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
            log::info!(target: "hotswap", "deleted {qualified} ({place})");
            report.deleted.push(qualified);
        }
        StepAction::Execute { .. } if step.lines.old.is_none() => {
            log::info!(target: "hotswap", "added {qualified} ({place})");
            report.added.push(qualified);
        }
        StepAction::Skip => {
            let reason = &step.reason;
            log::info!(target: "hotswap", "skipped {qualified} ({place}): {reason}");
            report.notes.push(format!("skipped {qualified} ({place}): {reason}"));
        }
        _ => {
            log::info!(target: "hotswap", "updated {qualified} ({place})");
            report.updated.push(qualified);
        }
    }
}

type PrepareError = (u32, PyErr);

/// Phase 1 for one module: compile and resolve everything, change nothing.
fn prepare_module<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    report: &mut Report,
) -> Result<Prepared<'py>, PrepareError> {
    let module = &patch.module;
    let flags = future_flags(py, module).map_err(|e| (0, e))?;
    let mut prepared = Prepared {
        swaps: Vec::new(),
        class_attrs: Vec::new(),
        deferred: Vec::new(),
        done: Vec::new(),
        caches: Vec::new(),
        conforms: Vec::new(),
        touched: Vec::new(),
        init_changed: HashSet::new(),
    };
    // Old code objects whose live functions (and nested closures) get new code.
    let mut code_pairs: Vec<CodeSwap<'py>> = Vec::new();
    let rebuilds = plan_rebuilds(py, patch)?;
    // `ExecuteIfStale` steps, decided once the closures that cannot take new code are known.
    let mut stale_candidates: Vec<(usize, Bound<'py, PyAny>, Scope<'py>)> = Vec::new();
    let mut scopes: HashMap<Vec<String>, Scope<'py>> = HashMap::new();

    for (index, step) in patch.plan.steps.iter().enumerate() {
        let at = |e: PyErr| (step.lines.shown(), e);
        if step.target.is_statement() && rebuilds.contains_key(&step.scope) {
            continue; // applied by the rebuild of its class
        }
        // Thousands of steps share a few scopes (a line shift moves every function below it).
        let scope = match scopes.get(&step.scope) {
            Some(scope) => scope.clone(),
            None => {
                let scope = resolve_scope(module, &step.scope).map_err(at)?;
                scopes.insert(step.scope.clone(), scope.clone());
                scope
            }
        };
        let changes_members = !(step.action.is_move() || matches!(step.action, StepAction::Skip));
        if !step.scope.is_empty() && changes_members {
            prepared.touched.push(step.scope.clone());
            if step.target.label() == "__init__" {
                prepared.init_changed.insert(step.scope.clone());
            }
        }
        match &step.action {
            StepAction::RefreshClass { unit, bare_unit, keep, header, .. } => {
                let path = step.path();
                prepared.touched.push(path.clone());
                let unit = compile(py, unit, &patch.filename, flags).map_err(at)?;
                // Decorators unchanged: only those that generate members run again.
                let bare = match (bare_unit, header) {
                    (Some(bare), false) => Some(compile(py, bare, &patch.filename, flags).map_err(at)?),
                    _ => None,
                };
                match (rebuilds.get(&path), named_class(&scope, step.target.label())) {
                    (Some(covered), Ok(class)) => prepared.deferred.push(Deferred::Rebuild {
                        step: index,
                        code: unit,
                        bare,
                        scope,
                        class,
                        keep: keep.clone(),
                        covered: covered.clone(),
                    }),
                    // No live class of that name any more: define it anew.
                    (_, Err(_)) => prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope }),
                    (None, Ok(_)) => {} // a plain class: its members' own steps are the update
                }
            }
            StepAction::UpdateFunction { unit, bare_unit, rebind, after_statements } => {
                let unit = compile(py, unit, &patch.filename, flags).map_err(at)?;
                let new_line = step.lines.new.unwrap_or(0);
                let new_code = find_code(&unit, &step.scope, step.target.label(), new_line).map_err(at)?;
                let bare = match bare_unit {
                    Some(bare) => compile(py, bare, &patch.filename, flags).map_err(at)?,
                    None => unit.clone(),
                };
                let old_line = step.lines.old.unwrap_or(0);
                let live = live_function(&scope, step.target.label(), old_line, &patch.filename).map_err(at)?;
                let conforming = conformers(&scope, step.target.label()).map_err(at)?;
                if live.is_none() && !conforming.is_empty() && !rebind {
                    // An object that transforms code takes the new code itself (`__conform__`).
                    prepared.conforms.extend(conforming.into_iter().map(|c| (c, new_code.clone())));
                    prepared.done.push(index);
                    continue;
                }
                if let Some(live) = &live {
                    prepared.caches.extend(caches_in_front(&scope, step.target.label()).map_err(at)?);
                    prepared.conforms.extend(conforming.into_iter().map(|c| (c, new_code.clone())));
                    let old_code = live.getattr(intern!(live.py(), "__code__")).map_err(at)?;
                    let qualified = format!("{}.{}", patch.name, step.dotted_name());
                    if let Some(message) = suspended_frames(py, &old_code, &qualified).map_err(at)? {
                        report.rude(&patch.display_path, step.lines.shown(), message);
                    }
                }
                // The live function can take the new code later, in source order, once the
                // statements before it ran: when its signature reads a value they change.
                let can_wait = match &live {
                    Some(live) => same_freevars(&live.getattr(intern!(live.py(), "__code__")).map_err(at)?, &new_code),
                    None => false,
                };
                let fresh = if *after_statements && can_wait {
                    Err(None)
                } else {
                    fresh_function(py, &bare, &scope, step.target.label()).map_err(Some)
                };
                let fresh = match fresh {
                    Ok(f) => Some(f),
                    // A default may need a name this same edit binds earlier in the file.
                    Err(e) if can_wait && e.as_ref().is_none_or(|e| e.is_instance_of::<pyo3::exceptions::PyNameError>(py)) => {
                        let function = live.clone().expect("can_wait implies a live function");
                        prepared.deferred.push(Deferred::LateUpdate { step: index, function, code: new_code, bare, scope });
                        continue;
                    }
                    Err(Some(e)) => return Err(at(e)),
                    Err(None) => unreachable!("only waiting functions skip the evaluation"),
                };
                match (live, fresh) {
                    (Some(live), Some(fresh)) if same_freevars(&live.getattr(intern!(live.py(), "__code__")).map_err(at)?, &new_code) => {
                        let old = live.getattr(intern!(live.py(), "__code__")).map_err(at)?;
                        code_pairs.push(CodeSwap { old, new: new_code, fresh: Some(fresh), live });
                        if *rebind {
                            prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
                        } else {
                            prepared.done.push(index);
                        }
                    }
                    (live, _) => {
                        if live.is_some() {
                            report.notes.push(format!(
                                "{}: its free variables changed, so it was defined anew; \
                                 references to the old function keep the old code",
                                step.dotted_name()
                            ));
                            report.recreated.push(format!("{}.{}", patch.name, step.dotted_name()));
                        }
                        prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
                    }
                }
            }
            StepAction::ShiftLines => {
                let delta = step.lines.delta();
                let old_line = step.lines.old.unwrap_or(0);
                if let Some(live) = live_function(&scope, step.target.label(), old_line, &patch.filename).map_err(at)? {
                    let old_code = live.getattr(intern!(live.py(), "__code__")).map_err(at)?;
                    let new_code = shift_lines(py, &old_code, delta).map_err(at)?;
                    code_pairs.push(CodeSwap { old: old_code, new: new_code, fresh: None, live });
                }
                prepared.done.push(index);
            }
            StepAction::Execute { block: true, .. }
                if step.target.is_statement() && step.scope.is_empty() && module_code_running(py, patch).map_err(at)? =>
            {
                // The module's top-level code is still running (a script's main loop): re-running
                // a loop or block of it would start a second copy beside the one running.
                let note = format!(
                    "{}:{}: not re-run: the module's top-level code is still running this block \
                     (loops in functions, and `hotswap.live_loop`, take new bodies)",
                    patch.display_path,
                    step.lines.shown()
                );
                log::info!(target: "hotswap", "{note}");
                report.notes.push(note);
            }
            StepAction::Execute { unit, .. } => {
                let unit = compile(py, unit, &patch.filename, flags).map_err(at)?;
                prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
            }
            StepAction::SetClassDoc { unit } => {
                let unit = compile(py, unit, &patch.filename, flags).map_err(at)?;
                let path = step.path();
                let body = find_class_body(&unit, &path).map_err(at)?;
                let ns = PyDict::new(py);
                exec(py, &body, &module.getattr(intern!(module.py(), "__dict__")).map_err(at)?, &ns).map_err(at)?;
                let class = named_class(&scope, step.target.label()).map_err(at)?;
                let doc = ns.get_item("__doc__").map_err(at)?.unwrap_or_else(|| py.None().into_bound(py));
                prepared.class_attrs.push((class, "__doc__", doc));
                prepared.done.push(index);
            }
            StepAction::MoveClass => {
                let class = named_class(&scope, step.target.label()).map_err(at)?;
                if class.hasattr(intern!(class.py(), "__firstlineno__")).map_err(at)? {
                    let line = step.lines.shown().into_pyobject(py).map_err(|e| at(e.into()))?.into_any();
                    prepared.class_attrs.push((class, "__firstlineno__", line));
                }
                prepared.done.push(index);
            }
            StepAction::Delete { names } => {
                prepared.deferred.push(Deferred::Delete { step: index, scope, names: names.clone() });
            }
            StepAction::ExecuteIfStale { unit } => {
                let unit = compile(py, unit, &patch.filename, flags).map_err(at)?;
                stale_candidates.push((index, unit, scope));
            }
            StepAction::Skip => prepared.done.push(index),
            StepAction::NotInPlace => {
                let message = format!("{}: {}", step.dotted_name(), step.reason);
                report.rude(&patch.display_path, step.lines.shown(), message);
            }
        }
    }

    // Every function running an old code object, and every closure created from a nested code
    // object inside it, gets the matching new code.
    let mut lookups = Vec::new();
    let mut news = Vec::new();
    let mut fresh_for = Vec::new();
    // A pure line shift keeps every free variable; new code must be checked.
    let mut check_freevars = Vec::new();
    for swap in code_pairs {
        let mut pairs = Vec::new();
        nested_code_pairs(&swap.old, &swap.new, &mut pairs).map_err(|e| (0, e))?;
        let new_code = swap.fresh.is_some();
        lookups.push(Lookup { code: swap.old, known: Some(swap.live) });
        news.push(swap.new);
        fresh_for.push(swap.fresh);
        check_freevars.push(new_code);
        for (o, n) in pairs {
            if is_transient(&o) {
                continue;
            }
            lookups.push(Lookup { code: o, known: None });
            news.push(n);
            fresh_for.push(None);
            check_freevars.push(new_code);
        }
    }
    let running = functions_running(py, &lookups).map_err(|e| (0, e))?;
    let mut stale: Vec<Bound<'py, PyAny>> = Vec::new();
    for (i, functions) in running.into_iter().enumerate() {
        for function in functions {
            let current = function.getattr(intern!(function.py(), "__code__")).map_err(|e| (0, e))?;
            if check_freevars[i] && !same_freevars(&current, &news[i]) {
                stale.push(function);
                continue;
            }
            prepared.swaps.push(Swap { function, code: news[i].clone(), attrs: fresh_for[i].clone() });
        }
    }
    // Closures that cannot take the new code are rebuilt by re-running the module-level
    // statement that made them from their factory, when there is one.
    let mut rebuilt: HashSet<usize> = HashSet::new();
    for (index, unit, scope) in stale_candidates {
        let step = &patch.plan.steps[index];
        let mut holds_stale = false;
        for name in step.target.binds() {
            if let Some(value) = namespace_get(&scope, name).map_err(|e| (step.lines.shown(), e))? {
                for closure in stale.iter().filter(|c| contains(&value, c)) {
                    holds_stale = true;
                    rebuilt.insert(closure.as_ptr() as usize);
                }
            }
        }
        if holds_stale {
            report.notes.push(format!(
                "{}.{}: line {} ran again to rebuild closures whose free variables changed ({})",
                patch.name,
                step.target.label(),
                step.lines.shown(),
                step.reason
            ));
            prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
        }
    }
    for closure in stale.iter().filter(|c| !rebuilt.contains(&(c.as_ptr() as usize))) {
        let name: String = closure.getattr(intern!(closure.py(), "__qualname__")).and_then(|n| n.extract()).unwrap_or_default();
        report.rude(
            &patch.display_path,
            0,
            format!("{name}: a closure created before the edit keeps its old code (its free variables changed)"),
        );
    }
    prepared.deferred.sort_by_key(Deferred::step);
    Ok(prepared)
}

/// `value` is `target`, or holds it directly (list, tuple, set, dict values).
fn contains(value: &Bound<'_, PyAny>, target: &Bound<'_, PyAny>) -> bool {
    if value.is(target) {
        return true;
    }
    let items = if let Ok(dict) = value.cast::<PyDict>() { Some(dict.values().into_any()) } else { None };
    let iterable = match &items {
        Some(values) => values.clone(),
        None if value.is_instance_of::<pyo3::types::PyList>()
            || value.is_instance_of::<PyTuple>()
            || value.is_instance_of::<pyo3::types::PySet>() =>
        {
            value.clone()
        }
        None => return false,
    };
    iterable.try_iter().is_ok_and(|mut it| it.any(|v| v.is_ok_and(|v| v.is(target))))
}

impl Deferred<'_> {
    fn step(&self) -> usize {
        match self {
            Deferred::Execute { step, .. }
            | Deferred::Delete { step, .. }
            | Deferred::LateUpdate { step, .. }
            | Deferred::Rebuild { step, .. } => *step,
        }
    }
}

/// Class path → the statement steps its rebuild covers, for every `RefreshClass` step whose live
/// class must be rebuilt: its header changed, or its members are generated from its body.
fn plan_rebuilds(py: Python<'_>, patch: &FilePatch<'_>) -> Result<HashMap<Vec<String>, Vec<usize>>, PrepareError> {
    let steps = &patch.plan.steps;
    let mut rebuilds = HashMap::new();
    for step in steps {
        let StepAction::RefreshClass { header, .. } = &step.action else { continue };
        let at = |e: PyErr| (step.lines.shown(), e);
        let scope = resolve_scope(&patch.module, &step.scope).map_err(at)?;
        let Ok(class) = named_class(&scope, step.target.label()) else { continue };
        let path = step.path();
        let covered: Vec<usize> =
            (0..steps.len()).filter(|&i| steps[i].target.is_statement() && steps[i].scope == path).collect();
        // A changed `__slots__` changes the instance layout: only a rebuild can tell if it fits.
        let slots = covered.iter().any(|&i| steps[i].target.binds().contains(&"__slots__"));
        if *header || slots || generated_kind(py, &class).map_err(at)?.is_some() {
            rebuilds.insert(path, covered);
        }
    }
    Ok(rebuilds)
}

/// Objects between a name's binding and its function that take new code themselves through
/// `__conform__(new_code)` (the protocol jurigged defines for code-transforming wrappers).
fn conformers<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = Vec::new();
    let mut current = namespace_get(scope, name)?;
    let mut depth = 0;
    while let Some(obj) = current {
        if depth > 8 || obj.is_instance_of::<PyFunction>() {
            break;
        }
        depth += 1;
        if obj.get_type().hasattr("__conform__")? && !obj.is_instance_of::<PyType>() {
            out.push(obj.clone());
        }
        current = ["__wrapped__", "__func__", "func"].iter().find_map(|attr| obj.getattr(*attr).ok());
    }
    Ok(out)
}

/// A generator, coroutine or async generator suspended in `code` keeps running it until it
/// finishes: a frame cannot change code. Says so when there are any (a heap scan, done only
/// for generator and coroutine functions).
fn suspended_frames(py: Python<'_>, code: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    const SUSPENDABLE: i64 = 0x20 | 0x80 | 0x200; // CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
    if code.getattr(intern!(code.py(), "co_flags"))?.extract::<i64>()? & SUSPENDABLE == 0 {
        return Ok(None);
    }
    // 3.11+: the generator holds its frame and so the code; 3.9–3.10: a frame object does.
    let (mut generators, mut frames) = (0, 0);
    for obj in py.import("gc")?.getattr("get_referrers")?.call1((code,))?.try_iter()? {
        let obj = obj?;
        for (code_attr, frame_attr) in [("gi_code", "gi_frame"), ("cr_code", "cr_frame"), ("ag_code", "ag_frame")] {
            if obj.getattr(code_attr).is_ok_and(|c| c.is(code)) && obj.getattr(frame_attr).is_ok_and(|f| !f.is_none()) {
                generators += 1;
            }
        }
        if obj.hasattr(intern!(obj.py(), "f_lasti"))? && obj.getattr(intern!(obj.py(), "f_code")).is_ok_and(|c| c.is(code)) {
            frames += 1;
        }
    }
    let count = if generators > 0 { generators } else { frames };
    Ok((count > 0).then(|| {
        format!("{name}: {count} suspended generator/coroutine object(s) keep running the old code until they finish; new calls run the new code")
    }))
}

/// `functools` caches (`lru_cache`, `cache`) between a name's binding and its function.
fn caches_in_front<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = Vec::new();
    let mut current = namespace_get(scope, name)?;
    let mut depth = 0;
    while let Some(obj) = current {
        if depth > 8 {
            break;
        }
        depth += 1;
        if obj.hasattr(intern!(obj.py(), "cache_clear"))? && obj.hasattr(intern!(obj.py(), "cache_info"))? {
            out.push(obj.clone());
        }
        current = ["__wrapped__", "__func__", "fget", "func"].iter().find_map(|attr| obj.getattr(*attr).ok());
    }
    Ok(out)
}

/// The module, or the innermost class named by `path` inside it.
fn resolve_scope<'py>(module: &Bound<'py, PyAny>, path: &[String]) -> PyResult<Scope<'py>> {
    let mut class: Option<Bound<'py, PyType>> = None;
    let mut current = module.clone();
    for name in path {
        let next = current.getattr(name.as_str())?;
        let next_class = next.cast_into::<PyType>().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!("{name} is no longer a class in the running program"))
        })?;
        current = next_class.clone().into_any();
        class = Some(next_class);
    }
    Ok(Scope { module: module.clone(), class, path: path.to_vec() })
}

fn named_class<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let owner = match &scope.class {
        Some(c) => c.clone().into_any(),
        None => scope.module.clone(),
    };
    owner.getattr(name)?.cast_into::<PyType>().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(format!("{name} is no longer a class in the running program"))
    })
}

/// The object bound to `name` in the scope's own namespace (not inherited).
fn namespace_get<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let dict = match &scope.class {
        Some(class) => class.getattr(intern!(class.py(), "__dict__"))?,
        None => scope.module.getattr(intern!(scope.module.py(), "__dict__"))?,
    };
    match dict.get_item(name) {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyKeyError>(dict.py()) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The live function that runs the definition `name` first seen at `line` of `filename`,
/// found from its binding in the scope through decorators and wrappers.
fn live_function<'py>(scope: &Scope<'py>, name: &str, line: u32, filename: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(anchor) = namespace_get(scope, name)? else { return Ok(None) };
    let mut seen = HashSet::new();
    find_function(&anchor, name, line, filename, 0, &mut seen)
}

fn find_function<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    line: u32,
    filename: &str,
    depth: u32,
    seen: &mut HashSet<usize>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if depth > 8 || !seen.insert(obj.as_ptr() as usize) {
        return Ok(None);
    }
    if obj.is_instance_of::<PyFunction>() {
        let code = obj.getattr(intern!(obj.py(), "__code__"))?;
        // Cheapest test first; names are compared without copying them out of Python.
        let matches = code.getattr(intern!(code.py(), "co_firstlineno"))?.extract::<u32>()? == line
            && code.getattr(intern!(code.py(), "co_name"))?.cast_into::<PyString>()?.to_str()? == name
            && code.getattr(intern!(code.py(), "co_filename"))?.cast_into::<PyString>()?.to_str()? == filename;
        if matches {
            return Ok(Some(obj.clone()));
        }
        // A wrapper made by a decorator: the wrapped function is in its closure.
        if let Ok(cells) = obj.getattr(intern!(obj.py(), "__closure__")) {
            if !cells.is_none() {
                for cell in cells.try_iter()? {
                    if let Ok(content) = cell?.getattr("cell_contents") {
                        if let Some(found) = find_function(&content, name, line, filename, depth + 1, seen)? {
                            return Ok(Some(found));
                        }
                    }
                }
            }
        }
    }
    for attr in ["__wrapped__", "__func__", "fget", "fset", "fdel", "func"] {
        if let Ok(inner) = obj.getattr(attr) {
            if let Some(found) = find_function(&inner, name, line, filename, depth + 1, seen)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Runs the undecorated definition in a scratch namespace so its defaults and annotations are
/// evaluated where the real ones would be (class body, then module), without binding anything.
fn fresh_function<'py>(py: Python<'py>, bare: &Bound<'py, PyAny>, scope: &Scope<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    let ns = PyDict::new(py);
    match &scope.class {
        None => exec(py, bare, &globals, &ns)?,
        Some(class) => {
            let body = find_class_body(bare, &scope.path)?;
            ns.call_method1("update", (class.getattr(intern!(class.py(), "__dict__"))?,))?;
            exec(py, &body, &globals, &ns)?;
            if let Some(cell) = ns.get_item("__classcell__")? {
                cell.setattr("cell_contents", class)?;
            }
        }
    }
    ns.get_item(name)?
        .ok_or_else(|| pyo3::exceptions::PyNameError::new_err(format!("{name} was not defined by its own source")))
}

/// Runs compiled module-level code in the scope: the module namespace, or a copy of the class
/// namespace whose new or changed entries are then set on the live class.
fn run_in_scope<'py>(py: Python<'py>, unit: &Bound<'py, PyAny>, scope: &Scope<'py>) -> PyResult<()> {
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    RELOADING.fetch_add(1, Ordering::SeqCst);
    let _reset = ResetOnDrop(&RELOADING);
    let Some(class) = &scope.class else {
        return exec(py, unit, &globals, &globals);
    };
    let body = find_class_body(unit, &scope.path)?;
    let ns = PyDict::new(py);
    ns.call_method1("update", (class.getattr(intern!(class.py(), "__dict__"))?,))?;
    let before = ns.copy()?;
    exec(py, &body, &globals, &ns)?;
    if let Some(cell) = ns.get_item("__classcell__")? {
        cell.setattr("cell_contents", class)?;
    }
    for (key, value) in ns.iter() {
        let key_str: String = key.extract()?;
        if CLASS_BODY_KEYS.contains(&key_str.as_str()) {
            continue;
        }
        let unchanged = before.get_item(&key)?.is_some_and(|old| old.is(&value));
        if unchanged {
            continue;
        }
        if matches!(key_str.as_str(), "__annotate_func__" | "__annotate__") {
            // 3.14+: the unit's annotate function only knows this statement's annotations.
            merge_annotations(py, class, &value)?;
            continue;
        }
        class.setattr(key_str.as_str(), &value)?;
        // As class creation does: a class that defines `__eq__` but not `__hash__` is unhashable.
        if key_str == "__eq__" && !ns.contains("__hash__")? {
            class.setattr("__hash__", py.None())?;
        }
        if value.get_type().hasattr("__set_name__")? {
            value.call_method1("__set_name__", (class, key_str.as_str()))?;
        }
    }
    Ok(())
}


/// Some thread is still running the module's top-level code (a script whose main loop is at
/// module level, or a module still being imported).
fn module_code_running(py: Python<'_>, patch: &FilePatch<'_>) -> PyResult<bool> {
    let frames = py.import("sys")?.getattr("_current_frames")?.call0()?;
    for frame in frames.call_method0("values")?.try_iter()? {
        let mut frame = frame?;
        while !frame.is_none() {
            let code = frame.getattr(intern!(frame.py(), "f_code"))?;
            if code.getattr(intern!(code.py(), "co_name"))?.extract::<String>()? == "<module>"
                && code.getattr(intern!(code.py(), "co_filename"))?.extract::<String>()? == patch.filename
            {
                return Ok(true);
            }
            frame = frame.getattr(intern!(frame.py(), "f_back"))?;
        }
    }
    Ok(false)
}

/// Module-level names bound to a function without free variables, before a statement re-binds them.
fn bound_lambdas<'py>(scope: &Scope<'py>, names: &[String]) -> Vec<(String, Bound<'py, PyAny>)> {
    names
        .iter()
        .filter_map(|name| {
            let value = namespace_get(scope, name).ok()??;
            is_plain_lambda(&value).then(|| (name.to_string(), value))
        })
        .collect()
}

/// A function without free variables (a lambda, or a `def` inside an `if`/`try` block).
fn is_plain_lambda(value: &Bound<'_, PyAny>) -> bool {
    value.is_instance_of::<PyFunction>()
        && value.getattr(intern!(value.py(), "__code__")).is_ok_and(|code| code.getattr(intern!(code.py(), "co_freevars")).is_ok_and(|f| f.len().is_ok_and(|n| n == 0)))
}

fn same_definition(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> bool {
    let key = |f: &Bound<'_, PyAny>| -> Option<(String, String, String)> {
        let code = f.getattr(intern!(f.py(), "__code__")).ok()?;
        Some((
            f.getattr(intern!(f.py(), "__qualname__")).ok()?.extract().ok()?,
            f.getattr(intern!(f.py(), "__module__")).ok()?.extract().ok()?,
            code.getattr(intern!(code.py(), "co_filename")).ok()?.extract().ok()?,
        ))
    };
    key(a).is_some() && key(a) == key(b)
}

/// `f = lambda ...` or a `def` inside a compound statement, re-run: the old function object takes
/// the new code and is bound again, so references taken before the edit (callbacks,
/// `from m import f`) run the new code too.
fn keep_lambdas<'py>(scope: &Scope<'py>, lambdas: Vec<(String, Bound<'py, PyAny>)>) -> PyResult<()> {
    for (name, old) in lambdas {
        let Some(new) = namespace_get(scope, &name)? else { continue };
        if new.is(&old) || !is_plain_lambda(&new) || !same_definition(&old, &new) {
            continue;
        }
        for attr in ["__code__", "__defaults__", "__kwdefaults__"] {
            old.setattr(attr, new.getattr(attr)?)?;
        }
        match &scope.class {
            Some(class) => class.setattr(name.as_str(), &old)?,
            None => scope.module.setattr(name.as_str(), &old)?,
        }
    }
    Ok(())
}

/// Adds the annotations an `__annotate__` function of a compiled statement gives to the
/// class's annotations (Python 3.14+ evaluates class annotations lazily through it).
fn merge_annotations<'py>(py: Python<'py>, class: &Bound<'py, PyType>, annotate: &Bound<'py, PyAny>) -> PyResult<()> {
    if annotate.is_none() {
        return Ok(());
    }
    let added = match annotate.call1((1,)) {
        Ok(values) => values,
        Err(_) => {
            let annotationlib = py.import("annotationlib")?;
            let forward_ref = annotationlib.getattr(intern!(annotationlib.py(), "Format"))?.getattr("FORWARDREF")?;
            annotationlib.getattr(intern!(annotationlib.py(), "call_annotate_function"))?.call1((annotate, forward_ref))?
        }
    };
    let merged = PyDict::new(py);
    merged.call_method1("update", (class.getattr(intern!(class.py(), "__annotations__"))?,))?;
    merged.call_method1("update", (added,))?;
    class.setattr("__annotations__", merged)
}

struct ResetOnDrop<'a>(&'a AtomicUsize);
impl Drop for ResetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn delete_names(scope: &Scope<'_>, names: &[String]) -> PyResult<()> {
    for name in names {
        if namespace_get(scope, name)?.is_none() {
            continue;
        }
        // `__eq__` removed: the `__hash__ = None` class creation added for it goes too.
        if let (Some(class), "__eq__") = (&scope.class, name.as_str()) {
            if namespace_get(scope, "__hash__")?.is_some_and(|h| h.is_none()) {
                class.delattr("__hash__")?;
            }
        }
        match &scope.class {
            Some(class) => class.delattr(name.as_str())?,
            None => scope.module.delattr(name.as_str())?,
        }
    }
    Ok(())
}

fn exec<'py>(py: Python<'py>, code: &Bound<'py, PyAny>, globals: &Bound<'py, PyAny>, locals: &Bound<'py, PyAny>) -> PyResult<()> {
    py.import("builtins")?.getattr("exec")?.call1((code, globals, locals))?;
    Ok(())
}

fn compile<'py>(py: Python<'py>, source: &str, filename: &str, flags: i64) -> PyResult<Bound<'py, PyAny>> {
    py.import("builtins")?.getattr("compile")?.call1((source, filename, "exec", flags, true))
}

/// Compiler flags of the module's `from __future__` imports, so units compile as the file did.
fn future_flags(py: Python<'_>, module: &Bound<'_, PyAny>) -> PyResult<i64> {
    let feature_type = py.import("__future__")?.getattr("_Feature")?;
    let mut flags = 0i64;
    let dict = module.getattr(intern!(module.py(), "__dict__"))?.cast_into::<PyDict>()?;
    for (_, value) in dict.iter() {
        if value.is_instance(&feature_type)? {
            flags |= value.getattr(intern!(value.py(), "compiler_flag"))?.extract::<i64>()?;
        }
    }
    Ok(flags)
}

fn code_consts<'py>(code: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = Vec::new();
    for c in code.getattr(intern!(code.py(), "co_consts"))?.try_iter()? {
        let c = c?;
        if c.is_instance_of::<PyCode>() {
            out.push(c);
        }
    }
    Ok(out)
}

fn not_found(what: &str) -> PyErr {
    pyo3::exceptions::PyLookupError::new_err(format!("{what} is not in the compiled unit"))
}

/// The body code of the innermost class in `path` inside a compiled unit.
fn find_class_body<'py>(unit: &Bound<'py, PyAny>, path: &[String]) -> PyResult<Bound<'py, PyAny>> {
    let mut code = unit.clone();
    for name in path {
        code = code_consts(&code)?
            .into_iter()
            .find(|c| c.getattr(intern!(c.py(), "co_name")).and_then(|n| n.extract::<String>()).is_ok_and(|n| &n == name))
            .ok_or_else(|| not_found(&format!("class {name}")))?;
    }
    Ok(code)
}

/// The code object of definition `name` starting at `line`, inside the class bodies of `scope`.
fn find_code<'py>(unit: &Bound<'py, PyAny>, scope: &[String], name: &str, line: u32) -> PyResult<Bound<'py, PyAny>> {
    let body = find_class_body(unit, scope)?;
    for c in code_consts(&body)? {
        let co_name: String = c.getattr(intern!(c.py(), "co_name"))?.extract()?;
        let first: u32 = c.getattr(intern!(c.py(), "co_firstlineno"))?.extract()?;
        if co_name == name && first == line {
            return Ok(c);
        }
    }
    Err(not_found(&format!("function {name} at line {line}")))
}

/// Code whose functions only live while it runs (comprehensions, generator expressions on
/// 3.9–3.11): no live function can be waiting to be updated.
fn is_transient(code: &Bound<'_, PyAny>) -> bool {
    let name: String = code.getattr(intern!(code.py(), "co_name")).and_then(|n| n.extract()).unwrap_or_default();
    matches!(name.as_str(), "<listcomp>" | "<setcomp>" | "<dictcomp>" | "<genexpr>")
}

fn same_freevars(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> bool {
    match (a.getattr(intern!(a.py(), "co_freevars")), b.getattr(intern!(b.py(), "co_freevars"))) {
        (Ok(x), Ok(y)) => x.eq(y).unwrap_or(false),
        _ => false,
    }
}

/// Pairs of nested code objects (closures, lambdas, comprehensions) of `old` and `new`, matched
/// by name and order of appearance, recursively.
fn nested_code_pairs<'py>(
    old: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
    out: &mut Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<()> {
    let olds = code_consts(old)?;
    let mut news = code_consts(new)?;
    for o in olds {
        let name: String = o.getattr(intern!(o.py(), "co_name"))?.extract()?;
        let position = news
            .iter()
            .position(|n| n.getattr(intern!(n.py(), "co_name")).and_then(|x| x.extract::<String>()).is_ok_and(|x| x == name));
        if let Some(position) = position {
            let n = news.remove(position);
            nested_code_pairs(&o, &n, out)?;
            out.push((o, n));
        }
    }
    Ok(())
}

/// `code` with every line number moved by `delta`, nested code objects included. Line tables
/// are relative to `co_firstlineno` on every supported version, so only that field changes.
fn shift_lines<'py>(py: Python<'py>, code: &Bound<'py, PyAny>, delta: i64) -> PyResult<Bound<'py, PyAny>> {
    let first: i64 = code.getattr(intern!(code.py(), "co_firstlineno"))?.extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "co_firstlineno"), first + delta)?;
    // Most functions have no nested code: then the constants stay as they are.
    let consts = code.getattr(intern!(code.py(), "co_consts"))?.cast_into::<PyTuple>()?;
    if consts.iter().any(|c| c.is_instance_of::<PyCode>()) {
        let shifted = consts
            .iter()
            .map(|c| if c.is_instance_of::<PyCode>() { shift_lines(py, &c, delta) } else { Ok(c) })
            .collect::<PyResult<Vec<_>>>()?;
        kwargs.set_item(intern!(py, "co_consts"), PyTuple::new(py, shifted)?)?;
    }
    code.call_method(intern!(py, "replace"), (), Some(&kwargs))
}

/// `Type: message` of an exception, for reports.
pub fn describe_exception(py: Python<'_>, err: &PyErr) -> String {
    let name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let value = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if value.is_empty() {
        name
    } else {
        format!("{name}: {value}")
    }
}

