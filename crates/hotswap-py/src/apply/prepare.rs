//! Phase 1, prepare: compile and resolve everything for one module, change nothing. A
//! [`Preparer`] walks the plan's steps, one method per kind of step, then works out which live
//! functions (and closures made inside them) take each new code object.

use std::collections::{HashMap, HashSet};

use hotswap_core::plan::{Binding, PatchStep, Reason, StepAction, Target};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::execute::fresh_function;
use super::{Deferred, FilePatch, Prepared, Rebuild, Swap};
use crate::classes::{generated_kind, has_own_metaclass};
use crate::code::{
    compile, exec, find_class_body, find_code, future_flags, is_transient, nested_code_pairs, same_freevars,
    shift_lines,
};
use crate::inventory::{functions_running, Lookup};
use crate::live::{
    caches_in_front, conformers, contains, live_function, module_code_running, named_class, namespace_get,
    resolve_scope, suspended_frames, Scope,
};
use crate::pyerr::describe_exception;
use crate::pyerr::syntax_error_position;
use crate::report::Report;

/// Why a module cannot be prepared: the line to report, and the error.
pub(super) type PrepareError = (u32, PyErr);

/// Class path → the statement steps of its body that its rebuild applies.
type Rebuilds = HashMap<Vec<String>, Vec<usize>>;

/// Old code → new code for one definition: the new code, the freshly evaluated function whose
/// defaults, annotations and docstring go along (none for a pure line shift), and the live
/// function found from the definition's binding.
struct CodeSwap<'py> {
    old: Bound<'py, PyAny>,
    new: Bound<'py, PyAny>,
    fresh: Option<Bound<'py, PyAny>>,
    live: Bound<'py, PyAny>,
    /// Whether the old code may hold nested code objects (closures made from them need the
    /// matching new ones); false for a shifted function known to hold none.
    nested: bool,
}

/// A changed function's unit compiled: the unit, the function's new code inside it, and the
/// unit that evaluates its defaults and annotations (without decorators, when it has some).
struct CompiledFunction<'py> {
    unit: Bound<'py, PyAny>,
    code: Bound<'py, PyAny>,
    bare: Bound<'py, PyAny>,
}

/// The prepare phase of one module: what the steps worked out so far.
struct Preparer<'a, 'py> {
    py: Python<'py>,
    patch: &'a FilePatch<'py>,
    report: &'a mut Report,
    /// The new source's `from __future__` flags, so units compile as the file does.
    flags: i64,
    prepared: Prepared<'py>,
    /// Old code objects whose live functions (and nested closures) get new code.
    code_pairs: Vec<CodeSwap<'py>>,
    rebuilds: Rebuilds,
    /// `ExecuteIfStale` steps, decided once the closures that cannot take new code are known.
    stale_candidates: Vec<(usize, Bound<'py, PyAny>, Scope<'py>)>,
    /// Thousands of steps share a few scopes (a line shift moves every function below it).
    scopes: HashMap<Vec<String>, Scope<'py>>,
}

/// Phase 1 for one module: compile and resolve everything, change nothing.
pub(super) fn prepare_module<'py>(
    py: Python<'py>,
    patch: &FilePatch<'py>,
    report: &mut Report,
) -> Result<Prepared<'py>, PrepareError> {
    let flags = future_flags(py, &patch.plan.future).map_err(|e| (0, e))?;
    let (rebuilds, mut unresolved) = plan_rebuilds(py, patch);
    let mut preparer = Preparer {
        py,
        patch,
        report,
        flags,
        prepared: Prepared::default(),
        code_pairs: Vec::new(),
        rebuilds,
        stale_candidates: Vec::new(),
        scopes: HashMap::new(),
    };
    for (index, step) in patch.plan.steps.iter().enumerate() {
        if let Some(cause) = preparer.prepared.failures.blocked_by(step) {
            let cause = cause.to_string();
            hold_back(patch, index, &cause, &mut preparer.prepared, preparer.report);
            continue;
        }
        let checkpoint = preparer.checkpoint();
        let result = match unresolved.remove(&index) {
            Some(err) => Err(at(step)(err)),
            None => preparer.step(index, step),
        };
        if let Err((line, err)) = result {
            preparer.rollback(checkpoint);
            fail(py, patch, index, line, &err, &mut preparer.prepared, preparer.report);
        }
    }
    let stale = preparer.swap_running_functions()?;
    preparer.rerun_closure_factories(stale)?;
    preparer.prepared.deferred.sort_by_key(Deferred::order);
    Ok(preparer.prepared)
}

/// Step `index` failed to prepare: reported at its line (a compile error at its own), nothing of
/// it is applied, and the steps that depend on it are held back.
fn fail(
    py: Python<'_>,
    patch: &FilePatch<'_>,
    index: usize,
    line: u32,
    err: &PyErr,
    prepared: &mut Prepared<'_>,
    report: &mut Report,
) {
    let step = &patch.plan.steps[index];
    let (line, column) = syntax_error_position(py, err).unwrap_or((line, step.column));
    let message = format!("{} failed: {}", step.dotted_name(), describe_exception(py, err));
    report.error_at(&patch.display_path, line, column, message);
    prepared.failures.record(step);
    prepared.failed.push(index);
}

/// Step `index` uses what the failed step `cause` binds: it waits for a save that fixes it.
fn hold_back(patch: &FilePatch<'_>, index: usize, cause: &str, prepared: &mut Prepared<'_>, report: &mut Report) {
    let step = &patch.plan.steps[index];
    let message = format!("{} held back: it depends on {cause}, which was not applied", step.dotted_name());
    report.step_error(&patch.display_path, step, message);
    prepared.failures.record(step);
    prepared.failed.push(index);
}

/// How much of [`Prepared`] (and the preparer's own lists) existed before a step, so a step
/// that fails half-way leaves nothing behind.
struct Checkpoint {
    swaps: usize,
    class_attrs: usize,
    deferred: usize,
    done: usize,
    caches: usize,
    conforms: usize,
    code_pairs: usize,
    stale: usize,
}

/// The error of `step`, at the line it reports.
fn at(step: &PatchStep) -> impl Fn(PyErr) -> PrepareError {
    let line = step.lines.shown();
    move |e| (line, e)
}

impl<'py> Preparer<'_, 'py> {
    fn checkpoint(&self) -> Checkpoint {
        let p = &self.prepared;
        Checkpoint {
            swaps: p.swaps.len(),
            class_attrs: p.class_attrs.len(),
            deferred: p.deferred.len(),
            done: p.done.len(),
            caches: p.caches.len(),
            conforms: p.conforms.len(),
            code_pairs: self.code_pairs.len(),
            stale: self.stale_candidates.len(),
        }
    }

    /// Drops what a failed step prepared.
    fn rollback(&mut self, at: Checkpoint) {
        let p = &mut self.prepared;
        p.swaps.truncate(at.swaps);
        p.class_attrs.truncate(at.class_attrs);
        p.deferred.truncate(at.deferred);
        p.done.truncate(at.done);
        p.caches.truncate(at.caches);
        p.conforms.truncate(at.conforms);
        self.code_pairs.truncate(at.code_pairs);
        self.stale_candidates.truncate(at.stale);
    }

    /// Works out step `index` of the plan; an error fails that step (and what depends on it).
    fn step(&mut self, index: usize, step: &PatchStep) -> Result<(), PrepareError> {
        let at = at(step);
        if self.rebuilds.get(&step.scope).is_some_and(|covered| covered.contains(&index)) {
            return Ok(()); // applied by the rebuild of its class
        }
        let scope = self.scope(&step.scope).map_err(&at)?;
        let changes_members = !(step.action.is_move() || matches!(step.action, StepAction::Skip));
        if !step.scope.is_empty() && changes_members {
            self.prepared.touched.push(step.scope.clone());
            if step.target.label() == "__init__" {
                self.prepared.init_changed.insert(step.scope.clone());
            }
        }
        match &step.action {
            StepAction::RefreshClass { .. } => self.refresh_class(index, step, scope),
            StepAction::UpdateFunction { .. } => self.update_function(index, step, scope),
            StepAction::ShiftLines => self.move_function(index, step, &scope),
            StepAction::Execute { block: true, .. }
                if step.target.is_statement()
                    && step.scope.is_empty()
                    && module_code_running(self.py, &self.patch.filename).map_err(&at)? =>
            {
                self.leave_running_block(step);
                Ok(())
            }
            StepAction::Execute { .. } if self.caller_still_running(step).map_err(&at)? => {
                self.leave_running_call(step);
                Ok(())
            }
            StepAction::Execute { unit, .. } => {
                let unit = self.compile(unit).map_err(&at)?;
                self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
                Ok(())
            }
            StepAction::SetClassDoc { unit } => self.set_class_doc(index, step, unit, &scope),
            StepAction::MoveClass => self.move_class(index, step, &scope),
            StepAction::Delete { names } => {
                self.prepared.deferred.push(Deferred::Delete { step: index, scope, names: names.clone() });
                Ok(())
            }
            StepAction::ExecuteIfStale { unit } => {
                let unit = self.compile(unit).map_err(&at)?;
                self.stale_candidates.push((index, unit, scope));
                Ok(())
            }
            StepAction::Skip => {
                self.prepared.done.push(index);
                Ok(())
            }
            StepAction::NotInPlace => {
                let message = format!("{}: {}", step.dotted_name(), step.reason);
                self.report.step_rude(&self.patch.display_path, step, message);
                Ok(())
            }
        }
    }

    /// The scope at `path`, resolved once per module.
    fn scope(&mut self, path: &[String]) -> PyResult<Scope<'py>> {
        if let Some(scope) = self.scopes.get(path) {
            return Ok(scope.clone());
        }
        let scope = resolve_scope(&self.patch.module, path)?;
        self.scopes.insert(path.to_vec(), scope.clone());
        Ok(scope)
    }

    /// Compiles a unit as its file was compiled (same filename and `__future__` flags).
    fn compile(&self, source: &str) -> PyResult<Bound<'py, PyAny>> {
        compile(self.py, source, &self.patch.filename, self.flags)
    }

    /// A class statement whose header or generated members changed: rebuilt after the commit.
    fn refresh_class(&mut self, index: usize, step: &PatchStep, scope: Scope<'py>) -> Result<(), PrepareError> {
        let StepAction::RefreshClass { unit, bare_unit, header, keep, .. } = &step.action else { return Ok(()) };
        let at = at(step);
        let path = step.path();
        self.prepared.touched.push(path.clone());
        let unit = self.compile(unit).map_err(&at)?;
        // Decorators unchanged: only those that generate members run again.
        let bare = match (bare_unit, header) {
            (Some(bare), false) => Some(self.compile(bare).map_err(&at)?),
            _ => None,
        };
        match (self.rebuilds.get(&path), named_class(&scope, step.target.label())) {
            (Some(covered), Ok(class)) => self.prepared.deferred.push(Deferred::Rebuild(Rebuild {
                step: index,
                code: unit,
                bare,
                scope,
                class,
                keep: keep.to_vec(),
                covered: covered.clone(),
            })),
            // No live class of that name any more: define it anew.
            (_, Err(_)) => self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope }),
            // A plain class: its members' own steps are the update, then its decorators run again.
            (None, Ok(class)) => {
                let StepAction::RefreshClass { decorators, .. } = &step.action else { return Ok(()) };
                if !decorators.is_empty() {
                    let steps = &self.patch.plan.steps;
                    let after = (index..steps.len()).filter(|&i| steps[i].scope.starts_with(&path)).max();
                    let after = after.unwrap_or(index);
                    self.prepared.deferred.push(Deferred::Redecorate { step: index, after, scope, class });
                }
            }
        }
        Ok(())
    }

    /// A changed function: its live function takes the new code in the commit, unless its free
    /// variables changed (then it is defined anew) or a wrapper takes the code itself.
    fn update_function(&mut self, index: usize, step: &PatchStep, scope: Scope<'py>) -> Result<(), PrepareError> {
        let StepAction::UpdateFunction { rebind, after_statements, .. } = step.action else { return Ok(()) };
        let at = at(step);
        let compiled = self.compile_function(step).map_err(&at)?;
        let old_line = step.lines.old.unwrap_or(0);
        let live = live_function(&scope, step.target.label(), old_line, &self.patch.filename).map_err(&at)?;
        let conforming = conformers(&scope, step.target.label()).map_err(&at)?;
        if live.is_none() && !conforming.is_empty() && !rebind {
            // An object that transforms code takes the new code itself (`__conform__`).
            self.prepared.conforms.extend(conforming.into_iter().map(|c| (c, compiled.code.clone())));
            self.prepared.done.push(index);
            return Ok(());
        }
        let swappable = match &live {
            Some(live) => {
                self.prepared.caches.extend(caches_in_front(&scope, step.target.label()).map_err(&at)?);
                self.prepared.conforms.extend(conforming.into_iter().map(|c| (c, compiled.code.clone())));
                let old_code = live.getattr(intern!(live.py(), "__code__")).map_err(&at)?;
                let qualified = format!("{}.{}", self.patch.name, step.dotted_name());
                if let Some(message) = suspended_frames(self.py, &old_code, &qualified).map_err(&at)? {
                    self.report.step_rude(&self.patch.display_path, step, message);
                }
                same_freevars(&old_code, &compiled.code)
            }
            None => false,
        };
        let had_live = live.is_some();
        let Some(live) = live.filter(|_| swappable) else {
            return self.define_anew(index, step, scope, compiled.unit, had_live);
        };
        // Its signature reads values the statements before it set: evaluated after they ran.
        let fresh = if after_statements {
            None
        } else {
            match fresh_function(self.py, &compiled.bare, &scope, step) {
                Ok(fresh) => Some(fresh),
                // A default may need a name this same edit binds earlier in the file.
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyNameError>(self.py) => None,
                Err(e) => return Err(at(e)),
            }
        };
        let CompiledFunction { unit, code, bare } = compiled;
        let Some(fresh) = fresh else {
            self.prepared.deferred.push(Deferred::LateUpdate {
                step: index,
                function: live,
                code,
                bare,
                scope: scope.clone(),
            });
            if rebind {
                // Then the decorators run again on it, in source order, and the name is bound
                // to what they return.
                self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
            }
            return Ok(());
        };
        let old = live.getattr(intern!(live.py(), "__code__")).map_err(&at)?;
        self.code_pairs.push(CodeSwap { old, new: code, fresh: Some(fresh), live, nested: true });
        if rebind {
            self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
        } else {
            self.prepared.done.push(index);
        }
        Ok(())
    }

    /// A changed function with no live function that can take its new code: its definition runs
    /// again in source order (a new function object; `had_live`: references keep the old one).
    fn define_anew(
        &mut self,
        index: usize,
        step: &PatchStep,
        scope: Scope<'py>,
        unit: Bound<'py, PyAny>,
        had_live: bool,
    ) -> Result<(), PrepareError> {
        if had_live {
            self.report.notes.push(format!(
                "{}: its free variables changed, so it was defined anew; \
                 references to the old function keep the old code",
                step.dotted_name()
            ));
            self.report.recreated.push(format!("{}.{}", self.patch.name, step.dotted_name()));
        }
        self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
        Ok(())
    }

    /// Compiles a changed function's units and finds its new code in them.
    fn compile_function(&self, step: &PatchStep) -> PyResult<CompiledFunction<'py>> {
        let unit = self.compile(step.action.unit().unwrap_or_default())?;
        let code = find_code(&unit, &step.scope, step.target.label(), step.lines.new.unwrap_or(0))?;
        let bare = match step.action.bare_unit() {
            Some(bare) => self.compile(bare)?,
            None => unit.clone(),
        };
        Ok(CompiledFunction { unit, code, bare })
    }

    /// Only the function's line moved: its code is the old code at the new line.
    fn move_function(&mut self, index: usize, step: &PatchStep, scope: &Scope<'py>) -> Result<(), PrepareError> {
        let at = at(step);
        let delta = step.lines.delta();
        let old_line = step.lines.old.unwrap_or(0);
        if let Some(live) = live_function(scope, step.target.label(), old_line, &self.patch.filename).map_err(&at)? {
            let old_code = live.getattr(intern!(live.py(), "__code__")).map_err(&at)?;
            let (new_code, nested) = shift_lines(self.py, &old_code, delta).map_err(&at)?;
            self.code_pairs.push(CodeSwap { old: old_code, new: new_code, fresh: None, live, nested });
        }
        self.prepared.done.push(index);
        Ok(())
    }

    /// The module's top-level code is still running (a script's main loop): re-running a loop
    /// or block of it would start a second copy beside the one running.
    fn leave_running_block(&mut self, step: &PatchStep) {
        let note = format!(
            "{}:{}: not re-run: the module's top-level code is still running this block \
             (loops in functions, and `hotswap.live_loop`, take new bodies)",
            self.patch.display_path,
            step.lines.shown()
        );
        log::info!(target: "hotswap", "{note}");
        self.report.notes.push(note);
    }

    /// A statement run again because the function it calls reads a changed value (`_init()`),
    /// while that function, or the module's top-level code that called it (a script's
    /// unguarded `main()`), is still running: running it again would start it a second time.
    fn caller_still_running(&self, step: &PatchStep) -> PyResult<bool> {
        let Reason::CallsFunctionReading { function, .. } = &step.reason else { return Ok(false) };
        Ok(crate::live::module_code_running(self.py, &self.patch.filename)?
            || crate::live::function_running(self.py, &self.patch.module, function)?)
    }

    fn leave_running_call(&mut self, step: &PatchStep) {
        let Reason::CallsFunctionReading { function, name } = &step.reason else { return };
        let note = format!(
            "{}:{}: not re-run: {function}() is still running (a fresh start would call it with the new \
             {name})",
            self.patch.display_path,
            step.lines.shown()
        );
        log::info!(target: "hotswap", "{note}");
        self.report.notes.push(note);
    }

    /// A changed class docstring: evaluated from the class body now, set in the commit.
    fn set_class_doc(
        &mut self,
        index: usize,
        step: &PatchStep,
        unit: &str,
        scope: &Scope<'py>,
    ) -> Result<(), PrepareError> {
        let at = at(step);
        let py = self.py;
        let module = &self.patch.module;
        let unit = self.compile(unit).map_err(&at)?;
        let path = step.path();
        let body = find_class_body(&unit, &path).map_err(&at)?;
        let ns = PyDict::new(py);
        exec(py, &body, &module.getattr(intern!(module.py(), "__dict__")).map_err(&at)?, &ns).map_err(&at)?;
        let class = named_class(scope, step.target.label()).map_err(&at)?;
        let doc = ns.get_item("__doc__").map_err(&at)?.unwrap_or_else(|| py.None().into_bound(py));
        self.prepared.class_attrs.push((class, "__doc__", doc));
        self.prepared.done.push(index);
        Ok(())
    }

    /// Only the class's line moved: its `__firstlineno__` (3.13+) follows.
    fn move_class(&mut self, index: usize, step: &PatchStep, scope: &Scope<'py>) -> Result<(), PrepareError> {
        let at = at(step);
        let class = named_class(scope, step.target.label()).map_err(&at)?;
        if class.hasattr(intern!(class.py(), "__firstlineno__")).map_err(&at)? {
            let line = step.lines.shown().into_pyobject(self.py).map_err(|e| at(e.into()))?.into_any();
            self.prepared.class_attrs.push((class, "__firstlineno__", line));
        }
        self.prepared.done.push(index);
        Ok(())
    }

    /// Every function running an old code object, and every closure created from a nested code
    /// object inside it, gets the matching new code. Returns the closures that cannot take it
    /// (their free variables changed).
    fn swap_running_functions(&mut self) -> Result<Vec<Bound<'py, PyAny>>, PrepareError> {
        let mut lookups = Vec::new();
        let mut news = Vec::new();
        let mut fresh_for = Vec::new();
        // A pure line shift keeps every free variable; new code must be checked.
        let mut check_freevars = Vec::new();
        for swap in std::mem::take(&mut self.code_pairs) {
            let mut pairs = Vec::new();
            if swap.nested {
                nested_code_pairs(&swap.old, &swap.new, &mut pairs).map_err(|e| (0, e))?;
            }
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
        let running = functions_running(self.py, &lookups).map_err(|e| (0, e))?;
        let mut stale: Vec<Bound<'py, PyAny>> = Vec::new();
        for (i, functions) in running.into_iter().enumerate() {
            for function in functions {
                if check_freevars[i] {
                    let current = function.getattr(intern!(function.py(), "__code__")).map_err(|e| (0, e))?;
                    if !same_freevars(&current, &news[i]) {
                        stale.push(function);
                        continue;
                    }
                }
                self.prepared.swaps.push(Swap { function, code: news[i].clone(), attrs: fresh_for[i].clone() });
            }
        }
        Ok(stale)
    }

    /// Closures that cannot take the new code are rebuilt by re-running the module-level
    /// statement that made them from their factory, when there is one; the others are reported.
    fn rerun_closure_factories(&mut self, stale: Vec<Bound<'py, PyAny>>) -> Result<(), PrepareError> {
        let patch = self.patch;
        let mut rebuilt: HashSet<usize> = HashSet::new();
        for (index, unit, scope) in std::mem::take(&mut self.stale_candidates) {
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
                self.report.notes.push(format!(
                    "{}.{}: line {} ran again to rebuild closures whose free variables changed ({})",
                    patch.name,
                    step.target.label(),
                    step.lines.shown(),
                    step.reason
                ));
                self.prepared.deferred.push(Deferred::Execute { step: index, code: unit, scope });
            }
        }
        for closure in stale.iter().filter(|c| !rebuilt.contains(&(c.as_ptr() as usize))) {
            let name: String =
                closure.getattr(intern!(closure.py(), "__qualname__")).and_then(|n| n.extract()).unwrap_or_default();
            self.report.rude(
                &patch.display_path,
                0,
                format!("{name}: a closure created before the edit keeps its old code (its free variables changed)"),
            );
        }
        Ok(())
    }
}

/// An added definition bound anew (not adopting a live function): the rebuild of a class of
/// the program's own metaclass takes it from the scratch class, as the metaclass made it.
fn adds_definition(step: &PatchStep) -> bool {
    matches!(
        (&step.target, &step.action, step.lines.old),
        (Target::Def { .. }, StepAction::Execute { binding: Binding::New, .. }, None)
    )
}

/// Class path → the statement steps its rebuild covers, for every `RefreshClass` step whose live
/// class must be rebuilt: its header changed, or its members are generated from its body. Also
/// the `RefreshClass` steps whose live class could not be looked at, with the error.
fn plan_rebuilds(py: Python<'_>, patch: &FilePatch<'_>) -> (Rebuilds, HashMap<usize, PyErr>) {
    let steps = &patch.plan.steps;
    let mut rebuilds = HashMap::new();
    let mut errors = HashMap::new();
    for (index, step) in steps.iter().enumerate() {
        let StepAction::RefreshClass { header, .. } = &step.action else { continue };
        let scope = match resolve_scope(&patch.module, &step.scope) {
            Ok(scope) => scope,
            Err(err) => {
                errors.insert(index, err);
                continue;
            }
        };
        let Ok(class) = named_class(&scope, step.target.label()) else { continue };
        let path = step.path();
        let own_metaclass = has_own_metaclass(py, &class).unwrap_or(false);
        let covers = |s: &PatchStep| s.target.is_statement() || (own_metaclass && adds_definition(s));
        let covered: Vec<usize> = (0..steps.len()).filter(|&i| covers(&steps[i]) && steps[i].scope == path).collect();
        // A changed `__slots__` changes the instance layout: only a rebuild can tell if it fits.
        let slots = covered.iter().any(|&i| steps[i].target.binds().contains(&"__slots__"));
        match generated_kind(py, &class) {
            Ok(kind) if *header || slots || kind.is_some() || own_metaclass => {
                rebuilds.insert(path, covered);
            }
            Ok(_) => {}
            Err(err) => {
                errors.insert(index, err);
            }
        }
    }
    (rebuilds, errors)
}
