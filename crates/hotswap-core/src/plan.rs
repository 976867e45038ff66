//! Planner: classified changes → the ordered steps that bring a live module to the new source.
//!
//! A step names its target by scope (enclosing class names) and name, and carries a *compile
//! unit*: the new text of just that definition or statement, placed at its real line numbers and
//! wrapped in `class X:` headers for its enclosing classes. Compiling the unit therefore gives
//! the same code object the whole file would (real filename, lines, name mangling, the
//! `__class__` cell for zero-argument `super()`), while only the changed text is compiled.

use std::collections::HashSet;

use crate::diff::{Change, ChangeKind, DefChange};
use crate::imports::ImportedNames;
use crate::names::mangle;
use crate::tree::{column_after, DefKind, Definition, DefinitionTree, Item, Statement, StatementKind};

mod dependents;
mod depends;
mod step;

use dependents::{rerun_dependents, rerun_dependents_of};
pub use depends::Failures;
pub use step::{Binding, Lines, PatchPlan, PatchStep, Reason, StepAction, Target};

/// Builds the plan for `changes` (from [`crate::diff::diff_trees`]`(old, new)`).
/// `new_source` is the text `new` was parsed from.
/// `old_imported` are the names the running version imports at module level (its tree's
/// `imported`).
pub fn plan_patch(
    new_source: &str,
    new: &DefinitionTree,
    old_imported: &[String],
    changes: &[Change<'_>],
) -> PatchPlan {
    let mut steps = Vec::with_capacity(changes.len());
    // Class scopes whose body changed (statements, or methods added), and the changed
    // statements themselves (by offset).
    let mut body_changed: HashSet<Vec<&str>> = HashSet::new();
    let mut changed_statements: HashSet<usize> = HashSet::new();
    for change in changes {
        let item = change.new.or(change.old);
        // A method added to a class counts as a body change: a class of the program's own
        // metaclass is rebuilt on a scratch class so the metaclass makes the method as a
        // fresh start does (pygments' `LexerMeta` wraps an added `analyse_text`).
        let added_def = change.kind == ChangeKind::Added && item.is_some_and(|i| i.as_def().is_some());
        if !change.scope.is_empty() && (item.is_some_and(|i| i.as_stmt().is_some()) || added_def) {
            body_changed.insert(change.scope.clone());
        }
        if let Some(item @ Item::Stmt(_)) = change.new {
            changed_statements.insert(item.byte_range().start);
        }
    }
    for change in changes {
        let scope: Vec<String> = change.scope.iter().map(|s| s.to_string()).collect();
        let enclosing = enclosing_classes(new, &change.scope, change.new.map(|item| item.byte_range().start));
        let step = match (change.kind, change.old, change.new) {
            (ChangeKind::Modified(flags), Some(Item::Def(old)), Some(Item::Def(def))) => {
                let mut path = change.scope.clone();
                path.push(def.name.as_str());
                let body_changed_here = body_changed.contains(&path);
                let refresh = def.kind.is_class() && (flags.header || flags.decorators || body_changed_here);
                if refresh {
                    steps.push(refresh_class(new_source, &enclosing, old, def, flags, &changed_statements));
                    steps.last_mut().expect("just pushed").scope = scope.clone();
                    if flags.header || flags.decorators {
                        continue; // the rebuild sets the docstring and first line too
                    }
                }
                for step in modified_def(new_source, &enclosing, old, def, flags) {
                    steps.push(PatchStep { scope: scope.clone(), ..step });
                }
                continue;
            }
            (ChangeKind::Added, old, Some(item)) | (ChangeKind::StatementChanged, old, Some(item)) => {
                added_or_changed(new_source, &enclosing, old, item)
            }
            (ChangeKind::Deleted, Some(item), _) => deleted(new, &change.scope, item),
            _ => continue,
        };
        steps.push(PatchStep { scope, ..step });
    }
    mark_adoptions(changes, &mut steps);
    mark_stubs(new, changes, &mut steps);
    rerun_dependents(new_source, new, changes, &mut steps);
    let future_changed = changes.iter().any(|c| {
        c.scope.is_empty()
            && c.new.or(c.old).and_then(Item::as_stmt).is_some_and(|s| s.kind == StatementKind::FutureImport)
    });
    if future_changed {
        recompile_functions(new_source, &[], &new.items, &mut steps, Reason::FutureImport, &|_| true);
    }
    // CPython 3.11+ compiles `os.getcwd()` differently when `os` is a name the module imports:
    // functions using a name whose import status changed are compiled again, as a restart would.
    let import_changed: Vec<&str> = symmetric_difference(old_imported, &new.imported);
    if !import_changed.is_empty() && !future_changed {
        let uses = |def: &Definition| uses_attribute_of(&new_source[def.byte_range.clone()], &import_changed);
        let reason = Reason::ImportsChanged { names: import_changed.iter().map(|n| n.to_string()).collect() };
        recompile_functions(new_source, &[], &new.items, &mut steps, reason, &uses);
    }
    finish_steps(new, &mut steps);
    PatchPlan { steps, future: future_features(new) }
}

/// The plan for a module whose text did not change but whose names `rebound` another module's
/// batch re-bound (`from m import VERSION` after `VERSION` changed in `m`): its statements and
/// definition headers that read them run again, as a fresh start computes them from the new
/// values (`USER_AGENT = f"x/{VERSION}"`).
pub fn plan_dependents(source: &str, tree: &DefinitionTree, rebound: &[String]) -> PatchPlan {
    let mut steps = Vec::new();
    rerun_dependents_of(source, tree, &[], rebound, &mut steps);
    finish_steps(tree, &mut steps);
    PatchPlan { steps, future: future_features(tree) }
}

/// What every step needs once the plan is complete: its context, the module's import
/// declarations, and signatures that wait for the statements they read.
fn finish_steps(new: &DefinitionTree, steps: &mut [PatchStep]) {
    let imports = import_declarations(&new.imported);
    for step in steps.iter_mut() {
        attach_context(new, step);
        if let Some(line) = &imports {
            declare_imports(&mut step.action, line);
        }
    }
    defer_signatures(steps);
}

/// Added `@overload` stubs in front of a definition that stays (not added itself) keep the name
/// bound to it: the applier binds the name again once a stub ran.
fn mark_stubs(new: &DefinitionTree, changes: &[Change<'_>], steps: &mut [PatchStep]) {
    let stubs: HashSet<(&[&str], &str, u32)> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .filter_map(|c| Some((c.scope.as_slice(), c.new?.as_def()?)))
        .filter(|(_, d)| d.overload)
        .map(|(scope, d)| (scope, d.name.as_str(), d.span.start))
        .collect();
    if stubs.is_empty() {
        return;
    }
    let added: HashSet<usize> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .filter_map(|c| c.new)
        .map(|i| i.byte_range().start)
        .collect();
    for step in steps.iter_mut() {
        let (Target::Def { name }, Some(line)) = (&step.target, step.lines.new) else { continue };
        let scope: Vec<&str> = step.scope.iter().map(String::as_str).collect();
        if !stubs.contains(&(scope.as_slice(), name.as_str(), line)) {
            continue;
        }
        let items = scope_items(new, &step.scope, line).unwrap_or_default();
        let kept = items
            .iter()
            .filter_map(Item::as_def)
            .any(|d| d.name == *name && !d.overload && d.span.start > line && !added.contains(&d.byte_range.start));
        if let (true, StepAction::Execute { binding, .. }) = (kept, &mut step.action) {
            *binding = Binding::Keep;
        }
    }
}

/// Added `def`s whose name a statement removed by this edit bound in the same scope (a function
/// moved out of `try:`/`if` compatibility code) adopt the live function that statement made.
fn mark_adoptions(changes: &[Change<'_>], steps: &mut [PatchStep]) {
    let removed: HashSet<(&[&str], &str)> = changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Deleted)
        .filter_map(|c| Some((c.scope.as_slice(), c.old?.as_stmt()?)))
        .flat_map(|(scope, stmt)| stmt.binds.iter().map(move |b| (scope, b.as_str())))
        .collect();
    if removed.is_empty() {
        return;
    }
    for step in steps.iter_mut() {
        let Target::Def { name } = &step.target else { continue };
        let scope: Vec<&str> = step.scope.iter().map(String::as_str).collect();
        if let (StepAction::Execute { binding, .. }, None) = (&mut step.action, step.lines.old) {
            if removed.contains(&(scope.as_slice(), name.as_str())) {
                *binding = Binding::Adopt;
            }
        }
    }
}

/// The step that sets a module's new docstring (`__doc__`), when it changed. `old_hash` is the
/// docstring hash of the running version.
pub fn module_docstring_step(new_source: &str, new: &DefinitionTree, old_hash: Option<u64>) -> Option<PatchStep> {
    if new.docstring_hash == old_hash {
        return None;
    }
    let (unit, line) = match &new.docstring {
        Some((range, line)) => {
            let blank = "\n".repeat(line.saturating_sub(1) as usize);
            (format!("{blank}__doc__ = {}\n", &new_source[range.clone()]), *line)
        }
        None => ("__doc__ = None\n".to_string(), 1),
    };
    Some(PatchStep {
        scope: Vec::new(),
        target: Target::Stmt { binds: vec!["__doc__".into()], label: "__doc__".into() },
        lines: Lines::both(line, line),
        column: 1,
        action: StepAction::Execute { unit, block: false, binding: Binding::New },
        reason: Reason::ModuleDocstring,
        reads: Vec::new(),
        visible: Vec::new(),
    })
}

/// A changed function whose defaults, annotations or decorators read a module-level name that
/// an earlier step of this edit binds (`LIMIT = 5` and `def f(x=LIMIT + 1)` in one save) is
/// evaluated once that step ran, as a fresh start would, not with the running value.
fn defer_signatures(steps: &mut [PatchStep]) {
    let mut bound: HashSet<String> = HashSet::new();
    for step in steps.iter_mut() {
        match &mut step.action {
            StepAction::Execute { .. } if step.scope.is_empty() => {
                bound.extend(step.target.binds().into_iter().map(str::to_string));
            }
            StepAction::UpdateFunction { after_statements, .. }
                if step.reads.iter().any(|name| bound.contains(name)) =>
            {
                *after_statements = true;
            }
            _ => {}
        }
    }
}

/// The `from __future__` features `tree`'s module imports.
fn future_features(tree: &DefinitionTree) -> Vec<String> {
    let future = tree.imports.iter().filter(|i| i.level == 0 && i.module == "__future__");
    let mut features: Vec<String> = future
        .flat_map(|i| match &i.names {
            ImportedNames::Names(pairs) => pairs.iter().map(|(name, _)| name.clone()).collect(),
            _ => Vec::new(),
        })
        .collect();
    features.sort();
    features.dedup();
    features
}

/// A changed `from __future__` import changes how every function compiles (`annotations`
/// makes annotations strings): every function and method of `items` without a step of its own
/// gets one that compiles it again, as a restart would.
fn recompile_functions(
    source: &str,
    enclosing: &[&Definition],
    items: &[Item],
    steps: &mut Vec<PatchStep>,
    reason: Reason,
    wanted: &dyn Fn(&Definition) -> bool,
) {
    let scope: Vec<String> = enclosing.iter().map(|d| d.name.clone()).collect();
    for def in items.iter().filter_map(Item::as_def) {
        if def.kind.is_class() {
            let mut inner = enclosing.to_vec();
            inner.push(def);
            recompile_functions(source, &inner, &def.children, steps, reason.clone(), wanted);
            continue;
        }
        if !wanted(def) {
            continue;
        }
        let own = steps
            .iter()
            .position(|s| s.scope == scope && s.lines.new == Some(def.span.start) && s.target.label() == def.name);
        // A function that only moved is compiled again too, from its old line.
        let old_line = match own.map(|at| (at, &steps[at])) {
            Some((at, step)) if step.action == StepAction::ShiftLines => steps.remove(at).lines.old,
            Some(_) => continue,
            None => Some(def.span.start),
        };
        let flags = DefChange { body: true, header: true, ..DefChange::default() };
        for step in modified_def(source, enclosing, def, def, flags) {
            let lines = Lines { old: old_line, ..step.lines };
            steps.push(PatchStep { scope: scope.clone(), reason: reason.clone(), lines, ..step });
        }
    }
}

/// Names in exactly one of `a` and `b`.
fn symmetric_difference<'a>(a: &'a [String], b: &'a [String]) -> Vec<&'a str> {
    let mut out: Vec<&str> = a.iter().filter(|n| !b.contains(n)).map(String::as_str).collect();
    out.extend(b.iter().filter(|n| !a.contains(n)).map(String::as_str));
    out
}

/// Whether `text` (a definition's source) has `name.` for one of `names`, `name` a whole
/// identifier. A mention in a comment or string makes a needless recompile, never a wrong one.
fn uses_attribute_of(text: &str, names: &[&str]) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    names.iter().any(|name| {
        text.match_indices(name).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + name.len()..].chars().find(|c| !c.is_whitespace());
            !before.is_some_and(|c| is_ident(c) || c == '.') && after == Some('.')
        })
    })
}

/// A dead line binding `names` by import (`if False: import os, np`): CPython's compiler
/// compiles `os.getcwd()` as a plain attribute load when `os` is a name the module imports
/// (3.11+), and a method load otherwise. Appended after a unit's item (no line moves), it makes
/// the unit compile exactly as the whole file does. `None` when the module imports nothing.
fn import_declarations(names: &[String]) -> Option<String> {
    (!names.is_empty()).then(|| format!("if False: import {}\n", names.join(", ")))
}

/// Appends the import declarations to every unit the action compiles.
fn declare_imports(action: &mut StepAction, line: &str) {
    let (unit, bare) = match action {
        StepAction::UpdateFunction { unit, bare_unit, .. } | StepAction::RefreshClass { unit, bare_unit, .. } => {
            (unit, bare_unit.as_mut())
        }
        StepAction::Execute { unit, .. } | StepAction::SetClassDoc { unit } | StepAction::ExecuteIfStale { unit } => {
            (unit, None)
        }
        _ => return,
    };
    unit.push_str(line);
    if let Some(bare) = bare {
        bare.push_str(line);
    }
}

/// Fills in what the step's item reads and, inside a class, the class names bound before it
/// (see [`PatchStep::reads`] and [`PatchStep::visible`]), from the new tree.
fn attach_context(new: &DefinitionTree, step: &mut PatchStep) {
    // A definition that only moved runs nothing (often thousands of steps below an inserted
    // line): it needs no context, and looking it up for each would cost time per step.
    if step.action.is_move() {
        return;
    }
    let Some(line) = step.lines.new else { return };
    let Some(items) = scope_items(new, &step.scope, line) else { return };
    let Some(position) = items.iter().position(|item| item.span().start == line) else { return };
    let mut reads = item_reads(&items[position]);
    reads.sort();
    reads.dedup();
    step.reads = reads;
    if !step.scope.is_empty() {
        step.visible = items[..position].iter().flat_map(item_binds).collect();
    }
}

/// The items of the scope `scope` whose classes contain `line` (a scope can define a class
/// name twice), or `None` when there is no such chain of classes.
fn scope_items<'t>(new: &'t DefinitionTree, scope: &[String], line: u32) -> Option<&'t [Item]> {
    let mut items: &[Item] = &new.items;
    for name in scope {
        let class = items
            .iter()
            .filter_map(Item::as_def)
            .find(|d| d.kind.is_class() && d.name == *name && d.span.start <= line && line <= d.span.end)?;
        items = &class.children;
    }
    Some(items)
}

/// The names an item binds in its scope.
fn item_binds(item: &Item) -> Vec<String> {
    match item {
        Item::Def(d) => vec![d.name.clone()],
        Item::Stmt(s) => s.binds.clone(),
    }
}

/// What evaluating an item reads: a statement's reads; a definition's decorator and signature
/// reads, and for a class those of its body's statements and definitions too.
fn item_reads(item: &Item) -> Vec<String> {
    match item {
        Item::Stmt(s) => s.reads.clone(),
        Item::Def(d) => {
            let mut reads: Vec<String> = d.decorator_reads.iter().chain(&d.signature_reads).cloned().collect();
            if d.kind.is_class() {
                reads.extend(d.children.iter().flat_map(item_reads));
            }
            reads
        }
    }
}

fn modified_def(
    source: &str,
    enclosing: &[&Definition],
    old: &Definition,
    def: &Definition,
    flags: DefChange,
) -> Vec<PatchStep> {
    let step = |action: StepAction, reason: DefChange| PatchStep {
        scope: Vec::new(),
        target: Target::Def { name: def.name.clone() },
        lines: Lines::both(old.span.start, def.span.start),
        column: column_after(&def.indent),
        action,
        reason: Reason::Changed(reason),
        reads: Vec::new(),
        visible: Vec::new(),
    };
    if def.kind.is_class() {
        // A body change alone needs no step of its own: the class's items carry the changes.
        let mut steps = Vec::new();
        if flags.docstring {
            // The class header and its docstring; the docstring is the body's first statement.
            // Without a docstring (it was removed) the whole class gives `__doc__ = None`.
            let end = def.docstring.as_ref().map_or(def.byte_range.end, |d| d.end);
            let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.start..end, def.span.start);
            steps.push(step(StepAction::SetClassDoc { unit }, DefChange { docstring: true, ..DefChange::default() }));
        }
        if flags.moved {
            steps.push(step(StepAction::MoveClass, DefChange { moved: true, ..DefChange::default() }));
        }
        return steps;
    }
    if !(flags.body || flags.header || flags.decorators || flags.docstring) {
        return vec![step(StepAction::ShiftLines, flags)]; // only moved
    }
    let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.clone(), def.span.start);
    let bare_unit = (def.def_line > def.span.start).then(|| blank_lines(&unit, def.span.start, def.def_line));
    let action = StepAction::UpdateFunction { unit, bare_unit, rebind: flags.decorators, after_statements: false };
    vec![step(action, flags)]
}

fn added_or_changed(source: &str, enclosing: &[&Definition], old: Option<&Item>, item: &Item) -> PatchStep {
    let unit = |indent: &str| compile_unit(source, enclosing, indent, item.byte_range(), item.span().start);
    let mut reason = if old.is_none() { Reason::Added } else { Reason::StatementChanged };
    let (target, action) = match item {
        Item::Def(d) => (
            Target::Def { name: d.name.clone() },
            StepAction::Execute { unit: unit(&d.indent), block: false, binding: Binding::New },
        ),
        Item::Stmt(s) => {
            let action = match s.kind {
                StatementKind::Plain
                | StatementKind::Block
                | StatementKind::Delete
                | StatementKind::LambdaAssignment => StepAction::Execute {
                    unit: unit(&s.indent),
                    block: s.kind == StatementKind::Block,
                    binding: Binding::New,
                },
                StatementKind::MainGuard => {
                    reason = Reason::MainGuard;
                    StepAction::Skip
                }
                // Binds the feature in the module, as the import does; every function is
                // compiled again under it (`recompile_functions`).
                StatementKind::FutureImport => {
                    reason = Reason::FutureImport;
                    StepAction::Execute { unit: unit(&s.indent), block: false, binding: Binding::New }
                }
            };
            (Target::Stmt { binds: s.binds.clone(), label: statement_label(s) }, action)
        }
    };
    PatchStep {
        scope: Vec::new(),
        target,
        lines: Lines { old: old.map(|o| o.span().start), new: Some(item.span().start) },
        column: item.column(),
        action,
        reason,
        reads: Vec::new(),
        visible: Vec::new(),
    }
}

fn deleted(new: &DefinitionTree, scope: &[&str], item: &Item) -> PatchStep {
    let still_bound = bound_names(new, scope);
    let (target, candidates) = match item {
        Item::Def(d) => (Target::Def { name: d.name.clone() }, vec![d.name.clone()]),
        Item::Stmt(s) => {
            let label = if s.binds.is_empty() {
                format!("statement at line {}", item.span().start)
            } else {
                statement_label(s)
            };
            (Target::Stmt { binds: s.binds.clone(), label }, s.binds.clone())
        }
    };
    let names: Vec<String> = candidates.into_iter().filter(|n| !still_bound.contains(n.as_str())).collect();
    let (action, reason) = if names.is_empty() {
        (StepAction::Skip, Reason::NothingToUndo)
    } else {
        (StepAction::Delete { names }, Reason::Deleted)
    };
    let lines = Lines { old: Some(item.span().start), new: None };
    PatchStep {
        scope: Vec::new(),
        target,
        lines,
        column: item.column(),
        action,
        reason,
        reads: Vec::new(),
        visible: Vec::new(),
    }
}

/// The [`StepAction::RefreshClass`] step of a class whose header, decorators or statements
/// changed. `changed` holds the byte offsets (new source) of changed or added statements.
fn refresh_class(
    source: &str,
    enclosing: &[&Definition],
    old: &Definition,
    def: &Definition,
    flags: DefChange,
    changed: &HashSet<usize>,
) -> PatchStep {
    let mut keep = Vec::new();
    for child in &def.children {
        match child {
            Item::Def(d) => keep.push(mangle(&def.name, &d.name).into_owned()),
            Item::Stmt(s) if !changed.contains(&child.byte_range().start) => {
                keep.extend(s.binds.iter().map(|name| mangle(&def.name, name).into_owned()))
            }
            Item::Stmt(_) => {}
        }
    }
    keep.sort();
    keep.dedup();
    let header = flags.header || flags.decorators;
    let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.clone(), def.span.start);
    let reason = if header { Reason::Changed(flags) } else { Reason::ClassBodyStatements };
    let decorators = def.decorators.iter().map(|range| source[range.clone()].to_string()).collect();
    let bare_unit = (def.def_line > def.span.start).then(|| blank_lines(&unit, def.span.start, def.def_line));
    PatchStep {
        scope: Vec::new(),
        target: Target::Def { name: def.name.clone() },
        lines: Lines::both(old.span.start, def.span.start),
        column: column_after(&def.indent),
        action: StepAction::RefreshClass { unit, bare_unit, header, keep, decorators },
        reason,
        reads: Vec::new(),
        visible: Vec::new(),
    }
}

/// How reports name a statement: the names it binds, or its first line when it binds none.
fn statement_label(stmt: &Statement) -> String {
    if stmt.binds.is_empty() {
        stmt.label.clone()
    } else {
        stmt.binds.join(", ")
    }
}

/// Names bound at `scope` in the new tree (definitions and statements).
fn bound_names<'t>(new: &'t DefinitionTree, scope: &[&str]) -> HashSet<&'t str> {
    let items: &[Item] = match enclosing_classes(new, scope, None).last() {
        Some(class) => &class.children,
        None if scope.is_empty() => &new.items,
        None => return HashSet::new(),
    };
    let mut names = HashSet::new();
    for item in items {
        match item {
            Item::Def(d) => {
                names.insert(d.name.as_str());
            }
            Item::Stmt(s) => names.extend(s.binds.iter().map(String::as_str)),
        }
    }
    names
}

/// The chain of class definitions named by `scope` in `tree`. A scope can define a class name
/// twice, so at each level this is the class containing byte offset `at` (the item a change is
/// about) when given, else the last class of that name (the one the running module binds).
fn enclosing_classes<'t>(tree: &'t DefinitionTree, scope: &[&str], at: Option<usize>) -> Vec<&'t Definition> {
    let mut chain = Vec::with_capacity(scope.len());
    let mut items = &tree.items;
    for name in scope {
        let mut classes = items.iter().filter_map(Item::as_def).filter(|d| d.kind == DefKind::Class && d.name == *name);
        let found = match at {
            Some(at) => classes.find(|d| d.byte_range.contains(&at)),
            None => classes.next_back(),
        };
        match found {
            Some(class) => {
                chain.push(class);
                items = &class.children;
            }
            None => break,
        }
    }
    chain
}

/// The text at `range`, placed at line `first_line` with `indent`, inside `class` headers for
/// `enclosing` on the lines just above it, blank lines before that.
fn compile_unit(
    source: &str,
    enclosing: &[&Definition],
    indent: &str,
    range: std::ops::Range<usize>,
    first_line: u32,
) -> String {
    let text = &source[range];
    let headers = enclosing.len() as u32;
    let blank = first_line.saturating_sub(1).saturating_sub(headers);
    let mut unit = String::with_capacity(blank as usize + text.len() + 32 * enclosing.len() + 2);
    unit.extend(std::iter::repeat_n('\n', blank as usize));
    for class in enclosing {
        unit.push_str(&class.indent);
        unit.push_str("class ");
        unit.push_str(&class.name);
        unit.push_str(":\n");
    }
    unit.push_str(indent);
    unit.push_str(text);
    unit.push('\n');
    unit
}

/// `unit` with lines `from..to` (1-based, `to` excluded) emptied, every other line in place.
fn blank_lines(unit: &str, from: u32, to: u32) -> String {
    let mut out = String::with_capacity(unit.len());
    for (i, line) in unit.split_inclusive('\n').enumerate() {
        let number = i as u32 + 1;
        if number >= from && number < to {
            out.push('\n');
        } else {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests;
