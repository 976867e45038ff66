//! Inventory: the live function objects that run a given code object.
//!
//! Swapping `__code__` on every function that shares the old code object is what keeps identity:
//! `from m import f`, callbacks in registries, bound methods and decorator wrappers all hold the
//! same function object, and it now runs the new code. This module answers "which functions run
//! these code objects?" for a whole batch at once.
//!
//! - Python 3.12+: an index from code object to functions, kept current by a CPython function
//!   watcher (create, destroy and code-change events) and seeded once, when hotswap is
//!   installed, by one pass over the objects the cycle collector tracks. A lookup costs a hash
//!   probe per code object, whatever the size of the heap.
//! - Python 3.9–3.11 have no function watchers. A changed module-level function or method is
//!   the live function found from its binding (through its decorators), so no scan is needed;
//!   only closures and lambdas nested in a changed function are looked for with one
//!   `gc.get_referrers` call per batch, whose cost grows with the heap (`benches/RESULTS.md`).
//!   Copies made with `types.FunctionType(f.__code__, ...)` are not found there.

use pyo3::intern;
use pyo3::prelude::*;

/// Which way live functions are found on this interpreter.
pub fn backend() -> &'static str {
    if cfg!(Py_3_12) {
        "function-watcher index"
    } else {
        "bindings, and a heap scan for closures"
    }
}

/// Starts keeping the index (3.12+); idempotent. Before this, lookups fall back to a heap scan.
pub fn enable(py: Python<'_>) -> PyResult<()> {
    #[cfg(Py_3_12)]
    {
        watched::enable(py)
    }
    #[cfg(not(Py_3_12))]
    {
        let _ = py;
        Ok(())
    }
}

/// One code object to find the live functions of.
pub struct Lookup<'py> {
    pub code: Bound<'py, PyAny>,
    /// The function found from the definition's binding, when there is one.
    pub known: Option<Bound<'py, PyAny>>,
}

/// Live functions for each lookup, in the same order.
pub fn functions_running<'py>(py: Python<'py>, lookups: &[Lookup<'py>]) -> PyResult<Vec<Vec<Bound<'py, PyAny>>>> {
    if lookups.is_empty() {
        return Ok(Vec::new());
    }
    #[cfg(Py_3_12)]
    {
        let codes: Vec<Bound<'py, PyAny>> = lookups.iter().map(|l| l.code.clone()).collect();
        if let Some(found) = watched::lookup(py, &codes) {
            return Ok(found);
        }
    }
    let unknown: Vec<Bound<'py, PyAny>> =
        lookups.iter().filter(|l| l.known.is_none()).map(|l| l.code.clone()).collect();
    let mut scanned = if unknown.is_empty() { Vec::new() } else { scan_referrers(py, &unknown)? }.into_iter();
    Ok(lookups
        .iter()
        .map(|l| match &l.known {
            Some(function) => vec![function.clone()],
            None => scanned.next().unwrap_or_default(),
        })
        .collect())
}

fn scan_referrers<'py>(py: Python<'py>, codes: &[Bound<'py, PyAny>]) -> PyResult<Vec<Vec<Bound<'py, PyAny>>>> {
    use pyo3::types::{PyFunction, PyTuple};
    let mut found = vec![Vec::new(); codes.len()];
    let referrers = py.import("gc")?.call_method1("get_referrers", PyTuple::new(py, codes)?)?;
    for obj in referrers.try_iter()? {
        let obj = obj?;
        if !obj.is_instance_of::<PyFunction>() {
            continue;
        }
        let code = obj.getattr(intern!(obj.py(), "__code__"))?;
        if let Some(slot) = codes.iter().position(|c| c.is(&code)) {
            found[slot].push(obj);
        }
    }
    Ok(found)
}

// CPython's function watcher and heap visitor are C callbacks over raw object pointers.
#[cfg(Py_3_12)]
#[allow(unsafe_code)]
mod watched {
    use std::collections::HashMap;
    use std::os::raw::{c_int, c_void};
    use std::sync::Mutex;

    use pyo3::ffi;
    use pyo3::prelude::*;

    use crate::pyerr::lock;

    /// Code object address → addresses of the live functions running it. An address is in the
    /// index only while its function is alive: the destroy event removes it before the memory
    /// is freed. Only touched with the GIL held, and never while Python code can run.
    type Index = HashMap<usize, Vec<usize>>;

    /// `None` until `enable`; then the index.
    static INDEX: Mutex<Option<Index>> = Mutex::new(None);

    // `PyFunction_WatchEvent` values, in the order CPython's `PY_FOREACH_FUNC_EVENT` lists them.
    const EVENT_CREATE: c_int = 0;
    const EVENT_DESTROY: c_int = 1;
    const EVENT_MODIFY_CODE: c_int = 2;

    type WatchCallback =
        unsafe extern "C" fn(event: c_int, func: *mut ffi::PyFunctionObject, new_value: *mut ffi::PyObject) -> c_int;
    type VisitCallback = unsafe extern "C" fn(object: *mut ffi::PyObject, arg: *mut c_void) -> c_int;

    // Declared here because pyo3-ffi does not declare them (CPython 3.12+ API).
    extern "C" {
        fn PyFunction_AddWatcher(callback: WatchCallback) -> c_int;
        fn PyUnstable_GC_VisitObjects(callback: VisitCallback, arg: *mut c_void);
    }

    fn with_index<R>(f: impl FnOnce(&mut Index) -> R) -> Option<R> {
        let mut guard = lock(&INDEX);
        guard.as_mut().map(f)
    }

    fn add(index: &mut Index, code: usize, function: usize) {
        let functions = index.entry(code).or_default();
        if !functions.contains(&function) {
            functions.push(function);
        }
    }

    fn remove(index: &mut Index, code: usize, function: usize) {
        if let Some(functions) = index.get_mut(&code) {
            functions.retain(|&f| f != function);
            if functions.is_empty() {
                index.remove(&code);
            }
        }
    }

    /// Called by CPython, with the GIL held, for every function event in the interpreter.
    unsafe extern "C" fn on_function_event(
        event: c_int,
        func: *mut ffi::PyFunctionObject,
        new_value: *mut ffi::PyObject,
    ) -> c_int {
        // No panic may unwind into CPython; a failed update only makes the index miss a function.
        let _ = std::panic::catch_unwind(|| {
            // SAFETY: CPython passes a live function object (refcount > 0) for every event, and
            // `PyFunction_GetCode` only reads its code field (a borrowed reference; no allocation).
            let code = unsafe { ffi::PyFunction_GetCode(func.cast()) } as usize;
            let function = func as usize;
            with_index(|index| match event {
                EVENT_CREATE => add(index, code, function),
                EVENT_DESTROY => remove(index, code, function),
                // Fired before the change: the function still holds the old code.
                EVENT_MODIFY_CODE => {
                    remove(index, code, function);
                    add(index, new_value as usize, function);
                }
                _ => {}
            });
        });
        0
    }

    /// Seeds the index with one function found by the collector walk.
    unsafe extern "C" fn seed_one(object: *mut ffi::PyObject, arg: *mut c_void) -> c_int {
        // SAFETY: the collector walk passes live, tracked objects; checking the type and reading
        // the code field allocate nothing and run no Python code. `arg` is the `&mut Index` that
        // `enable` passed in and keeps borrowed for the whole walk.
        unsafe {
            if ffi::PyFunction_Check(object) != 0 {
                let index = &mut *(arg as *mut Index);
                add(index, ffi::PyFunction_GetCode(object) as usize, object as usize);
            }
        }
        1
    }

    pub fn enable(_py: Python<'_>) -> PyResult<()> {
        let mut guard = lock(&INDEX);
        if guard.is_some() {
            return Ok(());
        }
        let mut index = Index::with_capacity(16_384);
        // SAFETY: we hold the GIL (`_py`). The walk runs no Python code, so no function can be
        // created or destroyed during it; registering the watcher right after (still under the
        // GIL, with no Python code in between) means no event is missed.
        let id = unsafe {
            PyUnstable_GC_VisitObjects(seed_one, (&mut index as *mut Index).cast());
            PyFunction_AddWatcher(on_function_event)
        };
        if id < 0 {
            return Err(PyErr::fetch(_py));
        }
        *guard = Some(index);
        Ok(())
    }

    /// The functions for each code object, or `None` if the index is not enabled.
    pub fn lookup<'py>(py: Python<'py>, codes: &[Bound<'py, PyAny>]) -> Option<Vec<Vec<Bound<'py, PyAny>>>> {
        let addresses: Vec<Vec<usize>> = with_index(|index| {
            codes.iter().map(|c| index.get(&(c.as_ptr() as usize)).cloned().unwrap_or_default()).collect()
        })?;
        let found = addresses
            .into_iter()
            .map(|functions| {
                functions
                    .into_iter()
                    // SAFETY: each address is a live function: it was added on creation (or by
                    // the seed walk) and is removed by the destroy event before it is freed. We
                    // hold the GIL and ran no Python code since reading the index, so none was
                    // destroyed in between; taking a new reference keeps it alive from here on.
                    .map(|f| unsafe { Bound::from_borrowed_ptr(py, f as *mut ffi::PyObject) })
                    .collect()
            })
            .collect();
        Some(found)
    }
}
