//! What `hotswap.live_loop` asks the engine. A live loop reads a counter of applied sources
//! at each iteration (one atomic load) and, only when it moved, its own loop's record: the
//! engine parsed each file version once and kept the loops found in it, so a check is one
//! lookup and a hash comparison, never a parse.

use hotswap_core::tree::{LiveLoopKind, LiveLoopSite};
use pyo3::prelude::*;
use pyo3::types::PyIterator;
use pyo3::{PyTraverseError, PyVisit};

use crate::engine::{self, ENGINE};

/// One live loop of the source a file runs now (`hotswap._liveloop` reads it).
#[pyclass(module = "hotswap._core", frozen, get_all)]
pub struct LiveLoopRecord {
    /// Names of the enclosing `def`/`class` statements, outermost first.
    scope: Vec<String>,
    /// Rank among the live loops of `scope`, in source order.
    index: usize,
    /// `"for"` (`for ... in live_loop(...)`) or `"while"` (`while True:`).
    kind: &'static str,
    /// First line of the loop and last line of its header.
    line: u32,
    header_end: u32,
    /// Hash of the loop's own text: equal means the loop did not change.
    text_hash: u64,
    /// `(line, what)` when the body uses what only works in its function.
    problem: Option<(u32, &'static str)>,
    /// The body as a one-item `for` loop at its lines in the file, for `compile()`.
    runner: String,
}

impl LiveLoopRecord {
    fn new((site, index, runner): (LiveLoopSite, usize, String)) -> Self {
        let kind = match site.kind {
            LiveLoopKind::ForLiveLoop => "for",
            LiveLoopKind::WhileTrue => "while",
        };
        LiveLoopRecord {
            scope: site.scope,
            index,
            kind,
            line: site.span.start,
            header_end: site.header_end,
            text_hash: site.text_hash,
            problem: site.problem,
            runner,
        }
    }
}

/// The live loop of `filename` (a code object's `co_filename`) whose header holds `line`: where
/// a frame stands when it calls `live_loop(...)`. `None` when hotswap has no record of the file
/// or no such loop is there.
#[pyfunction]
fn live_loop_at(py: Python<'_>, filename: &str, line: u32) -> Option<LiveLoopRecord> {
    let path = ENGINE.canonical_path(filename)?;
    let pick = |sites: &[LiveLoopSite]| sites.iter().position(|s| s.span.start <= line && line <= s.header_end);
    py.detach(|| ENGINE.live_loop_site(&path, pick)).map(LiveLoopRecord::new)
}

/// The `index`-th live loop of `scope` in the source `filename` runs now, or `None`.
#[pyfunction]
fn live_loop(py: Python<'_>, filename: &str, scope: Vec<String>, index: usize) -> Option<LiveLoopRecord> {
    let path = ENGINE.canonical_path(filename)?;
    let pick = |sites: &[LiveLoopSite]| {
        sites.iter().enumerate().filter(|(_, s)| s.scope == scope).nth(index).map(|(position, _)| position)
    };
    py.detach(|| ENGINE.live_loop_site(&path, pick)).map(LiveLoopRecord::new)
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
    /// Address of the frame running the loop (0: none), known to [`crate::quiesce`] while the
    /// loop runs: a batch never waits for a live loop to leave its module.
    frame: usize,
}

#[pymethods]
impl LiveIter {
    #[new]
    #[pyo3(signature = (items, *rest))]
    fn new(items: &Bound<'_, PyAny>, rest: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<Self> {
        let items = items.try_iter()?.unbind();
        // `LiveLoop(iterable, frame)`: the frame object stays alive while the loop runs.
        let frame = rest.get_item(0).map(|f| f.as_ptr() as usize).unwrap_or(0);
        if frame != 0 {
            crate::quiesce::live_loop_started(frame);
        }
        Ok(LiveIter { items: Some(items), generation: engine::source_generation(), fast: true, frame })
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
            if let Ok(mut me) = slf.try_borrow_mut() {
                crate::quiesce::live_loop_ended(std::mem::take(&mut me.frame));
            }
        }
        match result {
            Err(err) if err.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => Ok(None),
            Err(err) => Err(without_hotswap_frames(py, err)),
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

impl Drop for LiveIter {
    fn drop(&mut self) {
        if self.frame != 0 {
            crate::quiesce::live_loop_ended(self.frame);
        }
    }
}

/// An exception a loop body raised, as a plain loop would show it: without the leading
/// traceback entries of hotswap's own frames (`_next`, `_run`).
fn without_hotswap_frames(py: Python<'_>, err: PyErr) -> PyErr {
    let is_hotswap = |tb: &Bound<'_, PyAny>| -> PyResult<bool> {
        let name = tb.getattr("tb_frame")?.getattr("f_globals")?.get_item("__name__")?;
        Ok(name.extract::<&str>().is_ok_and(|n| n.starts_with("hotswap.")))
    };
    let Some(first) = err.traceback(py) else { return err };
    let mut tb = first.into_any();
    while is_hotswap(&tb).unwrap_or(false) {
        match tb.getattr("tb_next") {
            Ok(next) if !next.is_none() => tb = next,
            _ => return err,
        }
    }
    let value = err.value(py).clone();
    match value.setattr("__traceback__", tb) {
        Ok(()) => PyErr::from_value(value.into_any()),
        Err(_) => err,
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(live_loop_at, m)?)?;
    m.add_function(wrap_pyfunction!(live_loop, m)?)?;
    m.add_class::<LiveLoopRecord>()?;
    m.add_function(wrap_pyfunction!(source_generation, m)?)?;
    m.add_class::<LiveIter>()?;
    Ok(())
}
