//! File watching: raw file-system events → coalesced batches of changed files, content hashed.
//!
//! notify's backend thread forwards raw events over one `mpsc` channel to a single thread of
//! ours ("hotswap-watch"). That thread keeps a pending entry with a deadline per path
//! ([`coalesce`]), reads each file once its writes have settled, drops content identical to what
//! the program already runs, and hands everything that settled together to the sink as one
//! [`Batch`]. Nothing is polled while idle; the only polling is for a root that was deleted,
//! until it reappears.

mod coalesce;
mod event_loop;
#[cfg(test)]
mod tests;

use std::ffi::OsStr;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use event_loop::Msg;

/// What to watch and how long to let a burst of events settle.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Directories (watched recursively) or single files. Overlapping roots are merged.
    pub roots: Vec<PathBuf>,
    /// Quiet time after the last completed write of a path before it is read and emitted.
    pub debounce: Duration,
    /// File extensions to report, without the dot. Default: `["py"]`. Empty: every extension.
    pub extensions: Vec<String>,
    /// Asked, with the new bytes, whether a save that just ended (a close after writing, a
    /// rename into place) may go out at once; when it says no, the path waits the debounce
    /// like any other, so a save that may be one file of several lands with the others.
    /// `None`: every ended save goes out at once.
    pub settles_at_once: Option<SettleCheck>,
}

/// Whether a path with these new bytes may go out at once.
pub type SettleFn = dyn Fn(&Path, &[u8]) -> bool + Send + Sync;

/// The consumer's say on settling a save at its end (see [`WatchConfig::settles_at_once`]).
#[derive(Clone)]
pub struct SettleCheck(pub std::sync::Arc<SettleFn>);

impl std::fmt::Debug for SettleCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SettleCheck")
    }
}

impl Default for WatchConfig {
    /// 2 ms is enough because writes are recognised by their close (IN_CLOSE_WRITE), not guessed
    /// from silence: the debounce only has to cover the few events of one save.
    fn default() -> Self {
        WatchConfig {
            roots: Vec::new(),
            debounce: Duration::from_millis(2),
            extensions: vec!["py".to_string()],
            settles_at_once: None,
        }
    }
}

/// One file's new state, read after its events settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileEvent {
    /// Created, modified, or moved here. `content` is the bytes read once the writes settled.
    Changed { path: PathBuf, content: Vec<u8>, hash: u64 },
    /// Deleted, or moved away (outside the roots or to a name that is not watched).
    Removed { path: PathBuf },
    /// The path exists but could not be read (permission denied, it is a directory now, ...).
    Unreadable { path: PathBuf, reason: String },
}

impl FileEvent {
    /// The path this event is about.
    pub fn path(&self) -> &Path {
        match self {
            FileEvent::Changed { path, .. } | FileEvent::Removed { path } | FileEvent::Unreadable { path, .. } => path,
        }
    }
}

/// Every file event that settled together, in path order, at most one event per path.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<FileEvent>,
}

/// Errors starting a watcher.
#[derive(Debug)]
pub struct WatchError(pub String);

impl fmt::Display for WatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WatchError {}

/// FNV-1a, 64 bit: deterministic across runs and processes (unlike `std`'s `RandomState`), so a
/// hash computed when a module was imported can be compared with one computed by the watcher.
pub fn content_hash(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// Whether a path is one the watcher reports under this config: the extension matches, the name
/// is not an editor's temporary file, and no directory between its root and the file is ignored
/// (VCS metadata, caches, build output). Only directories below the root are checked, so a
/// project that itself lives under `~/build/` is still watched. Pure: it does not look at the
/// file system, so the watcher's extra rule (skip any directory holding a `pyvenv.cfg`) is not
/// applied here.
pub fn is_watched_path(path: &Path, config: &WatchConfig) -> bool {
    let rel = config
        .roots
        .iter()
        .filter_map(|root| relative_to_root(path, root))
        // Overlapping roots are merged into the outermost one, so judge by that one too.
        .max_by_key(|rel| rel.components().count())
        .unwrap_or(path);
    NameFilter::new(&config.extensions).accepts_file(rel)
}

/// `path` relative to `root`; a path equal to the root (a file root) is reduced to its name.
fn relative_to_root<'a>(path: &'a Path, root: &Path) -> Option<&'a Path> {
    let rel = path.strip_prefix(root).ok()?;
    if rel.as_os_str().is_empty() {
        path.file_name().map(Path::new)
    } else {
        Some(rel)
    }
}

/// Directories that never hold the program's own source: VCS metadata, caches, installed
/// packages, build output. Matched by exact name (plus `*.egg-info`).
const IGNORED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "__pycache__",
    "node_modules",
    ".venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "dist",
    "site-packages",
    "target",
];

fn is_ignored_dir(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    IGNORED_DIRS.contains(&name.as_ref()) || name.ends_with(".egg-info")
}

/// Swap, backup and safe-write files of vim, emacs and JetBrains IDEs, and generic `*.tmp`.
/// Most fail the extension check anyway; being explicit keeps an `extensions: []` config sane.
fn is_editor_temp(name: &str) -> bool {
    const SUFFIXES: &[&str] = &[".swp", ".swx", ".swo", "~", "___jb_tmp___", "___jb_old___", ".tmp"];
    name == "4913"
        || name.starts_with(".#")
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// The name-based half of the filter (the other half, virtualenv detection, needs the disk).
#[derive(Clone, Debug)]
struct NameFilter {
    extensions: Vec<String>,
}

impl NameFilter {
    fn new(extensions: &[String]) -> Self {
        let extensions = extensions.iter().map(|e| e.trim_start_matches('.').to_string()).collect();
        NameFilter { extensions }
    }

    /// `rel`: the file's path below its root (or just its name for a file root).
    fn accepts_file(&self, rel: &Path) -> bool {
        let Some(name) = rel.file_name() else {
            return false;
        };
        if is_editor_temp(&name.to_string_lossy()) {
            return false;
        }
        let extension_ok = self.extensions.is_empty()
            || rel.extension().and_then(OsStr::to_str).is_some_and(|ext| self.extensions.iter().any(|e| e == ext));
        extension_ok && rel.parent().is_none_or(|dirs| self.accepts_dir(dirs))
    }

    /// `rel`: a directory's path below its root; every component must be a watched name.
    fn accepts_dir(&self, rel: &Path) -> bool {
        rel.components().all(|c| match c {
            Component::Normal(name) => !is_ignored_dir(name),
            _ => true,
        })
    }
}

/// A canonical root. A file root is watched through its parent directory, non-recursively.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Root {
    path: PathBuf,
    is_file: bool,
}

/// Canonicalizes the roots and drops those inside another root, so that each file is watched
/// (and reported) once, however the user's roots overlap.
fn resolve_roots(given: &[PathBuf]) -> Result<Vec<Root>, WatchError> {
    if given.is_empty() {
        return Err(WatchError("no roots to watch were given".to_string()));
    }
    let mut roots = Vec::with_capacity(given.len());
    for path in given {
        let canonical = std::fs::canonicalize(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                WatchError(format!("watch root {} does not exist", path.display()))
            } else {
                WatchError(format!("cannot resolve watch root {}: {e}", path.display()))
            }
        })?;
        let meta = std::fs::metadata(&canonical)
            .map_err(|e| WatchError(format!("cannot inspect watch root {}: {e}", path.display())))?;
        roots.push(Root { path: canonical, is_file: !meta.is_dir() });
    }
    // Path ordering is component-wise, so a directory sorts before everything inside it.
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    let mut merged: Vec<Root> = Vec::with_capacity(roots.len());
    for root in roots {
        let covered =
            merged.iter().any(|kept| kept.path == root.path || (!kept.is_file && root.path.starts_with(&kept.path)));
        if !covered {
            merged.push(root);
        }
    }
    Ok(merged)
}

/// A running file watcher: settled batches of file events go to its sink (it applies nothing).
/// Stopped (and its thread joined) by [`FileWatcher::stop`] or on drop.
pub struct FileWatcher {
    roots: Vec<PathBuf>,
    tx: mpsc::Sender<Msg>,
    thread: Option<JoinHandle<()>>,
}

impl FileWatcher {
    /// Starts watching; `sink` is called on the watcher's own thread with each settled batch.
    ///
    /// Returns once every root is watched, so a change made after this returns is seen.
    pub fn start<F: FnMut(Batch) + Send + 'static>(config: WatchConfig, sink: F) -> Result<FileWatcher, WatchError> {
        let roots = resolve_roots(&config.roots)?;
        let root_paths = roots.iter().map(|r| r.path.clone()).collect();
        let (tx, rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let backend_tx = tx.clone();
        // The notify backend is created on our thread: it is not `Send` on every platform.
        let thread = thread::Builder::new()
            .name("hotswap-watch".to_string())
            .spawn(move || event_loop::run(config, roots, backend_tx, rx, ready_tx, sink))
            .map_err(|e| WatchError(format!("cannot start the watcher thread: {e}")))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(FileWatcher { roots: root_paths, tx, thread: Some(thread) }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => {
                let _ = thread.join();
                Err(WatchError("the watcher thread exited while starting".to_string()))
            }
        }
    }

    /// The canonical roots actually watched (after merging overlaps).
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// Stops the thread(s) and waits for them; idempotent. Also done on drop.
    pub fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let _ = self.tx.send(Msg::Stop);
        // Stopping from inside the sink (the watcher's own thread) must not join itself: the
        // thread exits on its own once the sink returns.
        if thread.thread().id() == thread::current().id() {
            return;
        }
        if thread.join().is_err() {
            log::error!(target: "hotswap", "the file watcher thread panicked");
        }
    }
}

impl Drop for FileWatcher {
    fn drop(&mut self) {
        self.stop();
    }
}

impl fmt::Debug for FileWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileWatcher").field("roots", &self.roots).field("running", &self.thread.is_some()).finish()
    }
}
