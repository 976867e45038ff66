//! What `hotswap.live_loop` asks the engine: the source a file runs now. A live loop reads a
//! counter of applied sources at each iteration (one atomic load), the hash of its own file
//! when the counter moved, and the text only when its file changed.

use pyo3::prelude::*;
use pyo3::types::PyIterator;
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::{self, ENGINE};

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

/// How many times an applied source was recorded: unchanged means no loop body changed.
#[pyfunction]
fn source_generation() -> u64 {
    engine::source_generation()
}

/// The iteration of a live loop (`hotswap._liveloop.LiveLoop` extends it). While the loop runs
/// its frame's own body and no source was applied since the last iteration (`fast`), the next
/// item is handed over here without running any Python code of hotswap; otherwise, and when the
/// items run out or raise, the Python side (`_next`, `_finish`) takes over.
#[pyclass(module = "hotswap._core", subclass)]
pub struct LiveIter {
    items: Option<Py<PyIterator>>,
    /// `source_generation()` when the loop last looked.
    #[pyo3(get, set)]
    generation: u64,
    #[pyo3(get, set)]
    fast: bool,
}

#[pymethods]
impl LiveIter {
    #[new]
    #[pyo3(signature = (items, *_rest))]
    fn new(items: &Bound<'_, PyAny>, _rest: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<Self> {
        Ok(LiveIter { items: Some(items.try_iter()?.unbind()), generation: engine::source_generation(), fast: true })
    }

    /// The next item of the underlying iterable (`StopIteration` at the end).
    fn _next_item<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let Some(items) = &self.items else {
            return Err(pyo3::exceptions::PyStopIteration::new_err(()));
        };
        match items.bind(py).clone().next() {
            Some(item) => item,
            None => Err(pyo3::exceptions::PyStopIteration::new_err(())),
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(slf: &Bound<'py, Self>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let (fast, generation, items) = {
            let me = slf.borrow();
            (me.fast, me.generation, me.items.as_ref().map(|i| i.clone_ref(py)))
        };
        let result = match (fast, items) {
            (true, Some(items)) => match items.bind(py).clone().next() {
                None => Ok(None),
                Some(Err(err)) => Err(err),
                Some(Ok(item)) if engine::source_generation() == generation => return Ok(Some(item)),
                Some(Ok(item)) => slf.call_method1("_next", (item,)).map(Some),
            },
            _ => slf.call_method0("_next").map(Some),
        };
        if !matches!(result, Ok(Some(_))) {
            // Ended (or raised): variables written back, frame released; it stays ended.
            if let Err(err) = slf.call_method0("_finish") {
                log::debug!(target: "hotswap", "live loop: finishing failed: {err}");
            }
        }
        match result {
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => Ok(None),
            other => other,
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.items)
    }

    fn __clear__(&mut self) {
        self.items = None;
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(running_source_hash, m)?)?;
    m.add_function(wrap_pyfunction!(running_source, m)?)?;
    m.add_function(wrap_pyfunction!(source_generation, m)?)?;
    m.add_class::<LiveIter>()?;
    Ok(())
}
