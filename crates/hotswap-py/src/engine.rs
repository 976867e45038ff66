//! Engine: what each watched file is running now, and one reload from new bytes to a report.
//!
//! Locking rules (they keep the GIL and our locks from deadlocking each other):
//! - `Engine::files` is only locked for pure-Rust work: never call Python or log while holding it.
//! - The reload gate serialises reloads; it is only waited for with the GIL released.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, LazyLock, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use hotswap_core::diff::diff_trees;
use hotswap_core::parse::parse_definitions;
use hotswap_core::plan::{module_docstring_step, plan_patch, PatchPlan};
use hotswap_core::source::{decode_source, DecodeError};
use hotswap_core::tree::{DefinitionTree, Item, SyntaxIssue};
use hotswap_core::watch::content_hash;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::apply::{apply_batch, describe_exception, FilePatch};
use crate::propagate::{batch_order, refresh_importers, snapshot, Importer};
use crate::report::Report;

/// The source a file's module is running, and its parsed tree (parsed on first need).
struct FileRecord {
    text: String,
    hash: u64,
    tree: Option<DefinitionTree>,
    /// The text run before the last applied batch (for `hotswap --test --revert-on-fail`).
    previous: Option<String>,
}

/// New state of one file, as the watcher or `reload_paths` saw it.
pub enum FileInput {
    Changed { path: PathBuf, content: Vec<u8>, hash: u64 },
    Removed { path: PathBuf },
    Unreadable { path: PathBuf, reason: String },
}

impl FileInput {
    pub fn path(&self) -> &Path {
        match self {
            FileInput::Changed { path, .. } | FileInput::Removed { path } | FileInput::Unreadable { path, .. } => path,
        }
    }
}

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

type ModuleIndex = (usize, HashMap<PathBuf, Vec<(String, String)>>);

pub static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine {
    files: Mutex::new(HashMap::new()),
    gate: Gate::default(),
    canonical: Mutex::new(HashMap::new()),
    queued: SourceQueue::default(),
    module_index: Mutex::new(None),
});

/// Sources at least this large are parsed when recorded (on the recorder thread), so their
/// first edit does not wait for the old text's parse too.
const LARGE_FILE: usize = 64 * 1024;

/// Sources of modules being imported, waiting to be recorded.
///
/// Lock order: `recording`, then `paths`, then the engine's `files`.
#[derive(Default)]
struct SourceQueue {
    paths: Mutex<Vec<(String, Vec<u8>)>>,
    ready: Condvar,
    /// Held while a batch of queued sources is recorded, so a flush waits for one in progress.
    recording: Mutex<()>,
    /// The process whose recorder thread is running (a forked child has none until it queues).
    recorder_pid: Mutex<Option<u32>>,
}

/// The grammar the running interpreter accepts; set when the extension loads.
pub static PYTHON_VERSION: OnceLock<(u8, u8)> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Engine {
    /// Records the source a module was (or is about to be) loaded from, unless one is recorded.
    pub fn record_source(&self, path: &Path, content: &[u8], replace: bool) -> Result<(), String> {
        let text = decode_text(content).map_err(|(_, message)| message)?;
        let mut files = lock(&self.files);
        if replace || !files.contains_key(path) {
            files.insert(path.to_path_buf(), FileRecord { text, hash: content_hash(content), tree: None, previous: None });
        }
        Ok(())
    }

    /// Queues the source of a module being imported from `file`, read just now, to be recorded
    /// (replacing any earlier record) by the recorder thread: decoding, hashing and resolving
    /// the path happen there, off the importing thread.
    pub fn queue_source(&'static self, file: String, content: Vec<u8>) {
        let first = {
            let mut paths = lock(&self.queued.paths);
            paths.push((file, content));
            paths.len() == 1
        };
        if !first {
            return; // the recorder was woken by the first and takes them all
        }
        self.queued.ready.notify_one();
        let pid = std::process::id();
        let mut running = lock(&self.queued.recorder_pid);
        if *running != Some(pid) {
            let spawned = std::thread::Builder::new().name("hotswap-recorder".into()).spawn(move || loop {
                {
                    let mut paths = lock(&self.queued.paths);
                    while paths.is_empty() {
                        paths = self.queued.ready.wait(paths).unwrap_or_else(|p| p.into_inner());
                    }
                }
                // Modules are imported in bursts: let the burst go on undisturbed, then read it.
                std::thread::sleep(std::time::Duration::from_millis(5));
                self.flush_queued();
            });
            if spawned.is_ok() {
                *running = Some(pid);
            }
        }
    }

    /// Records every queued source now; waits for the recorder thread's batch in progress.
    pub fn flush_queued(&self) {
        let _recording = lock(&self.queued.recording);
        let paths = std::mem::take(&mut *lock(&self.queued.paths));
        for (file, content) in paths {
            let absolute = std::path::absolute(&file).unwrap_or_else(|_| PathBuf::from(&file));
            // Deleted since its import: recorded under the path it had.
            let canonical = std::fs::canonicalize(&absolute).ok();
            let path = canonical.clone().unwrap_or(absolute);
            // Undecodable: left unrecorded, and reported when the file is edited.
            if self.record_source(&path, &content, true).is_ok() && content.len() >= LARGE_FILE {
                self.parse_recorded(&path);
            }
            // The module's `__file__` is this string: batches and `watch()` need not stat it.
            if let (Some(canonical), true) = (canonical, Path::new(&file).is_absolute()) {
                lock(&self.canonical).insert(file, canonical);
            }
        }
    }

    /// Parses the recorded text of `path` now, so its first edit parses only the new text.
    fn parse_recorded(&self, path: &Path) {
        let Some((hash, text)) = lock(&self.files).get(path).map(|r| (r.hash, r.text.clone())) else { return };
        let version = *PYTHON_VERSION.get().unwrap_or(&(3, 9));
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
        lock(&self.files).get(path).and_then(|record| record.previous.clone())
    }

    /// The text the module loaded from `path` runs, if recorded.
    pub fn recorded_text(&self, path: &Path) -> Option<String> {
        self.flush_queued();
        lock(&self.files).get(path).map(|record| record.text.clone())
    }

    pub fn has_record(&self, path: &Path) -> bool {
        lock(&self.files).contains_key(path)
    }

    /// Canonical form of a module's `__file__`, cached.
    pub fn canonical_path(&self, file: &str) -> Option<PathBuf> {
        if let Some(p) = lock(&self.canonical).get(file) {
            return Some(p.clone());
        }
        let path = std::fs::canonicalize(file).ok()?;
        lock(&self.canonical).insert(file.to_owned(), path.clone());
        Some(path)
    }

    /// Applies a batch. Must be called without holding the GIL.
    pub fn reload(&self, inputs: Vec<FileInput>) -> Report {
        let _turn = self.gate.enter();
        let started = Instant::now();
        self.flush_queued();
        let mut report = Report::default();
        let mut work = Vec::new();
        let mut unrecorded = Vec::new();
        for input in inputs {
            report.paths.push(display_path(input.path()));
            match input {
                FileInput::Changed { path, content, hash } => match self.plan_file(&path, &content, hash) {
                    Planned::Nothing => {}
                    Planned::Unrecorded => unrecorded.push((path, content)),
                    Planned::Error { line, message } => report.error(&display_path(&path), line, message),
                    Planned::Errors(list) => {
                        for (line, message) in list {
                            report.error(&display_path(&path), line, message);
                        }
                    }
                    Planned::Patch(w) => work.push(*w),
                },
                FileInput::Removed { path } => {
                    if self.has_record(&path) {
                        let note = format!(
                            "{} was deleted; its module keeps running the code it has",
                            display_path(&path)
                        );
                        log::warn!(target: "hotswap", "{note}");
                        report.notes.push(note);
                    }
                }
                // Only files the program runs matter; anything else is noise.
                FileInput::Unreadable { path, reason } if self.has_record(&path) => {
                    report.error(&display_path(&path), 0, format!("cannot read: {reason}"));
                }
                FileInput::Unreadable { path, reason } => {
                    log::debug!(target: "hotswap", "{}: cannot read ({reason}); not imported", display_path(&path));
                }
            }
        }
        let planned_ms = started.elapsed().as_secs_f64() * 1000.0;
        let applied = if work.is_empty() && unrecorded.is_empty() {
            Vec::new()
        } else {
            Python::attach(|py| {
                // Levels set since the last batch apply from here on (we hold the GIL anyway).
                crate::logbridge::refresh(py);
                self.apply(py, &work, &unrecorded, &mut report)
            })
        };
        let applied_ms = started.elapsed().as_secs_f64() * 1000.0;
        self.commit_records(work, applied);
        report.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        log::debug!(
            target: "hotswap",
            "batch: planned in {planned_ms:.1} ms, applied by {applied_ms:.1} ms, done in {:.1} ms",
            report.duration_ms
        );
        report
    }

    fn plan_file(&self, path: &Path, content: &[u8], hash: u64) -> Planned {
        let old_text = {
            let files = lock(&self.files);
            match files.get(path) {
                None => return Planned::Unrecorded,
                Some(record) if record.hash == hash => return Planned::Nothing,
                Some(record) => (record.tree.clone(), record.text.clone()),
            }
        };
        match decode_text(content) {
            Ok(text) => self.plan_text(path, text, hash, old_text),
            Err((line, message)) => Planned::Error { line, message: format!("not applied: {message}") },
        }
    }

    fn plan_text(&self, path: &Path, text: String, hash: u64, old: (Option<DefinitionTree>, String)) -> Planned {
        let version = *PYTHON_VERSION.get().unwrap_or(&(3, 9));
        let new_tree = match parse_definitions(&text, version) {
            Ok(tree) => tree,
            Err(issues) => return Planned::Errors(syntax_errors(path, &text, issues)),
        };
        let old_tree = match old.0 {
            Some(tree) => tree,
            None => match parse_definitions(&old.1, version) {
                Ok(tree) => tree,
                Err(_) => {
                    // The running version never parsed (it cannot have been imported as is):
                    // take the new text as the base from now on.
                    return Planned::Patch(Box::new(FileWork {
                        path: path.to_path_buf(),
                        plan: PatchPlan::default(),
                        text,
                        tree: new_tree,
                        hash,
                    }));
                }
            },
        };
        let changes = diff_trees(&old_tree, &new_tree);
        let mut plan = plan_patch(&text, &new_tree, &changes);
        if let Some(step) = module_docstring_step(&text, &new_tree, old_tree.docstring_hash) {
            plan.steps.insert(0, step);
        }
        drop(changes);
        Planned::Patch(Box::new(FileWork { path: path.to_path_buf(), plan, text, tree: new_tree, hash }))
    }

    /// Under the GIL: find the modules, apply every plan, refresh `linecache`.
    fn apply(
        &self,
        py: Python<'_>,
        work: &[FileWork],
        unrecorded: &[(PathBuf, Vec<u8>)],
        report: &mut Report,
    ) -> Vec<FileResult> {
        let wanted: Vec<&Path> = work.iter().map(|w| w.path.as_path()).chain(unrecorded.iter().map(|(p, _)| p.as_path())).collect();
        let modules = match self.modules_from(py, &wanted) {
            Ok(m) => m,
            Err(err) => {
                report.error("<engine>", 0, format!("cannot list modules: {}", describe_exception(py, &err)));
                return work.iter().map(|_| FileResult::Rejected).collect();
            }
        };
        for (path, content) in unrecorded {
            if modules.contains_key(path) {
                if let Err(message) = self.record_source(path, content, false) {
                    report.error(&display_path(path), 0, format!("cannot record its source: {message}"));
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
        // Dependencies first: a file may use what another file of the batch adds.
        let trees: Vec<&DefinitionTree> = owner.iter().map(|&i| &work[i].tree).collect();
        let order = if patches.len() > 1 { batch_order(&patches, &trees) } else { vec![0; patches.len()] };
        let mut slots: Vec<Option<FilePatch<'_>>> = patches.into_iter().map(Some).collect();
        let patches: Vec<FilePatch<'_>> = order.iter().filter_map(|&i| slots[i].take()).collect();
        let owner: Vec<usize> = order.iter().map(|&i| owner[i]).collect();
        let before = snapshot(&patches);
        let outcomes = apply_batch(py, &patches);
        let importers = || {
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
        };
        refresh_importers(&patches, &before, importers, report);
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
        // The index stays usable past what this batch imported (the first batch imports
        // `linecache`, `gc`...): a module it imported from a watched file is not in the index,
        // and a path missing from it makes the next batch look at everything.
        if let Ok(sys_modules) = py.import("sys").and_then(|sys| sys.getattr("modules")) {
            if let (Some((len, _)), Ok(now)) = (lock(&self.module_index).as_mut(), sys_modules.len()) {
                *len = now;
            }
        }
        results
    }

    /// Canonical path → (module, its `__file__`) for every loaded module with a source file.
    fn loaded_modules<'py>(&self, py: Python<'py>) -> PyResult<LoadedModules<'py>> {
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
    fn modules_from<'py>(&self, py: Python<'py>, paths: &[&Path]) -> PyResult<LoadedModules<'py>> {
        let sys_modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?;
        let known = lock(&self.module_index).as_ref().and_then(|(len, index)| {
            if *len != sys_modules.len() {
                return None;
            }
            paths.iter().map(|p| index.get(*p).map(|names| (p.to_path_buf(), names.clone()))).collect::<Option<Vec<_>>>()
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

    /// After a batch: applied files run the new text now; failed items stay marked as changed.
    fn commit_records(&self, work: Vec<FileWork>, results: Vec<FileResult>) {
        let mut files = lock(&self.files);
        let none_failed = FileResult::Applied(Vec::new());
        for (index, w) in work.into_iter().enumerate() {
            let result = results.get(index).unwrap_or(&none_failed);
            let FileResult::Applied(failed) = result else { continue };
            let mut tree = w.tree;
            for step in failed {
                mark_dirty(&mut tree.items, &step.scope, step.new_line.max(step.old_line));
            }
            let previous = files.remove(&w.path).map(|old| old.text);
            files.insert(w.path, FileRecord { text: w.text, hash: w.hash, tree: Some(tree), previous });
            crate::liveloop::source_changed();
        }
    }
}

/// Canonical path → every loaded module from that file, with its `__file__` string.
type LoadedModules<'py> = HashMap<PathBuf, Vec<(Bound<'py, PyAny>, String)>>;

struct FileWork {
    path: PathBuf,
    plan: PatchPlan,
    text: String,
    tree: DefinitionTree,
    hash: u64,
}

enum Planned {
    Nothing,
    Unrecorded,
    Error { line: u32, message: String },
    Errors(Vec<(u32, String)>),
    Patch(Box<FileWork>),
}

enum FileResult {
    /// Applied; these steps failed and must be retried by the next save.
    Applied(Vec<hotswap_core::plan::PatchStep>),
    Rejected,
}

/// Makes the item at `line` in `scope` look changed to the next diff, so a step that failed is
/// tried again on the next save instead of being taken as done.
fn mark_dirty(items: &mut [Item], scope: &[String], line: u32) {
    let mut items = items;
    for name in scope {
        let next = items.iter_mut().find_map(|item| match item {
            Item::Def(d) if d.kind.is_class() && &d.name == name => Some(&mut d.children),
            _ => None,
        });
        match next {
            Some(children) => items = children,
            None => return,
        }
    }
    for item in items.iter_mut() {
        match item {
            Item::Def(d) if d.span.start == line => d.body_hash ^= DIRTY,
            Item::Stmt(s) if s.span.start == line => s.text_hash ^= DIRTY,
            _ => {}
        }
    }
}

const DIRTY: u64 = 0x9e37_79b9_7f4a_7c15;

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

/// Source bytes → text: UTF-8, BOM and PEP 263 cookies for UTF-8/Latin-1/ASCII in Rust, any
/// other declared encoding through Python's codecs. An error carries its line (0 if none).
fn decode_text(content: &[u8]) -> Result<String, (u32, String)> {
    match decode_source(content) {
        Ok(text) => Ok(text),
        Err(DecodeError::OtherEncoding(name)) => decode_with_python(content, &name).map_err(|m| (0, m)),
        Err(err @ (DecodeError::Invalid { line, .. } | DecodeError::Binary { line })) => Err((line, err.to_string())),
    }
}

/// The syntax errors to report. ruff finds every error in one pass, but after an unclosed
/// bracket it reports where the parse gave up, not where the bracket is; CPython's compiler
/// names the first error as Python users know it. When they disagree on the first line,
/// CPython's error is the one reported.
fn syntax_errors(path: &Path, text: &str, issues: Vec<SyntaxIssue>) -> Vec<(u32, String)> {
    let describe = |line: u32, column: u32, message: &str| {
        (line, format!("syntax error (column {column}): {message}; not applied, the previous code keeps running"))
    };
    let ruff: Vec<(u32, String)> = issues.iter().map(|i| describe(i.line, i.column, &i.message)).collect();
    let first_ruff_line = issues.first().map_or(0, |i| i.line);
    let cpython = Python::attach(|py| -> Option<(u32, u32, String)> {
        let compile = py.import("builtins").ok()?.getattr("compile").ok()?;
        let err = compile.call1((text, path.display().to_string(), "exec", 0, true)).err()?;
        let value = err.value(py);
        let line = value.getattr(intern!(value.py(), "lineno")).ok()?.extract::<u32>().ok()?;
        let column = value.getattr(intern!(value.py(), "offset")).ok()?.extract::<u32>().unwrap_or(0);
        let message = value.getattr(intern!(value.py(), "msg")).ok()?.extract::<String>().ok()?;
        Some((line, column, message))
    });
    match cpython {
        Some((line, column, message)) if line != first_ruff_line => vec![describe(line, column, &message)],
        _ => ruff,
    }
}

fn decode_with_python(content: &[u8], encoding: &str) -> Result<String, String> {
    Python::attach(|py| {
        let bytes = pyo3::types::PyBytes::new(py, content);
        match bytes.call_method1("decode", (encoding,)).and_then(|s| s.extract::<String>()) {
            Ok(text) => Ok(text),
            Err(err) => Err(format!("not applied: cannot decode as {encoding}: {}", describe_exception(py, &err))),
        }
    })
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

    /// The path and hash of every recorded file: what this process runs.
    pub fn recorded_hashes(&self) -> Vec<(PathBuf, u64)> {
        self.flush_queued();
        lock(&self.files).iter().map(|(path, record)| (path.clone(), record.hash)).collect()
    }

    /// The source `path` runs now (as last applied) and its hash.
    pub fn recorded_source(&self, path: &Path) -> Option<(u64, String)> {
        self.flush_queued();
        lock(&self.files).get(path).map(|record| (record.hash, record.text.clone()))
    }

    /// The hash of the source `path` runs now.
    pub fn recorded_hash(&self, path: &Path) -> Option<u64> {
        self.flush_queued();
        lock(&self.files).get(path).map(|record| record.hash)
    }
}

impl Drop for ForkHold {
    fn drop(&mut self) {
        // `busy` must be unlocked before the turn is given back (which locks it).
        self._busy.take();
        self._turn.take();
    }
}
