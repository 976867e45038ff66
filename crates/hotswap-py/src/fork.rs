//! `fork()`: a forked child keeps receiving edits.
//!
//! Only the thread that calls `fork()` exists in the child; the watcher threads do not. Two
//! things follow, and `os.register_at_fork` hooks (registered when the extension loads) handle
//! both:
//!
//! - No lock may be left held in the child by a thread it does not have. Before the fork, the
//!   forking thread waits for a reload in progress to finish and takes every lock the engine
//!   and the watchers' deliveries use from threads that run without the GIL; the fork happens
//!   while it holds them, and both processes release them afterwards. (Locks only ever taken
//!   with the GIL held need nothing: the forking thread holds the GIL.)
//! - In the child, each running watcher is replaced by a new one on the same roots, feeding the
//!   same delivery (same sync mode, callback and report queue). The parent's watcher object is
//!   forgotten, never stopped: its threads do not exist here, so joining them would hang. Then
//!   the files the child runs are compared with the disk, so an edit saved while the child was
//!   starting to watch is applied too.

use std::cell::RefCell;
use std::sync::Arc;

use hotswap_core::watch::{content_hash, FileEvent};
use pyo3::prelude::*;

use crate::engine::{ForkHold, ENGINE};
use crate::pyerr::lock;
use crate::sync::DeliveryHold;
use crate::watcher::{live_watchers, start_core, Live};

struct Held {
    // Deliveries first: they are released before the engine's gate lets reloads run again.
    _deliveries: Vec<DeliveryHold>,
    _engine: ForkHold,
}

thread_local! {
    /// The locks held across a fork, by the thread calling `fork()` (the hooks run on it).
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// `os.register_at_fork(before=...)`: take every lock the child could otherwise inherit held.
#[pyfunction]
fn before_fork(py: Python<'_>) {
    let engine = ENGINE.hold_for_fork(py);
    let deliveries = live_watchers().iter().map(|live| live.delivery.hold_for_fork()).collect();
    HELD.with(|held| *held.borrow_mut() = Some(Held { _deliveries: deliveries, _engine: engine }));
}

/// `os.register_at_fork(after_in_parent=...)`.
#[pyfunction]
fn after_fork_parent() {
    HELD.with(|held| held.borrow_mut().take());
}

/// `os.register_at_fork(after_in_child=...)`: release the locks, watch again, catch up.
#[pyfunction]
fn after_fork_child(py: Python<'_>) {
    HELD.with(|held| held.borrow_mut().take());
    let watchers = live_watchers();
    let mut restarted = 0;
    for live in &watchers {
        live.delivery.after_fork_child();
        if restart(py, live) {
            restarted += 1;
        }
    }
    if restarted > 0 {
        log::debug!(target: "hotswap", "forked child {}: watching again ({restarted} watcher(s))", std::process::id());
        let running: Vec<_> = watchers
            .iter()
            .filter(|l| l.inner.lock().is_ok_and(|w| w.is_some()))
            .map(|l| (l.config.roots.clone(), Arc::clone(&l.delivery)))
            .collect();
        let spawned = std::thread::Builder::new().name("hotswap-catch-up".into()).spawn(move || {
            let mut stale = stale_files();
            for (roots, delivery) in running {
                let roots: Vec<_> = roots.iter().filter_map(|r| std::fs::canonicalize(r).ok()).collect();
                let (mine, rest): (Vec<_>, Vec<_>) =
                    stale.into_iter().partition(|input| roots.iter().any(|r| input.path().starts_with(r)));
                stale = rest;
                if !mine.is_empty() {
                    delivery.accept(mine);
                }
            }
        });
        if let Err(err) = spawned {
            log::warn!(target: "hotswap", "forked child: cannot check for edits saved while it was forking: {err}");
        }
    }
}

/// Replaces the parent's running watcher (if it was running) by one of this process.
fn restart(py: Python<'_>, live: &Live) -> bool {
    let mut inner = lock(&live.inner);
    let Some(inherited) = inner.take() else { return false };
    // Its threads (and the notify backend's) exist only in the parent.
    std::mem::forget(inherited);
    let config = live.config.clone();
    let delivery = Arc::clone(&live.delivery);
    match py.detach(move || start_core(config, &delivery)) {
        Ok(watcher) => {
            *inner = Some(watcher);
            true
        }
        Err(err) => {
            log::error!(target: "hotswap", "forked child {}: cannot watch the files again ({}); this process will not pick up edits", std::process::id(), err.0);
            false
        }
    }
}

/// Recorded files whose content on disk differs from what this process runs.
fn stale_files() -> Vec<FileEvent> {
    ENGINE
        .recorded_hashes()
        .into_iter()
        .filter_map(|(path, hash)| match std::fs::read(&path) {
            Ok(content) => {
                let new_hash = content_hash(&content);
                (new_hash != hash).then_some(FileEvent::Changed { path, content, hash: new_hash })
            }
            Err(_) => None,
        })
        .collect()
}

/// Registers the hooks with `os.register_at_fork` (POSIX only; elsewhere there is no fork).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let os = py.import("os")?;
    if !os.hasattr("register_at_fork")? {
        return Ok(());
    }
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("before", wrap_pyfunction!(before_fork, m)?)?;
    kwargs.set_item("after_in_parent", wrap_pyfunction!(after_fork_parent, m)?)?;
    kwargs.set_item("after_in_child", wrap_pyfunction!(after_fork_child, m)?)?;
    os.call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}
