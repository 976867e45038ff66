//! Engine: what each watched file is running now, and one reload from new bytes to a report.
//!
//! Its rooms: the record of what each file runs ([`records`]), the import hook's queue of
//! sources and its recorder thread ([`source_queue`]), the index of loaded modules
//! ([`module_index`]) and planning one file's edit ([`plan`]). This file runs a reload from
//! those, and holds the engine's locks across a fork.
//!
//! Locking rules (they keep the GIL and our locks from deadlocking each other):
//! - `Engine::files` is only locked for pure-Rust work: never call Python or log while holding it.
//! - The reload gate serialises reloads; it is only waited for with the GIL released.

mod dependents;
mod module_index;
mod plan;
mod records;
mod rehome;
mod retry;
mod source_queue;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use hotswap_core::tree::DefinitionTree;
use hotswap_core::watch::FileEvent;
use pyo3::intern;
use pyo3::prelude::*;

use crate::apply::{apply_batch, FilePatch};
use crate::propagate::{batch_waves, refresh_importers, snapshot, sync_function_globals, Importer};
use crate::pyerr::{describe_exception, lock};
use crate::report::Report;
use module_index::{LoadedModules, ModuleIndex};
use plan::{FilePlan, FileResult, FileWork};
pub use records::source_generation;
use records::FileRecord;
use rehome::Rehomed;
use source_queue::SourceQueue;
pub use source_queue::{FileStamp, ImportedSource};

/// The process's one engine ([`ENGINE`]); its methods are spread over the rooms by job.
pub struct Engine {
    files: Mutex<HashMap<PathBuf, FileRecord>>,
    gate: Gate,
    /// `__file__` string → canonical path, so a batch does not stat every module again.
    canonical: Mutex<HashMap<String, PathBuf>>,
    /// Sources of imported modules: read and recorded by a background thread, so importing a
    /// module costs the program a queue push.
    queued: SourceQueue,
    /// From the last full pass over `sys.modules`: its length, and the module names (with
    /// their `__file__`) of each canonical path.
    module_index: Mutex<Option<ModuleIndex>>,
    /// The plan made when the watcher asked whether a save could go out at once, for the batch
    /// that applies it (one parse per file version).
    preplanned: Mutex<Option<plan::Preplanned>>,
}

/// A batch's files once planned: the edits to apply, the loaded files hotswap has no record of,
/// and the modules whose file became a package.
#[derive(Default)]
struct Inputs {
    work: Vec<FileWork>,
    unrecorded: Vec<(PathBuf, Vec<u8>)>,
    rehomed: Vec<Rehomed>,
}

/// Batches the engine has run in this process: a report's `generation`.
static BATCHES: AtomicU64 = AtomicU64::new(0);

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine {
    files: Mutex::new(HashMap::new()),
    gate: Gate::default(),
    canonical: Mutex::new(HashMap::new()),
    queued: SourceQueue::default(),
    module_index: Mutex::new(None),
    preplanned: Mutex::new(None),
});

impl Engine {
    /// Applies a batch. Must be called without holding the GIL.
    pub fn reload(&self, inputs: Vec<FileEvent>) -> Report {
        let _turn = self.gate.enter();
        let started = Instant::now();
        self.flush_queued();
        let mut report = Report { generation: BATCHES.fetch_add(1, Ordering::SeqCst) + 1, ..Report::default() };
        let Inputs { work, unrecorded, rehomed } = self.plan_inputs(inputs, &mut report);
        let planned_ms = started.elapsed().as_secs_f64() * 1000.0;
        let items: usize = work.iter().map(|w| w.plan.steps.iter().filter(|s| !s.action.is_move()).count()).sum();
        let summarized = crate::report::ItemsSummarized::new(items > crate::report::ITEMS_LISTED);
        let work_files = work.len();
        if work.is_empty() && unrecorded.is_empty() && rehomed.is_empty() {
            self.commit_records(work, Vec::new());
        } else {
            Python::attach(|py| {
                // Levels set since the last batch apply from here on (we hold the GIL anyway).
                crate::logbridge::refresh(py);
                for moved in &rehomed {
                    self.rehome_modules(py, moved, &mut report);
                }
                let applied = self.apply(py, &work, &unrecorded, &mut report);
                let batch: Vec<PathBuf> =
                    work.iter().map(|w| w.path.clone()).chain(unrecorded.iter().map(|(p, _)| p.clone())).collect();
                // Before the GIL is released: a live loop that sees the new generation finds
                // the new records too, so it never runs one more item with the old body.
                self.commit_records(work, applied);
                self.retry_importers(py, &batch, &mut report);
            })
        }
        if items > crate::report::ITEMS_LISTED {
            log::info!(
                target: "hotswap",
                "updated {}, added {}, deleted {} definitions in {work_files} file{} (each is logged at debug level, -v)",
                report.updated.len(),
                report.added.len(),
                report.deleted.len(),
                if work_files == 1 { "" } else { "s" },
            );
        }
        drop(summarized);
        let applied_ms = started.elapsed().as_secs_f64() * 1000.0;
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        log::debug!(
            target: "hotswap",
            "batch: planned in {planned_ms:.1} ms, applied by {applied_ms:.1} ms, done in {:.1} ms",
            report.duration_ms
        );
        report
    }

    /// Plans each file of the batch against what it runs; errors and notes go to `report`.
    fn plan_inputs(&self, inputs: Vec<FileEvent>, report: &mut Report) -> Inputs {
        let mut planned_inputs = Inputs::default();
        let Inputs { work, unrecorded, rehomed } = &mut planned_inputs;
        let mut inputs = inputs;
        // New files first: a module file replaced by a package's `__init__.py` is adopted
        // before its removal would be reported.
        inputs.sort_by_key(|input| matches!(input, FileEvent::Removed { .. }));
        for input in inputs {
            report.paths.push(display_path(input.path()));
            match input {
                FileEvent::Changed { path, content, hash } => {
                    let mut planned = self.plan_file(&path, &content, hash);
                    if matches!(planned, FilePlan::Unrecorded) {
                        if let Some(moved) = self.adopt_package_init(&path) {
                            rehomed.push(moved);
                            planned = self.plan_file(&path, &content, hash);
                        }
                    }
                    match planned {
                        FilePlan::Unchanged => {}
                        FilePlan::Unrecorded => unrecorded.push((path, content)),
                        FilePlan::Error { line, message } => report.error(&display_path(&path), line, message),
                        FilePlan::Errors(list) => {
                            for (line, column, message) in list {
                                report.error_at(&display_path(&path), line, column, message);
                            }
                        }
                        FilePlan::Edit(w) => work.push(*w),
                    }
                }
                FileEvent::Removed { path } => {
                    if self.has_record(&path) {
                        let note =
                            format!("{} was deleted; its module keeps running the code it has", display_path(&path));
                        log::warn!(target: "hotswap", "{note}");
                        report.notes.push(note);
                    }
                }
                // Only files the program runs matter; anything else is noise.
                FileEvent::Unreadable { path, reason } if self.has_record(&path) => {
                    report.error(
                        &display_path(&path),
                        0,
                        format!("cannot read the file ({reason}); its module keeps the code it has"),
                    );
                }
                FileEvent::Unreadable { path, reason } => {
                    log::debug!(target: "hotswap", "{}: cannot read ({reason}); not imported", display_path(&path));
                }
            }
        }
        planned_inputs
    }

    /// Under the GIL: find the modules, apply every plan, refresh `linecache`.
    fn apply(
        &self,
        py: Python<'_>,
        work: &[FileWork],
        unrecorded: &[(PathBuf, Vec<u8>)],
        report: &mut Report,
    ) -> Vec<FileResult> {
        let wanted: Vec<&Path> =
            work.iter().map(|w| w.path.as_path()).chain(unrecorded.iter().map(|(p, _)| p.as_path())).collect();
        let modules = match self.modules_from(py, &wanted) {
            Ok(m) => m,
            Err(err) => {
                report.error(
                    "<hotswap>",
                    0,
                    format!(
                        "cannot look through sys.modules for the changed files' modules: {}",
                        describe_exception(py, &err)
                    ),
                );
                return work.iter().map(|_| FileResult::Rejected).collect();
            }
        };
        self.record_unrecorded(unrecorded, &modules, report);
        let (patches, owner, waves) = file_patches(py, work, &modules);
        // Taken before any wave: names a module got from an earlier wave are its changes too,
        // for the modules that import them from it.
        let before = snapshot(&patches);
        let importers = OnceCell::new();
        let mut rebound = Vec::new();
        let mut outcomes = Vec::with_capacity(patches.len());
        for wave in waves {
            let part = &patches[wave.clone()];
            outcomes.extend(apply_batch(py, part));
            let importers = || importers.get_or_init(|| self.importers(py, work)).as_slice();
            rebound.extend(refresh_importers(part, &before[wave.clone()], importers, report));
            sync_function_globals(part, &before[wave]);
        }
        if let Some(importers) = importers.get() {
            self.rerun_importer_dependents(py, work, importers, rebound, report);
        }
        let mut results: Vec<FileResult> = work.iter().map(|_| FileResult::Applied(Vec::new())).collect();
        for ((patch, outcome), index) in patches.iter().zip(outcomes).zip(owner) {
            if outcome.rejected {
                results[index] = FileResult::Rejected;
            } else {
                if let FileResult::Applied(failed) = &mut results[index] {
                    failed.extend(outcome.failed_steps.iter().map(|&s| patch.plan.steps[s].clone()));
                }
            }
            report.merge(outcome.report);
        }
        self.index_batch_imports(py);
        results
    }

    /// Files of the batch the engine has no record of: a loaded module's current text is
    /// recorded (later saves apply) and the report says this save was not.
    fn record_unrecorded(&self, unrecorded: &[(PathBuf, Vec<u8>)], modules: &LoadedModules<'_>, report: &mut Report) {
        for (path, content) in unrecorded {
            if modules.contains_key(path) {
                if let Err(message) = self.record_source(path, content, false) {
                    report.error(
                        &display_path(path),
                        0,
                        format!("cannot record the source its module runs: {message}"),
                    );
                    continue;
                }
                let why = if lock(&self.queued.changed).remove(path) {
                    "its file changed while the module was being imported, before hotswap read it"
                } else {
                    "it was imported before hotswap.install() or watch()"
                };
                report.error(
                    &display_path(path),
                    0,
                    format!(
                        "hotswap has no record of the source this module was loaded from ({why}); the current \
                         text is recorded and later saves apply"
                    ),
                );
            } else {
                log::debug!(target: "hotswap", "{} is not imported; nothing to update", display_path(path));
            }
        }
    }

    /// Every loaded module with the text it runs once the batch is applied, for finding the
    /// modules that imported a name the batch changed.
    fn importers<'py>(&self, py: Python<'py>, work: &[FileWork]) -> Vec<Importer<'py>> {
        let every = self.loaded_modules(py).unwrap_or_default();
        let edited: HashMap<&Path, &FileWork> = work.iter().map(|w| (w.path.as_path(), w)).collect();
        let files = lock(&self.files);
        let mut out = Vec::new();
        for (path, mods) in &every {
            let (text, tree) = match edited.get(path.as_path()) {
                Some(w) => (Arc::clone(&w.text), Some(&w.tree)),
                None => match files.get(path) {
                    Some(record) => (Arc::clone(&record.text), record.tree.as_ref()),
                    None => continue,
                },
            };
            for (module, filename) in mods {
                let imports = tree.map(|t| t.imports.clone().into()).unwrap_or_default();
                out.push(Importer {
                    module: module.clone(),
                    path: path.clone(),
                    filename: filename.clone(),
                    text: Arc::clone(&text),
                    imports,
                    identity: OnceCell::new(),
                });
            }
        }
        out
    }
}

/// One [`FilePatch`] per loaded module of each planned file, dependencies first (a file may use
/// what another file of the batch adds), with the index in `work` each one comes from, and the
/// waves they are applied in (consecutive ranges of the patches).
fn file_patches<'py>(
    py: Python<'py>,
    work: &[FileWork],
    modules: &LoadedModules<'py>,
) -> (Vec<FilePatch<'py>>, Vec<usize>, Vec<Range<usize>>) {
    let mut patches = Vec::new();
    let mut owner = Vec::new();
    for (index, w) in work.iter().enumerate() {
        let Some(mods) = modules.get(&w.path) else {
            log::debug!(target: "hotswap", "{} is not imported; nothing to update", display_path(&w.path));
            continue;
        };
        for (module, filename) in mods {
            patches.push(FilePatch {
                filename: filename.clone(),
                text: Arc::clone(&w.text),
                kept: w.kept,
                display_path: display_path(&w.path),
                plan: w.plan.clone(),
                module: module.clone(),
                name: module.getattr(intern!(py, "__name__")).and_then(|n| n.extract()).unwrap_or_default(),
            });
            owner.push(index);
        }
    }
    let trees: Vec<&DefinitionTree> = owner.iter().map(|&i| &work[i].tree).collect();
    let waves = if patches.len() > 1 { batch_waves(&patches, &trees) } else { vec![(0..patches.len()).collect()] };
    let mut slots: Vec<Option<FilePatch<'_>>> = patches.into_iter().map(Some).collect();
    let mut ordered = Vec::with_capacity(slots.len());
    let mut ordered_owner = Vec::with_capacity(slots.len());
    let mut ranges = Vec::with_capacity(waves.len());
    for wave in waves {
        let start = ordered.len();
        for i in wave {
            ordered.extend(slots[i].take());
            ordered_owner.push(owner[i]);
        }
        ranges.push(start..ordered.len());
    }
    (ordered, ordered_owner, ranges)
}

/// A path as the user knows it: relative to the working directory when under it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir() {
        if let Ok(rel) = path.strip_prefix(&cwd) {
            return rel.display().to_string();
        }
    }
    path.display().to_string()
}

/// Lets one reload run at a time. Waiting happens with the GIL released by the caller.
#[derive(Default)]
struct Gate {
    /// The thread running a reload, if any.
    busy: Mutex<Option<std::thread::ThreadId>>,
    free: Condvar,
}

struct GateTurn<'a>(&'a Gate);

impl Gate {
    fn enter(&self) -> GateTurn<'_> {
        let mut busy = lock(&self.busy);
        while busy.is_some() {
            busy = self.free.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy = Some(std::thread::current().id());
        GateTurn(self)
    }
}

impl Drop for GateTurn<'_> {
    fn drop(&mut self) {
        *lock(&self.0.busy) = None;
        self.0.free.notify_one();
    }
}

/// The engine's locks, held by the thread calling `fork()` across the fork (see `fork.rs`): the
/// child must not inherit a lock taken by a thread it does not have. Dropping it (in the parent
/// and in the child) releases them.
pub struct ForkHold {
    _recording: MutexGuard<'static, source_queue::Directories>,
    _queued: MutexGuard<'static, source_queue::Queued>,
    _files: MutexGuard<'static, HashMap<PathBuf, FileRecord>>,
    _preplanned: MutexGuard<'static, Option<plan::Preplanned>>,
    _canonical: MutexGuard<'static, HashMap<String, PathBuf>>,
    _busy: Option<MutexGuard<'static, Option<std::thread::ThreadId>>>,
    // Dropped last: releasing the turn locks `busy` again.
    _turn: Option<GateTurn<'static>>,
}

impl Engine {
    /// Waits (with the GIL released) for a reload in progress to end and keeps new ones from
    /// starting, then takes every engine lock. When the calling thread is itself running a
    /// reload (module code re-run by a reload forks), that reload continues in both processes.
    /// The other locks are taken with the GIL held: nobody holds one of them while waiting for
    /// the GIL, and a thread holding the GIL may wait for them.
    pub fn hold_for_fork(&'static self, py: Python<'_>) -> ForkHold {
        let me = std::thread::current().id();
        let mine = *lock(&self.gate.busy) == Some(me);
        let turn = if mine { None } else { Some(py.detach(|| self.gate.enter())) };
        let busy = lock(&self.gate.busy);
        ForkHold {
            _recording: lock(&self.queued.recording),
            _queued: lock(&self.queued.paths),
            _files: lock(&self.files),
            // After `files`: planning takes them in this order.
            _preplanned: lock(&self.preplanned),
            _canonical: lock(&self.canonical),
            _busy: Some(busy),
            _turn: turn,
        }
    }
}

impl Drop for ForkHold {
    fn drop(&mut self) {
        // `busy` must be unlocked before the turn is given back (which locks it).
        self._busy.take();
        self._turn.take();
    }
}
