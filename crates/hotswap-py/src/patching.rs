//! What `hotswap.patch` needs from the engine: apply a text as a file's new content without
//! touching the file, read the text a file's module runs, and where each definition of a text is.

use std::path::PathBuf;

use hotswap_core::parse::parse_definitions;
use hotswap_core::tree::{DefKind, Item};
use hotswap_core::watch::{content_hash, FileEvent};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::engine::ENGINE;
use crate::report::Report;

fn canonical(path: &str) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path))
}

/// Applies `text` as if the file at `path` had been saved with it, and records it as the text
/// the module runs (later diffs start from it). The file itself is neither read nor written.
#[pyfunction]
pub fn reload_source(py: Python<'_>, path: &str, text: &str) -> Report {
    let content = text.as_bytes().to_vec();
    let input = FileEvent::Changed { hash: content_hash(&content), content, path: canonical(path) };
    py.detach(|| crate::panics::reload(vec![input]))
}

/// The source text the module loaded from `path` is running, as the engine recorded it
/// (`None` when the file has no record).
#[pyfunction]
pub fn recorded_source(path: &str) -> Option<String> {
    ENGINE.recorded_text(&canonical(path))
}

/// The text the module loaded from `path` ran before the last batch that changed it.
#[pyfunction]
pub fn previous_source(path: &str) -> Option<String> {
    ENGINE.previous_text(&canonical(path))
}

/// One item of [`definitions`]: (kind, qualname or statement key, start, end, first line, last
/// line, indent). `start..end` are character offsets into the text (decorators included, the
/// trailing newline not); kind is "function", "async function", "class" or "statement".
type DefinitionRow = (&'static str, String, usize, usize, u32, u32, String);

/// Every definition of `text` at any depth (methods, nested classes, functions nested in
/// functions), and the module-level statements. Raises `ValueError` on a syntax error.
#[pyfunction]
pub fn definitions(text: &str) -> PyResult<Vec<DefinitionRow>> {
    let version = crate::interpreter::grammar();
    let tree = parse_definitions(text, version).map_err(|issues| {
        let first = issues.first();
        PyValueError::new_err(format!(
            "line {}: {}",
            first.map_or(0, |i| i.line),
            first.map_or("invalid syntax", |i| i.message.as_str())
        ))
    })?;
    // Byte offsets → character offsets, for slicing a Python str.
    let mut chars_before = vec![0; text.len() + 1];
    for (n, (i, c)) in text.char_indices().enumerate() {
        chars_before[i..i + c.len_utf8()].fill(n);
    }
    chars_before[text.len()] = text.chars().count();
    let mut rows = Vec::new();
    collect(&tree.items, true, &chars_before, &mut rows);
    Ok(rows)
}

fn collect(items: &[Item], top: bool, chars: &[usize], rows: &mut Vec<DefinitionRow>) {
    for item in items {
        let range = item.byte_range();
        let last = chars.len() - 1;
        let (start, end) = (chars[range.start.min(last)], chars[range.end.min(last)]);
        match item {
            Item::Def(d) => {
                let kind = match d.kind {
                    DefKind::Function => "function",
                    DefKind::AsyncFunction => "async function",
                    DefKind::Class => "class",
                };
                rows.push((kind, d.qualname.clone(), start, end, d.span.start, d.span.end, d.indent.clone()));
                collect(&d.children, false, chars, rows);
            }
            Item::Stmt(s) if top => {
                rows.push(("statement", s.key.clone(), start, end, s.span.start, s.span.end, s.indent.clone()));
            }
            Item::Stmt(_) => {}
        }
    }
}
