//! The index of loaded modules: which modules run each file, found without walking all of
//! `sys.modules` on every batch, and the canonical path of each module's `__file__`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::Engine;
use crate::pyerr::lock;

/// From the last full pass over `sys.modules`: its length, and the module names (with their
/// `__file__`) of each canonical path.
pub(super) type ModuleIndex = (usize, HashMap<PathBuf, Vec<(String, String)>>);

/// Canonical path → every loaded module from that file, with its `__file__` string.
pub(super) type LoadedModules<'py> = HashMap<PathBuf, Vec<(Bound<'py, PyAny>, String)>>;

impl Engine {
    /// Canonical form of a module's `__file__`, cached.
    pub fn canonical_path(&self, file: &str) -> Option<PathBuf> {
        if let Some(p) = lock(&self.canonical).get(file) {
            return Some(p.clone());
        }
        let path = std::fs::canonicalize(file).ok()?;
        lock(&self.canonical).insert(file.to_owned(), path.clone());
        Some(path)
    }

    /// Canonical path → (module, its `__file__`) for every loaded module with a source file.
    pub(super) fn loaded_modules<'py>(&self, py: Python<'py>) -> PyResult<LoadedModules<'py>> {
        let sys_modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?;
        let snapshot = PyList::new(py, sys_modules.items())?;
        let mut out = LoadedModules::new();
        let mut index: HashMap<PathBuf, Vec<(String, String)>> = HashMap::new();
        for item in snapshot.iter() {
            let Ok((name, module)) = item.extract::<(String, Bound<'py, PyAny>)>() else { continue };
            let Ok(file) = module.getattr(intern!(module.py(), "__file__")) else { continue };
            let Ok(file) = file.extract::<String>() else { continue };
            if !file.ends_with(".py") {
                continue;
            }
            if let Some(path) = self.canonical_path(&file) {
                index.entry(path.clone()).or_default().push((name, file.clone()));
                let entry = out.entry(path).or_default();
                if !entry.iter().any(|(m, _)| m.is(&module)) {
                    entry.push((module, file));
                }
            }
        }
        *lock(&self.module_index) = Some((sys_modules.len(), index));
        Ok(out)
    }

    /// The loaded modules of `paths` only. A batch edits a few files of a program that may have
    /// imported thousands: the names found by the last full pass over `sys.modules` are looked
    /// up again (and their `__file__` checked) instead of walking it, unless `sys.modules` has
    /// grown or shrunk since, or a path has no module there.
    pub(super) fn modules_from<'py>(&self, py: Python<'py>, paths: &[&Path]) -> PyResult<LoadedModules<'py>> {
        let sys_modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?;
        let known = lock(&self.module_index).as_ref().and_then(|(len, index)| {
            if *len != sys_modules.len() {
                return None;
            }
            paths
                .iter()
                .map(|p| index.get(*p).map(|names| (p.to_path_buf(), names.clone())))
                .collect::<Option<Vec<_>>>()
        });
        if let Some(known) = known {
            if let Some(found) = Self::look_up(py, &sys_modules, known)? {
                return Ok(found);
            }
        }
        let mut every = self.loaded_modules(py)?;
        Ok(paths.iter().filter_map(|p| every.remove_entry(*p)).collect())
    }

    /// The indexed modules by name; `None` when one was renamed, removed or re-imported from
    /// elsewhere since the index was made.
    fn look_up<'py>(
        py: Python<'py>,
        sys_modules: &Bound<'py, PyDict>,
        known: Vec<(PathBuf, Vec<(String, String)>)>,
    ) -> PyResult<Option<LoadedModules<'py>>> {
        let mut out = LoadedModules::new();
        for (path, names) in known {
            let mut found = Vec::new();
            for (name, file) in names {
                let Some(module) = sys_modules.get_item(&name)? else { return Ok(None) };
                let same = module.getattr(intern!(py, "__file__")).is_ok_and(|f| f.eq(&file).unwrap_or(false));
                if !same {
                    return Ok(None);
                }
                found.push((module, file));
            }
            out.insert(path, found);
        }
        Ok(Some(out))
    }

    /// After a batch: the index stays usable past what this batch imported (the first batch
    /// imports `linecache`, `gc`...): a module it imported from a watched file is not in the
    /// index, and a path missing from it makes the next batch look at everything.
    pub(super) fn index_batch_imports(&self, py: Python<'_>) {
        if let Ok(sys_modules) = py.import("sys").and_then(|sys| sys.getattr("modules")) {
            if let (Some((len, _)), Ok(now)) = (lock(&self.module_index).as_mut(), sys_modules.len()) {
                *len = now;
            }
        }
    }
}
