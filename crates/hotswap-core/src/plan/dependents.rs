//! Unchanged code that a fresh start would evaluate differently because of this edit: statements
//! and definition headers that read a changed value, and statements built by a changed function.

use std::collections::HashSet;

use super::{added_or_changed, compile_unit, item_binds, item_reads, modified_def, refresh_class, statement_label};
use super::{Binding, Lines, PatchStep, Reason, StepAction, Target};
use crate::diff::{Change, ChangeKind, DefChange};
use crate::tree::{column_after, Definition, DefinitionTree, Item, Statement, StatementKind};

/// Unchanged module-level statements that use what this edit changed: a statement reading a
/// changed value (`DOUBLE = LIMIT * 2` after `LIMIT` changed) is run again, in source order and
/// transitively, so the module holds what a fresh import would; one calling a changed function
/// gets an [`StepAction::ExecuteIfStale`] step.
pub(super) fn rerun_dependents(source: &str, new: &DefinitionTree, changes: &[Change<'_>], steps: &mut Vec<PatchStep>) {
    rerun_dependents_of(source, new, changes, &[], steps);
}

/// [`rerun_dependents`], with `imported`: names another module's batch re-bound in this one
/// (`from m import CONST` after `CONST` changed in `m`), or `m.CONST` for a module this one
/// imports whole, changed values like the edit's own.
pub(super) fn rerun_dependents_of(
    source: &str,
    new: &DefinitionTree,
    changes: &[Change<'_>],
    imported: &[String],
    steps: &mut Vec<PatchStep>,
) {
    let mut outside: Vec<String> = imported.to_vec();
    outside.extend(class_attribute_values(changes));
    let Seeds { mut values, functions, mut changed_items } = seeds(changes, &outside);
    restore_deleted_names(source, new, &mut changed_items, &mut values, steps);
    if values.is_empty() && functions.is_empty() {
        return;
    }
    let modified = modified_items(changes);
    for item in &new.items {
        if changed_items.contains(&item.byte_range().start) {
            // A changed class's unchanged body statements can read changed values too
            // (docutils' `Figure`: `run` changed, `option_spec = Image.option_spec.copy()` not).
            if let Some(def) = item.as_def().filter(|d| d.kind.is_class() && modified.contains(&d.byte_range.start)) {
                let edited = edited_members(changes, &def.name);
                dependent_definition(source, def, &values, &changed_items, &edited, steps);
            }
            continue;
        }
        if let Item::Def(def) = item {
            dependent_definition(source, def, &values, &changed_items, &HashSet::new(), steps);
            continue;
        }
        let Item::Stmt(stmt) = item else { continue };
        let Some(step) = dependent_statement(source, new, stmt, &values, &functions) else { continue };
        if matches!(step.action, StepAction::Execute { .. }) {
            values.extend(stmt.binds.iter().map(String::as_str));
        }
        insert_in_order(steps, step);
    }
}

/// Where the module-level items present in both versions and modified start (new source): a
/// set, since every moved item is a change too (a line inserted at the top of a 50,000-line
/// file moves thousands).
fn modified_items(changes: &[Change<'_>]) -> HashSet<usize> {
    changes
        .iter()
        .filter(|c| c.scope.is_empty() && matches!(c.kind, ChangeKind::Modified(_)))
        .filter_map(|c| c.new.map(|n| n.byte_range().start))
        .collect()
}

/// The step that runs an unchanged module-level statement again, if what it uses changed.
fn dependent_statement(
    source: &str,
    new: &DefinitionTree,
    stmt: &Statement,
    values: &HashSet<&str>,
    functions: &HashSet<&str>,
) -> Option<PatchStep> {
    if !stmt.kind.runs_again() {
        return None;
    }
    // `del _tmp` after a re-run `_tmp = ...` must run again too, or the name stays.
    let binds = !stmt.binds.is_empty() || stmt.kind == StatementKind::Delete;
    // A statement binding nothing runs again when it changes a re-built value in place
    // (`TABLE["b"] = 2`, `TABLE.update(...)`: the new `TABLE` lacks what it added), not
    // when it only reads one (`log.append(DOUBLE)` would register twice).
    let mut used = stmt.reads.iter().chain(&stmt.deletes).chain(&stmt.attribute_reads);
    let reads_value = used
        .find(|n| values.contains(n.as_str()) && !stmt.binds.contains(n))
        .filter(|_| binds || stmt.mutates.as_deref().is_some_and(|m| values.contains(m)));
    let calls_function = stmt.reads.iter().find(|n| binds && functions.contains(n.as_str()));
    let calls_reader = stmt.reads.iter().find_map(|n| function_reading(new, n, values).map(|v| (n, v)));
    let unit = compile_unit(source, &[], &stmt.indent, stmt.byte_range.clone(), stmt.span.start);
    let block = stmt.kind == StatementKind::Block;
    let (action, reason) = match (reads_value, calls_reader, calls_function) {
        (Some(name), _, _) => (
            StepAction::Execute { unit, block, binding: Binding::New },
            Reason::ReadsChangedValue { name: name.clone() },
        ),
        (None, Some((function, name)), _) => (
            StepAction::Execute { unit, block, binding: Binding::New },
            Reason::CallsFunctionReading { function: function.clone(), name },
        ),
        (None, None, Some(name)) => {
            (StepAction::ExecuteIfStale { unit }, Reason::BuiltByChangedFunction { name: name.clone() })
        }
        (None, None, None) => return None,
    };
    Some(PatchStep {
        scope: Vec::new(),
        target: Target::Stmt { binds: stmt.binds.clone(), label: statement_label(stmt) },
        lines: Lines::both(stmt.span.start, stmt.span.start),
        column: column_after(&stmt.indent),
        action,
        reason,
        reads: Vec::new(),
        visible: Vec::new(),
    })
}

/// Class attributes a class-body statement of the edit bound, as `Class.name`: a statement of
/// another class body copying one (`option_spec = Image.option_spec.copy()`) reads a changed
/// value.
fn class_attribute_values(changes: &[Change<'_>]) -> Vec<String> {
    let mut names = Vec::new();
    for change in changes.iter().filter(|c| c.scope.len() == 1) {
        if let Some(Item::Stmt(stmt)) = change.new.or(change.old) {
            names.extend(stmt.binds.iter().map(|name| format!("{}.{name}", change.scope[0])));
        }
    }
    names
}

/// If `name` is a module-level function whose body reads one of `values`, directly or through
/// other module-level functions it reads: that value (a statement calling it at import, such
/// as `_init()` filling a table from `_codes`, computed its result from the old one).
fn function_reading(tree: &DefinitionTree, name: &str, values: &HashSet<&str>) -> Option<String> {
    let function = |name: &str| {
        tree.items.iter().filter_map(Item::as_def).filter(|d| !d.kind.is_class()).rfind(|d| d.name == name)
    };
    let mut seen: HashSet<&str> = HashSet::new();
    let mut pending = vec![function(name)?];
    while let Some(def) = pending.pop() {
        if !seen.insert(def.name.as_str()) {
            continue;
        }
        if let Some(value) = def.global_reads.iter().find(|n| values.contains(n.as_str())) {
            return Some(value.clone());
        }
        pending.extend(def.global_reads.iter().filter_map(|n| function(n)));
    }
    None
}

/// What the edit changed at module level: values (re-bound names), functions updated in place,
/// and the changed items (by offset), which are not run again as dependents.
struct Seeds<'t> {
    values: HashSet<&'t str>,
    functions: HashSet<&'t str>,
    changed_items: HashSet<usize>,
}

fn seeds<'t>(changes: &[Change<'t>], imported: &'t [String]) -> Seeds<'t> {
    let mut values: HashSet<&str> = imported.iter().map(String::as_str).collect();
    let mut functions: HashSet<&str> = HashSet::new();
    let mut changed_items: HashSet<usize> = HashSet::new();
    for change in changes.iter().filter(|c| c.scope.is_empty()) {
        if let Some(item) = change.new {
            changed_items.insert(item.byte_range().start);
        }
        match (change.kind, change.new.or(change.old)) {
            // `f = lambda ...` keeps its identity when re-run (the applier swaps its code): a
            // function, not a new value.
            (_, Some(Item::Stmt(s))) if change.new.is_some() && s.kind == StatementKind::LambdaAssignment => {
                functions.extend(s.binds.iter().map(String::as_str));
            }
            (_, Some(Item::Stmt(s))) => values.extend(s.binds.iter().map(String::as_str)),
            // Functions and classes are updated in place (same identity): statements using
            // them are only re-run to rebuild closures that could not take the new code.
            (ChangeKind::Modified(_), Some(Item::Def(d))) => {
                functions.insert(d.name.as_str());
            }
            (_, Some(Item::Def(d))) => {
                values.insert(d.name.as_str());
            }
            _ => {}
        }
    }
    Seeds { values, functions, changed_items }
}

/// Names the module binds, uses and then deletes (`x = 30`, a loop using `x`, `del x`): the live
/// module no longer has them, while a fresh start has them for the statements in between. A
/// changed statement reading one gets the statement that bound it run again first (and, as its
/// names are then changed values, the `del` runs again after it), transitively.
fn restore_deleted_names<'t>(
    source: &str,
    new: &'t DefinitionTree,
    changed_items: &mut HashSet<usize>,
    values: &mut HashSet<&'t str>,
    steps: &mut Vec<PatchStep>,
) {
    let deleted: HashSet<&str> = new
        .items
        .iter()
        .filter_map(Item::as_stmt)
        .filter(|s| s.kind == StatementKind::Delete)
        .flat_map(|s| s.deletes.iter().map(String::as_str))
        .collect();
    if deleted.is_empty() {
        return;
    }
    let mut work: Vec<usize> =
        (0..new.items.len()).filter(|&i| changed_items.contains(&new.items[i].byte_range().start)).collect();
    while let Some(i) = work.pop() {
        // A name the item binds itself may be read first (`x += 1`): its binder is looked for too.
        for name in item_reads(&new.items[i]) {
            if !deleted.contains(name.as_str()) {
                continue;
            }
            let Some(j) = binder_before(new, i, &name) else { continue };
            let binder = &new.items[j];
            if !changed_items.insert(binder.byte_range().start) {
                continue; // changed, or already run again
            }
            let mut step = added_or_changed(source, &[], Some(binder), binder);
            step.lines = Lines::both(binder.span().start, binder.span().start);
            step.reason = Reason::RestoresDeletedName { name: name.clone() };
            values.extend(binder_names(binder));
            insert_in_order(steps, step);
            work.push(j);
        }
    }
}

/// The last module-level item before `items[at]` that binds `name`; none when a `del` of it
/// comes after that binding (a fresh start has no such name there either).
fn binder_before(new: &DefinitionTree, at: usize, name: &str) -> Option<usize> {
    for j in (0..at).rev() {
        let item = &new.items[j];
        if item.as_stmt().is_some_and(|s| s.deletes.iter().any(|d| d == name)) {
            return None;
        }
        if item_binds(item).iter().any(|b| b == name) {
            return Some(j);
        }
    }
    None
}

fn binder_names(item: &Item) -> Vec<&str> {
    match item {
        Item::Def(d) => vec![d.name.as_str()],
        Item::Stmt(s) => s.binds.iter().map(String::as_str).collect(),
    }
}

/// Inserts a module-level step before the first later module-level step (and a class step
/// before the first later step), so steps stay in source order.
fn insert_in_order(steps: &mut Vec<PatchStep>, step: PatchStep) {
    let at = steps.iter().position(|s| s.scope.is_empty() && s.lines.new > step.lines.new).unwrap_or(steps.len());
    steps.insert(at, step);
}

/// An unchanged module-level definition that reads a changed value where it is evaluated at
/// definition time: a function's defaults, annotations or decorators (`def f(x=LIMIT)`) get an
/// `UpdateFunction` (re-decorating when a decorator reads it); a class's body statements
/// (`SIZE = LIMIT`) are run again in the class, with a `RefreshClass` for generated classes.
/// The offsets (new source) of the members of class `name` that the edit itself changed.
fn edited_members(changes: &[Change<'_>], name: &str) -> HashSet<usize> {
    changes
        .iter()
        .filter(|c| c.scope.len() == 1 && c.scope[0] == name)
        .filter_map(|c| c.new.map(|item| item.byte_range().start))
        .collect()
}

/// `edited`: members of a changed class that the edit changed itself (their own steps apply
/// them); empty for an unchanged definition.
fn dependent_definition<'s>(
    source: &str,
    def: &'s Definition,
    values: &HashSet<&str>,
    changed: &HashSet<usize>,
    edited: &HashSet<usize>,
    steps: &mut Vec<PatchStep>,
) {
    // The first changed value among `names`.
    let read = |names: &'s [String]| names.iter().find(|n| values.contains(n.as_str()));
    if !def.kind.is_class() {
        if let Some(name) = read(&def.decorator_reads).or_else(|| read(&def.signature_reads)) {
            let flags =
                DefChange { header: true, decorators: read(&def.decorator_reads).is_some(), ..DefChange::default() };
            for step in modified_def(source, &[], def, def, flags) {
                insert_in_order(steps, reads_changed_value(step, name));
            }
        }
        return;
    }
    for child in &def.children {
        let Item::Def(method) = child else { continue };
        if method.kind.is_class() || edited.contains(&child.byte_range().start) {
            continue;
        }
        if let Some(name) = read(&method.signature_reads).or_else(|| read(&method.decorator_reads)) {
            let decorators = read(&method.decorator_reads).is_some();
            let flags = DefChange { header: true, decorators, ..DefChange::default() };
            for step in modified_def(source, &[def], method, method, flags) {
                let step = reads_changed_value(step, name);
                steps.push(PatchStep { scope: vec![def.name.clone()], ..step });
            }
        }
    }
    let statements = class_statements_reading(def, values, edited);
    if statements.is_empty() {
        return;
    }
    let mut rerun: HashSet<usize> = changed.clone();
    rerun.extend(statements.iter().map(|(child, _, _)| child.byte_range().start));
    let mut new_steps = Vec::new();
    let own_refresh = steps.iter_mut().find(|s| {
        s.scope.is_empty()
            && matches!(&s.target, Target::Def { name } if *name == def.name)
            && matches!(s.action, StepAction::RefreshClass { .. })
    });
    if let Some(StepAction::RefreshClass { keep, .. }) = own_refresh.map(|s| &mut s.action) {
        // The class is refreshed by the edit already: these statements' values come from it.
        let rebuilt: HashSet<String> = statements.iter().flat_map(|(_, s, _)| s.binds.iter().cloned()).collect();
        keep.retain(|name| !rebuilt.contains(name));
    } else {
        let flags = DefChange { body: true, ..DefChange::default() };
        new_steps.push(refresh_class(source, &[], def, def, flags, &rerun));
    }
    for (child, stmt, name) in statements {
        let unit = compile_unit(source, &[def], &stmt.indent, child.byte_range(), stmt.span.start);
        new_steps.push(PatchStep {
            scope: vec![def.name.clone()],
            target: Target::Stmt { binds: stmt.binds.clone(), label: statement_label(stmt) },
            lines: Lines::both(stmt.span.start, stmt.span.start),
            column: column_after(&stmt.indent),
            action: StepAction::Execute { unit, block: stmt.kind == StatementKind::Block, binding: Binding::New },
            reason: Reason::ReadsChangedValue { name },
            reads: Vec::new(),
            visible: Vec::new(),
        });
    }
    let at = steps.iter().position(|s| s.scope.is_empty() && s.lines.new > Some(def.span.start)).unwrap_or(steps.len());
    steps.splice(at..at, new_steps);
}

/// The class-body statements of `def` (not `edited`) that read a changed value, with that
/// value: in source order and transitively (`option_spec = Image.option_spec.copy()` re-built,
/// the statements after it that fill `option_spec` run again too).
fn class_statements_reading<'s>(
    def: &'s Definition,
    values: &HashSet<&str>,
    edited: &HashSet<usize>,
) -> Vec<(&'s Item, &'s Statement, String)> {
    let mut statements = Vec::new();
    let mut rebuilt: HashSet<&str> = HashSet::new();
    for child in &def.children {
        let Item::Stmt(stmt) = child else { continue };
        if edited.contains(&child.byte_range().start) || !stmt.kind.runs_again() {
            continue;
        }
        let changed = |n: &str| values.contains(n) || rebuilt.contains(n);
        let mut used = stmt.reads.iter().chain(&stmt.attribute_reads);
        let hit = used
            .find(|n| changed(n) && !stmt.binds.contains(n))
            .filter(|_| !stmt.binds.is_empty() || stmt.mutates.as_deref().is_some_and(changed));
        if let Some(name) = hit {
            let name = name.clone();
            rebuilt.extend(stmt.binds.iter().map(String::as_str));
            statements.push((child, stmt, name));
        }
    }
    statements
}

/// The `UpdateFunction` step of an unchanged definition whose signature or decorators read
/// `name`, a changed value: evaluated once the statements before it ran.
fn reads_changed_value(mut step: PatchStep, name: &str) -> PatchStep {
    if let StepAction::UpdateFunction { after_statements, .. } = &mut step.action {
        *after_statements = true;
    }
    step.reason = Reason::SignatureReadsChangedValue { name: name.to_string() };
    step
}
