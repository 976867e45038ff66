//! Property-based tests of parse → diff → plan on generated Python modules and edits.
//!
//! 256 cases per property by default; `PROPTEST_CASES=20000 cargo test -p hotswap-core --release
//! --test properties` runs a longer fuzzing session. Failures are shrunk and printed, not
//! persisted: turn a failure into a unit test next to the module it is about.

mod support;

use std::collections::HashMap;

use hotswap_core::diff::{diff_trees, Change, ChangeKind};
use hotswap_core::parse::parse_definitions;
use hotswap_core::pipeline::{plan_text, Planned, Running};
use hotswap_core::plan::{PatchPlan, PatchStep, Reason, StepAction};
use hotswap_core::tree::{Definition, DefinitionTree, Item, StatementKind};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use support::live::{bindings_after, find_item};
use support::{byte_edit, case, mutate};

const PY: (u8, u8) = (3, 13);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn parse(source: &str) -> Result<DefinitionTree, TestCaseError> {
    parse_definitions(source, PY)
        .map_err(|issues| TestCaseError::fail(format!("generated source does not parse: {issues:?}\n{source}")))
}

/// The plan the engine would make: through the same pipeline entry. `old` must be the tree of
/// `old_source` and `new` that of `new_source` (the pipeline parses the new version again,
/// incrementally from the old one, as the engine parses each new version once).
fn plan(old_source: &str, old: &DefinitionTree, new_source: &str, new: &DefinitionTree) -> PatchPlan {
    match plan_text(Running { text: old_source, tree: Some(old) }, new_source.to_string(), PY) {
        Planned::Edit { plan, tree, .. } => {
            assert_eq!(&tree, new, "the pipeline parsed the new source differently");
            plan
        }
        other => panic!("no plan for a source that parses: {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// What must get a step: items are matched as documented in diff.rs (definitions by name and
// occurrence within a scope, a function never with a class; statements by key), and only in
// classes matched in both versions whose bases and decorators are unchanged.

#[derive(Debug)]
enum Expect {
    /// The function's code changed: `UpdateFunction`.
    Update,
    /// Only comment or whitespace-only lines changed, and it moved: `ShiftLines` or `UpdateFunction`.
    ShiftOrUpdate,
    /// Same text, moved: exactly `ShiftLines`.
    Shift,
    /// Same text, same place: no `UpdateFunction` or `ShiftLines` for it.
    Nothing,
    /// An added definition or statement, a changed statement: `Execute`.
    Execute,
    /// A class's bases or decorators changed: `RefreshClass { header: true }`.
    Rebuild,
    /// A class moved: `MoveClass`.
    MoveClass,
    /// An added or changed main guard: `Skip`.
    Skip,
    /// A deleted item: `Delete` or `Skip`.
    Removed,
}

struct Expected {
    expect: Expect,
    scope: Vec<String>,
    /// The definition's name (statement steps are found by their lines).
    name: Option<String>,
    old_line: u32,
    new_line: u32,
}

/// `text` with `\r\n` as `\n`.
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n")
}

/// The lines of `text` that hold code: comment-only and whitespace-only lines become empty
/// (comments inside a docstring count as comments here: this only makes the check weaker).
fn code_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                ""
            } else {
                line
            }
        })
        .collect()
}

/// What a function's code depends on, from its text as the generator shapes it (the body starts
/// at the first line after the `def` that starts with `return`, `y =` or `self._v`): decorator
/// and header lines, the lines they span, docstring lines, how far below the `def` the body
/// starts, and the body's lines. Where blank and comment lines sit does not matter otherwise: a
/// blank line moved from above a docstring to below it changes no line of the code.
fn code_signature(text: &str) -> (Vec<&str>, usize, Vec<&str>, usize, Vec<&str>) {
    let lines = code_lines(text);
    let starts = |i: &usize, prefixes: &[&str]| prefixes.iter().any(|p| lines[*i].trim_start().starts_with(p));
    let def = (0..lines.len()).find(|i| starts(i, &["def ", "async def "])).unwrap_or(0);
    let body = (def + 1..lines.len()).find(|i| starts(i, &["return", "y =", "self._v"])).unwrap_or(lines.len());
    let code = |range: std::ops::Range<usize>| lines[range].iter().copied().filter(|l| !l.is_empty()).collect();
    (code(0..def + 1), def, code(def + 1..body), body - def, lines[body..].to_vec())
}

/// A definition's decorator and `def`/`class` lines, without blank and comment lines.
/// (The generated headers hold no `#` but in a trailing comment.)
fn header_lines<'s>(source: &'s str, d: &Definition) -> Vec<&'s str> {
    let lines = (d.def_line - d.span.start + 1) as usize;
    let code = code_lines(&source[d.byte_range.clone()]).into_iter().take(lines);
    code.filter(|l| !l.is_empty()).map(|l| l.split('#').next().unwrap_or_default().trim_end()).collect()
}

struct Sides<'s> {
    old_source: &'s str,
    new_source: &'s str,
}

impl Sides<'_> {
    /// `unique`: every class of `scope` is the only class of its name in its own scope.
    fn expectations(&self, old: &[Item], new: &[Item], scope: &mut Vec<String>, unique: bool, out: &mut Vec<Expected>) {
        let (old_defs, old_stmts) = index_items(old);
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut matched = vec![false; old.len()];
        let mut expect = |expect, name: Option<&str>, old_line, new_line| {
            let name = name.map(str::to_string);
            out.push(Expected { expect, scope: scope.clone(), name, old_line, new_line });
        };
        let mut classes = Vec::new();
        for item in new {
            let start = item.span().start;
            let (old_def, new_def) = match item {
                Item::Stmt(s) => {
                    let kind = if s.kind == StatementKind::MainGuard { Expect::Skip } else { Expect::Execute };
                    let Some(&i) = old_stmts.get(s.key.as_str()) else {
                        expect(kind, None, 0, start);
                        continue;
                    };
                    matched[i] = true;
                    let (old_range, new_range) = (old[i].byte_range(), item.byte_range());
                    if lf(&self.old_source[old_range]) != lf(&self.new_source[new_range]) {
                        expect(kind, None, old[i].span().start, start);
                    }
                    continue;
                }
                Item::Def(new_def) => {
                    let n = seen.entry(new_def.name.as_str()).or_default();
                    let found = old_defs.get(&(new_def.name.as_str(), *n)).copied();
                    *n += 1;
                    let pair = found.filter(|&i| old[i].as_def().unwrap().kind.is_class() == new_def.kind.is_class());
                    let Some(i) = pair else {
                        expect(Expect::Execute, Some(&new_def.name), 0, start);
                        continue;
                    };
                    matched[i] = true;
                    (old[i].as_def().unwrap(), new_def)
                }
            };
            let (old_line, name) = (old_def.span.start, Some(new_def.name.as_str()));
            let moved = old_line != start;
            if new_def.kind.is_class() {
                let named = |items: &[Item]| {
                    let classes = items.iter().filter_map(Item::as_def).filter(|d| d.kind.is_class());
                    classes.filter(|d| d.name == new_def.name).count()
                };
                let sole = unique && named(old) == 1 && named(new) == 1;
                if header_lines(self.old_source, old_def) != header_lines(self.new_source, new_def) {
                    expect(Expect::Rebuild, name, old_line, start);
                } else if moved {
                    expect(Expect::MoveClass, name, old_line, start);
                }
                classes.push((old_def, new_def, sole));
                continue;
            }
            let old_text = lf(&self.old_source[old_def.byte_range.clone()]);
            let new_text = lf(&self.new_source[new_def.byte_range.clone()]);
            let kind = match (code_signature(&old_text) == code_signature(&new_text), old_text == new_text, moved) {
                (false, _, _) => Expect::Update,
                (true, false, true) => Expect::ShiftOrUpdate,
                (true, true, true) => Expect::Shift,
                (true, true, false) => Expect::Nothing,
                (true, false, false) => continue, // comments only: either is fine
            };
            expect(kind, name, old_line, start);
        }
        for (item, _) in old.iter().zip(matched).filter(|(_, m)| !m) {
            expect(Expect::Removed, None, item.span().start, 0);
        }
        for (old_def, new_def, sole) in classes {
            scope.push(new_def.name.clone());
            self.expectations(&old_def.children, &new_def.children, scope, sole, out);
            scope.pop();
        }
    }
}

/// The items of one side by how the diff matches them: definitions by (name, occurrence),
/// statements by key.
#[allow(clippy::type_complexity)]
fn index_items(items: &[Item]) -> (HashMap<(&str, usize), usize>, HashMap<&str, usize>) {
    let mut defs = HashMap::new();
    let mut stmts = HashMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Def(d) => {
                let n = seen.entry(d.name.as_str()).or_default();
                defs.insert((d.name.as_str(), *n), i);
                *n += 1;
            }
            Item::Stmt(s) => drop(stmts.insert(s.key.as_str(), i)),
        }
    }
    (defs, stmts)
}

fn satisfies(e: &Expected, step: &PatchStep) -> bool {
    let same = step.scope == e.scope && e.name.as_ref().is_none_or(|n| n == step.target.label());
    let lines = step.lines.old.unwrap_or(0) == e.old_line && step.lines.new.unwrap_or(0) == e.new_line;
    let action = matches!(
        (&e.expect, &step.action),
        (Expect::Update | Expect::ShiftOrUpdate, StepAction::UpdateFunction { .. })
            | (Expect::Shift | Expect::ShiftOrUpdate, StepAction::ShiftLines)
            | (Expect::Execute, StepAction::Execute { .. })
            | (Expect::Rebuild, StepAction::RefreshClass { header: true, .. })
            | (Expect::MoveClass, StepAction::MoveClass)
            | (Expect::Skip, StepAction::Skip)
            | (Expect::Removed, StepAction::Delete { .. } | StepAction::Skip)
    );
    same && lines && action
}

// ---------------------------------------------------------------------------------------------
// Compile units.

fn check_unit(step: &PatchStep, unit: &str, bare: bool, source: &str, new: &DefinitionTree) -> Result<(), String> {
    let item = find_item(&new.items, &step.scope, step.lines.new.unwrap_or(0)).ok_or("no new item at new_line")?;
    // After the item, a module that imports names declares them on one dead line.
    let declarations = format!("if False: import {}\n", new.imported.join(", "));
    let unit = match new.imported.is_empty() {
        true => unit,
        false => {
            unit.strip_suffix(declarations.as_str()).ok_or("the unit does not end with the import declarations")?
        }
    };
    let unit_lines: Vec<&str> = unit.lines().collect();
    let source_lines: Vec<&str> = source.lines().collect();
    let first = step.lines.new.unwrap_or(0) as usize;
    if first == 0 || unit_lines.len() < first {
        return Err(format!("unit has {} lines, item starts at {first}", unit_lines.len()));
    }
    // Above the item: blank lines, then one `class X:` header per enclosing class.
    let headers = step.scope.len();
    for (i, line) in unit_lines[..first - 1].iter().enumerate() {
        let ok = match (i + headers + 1).checked_sub(first) {
            Some(j) => line.trim_start() == format!("class {}:", step.scope[j]),
            None => line.is_empty(),
        };
        if !ok {
            return Err(format!("unexpected line {} above the item: {line:?}", i + 1));
        }
    }
    // From the item on: the new source's lines (decorator lines blanked in a bare unit).
    let span = item.span();
    let def_line = item.as_def().map_or(span.start, |d| d.def_line);
    for (number, line) in unit_lines.iter().enumerate().skip(first - 1).map(|(i, l)| (i as u32 + 1, l)) {
        let expected = if bare && number < def_line { "" } else { source_lines[number as usize - 1] };
        // The item's last line may be followed by a comment, which the unit leaves out.
        let comment_after = |rest: &str| rest.trim_start().starts_with('#');
        let cut = number == span.end && expected.strip_prefix(*line).is_some_and(comment_after);
        if (*line != expected && !cut) || number > span.end {
            return Err(format!("unit line {number} is {line:?}, the source's is {expected:?}"));
        }
    }
    let last = unit_lines.len() as u32;
    if last != span.end && !(matches!(step.action, StepAction::SetClassDoc { .. }) && last < span.end) {
        return Err(format!("unit ends at line {last}, the item at {}", span.end));
    }
    let tree = parse_definitions(unit, PY).map_err(|issues| format!("unit does not parse: {issues:?}"))?;
    let starts_at = if bare { def_line } else { step.lines.new.unwrap_or(0) };
    find_item(&tree.items, &step.scope, starts_at).ok_or("the unit's item is not at its line in its scope")?;
    Ok(())
}

/// The module docstring's unit assigns the new docstring's literal to `__doc__` at its own line
/// (or `None` at line 1 when it was removed).
fn check_docstring_unit(step: &PatchStep, source: &str) -> Result<(), String> {
    let unit = step.action.unit().unwrap_or_default();
    let lines: Vec<&str> = unit.lines().collect();
    let at = step.lines.new.unwrap_or(0) as usize;
    if at == 0 || lines.len() < at || lines[..at - 1].iter().any(|l| !l.is_empty()) {
        return Err(format!("docstring unit does not start at line {at}"));
    }
    let expected = match source.lines().nth(at - 1).map(str::trim_start) {
        Some(first) if first.starts_with(['"', '\'']) || first.starts_with(['r', 'R', 'u', 'U']) => first,
        _ => "None",
    };
    if lines[at - 1] != format!("__doc__ = {expected}") {
        return Err(format!("docstring unit line {at} is {:?}", lines[at - 1]));
    }
    parse_definitions(unit, PY).map_err(|issues| format!("docstring unit does not parse: {issues:?}"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Diff symmetry.

/// (scope, item label, start line) of every change of `kind`, sorted: of its new item if
/// `new_side`, else of its old one.
fn changed_items(changes: &[Change<'_>], kind: ChangeKind, new_side: bool) -> Vec<(String, String, u32)> {
    let mut out: Vec<_> = changes
        .iter()
        .filter(|c| c.kind == kind)
        .filter_map(|c| if new_side { c.new } else { c.old }.map(|item| (c.scope.join("."), item)))
        .map(|(scope, item)| {
            let label = match item {
                Item::Def(d) => format!("{:?} {}", d.kind, d.name),
                Item::Stmt(s) => s.key.clone(),
            };
            (scope, label, item.span().start)
        })
        .collect();
    out.sort();
    out
}

fn count(changes: &[Change<'_>], modified: bool) -> usize {
    changes
        .iter()
        .filter(|c| match c.kind {
            ChangeKind::Modified(_) => modified,
            ChangeKind::StatementChanged => !modified,
            _ => false,
        })
        .count()
}

// ---------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    /// (a) Parsing damaged sources never panics, nor does diffing and planning whatever parses.
    #[test]
    fn mutated_sources_never_panic(
        case in case(),
        edits in prop::collection::vec(byte_edit(), 1..6),
        damage_old in any::<bool>(),
    ) {
        let (old, new) = case.sources();
        let mutated = mutate(if damage_old { &old } else { &new }, &edits);
        let text = String::from_utf8_lossy(&mutated);
        for version in [(3, 8), (3, 11), PY] {
            let _ = parse_definitions(&text, version);
        }
        if let (Ok(a), Ok(b)) = (parse_definitions(&old, PY), parse_definitions(&text, PY)) {
            let _ = plan(&old, &a, &text, &b);
            let _ = plan(&text, &b, &old, &a);
        }
    }

    /// (b) Applying the plan to the module as the old source left it binds, per scope, the
    /// names a fresh import of the new source binds. Names bound only inside `if __name__ ==
    /// "__main__":` are not bound by an import. Two deliberate exceptions, redefined names and
    /// main-guard names, are documented at [`bindings_after`].
    #[test]
    fn plan_reproduces_new_bindings(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        let plan = plan(&old_source, &old, &new_source, &new);
        let (got, expected) = bindings_after(&old, &new, &plan)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{plan:#?}")))?;
        prop_assert_eq!(got, expected, "plan: {:#?}", plan);
    }

    /// (c) Every changed function gets an `UpdateFunction`, every moved one a `ShiftLines`, a
    /// class whose bases or decorators changed a `RefreshClass` (and its body its own steps), a moved
    /// class a `MoveClass`, an added item or changed statement an `Execute` (a main guard a
    /// `Skip`), a deleted item a `Delete` or `Skip`, all at the right lines; an unchanged
    /// function gets nothing, and the same source twice gives an empty plan.
    #[test]
    fn changed_items_get_steps(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        prop_assert!(plan(&old_source, &old, &old_source, &old).is_empty());
        prop_assert!(plan(&new_source, &new, &new_source, &new).is_empty());
        let plan = plan(&old_source, &old, &new_source, &new);
        let mut expected = Vec::new();
        let sides = Sides { old_source: &old_source, new_source: &new_source };
        sides.expectations(&old.items, &new.items, &mut Vec::new(), true, &mut expected);
        for e in &expected {
            if let Expect::Nothing = e.expect {
                let stray = plan.steps.iter().find(|s| s.scope == e.scope && e.name.as_deref() == Some(s.target.label())
                    && s.lines.old.unwrap_or(0) == e.old_line
                    && matches!(s.action, StepAction::UpdateFunction { .. } | StepAction::ShiftLines)
                    // Re-evaluated because its signature reads a value the edit changed.
                    && !matches!(s.reason, Reason::SignatureReadsChangedValue { .. }));
                prop_assert!(stray.is_none(), "unchanged {:?} got {:?}", e.name, stray);
            } else {
                let found = plan.steps.iter().find(|s| satisfies(e, s));
                prop_assert!(found.is_some(), "{:?} expected for {:?}.{:?} ({} -> {}), plan: {:#?}",
                    e.expect, e.scope, e.name, e.old_line, e.new_line, plan);
            }
        }
    }

    /// (d) A compile unit puts the item at its real line, below blank lines and its class
    /// headers, and holds exactly the new source's lines of the item; it parses.
    #[test]
    fn compile_units_keep_lines(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        for step in &plan(&old_source, &old, &new_source, &new).steps {
            if step.reason == Reason::ModuleDocstring {
                check_docstring_unit(step, &new_source).map_err(|e| TestCaseError::fail(format!("{e}\nstep: {step:#?}")))?;
                continue;
            }
            if let Some(unit) = step.action.unit() {
                check_unit(step, unit, false, &new_source, &new)
                    .map_err(|e| TestCaseError::fail(format!("{e}\nstep: {step:#?}")))?;
            }
            if let Some(bare) = step.action.bare_unit() {
                check_unit(step, bare, true, &new_source, &new)
                    .map_err(|e| TestCaseError::fail(format!("bare: {e}\nstep: {step:#?}")))?;
            }
        }
    }

    /// (e) Diffing a tree with itself (or with its CRLF spelling) finds nothing; what one
    /// direction adds, the other deletes, and both find as many modifications.
    #[test]
    fn diff_is_symmetric(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        prop_assert!(diff_trees(&old, &old).is_empty());
        let crlf = parse(&lf(&old_source).replace('\n', "\r\n"))?;
        prop_assert!(diff_trees(&old, &crlf).is_empty(), "{:?}", diff_trees(&old, &crlf));
        let forward = diff_trees(&old, &new);
        let backward = diff_trees(&new, &old);
        prop_assert_eq!(
            changed_items(&forward, ChangeKind::Added, true),
            changed_items(&backward, ChangeKind::Deleted, false)
        );
        prop_assert_eq!(
            changed_items(&forward, ChangeKind::Deleted, false),
            changed_items(&backward, ChangeKind::Added, true)
        );
        prop_assert_eq!(count(&forward, true), count(&backward, true));
        prop_assert_eq!(count(&forward, false), count(&backward, false));
    }
}
