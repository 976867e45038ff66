//! The sources the import hook read, waiting to be recorded, and the recorder thread that
//! records them: importing a module costs the program one read of its file and a queue push.

use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::Engine;
use crate::pyerr::lock;

/// Sources at least this large are parsed when recorded (on the recorder thread), so their
/// first edit does not wait for the old text's parse too.
const LARGE_FILE: usize = 64 * 1024;

/// Sources of modules being imported, waiting to be recorded.
///
/// Lock order: `recording`, then `paths`, then the engine's `files`.
#[derive(Default)]
pub(super) struct SourceQueue {
    pub(super) paths: Mutex<Vec<(String, Vec<u8>)>>,
    ready: Condvar,
    /// Held while a batch of queued sources is recorded, so a flush waits for one in progress.
    pub(super) recording: Mutex<()>,
    /// The process whose recorder thread is running (a forked child has none until it queues).
    recorder_pid: Mutex<Option<u32>>,
}

impl Engine {
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
}
