//! What `hotswap.patch` needs from the engine: apply a text as a file's new content without
//! touching the file, and read the text a file's module runs (where each definition of a text
//! is comes from [`crate::parsed`]).

use std::path::PathBuf;

use hotswap_core::watch::{content_hash, FileEvent};
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
