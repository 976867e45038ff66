//! Functions deleted by a recent batch, so a definition that comes back keeps its identity: an
//! editor that writes a file in two chunks (the first a valid prefix) makes one save delete a
//! function and the next restore it, and references held by the program (callbacks, `from m
//! import f`) must run the restored body, as they would have had the save been whole.

use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyFunction;

use super::commit::apply_swap;
use super::Swap;
use crate::code::same_freevars;

/// How many deleted functions are remembered (the oldest is forgotten first).
const REMEMBERED: usize = 64;

/// A function's module name and qualified name: its identity across saves.
type Identity = (String, String);

/// The deleted functions, oldest first.
static DELETED: Mutex<Vec<(Identity, Py<PyAny>)>> = Mutex::new(Vec::new());

/// The identity of a plain function (none for other objects).
fn identity(value: &Bound<'_, PyAny>) -> Option<Identity> {
    if !value.is_instance_of::<PyFunction>() {
        return None;
    }
    let module = value.getattr(intern!(value.py(), "__module__")).ok()?.extract().ok()?;
    let qualname = value.getattr(intern!(value.py(), "__qualname__")).ok()?.extract().ok()?;
    Some((module, qualname))
}

/// Remembers `value`, a function a step is about to delete.
pub(super) fn remember(value: &Bound<'_, PyAny>) {
    let Some(key) = identity(value) else { return };
    let mut deleted = DELETED.lock().unwrap_or_else(|e| e.into_inner());
    deleted.retain(|(k, _)| *k != key);
    if deleted.len() >= REMEMBERED {
        deleted.remove(0);
    }
    deleted.push((key, value.clone().unbind()));
}

/// `new`, a function just defined by an added definition: when a function of the same module
/// and qualified name was deleted recently, that object takes the new code, defaults and
/// annotations and is returned, to be bound instead of `new`.
pub(super) fn restore<'py>(new: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(key) = identity(new) else { return Ok(None) };
    let old = {
        let mut deleted = DELETED.lock().unwrap_or_else(|e| e.into_inner());
        let Some(at) = deleted.iter().position(|(k, _)| *k == key) else { return Ok(None) };
        deleted.remove(at).1.into_bound(new.py())
    };
    let code = new.getattr(intern!(new.py(), "__code__"))?;
    if !same_freevars(&old.getattr(intern!(old.py(), "__code__"))?, &code) {
        return Ok(None); // a closure's cells cannot change: the new function stays
    }
    let mut replaced = Vec::new();
    apply_swap(&Swap { function: old.clone(), code, attrs: Some(new.clone()) }, &mut replaced)?;
    Ok(Some(old))
}
