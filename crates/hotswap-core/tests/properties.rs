//! Property-based tests of parse → diff → plan on generated Python modules and edits.
//!
//! 256 cases per property by default; `PROPTEST_CASES=20000 cargo test -p hotswap-core --release
//! --test properties` runs a longer fuzzing session. Failures are shrunk and printed, not
//! persisted: turn a failure into a unit test next to the module it is about.

mod support;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use hotswap_core::diff::{diff_trees, Change, ChangeKind};
use hotswap_core::parse::parse_definitions;
use hotswap_core::plan::{plan_patch, PatchPlan, PatchStep, StepAction};
use hotswap_core::tree::{Definition, DefinitionTree, Item, StatementKind};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

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

fn plan(old: &DefinitionTree, new_source: &str, new: &DefinitionTree) -> PatchPlan {
    plan_patch(new_source, new, &diff_trees(old, new))
}

/// The item starting at `line` inside the classes named by `scope` (any class of that name, so
/// that items of a class that is redefined later are found too).
fn find_item<'t>(items: &'t [Item], scope: &[String], line: u32) -> Option<&'t Item> {
    match scope.split_first() {
        None => items.iter().find(|item| item.span().start == line),
        Some((name, rest)) => items
            .iter()
            .filter_map(Item::as_def)
            .filter(|d| d.kind.is_class() && d.name == *name)
            .find_map(|class| find_item(&class.children, rest, line)),
    }
}

// ---------------------------------------------------------------------------------------------
// The live module, abstractly: namespaces and what their names are bound to.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// A class, with its namespace (an index into `Live::spaces`).
    Class(usize),
    Other,
}

/// Namespaces of a running module: `spaces[0]` is the module, every class object has its own.
/// A class that is redefined keeps its (now unreachable) namespace, as the old class object
/// does in Python.
struct Live {
    spaces: Vec<BTreeMap<String, Value>>,
}

impl Live {
    /// What importing a module with this tree binds. The `if __name__ == "__main__":` block never
    /// runs on import, so the names bound only there are not bound.
    fn import(tree: &DefinitionTree) -> Live {
        let mut live = Live { spaces: vec![BTreeMap::new()] };
        live.run(0, &tree.items);
        live
    }

    fn run(&mut self, space: usize, items: &[Item]) {
        for item in items {
            self.run_item(space, item);
        }
    }

    fn run_item(&mut self, space: usize, item: &Item) {
        match item {
            Item::Def(d) if d.kind.is_class() => {
                self.spaces.push(BTreeMap::new());
                let id = self.spaces.len() - 1;
                self.run(id, &d.children);
                self.spaces[space].insert(d.name.clone(), Value::Class(id));
            }
            Item::Def(d) => {
                self.spaces[space].insert(d.name.clone(), Value::Other);
            }
            Item::Stmt(s) if s.kind == StatementKind::MainGuard => {}
            Item::Stmt(s) => {
                for name in &s.binds {
                    self.spaces[space].insert(name.clone(), Value::Other);
                }
            }
        }
    }

    /// The namespace a step's scope names, as the applier finds it: by attribute lookup from
    /// the module, through classes only.
    fn resolve(&self, scope: &[String]) -> Option<usize> {
        let mut space = 0;
        for name in scope {
            match self.spaces[space].get(name) {
                Some(Value::Class(id)) => space = *id,
                _ => return None,
            }
        }
        Some(space)
    }

    /// Scope path → names bound there, for every class reachable from the module, except the
    /// classes bound to a name in `redefined`.
    fn names(&self, redefined: &BTreeSet<Vec<String>>) -> BTreeMap<Vec<String>, BTreeSet<String>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![(Vec::new(), 0)];
        while let Some((path, space)) = stack.pop() {
            for (name, value) in &self.spaces[space] {
                let mut inner = path.clone();
                inner.push(name.clone());
                if let (Value::Class(id), false) = (value, redefined.contains(&inner)) {
                    stack.push((inner, *id));
                }
            }
            out.insert(path, self.spaces[space].keys().cloned().collect());
        }
        out
    }

    /// Applies `plan` abstractly, the way the applier does: every step's scope is resolved
    /// against the module as it was before the patch, then the steps run in order.
    /// - `Execute` runs the new item at `new_line` in its scope: a definition binds its name (a
    ///   class with a fresh namespace of the new class body), a statement binds its `binds`.
    /// - `UpdateFunction { rebind: true }` binds the name to the (decorated) function.
    /// - `Delete { names }` unbinds the names.
    /// - Everything else binds nothing.
    /// Steps whose scope goes through a name in `redefined` are left out.
    fn apply(&mut self, plan: &PatchPlan, new: &DefinitionTree, redefined: &BTreeSet<Vec<String>>) -> Result<(), String> {
        let spaces: Vec<Option<usize>> = plan.steps.iter().map(|s| self.resolve(&s.scope)).collect();
        for (step, space) in plan.steps.iter().zip(spaces) {
            let through_redefined = (1..=step.scope.len()).any(|n| redefined.contains(&step.scope[..n]));
            if through_redefined || matches!(step.action, StepAction::Skip { .. }) {
                continue;
            }
            let Some(space) = space else {
                return Err(format!("the scope of {step:?} is not a class in the running module"));
            };
            match &step.action {
                StepAction::Execute => {
                    let item = find_item(&new.items, &step.scope, step.new_line)
                        .ok_or_else(|| format!("no new item for {step:?}"))?;
                    self.run_item(space, item);
                }
                StepAction::UpdateFunction { rebind: true } => {
                    self.spaces[space].insert(step.name.clone(), Value::Other);
                }
                StepAction::Delete { names } => {
                    for name in names {
                        self.spaces[space].remove(name);
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Adds `path + [name]` for every name that more than one item of a scope binds, in every class
/// scope reachable through class names (all classes of a name, so both of a class defined twice).
fn redefined(items: &[Item], path: &mut Vec<String>, out: &mut BTreeSet<Vec<String>>) {
    let mut seen = BTreeSet::new();
    for item in items {
        let names = match item {
            Item::Def(d) => vec![d.name.clone()],
            Item::Stmt(s) if s.kind == StatementKind::MainGuard => Vec::new(),
            Item::Stmt(s) => s.binds.clone(),
        };
        for name in names {
            if !seen.insert(name.clone()) {
                let mut redefined = path.clone();
                redefined.push(name);
                out.insert(redefined);
            }
        }
        if let Item::Def(d) = item {
            if d.kind.is_class() {
                path.push(d.name.clone());
                redefined(&d.children, path, out);
                path.pop();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// What must get a step: matched definitions, matched as documented in diff.rs (by name and
// occurrence within a scope; a function never matches a class).

#[derive(Debug)]
enum Expect {
    /// The function's code changed: `UpdateFunction` from `old_line` to `new_line`.
    Update,
    /// Only comment or whitespace-only lines changed, and it moved: `ShiftLines` or `UpdateFunction`.
    ShiftOrUpdate,
    /// Same text, moved: exactly `ShiftLines`.
    Shift,
    /// Same text, same place: no step for it.
    Nothing,
    /// A class's bases or decorators changed: re-created by `Execute`; its children are covered.
    ClassExecute,
    /// A class moved: `MoveClass`.
    MoveClass,
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
    fn expectations<'t>(
        &self,
        old: &'t [Item],
        new: &'t [Item],
        scope: &mut Vec<String>,
        out: &mut Vec<(Expect, Vec<String>, &'t Definition, &'t Definition)>,
    ) {
        let mut old_defs = HashMap::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for d in old.iter().filter_map(Item::as_def) {
            let n = seen.entry(d.name.as_str()).or_default();
            old_defs.insert((d.name.as_str(), *n), d);
            *n += 1;
        }
        seen.clear();
        for new_def in new.iter().filter_map(Item::as_def) {
            let n = seen.entry(new_def.name.as_str()).or_default();
            let old_def = old_defs.get(&(new_def.name.as_str(), *n)).copied();
            *n += 1;
            let Some(old_def) = old_def.filter(|o| o.kind.is_class() == new_def.kind.is_class()) else { continue };
            let moved = old_def.span.start != new_def.span.start;
            let expect = if new_def.kind.is_class() {
                if header_lines(self.old_source, old_def) != header_lines(self.new_source, new_def) {
                    out.push((Expect::ClassExecute, scope.clone(), old_def, new_def));
                    continue;
                }
                if moved {
                    out.push((Expect::MoveClass, scope.clone(), old_def, new_def));
                }
                scope.push(new_def.name.clone());
                self.expectations(&old_def.children, &new_def.children, scope, out);
                scope.pop();
                continue;
            } else {
                let old_text = lf(&self.old_source[old_def.byte_range.clone()]);
                let new_text = lf(&self.new_source[new_def.byte_range.clone()]);
                match (code_signature(&old_text) == code_signature(&new_text), old_text == new_text, moved) {
                    (false, _, _) => Expect::Update,
                    (true, false, true) => Expect::ShiftOrUpdate,
                    (true, true, true) => Expect::Shift,
                    (true, true, false) => Expect::Nothing,
                    (true, false, false) => continue, // comments only: either is fine
                }
            };
            out.push((expect, scope.clone(), old_def, new_def));
        }
    }
}

fn satisfies(expect: &Expect, step: &PatchStep, scope: &[String], old: &Definition, new: &Definition) -> bool {
    let same = step.scope == scope && step.name == new.name;
    let lines = step.old_line == old.span.start && step.new_line == new.span.start;
    match (expect, &step.action) {
        (Expect::Update | Expect::ShiftOrUpdate, StepAction::UpdateFunction { .. }) => same && lines,
        (Expect::Shift | Expect::ShiftOrUpdate, StepAction::ShiftLines) => same && lines,
        (Expect::ClassExecute, StepAction::Execute) => same && step.new_line == new.span.start,
        (Expect::MoveClass, StepAction::MoveClass) => same && lines,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Compile units.

fn check_unit(step: &PatchStep, unit: &str, bare: bool, source: &str, new: &DefinitionTree) -> Result<(), String> {
    let item = find_item(&new.items, &step.scope, step.new_line).ok_or("no new item at new_line")?;
    let unit_lines: Vec<&str> = unit.lines().collect();
    let source_lines: Vec<&str> = source.lines().collect();
    let first = step.new_line as usize;
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
        let cut = number == span.end && expected.strip_prefix(*line).is_some_and(|rest| rest.trim_start().starts_with('#'));
        if (*line != expected && !cut) || number > span.end {
            return Err(format!("unit line {number} is {line:?}, the source's is {expected:?}"));
        }
    }
    let last = unit_lines.len() as u32;
    if last != span.end && !(step.action == StepAction::SetClassDoc && last < span.end) {
        return Err(format!("unit ends at line {last}, the item at {}", span.end));
    }
    let tree = parse_definitions(unit, PY).map_err(|issues| format!("unit does not parse: {issues:?}"))?;
    let starts_at = if bare { def_line } else { step.new_line };
    find_item(&tree.items, &step.scope, starts_at).ok_or("the unit's item is not at its line in its scope")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Diff symmetry.

/// (scope, item label, start line) of every change of `kind`, sorted, from the side `pick`.
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
            let _ = plan(&a, &text, &b);
            let _ = plan(&b, &old, &a);
        }
    }

    /// (b) Applying the plan to the module as the old source left it binds, per scope, the
    /// names a fresh import of the new source binds (never the names bound only inside
    /// `if __name__ == "__main__":`, which an import does not run).
    ///
    /// Deliberate exception, redefined names: when more than one item of a scope binds a name
    /// (in the old or the new source), the name itself is compared, but not the class scope
    /// beneath it, and the steps addressed through it are not applied. Steps name their target
    /// by scope and name, and the plan re-runs only changed and added items, so the running
    /// module can keep the wrong one of the bindings:
    /// - deleting or moving the later binding does not re-run the earlier one (`class C` then
    ///   `C = 1`; deleting `C = 1` leaves `C` bound to 1, and the steps for `C`'s body fail: the
    ///   applier finds no class `C`);
    /// - changes inside a class that a later item of its scope redefines are applied to the
    ///   binding that is live, the later class.
    #[test]
    fn plan_reproduces_new_bindings(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        let plan = plan(&old, &new_source, &new);
        let mut skip = BTreeSet::new();
        redefined(&old.items, &mut Vec::new(), &mut skip);
        redefined(&new.items, &mut Vec::new(), &mut skip);
        let mut live = Live::import(&old);
        live.apply(&plan, &new, &skip).map_err(|e| TestCaseError::fail(format!("{e}\n{plan:#?}")))?;
        prop_assert_eq!(live.names(&skip), Live::import(&new).names(&skip), "plan: {:#?}", plan);
    }

    /// (c) Every changed function gets an `UpdateFunction`, every moved one a `ShiftLines` (or
    /// the re-creation of its class covers it), a moved class a `MoveClass`, an unchanged
    /// function nothing; the same source twice gives an empty plan.
    #[test]
    fn changed_definitions_get_steps(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        prop_assert!(plan(&old, &old_source, &old).is_empty());
        prop_assert!(plan(&new, &new_source, &new).is_empty());
        let plan = plan(&old, &new_source, &new);
        let mut expected = Vec::new();
        let sides = Sides { old_source: &old_source, new_source: &new_source };
        sides.expectations(&old.items, &new.items, &mut Vec::new(), &mut expected);
        for (expect, scope, o, n) in &expected {
            if let Expect::Nothing = expect {
                let stray = plan.steps.iter().find(|s| {
                    s.scope == *scope && s.name == n.name && s.old_line == o.span.start
                        && matches!(s.action, StepAction::UpdateFunction { .. } | StepAction::ShiftLines)
                });
                prop_assert!(stray.is_none(), "unchanged {} got {:?}", n.qualname, stray);
            } else {
                let found = plan.steps.iter().any(|s| satisfies(expect, s, scope, o, n));
                prop_assert!(found, "{:?} expected for {} ({} -> {}), plan: {:#?}",
                    expect, n.qualname, o.span.start, n.span.start, plan);
            }
        }
    }

    /// (d) A compile unit puts the item at its real line, below blank lines and its class
    /// headers, and holds exactly the new source's lines of the item; it parses.
    #[test]
    fn compile_units_keep_lines(case in case()) {
        let (old_source, new_source) = case.sources();
        let (old, new) = (parse(&old_source)?, parse(&new_source)?);
        for step in &plan(&old, &new_source, &new).steps {
            if !step.unit.is_empty() {
                check_unit(step, &step.unit, false, &new_source, &new)
                    .map_err(|e| TestCaseError::fail(format!("{e}\nstep: {step:#?}")))?;
            }
            if let Some(bare) = &step.bare_unit {
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
