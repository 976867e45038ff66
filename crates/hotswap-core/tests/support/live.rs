//! The running module, abstractly, for property (b): which names each namespace binds, and
//! which of them are classes with their own namespace.

use std::collections::{BTreeMap, BTreeSet};

use hotswap_core::plan::{PatchPlan, Reason, StepAction};
use hotswap_core::tree::{DefinitionTree, Item, StatementKind};

/// Scope path (enclosing class names) → names bound in that scope.
pub type Bindings = BTreeMap<Vec<String>, BTreeSet<String>>;

/// The item starting at `line` inside the classes named by `scope` (any class of that name, so
/// that items of a class that is redefined later are found too).
pub fn find_item<'t>(items: &'t [Item], scope: &[String], line: u32) -> Option<&'t Item> {
    match scope.split_first() {
        None => items.iter().find(|item| item.span().start == line),
        Some((name, rest)) => items
            .iter()
            .filter_map(Item::as_def)
            .filter(|d| d.kind.is_class() && d.name == *name)
            .find_map(|class| find_item(&class.children, rest, line)),
    }
}

/// The bindings after applying `plan` (from `old` to `new`) to a module that imported `old`,
/// and the bindings of a fresh import of `new`, both without what the exceptions below exclude.
///
/// Names bound only inside `if __name__ == "__main__":` are not bound by an import, which never
/// runs that block; `Live::import` leaves them out.
///
/// Deliberate exception 1, redefined names: when more than one item of a scope binds a name (in
/// the old or the new source), the name itself is compared, but not the class scope beneath it,
/// and the steps addressed through it are not applied. Steps name their target by scope and
/// name, and the plan re-runs only changed and added items, so the running module can keep the
/// wrong one of the bindings:
/// - deleting or moving the later binding does not re-run the earlier one (`class C` then
///   `C = 1`; deleting `C = 1` leaves `C` bound to 1, and the steps for `C`'s body then fail:
///   the applier finds no class `C`);
/// - changes inside a class that a later item of its scope redefines are applied to the
///   binding that is live, the later class.
///
/// Deliberate exception 2, main-guard names: a name that only the new source's main guard binds
/// may stay bound (with the class scope beneath it). Deleting its other binding is skipped on
/// purpose: in a script run by hotswap the guard did run, and its value is the one the running
/// program uses.
pub fn bindings_after(
    old: &DefinitionTree,
    new: &DefinitionTree,
    plan: &PatchPlan,
) -> Result<(Bindings, Bindings), String> {
    let mut skip = BTreeSet::new();
    redefined(&old.items, &mut Vec::new(), &mut skip);
    redefined(&new.items, &mut Vec::new(), &mut skip);
    let mut live = Live::import(old);
    live.apply(plan, new, &skip)?;
    let expected = Live::import(new).names(&skip);

    let mut guarded = Bindings::new();
    guard_names(&new.items, &mut Vec::new(), &mut guarded);
    let mut guard_only = BTreeSet::new();
    for (path, names) in guarded {
        let bound = expected.get(&path);
        for name in names.into_iter().filter(|n| !bound.is_some_and(|b| b.contains(n))) {
            guard_only.insert([path.clone(), vec![name]].concat());
        }
    }
    skip.extend(guard_only.iter().cloned());
    let mut got = live.names(&skip);
    for (path, names) in &mut got {
        names.retain(|n| !guard_only.contains(&[path.clone(), vec![n.clone()]].concat()));
    }
    Ok((got, expected))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// A class, with its namespace (an index into `Live::spaces`).
    Class(usize),
    Other,
}

/// Namespaces of a running module: `spaces[0]` is the module, every class object has its own.
/// A class that is replaced keeps its (now unreachable) namespace, as the class object does.
struct Live {
    spaces: Vec<BTreeMap<String, Value>>,
}

impl Live {
    /// What importing a module with this tree binds.
    fn import(tree: &DefinitionTree) -> Live {
        let mut live = Live { spaces: vec![BTreeMap::new()] };
        for item in &tree.items {
            live.run(0, item);
        }
        live
    }

    /// Runs one item in a namespace.
    fn run(&mut self, space: usize, item: &Item) {
        match item {
            Item::Def(d) if d.kind.is_class() => {
                self.spaces.push(BTreeMap::new());
                let id = self.spaces.len() - 1;
                for child in &d.children {
                    self.run(id, child);
                }
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
    /// classes bound to a path in `skip`.
    fn names(&self, skip: &BTreeSet<Vec<String>>) -> Bindings {
        let mut out = Bindings::new();
        let mut stack = vec![(Vec::new(), 0)];
        while let Some((path, space)) = stack.pop() {
            for (name, value) in &self.spaces[space] {
                let inner = [path.clone(), vec![name.clone()]].concat();
                if let (Value::Class(id), false) = (value, skip.contains(&inner)) {
                    stack.push((inner, *id));
                }
            }
            out.insert(path, self.spaces[space].keys().cloned().collect());
        }
        out
    }

    /// Applies `plan` the way the applier does: every step's scope is resolved against the
    /// module as it was before the patch (a step whose scope is not a class there fails), then
    /// the steps run in order. Steps whose scope goes through a path in `skip` are left out.
    /// - `Execute` runs the new item at `new_line` in its scope: a definition binds its name (a
    ///   class with a fresh namespace of the new class body), a statement binds its `binds`.
    /// - `UpdateFunction { rebind: true }` binds the name to the (decorated) function.
    /// - `Delete { names }` unbinds the names.
    /// - `UpdateFunction` without rebinding, `ShiftLines`, `SetClassDoc`, `MoveClass` and
    ///   `Skip` bind nothing.
    fn apply(&mut self, plan: &PatchPlan, new: &DefinitionTree, skip: &BTreeSet<Vec<String>>) -> Result<(), String> {
        let spaces: Vec<Option<usize>> = plan.steps.iter().map(|s| self.resolve(&s.scope)).collect();
        for (step, space) in plan.steps.iter().zip(spaces) {
            let through_skipped = (1..=step.scope.len()).any(|n| skip.contains(&step.scope[..n]));
            if through_skipped || matches!(step.action, StepAction::Skip) {
                continue;
            }
            let Some(space) = space else {
                return Err(format!("the scope of {step:?} is not a class in the running module"));
            };
            match &step.action {
                // The module docstring is `__doc__`, which this model does not track.
                StepAction::Execute { .. } if step.reason == Reason::ModuleDocstring => {}
                StepAction::Execute { .. } => {
                    let item = find_item(&new.items, &step.scope, step.lines.new.unwrap_or(0))
                        .ok_or_else(|| format!("no new item for {step:?}"))?;
                    self.run(space, item);
                }
                StepAction::UpdateFunction { rebind: true, .. } => {
                    self.spaces[space].insert(step.target.label().to_string(), Value::Other);
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
                out.insert([path.clone(), vec![name]].concat());
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

/// Scope path → names bound by the `if __name__ == "__main__":` blocks of that scope.
fn guard_names(items: &[Item], path: &mut Vec<String>, out: &mut Bindings) {
    for item in items {
        match item {
            Item::Stmt(s) if s.kind == StatementKind::MainGuard => {
                out.entry(path.clone()).or_default().extend(s.binds.iter().cloned());
            }
            Item::Def(d) if d.kind.is_class() => {
                path.push(d.name.clone());
                guard_names(&d.children, path, out);
                path.pop();
            }
            _ => {}
        }
    }
}
