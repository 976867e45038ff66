//! When a settled batch is applied: at once on the watcher thread (`immediate`), on the main
//! thread at its next bytecode boundary (`main`, through `Py_AddPendingCall`), or when the
//! program calls `hotswap.poll()` (`manual`). Batches that wait are merged: the newest state of
//! each file wins.

use std::collections::VecDeque;
use std::os::raw::{c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use hotswap_core::watch::FileEvent;
use parking_lot::{ArcMutexGuard, Condvar, RawMutex};
use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::prelude::*;

use crate::pyerr::lock;
use crate::report::Report;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    Immediate,
    Main,
    Manual,
}

impl SyncMode {
    pub fn parse(name: &str) -> PyResult<SyncMode> {
        match name {
            "immediate" => Ok(SyncMode::Immediate),
            "main" => Ok(SyncMode::Main),
            "manual" => Ok(SyncMode::Manual),
            other => Err(PyValueError::new_err(format!("sync must be 'immediate', 'main' or 'manual', not {other:?}"))),
        }
    }
}

/// A lock whose guard can be owned (not borrowed), so a fork can hold it across two hooks.
type SharedLock<T> = Arc<parking_lot::Mutex<T>>;

/// Reports not yet collected by `wait_for_reload`, oldest first. Bounded: a program that never
/// waits must not grow memory.
#[derive(Default)]
struct ReportQueue {
    reports: SharedLock<VecDeque<Report>>,
    arrived: Condvar,
}

const QUEUE_LIMIT: usize = 256;

/// What one watcher's batches go through: its mode, the batches waiting for their turn, the
/// reports waiting for a reader, and the user's callback.
pub struct Delivery {
    mode: SyncMode,
    waiting: SharedLock<Vec<FileEvent>>,
    /// A pending call is queued on the main thread and has not run yet.
    scheduled: AtomicBool,
    reports: ReportQueue,
    callback: Option<Py<PyAny>>,
    /// Called with the report of every batch, before `callback` (the event stream).
    on_batch: Option<Py<PyAny>>,
}

/// Manual-mode deliveries, for `poll()`.
static MANUAL: Mutex<Vec<Weak<Delivery>>> = Mutex::new(Vec::new());

impl Delivery {
    pub fn new(mode: SyncMode, callback: Option<Py<PyAny>>, on_batch: Option<Py<PyAny>>) -> Arc<Delivery> {
        let delivery = Arc::new(Delivery {
            mode,
            waiting: SharedLock::default(),
            scheduled: AtomicBool::new(false),
            reports: ReportQueue::default(),
            callback,
            on_batch,
        });
        if mode == SyncMode::Manual {
            let mut manual = lock(&MANUAL);
            manual.retain(|d| d.strong_count() > 0);
            manual.push(Arc::downgrade(&delivery));
        }
        delivery
    }

    /// Called on the watcher thread (without the GIL) with each settled batch.
    pub fn accept(self: &Arc<Self>, inputs: Vec<FileEvent>) {
        match self.mode {
            SyncMode::Immediate => self.deliver(crate::panics::reload(inputs)),
            SyncMode::Manual => merge_into(&mut self.waiting.lock(), inputs),
            SyncMode::Main => {
                merge_into(&mut self.waiting.lock(), inputs);
                if !self.scheduled.swap(true, Ordering::SeqCst) {
                    schedule_on_main(self);
                }
            }
        }
    }

    /// Applies whatever is waiting; returns the report (empty if nothing was waiting).
    /// Must be called without the GIL.
    fn apply_waiting(&self) -> Report {
        let inputs = std::mem::take(&mut *self.waiting.lock());
        if inputs.is_empty() {
            return Report::default();
        }
        let report = crate::panics::reload(inputs);
        self.deliver(report.clone());
        report
    }

    fn deliver(&self, report: Report) {
        if let Some(on_batch) = &self.on_batch {
            call_back(on_batch, &report, "on_event");
        }
        if !report.is_significant() {
            return;
        }
        {
            let mut reports = self.reports.reports.lock();
            if reports.len() == QUEUE_LIMIT {
                reports.pop_front();
            }
            reports.push_back(report.clone());
            self.reports.arrived.notify_all();
        }
        if let Some(callback) = &self.callback {
            call_back(callback, &report, "on_reload");
        }
    }

    /// The oldest uncollected report, waiting up to `timeout`. Must be called without the GIL.
    pub fn next_report(&self, timeout: Duration) -> Option<Report> {
        let deadline = Instant::now() + timeout;
        let mut reports = self.reports.reports.lock();
        loop {
            if let Some(report) = reports.pop_front() {
                return Some(report);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.reports.arrived.wait_for(&mut reports, left);
        }
    }
}

/// Calls the user's `callback` (named `name` in the message) with `report`; an exception it
/// raises is printed, and the program goes on.
fn call_back(callback: &Py<PyAny>, report: &Report, name: &str) {
    Python::attach(|py| {
        if let Err(err) = callback.call1(py, (report.clone(),)) {
            log::error!(target: "hotswap", "the {name} callback raised an exception (the edit itself was applied):");
            err.print(py);
        }
    });
}

/// Adds `inputs` to the waiting ones; a path seen again replaces its older state.
fn merge_into(waiting: &mut Vec<FileEvent>, inputs: Vec<FileEvent>) {
    for input in inputs {
        waiting.retain(|w| w.path() != input.path());
        waiting.push(input);
    }
}

/// Applies the batches of every manual-mode watcher now; the merged report.
pub fn poll(py: Python<'_>) -> Report {
    let deliveries: Vec<Arc<Delivery>> = lock(&MANUAL).iter().filter_map(Weak::upgrade).collect();
    let mut report = Report::default();
    for delivery in deliveries {
        let applied = py.detach(|| delivery.apply_waiting());
        report.duration_ms += applied.duration_ms;
        report.merge(applied);
    }
    report
}

// `Py_AddPendingCall` takes a C callback and a raw pointer: the delivery's reference is passed
// through it by hand.
#[allow(unsafe_code)]
fn schedule_on_main(delivery: &Arc<Delivery>) {
    let raw = Arc::into_raw(Arc::clone(delivery)) as *mut c_void;
    // `Py_AddPendingCall` may be called from any thread without the GIL. Its queue is small and
    // can be full for a moment: retry briefly.
    for _ in 0..1000 {
        // SAFETY: `run_on_main` takes back exactly the reference `into_raw` made, once.
        if unsafe { ffi::Py_AddPendingCall(Some(run_on_main), raw) } == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    log::error!(target: "hotswap", "could not hand the edit to the main thread (its queue of pending calls stayed full); it is applied with the next save");
    delivery.scheduled.store(false, Ordering::SeqCst);
    // SAFETY: the pending call was never queued, so this reference is still ours to release.
    drop(unsafe { Arc::from_raw(raw as *const Delivery) });
}

/// Runs on the main thread, with the GIL, between two bytecodes of the program.
#[allow(unsafe_code)]
extern "C" fn run_on_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the reference `schedule_on_main` leaked for this call.
    let delivery = unsafe { Arc::from_raw(arg as *const Delivery) };
    delivery.scheduled.store(false, Ordering::SeqCst);
    // Returning -1 would raise into the program: every failure is reported instead (a panic
    // in the reload itself is already in its report).
    if let Err(message) = crate::panics::guarded(|| Python::attach(|py| py.detach(|| delivery.apply_waiting()))) {
        log::error!(target: "hotswap", "internal error in hotswap on the main thread: {message}; please report it");
    }
    0
}

/// A delivery's locks, held by the thread calling `fork()` across the fork (see `fork.rs`).
/// The guards own their locks, so nothing here borrows the delivery.
pub struct DeliveryHold {
    _waiting: ArcMutexGuard<RawMutex, Vec<FileEvent>>,
    _reports: ArcMutexGuard<RawMutex, VecDeque<Report>>,
}

impl Delivery {
    /// Takes this delivery's locks (call with the GIL held: no thread holds them while waiting
    /// for the GIL).
    pub fn hold_for_fork(self: &Arc<Self>) -> DeliveryHold {
        DeliveryHold {
            _waiting: parking_lot::Mutex::lock_arc(&self.waiting),
            _reports: parking_lot::Mutex::lock_arc(&self.reports.reports),
        }
    }

    /// In a forked child: a main-thread call scheduled by the parent may be gone, so schedule
    /// again what waits.
    pub fn after_fork_child(self: &Arc<Self>) {
        self.scheduled.store(false, Ordering::SeqCst);
        if self.mode == SyncMode::Main
            && !self.waiting.lock().is_empty()
            && !self.scheduled.swap(true, Ordering::SeqCst)
        {
            schedule_on_main(self);
        }
    }
}
