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
use crate::attr_names::AttrNames;

/// How many deleted functions are remembered (the oldest is forgotten first).
const REMEMBERED: usize = 64;

/// A function's module name and qualified name: its identity across saves.
type Identity = (String, String);

/// The deleted functions, oldest first.
static DELETED: Mutex<Vec<(Identity, Py<PyAny>)>> = Mutex::new(Vec::new());

/// The identity of `value` when it is the plain function a `def name` made: not a wrapper a
/// decorator returned (its code has another name) and not a closure (its cells hold what
/// it was made with, which the restored definition may not).
fn identity(value: &Bound<'_, PyAny>, name: &str) -> Option<Identity> {
    if !value.is_instance_of::<PyFunction>() {
        return None;
    }
    let code = value.getattr(intern!(value.py(), "__code__")).ok()?;
    let own_name = code.getattr(intern!(value.py(), "co_name")).ok()?.extract::<String>().ok()? == name;
    let closure = code.getattr(intern!(value.py(), "co_freevars")).ok()?.len().ok()? > 0;
    if !own_name || closure {
        return None;
    }
    let module = value.getattr(intern!(value.py(), "__module__")).ok()?.extract().ok()?;
    let qualname = value.getattr(intern!(value.py(), "__qualname__")).ok()?.extract().ok()?;
    Some((module, qualname))
}

/// Remembers `value`, bound to `name`, which a step is about to delete.
pub(super) fn remember(value: &Bound<'_, PyAny>, name: &str) {
    let Some(key) = identity(value, name) else { return };
    let mut deleted = DELETED.lock().unwrap_or_else(|e| e.into_inner());
    deleted.retain(|(k, _)| *k != key);
    if deleted.len() >= REMEMBERED {
        deleted.remove(0);
    }
    deleted.push((key, value.clone().unbind()));
}

/// `new`, the function an added `def name` just defined: when a function of the same module
/// and qualified name was deleted recently, that object takes the new code, defaults and
/// annotations and is returned, to be bound instead of `new`.
pub(super) fn restore<'py>(new: &Bound<'py, PyAny>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(key) = identity(new, name) else { return Ok(None) };
    let old = {
        let mut deleted = DELETED.lock().unwrap_or_else(|e| e.into_inner());
        let Some(at) = deleted.iter().position(|(k, _)| *k == key) else { return Ok(None) };
        deleted.remove(at).1.into_bound(new.py())
    };
    let code = new.getattr(intern!(new.py(), "__code__"))?;
    let mut replaced = Vec::new();
    apply_swap(
        AttrNames::get(new.py()),
        &Swap { function: old.clone(), code, attrs: Some(new.clone()) },
        &mut replaced,
    )?;
    Ok(Some(old))
}

/// `new`, the function an added `def name` just defined in place of the one a removed statement
/// bound (`previous`): when both are plain functions of the same module, qualified name and
/// free variables, `previous` takes the new code, defaults and annotations and is returned, to
/// be bound instead of `new`.
pub(super) fn adopt<'py>(
    previous: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
    name: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = new.py();
    if !previous.is_instance_of::<PyFunction>() || !new.is_instance_of::<PyFunction>() || previous.is(new) {
        return Ok(None);
    }
    let same = |attr: &str| -> PyResult<bool> { previous.getattr(attr)?.eq(new.getattr(attr)?) };
    let code = new.getattr(intern!(py, "__code__"))?;
    let old_code = previous.getattr(intern!(py, "__code__"))?;
    let same_freevars = old_code.getattr(intern!(py, "co_freevars"))?.eq(code.getattr(intern!(py, "co_freevars"))?)?;
    let own_name = code.getattr(intern!(py, "co_name"))?.extract::<String>()? == name;
    if !(own_name && same_freevars && same("__qualname__")? && same("__module__")?) {
        return Ok(None);
    }
    let mut replaced = Vec::new();
    apply_swap(
        AttrNames::get(new.py()),
        &Swap { function: previous.clone(), code, attrs: Some(new.clone()) },
        &mut replaced,
    )?;
    Ok(Some(previous.clone()))
}
