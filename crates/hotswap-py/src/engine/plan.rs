//! Planning one file's edit: new bytes → decoded text → parsed tree → diff against what the
//! file runs → the plan the applier carries out.

use std::path::{Path, PathBuf};

use hotswap_core::diff::diff_trees;
use hotswap_core::parse::parse_definitions;
use hotswap_core::plan::{module_docstring_step, plan_patch, PatchPlan};
use hotswap_core::source::{decode_source, DecodeError};
use hotswap_core::tree::{DefinitionTree, Item, SyntaxIssue};
use pyo3::intern;
use pyo3::prelude::*;

use super::{Engine, PYTHON_VERSION};
use crate::pyerr::{describe_exception, lock};

/// One file's planned edit: the plan, and the text, tree and hash the file runs once applied.
pub(super) struct FileWork {
    pub(super) path: PathBuf,
    pub(super) plan: PatchPlan,
    pub(super) text: String,
    pub(super) tree: DefinitionTree,
    pub(super) hash: u64,
}

/// What planning one file's new bytes gave.
pub(super) enum Planned {
    Nothing,
    Unrecorded,
    Error { line: u32, message: String },
    Errors(Vec<(u32, String)>),
    Patch(Box<FileWork>),
}

/// What applying one file's plan gave, for its record.
pub(super) enum FileResult {
    /// Applied; these steps failed and must be retried by the next save.
    Applied(Vec<hotswap_core::plan::PatchStep>),
    Rejected,
}

impl Engine {
    /// Plans the new `content` of `path` against the text it runs.
    pub(super) fn plan_file(&self, path: &Path, content: &[u8], hash: u64) -> Planned {
        let old_text = {
            let files = lock(&self.files);
            match files.get(path) {
                None => return Planned::Unrecorded,
                Some(record) if record.hash == hash => return Planned::Nothing,
                Some(record) => (record.tree.clone(), record.text.clone()),
            }
        };
        match decode_text(content) {
            Ok(text) => self.plan_text(path, text, hash, old_text),
            Err((line, message)) => Planned::Error { line, message: format!("not applied: {message}") },
        }
    }

    fn plan_text(&self, path: &Path, text: String, hash: u64, old: (Option<DefinitionTree>, String)) -> Planned {
        let version = *PYTHON_VERSION.get().unwrap_or(&(3, 9));
        let new_tree = match parse_definitions(&text, version) {
            Ok(tree) => tree,
            Err(issues) => return Planned::Errors(syntax_errors(path, &text, issues)),
        };
        let old_tree = match old.0 {
            Some(tree) => tree,
            None => match parse_definitions(&old.1, version) {
                Ok(tree) => tree,
                Err(_) => {
                    // The running version never parsed (it cannot have been imported as is):
                    // take the new text as the base from now on.
                    return Planned::Patch(Box::new(FileWork {
                        path: path.to_path_buf(),
                        plan: PatchPlan::default(),
                        text,
                        tree: new_tree,
                        hash,
                    }));
                }
            },
        };
        let changes = diff_trees(&old_tree, &new_tree);
        let mut plan = plan_patch(&text, &new_tree, &changes);
        if let Some(step) = module_docstring_step(&text, &new_tree, old_tree.docstring_hash) {
            plan.steps.insert(0, step);
        }
        drop(changes);
        Planned::Patch(Box::new(FileWork { path: path.to_path_buf(), plan, text, tree: new_tree, hash }))
    }
}

/// Makes the item at `line` in `scope` look changed to the next diff, so a step that failed is
/// tried again on the next save instead of being taken as done.
pub(super) fn mark_dirty(items: &mut [Item], scope: &[String], line: u32) {
    let mut items = items;
    for name in scope {
        let next = items.iter_mut().find_map(|item| match item {
            Item::Def(d) if d.kind.is_class() && &d.name == name => Some(&mut d.children),
            _ => None,
        });
        match next {
            Some(children) => items = children,
            None => return,
        }
    }
    for item in items.iter_mut() {
        match item {
            Item::Def(d) if d.span.start == line => d.body_hash ^= DIRTY,
            Item::Stmt(s) if s.span.start == line => s.text_hash ^= DIRTY,
            _ => {}
        }
    }
}

const DIRTY: u64 = 0x9e37_79b9_7f4a_7c15;

/// Source bytes → text: UTF-8, BOM and PEP 263 cookies for UTF-8/Latin-1/ASCII in Rust, any
/// other declared encoding through Python's codecs. An error carries its line (0 if none).
pub(super) fn decode_text(content: &[u8]) -> Result<String, (u32, String)> {
    match decode_source(content) {
        Ok(text) => Ok(text),
        Err(DecodeError::OtherEncoding(name)) => decode_with_python(content, &name).map_err(|m| (0, m)),
        Err(err @ (DecodeError::Invalid { line, .. } | DecodeError::Binary { line })) => Err((line, err.to_string())),
    }
}

/// The syntax errors to report. ruff finds every error in one pass, but after an unclosed
/// bracket it reports where the parse gave up, not where the bracket is; CPython's compiler
/// names the first error as Python users know it. When they disagree on the first line,
/// CPython's error is the one reported.
fn syntax_errors(path: &Path, text: &str, issues: Vec<SyntaxIssue>) -> Vec<(u32, String)> {
    let describe = |line: u32, column: u32, message: &str| {
        (line, format!("syntax error (column {column}): {message}; not applied, the previous code keeps running"))
    };
    let ruff: Vec<(u32, String)> = issues.iter().map(|i| describe(i.line, i.column, &i.message)).collect();
    let first_ruff_line = issues.first().map_or(0, |i| i.line);
    let cpython = Python::attach(|py| -> Option<(u32, u32, String)> {
        let compile = py.import("builtins").ok()?.getattr("compile").ok()?;
        let err = compile.call1((text, path.display().to_string(), "exec", 0, true)).err()?;
        let value = err.value(py);
        let line = value.getattr(intern!(value.py(), "lineno")).ok()?.extract::<u32>().ok()?;
        let column = value.getattr(intern!(value.py(), "offset")).ok()?.extract::<u32>().unwrap_or(0);
        let message = value.getattr(intern!(value.py(), "msg")).ok()?.extract::<String>().ok()?;
        Some((line, column, message))
    });
    match cpython {
        Some((line, column, message)) if line != first_ruff_line => vec![describe(line, column, &message)],
        _ => ruff,
    }
}

fn decode_with_python(content: &[u8], encoding: &str) -> Result<String, String> {
    Python::attach(|py| {
        let bytes = pyo3::types::PyBytes::new(py, content);
        match bytes.call_method1("decode", (encoding,)).and_then(|s| s.extract::<String>()) {
            Ok(text) => Ok(text),
            Err(err) => Err(format!("not applied: cannot decode as {encoding}: {}", describe_exception(py, &err))),
        }
    })
}
