//! The record of what each file runs: its text, hash and parsed tree, and the text it ran
//! before the last batch. Only locked for pure-Rust work (see the locking rules in `engine`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hotswap_core::imports::Import;
use hotswap_core::parse::{parse_definitions, parse_imports, runner_source};
use hotswap_core::tree::{DefinitionTree, LiveLoopSite};
use hotswap_core::watch::content_hash;

use super::plan::{decode_text, mark_dirty, FileResult, FileWork};
use super::Engine;
use crate::pyerr::lock;

/// The source a file's module is running, and its parsed tree (parsed on first need). The
/// texts are shared (`Arc`): a batch hands every loaded module's text to the importer search
/// and each patch's text to `linecache` without copying them.
pub(super) struct FileRecord {
    pub(super) text: Arc<str>,
    pub(super) hash: u64,
    pub(super) tree: Option<DefinitionTree>,
    /// The text run before the last applied batch (for `hotswap --test --revert-on-fail`).
    pub(super) previous: Option<Arc<str>>,
    /// Steps of the last batch failed (their items are marked dirty in `tree`): they are
    /// tried again by the next save of this file, or by a batch that changes a module it imports.
    pub(super) retry: bool,
}

/// Bumped each time the engine records a newly applied source.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// How many times an applied source was recorded: unchanged means no file runs new text.
pub fn source_generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

impl Engine {
    /// Records the source a module was (or is about to be) loaded from, unless one is recorded.
    pub fn record_source(&self, path: &Path, content: &[u8], replace: bool) -> Result<(), String> {
        let text = decode_text(content).map_err(|(_, message)| message)?;
        let mut files = lock(&self.files);
        if replace || !files.contains_key(path) {
            files.insert(
                path.to_path_buf(),
                FileRecord { text: text.into(), hash: content_hash(content), tree: None, previous: None, retry: false },
            );
        }
        Ok(())
    }

    /// Parses the recorded text of `path` now, so its first edit parses only the new text.
    /// A record that has its tree already is left alone (not parsed again on every batch that
    /// asks: an unchanged importer's dependents are looked for in each batch that rebinds it).
    pub(super) fn parse_recorded(&self, path: &Path) {
        let Some((hash, text)) = lock(&self.files).get(path).and_then(|r| match r.tree {
            Some(_) => None,
            None => Some((r.hash, r.text.clone())),
        }) else {
            return;
        };
        let version = crate::interpreter::grammar();
        let Ok(tree) = parse_definitions(&text, version) else { return };
        if let Some(record) = lock(&self.files).get_mut(path) {
            if record.hash == hash && record.tree.is_none() {
                record.tree = Some(tree);
            }
        }
    }

    /// The text the module loaded from `path` ran before the last batch that changed it.
    pub fn previous_text(&self, path: &Path) -> Option<String> {
        self.flush_queued();
        lock(&self.files).get(path).and_then(|record| record.previous.as_deref().map(str::to_owned))
    }

    /// The text the module loaded from `path` runs, if recorded.
    pub fn recorded_text(&self, path: &Path) -> Option<String> {
        self.flush_queued();
        lock(&self.files).get(path).map(|record| record.text.to_string())
    }

    /// The import statements of the text `path` runs, from its parsed tree (parsed now when it
    /// is not yet: its first edit needs the tree anyway); `None` when the file has no record.
    pub fn recorded_imports(&self, path: &Path) -> Option<Vec<Import>> {
        self.flush_queued();
        if lock(&self.files).get(path)?.tree.is_none() {
            self.parse_recorded(path);
        }
        let text = {
            let files = lock(&self.files);
            let record = files.get(path)?;
            match &record.tree {
                Some(tree) => return Some(tree.imports.clone()),
                None => Arc::clone(&record.text), // a syntax error: what the parser recovers
            }
        };
        Some(parse_imports(&text, crate::interpreter::grammar()))
    }

    pub fn has_record(&self, path: &Path) -> bool {
        lock(&self.files).contains_key(path)
    }

    /// The path and hash of every recorded file: what this process runs.
    pub fn recorded_hashes(&self) -> Vec<(PathBuf, u64)> {
        self.flush_queued();
        lock(&self.files).iter().map(|(path, record)| (path.clone(), record.hash)).collect()
    }

    /// A live loop of the source `path` runs now, chosen by `pick` among the file's sites: the
    /// site, its rank among the sites of its scope and the source its body compiles from.
    /// The tree is the one the engine parsed for this text (parsed here on first need).
    pub fn live_loop_site(
        &self,
        path: &Path,
        pick: impl Fn(&[LiveLoopSite]) -> Option<usize>,
    ) -> Option<(LiveLoopSite, usize, String)> {
        self.flush_queued();
        if lock(&self.files).get(path)?.tree.is_none() {
            self.parse_recorded(path);
        }
        let files = lock(&self.files);
        let record = files.get(path)?;
        let sites = &record.tree.as_ref()?.live_loops;
        let position = pick(sites)?;
        let site = sites.get(position)?;
        let rank = sites[..position].iter().filter(|s| s.scope == site.scope).count();
        Some((site.clone(), rank, runner_source(&record.text, site)))
    }

    /// After a batch: applied files run the new text now; failed items stay marked as changed.
    pub(super) fn commit_records(&self, work: Vec<FileWork>, results: Vec<FileResult>) {
        let mut files = lock(&self.files);
        let none_failed = FileResult::Applied(Vec::new());
        for (index, w) in work.into_iter().enumerate() {
            let result = results.get(index).unwrap_or(&none_failed);
            let FileResult::Applied(failed) = result else { continue };
            let mut tree = w.tree;
            for step in failed {
                mark_dirty(&mut tree.items, &step.scope, step.lines.shown());
            }
            tree.marked |= !failed.is_empty();
            let previous = files.remove(&w.path).map(|old| old.text);
            // With steps still to retry, the file is not up to date: the next reload of it plans
            // again, even with the same text, and tries the failed items (marked dirty) again.
            let hash = if failed.is_empty() { w.hash } else { !w.hash };
            files.insert(
                w.path,
                FileRecord { text: w.text, hash, tree: Some(tree), previous, retry: !failed.is_empty() },
            );
            GENERATION.fetch_add(1, Ordering::SeqCst);
        }
    }
}
