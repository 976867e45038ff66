//! What `hotswap.live_loop` asks the engine: the source a file runs now. A live loop checks the
//! hash at each iteration (one lookup), and reads the text only when it changed.

use pyo3::prelude::*;

use crate::engine::ENGINE;

/// The hash of the source `filename` (a code object's `co_filename`) runs now, or `None` when
/// hotswap has no record of it.
#[pyfunction]
fn running_source_hash(filename: &str) -> Option<u64> {
    ENGINE.canonical_path(filename).and_then(|path| ENGINE.recorded_hash(&path))
}

/// `(hash, text)` of the source `filename` runs now, or `None` when hotswap has no record of it.
#[pyfunction]
fn running_source(filename: &str) -> Option<(u64, String)> {
    ENGINE.canonical_path(filename).and_then(|path| ENGINE.recorded_source(&path))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(running_source_hash, m)?)?;
    m.add_function(wrap_pyfunction!(running_source, m)?)?;
    Ok(())
}
