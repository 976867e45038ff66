//! The "hotswap-watch" thread: owns the notify backend, maps raw events onto the coalescer,
//! follows roots that disappear, and calls the sink.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode, CreateKind, ModifyKind, RemoveKind, RenameMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _, WatcherKind};

use super::coalesce::{Coalescer, Timings, Trigger};
use super::{relative_to_root, Batch, FileEvent, NameFilter, Root, WatchConfig, WatchError};

/// How often a deleted root is checked for reappearing (the only polling the watcher does).
const ROOT_POLL: Duration = Duration::from_millis(200);
/// Bounds on scanning a directory that appeared, so a huge tree moved in cannot stall us.
const MAX_SCAN_DEPTH: usize = 32;
const MAX_SCAN_ENTRIES: usize = 20_000;
/// Messages handled before a due flush is considered, so a burst is seen whole.
const MAX_DRAIN: usize = 4096;
/// The virtualenv cache is simply cleared when it grows past this.
const MAX_VENV_CACHE: usize = 50_000;

/// Whether notify implements recursive watching by adding a watch per directory itself.
fn emulated_recursion() -> bool {
    matches!(<RecommendedWatcher as notify::Watcher>::kind(), WatcherKind::Inotify | WatcherKind::Kqueue)
}

/// Everything the watcher thread receives, in one channel so ordering is preserved.
pub(super) enum Msg {
    Fs(notify::Result<Event>),
    Stop,
}

/// What a removed path was, when the event says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Was {
    File,
    Dir,
    Unknown,
}

/// A directory handed to the backend: a directory root (recursive) or a file root's parent.
#[derive(Debug)]
struct WatchPoint {
    dir: PathBuf,
    recursive: bool,
    /// Deleted or moved away: unwatched, and polled for until it reappears.
    missing: bool,
}

impl WatchPoint {
    fn mode(&self) -> RecursiveMode {
        if self.recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        }
    }
}

/// Caches whether a directory is a virtualenv (holds a `pyvenv.cfg`), whatever its name.
#[derive(Debug, Default)]
struct VenvCache {
    dirs: HashMap<PathBuf, bool>,
}

impl VenvCache {
    /// Whether `root/rel_dirs` or any directory between it and `root` (exclusive) is a venv.
    fn inside_venv(&mut self, root: &Path, rel_dirs: &Path) -> bool {
        let mut dir = root.to_path_buf();
        for component in rel_dirs.components() {
            dir.push(component);
            if self.is_venv(&dir) {
                return true;
            }
        }
        false
    }

    fn is_venv(&mut self, dir: &Path) -> bool {
        if let Some(&venv) = self.dirs.get(dir) {
            return venv;
        }
        if self.dirs.len() >= MAX_VENV_CACHE {
            self.dirs.clear();
        }
        let venv = dir.join("pyvenv.cfg").is_file();
        self.dirs.insert(dir.to_path_buf(), venv);
        venv
    }

    fn forget_under(&mut self, path: &Path) {
        self.dirs.retain(|dir, _| !dir.starts_with(path));
    }
}

/// The watcher thread's state: the backend, the roots it watches, and the coalescer between
/// raw events and the batches handed to the sink.
struct EventLoop<F> {
    filter: NameFilter,
    roots: Vec<Root>,
    points: Vec<WatchPoint>,
    backend: RecommendedWatcher,
    coalescer: Coalescer,
    venvs: VenvCache,
    next_root_poll: Option<Instant>,
    sink: F,
}

/// Thread body: creates the backend, watches the roots, reports readiness, then runs the loop.
pub(super) fn run<F: FnMut(Batch)>(
    config: WatchConfig,
    roots: Vec<Root>,
    backend_tx: Sender<Msg>,
    rx: Receiver<Msg>,
    ready: Sender<Result<(), WatchError>>,
    sink: F,
) {
    // Symlinked directories are not followed: a link to a parent would make the kernel hand
    // back the same watch under the link's path, and every later event would carry that path.
    // Not opens: every module import and every read of a watched file would wake the backend
    // (on Linux an `IN_OPEN` event each, which doubled the cost of opening a file).
    let kinds = notify::event::EventKindMask::ALL
        .difference(notify::event::EventKindMask::ACCESS_OPEN | notify::event::EventKindMask::ACCESS_CLOSE_NOWRITE);
    let backend_config = notify::Config::default().with_follow_symlinks(false).with_event_kinds(kinds);
    let backend = RecommendedWatcher::new(
        move |res| {
            let _ = backend_tx.send(Msg::Fs(res));
        },
        backend_config,
    );
    let backend = match backend {
        Ok(backend) => backend,
        Err(e) => {
            let _ = ready.send(Err(WatchError(format!("cannot create the file watcher: {e}"))));
            return;
        }
    };
    let mut points: Vec<WatchPoint> = Vec::new();
    for root in &roots {
        let point = match (root.is_file, root.path.parent()) {
            (false, _) => WatchPoint { dir: root.path.clone(), recursive: true, missing: false },
            (true, Some(parent)) => WatchPoint { dir: parent.to_path_buf(), recursive: false, missing: false },
            (true, None) => continue,
        };
        if !points.iter().any(|p| p.dir == point.dir) {
            points.push(point);
        }
    }
    let mut event_loop = EventLoop {
        filter: NameFilter::new(&config.extensions),
        roots,
        points,
        backend,
        coalescer: Coalescer::new(Timings::new(config.debounce)).with_check(config.settles_at_once.clone()),
        venvs: VenvCache::default(),
        next_root_poll: None,
        sink,
    };
    for point in &event_loop.points {
        if let Err(e) = event_loop.backend.watch(&point.dir, point.mode()) {
            let _ = ready.send(Err(WatchError(format!("cannot watch {}: {e}", point.dir.display()))));
            return;
        }
    }
    if ready.send(Ok(())).is_err() {
        return;
    }
    event_loop.run(&rx);
}

impl<F: FnMut(Batch)> EventLoop<F> {
    fn run(&mut self, rx: &Receiver<Msg>) {
        loop {
            let wake = match (self.coalescer.next_flush(), self.next_root_poll) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let received = match wake {
                // Idle: block until something happens; no timer, no polling.
                None => rx.recv().ok(),
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    None => None,
                    Some(wait) => match rx.recv_timeout(wait) {
                        Ok(msg) => Some(msg),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => return,
                    },
                },
            };
            if let Some(msg) = received {
                if !self.handle(msg) {
                    return;
                }
                for _ in 0..MAX_DRAIN {
                    match rx.try_recv() {
                        Ok(msg) => {
                            if !self.handle(msg) {
                                return;
                            }
                        }
                        Err(_) => break,
                    }
                }
            } else if wake.is_none() {
                return; // every sender is gone
            }
            let now = Instant::now();
            self.poll_missing_roots(now);
            let events = self.coalescer.flush(now);
            if !events.is_empty() {
                self.emit(events);
            }
        }
    }

    /// Handles one message; false means stop.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Stop => return false,
            Msg::Fs(Ok(event)) => self.on_event(event),
            Msg::Fs(Err(e)) => self.on_error(e),
        }
        true
    }

    fn on_event(&mut self, event: Event) {
        let now = Instant::now();
        if event.need_rescan() {
            log::warn!(target: "hotswap", "file events were lost (queue overflow); re-checking known files");
            for path in self.coalescer.known_paths() {
                self.file(path, Trigger::Written, now);
            }
        }
        for path in &event.paths {
            if path.file_name().is_some_and(|n| n == "pyvenv.cfg") {
                if let Some(parent) = path.parent() {
                    self.venv_marker_changed(parent);
                }
            }
        }
        match event.kind {
            EventKind::Access(AccessKind::Close(AccessMode::Write)) => self.files(&event.paths, Trigger::Closed, now),
            EventKind::Access(_) => {}
            EventKind::Create(CreateKind::Folder) => {
                for path in &event.paths {
                    self.dir_appeared(path, now);
                }
            }
            EventKind::Create(CreateKind::File) => self.files(&event.paths, Trigger::Created, now),
            EventKind::Create(_) => {
                for path in &event.paths {
                    self.arrived(path, Trigger::Created, now);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => {
                for path in &event.paths {
                    self.arrived(path, Trigger::Placed, now);
                }
            }
            EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => self.files(&event.paths, Trigger::Writing, now),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)) => {
                for path in &event.paths {
                    self.gone(path, Was::Unknown, now);
                }
            }
            EventKind::Modify(ModifyKind::Name(RenameMode::Both)) => {
                if let [from, to, ..] = event.paths.as_slice() {
                    self.gone(from, Was::Unknown, now);
                    self.arrived(to, Trigger::Placed, now);
                }
            }
            // A rename whose direction the backend does not know: look at what is there now.
            EventKind::Modify(ModifyKind::Name(_)) => {
                for path in &event.paths {
                    if path.exists() {
                        self.arrived(path, Trigger::Placed, now);
                    } else {
                        self.gone(path, Was::Unknown, now);
                    }
                }
            }
            EventKind::Modify(_) | EventKind::Any | EventKind::Other => self.files(&event.paths, Trigger::Written, now),
            EventKind::Remove(kind) => {
                let was = match kind {
                    RemoveKind::File => Was::File,
                    RemoveKind::Folder => Was::Dir,
                    RemoveKind::Any | RemoveKind::Other => Was::Unknown,
                };
                for path in &event.paths {
                    self.gone(path, was, now);
                }
            }
        }
    }

    fn on_error(&mut self, error: notify::Error) {
        if matches!(error.kind, notify::ErrorKind::MaxFilesWatch) {
            log::warn!(target: "hotswap", "the OS limit on watched directories was reached, some changes will be missed (on Linux raise fs.inotify.max_user_watches): {error}");
        } else {
            log::warn!(target: "hotswap", "file watching error: {error}");
        }
        // An error may be the only sign that a root went away.
        let now = Instant::now();
        let lost: Vec<PathBuf> =
            self.points.iter().filter(|p| !p.missing && !p.dir.is_dir()).map(|p| p.dir.clone()).collect();
        for dir in lost {
            self.gone(&dir, Was::Dir, now);
        }
    }

    fn files(&mut self, paths: &[PathBuf], trigger: Trigger, now: Instant) {
        for path in paths {
            self.file(path.clone(), trigger, now);
        }
    }

    fn file(&mut self, path: PathBuf, trigger: Trigger, now: Instant) {
        if self.accepts_file(&path) {
            self.coalescer.note(path, trigger, now);
        }
    }

    /// Something was created or moved in whose kind the event does not tell; `trigger` says
    /// which (`Created` or `Placed`) if it is a file.
    fn arrived(&mut self, path: &Path, trigger: Trigger, now: Instant) {
        if path.is_dir() {
            self.dir_appeared(path, now);
        } else {
            self.file(path.to_path_buf(), trigger, now);
        }
    }

    /// `path` was removed or moved away. If it may have been a directory, the files known inside
    /// it are gone too: a directory renamed away produces no events for its files.
    fn gone(&mut self, path: &Path, was: Was, now: Instant) {
        if let Some(point) = self.points.iter_mut().find(|p| p.dir == path && !p.missing) {
            point.missing = true;
            log::warn!(target: "hotswap", "watched directory {} was removed or moved away; watching for it to come back", path.display());
            // A moved directory keeps its inotify watch (under the old name): drop it.
            if let Err(e) = self.backend.unwatch(path) {
                log::debug!(target: "hotswap", "unwatching {}: {e}", path.display());
            }
            self.next_root_poll = Some(now);
        }
        if was != Was::Dir {
            self.file(path.to_path_buf(), Trigger::Gone, now);
        }
        if was != Was::File {
            self.venvs.forget_under(path);
            for inside in self.coalescer.paths_under(path) {
                self.file(inside, Trigger::Gone, now);
            }
        }
    }

    /// A `pyvenv.cfg` came or went in `dir`: re-check it, and if it is a virtualenv now, drop
    /// what was noted inside it before the marker was seen (a scan can race the marker).
    fn venv_marker_changed(&mut self, dir: &Path) {
        self.venvs.dirs.remove(dir);
        if Self::locate(&self.roots, dir, true).is_some() && self.venvs.is_venv(dir) {
            self.coalescer.forget_pending_under(dir);
        }
    }

    /// A directory was created or moved in. Files written into it before it was watched made no
    /// events, so it is scanned and what is found treated as created. Where notify emulates
    /// recursion (inotify, kqueue) it adds the new watch on its own thread, possibly after our
    /// scan; watching it here first, synchronously (a no-op if notify already did), closes that
    /// gap: whatever the scan misses happens after the watch exists and produces events.
    fn dir_appeared(&mut self, dir: &Path, now: Instant) {
        let Some((_, rel)) = Self::locate(&self.roots, dir, true) else {
            return;
        };
        if !self.filter.accepts_dir(rel) {
            return;
        }
        if emulated_recursion() {
            if let Err(e) = self.backend.watch(dir, RecursiveMode::Recursive) {
                log::debug!(target: "hotswap", "watching new directory {}: {e}", dir.display());
            }
        }
        // Venv checks made before the watch existed may have missed a new pyvenv.cfg.
        self.venvs.forget_under(dir);
        if self.accepts_dir(dir) {
            self.scan(dir, now);
        }
    }

    /// Notes every watched file under `dir` as created, within depth and size bounds.
    fn scan(&mut self, dir: &Path, now: Instant) {
        let mut stack = vec![(dir.to_path_buf(), 0usize)];
        let mut budget = MAX_SCAN_ENTRIES;
        while let Some((current, depth)) = stack.pop() {
            let entries = match std::fs::read_dir(&current) {
                Ok(entries) => entries,
                Err(e) => {
                    log::debug!(target: "hotswap", "cannot scan {}: {e}", current.display());
                    continue;
                }
            };
            for entry in entries.flatten() {
                if budget == 0 {
                    log::warn!(target: "hotswap", "stopped scanning new directory {} after {MAX_SCAN_ENTRIES} entries", dir.display());
                    return;
                }
                budget -= 1;
                let Ok(file_type) = entry.file_type() else {
                    continue;
                };
                let path = entry.path();
                // Symlinked directories are not followed: they could loop.
                if file_type.is_dir() {
                    if depth < MAX_SCAN_DEPTH && self.accepts_dir(&path) {
                        stack.push((path, depth + 1));
                    }
                } else if file_type.is_file() || path.is_file() {
                    self.file(path, Trigger::Created, now);
                }
            }
        }
    }

    /// Re-watches deleted roots that exist again and scans them, since anything written before
    /// the new watch was added produced no event.
    fn poll_missing_roots(&mut self, now: Instant) {
        if self.next_root_poll.is_none_or(|at| at > now) {
            return;
        }
        let mut back = Vec::new();
        for point in self.points.iter_mut().filter(|p| p.missing && p.dir.is_dir()) {
            match self.backend.watch(&point.dir, point.mode()) {
                Ok(()) => {
                    point.missing = false;
                    log::warn!(target: "hotswap", "watched directory {} is back; watching it again", point.dir.display());
                    back.push((point.dir.clone(), point.recursive));
                }
                Err(e) => {
                    log::debug!(target: "hotswap", "cannot watch {} yet: {e}", point.dir.display())
                }
            }
        }
        for (dir, recursive) in back {
            if recursive {
                self.scan(&dir, now);
            } else {
                let files: Vec<PathBuf> = self
                    .roots
                    .iter()
                    .filter(|r| r.is_file && r.path.parent() == Some(dir.as_path()) && r.path.is_file())
                    .map(|r| r.path.clone())
                    .collect();
                for file in files {
                    self.file(file, Trigger::Created, now);
                }
            }
        }
        self.next_root_poll = self.points.iter().any(|p| p.missing).then(|| now + ROOT_POLL);
    }

    /// The root `path` belongs to and its path relative to that root, if it is under one.
    fn locate<'a>(roots: &'a [Root], path: &'a Path, want_dirs: bool) -> Option<(&'a Path, &'a Path)> {
        roots.iter().find_map(|root| {
            if root.is_file {
                let parent = root.path.parent()?;
                (!want_dirs && path == root.path).then_some(())?;
                Some((parent, relative_to_root(path, &root.path)?))
            } else {
                let rel = path.strip_prefix(&root.path).ok()?;
                (!rel.as_os_str().is_empty()).then_some((root.path.as_path(), rel))
            }
        })
    }

    fn accepts_file(&mut self, path: &Path) -> bool {
        let Some((root, rel)) = Self::locate(&self.roots, path, false) else {
            return false;
        };
        self.filter.accepts_file(rel) && !self.venvs.inside_venv(root, rel.parent().unwrap_or(Path::new("")))
    }

    fn accepts_dir(&mut self, path: &Path) -> bool {
        let Some((root, rel)) = Self::locate(&self.roots, path, true) else {
            return false;
        };
        self.filter.accepts_dir(rel) && !self.venvs.inside_venv(root, rel)
    }

    fn emit(&mut self, events: Vec<FileEvent>) {
        for event in &events {
            match event {
                FileEvent::Changed { path, content, .. } => {
                    log::debug!(target: "hotswap", "changed: {} ({} bytes)", path.display(), content.len());
                }
                FileEvent::Removed { path } => {
                    log::debug!(target: "hotswap", "removed: {}", path.display())
                }
                FileEvent::Unreadable { path, reason } => {
                    log::debug!(target: "hotswap", "unreadable: {}: {reason}", path.display());
                }
            }
        }
        let sink = &mut self.sink;
        // The sink is user code: a panic there must not end watching.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| sink(Batch { events }))) {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            log::error!(target: "hotswap", "the file change handler panicked ({message}); still watching");
        }
    }
}
