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

mod module_index;
mod plan;
mod records;
mod source_queue;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

use hotswap_core::tree::DefinitionTree;
use hotswap_core::watch::FileEvent;
use pyo3::intern;
use pyo3::prelude::*;

use crate::apply::{apply_batch, FilePatch};
use crate::propagate::{batch_order, refresh_importers, snapshot, Importer};
use crate::pyerr::{describe_exception, lock};
use crate::report::Report;
use module_index::{LoadedModules, ModuleIndex};
use plan::{FilePlan, FileResult, FileWork};
pub use records::source_generation;
use records::FileRecord;
use source_queue::SourceQueue;

/// The process's one engine ([`ENGINE`]); its methods are spread over the rooms by job.
pub struct Engine {
    files: Mutex<HashMap<PathBuf, FileRecord>>,
    gate: Gate,
    /// `__file__` string → canonical path, so a batch does not stat every module again.
    canonical: Mutex<HashMap<String, PathBuf>>,
    /// Sources the import hook read: recorded by a background thread, so importing a module
    /// costs the program one read of its file and a queue push.
    queued: SourceQueue,
    /// From the last full pass over `sys.modules`: its length, and the module names (with
    /// their `__file__`) of each canonical path.
    module_index: Mutex<Option<ModuleIndex>>,
}

/// Batches the engine has run in this process: a report's `generation`.
static BATCHES: AtomicU64 = AtomicU64::new(0);

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine {
    files: Mutex::new(HashMap::new()),
    gate: Gate::default(),
    canonical: Mutex::new(HashMap::new()),
    queued: SourceQueue::default(),
    module_index: Mutex::new(None),
});

impl Engine {
    /// Applies a batch. Must be called without holding the GIL.
    pub fn reload(&self, inputs: Vec<FileEvent>) -> Report {
        let _turn = self.gate.enter();
        let started = Instant::now();
        self.flush_queued();
        let mut report = Report { generation: BATCHES.fetch_add(1, Ordering::SeqCst) + 1, ..Report::default() };
        let mut work = Vec::new();
        let mut unrecorded = Vec::new();
        for input in inputs {
            report.paths.push(display_path(input.path()));
            match input {
                FileEvent::Changed { path, content, hash } => match self.plan_file(&path, &content, hash) {
                    FilePlan::Unchanged => {}
                    FilePlan::Unrecorded => unrecorded.push((path, content)),
                    FilePlan::Error { line, message } => report.error(&display_path(&path), line, message),
                    FilePlan::Errors(list) => {
                        for (line, column, message) in list {
                            report.error_at(&display_path(&path), line, column, message);
                        }
                    }
                    FilePlan::Edit(w) => work.push(*w),
                },
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
        let planned_ms = started.elapsed().as_secs_f64() * 1000.0;
        if work.is_empty() && unrecorded.is_empty() {
            self.commit_records(work, Vec::new());
        } else {
            Python::attach(|py| {
                // Levels set since the last batch apply from here on (we hold the GIL anyway).
                crate::logbridge::refresh(py);
                let applied = self.apply(py, &work, &unrecorded, &mut report);
                // Before the GIL is released: a live loop that sees the new generation finds
                // the new records too, so it never runs one more item with the old body.
                self.commit_records(work, applied);
            })
        }
        let applied_ms = started.elapsed().as_secs_f64() * 1000.0;
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        log::debug!(
            target: "hotswap",
            "batch: planned in {planned_ms:.1} ms, applied by {applied_ms:.1} ms, done in {:.1} ms",
            report.duration_ms
        );
        report
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
        let (patches, owner) = file_patches(py, work, &modules);
        let before = snapshot(&patches);
        let outcomes = apply_batch(py, &patches);
        refresh_importers(&patches, &before, || self.importers(py, work), report);
        let mut results: Vec<FileResult> = work.iter().map(|_| FileResult::Applied(Vec::new())).collect();
        for ((patch, outcome), index) in patches.iter().zip(outcomes).zip(owner) {
            if outcome.rejected {
                results[index] = FileResult::Rejected;
            } else {
                if let FileResult::Applied(failed) = &mut results[index] {
                    failed.extend(outcome.failed_steps.iter().map(|&s| patch.plan.steps[s].clone()));
                }
                refresh_linecache(py, &patch.filename, &work[index].text);
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
                report.error(
                    &display_path(path),
                    0,
                    "hotswap has no record of the source this module was loaded from (it was imported \
                     before hotswap.install() or watch()); the current text is recorded and later saves apply",
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
        let files = lock(&self.files);
        let mut out = Vec::new();
        for (path, mods) in &every {
            let (text, tree) = match work.iter().find(|w| &w.path == path) {
                Some(w) => (w.text.clone(), Some(&w.tree)),
                None => match files.get(path) {
                    Some(record) => (record.text.clone(), record.tree.as_ref()),
                    None => continue,
                },
            };
            for (module, _) in mods {
                let imports = tree.map(|t| t.imports.clone().into()).unwrap_or_default();
                out.push(Importer { module: module.clone(), text: text.clone(), imports });
            }
        }
        out
    }
}

/// One [`FilePatch`] per loaded module of each planned file, dependencies first (a file may use
/// what another file of the batch adds), with the index in `work` each one comes from.
fn file_patches<'py>(
    py: Python<'py>,
    work: &[FileWork],
    modules: &LoadedModules<'py>,
) -> (Vec<FilePatch<'py>>, Vec<usize>) {
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
                display_path: display_path(&w.path),
                plan: w.plan.clone(),
                module: module.clone(),
                name: module.getattr(intern!(py, "__name__")).and_then(|n| n.extract()).unwrap_or_default(),
            });
            owner.push(index);
        }
    }
    let trees: Vec<&DefinitionTree> = owner.iter().map(|&i| &work[i].tree).collect();
    let order = if patches.len() > 1 { batch_order(&patches, &trees) } else { vec![0; patches.len()] };
    let mut slots: Vec<Option<FilePatch<'_>>> = patches.into_iter().map(Some).collect();
    let patches: Vec<FilePatch<'_>> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let owner: Vec<usize> = order.iter().map(|&i| owner[i]).collect();
    (patches, owner)
}

fn refresh_linecache(py: Python<'_>, filename: &str, text: &str) {
    let result: PyResult<()> = (|| {
        let linecache = py.import("linecache")?;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        // mtime None: `checkcache` keeps the entry, so tracebacks show the code that runs.
        let entry = (text.len(), py.None(), lines, filename);
        linecache.getattr(intern!(linecache.py(), "cache"))?.set_item(filename, entry)?;
        Ok(())
    })();
    if let Err(err) = result {
        log::debug!(target: "hotswap", "linecache not updated for {filename}: {}", describe_exception(py, &err));
    }
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
    _recording: MutexGuard<'static, ()>,
    _queued: MutexGuard<'static, Vec<(String, Vec<u8>)>>,
    _files: MutexGuard<'static, HashMap<PathBuf, FileRecord>>,
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
