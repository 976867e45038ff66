//! The watcher as Python sees it: a core watcher whose batches go through the engine, with the
//! reports queued for `wait_for_reload` and handed to the user's callback.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hotswap_core::watch::{self, Batch, WatchConfig};
use pyo3::exceptions::{PyTimeoutError, PyValueError};
use pyo3::prelude::*;

use crate::pyerr::lock;
use crate::report::Report;
use crate::sync::{Delivery, SyncMode};

/// Watches directories in a background thread and applies every settled batch of edits.
/// Python sees it as `hotswap._core.Watcher`, which `hotswap.Watcher` wraps.
#[pyclass(name = "Watcher", module = "hotswap._core")]
pub struct ReloadWatcher {
    live: Arc<Live>,
    roots: Vec<String>,
    delivery: Arc<Delivery>,
}

/// What a forked child needs to watch again as its parent did (see `fork.rs`).
pub struct Live {
    pub inner: Mutex<Option<watch::FileWatcher>>,
    pub config: WatchConfig,
    pub delivery: Arc<Delivery>,
}

impl Live {
    /// The running core watcher, taken out so that it is stopped once; `None` once stopped.
    fn take_running(&self) -> Option<watch::FileWatcher> {
        self.inner.lock().ok().and_then(|mut w| w.take())
    }
}

/// Every watcher not yet dropped. Only locked with the GIL held.
static LIVE: Mutex<Vec<Weak<Live>>> = Mutex::new(Vec::new());

/// The watchers not yet dropped (running or stopped).
pub fn live_watchers() -> Vec<Arc<Live>> {
    let mut live = lock(&LIVE);
    live.retain(|w| w.strong_count() > 0);
    live.iter().filter_map(Weak::upgrade).collect()
}

/// Stops every running watcher (idempotent). Registered with `atexit` when the first watcher
/// starts: a batch must not run while the interpreter tears its modules down, and a watch
/// handle closed by the kernel at exit can hold the exit up (Linux waits out an RCU grace
/// period for inotify watches made moments before, ~5-15 ms for a program that watches and
/// exits at once), whereas stopped here it closes while Python finalizes.
#[pyfunction]
pub fn stop_watchers(py: Python<'_>) {
    let running: Vec<watch::FileWatcher> = live_watchers().iter().filter_map(|live| live.take_running()).collect();
    py.detach(move || {
        for mut inner in running {
            inner.stop();
        }
    });
}

/// Registers [`stop_watchers`] with `atexit`, once per process.
fn stop_at_exit(py: Python<'_>) -> PyResult<()> {
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    if REGISTERED.load(Ordering::SeqCst) {
        return Ok(());
    }
    let stop = wrap_pyfunction!(stop_watchers, py)?;
    py.import("atexit")?.call_method1("register", (stop,))?;
    // Only once it is registered: a failure is tried again by the next watcher. Two watchers
    // racing here may register it twice, which is harmless (stopping is idempotent).
    REGISTERED.store(true, Ordering::SeqCst);
    Ok(())
}

/// The engine decides whether a save that just ended goes out at once: only when applying it
/// runs nothing (see `Engine::settles_at_once`). A panic there counts as "wait the debounce".
fn engine_settle_check() -> watch::SettleCheck {
    watch::SettleCheck(Arc::new(|path, content| {
        crate::panics::guarded(|| crate::engine::ENGINE.settles_at_once(path, content)).unwrap_or(false)
    }))
}

/// Starts the core watcher whose batches go to `delivery`.
pub fn start_core(config: WatchConfig, delivery: &Arc<Delivery>) -> Result<watch::FileWatcher, watch::WatchError> {
    let sink_delivery = Arc::clone(delivery);
    let sink = move |batch: Batch| sink_delivery.accept(batch.events);
    watch::FileWatcher::start(config, sink)
}

#[pymethods]
impl ReloadWatcher {
    #[new]
    #[pyo3(signature = (roots, debounce_ms=None, on_reload=None, sync="immediate", on_batch=None))]
    fn new(
        py: Python<'_>,
        roots: Vec<String>,
        debounce_ms: Option<f64>,
        on_reload: Option<Py<PyAny>>,
        sync: &str,
        on_batch: Option<Py<PyAny>>,
    ) -> PyResult<Self> {
        crate::logbridge::refresh(py);
        let mode = SyncMode::parse(sync)?;
        let mut config = WatchConfig {
            roots: roots.iter().map(PathBuf::from).collect(),
            settles_at_once: Some(engine_settle_check()),
            ..WatchConfig::default()
        };
        if let Some(ms) = debounce_ms {
            if !(ms >= 0.0 && ms.is_finite()) {
                return Err(PyValueError::new_err("debounce_ms must be a non-negative number"));
            }
            config.debounce = Duration::from_secs_f64(ms / 1000.0);
        }
        stop_at_exit(py)?;
        let delivery = Delivery::new(mode, on_reload, on_batch);
        let started_config = config.clone();
        let inner = py.detach(|| start_core(started_config, &delivery)).map_err(|e| PyValueError::new_err(e.0))?;
        let roots: Vec<String> = inner.roots().iter().map(|r| r.display().to_string()).collect();
        let live = Arc::new(Live { inner: Mutex::new(Some(inner)), config, delivery: Arc::clone(&delivery) });
        {
            let mut registry = lock(&LIVE);
            registry.retain(|w| w.strong_count() > 0);
            registry.push(Arc::downgrade(&live));
        }
        Ok(ReloadWatcher { live, roots, delivery })
    }

    /// The directories watched (absolute, overlaps merged).
    #[getter]
    fn roots(&self) -> Vec<String> {
        self.roots.clone()
    }

    /// Whether the watcher is still running.
    #[getter]
    fn running(&self) -> bool {
        self.live.inner.lock().map(|w| w.is_some()).unwrap_or(false)
    }

    #[pyo3(signature = (timeout=None))]
    fn wait_for_reload(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Report> {
        let timeout = match timeout {
            Some(t) if t.is_finite() && t >= 0.0 => Some(Duration::from_secs_f64(t)),
            Some(t) if t.is_nan() || t < 0.0 => return Err(PyValueError::new_err("timeout must be >= 0")),
            _ => None,
        };
        let delivery = Arc::clone(&self.delivery);
        // Waiting in slices keeps Ctrl-C responsive.
        let started = Instant::now();
        loop {
            let slice = Duration::from_millis(100);
            let wait = timeout.map_or(slice, |t| t.saturating_sub(started.elapsed()).min(slice));
            if let Some(report) = py.detach(|| delivery.next_report(wait)) {
                return Ok(report);
            }
            py.check_signals()?;
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                return Err(PyTimeoutError::new_err("no reload finished within the timeout"));
            }
        }
    }

    /// Stops watching; idempotent.
    fn stop(&self, py: Python<'_>) {
        if let Some(mut inner) = self.live.take_running() {
            py.detach(move || inner.stop());
        }
    }
}

impl Drop for ReloadWatcher {
    /// A watcher dropped without `stop()` is stopped on another thread: the caller may hold the
    /// GIL, and the watcher thread may be waiting for it to finish a reload.
    fn drop(&mut self) {
        if let Some(mut inner) = self.live.take_running() {
            let _ = std::thread::Builder::new().name("hotswap-stop".into()).spawn(move || inner.stop());
        }
    }
}
