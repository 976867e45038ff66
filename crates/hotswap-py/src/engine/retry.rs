//! Steps that failed on a name another module did not have yet (`from b import added` saved
//! before `b` gained `added`) run again when a batch changes that module: a fresh start of both
//! files would run them, so the program does too, without a second save of the first file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hotswap_core::imports::candidate_modules;
use hotswap_core::watch::{content_hash, FileEvent};
use pyo3::prelude::*;

use hotswap_core::source::decode_source;

use super::{Engine, Inputs};
use crate::propagate::module_identity;
use crate::pyerr::lock;
use crate::report::Report;

impl Engine {
    /// After a batch: the failed steps of the files importing its modules run again (see
    /// [`Engine::retries_for`]); what they give goes into `report`.
    pub(super) fn retry_importers(&self, py: Python<'_>, batch: &[PathBuf], report: &mut Report) {
        if batch.is_empty() {
            return;
        }
        let retries = self.retries_for(py, batch);
        if retries.is_empty() {
            return;
        }
        let Inputs { work, .. } = self.plan_inputs(retries, report);
        if work.is_empty() {
            return;
        }
        let applied = self.apply(py, &work, &[], report);
        self.commit_records(work, applied);
    }

    /// The files, outside `batch`, whose failed steps wait for a retry and that import one of
    /// the modules loaded from `batch`, or a module named as a file of `batch` that no module
    /// was loaded from yet (`from .new import thing` saved before `new.py` was created): each as
    /// the text it runs, which plans only those steps.
    pub(super) fn retries_for(&self, py: Python<'_>, batch: &[PathBuf]) -> Vec<FileEvent> {
        let waiting: Vec<(PathBuf, String, Vec<hotswap_core::imports::Import>)> = lock(&self.files)
            .iter()
            .filter(|(path, record)| record.retry && !batch.contains(path))
            .filter_map(|(path, record)| {
                Some((path.clone(), record.text.to_string(), record.tree.as_ref()?.imports.clone()))
            })
            .collect();
        if waiting.is_empty() {
            return Vec::new();
        }
        let changed: HashSet<String> = self.module_names(py, batch).into_iter().map(|(name, _)| name).collect();
        let new_names: HashSet<&str> =
            batch.iter().filter(|p| !self.has_record(p)).filter_map(|p| module_stem(p)).collect();
        let mut out = Vec::new();
        for (path, text, imports) in waiting {
            let importer = self.module_names(py, std::slice::from_ref(&path));
            let imports_changed = importer.iter().any(|(name, is_package)| {
                imports.iter().any(|import| {
                    candidate_modules(name, *is_package, import).iter().any(|module| {
                        let last = module.rsplit('.').next().unwrap_or(module);
                        changed.contains(module) || new_names.contains(last)
                    })
                })
            });
            // A file in another encoding is not planned from its decoded text: it waits for its save.
            let utf8 = decode_source(text.as_bytes()).is_ok_and(|decoded| decoded == text);
            if imports_changed && utf8 {
                let content = text.into_bytes();
                out.push(FileEvent::Changed { path, hash: content_hash(&content), content });
            }
        }
        out
    }

    /// The names (and package-ness) of the modules loaded from `paths`.
    fn module_names(&self, py: Python<'_>, paths: &[PathBuf]) -> Vec<(String, bool)> {
        let wanted: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        let Ok(modules) = self.modules_from(py, &wanted) else { return Vec::new() };
        modules.values().flatten().map(|(module, _)| module_identity(module)).collect()
    }
}

/// The last part of the module name a file would be imported as: its stem, or its directory's
/// name for a package's `__init__.py`.
fn module_stem(path: &Path) -> Option<&str> {
    let stem = path.file_stem()?.to_str()?;
    if stem == "__init__" {
        return path.parent()?.file_name()?.to_str();
    }
    Some(stem)
}
