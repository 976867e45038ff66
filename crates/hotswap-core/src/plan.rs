//! Planner: classified changes → the ordered steps that bring a live module to the new source.
//!
//! A step names its target by scope (enclosing class names) and name, and carries a *compile
//! unit*: the new text of just that definition or statement, placed at its real line numbers and
//! wrapped in `class X:` headers for its enclosing classes. Compiling the unit therefore gives
//! the same code object the whole file would (real filename, lines, name mangling, the
//! `__class__` cell for zero-argument `super()`), while only the changed text is compiled.

use std::collections::HashSet;

use crate::diff::{Change, ChangeKind, DefChange};
use crate::tree::{DefKind, Definition, DefinitionTree, Item, StatementKind};

/// What the applier does for one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepAction {
    /// Compile the unit and put the new code into every live function running the old version
    /// (found by `old_line`), with new defaults, annotations and docstring. When `rebind` is set
    /// (the decorators changed) the decorated result is also re-bound to the name.
    UpdateFunction { rebind: bool },
    /// The definition only moved: shift the line numbers of its live code by `new_line - old_line`.
    ShiftLines,
    /// Run the unit in its scope (module namespace, or the class namespace copied into the class):
    /// added definitions, changed or added statements, classes whose header changed.
    Execute,
    /// Set the class docstring from the unit (a class header followed by the docstring).
    SetClassDoc,
    /// Record the class's new first line (`__firstlineno__`, read by `inspect` on 3.13+).
    MoveClass,
    /// The class's header or decorators changed, or statements in its body did. The unit is the
    /// whole class statement. The applier rebuilds the class from it in a scratch namespace
    /// when the live class needs that (header changed; dataclass, enum, `NamedTuple`: classes
    /// whose members are generated from the body) and carries the result into the live class,
    /// which keeps its identity; the statement steps of its body are then covered by the
    /// rebuild. `keep` are the names bound by its unchanged statements and by its definitions
    /// (updated in place by their own steps): their live values stay. `decorators` are the
    /// class's decorator expressions, outermost first; `bare_unit` is the unit without them, so
    /// a rebuild for changed body statements can re-apply only the decorators that generate
    /// members (`dataclass`, ...) and not re-run the others (registries) on a second class.
    RefreshClass { header: bool, keep: Vec<String>, decorators: Vec<String> },
    /// Remove these names from the scope.
    Delete { names: Vec<String> },
    /// Deliberately not applied; the reason is reported.
    Skip { reason: String },
    /// Cannot be applied to the running program at all (a rude edit): reported with the
    /// reason, and `--on-rude restart` restarts the program.
    NotInPlace { reason: String },
    /// An unchanged module-level statement that uses a changed function (a factory, as in
    /// `handler = make_handler(3)`): run again only if a name it binds holds a closure of that
    /// function which could not take the new code (its free variables changed).
    ExecuteIfStale,
}

/// One step of a [`PatchPlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchStep {
    pub action: StepAction,
    /// Enclosing class names, outermost first; empty at module level.
    pub scope: Vec<String>,
    /// The definition's name, or for a statement the names it binds (joined with ", "), or its
    /// first line when it binds nothing.
    pub name: String,
    /// `span.start` in the running version (0 if the item is new).
    pub old_line: u32,
    /// `span.start` in the new version (0 if the item was deleted).
    pub new_line: u32,
    /// Source to compile with the file's name; empty when the action needs none.
    pub unit: String,
    /// For `UpdateFunction` of a decorated function: the unit with the decorator lines blanked,
    /// so running it evaluates defaults and annotations without running the decorators.
    pub bare_unit: Option<String>,
    /// Why this step exists, for reports: "body", "signature, docstring", "added", ...
    pub detail: String,
    /// The item is a statement (not a `def` or `class`): a class rebuild covers it.
    pub statement: bool,
}

impl PatchStep {
    /// `Scope.name` as a user reads it.
    pub fn dotted_name(&self) -> String {
        let mut parts = self.scope.clone();
        parts.push(self.name.clone());
        parts.join(".")
    }
}

/// Everything needed to bring one file's live module from the old tree to the new one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatchPlan {
    pub steps: Vec<PatchStep>,
}

impl PatchPlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Builds the plan for `changes` (from [`crate::diff::diff_trees`]`(old, new)`).
/// `new_source` is the text `new` was parsed from.
pub fn plan_patch(new_source: &str, new: &DefinitionTree, changes: &[Change<'_>]) -> PatchPlan {
    let mut steps = Vec::with_capacity(changes.len());
    // Class scopes with changed statements, and the changed statements themselves (by offset).
    let mut statement_scopes: HashSet<Vec<&str>> = HashSet::new();
    let mut changed_statements: HashSet<usize> = HashSet::new();
    for change in changes {
        let item = change.new.or(change.old);
        if !change.scope.is_empty() && item.is_some_and(|i| i.as_stmt().is_some()) {
            statement_scopes.insert(change.scope.clone());
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
                let statements_changed = statement_scopes.contains(&path);
                let refresh = def.kind.is_class() && (flags.header || flags.decorators || statements_changed);
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
    rerun_dependents(new_source, new, changes, &mut steps);
    PatchPlan { steps }
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
        action: StepAction::Execute,
        scope: Vec::new(),
        name: "__doc__".into(),
        old_line: line,
        new_line: line,
        unit,
        bare_unit: None,
        detail: "module docstring".into(),
        statement: true,
    })
}

/// Unchanged module-level statements that use what this edit changed: a statement reading a
/// changed value (`DOUBLE = LIMIT * 2` after `LIMIT` changed) is run again, in source order and
/// transitively, so the module holds what a fresh import would; one calling a changed function
/// gets an [`StepAction::ExecuteIfStale`] step.
fn rerun_dependents(source: &str, new: &DefinitionTree, changes: &[Change<'_>], steps: &mut Vec<PatchStep>) {
    let mut values: HashSet<&str> = HashSet::new();
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
    if values.is_empty() && functions.is_empty() {
        return;
    }
    for item in &new.items {
        if changed_items.contains(&item.byte_range().start) {
            continue;
        }
        if let Item::Def(def) = item {
            dependent_definition(source, def, &values, &changed_items, steps);
            continue;
        }
        let Item::Stmt(stmt) = item else { continue };
        // `del _tmp` after a re-run `_tmp = ...` must run again too, or the name stays.
        let deletes = stmt.kind == StatementKind::Delete;
        if !stmt.kind.runs_again() || (stmt.binds.is_empty() && !deletes) {
            continue;
        }
        let mut used = stmt.reads.iter().chain(&stmt.deletes);
        let reads_value = used.find(|n| values.contains(n.as_str()) && !stmt.binds.contains(n));
        let calls_function = stmt.reads.iter().find(|n| functions.contains(n.as_str()));
        let (action, detail) = match (reads_value, calls_function) {
            (Some(name), _) => (StepAction::Execute, format!("uses {name}, which changed")),
            (None, Some(name)) => (StepAction::ExecuteIfStale, format!("built by {name}, which changed")),
            (None, None) => continue,
        };
        if action == StepAction::Execute {
            values.extend(stmt.binds.iter().map(String::as_str));
        }
        let name = if deletes && stmt.binds.is_empty() { stmt.label.clone() } else { stmt.binds.join(", ") };
        let step = PatchStep {
            action,
            scope: Vec::new(),
            name,
            old_line: stmt.span.start,
            new_line: stmt.span.start,
            unit: compile_unit(source, &[], &stmt.indent, item.byte_range(), stmt.span.start),
            bare_unit: None,
            detail,
            statement: true,
        };
        insert_in_order(steps, step);
    }
}

/// Inserts a module-level step before the first later module-level step (and a class step
/// before the first later step), so steps stay in source order.
fn insert_in_order(steps: &mut Vec<PatchStep>, step: PatchStep) {
    let at = steps
        .iter()
        .position(|s| s.scope.is_empty() && s.new_line > step.new_line)
        .unwrap_or(steps.len());
    steps.insert(at, step);
}

/// `detail` of the `UpdateFunction` step of an unchanged function whose signature or decorators
/// read a changed value: the applier evaluates it after the statements before it ran.
pub const SIGNATURE_READS_CHANGED_VALUE: &str = "a value its signature or decorators use changed";

/// An unchanged module-level definition that reads a changed value where it is evaluated at
/// definition time: a function's defaults, annotations or decorators (`def f(x=LIMIT)`) get an
/// `UpdateFunction` (re-decorating when a decorator reads it); a class's body statements
/// (`SIZE = LIMIT`) are run again in the class, with a `RefreshClass` for generated classes.
fn dependent_definition(
    source: &str,
    def: &Definition,
    values: &HashSet<&str>,
    changed: &HashSet<usize>,
    steps: &mut Vec<PatchStep>,
) {
    let reads = |names: &[String]| names.iter().any(|n| values.contains(n.as_str()));
    if !def.kind.is_class() {
        if reads(&def.decorator_reads) || reads(&def.signature_reads) {
            let flags = DefChange { header: true, decorators: reads(&def.decorator_reads), ..DefChange::default() };
            for mut step in modified_def(source, &[], def, def, flags) {
                step.detail = SIGNATURE_READS_CHANGED_VALUE.into();
                insert_in_order(steps, step);
            }
        }
        return;
    }
    for child in &def.children {
        let Item::Def(method) = child else { continue };
        if method.kind.is_class() {
            continue;
        }
        if reads(&method.signature_reads) || reads(&method.decorator_reads) {
            let decorators = reads(&method.decorator_reads);
            let flags = DefChange { header: true, decorators, ..DefChange::default() };
            for mut step in modified_def(source, &[def], method, method, flags) {
                step.detail = SIGNATURE_READS_CHANGED_VALUE.into();
                step.scope = vec![def.name.clone()];
                steps.push(step);
            }
        }
    }
    let mut statements = Vec::new();
    for child in &def.children {
        if let Item::Stmt(stmt) = child {
            let hit = stmt.reads.iter().find(|n| values.contains(n.as_str()) && !stmt.binds.contains(n));
            if let (Some(name), true, false) = (hit, stmt.kind.runs_again(), stmt.binds.is_empty()) {
                statements.push((child, stmt, name.clone()));
            }
        }
    }
    if statements.is_empty() {
        return;
    }
    let mut rerun: HashSet<usize> = changed.clone();
    rerun.extend(statements.iter().map(|(child, _, _)| child.byte_range().start));
    let flags = DefChange { body: true, ..DefChange::default() };
    let mut new_steps = vec![refresh_class(source, &[], def, def, flags, &rerun)];
    for (child, stmt, name) in statements {
        new_steps.push(PatchStep {
            action: StepAction::Execute,
            scope: vec![def.name.clone()],
            name: stmt.binds.join(", "),
            old_line: stmt.span.start,
            new_line: stmt.span.start,
            unit: compile_unit(source, &[def], &stmt.indent, child.byte_range(), stmt.span.start),
            bare_unit: None,
            detail: format!("uses {name}, which changed"),
            statement: true,
        });
    }
    let at = steps.iter().position(|s| s.scope.is_empty() && s.new_line > def.span.start).unwrap_or(steps.len());
    steps.splice(at..at, new_steps);
}

fn modified_def(
    source: &str,
    enclosing: &[&Definition],
    old: &Definition,
    def: &Definition,
    flags: DefChange,
) -> Vec<PatchStep> {
    let base = PatchStep {
        action: StepAction::ShiftLines,
        scope: Vec::new(),
        name: def.name.clone(),
        old_line: old.span.start,
        new_line: def.span.start,
        unit: String::new(),
        bare_unit: None,
        detail: describe(flags),
        statement: false,
    };
    if def.kind.is_class() {
        // A body change alone needs no step of its own: the class's items carry the changes.
        let mut steps = Vec::new();
        if flags.docstring {
            // The class header and its docstring; the docstring is the body's first statement.
            // Without a docstring (it was removed) the whole class gives `__doc__ = None`.
            let end = def.docstring.as_ref().map_or(def.byte_range.end, |d| d.end);
            let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.start..end, def.span.start);
            steps.push(PatchStep { action: StepAction::SetClassDoc, unit, detail: "docstring".into(), ..base.clone() });
        }
        if flags.moved {
            steps.push(PatchStep { action: StepAction::MoveClass, detail: "moved".into(), ..base });
        }
        return steps;
    }
    if !(flags.body || flags.header || flags.decorators || flags.docstring) {
        return vec![base]; // only moved
    }
    let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.clone(), def.span.start);
    let bare_unit = (def.def_line > def.span.start).then(|| blank_lines(&unit, def.span.start, def.def_line));
    vec![PatchStep { action: StepAction::UpdateFunction { rebind: flags.decorators }, unit, bare_unit, ..base }]
}

fn added_or_changed(
    source: &str,
    enclosing: &[&Definition],
    old: Option<&Item>,
    item: &Item,
) -> PatchStep {
    let detail = if old.is_none() { "added" } else { "changed" };
    let statement = item.as_stmt().is_some();
    let (name, indent, action) = match item {
        Item::Def(d) => (d.name.clone(), d.indent.as_str(), StepAction::Execute),
        Item::Stmt(s) => {
            let action = match s.kind {
                StatementKind::Plain
                | StatementKind::Block
                | StatementKind::Delete
                | StatementKind::LambdaAssignment => StepAction::Execute,
                StatementKind::MainGuard => StepAction::Skip {
                    reason: "the `if __name__ == \"__main__\"` block runs the program; it is not re-run".into(),
                },
                StatementKind::FutureImport => StepAction::NotInPlace {
                    reason: "a changed `from __future__` import changes how the whole module compiles; \
                             it takes effect after a restart"
                        .into(),
                },
            };
            let name = if s.binds.is_empty() { s.label.clone() } else { s.binds.join(", ") };
            (name, s.indent.as_str(), action)
        }
    };
    let unit = match action {
        StepAction::Execute => compile_unit(source, enclosing, indent, item.byte_range(), item.span().start),
        _ => String::new(),
    };
    PatchStep {
        action,
        scope: Vec::new(),
        name,
        old_line: old.map_or(0, |o| o.span().start),
        new_line: item.span().start,
        unit,
        bare_unit: None,
        detail: detail.into(),
        statement,
    }
}

fn deleted(new: &DefinitionTree, scope: &[&str], item: &Item) -> PatchStep {
    let still_bound = bound_names(new, scope);
    let (name, candidates): (String, Vec<String>) = match item {
        Item::Def(d) => (d.name.clone(), vec![d.name.clone()]),
        Item::Stmt(s) => (s.binds.join(", "), s.binds.clone()),
    };
    let names: Vec<String> = candidates.into_iter().filter(|n| !still_bound.contains(n.as_str())).collect();
    let action = if names.is_empty() {
        StepAction::Skip { reason: "removed statement bound no name that is gone now; nothing to undo".into() }
    } else {
        StepAction::Delete { names }
    };
    PatchStep {
        action,
        scope: Vec::new(),
        name: if name.is_empty() { format!("statement at line {}", item.span().start) } else { name },
        old_line: item.span().start,
        new_line: 0,
        unit: String::new(),
        bare_unit: None,
        detail: "deleted".into(),
        statement: item.as_stmt().is_some(),
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
            Item::Def(d) => keep.push(d.name.clone()),
            Item::Stmt(s) if !changed.contains(&child.byte_range().start) => keep.extend(s.binds.iter().cloned()),
            Item::Stmt(_) => {}
        }
    }
    keep.sort();
    keep.dedup();
    let header = flags.header || flags.decorators;
    let unit = compile_unit(source, enclosing, &def.indent, def.byte_range.clone(), def.span.start);
    let detail = if header { describe(flags) } else { "class body statements".to_string() };
    let decorators = def.decorators.iter().map(|range| source[range.clone()].to_string()).collect();
    let bare_unit = (def.def_line > def.span.start).then(|| blank_lines(&unit, def.span.start, def.def_line));
    PatchStep {
        action: StepAction::RefreshClass { header, keep, decorators },
        scope: Vec::new(),
        name: def.name.clone(),
        old_line: old.span.start,
        new_line: def.span.start,
        unit,
        bare_unit,
        detail,
        statement: false,
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
        let mut classes =
            items.iter().filter_map(Item::as_def).filter(|d| d.kind == DefKind::Class && d.name == *name);
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

fn describe(flags: DefChange) -> String {
    let mut parts = Vec::new();
    if flags.body {
        parts.push("body");
    }
    if flags.header {
        parts.push("signature");
    }
    if flags.decorators {
        parts.push("decorators");
    }
    if flags.docstring {
        parts.push("docstring");
    }
    if parts.is_empty() && flags.moved {
        parts.push("moved");
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests;
