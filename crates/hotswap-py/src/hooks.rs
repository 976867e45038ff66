//! The user's hooks: module callbacks before and after a reload, and what each changed class
//! runs afterwards (derived members, dataclass subclasses, `__migrate__`, `__reloaded__`).

use std::collections::HashSet;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::classes::{instances_of, refresh_derived, regenerate_dataclass_subclasses};
use crate::live::resolve_scope;
use crate::pyerr::describe_exception;
use crate::report::Report;

/// Module globals holding the callbacks registered by `hotswap.before_reload` and
/// `hotswap.after_reload` (qualified name → function, so registering again replaces).
pub const BEFORE_HOOKS: &str = "__hotswap_before_reload__";

pub const AFTER_HOOKS: &str = "__hotswap_after_reload__";

/// Runs the callbacks registered under `key` in `module` (loaded from `display_path`).
pub fn run_module_hooks(py: Python<'_>, module: &Bound<'_, PyAny>, display_path: &str, key: &str, report: &mut Report) {
    let Ok(globals) = module.getattr(intern!(module.py(), "__dict__")) else { return };
    let Ok(Some(hooks)) = globals.cast::<PyDict>().map(|g| g.get_item(key).ok().flatten()) else { return };
    let Ok(hooks) = hooks.cast_into::<PyDict>() else { return };
    let mut callbacks = Vec::new();
    let mut gone = Vec::new();
    for (key, callback) in hooks.iter() {
        // A module-level callback whose definition was deleted (its name no longer binds it)
        // is dropped, as a fresh import would never have registered it.
        let name: String = key.extract().unwrap_or_default();
        let defined = name.contains('.') || globals.get_item(name.as_str()).is_ok_and(|bound| bound.is(&callback));
        if defined {
            callbacks.push(callback);
        } else {
            gone.push(key);
        }
    }
    for key in gone {
        let _ = hooks.del_item(key);
    }
    for callback in callbacks {
        if let Err(err) = callback.call0() {
            let name =
                callback.getattr(intern!(callback.py(), "__qualname__")).map(|n| n.to_string()).unwrap_or_default();
            let line = callback
                .getattr(intern!(callback.py(), "__code__"))
                .and_then(|c| c.getattr(intern!(c.py(), "co_firstlineno")))
                .and_then(|l| l.extract())
                .unwrap_or(0);
            report.error(display_path, line, format!("reload hook {name} failed: {}", describe_exception(py, &err)));
        }
    }
}

/// After a module's edits: each changed class recomputes what Python derived from its members,
/// existing instances are migrated where `__init__` or the fields changed and the class has a
/// `__migrate__` method, and the class's `__reloaded__` hook runs.
pub fn class_hooks<'py>(
    py: Python<'py>,
    module: &Bound<'py, PyAny>,
    module_name: &str,
    display_path: &str,
    touched: &[Vec<String>],
    init_changed: &HashSet<Vec<String>>,
    report: &mut Report,
) -> Vec<Bound<'py, PyType>> {
    let mut changed = Vec::new();
    let mut seen = HashSet::new();
    for path in touched {
        if !seen.insert(path.clone()) {
            continue;
        }
        let Ok(scope) = resolve_scope(module, path) else { continue };
        let Some(class) = scope.class else { continue };
        let qualified = format!("{}.{}", module_name, path.join("."));
        let fail = |report: &mut Report, what: &str, err: PyErr| {
            report.error(display_path, 0, format!("{qualified}: {what} failed: {}", describe_exception(py, &err)));
        };
        if let Err(err) = refresh_derived(py, &class) {
            fail(report, "updating abstract methods / protocol members", err);
        }
        let is_dataclass = class
            .getattr(intern!(class.py(), "__dict__"))
            .and_then(|d| d.contains("__dataclass_fields__"))
            .unwrap_or(false);
        if init_changed.contains(path) && is_dataclass {
            if let Err(err) = regenerate_dataclass_subclasses(py, &class, &mut report.notes) {
                fail(report, "regenerating dataclass subclasses", err);
            }
        }
        if init_changed.contains(path) && class.hasattr(intern!(class.py(), "__migrate__")).unwrap_or(false) {
            match instances_of(py, &class) {
                Ok(instances) => {
                    let mut failed = 0;
                    for instance in &instances {
                        if let Err(err) = instance.call_method0("__migrate__") {
                            failed += 1;
                            if failed == 1 {
                                fail(report, "__migrate__", err);
                            }
                        }
                    }
                    report
                        .notes
                        .push(format!("{qualified}: migrated {} existing instance(s)", instances.len() - failed));
                }
                Err(err) => fail(report, "finding instances", err),
            }
        }
        if let Ok(hook) = class.getattr(intern!(class.py(), "__reloaded__")) {
            if let Err(err) = hook.call0() {
                fail(report, "__reloaded__", err);
            }
        }
        changed.push(class);
    }
    changed
}
