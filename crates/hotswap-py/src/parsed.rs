//! What the engine's parser finds in a source, as named records for the Python layer, so it
//! never parses a source again: where each definition is (`hotswap.patch`), which modules a
//! file imports (`hotswap --test`), and a path as reports show it.

use std::path::Path;

use hotswap_core::imports::{candidate_modules, ImportedNames};
use hotswap_core::parse::{parse_definitions, parse_imports};
use hotswap_core::tree::{DefKind, Item};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::engine::ENGINE;

/// One definition (any depth) or module-level statement of a source.
#[pyclass(module = "hotswap._core", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct Definition {
    /// "function", "async function", "class" or "statement".
    pub kind: &'static str,
    /// The qualified name of a definition (`C.m`), the key of a statement.
    pub name: String,
    /// Character offsets into the source: decorators included, and a comment that ends its
    /// last line (`return x  # note`), so replacing the span replaces that comment too; the
    /// trailing newline not.
    pub start: usize,
    pub end: usize,
    /// 1-based lines.
    pub first_line: u32,
    pub last_line: u32,
    /// The indentation of its first line.
    pub indent: String,
}

#[pymethods]
impl Definition {
    fn __repr__(&self) -> String {
        format!("<Definition {} {} lines {}-{}>", self.kind, self.name, self.first_line, self.last_line)
    }
}

/// Every definition of `text` at any depth (methods, nested classes, functions nested in
/// functions), and the module-level statements. Raises `ValueError` on a syntax error.
#[pyfunction]
pub fn definitions(text: &str) -> PyResult<Vec<Definition>> {
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
    collect(text, &tree.items, true, &chars_before, &mut rows);
    Ok(rows)
}

/// `end` moved past a comment that follows it on the same line (spaces, then `#` to the end of
/// the line): the parser's span stops at the last token, but the comment belongs to that line.
fn with_trailing_comment(text: &str, end: usize) -> usize {
    let rest = &text[end..];
    let line = &rest[..rest.find(['\n', '\r']).unwrap_or(rest.len())];
    if line.trim_start_matches([' ', '\t', '\x0c']).starts_with('#') {
        end + line.len()
    } else {
        end
    }
}

fn collect(text: &str, items: &[Item], top: bool, chars: &[usize], rows: &mut Vec<Definition>) {
    for item in items {
        let range = item.byte_range();
        let last = chars.len() - 1;
        let end = with_trailing_comment(text, range.end.min(last));
        let (start, end) = (chars[range.start.min(last)], chars[end]);
        let (kind, name, span, indent) = match item {
            Item::Def(d) => {
                let kind = match d.kind {
                    DefKind::Function => "function",
                    DefKind::AsyncFunction => "async function",
                    DefKind::Class => "class",
                };
                (kind, &d.qualname, d.span, &d.indent)
            }
            Item::Stmt(s) if top => ("statement", &s.key, s.span, &s.indent),
            Item::Stmt(_) => continue,
        };
        let (first_line, last_line) = (span.start, span.end);
        rows.push(Definition { kind, name: name.clone(), start, end, first_line, last_line, indent: indent.clone() });
        if let Item::Def(d) = item {
            collect(text, &d.children, false, chars, rows);
        }
    }
}

/// One `import` or `from ... import` statement of a file (function bodies included).
#[pyclass(module = "hotswap._core", frozen)]
#[derive(Clone, Debug)]
pub struct Import(hotswap_core::imports::Import);

#[pymethods]
impl Import {
    /// Leading dots of a relative import (0 for absolute).
    #[getter]
    fn level(&self) -> u32 {
        self.0.level
    }

    /// The module as written after the dots (empty for `from . import x`).
    #[getter]
    fn module(&self) -> &str {
        &self.0.module
    }

    /// The names taken from the module as written there: `["*"]` for a star import, none for
    /// `import a.b`.
    #[getter]
    fn names(&self) -> Vec<String> {
        match &self.0.names {
            ImportedNames::Module => Vec::new(),
            ImportedNames::Names(pairs) => pairs.iter().map(|(name, _)| name.clone()).collect(),
            ImportedNames::Star => vec!["*".into()],
        }
    }

    /// The absolute names of the modules this statement may load when the module `importer`
    /// runs it (`is_package`: `importer` is a package's `__init__`): the module, and for
    /// `from pkg import x` the submodule `pkg.x`. Relative imports are resolved.
    fn modules(&self, importer: &str, is_package: bool) -> Vec<String> {
        candidate_modules(importer, is_package, &self.0)
    }

    fn __repr__(&self) -> String {
        let dots = ".".repeat(self.0.level as usize);
        format!("<Import {dots}{} {:?}>", self.0.module, self.names())
    }
}

/// The import statements of the file at `path`: from the engine's record of the text its
/// module runs, else read from disk (none when it cannot be read).
#[pyfunction]
pub fn imports(py: Python<'_>, path: &str) -> Vec<Import> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| Path::new(path).to_path_buf());
    let found = py.detach(|| {
        ENGINE.recorded_imports(&path).unwrap_or_else(|| {
            let Ok(bytes) = std::fs::read(&path) else { return Vec::new() };
            parse_imports(&String::from_utf8_lossy(&bytes), crate::interpreter::grammar())
        })
    });
    found.into_iter().map(Import).collect()
}

/// `path` as reports show it: relative to the working directory when under it.
#[pyfunction]
pub fn display_path(path: &str) -> String {
    let path = std::path::absolute(path).unwrap_or_else(|_| Path::new(path).to_path_buf());
    crate::engine::display_path(&path)
}
