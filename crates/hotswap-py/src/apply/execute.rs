//! Phase 3, execute: the user code of a batch (added definitions, changed statements, class
//! rebuilds), in source order. A failing step is reported and the rest go on.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use hotswap_core::plan::{Binding, Failures, PatchStep, StepAction, Target};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyType};

use super::commit::apply_swap;
use super::deleted;
use super::{record_done, Deferred, FileOutcome, FilePatch, Rebuild, Swap, RELOADING};
use crate::attr_names::AttrNames;
use crate::classes::{has_own_metaclass, transplant, Rebuilt};
use crate::code::{exec, find_class_body};
use crate::live::{namespace_get, Scope};
use crate::pyerr::describe_exception;
use crate::report::Report;

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

/// Runs every deferred step of one file, in source order. A step that depends on one that was
/// not applied (`failures`, from the prepare phase and from failing steps here) is held back.
pub(super) fn execute<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    deferred: Vec<Deferred<'py>>,
    mut failures: Failures,
    outcome: &mut FileOutcome,
    init_changed: &mut HashSet<Vec<String>>,
    scratches: &mut Scratches<'py>,
) {
    for item in deferred {
        let planned = &patch.plan.steps[item.step()];
        if let Some(cause) = failures.blocked_by(planned) {
            let message = format!("{} held back: it depends on {cause}, which was not applied", planned.dotted_name());
            outcome.report.step_error(&patch.display_path, planned, message);
            outcome.failed_steps.push(item.step());
            failures.record(planned);
            continue;
        }
        let (step_index, result) = match item {
            Deferred::Rebuild(job) => {
                let failed_before = outcome.failed_steps.len();
                rebuild(py, patch, job, outcome, init_changed, scratches);
                for &index in &outcome.failed_steps[failed_before..] {
                    failures.record(&patch.plan.steps[index]);
                }
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
                let adopted = adoptable(&scope, planned);
                let result = run_in_scope(py, &code, &scope, &planned.visible)
                    .and_then(|()| keep_lambdas(&scope, lambdas))
                    .and_then(|()| restore_deleted(&scope, planned))
                    .and_then(|()| adopt_previous(&scope, planned, adopted));
                (step, result)
            }
            Deferred::Delete { step, scope, names } => (step, delete_names(&scope, &names)),
            Deferred::Redecorate { step, scope, class, .. } => {
                let result = reapply_decorators(py, patch, step, &scope, class, outcome);
                match result {
                    Ok(()) => continue, // its statement steps report the change
                    Err(err) => (step, Err(err)),
                }
            }
            Deferred::LateUpdate { step, function, code, bare, scope } => {
                let mut replaced = Vec::new();
                let result = fresh_function(py, &bare, &scope, &patch.plan.steps[step]).and_then(|fresh| {
                    apply_swap(AttrNames::get(py), &Swap { function, code, attrs: Some(fresh) }, &mut replaced)
                });
                drop(replaced);
                let rebinds = matches!(patch.plan.steps[step].action, StepAction::UpdateFunction { rebind: true, .. });
                if rebinds && result.is_ok() {
                    continue; // the `Execute` that decorates it again reports the step
                }
                (step, result)
            }
        };
        let step = &patch.plan.steps[step_index];
        match result {
            Ok(()) => record_done(patch, step, &mut outcome.report),
            Err(err) => {
                let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
                outcome.report.step_error(&patch.display_path, step, message);
                outcome.failed_steps.push(step_index);
                failures.record(step);
            }
        }
    }
}

/// Scratch classes of rebuilt classes of the program's own metaclass, with their live classes:
/// registries the metaclass filled are pointed back at the live classes once per batch.
pub(super) type Scratches<'py> = Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>;

/// Runs a [`Deferred::Rebuild`] and reports it (and the statement steps it covers).
fn rebuild<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    job: Rebuild<'py>,
    outcome: &mut FileOutcome,
    init_changed: &mut HashSet<Vec<String>>,
    scratches: &mut Scratches<'py>,
) {
    let step = &patch.plan.steps[job.step];
    let path = step.path();
    let scratch = new_class(py, patch, &job, &mut outcome.report);
    let result = scratch.and_then(|new| {
        let rebuilt = transplant(py, &job.class, &new, &job.keep)?;
        if matches!(rebuilt, Rebuilt::InPlace { .. }) && has_own_metaclass(py, &job.class)? {
            scratches.push((new, job.class.clone().into_any()));
        }
        Ok(rebuilt)
    });
    match result {
        Ok(Rebuilt::InPlace { fields_changed, notes }) => {
            if fields_changed {
                init_changed.insert(path);
            }
            outcome.report.notes.extend(notes);
            record_done(patch, step, &mut outcome.report);
            for &c in &job.covered {
                record_done(patch, &patch.plan.steps[c], &mut outcome.report);
            }
        }
        Ok(Rebuilt::Incompatible { replacement, reason }) => {
            bind_recreated(py, patch, &job, &replacement, &reason, outcome)
        }
        Err(err) => {
            let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
            outcome.report.step_error(&patch.display_path, step, message);
            outcome.failed_steps.push(job.step);
            outcome.failed_steps.extend_from_slice(&job.covered);
        }
    }
}

/// The class the rebuild's statement defines, not bound in the program: the whole statement
/// run, or the class without decorators with only its generating decorators applied again.
fn new_class<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    job: &Rebuild<'py>,
    report: &mut Report,
) -> PyResult<Bound<'py, PyAny>> {
    let step = &patch.plan.steps[job.step];
    match &job.bare {
        None => scratch_definition(py, &job.code, &job.scope, step),
        Some(bare) => scratch_definition(py, bare, &job.scope, step).and_then(|undecorated| {
            let StepAction::RefreshClass { decorators, .. } = &step.action else { return Ok(undecorated) };
            redecorate(py, patch, &job.scope, undecorated, decorators, report)
        }),
    }
}

/// The live class cannot take the new definition: its name is bound to `replacement`, the class
/// re-created from the new source, and the report says what that leaves behind.
fn bind_recreated<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    job: &Rebuild<'py>,
    replacement: &Bound<'py, PyAny>,
    reason: &str,
    outcome: &mut FileOutcome,
) {
    let step = &patch.plan.steps[job.step];
    let qualified = format!("{}.{}", patch.name, step.dotted_name());
    let bound = job.scope.bind(step.target.label(), replacement);
    match bound {
        Ok(()) => {
            outcome.report.step_rude(
                &patch.display_path,
                step,
                format!(
                    "{qualified} not updated in place: {reason}; it was re-created from the new source \
                     (existing instances and references keep the old class)"
                ),
            );
            outcome.report.recreated.push(qualified);
        }
        Err(err) => {
            let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, &err));
            outcome.report.step_error(&patch.display_path, step, message);
            outcome.failed_steps.push(job.step);
        }
    }
}

/// Runs the class decorators of step `step` (outermost last) on the live class, as the class
/// statement ran them. A decorator that returns another object than the class (a wrapper)
/// gets the name bound to that object, reported as re-created.
fn reapply_decorators<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    step: usize,
    scope: &Scope<'py>,
    class: Bound<'py, PyType>,
    outcome: &mut FileOutcome,
) -> PyResult<()> {
    let planned = &patch.plan.steps[step];
    let StepAction::RefreshClass { decorators, .. } = &planned.action else { return Ok(()) };
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    let locals = PyDict::new(py);
    copy_visible(scope, &planned.visible, &locals)?;
    let builtins = crate::code::builtins(py)?;
    let mut result = class.clone().into_any();
    for expr in decorators.iter().rev() {
        let code =
            builtins.getattr(intern!(py, "compile"))?.call1((format!("(\n{expr}\n)"), &patch.filename, "eval"))?;
        let decorator = builtins.getattr(intern!(py, "eval"))?.call1((code, &globals, &locals))?;
        result = decorator.call1((result,))?;
    }
    if !result.is(&class) {
        scope.bind(planned.target.label(), &result)?;
        outcome.report.recreated.push(format!("{}.{}", patch.name, planned.dotted_name()));
    }
    Ok(())
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
    let builtins = crate::code::builtins(py)?;
    for expr in decorators.iter().rev() {
        let code = builtins.getattr(intern!(builtins.py(), "compile"))?.call1((
            format!("(\n{expr}\n)"),
            &patch.filename,
            "eval",
        ))?;
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
fn scratch_definition<'py>(
    py: Python<'py>,
    unit: &Bound<'py, PyAny>,
    scope: &Scope<'py>,
    step: &PatchStep,
) -> PyResult<Bound<'py, PyAny>> {
    RELOADING.fetch_add(1, Ordering::SeqCst);
    let _reset = ResetOnDrop(&RELOADING);
    fresh_function(py, unit, scope, step)
}

/// Runs the undecorated definition of `step` in a scratch namespace so its defaults and
/// annotations are evaluated where the real ones would be (the class names bound before it,
/// then the module), without binding anything.
pub(super) fn fresh_function<'py>(
    py: Python<'py>,
    bare: &Bound<'py, PyAny>,
    scope: &Scope<'py>,
    step: &PatchStep,
) -> PyResult<Bound<'py, PyAny>> {
    let name = step.target.label();
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    let ns = PyDict::new(py);
    match &scope.class {
        None => exec(py, bare, &globals, &ns)?,
        Some(class) => {
            let body = find_class_body(bare, &scope.path)?;
            copy_visible(scope, &step.visible, &ns)?;
            exec(py, &body, &globals, &ns)?;
            if let Some(cell) = ns.get_item("__classcell__")? {
                cell.setattr("cell_contents", class)?;
            }
        }
    }
    ns.get_item(scope.key(name).as_ref())?
        .ok_or_else(|| pyo3::exceptions::PyNameError::new_err(format!("{name} was not defined by its own source")))
}

/// The live values of the class names `visible` (bound before the item in the class body)
/// copied into `ns`: the item is evaluated seeing only those, then the module's globals, as the
/// class body evaluated it (a later class attribute can shadow a module name it reads).
fn copy_visible<'py>(scope: &Scope<'py>, visible: &[String], ns: &Bound<'py, PyDict>) -> PyResult<()> {
    // A body with annotations sets up `__annotations__` before its first statement (3.9-3.13):
    // an annotated statement adds to the class's dict.
    let annotations = ["__annotations__".to_string()];
    for name in visible.iter().chain(&annotations) {
        if let Some(value) = namespace_get(scope, name)? {
            ns.set_item(scope.key(name).as_ref(), value)?;
        }
    }
    // A generic class (`class Box[T]`, 3.12+): its body saw its type parameters; the unit's
    // `class Box:` header has none, so the live ones are given by name.
    if let Some(class) = &scope.class {
        if let Ok(params) = class.getattr(intern!(class.py(), "__type_params__")) {
            for param in params.try_iter()? {
                let param = param?;
                ns.set_item(param.getattr(intern!(param.py(), "__name__"))?, param)?;
            }
        }
    }
    Ok(())
}

/// Runs compiled module-level code in the scope: the module namespace, or a namespace of the
/// class names the item sees (`visible`) whose new or changed entries are then set on the live
/// class.
fn run_in_scope<'py>(
    py: Python<'py>,
    unit: &Bound<'py, PyAny>,
    scope: &Scope<'py>,
    visible: &[String],
) -> PyResult<()> {
    let globals = scope.module.getattr(intern!(scope.module.py(), "__dict__"))?;
    RELOADING.fetch_add(1, Ordering::SeqCst);
    let _reset = ResetOnDrop(&RELOADING);
    let Some(class) = &scope.class else {
        return exec(py, unit, &globals, &globals);
    };
    let body = find_class_body(unit, &scope.path)?;
    let ns = PyDict::new(py);
    copy_visible(scope, visible, &ns)?;
    // What the statement left as it was given (a type parameter, say) is not set on the class.
    let given = ns.copy()?;
    let before = class.getattr(intern!(class.py(), "__dict__"))?.call_method0("copy")?.cast_into::<PyDict>()?;
    exec(py, &body, &globals, &ns)?;
    if let Some(cell) = ns.get_item("__classcell__")? {
        cell.setattr("cell_contents", class)?;
    }
    for (key, value) in ns.iter() {
        let key_str: String = key.extract()?;
        if CLASS_BODY_KEYS.contains(&key_str.as_str()) {
            continue;
        }
        let same = |dict: &Bound<'py, PyDict>| dict.get_item(&key).map(|old| old.is_some_and(|old| old.is(&value)));
        let unchanged = same(&before)? || same(&given)?;
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
        if key_str == "__eq__" && !ns.contains("__hash__")? && !before.contains("__hash__")? {
            class.setattr("__hash__", py.None())?;
        }
        if value.get_type().hasattr("__set_name__")? {
            value.call_method1("__set_name__", (class, key_str.as_str()))?;
        }
    }
    Ok(())
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
        && value.getattr(intern!(value.py(), "__code__")).is_ok_and(|code| {
            code.getattr(intern!(code.py(), "co_freevars")).is_ok_and(|f| f.len().is_ok_and(|n| n == 0))
        })
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
        scope.bind(&name, &old)?;
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
            annotationlib
                .getattr(intern!(annotationlib.py(), "call_annotate_function"))?
                .call1((annotate, forward_ref))?
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

/// An added definition whose function was deleted by a recent save: the old function object
/// takes the new code and is bound again, so references held since then run it.
fn restore_deleted(scope: &Scope<'_>, step: &PatchStep) -> PyResult<()> {
    let (Target::Def { name }, None) = (&step.target, step.lines.old) else { return Ok(()) };
    let Some(new) = namespace_get(scope, name)? else { return Ok(()) };
    let Some(old) = deleted::restore(&new, name)? else { return Ok(()) };
    scope.bind(name, old)
}

/// For an added `def` that adopts or keeps the name's binding: what the name is bound to now.
fn adoptable<'py>(scope: &Scope<'py>, step: &PatchStep) -> Option<Bound<'py, PyAny>> {
    let (Target::Def { name }, StepAction::Execute { binding: Binding::Adopt | Binding::Keep, .. }) =
        (&step.target, &step.action)
    else {
        return None;
    };
    namespace_get(scope, name).ok().flatten()
}

/// Once the added `def` ran: an adopted function (one a removed statement bound) takes the new
/// code; a kept one (the definition after an `@overload` stub) is simply bound again. Either
/// way references held to it (`from m import f`, callbacks) run what a fresh start runs.
fn adopt_previous(scope: &Scope<'_>, step: &PatchStep, previous: Option<Bound<'_, PyAny>>) -> PyResult<()> {
    let (Some(previous), Target::Def { name }) = (previous, &step.target) else { return Ok(()) };
    let Some(new) = namespace_get(scope, name)? else { return Ok(()) };
    let kept = match &step.action {
        StepAction::Execute { binding: Binding::Keep, .. } => previous,
        _ => match deleted::adopt(&previous, &new, name)? {
            Some(kept) => kept,
            None => return Ok(()),
        },
    };
    scope.bind(name, kept)
}

fn delete_names(scope: &Scope<'_>, names: &[String]) -> PyResult<()> {
    for name in names {
        let Some(value) = namespace_get(scope, name)? else { continue };
        deleted::remember(&value, name);
        // `__eq__` removed: the `__hash__ = None` class creation added for it goes too.
        if let (Some(class), "__eq__") = (&scope.class, name.as_str()) {
            if namespace_get(scope, "__hash__")?.is_some_and(|h| h.is_none()) {
                class.delattr("__hash__")?;
            }
        }
        match &scope.class {
            Some(class) => class.delattr(scope.key(name).as_ref())?,
            None => scope.module.delattr(name.as_str())?,
        }
    }
    Ok(())
}
