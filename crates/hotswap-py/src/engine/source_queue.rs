//! The sources of imported modules, waiting to be recorded, and the recorder thread that
//! records them: importing a module costs the program a queue push and nothing more.
//!
//! The import hook (`_importhook.py`) queues either the very bytes Python compiled (it read the
//! source: no `.pyc`, a stale one, a file written in the last seconds) or, when Python ran a
//! `.pyc`, the stat it validated that `.pyc` against. The recorder reads such a file itself,
//! and records it only if the file's stat is still that one; a file changed since its import
//! is remembered as such ([`Engine::changed_since_import`]): its first save is then reported
//! as not applied rather than diffed against a text that never ran.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use super::Engine;
use crate::pyerr::lock;

/// Sources at least this large are parsed when recorded (on the recorder thread), so their
/// first edit does not wait for the old text's parse too.
const LARGE_FILE: usize = 64 * 1024;

/// What identifies one version of a file: equal stamps, equal contents, as long as the file
/// was not written in the same clock tick as the stamp was taken (the hook reads such recent
/// files itself).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FileStamp {
    pub device: u64,
    pub inode: u64,
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
}

impl FileStamp {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        FileStamp {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec()),
            ctime_ns: meta.ctime().saturating_mul(1_000_000_000).saturating_add(meta.ctime_nsec()),
        }
    }
}

/// The source of one imported module: the bytes themselves, or the stamp of the file they
/// were compiled from (read later).
pub enum ImportedSource {
    Bytes(Vec<u8>),
    Stamped(FileStamp),
}

/// Queued sources: the module's file (its `__file__`, made absolute) and its source.
pub type Queued = Vec<(PathBuf, ImportedSource)>;

/// Sources of modules being imported, waiting to be recorded.
///
/// Lock order: `recording`, then `paths`, then `changed`, then the engine's `files`.
#[derive(Default)]
pub(super) struct SourceQueue {
    pub(super) paths: Mutex<Queued>,
    ready: Condvar,
    /// Held while a batch of queued sources is recorded, so a flush waits for one in progress;
    /// it guards what the recorder knows of the directories it reads from.
    pub(super) recording: Mutex<Directories>,
    /// The process whose recorder thread is running (a forked child has none until it queues).
    recorder_pid: Mutex<Option<u32>>,
    /// Canonical paths of modules whose file changed between their import and the recorder's
    /// read: what they run is not known.
    pub(super) changed: Mutex<HashSet<PathBuf>>,
}

/// Why a stamped source was not read.
enum NotRead {
    Changed,
    Unreadable,
}

impl Engine {
    /// Queues the source of a module being imported from `file` to be recorded (replacing any
    /// earlier record) by the recorder thread: reading, decoding, hashing and resolving the
    /// path happen there, off the importing thread.
    pub fn queue_source(&'static self, file: PathBuf, source: ImportedSource) {
        let first = {
            let mut paths = lock(&self.queued.paths);
            paths.push((file, source));
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
        let mut directories = lock(&self.queued.recording);
        let queued = std::mem::take(&mut *lock(&self.queued.paths));
        // Directories of this batch, resolved once each (not once per file).
        let mut resolved = HashMap::new();
        for (file, source) in queued {
            // Deleted since its import: recorded under the path it had.
            let canonical = directories.canonical_file(&file, &mut resolved);
            let path = canonical.clone().unwrap_or_else(|| file.clone());
            let content = match source {
                ImportedSource::Bytes(bytes) => bytes,
                ImportedSource::Stamped(stamp) => match read_unchanged(&path, stamp) {
                    Ok(bytes) => bytes,
                    Err(not_read) => {
                        self.forget_imported(&path, not_read);
                        continue;
                    }
                },
            };
            // Undecodable: left unrecorded, and reported when the file is edited.
            if self.record_source(&path, &content, true).is_ok() {
                let mut changed = lock(&self.queued.changed);
                if !changed.is_empty() {
                    changed.remove(&path);
                }
                drop(changed);
                if content.len() >= LARGE_FILE {
                    self.parse_recorded(&path);
                }
            }
            // The module's `__file__` is this string: batches and `watch()` need not stat it.
            if let (Some(canonical), Some(file)) = (canonical, file.to_str()) {
                lock(&self.canonical).insert(file.to_owned(), canonical);
            }
        }
    }

    /// A module whose file cannot be read as it was imported: any earlier record is not what
    /// it runs now. One changed since is remembered, so its first save says so.
    fn forget_imported(&self, path: &Path, not_read: NotRead) {
        if let NotRead::Changed = not_read {
            log::debug!(target: "hotswap", "{} changed while it was being imported", path.display());
            lock(&self.queued.changed).insert(path.to_path_buf());
        }
        lock(&self.files).remove(path);
    }

    /// Whether the file at `path` changed between its module's import and the moment hotswap
    /// read it, so what the module runs is not known (as of the last flush).
    pub fn changed_since_import(&self, path: &Path) -> bool {
        let changed = lock(&self.queued.changed);
        !changed.is_empty() && changed.contains(path)
    }
}

/// What the recorder knows of the directories modules are imported from: the names of their
/// entries that are symbolic links, as of the directory's mtime, so a file's canonical path is
/// its directory's plus its name without a system call per file.
#[derive(Default)]
pub struct Directories {
    links: HashMap<OsString, (i64, HashSet<OsString>)>,
}

/// A directory as one batch sees it: its canonical path, and which of its names are links
/// (None when its listing could not be trusted: each file is then looked at itself).
type Resolved = Option<(PathBuf, Option<HashSet<OsString>>)>;

impl Directories {
    /// `absolute` with every symbolic link resolved, resolving each directory once per batch;
    /// None when it does not exist.
    fn canonical_file(&mut self, absolute: &Path, batch: &mut HashMap<OsString, Resolved>) -> Option<PathBuf> {
        let (Some(directory), Some(name)) = (absolute.parent(), absolute.file_name()) else {
            return std::fs::canonicalize(absolute).ok();
        };
        // Keyed by the bytes of the directory's name: hashing a `Path` walks its components.
        if !batch.contains_key(directory.as_os_str()) {
            let resolved = std::fs::canonicalize(directory).ok().map(|real| (real, self.link_names(directory)));
            batch.insert(directory.as_os_str().to_owned(), resolved);
        }
        let (real, links) = batch[directory.as_os_str()].as_ref()?;
        let is_link = match links {
            Some(links) => links.contains(name),
            None => std::fs::symlink_metadata(absolute).ok()?.file_type().is_symlink(),
        };
        if is_link {
            return std::fs::canonicalize(absolute).ok();
        }
        // Joined by hand: `Path::join` parses both and grows the buffer twice.
        let mut joined = OsString::with_capacity(real.as_os_str().len() + 1 + name.len());
        joined.push(real.as_os_str());
        joined.push("/");
        joined.push(name);
        Some(PathBuf::from(joined))
    }

    /// The names in `directory` that are symbolic links, listed again when its mtime changed.
    /// A directory changed in the last seconds is not listed (an entry replaced by a link in the
    /// same clock tick would leave its mtime as it was): its files are looked at one by one.
    fn link_names(&mut self, directory: &Path) -> Option<HashSet<OsString>> {
        let meta = std::fs::metadata(directory).ok()?;
        let mtime_ns = meta.mtime().saturating_mul(1_000_000_000).saturating_add(meta.mtime_nsec());
        let age = std::time::SystemTime::now().duration_since(meta.modified().ok()?).unwrap_or_default();
        if age.as_secs_f64() < crate::RECENT_SECONDS {
            return None;
        }
        if let Some((listed, names)) = self.links.get(directory.as_os_str()) {
            if *listed == mtime_ns {
                return Some(names.clone());
            }
        }
        let mut names = HashSet::new();
        for entry in std::fs::read_dir(directory).ok()? {
            let entry = entry.ok()?;
            if entry.file_type().ok()?.is_symlink() {
                names.insert(entry.file_name());
            }
        }
        self.links.insert(directory.as_os_str().to_owned(), (mtime_ns, names.clone()));
        Some(names)
    }
}

/// The file's bytes, if its stat after reading them still is `stamp` (taken on the open file,
/// so the bytes are those of the version stamped: any write since, growing it too, changes the
/// stat).
fn read_unchanged(path: &Path, stamp: FileStamp) -> Result<Vec<u8>, NotRead> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(NotRead::Changed),
        Err(_) => return Err(NotRead::Unreadable),
    };
    let bytes = read_expected(&mut file, stamp.size as usize).map_err(|_| NotRead::Unreadable)?;
    match file.metadata() {
        Ok(after) if FileStamp::of(&after) == stamp && bytes.len() as u64 == stamp.size => Ok(bytes),
        Ok(_) => Err(NotRead::Changed),
        Err(_) => Err(NotRead::Unreadable),
    }
}

/// The first `expected` bytes of `file` (fewer if it is shorter): the caller's stat after the
/// read tells whether that was all of it. Unlike `read_to_end`: no stat and no seek to size the
/// buffer, and no last read to find the end.
fn read_expected(file: &mut File, expected: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0; expected];
    let mut filled = 0;
    while filled < expected {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}
