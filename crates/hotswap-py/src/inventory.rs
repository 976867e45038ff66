//! Inventory: the live function objects that run a given code object.
//!
//! Swapping `__code__` on every function that shares the old code object is what keeps identity:
//! `from m import f`, callbacks in registries, bound methods and decorator wrappers all hold the
//! same function object, and it now runs the new code. This module answers "which functions run
//! these code objects?" for a whole batch at once.
//!
//! Today the answer comes from one `gc.get_referrers` call per batch (every function is tracked
//! by the cycle collector, and its `func_code` is visited by its traverse function). The
//! interface takes all code objects of a batch together so that an index kept current by
//! CPython's function watchers (3.12+) can replace the scan without touching the callers.

use pyo3::prelude::*;
use pyo3::types::{PyFunction, PyTuple};

/// Live functions for each of `codes`, in the same order.
pub fn functions_running<'py>(
    py: Python<'py>,
    codes: &[Bound<'py, PyAny>],
) -> PyResult<Vec<Vec<Bound<'py, PyAny>>>> {
    let mut found = vec![Vec::new(); codes.len()];
    if codes.is_empty() {
        return Ok(found);
    }
    let gc = py.import("gc")?;
    let referrers = gc.call_method1("get_referrers", PyTuple::new(py, codes)?)?;
    for obj in referrers.try_iter()? {
        let obj = obj?;
        if !obj.is_instance_of::<PyFunction>() {
            continue;
        }
        let code = obj.getattr("__code__")?;
        if let Some(slot) = codes.iter().position(|c| c.is(&code)) {
            found[slot].push(obj);
        }
    }
    Ok(found)
}
