//! `hotswap._core`: the CPython extension. It owns the live side of the pipeline: the engine's
//! record of what each file runs ([`engine`]), the applier ([`apply`]), the index of live
//! functions ([`inventory`]) and the watcher thread's bridge into Python ([`watcher`]).

mod apply;
mod attr_names;
mod classes;
mod code;
mod engine;
mod fork;
mod hooks;
mod interpreter;
mod inventory;
mod live;
mod liveloop;
mod logbridge;
mod panics;
mod parsed;
mod patching;
mod propagate;
mod pyerr;
mod quiesce;
mod report;
mod sync;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use hotswap_core::watch::{content_hash, FileEvent};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::engine::{FileStamp, ImportedSource, ENGINE};
use crate::report::{Report, ReportError};

/// Records `content` as the source `path` runs (the CLI's script, `hotswap.patch`, children).
#[pyfunction]
fn record_source(path: &str, content: &[u8]) -> PyResult<()> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| PathBuf::from(path));
    ENGINE.record_source(&path, content, true).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// Queues the source of a module about to run, to be recorded off this thread (the import
/// hook calls this): `source`, the bytes Python compiled, or when it ran a `.pyc`, `stamp`, the
/// file's stat that `.pyc` was validated against (device, inode, size, mtime and ctime in ns):
/// the file is read later, and recorded if its stat is still that one.
#[pyfunction]
fn queue_source(path: PathBuf, source: Option<&[u8]>, stamp: Option<(u64, u64, u64, i64, i64)>) {
    let file = absolute_file(&path);
    let source = match (source, stamp) {
        (Some(bytes), _) => ImportedSource::Bytes(bytes.to_vec()),
        (None, Some((device, inode, size, mtime_ns, ctime_ns))) => {
            ImportedSource::Stamped(FileStamp { device, inode, size, mtime_ns, ctime_ns })
        }
        (None, None) => return,
    };
    ENGINE.queue_source(file, source);
}

/// Files written this recently are compiled from their source, not run from a `.pyc`: Python
/// trusts a `.pyc` whose source has the same size and mtime in whole seconds, so a same-size
/// edit in the second it was written would run the old bytecode while the new text is recorded.
/// A file older than this cannot be written again without its ctime changing, so its stat tells
/// whether the recorder's later read sees the version that was imported.
pub(crate) const RECENT_SECONDS: f64 = 2.0;

/// The import hook's `path_stats`: the stat Python's loader validates a `.pyc` against, as
/// `{"mtime": float, "size": int}`. For the module's own file (`own`): an `OSError` when it was
/// written in the last [`RECENT_SECONDS`] (the loader then compiles the source it reads), else,
/// when `record`, the stat is queued as the version of the file that runs.
#[pyfunction]
fn source_stats<'py>(py: Python<'py>, path: PathBuf, own: bool, record: bool) -> PyResult<Bound<'py, PyDict>> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&path)?;
    let mtime = meta.mtime() as f64 + meta.mtime_nsec() as f64 * 1e-9;
    if own {
        let ctime = meta.ctime() as f64 + meta.ctime_nsec() as f64 * 1e-9;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        if now - mtime.max(ctime) < RECENT_SECONDS {
            return Err(pyo3::exceptions::PyOSError::new_err("written in the last seconds: compiled from its source"));
        }
        if record {
            ENGINE.queue_source(absolute_file(&path), ImportedSource::Stamped(FileStamp::of(&meta)));
        }
    }
    let stats = PyDict::new(py);
    stats.set_item(intern!(py, "mtime"), mtime)?;
    stats.set_item(intern!(py, "size"), meta.size())?;
    Ok(stats)
}

/// The bytes of the file at `path`, as the import hook's loader reads a `.pyc` or a source:
/// open, stat, one read, close (Python's `io.open_code` takes eight system calls, with its
/// buffering, `isatty` check and seeks), which pays for the recorder's own read of the source.
#[pyfunction]
fn read_file<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    use std::io::{ErrorKind, Read};
    let mut file = std::fs::File::open(path)?;
    let size = file.metadata()?.len() as usize;
    let mut bytes = vec![0; size + 1];
    let mut filled = 0;
    // Done once the stat's size is read; a file that grew since is read to its end.
    while filled != size {
        if filled == bytes.len() {
            bytes.resize(bytes.len() * 2, 0);
        }
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(pyo3::types::PyBytes::new(py, &bytes[..filled]))
}

/// `path` made absolute now, before the program can `chdir` (a module found through an empty
/// `sys.path` entry has a relative path). A path, not a string: file names need not be UTF-8.
fn absolute_file(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Records, from disk, the source of every loaded module under `roots` that has no record yet.
/// Returns how many were recorded.
#[pyfunction]
fn record_loaded(py: Python<'_>, roots: Vec<String>) -> PyResult<usize> {
    py.detach(|| ENGINE.flush_queued());
    let roots: Vec<PathBuf> = roots.iter().filter_map(|r| std::fs::canonicalize(r).ok()).collect();
    let modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?.copy()?;
    let mut files = Vec::new();
    for module in modules.values() {
        let Ok(Some(file)) = module.getattr_opt(intern!(py, "__file__")) else { continue };
        let Ok(file) = file.extract::<String>() else { continue };
        if !file.ends_with(".py") {
            continue;
        }
        let Some(path) = ENGINE.canonical_path(&file) else { continue };
        // One whose file changed while it was imported is left so: its first save says so.
        if is_under(&path, &roots) && !ENGINE.has_record(&path) && !ENGINE.changed_since_import(&path) {
            files.push(path);
        }
    }
    let count = py.detach(|| {
        files
            .iter()
            .filter(|path| match std::fs::read(path) {
                Ok(bytes) => ENGINE.record_source(path, &bytes, false).is_ok(),
                Err(_) => false,
            })
            .count()
    });
    Ok(count)
}

/// Whether `path` is one of `roots` or below one (all canonical, so their bytes compare; cheaper
/// than `Path::starts_with`, which walks components, for every loaded module).
fn is_under(path: &Path, roots: &[PathBuf]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let path = path.as_os_str().as_bytes();
    roots.iter().any(|root| {
        let root = root.as_os_str().as_bytes();
        path.starts_with(root) && (path.len() == root.len() || root.ends_with(b"/") || path[root.len()] == b'/')
    })
}

/// Reads `paths` now and applies them as one batch, as the watcher would.
#[pyfunction]
fn reload_paths(py: Python<'_>, paths: Vec<String>) -> Report {
    let inputs: Vec<FileEvent> = paths.iter().map(|p| read_input(Path::new(p))).collect();
    py.detach(|| panics::reload(inputs))
}

fn read_input(path: &Path) -> FileEvent {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let path = std::fs::canonicalize(&absolute).unwrap_or(absolute);
    match std::fs::read(&path) {
        Ok(content) => FileEvent::Changed { hash: content_hash(&content), content, path },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileEvent::Removed { path },
        Err(e) => FileEvent::Unreadable { reason: e.to_string(), path },
    }
}

/// Starts the index of live functions (3.12+: function watcher); returns how functions are found.
#[pyfunction]
fn enable_inventory(py: Python<'_>) -> PyResult<&'static str> {
    inventory::enable(py)?;
    Ok(inventory::backend())
}

/// Applies the edits waiting for watchers in `manual` sync mode; returns what changed.
#[pyfunction]
fn poll(py: Python<'_>) -> Report {
    sync::poll(py)
}

/// True while a reload is re-running module-level code.
#[pyfunction]
fn currently_reloading() -> bool {
    apply::RELOADING.load(Ordering::SeqCst) > 0
}

/// For tests: the first line of each module-level statement that is not a `def` or `class`
/// (the module docstring is not a statement), with the names it reads, as the planner sees them.
#[pyfunction]
fn statement_reads(source: &str) -> PyResult<Vec<(u32, Vec<String>)>> {
    let version = crate::interpreter::grammar();
    let tree = hotswap_core::parse::parse_definitions(source, version).map_err(|issues| {
        let first = issues.first().map(|i| format!("line {}: {}", i.line, i.message));
        pyo3::exceptions::PySyntaxError::new_err(first.unwrap_or_else(|| "invalid syntax".into()))
    })?;
    let statements = tree.items.iter().filter_map(|item| item.as_stmt());
    Ok(statements.map(|s| (s.span.start, s.reads.clone())).collect())
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let info = py.import("sys")?.getattr("version_info")?;
    let version: (u8, u8) = (info.getattr("major")?.extract()?, info.getattr("minor")?.extract()?);
    interpreter::set_grammar(version);
    logbridge::install();
    panics::prepare();
    m.add_class::<Report>()?;
    m.add_class::<ReportError>()?;
    m.add_class::<watcher::ReloadWatcher>()?;
    m.add_function(wrap_pyfunction!(watcher::stop_watchers, m)?)?;
    m.add_function(wrap_pyfunction!(record_source, m)?)?;
    m.add_function(wrap_pyfunction!(queue_source, m)?)?;
    m.add_function(wrap_pyfunction!(source_stats, m)?)?;
    m.add_function(wrap_pyfunction!(read_file, m)?)?;
    m.add("RECENT_SECONDS", RECENT_SECONDS)?;
    m.add_function(wrap_pyfunction!(logbridge::set_log_threshold, m)?)?;
    m.add_function(wrap_pyfunction!(report::set_message_format, m)?)?;
    m.add_function(wrap_pyfunction!(record_loaded, m)?)?;
    m.add_function(wrap_pyfunction!(reload_paths, m)?)?;
    m.add_function(wrap_pyfunction!(currently_reloading, m)?)?;
    m.add_function(wrap_pyfunction!(statement_reads, m)?)?;
    m.add_function(wrap_pyfunction!(enable_inventory, m)?)?;
    m.add_function(wrap_pyfunction!(poll, m)?)?;
    m.add_function(wrap_pyfunction!(code::set_compile_hook, m)?)?;
    fork::register(m)?;
    liveloop::register(m)?;
    m.add_function(wrap_pyfunction!(patching::reload_source, m)?)?;
    m.add_function(wrap_pyfunction!(patching::recorded_source, m)?)?;
    m.add_function(wrap_pyfunction!(patching::previous_source, m)?)?;
    m.add_class::<parsed::Definition>()?;
    m.add_class::<parsed::Import>()?;
    m.add_function(wrap_pyfunction!(parsed::definitions, m)?)?;
    m.add_function(wrap_pyfunction!(parsed::imports, m)?)?;
    m.add_function(wrap_pyfunction!(parsed::display_path, m)?)?;
    Ok(())
}
