//! Phase 2, commit: assignments only. No user code runs, so another thread sees either none of
//! the batch or all of it.

use hotswap_core::kept::KeptLines;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple};

use super::{FileOutcome, FilePatch, Prepared, Swap};
use crate::attr_names::AttrNames;
use crate::pyerr::describe_exception;

/// The cycle collector paused from before the last look at the other threads' stacks until
/// the batch is committed: a collection can run finalizers (`__del__`, weakref callbacks), Python
/// code that lets other threads run between that look and the commit, or sees half a batch.
pub(super) struct CollectorPaused<'py> {
    enable: Option<Bound<'py, PyAny>>,
}

impl<'py> CollectorPaused<'py> {
    pub(super) fn new(py: Python<'py>) -> Self {
        static GC: PyOnceLock<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
        let functions = GC.get_or_try_init(py, || -> PyResult<_> {
            let gc = py.import("gc")?;
            Ok((gc.getattr("isenabled")?.unbind(), gc.getattr("disable")?.unbind(), gc.getattr("enable")?.unbind()))
        });
        let Ok((isenabled, disable, enable)) = functions else { return CollectorPaused { enable: None } };
        let enabled = isenabled.call0(py).and_then(|v| v.extract::<bool>(py)).unwrap_or(false);
        if !enabled || disable.call0(py).is_err() {
            return CollectorPaused { enable: None };
        }
        CollectorPaused { enable: Some(enable.bind(py).clone()) }
    }
}

impl Drop for CollectorPaused<'_> {
    fn drop(&mut self) {
        if let Some(enable) = self.enable.take() {
            let _ = enable.call0();
        }
    }
}

/// Phase 2: assignments only (the caller holds the cycle collector paused). `names` were made
/// before the last look: nothing here may let go of the GIL, nor run Python code (an error is
/// described once the commit is done).
pub(super) fn commit<'py>(
    py: Python<'py>,
    names: &AttrNames,
    prepared: &[Option<Prepared<'py>>],
    patches: &[FilePatch<'py>],
    outcomes: &mut [FileOutcome],
) {
    // Replaced values are released only after the last swap: freeing one could run a user
    // finalizer (`__del__`), which must not see half a batch.
    let mut replaced = Vec::new();
    let mut failed: Vec<(usize, &'static str, PyErr)> = Vec::new();
    for (file, prep) in prepared.iter().enumerate() {
        let Some(prep) = prep else { continue };
        for swap in &prep.swaps {
            if let Err(err) = apply_swap(names, swap, &mut replaced) {
                failed.push((file, "could not update code: ", err));
            }
        }
        for (class, attr, value) in &prep.class_attrs {
            replaced.extend(class.getattr(*attr).ok());
            if let Err(err) = class.setattr(*attr, value) {
                failed.push((file, "", err));
            }
        }
    }
    drop(replaced);
    for (file, prefix, err) in failed {
        let message = format!("{prefix}{}", describe_exception(py, &err));
        outcomes[file].report.error(&patches[file].display_path, 0, message);
    }
}

/// Sets the new code (and defaults, annotations, docstring) on a live function; the values it
/// replaces go to `replaced`, for the caller to release when it is safe.
pub(super) fn apply_swap<'py>(
    names: &AttrNames,
    swap: &Swap<'py>,
    replaced: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<()> {
    let function = &swap.function;
    let py = function.py();
    replaced.push(function.getattr(names.code.bind(py))?);
    function.setattr(names.code.bind(py), swap.code.clone())?;
    let mut set = |attr: &Py<PyString>, value: Bound<'py, PyAny>| -> PyResult<()> {
        replaced.extend(function.getattr(attr.bind(py)).ok());
        function.setattr(attr.bind(py), value)
    };
    if let Some(fresh) = &swap.attrs {
        for attr in [&names.defaults, &names.kwdefaults, &names.doc, &names.type_params] {
            if let Ok(value) = fresh.getattr(attr.bind(py)) {
                set(attr, value)?;
            }
        }
        // 3.14+ evaluates annotations lazily through `__annotate__`; copy that, not the result.
        if fresh.hasattr(names.annotate.bind(py))? {
            set(&names.annotate, fresh.getattr(names.annotate.bind(py))?)?;
        } else {
            set(&names.annotations, fresh.getattr(names.annotations.bind(py))?)?;
        }
    }
    Ok(())
}

/// Whether `str.splitlines(True)` splits `text` exactly where `\n` ends lines: it also splits at
/// `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, U+2028 and U+2029.
fn splits_only_at_newlines(text: &str) -> bool {
    let ascii_break = |b: &u8| matches!(b, b'\r' | 0x0b | 0x0c | 0x1c..=0x1e);
    !text.as_bytes().iter().any(ascii_break) && (text.is_ascii() || !text.contains(['\u{85}', '\u{2028}', '\u{2029}']))
}

/// Every line of `text` as a new string.
fn all_lines<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    match splits_only_at_newlines(text) {
        // One string, split by Python: much cheaper than a string per line from here.
        true => PyString::new(py, text).call_method1(intern!(py, "splitlines"), (true,)),
        false => Ok(PyList::new(py, text.split_inclusive('\n'))?.into_any()),
    }
}

/// The lines of `text` from the entry linecache holds for the previous text (the one hotswap
/// set: its size and line count match, no mtime), keeping the strings of the lines the edit
/// left alone at both ends; `None` when there is no such entry.
fn lines_kept<'py>(
    cache: &Bound<'py, PyAny>,
    filename: &str,
    text: &str,
    kept: &KeptLines,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Ok(entry) = cache.get_item(filename) else { return Ok(None) };
    let Ok(entry) = entry.cast_into::<PyTuple>() else { return Ok(None) };
    if entry.len() != 4
        || !entry.get_item(1)?.is_none()
        || entry.get_item(0)?.extract::<usize>().ok() != Some(kept.old_len)
    {
        return Ok(None);
    }
    let Ok(old) = entry.get_item(2)?.cast_into::<PyList>() else { return Ok(None) };
    if old.len() != kept.old_lines {
        return Ok(None);
    }
    let middle = text.get(kept.head_bytes..text.len() - kept.tail_bytes).unwrap_or_default();
    let lines = old.get_slice(0, kept.head);
    for line in middle.split_inclusive('\n') {
        lines.append(line)?;
    }
    lines.call_method1(intern!(cache.py(), "extend"), (old.get_slice(kept.old_lines - kept.tail, kept.old_lines),))?;
    Ok(Some(lines.into_any()))
}

/// `linecache` holds the text that runs: the entry has no mtime, so `checkcache` keeps it.
/// `kept`: what the edit left alone since the previous text, whose lines may be reused.
pub(super) fn refresh_linecache(py: Python<'_>, filename: &str, text: &str, kept: Option<&KeptLines>) {
    let result: PyResult<()> = (|| {
        let cache = py.import("linecache")?.getattr(intern!(py, "cache"))?;
        let reused = match kept {
            Some(kept) => lines_kept(&cache, filename, text, kept)?,
            None => None,
        };
        let lines = match reused {
            Some(lines) => lines,
            None => all_lines(py, text)?,
        };
        cache.set_item(filename, (text.len(), py.None(), lines, filename))?;
        Ok(())
    })();
    if let Err(err) = result {
        log::debug!(target: "hotswap", "linecache not updated for {filename}: {}", describe_exception(py, &err));
    }
}
