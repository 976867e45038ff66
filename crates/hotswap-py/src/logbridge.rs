//! Rust `log` records to Python's `logging`, without importing `logging` before it is needed.
//!
//! Importing `logging` costs a program about as much as everything else hotswap adds to its
//! start (see `benches/RESULTS.md`), and many programs never import it. Until the module is
//! imported no logging configuration can exist, so what `logging` would do with a record is
//! known: below the threshold (WARNING, or what the command line asked for, see
//! `hotswap._log`) it is dropped, otherwise `logging` is imported and the record goes through
//! it. Once `logging` is in `sys.modules` (looked at once per batch, not per record), every
//! record goes to `pyo3_log`, whose cached levels let a filtered-out message cost no GIL on
//! the watcher thread.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

/// Python level a record needs to be written while `logging` is not imported.
static THRESHOLD: AtomicU32 = AtomicU32::new(30);

static BRIDGE: LazyLogger = LazyLogger { real: OnceLock::new() };

struct LazyLogger {
    real: OnceLock<(pyo3_log::Logger, pyo3_log::ResetHandle)>,
}

fn python_level(level: Level) -> u32 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

fn logging_imported(py: Python<'_>) -> bool {
    py.import("sys")
        .and_then(|sys| sys.getattr("modules"))
        .and_then(|modules| modules.contains("logging"))
        .unwrap_or(false)
}

impl LazyLogger {
    /// The `pyo3_log` logger, made (importing `logging` through `hotswap._log`, which applies
    /// the command line's set-up) on first need.
    fn real(&self, py: Python<'_>) -> Option<&pyo3_log::Logger> {
        if let Some((real, _)) = self.real.get() {
            return Some(real);
        }
        // No lock around this: Python code may switch threads. Two threads racing here make
        // two loggers, and one is dropped.
        py.import("hotswap._log").and_then(|m| m.call_method0("logger")).ok()?;
        let real = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels).ok()?;
        let handle = real.reset_handle();
        let _ = self.real.set((real, handle));
        self.real.get().map(|(real, _)| real)
    }
}

impl Log for LazyLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        if let Some((real, _)) = self.real.get() {
            return real.enabled(metadata);
        }
        // Below the threshold, a record is written only once the program has imported (and so
        // may have configured) `logging`: `refresh` looks at each batch and watcher start.
        python_level(metadata.level()) >= THRESHOLD.load(Ordering::Relaxed)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        Python::attach(|py| {
            if let Some(real) = self.real(py) {
                real.log(record);
            }
        });
    }

    fn flush(&self) {}
}

/// Installs the bridge as the `log` crate's logger (when the extension loads).
pub fn install() {
    if log::set_logger(&BRIDGE).is_ok() {
        log::set_max_level(LevelFilter::Debug);
    }
}

/// With the GIL, before a batch or a watcher writes its messages: levels changed since the
/// last batch apply, and a program that imported `logging` since gets its records from now on.
pub fn refresh(py: Python<'_>) {
    match BRIDGE.real.get() {
        Some((_, handle)) => handle.reset(),
        None => {
            if logging_imported(py) {
                let _ = BRIDGE.real(py);
            }
        }
    }
}

/// `hotswap._log` tells the level records need while `logging` is not imported.
#[pyfunction]
pub fn set_log_threshold(level: u32) {
    THRESHOLD.store(level, Ordering::Relaxed);
}
