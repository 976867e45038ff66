//! Small helpers every room of the extension shares: how a Python exception reads in a report,
//! and how a lock is taken.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;

/// `Type: message` of an exception, for reports.
pub fn describe_exception(py: Python<'_>, err: &PyErr) -> String {
    let name = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    let value = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    if value.is_empty() {
        name
    } else {
        format!("{name}: {value}")
    }
}

/// Locks `m` even when a thread panicked while holding it: every value behind our locks stays
/// consistent between statements, and a reload must not fail because an earlier one panicked.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The line and 1-based column a `SyntaxError` points at (it knows its own place better than
/// the step that compiled it; column 1 when it has no offset); `None` for any other exception.
pub fn syntax_error_position(py: Python<'_>, err: &PyErr) -> Option<(u32, u32)> {
    if !err.is_instance_of::<pyo3::exceptions::PySyntaxError>(py) {
        return None;
    }
    let value = err.value(py);
    let line = value.getattr("lineno").ok()?.extract::<u32>().ok()?;
    let column = value.getattr("offset").ok().and_then(|o| o.extract::<u32>().ok()).unwrap_or(0);
    Some((line, column.max(1)))
}
