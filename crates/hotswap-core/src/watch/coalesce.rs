//! Per-path coalescing: events push a deadline, and a path is read only once it has settled.
//!
//! Time is passed in (`now`) rather than read here, so the rules can be tested with made-up
//! instants; only the file reads at flush time touch the disk.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{content_hash, FileEvent, SettleCheck};

/// The delays derived from the configured debounce.
#[derive(Clone, Copy, Debug)]
pub(super) struct Timings {
    /// After a completed write, a rename into place, a creation or a removal.
    pub debounce: Duration,
    /// After a data modification with no close yet: the close normally follows and shortens it.
    pub writing: Duration,
    /// Extra wait for a file that reads empty (the truncate half of a two-step write?) or is
    /// missing (renamed away by a safe-save that is about to put the new version in place?).
    pub grace: Duration,
    /// Quiet the tree needs before a due flush happens while several paths are pending: a
    /// writer rewriting many files (git checkout) can be descheduled for a few ms between files.
    pub burst_quiet: Duration,
    /// Longest a busy tree (events still arriving) can hold back a flush that is due, counted
    /// from the oldest pending event or the last flush, whichever is later.
    pub burst_cap: Duration,
}

/// The least quiet a burst of several paths waits for: a checkout writes its files a fraction
/// of a millisecond apart, and a writer descheduled for longer than this on a busy machine
/// splits its save in two batches (whose second one runs again what the first could not).
const BURST_QUIET_MIN: Duration = Duration::from_millis(10);

/// Debounces beyond this are clamped: they would only be a misconfiguration, and deadlines far
/// in the future could overflow `Instant`.
const MAX_DEBOUNCE: Duration = Duration::from_secs(10);

impl Timings {
    pub fn new(debounce: Duration) -> Self {
        let debounce = debounce.min(MAX_DEBOUNCE);
        let slow = debounce.saturating_mul(10).max(Duration::from_millis(50));
        Timings {
            debounce,
            writing: slow,
            grace: slow,
            burst_quiet: debounce.saturating_mul(5).max(BURST_QUIET_MIN),
            burst_cap: debounce.saturating_mul(100).max(Duration::from_millis(500)),
        }
    }
}

/// What an event says about a path, as far as its deadline is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Trigger {
    /// Created or moved into place: the path did not exist before.
    Created,
    /// A write completed (or metadata changed) on a file that already existed.
    Written,
    /// A file opened for writing was closed: when data was written to it in this burst, the
    /// save is over and the file can be read at once (see `Coalescer::note`).
    Closed,
    /// Moved into place (an editor's atomic save): the rename is the save's last step.
    Placed,
    /// Data is being written and the writer has not closed the file yet.
    Writing,
    /// Removed or moved away; whether it is really gone is checked at flush time.
    Gone,
}

#[derive(Clone, Debug)]
struct Pending {
    deadline: Instant,
    first_seen: Instant,
    /// The first event of this burst implies the file existed before it, so a NotFound at the
    /// end is a real removal rather than a temporary file that came and went.
    existed_before: bool,
    /// The grace period (empty or missing file) was already granted since the last event.
    grace_used: bool,
    /// Data was written to (or the file was created at) this path during this burst, so its
    /// next close ends a save.
    wrote: bool,
    /// The last event ended a save while no other path was busy: settle at the deadline
    /// (`now`) without waiting for the tree to be quiet.
    ended: bool,
}

/// The last state reported for (or told about) a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Known {
    Hash(u64),
    Unreadable(String),
}

enum Outcome {
    Emit(FileEvent),
    Hold(Pending),
    Nothing,
}

#[derive(Debug)]
pub(super) struct Coalescer {
    timings: Timings,
    pending: HashMap<PathBuf, Pending>,
    known: HashMap<PathBuf, Known>,
    /// Last event for any watched path; while events keep coming for several paths a due flush
    /// waits (up to `burst_cap`) so that a checkout rewriting hundreds of files lands in one
    /// batch rather than in one per scheduling hiccup of the writer.
    last_event: Option<Instant>,
    /// When the last flush happened: after a flush forced by `burst_cap`, the rest of a long
    /// burst is held again rather than trickling out batch by batch.
    last_flush: Option<Instant>,
    /// The path of the latest run of events for one path, and when the last event for any
    /// other path came: a save that ends while another path was busy in the last `burst_quiet`
    /// may be one file of a checkout, and waits like the rest of the burst.
    run_path: Option<PathBuf>,
    other_path_event: Option<Instant>,
    /// The consumer's say on settling an ended save at once (see `WatchConfig::settles_at_once`).
    check: Option<SettleCheck>,
}

impl Coalescer {
    pub fn new(timings: Timings) -> Self {
        Coalescer {
            timings,
            pending: HashMap::new(),
            known: HashMap::new(),
            last_event: None,
            last_flush: None,
            run_path: None,
            other_path_event: None,
            check: None,
        }
    }

    pub fn with_check(mut self, check: Option<SettleCheck>) -> Self {
        self.check = check;
        self
    }

    /// Records an event for an (already filtered) path and pushes its deadline. An event that
    /// ends a save (the close of a file that was written, a rename into place) makes the path
    /// due at once when nothing else is being written: the debounce only exists to wait for
    /// the end of a save, and the kernel has just reported it.
    pub fn note(&mut self, path: PathBuf, trigger: Trigger, now: Instant) {
        if self.run_path.as_ref() != Some(&path) {
            self.other_path_event = self.last_event;
            self.run_path = Some(path.clone());
        }
        self.last_event = Some(now);
        let others_quiet =
            self.other_path_event.is_none_or(|t| now.saturating_duration_since(t) >= self.timings.burst_quiet);
        let wrote_before = self.pending.get(&path).is_some_and(|entry| entry.wrote);
        let ends_save = others_quiet
            && match trigger {
                Trigger::Closed => wrote_before,
                Trigger::Placed => true,
                _ => false,
            };
        let delay = match trigger {
            _ if ends_save => Duration::ZERO,
            Trigger::Writing => self.timings.writing,
            Trigger::Created | Trigger::Written | Trigger::Closed | Trigger::Placed | Trigger::Gone => {
                self.timings.debounce
            }
        };
        let deadline = now + delay;
        let wrote = matches!(trigger, Trigger::Writing | Trigger::Created);
        self.pending
            .entry(path)
            .and_modify(|entry| {
                entry.deadline = deadline;
                entry.grace_used = false;
                entry.wrote |= wrote;
                entry.ended = ends_save;
            })
            .or_insert(Pending {
                deadline,
                first_seen: now,
                existed_before: !matches!(trigger, Trigger::Created | Trigger::Placed),
                grace_used: false,
                wrote,
                ended: ends_save,
            });
    }

    /// Known or pending paths strictly inside `dir`, for when a directory disappears: its files
    /// get no events of their own when it is renamed away.
    pub fn paths_under(&self, dir: &Path) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .known
            .keys()
            .chain(self.pending.keys())
            .filter(|p| p.starts_with(dir) && p.as_path() != dir)
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Drops pending entries inside `dir` (it turned out to be a directory that is not watched).
    pub fn forget_pending_under(&mut self, dir: &Path) {
        self.pending.retain(|path, _| !path.starts_with(dir));
    }

    /// Every path with a known state, for re-checking after the backend lost events.
    pub fn known_paths(&self) -> Vec<PathBuf> {
        self.known.keys().cloned().collect()
    }

    /// When the next flush is due, if anything is pending. A lone path flushes at its own
    /// deadline; several wait for the tree to be quiet (see `last_event`).
    pub fn next_flush(&self) -> Option<Instant> {
        let earliest = self.pending.values().map(|p| p.deadline).min()?;
        if let (1, Some(entry)) = (self.pending.len(), self.pending.values().next()) {
            if entry.ended {
                return Some(entry.deadline);
            }
        }
        let oldest = self.pending.values().map(|p| p.first_seen).min()?;
        let quiet_for = if self.pending.len() > 1 { self.timings.burst_quiet } else { self.timings.debounce };
        let quiet = self.last_event.map_or(earliest, |t| t + quiet_for);
        let window_start = self.last_flush.map_or(oldest, |t| t.max(oldest));
        Some(earliest.max(quiet.min(window_start + self.timings.burst_cap)))
    }

    /// If a flush is due at `now`, settles every path whose deadline falls within the next
    /// debounce and returns their events in path order (possibly none: identical content).
    pub fn flush(&mut self, now: Instant) -> Vec<FileEvent> {
        if self.next_flush().is_none_or(|due| due > now) {
            return Vec::new();
        }
        self.last_flush = Some(now);
        // Only a lone path is settled at the end of its save; in a burst, the burst's rule holds.
        let lone_ended = self.pending.len() == 1 && self.pending.values().all(|entry| entry.ended);
        let horizon = now + self.timings.debounce;
        let mut due: Vec<PathBuf> =
            self.pending.iter().filter(|(_, entry)| entry.deadline <= horizon).map(|(path, _)| path.clone()).collect();
        due.sort();
        let mut events = Vec::new();
        for path in due {
            let Some(mut entry) = self.pending.remove(&path) else {
                continue;
            };
            entry.ended &= lone_ended;
            match self.settle(&path, entry, now) {
                Outcome::Emit(event) => events.push(event),
                Outcome::Hold(entry) => {
                    self.pending.insert(path, entry);
                }
                Outcome::Nothing => {}
            }
        }
        events
    }

    /// Reads the settled path and decides what, if anything, to report. Never uses mtime: only
    /// the content says whether the program needs to reload.
    fn settle(&mut self, path: &Path, mut entry: Pending, now: Instant) -> Outcome {
        match std::fs::read(path) {
            Ok(content) => {
                let hash = content_hash(&content);
                if self.known.get(path) == Some(&Known::Hash(hash)) {
                    return Outcome::Nothing;
                }
                // Empty where there was content may be the truncate half of a two-step write;
                // wait a little for the rest (any new event cancels the wait). An unknown file
                // counts as having had content: a truly new empty file just arrives later.
                if content.is_empty() && !entry.grace_used {
                    entry.grace_used = true;
                    entry.deadline = now + self.timings.grace;
                    return Outcome::Hold(entry);
                }
                // A save settled at its end goes out alone; the consumer may want it to wait
                // the debounce in case it is the first file of several.
                if entry.ended && self.check.as_ref().is_some_and(|check| !(check.0)(path, &content)) {
                    entry.ended = false;
                    entry.deadline = now + self.timings.debounce;
                    return Outcome::Hold(entry);
                }
                self.known.insert(path.to_path_buf(), Known::Hash(hash));
                Outcome::Emit(FileEvent::Changed { path: path.to_path_buf(), content, hash })
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                if !self.known.contains_key(path) && !entry.existed_before {
                    // Created and deleted within one burst: a temporary file nobody needs.
                    return Outcome::Nothing;
                }
                // Editors that save by renaming the original away (vim's backup, JetBrains'
                // safe write) put the new file in place a moment later; a removal is not
                // urgent, so give them time rather than make the program unload the module.
                if !entry.grace_used {
                    entry.grace_used = true;
                    entry.deadline = now + self.timings.grace;
                    return Outcome::Hold(entry);
                }
                self.known.remove(path);
                Outcome::Emit(FileEvent::Removed { path: path.to_path_buf() })
            }
            Err(e) => {
                let reason = e.to_string();
                let known = self.known.get(path);
                // Reported even for a path we never emitted: the program may run that file
                // (imported before watching began); whoever receives it decides if it matters.
                if known == Some(&Known::Unreadable(reason.clone())) {
                    return Outcome::Nothing;
                }
                self.known.insert(path.to_path_buf(), Known::Unreadable(reason.clone()));
                Outcome::Emit(FileEvent::Unreadable { path: path.to_path_buf(), reason })
            }
        }
    }
}

/// The rules with made-up instants; only the file reads touch the disk.
#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use super::*;

    fn coalescer() -> (Coalescer, Timings) {
        let timings = Timings::new(Duration::from_millis(5));
        (Coalescer::new(timings), timings)
    }

    /// Makes `c` know `file` with `content`, as reporting an earlier save does; returns the
    /// instant it was reported.
    fn reported(c: &mut Coalescer, t: Timings, file: &Path, content: &[u8]) -> Instant {
        fs::write(file, content).expect("write");
        let t0 = Instant::now();
        c.note(file.to_path_buf(), Trigger::Written, t0);
        assert_eq!(c.flush(t0 + t.debounce).len(), 1);
        t0 + t.debounce
    }

    #[test]
    fn coalescer_waits_longer_for_unclosed_writes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        fs::write(&file, b"a").expect("write");
        let (mut c, t) = coalescer();
        let t0 = Instant::now();
        c.note(file.clone(), Trigger::Writing, t0);
        assert_eq!(c.next_flush(), Some(t0 + t.writing));
        assert!(c.flush(t0 + t.debounce * 2).is_empty(), "still being written");
        let t1 = t0 + Duration::from_millis(1);
        c.note(file.clone(), Trigger::Written, t1);
        assert_eq!(c.next_flush(), Some(t1 + t.debounce), "the close shortens the wait");
        let flushed = c.flush(t1 + t.debounce);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"a"));
        assert_eq!(c.next_flush(), None);
    }

    #[test]
    fn coalescer_grace_for_empty_content() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &file, b"full");
        fs::write(&file, b"").expect("truncate");
        c.note(file.clone(), Trigger::Written, t0);
        let due = t0 + t.debounce;
        assert!(c.flush(due).is_empty(), "empty content is held");
        assert_eq!(c.next_flush(), Some(due + t.grace));
        // The second half arrives: read at its own deadline, the empty middle is never reported.
        fs::write(&file, b"full2").expect("write");
        let t1 = due + Duration::from_millis(5);
        c.note(file.clone(), Trigger::Written, t1);
        let flushed = c.flush(t1 + t.debounce);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"full2"));
        // Truncated with nothing following: reported once the grace period is over.
        fs::write(&file, b"").expect("truncate");
        let t2 = t1 + Duration::from_secs(1);
        c.note(file.clone(), Trigger::Written, t2);
        assert!(c.flush(t2 + t.debounce).is_empty());
        let flushed = c.flush(t2 + t.debounce + t.grace);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content.is_empty()));
    }

    #[test]
    fn coalescer_flushes_neighbours_and_holds_during_bursts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b, c_path) = (dir.path().join("a.py"), dir.path().join("b.py"), dir.path().join("c.py"));
        for p in [&a, &b, &c_path] {
            fs::write(p, b"x").expect("write");
        }
        let (mut c, t) = coalescer();
        let t0 = Instant::now();
        // A lone path flushes at its own deadline.
        c.note(a.clone(), Trigger::Written, t0);
        assert_eq!(c.next_flush(), Some(t0 + t.debounce));
        assert_eq!(c.flush(t0 + t.debounce).len(), 1);
        fs::write(&a, b"y").expect("write");
        // Several paths wait for the tree to be quiet, then go out together, in path order.
        let t0 = t0 + Duration::from_secs(1);
        c.note(b.clone(), Trigger::Written, t0);
        c.note(a.clone(), Trigger::Written, t0 + Duration::from_millis(3));
        let at = t0 + Duration::from_millis(3) + t.burst_quiet;
        assert_eq!(c.next_flush(), Some(at));
        assert!(c.flush(at - Duration::from_millis(1)).is_empty());
        let paths: Vec<PathBuf> = c.flush(at).iter().map(|e| e.path().to_path_buf()).collect();
        assert_eq!(paths, vec![a.clone(), b.clone()]);
        // Events every 2 ms hold the flush back, but not beyond the burst cap.
        let t1 = at + Duration::from_secs(1);
        c.note(c_path.clone(), Trigger::Written, t1);
        let mut now = t1;
        while now < t1 + t.burst_cap - Duration::from_millis(2) {
            now += Duration::from_millis(2);
            c.note(a.clone(), Trigger::Written, now);
            assert!(c.flush(now).is_empty(), "held during the burst");
        }
        // One path is still being written when the cap forces a flush: it stays pending.
        let d = dir.path().join("d.py");
        fs::write(&d, b"x").expect("write");
        c.note(d.clone(), Trigger::Writing, now);
        let forced = t1 + t.burst_cap;
        assert_eq!(c.next_flush(), Some(forced));
        let flushed = c.flush(forced);
        assert!(flushed.iter().any(|e| e.path() == c_path));
        assert!(flushed.iter().all(|e| e.path() != d));
        // The burst goes on: the rest is held for a new window instead of trickling out.
        let mut now = forced;
        while now < forced + t.writing + Duration::from_millis(10) {
            now += Duration::from_millis(2);
            c.note(a.clone(), Trigger::Written, now);
            c.note(b.clone(), Trigger::Written, now);
            assert!(c.flush(now).is_empty(), "held again after a forced flush");
        }
        fs::write(&a, b"a2").expect("write");
        fs::write(&b, b"b2").expect("write");
        let paths: Vec<PathBuf> = c.flush(now + t.burst_quiet).iter().map(|e| e.path().to_path_buf()).collect();
        assert_eq!(paths, vec![a, b, d]);
    }

    #[test]
    fn coalescer_removed_only_for_files_that_existed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (known, temp, existing) = (dir.path().join("k.py"), dir.path().join("t.py"), dir.path().join("e.py"));
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &known, b"k");
        fs::remove_file(&known).expect("remove");
        c.note(known.clone(), Trigger::Gone, t0);
        c.note(temp.clone(), Trigger::Created, t0);
        c.note(temp.clone(), Trigger::Gone, t0);
        c.note(existing.clone(), Trigger::Gone, t0);
        assert!(c.flush(t0 + t.burst_quiet).is_empty(), "removals wait for the grace");
        let flushed = c.flush(t0 + t.burst_quiet + t.grace);
        assert_eq!(flushed, vec![FileEvent::Removed { path: existing }, FileEvent::Removed { path: known }]);
    }

    #[test]
    fn coalescer_file_back_within_the_grace_is_not_removed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("m.py");
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &file, b"old");
        fs::remove_file(&file).expect("remove");
        c.note(file.clone(), Trigger::Gone, t0);
        assert!(c.flush(t0 + t.debounce).is_empty(), "held");
        fs::write(&file, b"new").expect("write");
        let t1 = t0 + t.debounce + Duration::from_millis(20);
        c.note(file.clone(), Trigger::Created, t1);
        let flushed = c.flush(t1 + t.debounce);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"new"));
    }

    #[test]
    fn coalescer_settles_at_the_close_of_a_written_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &file, b"v1") + Duration::from_secs(1);
        fs::write(&file, b"v2").expect("write");
        c.note(file.clone(), Trigger::Writing, t0);
        c.note(file.clone(), Trigger::Closed, t0);
        assert_eq!(c.next_flush(), Some(t0), "the close ends the save: no debounce");
        let flushed = c.flush(t0);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"v2"));
        // A close with nothing written in this burst (opened for writing, or only a metadata
        // change before it) still waits the debounce.
        let t1 = t0 + Duration::from_secs(1);
        c.note(file.clone(), Trigger::Closed, t1);
        assert_eq!(c.next_flush(), Some(t1 + t.debounce));
        assert!(c.flush(t1).is_empty());
    }

    #[test]
    fn coalescer_ended_save_the_check_refuses_waits_the_debounce() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        let (c, t) = coalescer();
        let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&asked);
        let check = SettleCheck(std::sync::Arc::new(move |_: &Path, content: &[u8]| {
            seen.lock().expect("lock").push(content.to_vec());
            content != b"runs"
        }));
        let mut c = c.with_check(Some(check));
        let t0 = reported(&mut c, t, &file, b"v1") + Duration::from_secs(1);
        fs::write(&file, b"runs").expect("write");
        c.note(file.clone(), Trigger::Writing, t0);
        c.note(file.clone(), Trigger::Closed, t0);
        assert!(c.flush(t0).is_empty(), "refused: held");
        assert_eq!(c.next_flush(), Some(t0 + t.debounce));
        let flushed = c.flush(t0 + t.debounce);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"runs"));
        let t1 = t0 + Duration::from_secs(1);
        fs::write(&file, b"swaps").expect("write");
        c.note(file.clone(), Trigger::Writing, t1);
        c.note(file.clone(), Trigger::Closed, t1);
        assert_eq!(c.flush(t1).len(), 1, "accepted: at once");
        assert_eq!(asked.lock().expect("lock").len(), 2, "asked once per ended save: {asked:?}");
    }

    #[test]
    fn coalescer_burst_after_an_ended_save_flushes_together_whatever_the_check_says() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (first, second) = (dir.path().join("a.py"), dir.path().join("b.py"));
        let (c, t) = coalescer();
        let mut c = c.with_check(Some(SettleCheck(std::sync::Arc::new(|_: &Path, _: &[u8]| false))));
        let t0 = reported(&mut c, t, &first, b"v1") + Duration::from_secs(1);
        fs::write(&first, b"a2").expect("write");
        fs::write(&second, b"b2").expect("write");
        // Both saves are noted before the watcher gets to flush: the first ended a save, the
        // second came during it. They go out together once the burst is quiet.
        c.note(first.clone(), Trigger::Writing, t0);
        c.note(first.clone(), Trigger::Closed, t0);
        c.note(second.clone(), Trigger::Writing, t0);
        c.note(second.clone(), Trigger::Closed, t0);
        assert_eq!(c.next_flush(), Some(t0 + t.burst_quiet));
        let flushed = c.flush(t0 + t.burst_quiet);
        assert_eq!(flushed.len(), 2, "one batch: {flushed:?}");
    }

    #[test]
    fn coalescer_settles_at_a_rename_into_place() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &file, b"v1") + Duration::from_secs(1);
        fs::write(&file, b"v2").expect("write");
        c.note(file.clone(), Trigger::Placed, t0);
        assert_eq!(c.next_flush(), Some(t0));
        let flushed = c.flush(t0);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"v2"));
    }

    #[test]
    fn coalescer_early_settle_keeps_the_empty_file_grace() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("a.py");
        let (mut c, t) = coalescer();
        let t0 = reported(&mut c, t, &file, b"full") + Duration::from_secs(1);
        fs::write(&file, b"").expect("truncate");
        c.note(file.clone(), Trigger::Writing, t0);
        c.note(file.clone(), Trigger::Closed, t0);
        assert!(c.flush(t0).is_empty(), "an empty file is still held for the grace");
        assert_eq!(c.next_flush(), Some(t0 + t.grace));
        fs::write(&file, b"full2").expect("write");
        let t1 = t0 + Duration::from_millis(3);
        c.note(file.clone(), Trigger::Writing, t1);
        c.note(file.clone(), Trigger::Closed, t1);
        let flushed = c.flush(t1);
        assert!(matches!(flushed.as_slice(), [FileEvent::Changed { content, .. }] if content == b"full2"));
    }

    #[test]
    fn coalescer_close_during_a_burst_of_other_paths_waits_for_the_burst() {
        let dir = tempfile::tempdir().expect("temp dir");
        let paths: Vec<PathBuf> = (0..4).map(|i| dir.path().join(format!("m{i}.py"))).collect();
        for p in &paths {
            fs::write(p, b"x").expect("write");
        }
        let (mut c, t) = coalescer();
        let t0 = Instant::now();
        // The first file of a checkout cannot be told from a lone save: it goes out at once.
        c.note(paths[0].clone(), Trigger::Writing, t0);
        c.note(paths[0].clone(), Trigger::Closed, t0);
        assert_eq!(c.flush(t0).len(), 1);
        // The next files close while another path was written a moment ago: they wait for the
        // tree to be quiet and land in one batch.
        let mut now = t0;
        for p in &paths[1..] {
            now += Duration::from_millis(1);
            c.note(p.clone(), Trigger::Writing, now);
            c.note(p.clone(), Trigger::Closed, now);
            assert!(c.flush(now).is_empty(), "held during the burst");
        }
        assert_eq!(c.next_flush(), Some(now + t.burst_quiet));
        assert_eq!(c.flush(now + t.burst_quiet).len(), 3);
        // Once the tree has been quiet for `burst_quiet`, a save settles at its close again.
        let later = now + t.burst_quiet + Duration::from_millis(1);
        fs::write(&paths[2], b"y").expect("write");
        c.note(paths[2].clone(), Trigger::Writing, later);
        c.note(paths[2].clone(), Trigger::Closed, later);
        assert_eq!(c.flush(later).len(), 1);
    }

    #[test]
    fn absurd_debounce_is_clamped() {
        let t = Timings::new(Duration::MAX);
        assert_eq!(t.debounce, MAX_DEBOUNCE);
        let mut c = Coalescer::new(t);
        c.note(PathBuf::from("/nonexistent/x.py"), Trigger::Writing, Instant::now());
        assert!(c.next_flush().is_some());
    }
}
