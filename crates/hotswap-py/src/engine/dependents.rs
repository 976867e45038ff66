//! Modules the batch did not edit but whose names it re-bound (`from m import VERSION` after
//! `VERSION` changed in `m`): their statements that compute from those names run again, as a
//! fresh start computes them from the new values, and so on through their own importers.

use std::collections::HashMap;

use hotswap_core::plan::plan_dependents;
use hotswap_core::tree::DefinitionTree;

use super::plan::FileWork;
use super::{display_path, Engine};
use crate::apply::{apply_batch, FilePatch};
use crate::propagate::{refresh_importers, snapshot, sync_function_globals, Importer, Rebound};
use crate::pyerr::lock;
use crate::report::Report;
use pyo3::prelude::*;

/// How many rounds of importers of importers are followed.
const ROUNDS: usize = 8;

impl Engine {
    /// Runs again, in each importer that got new names, the statements reading them.
    pub(super) fn rerun_importer_dependents<'py>(
        &self,
        py: Python<'py>,
        work: &[FileWork],
        importers: &[Importer<'py>],
        mut rebound: Rebound,
        report: &mut Report,
    ) {
        for _ in 0..ROUNDS {
            if rebound.is_empty() {
                return;
            }
            let mut names: HashMap<usize, Vec<String>> = HashMap::new();
            for (index, bound) in rebound.drain(..) {
                names.entry(index).or_default().extend(bound);
            }
            let patches: Vec<FilePatch<'py>> = names
                .into_iter()
                .filter_map(|(index, bound)| self.dependents_patch(work, &importers[index], &bound))
                .collect();
            if patches.is_empty() {
                return;
            }
            let before = snapshot(&patches);
            for outcome in apply_batch(py, &patches) {
                report.merge(outcome.report);
            }
            rebound = refresh_importers(&patches, &before, || importers, report);
            sync_function_globals(&patches, &before);
        }
    }

    /// The patch that re-runs what `bound` feeds in `importer`, if anything reads them.
    fn dependents_patch<'py>(
        &self,
        work: &[FileWork],
        importer: &Importer<'py>,
        bound: &[String],
    ) -> Option<FilePatch<'py>> {
        let plan = match work.iter().find(|w| w.path == importer.path) {
            Some(w) => plan_dependents(&w.text, &w.tree, bound),
            None => {
                self.parse_recorded(&importer.path);
                let files = lock(&self.files);
                let record = files.get(&importer.path)?;
                let tree: &DefinitionTree = record.tree.as_ref()?;
                plan_dependents(&record.text, tree, bound)
            }
        };
        if plan.is_empty() {
            return None;
        }
        let name = importer.identity().0.clone();
        Some(FilePatch {
            filename: importer.filename.clone(),
            display_path: display_path(&importer.path),
            plan: plan.into(),
            module: importer.module.clone(),
            name,
            text: std::sync::Arc::clone(&importer.text),
            kept: None,
        })
    }
}
