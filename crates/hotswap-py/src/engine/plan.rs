//! Planning one file's edit against the text it runs, through the core's one pipeline entry
//! ([`plan_edit`]); only sources in an encoding that Rust does not decode go through Python.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotswap_core::kept::{kept_lines, KeptLines};
use hotswap_core::pipeline::{plan_edit, plan_text, Planned, Running};
use hotswap_core::plan::PatchPlan;
use hotswap_core::source::{decode_source, DecodeError};
use hotswap_core::tree::{DefinitionTree, Item, SyntaxIssue};
use pyo3::intern;
use pyo3::prelude::*;

use super::Engine;
use crate::pyerr::{describe_exception, lock};

/// One file's planned edit: the plan, and the text, tree and hash the file runs once applied.
pub(super) struct FileWork {
    pub(super) path: PathBuf,
    pub(super) plan: Arc<PatchPlan>,
    /// The lines the edit left alone at both ends of the file (linecache keeps their strings).
    pub(super) kept: Option<KeptLines>,
    pub(super) text: Arc<str>,
    pub(super) tree: DefinitionTree,
    pub(super) hash: u64,
}

/// What planning one file's new bytes gave the engine.
pub(super) enum FilePlan {
    /// The file runs this content already.
    Unchanged,
    /// hotswap has no record of what the file runs.
    Unrecorded,
    Error {
        line: u32,
        message: String,
    },
    /// Syntax errors: line, 1-based column, message.
    Errors(Vec<(u32, u32, String)>),
    Edit(Box<FileWork>),
}

/// What applying one file's plan gave, for its record.
pub(super) enum FileResult {
    /// Applied; these steps failed and must be retried by the next save.
    Applied(Vec<hotswap_core::plan::PatchStep>),
    Rejected,
}

/// A plan made ahead of its batch: for `path`'s content `hash`, against the record `running`.
pub(super) struct Preplanned {
    path: PathBuf,
    hash: u64,
    running: u64,
    work: Box<FileWork>,
}

impl Engine {
    /// Whether a save of `path` that just ended may be applied at once, before the debounce:
    /// yes unless its plan runs something (a statement, a default, a decorator), which could
    /// read a name that another file of the same save brings, or the file is not one the
    /// program runs (a new module, a package replacing a module: its batch needs the rest of
    /// the save). Called on the watcher thread; the plan is kept for the batch. Pure Rust.
    pub fn settles_at_once(&self, path: &Path, content: &[u8]) -> bool {
        let hash = hotswap_core::watch::content_hash(content);
        let (running, planned, kept) = {
            let files = lock(&self.files);
            let Some(record) = files.get(path) else { return false };
            if record.hash == hash {
                return true;
            }
            let (planned, kept) = plan_against(record, content);
            (record.hash, planned, kept)
        };
        // Syntax errors and other codecs are planned again by the batch; nothing of them runs.
        let Planned::Edit { text, tree, plan } = planned else { return true };
        let alone = plan.runs_nothing();
        let work =
            Box::new(FileWork { path: path.to_path_buf(), plan: plan.into(), text: text.into(), tree, hash, kept });
        *lock(&self.preplanned) = Some(Preplanned { path: path.to_path_buf(), hash, running, work });
        alone
    }

    /// The plan [`Engine::settles_at_once`] made for this content, if the record is still the
    /// one it was planned against.
    fn take_preplanned(&self, path: &Path, hash: u64, running: u64) -> Option<Box<FileWork>> {
        let mut slot = lock(&self.preplanned);
        let fits = slot.as_ref().is_some_and(|p| p.path == path && p.hash == hash && p.running == running);
        fits.then(|| slot.take().map(|p| p.work)).flatten()
    }

    /// Plans the new `content` of `path` against the text it runs. The record is read in place
    /// (planning is pure Rust: no Python runs while the records are locked).
    pub(super) fn plan_file(&self, path: &Path, content: &[u8], hash: u64) -> FilePlan {
        let version = crate::interpreter::grammar();
        let (planned, kept) = {
            let files = lock(&self.files);
            let Some(record) = files.get(path) else { return FilePlan::Unrecorded };
            if record.hash == hash {
                return FilePlan::Unchanged;
            }
            if let Some(work) = self.take_preplanned(path, hash, record.hash) {
                return FilePlan::Edit(work);
            }
            plan_against(record, content)
        };
        let (planned, kept) = match planned {
            Planned::NeedsCodec { encoding } => match decode_with_python(content, &encoding) {
                Ok(text) => {
                    let files = lock(&self.files);
                    let Some(record) = files.get(path) else { return FilePlan::Unrecorded };
                    let planned = plan_text(Running { text: &record.text, tree: record.tree.as_ref() }, text, version);
                    let kept = kept_of(&planned, &record.text);
                    (planned, kept)
                }
                Err(message) => return FilePlan::Error { line: 0, message },
            },
            planned => (planned, kept),
        };
        match planned {
            Planned::Edit { text, tree, plan } => {
                let path = path.to_path_buf();
                FilePlan::Edit(Box::new(FileWork { path, plan: plan.into(), text: text.into(), tree, hash, kept }))
            }
            Planned::Syntax { text, issues } => FilePlan::Errors(syntax_errors(path, &text, issues)),
            Planned::Undecodable { line, message } => {
                FilePlan::Error { line, message: format!("not applied: {message}") }
            }
            Planned::NeedsCodec { encoding } => {
                FilePlan::Error { line: 0, message: format!("not applied: cannot decode as {encoding}") }
            }
        }
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

/// The lines an edit's new text shares with `old` at both ends.
/// The plan of `content` against the text `record` runs, and the lines the edit left alone.
fn plan_against(record: &super::records::FileRecord, content: &[u8]) -> (Planned, Option<KeptLines>) {
    let running = Running { text: &record.text, tree: record.tree.as_ref() };
    let planned = plan_edit(running, content, crate::interpreter::grammar());
    let kept = kept_of(&planned, &record.text);
    (planned, kept)
}

fn kept_of(planned: &Planned, old: &str) -> Option<KeptLines> {
    match planned {
        Planned::Edit { text, .. } => Some(kept_lines(old, text)),
        _ => None,
    }
}

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
fn syntax_errors(path: &Path, text: &str, issues: Vec<SyntaxIssue>) -> Vec<(u32, u32, String)> {
    let describe = |line: u32, column: u32, message: &str| {
        (
            line,
            column.max(1),
            format!(
                "syntax error (column {column}): {message}; the file was not applied, its previous code keeps running"
            ),
        )
    };
    let ruff: Vec<(u32, u32, String)> = issues.iter().map(|i| describe(i.line, i.column, &i.message)).collect();
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
