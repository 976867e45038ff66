//! The one way from a file's new bytes to its patch plan: decode, parse, diff, plan, and the
//! module docstring's step. The engine and the core's own tests both go through here, so the
//! tests cover exactly what ships.

use crate::diff::diff_trees;
use crate::parse::{parse_definitions, parse_definitions_after, PythonVersion};
use crate::plan::{module_docstring_step, plan_patch, PatchPlan};
use crate::source::{decode_source, DecodeError};
use crate::tree::{DefinitionTree, SyntaxIssue};

/// The version of a file the program runs now: its text, and its tree when it was parsed.
pub struct Running<'a> {
    pub text: &'a str,
    pub tree: Option<&'a DefinitionTree>,
}

/// The outcome of planning one edit.
#[derive(Debug)]
pub enum Planned {
    /// The source declares an encoding only Python's codecs know: decode it there and call
    /// [`plan_text`] with the text.
    NeedsCodec { encoding: String },
    /// The bytes are not valid in their encoding (or are binary); `line` is 0 when unknown.
    Undecodable { line: u32, message: String },
    /// The new text does not parse; nothing can be applied.
    Syntax { text: String, issues: Vec<SyntaxIssue> },
    /// The new version, and the plan that brings the running module to it. When the running
    /// version never parsed (it cannot have been imported as it is), the plan is empty and the
    /// new text becomes the base of later edits.
    Edit { text: String, tree: DefinitionTree, plan: PatchPlan },
}

/// Plans the edit from `old` to `new_bytes`, as the interpreter `version` would read them.
pub fn plan_edit(old: Running<'_>, new_bytes: &[u8], version: PythonVersion) -> Planned {
    match decode_source(new_bytes) {
        Ok(text) => plan_text(old, text, version),
        Err(DecodeError::OtherEncoding(encoding)) => Planned::NeedsCodec { encoding },
        Err(err @ (DecodeError::Invalid { line, .. } | DecodeError::Binary { line })) => {
            Planned::Undecodable { line, message: err.to_string() }
        }
    }
}

/// Plans the edit from `old` to the already decoded `text`.
pub fn plan_text(old: Running<'_>, text: String, version: PythonVersion) -> Planned {
    // One parse per file version: the running version's tree spares re-parsing what the edit
    // did not touch.
    let parsed = match old.tree {
        Some(old_tree) => parse_definitions_after(old.text, old_tree, &text, version),
        None => parse_definitions(&text, version),
    };
    let tree = match parsed {
        Ok(tree) => tree,
        Err(issues) => return Planned::Syntax { text, issues },
    };
    let parsed_old;
    let old_tree = match old.tree {
        Some(tree) => tree,
        None => match parse_definitions(old.text, version) {
            Ok(tree) => {
                parsed_old = tree;
                &parsed_old
            }
            Err(_) => return Planned::Edit { text, tree, plan: PatchPlan::default() },
        },
    };
    let changes = diff_trees(old_tree, &tree);
    let mut plan = plan_patch(&text, &tree, &old_tree.imported, &changes);
    if let Some(step) = module_docstring_step(&text, &tree, old_tree.docstring_hash) {
        plan.steps.insert(0, step);
    }
    drop(changes);
    Planned::Edit { text, tree, plan }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PY: PythonVersion = (3, 12);

    fn running(text: &str) -> Running<'_> {
        Running { text, tree: None }
    }

    #[test]
    fn an_edit_plans_its_steps_and_the_module_docstring() {
        let old = "\"\"\"Old.\"\"\"\ndef f():\n    return 1\n";
        let new = "\"\"\"New.\"\"\"\ndef f():\n    return 2\n";
        let Planned::Edit { plan, .. } = plan_edit(running(old), new.as_bytes(), PY) else { panic!("no plan") };
        let names: Vec<String> = plan.steps.iter().map(|s| s.dotted_name()).collect();
        assert_eq!(names, ["__doc__", "f"]);
    }

    #[test]
    fn a_tree_already_parsed_is_used_as_is() {
        let old = "def f():\n    return 1\n";
        let tree = parse_definitions(old, PY).expect("parses");
        let Planned::Edit { plan, .. } =
            plan_edit(Running { text: old, tree: Some(&tree) }, b"def f():\n    return 2\n", PY)
        else {
            panic!("no plan")
        };
        assert_eq!(plan.steps.len(), 1);
    }

    #[test]
    fn syntax_errors_and_bad_bytes_are_outcomes_not_panics() {
        assert!(matches!(plan_edit(running(""), b"def f(:\n", PY), Planned::Syntax { .. }));
        assert!(matches!(plan_edit(running(""), b"x = '\xff'\n", PY), Planned::Undecodable { line: 1, .. }));
        let cp1252 = b"# -*- coding: cp1252 -*-\nx = 1\n";
        assert!(
            matches!(plan_edit(running(""), cp1252, PY), Planned::NeedsCodec { ref encoding } if encoding == "cp1252")
        );
    }

    #[test]
    fn a_running_version_that_never_parsed_is_replaced_without_steps() {
        let Planned::Edit { plan, text, .. } = plan_edit(running("def f(:\n"), b"def f():\n    pass\n", PY) else {
            panic!("no plan")
        };
        assert!(plan.is_empty());
        assert!(text.starts_with("def f()"));
    }
}
