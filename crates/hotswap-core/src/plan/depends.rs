//! Which steps a failed step holds back. One failing step must not keep the rest of a file
//! from applying: only the steps that use what it would have bound wait for the next save.

use std::collections::HashMap;

use super::step::PatchStep;

/// The steps of one plan that were not applied, and what that leaves unsafe to apply.
#[derive(Clone, Debug, Default)]
pub struct Failures {
    /// (scope, name) bound by a step that was not applied → that step's dotted name.
    names: HashMap<(Vec<String>, String), String>,
    /// Scope paths of definitions that were not applied → their dotted name: every step inside
    /// such a class is held back with it.
    paths: Vec<(Vec<String>, String)>,
}

impl Failures {
    /// Records that `step` was not applied (it failed, or was held back itself).
    pub fn record(&mut self, step: &PatchStep) {
        let who = step.dotted_name();
        for name in step.target.binds() {
            self.names.insert((step.scope.clone(), name.to_string()), who.clone());
        }
        if !step.target.is_statement() {
            self.paths.push((step.path(), who));
        }
    }

    /// The dotted name of the unapplied step that `step` depends on, if any: it is inside a
    /// class whose step was not applied, or it reads a name that such a step binds in its own
    /// scope or at module level.
    pub fn blocked_by(&self, step: &PatchStep) -> Option<&str> {
        if let Some((_, who)) = self.paths.iter().find(|(path, _)| step.scope.starts_with(path)) {
            return Some(who);
        }
        let module: Vec<String> = Vec::new();
        step.reads.iter().find_map(|name| {
            let key = |scope: &Vec<String>| (scope.clone(), name.clone());
            self.names.get(&key(&step.scope)).or_else(|| self.names.get(&key(&module))).map(String::as_str)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::diff_trees;
    use crate::parse::parse_definitions;
    use crate::plan::plan_patch;

    fn plan(old: &str, new: &str) -> Vec<PatchStep> {
        let old_tree = parse_definitions(old, (3, 13)).expect("old parses");
        let new_tree = parse_definitions(new, (3, 13)).expect("new parses");
        let changes = diff_trees(&old_tree, &new_tree);
        plan_patch(new, &new_tree, &old_tree.imported, &changes).steps
    }

    fn step<'a>(steps: &'a [PatchStep], dotted: &str) -> &'a PatchStep {
        steps.iter().find(|s| s.dotted_name() == dotted).unwrap_or_else(|| panic!("no step {dotted}: {steps:?}"))
    }

    #[test]
    fn a_statement_reading_a_failed_name_is_held_back_and_the_others_are_not() {
        let old = "A = 1\nB = A + 1\nC = 3\n\ndef f(x=A):\n    return x\n\ndef g():\n    return 1\n";
        let new = "A = 10\nB = A + 1\nC = 30\n\ndef f(x=A):\n    return x\n\ndef g():\n    return 2\n";
        let steps = plan(old, new);
        let mut failures = Failures::default();
        failures.record(step(&steps, "A"));
        assert_eq!(failures.blocked_by(step(&steps, "B")), Some("A"));
        assert_eq!(failures.blocked_by(step(&steps, "f")), Some("A"));
        assert_eq!(failures.blocked_by(step(&steps, "C")), None);
        assert_eq!(failures.blocked_by(step(&steps, "g")), None);
    }

    #[test]
    fn held_back_steps_hold_back_their_own_readers() {
        let old = "A = 1\nB = A + 1\nC = B + 1\n";
        let new = "A = 2\nB = A + 1\nC = B + 1\n";
        let steps = plan(old, new);
        let mut failures = Failures::default();
        failures.record(step(&steps, "A"));
        let b = step(&steps, "B");
        assert_eq!(failures.blocked_by(b), Some("A"));
        failures.record(b);
        assert_eq!(failures.blocked_by(step(&steps, "C")), Some("B"));
    }

    #[test]
    fn steps_inside_a_failed_class_are_held_back() {
        let old = "class K:\n    X = 1\n\n    def m(self):\n        return 1\n\nclass J:\n    def m(self):\n        return 1\n";
        let new = "class K(object):\n    X = 2\n\n    def m(self):\n        return 2\n\nclass J:\n    def m(self):\n        return 2\n";
        let steps = plan(old, new);
        let mut failures = Failures::default();
        failures.record(step(&steps, "K"));
        assert_eq!(failures.blocked_by(step(&steps, "K.m")), Some("K"));
        assert_eq!(failures.blocked_by(step(&steps, "J.m")), None);
    }

    #[test]
    fn a_class_name_and_a_module_name_are_different_names() {
        let old = "X = 1\n\nclass K:\n    X = 1\n    Y = X\n";
        let new = "X = 2\n\nclass K:\n    X = 2\n    Y = X\n";
        let steps = plan(old, new);
        let mut failures = Failures::default();
        failures.record(step(&steps, "K.X"));
        assert_eq!(failures.blocked_by(step(&steps, "X")), None);
    }
}
