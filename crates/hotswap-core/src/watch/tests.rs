//! Tests against real temporary directories and real file operations. Every wait is bounded:
//! arrivals get generous timeouts (the machine may be busy), absences a short quiet window.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use super::*;

const ARRIVAL: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(300);

/// Prints the watcher's log lines (shown for failing tests only, as test output is captured).
struct TestLog;

impl log::Log for TestLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target() == "hotswap"
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!("[{} {:?}] {}", record.level(), Instant::now(), record.args());
        }
    }
    fn flush(&self) {}
}

fn init_log() {
    if log::set_logger(&TestLog).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

struct Harness {
    // Dropped after the watcher (field order), so the watcher never sees its root vanish.
    watcher: FileWatcher,
    rx: Receiver<Batch>,
    root: PathBuf,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Self {
        Self::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut WatchConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = fs::canonicalize(dir.path()).expect("canonical temp dir");
        let mut config = WatchConfig { roots: vec![root.clone()], ..WatchConfig::default() };
        tweak(&mut config);
        let (watcher, rx) = start(config);
        Harness { watcher, rx, root, _dir: dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Collects batches until one holds an event matching `pred`; panics after `ARRIVAL`.
    fn wait_for(&self, what: &str, pred: impl FnMut(&FileEvent) -> bool) -> Vec<Batch> {
        wait_for(&self.rx, what, pred)
    }

    fn expect_quiet(&self) {
        expect_quiet(&self.rx);
    }
}

/// The grace period under the default debounce (empty or missing files wait this long).
fn grace() -> Duration {
    super::coalesce::Timings::new(WatchConfig::default().debounce).grace
}

fn start(config: WatchConfig) -> (FileWatcher, Receiver<Batch>) {
    init_log();
    let (tx, rx) = mpsc::channel();
    let watcher = FileWatcher::start(config, move |batch| {
        let _ = tx.send(batch);
    })
    .expect("watcher starts");
    (watcher, rx)
}

fn wait_for(rx: &Receiver<Batch>, what: &str, mut pred: impl FnMut(&FileEvent) -> bool) -> Vec<Batch> {
    let deadline = Instant::now() + ARRIVAL;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(batch) => {
                let done = batch.events.iter().any(&mut pred);
                seen.push(batch);
                if done {
                    return seen;
                }
            }
            Err(_) => panic!("timed out waiting for {what}; got {seen:#?}"),
        }
    }
}

fn expect_quiet(rx: &Receiver<Batch>) {
    if let Ok(batch) = rx.recv_timeout(QUIET) {
        panic!("expected no events, got {batch:#?}");
    }
}

fn is_changed<'a>(path: &'a Path, want: &[u8]) -> impl FnMut(&FileEvent) -> bool + 'a {
    let want = want.to_vec();
    move |e| matches!(e, FileEvent::Changed { path: p, content, .. } if p == path && *content == want)
}

fn is_removed(path: &Path) -> impl FnMut(&FileEvent) -> bool + '_ {
    move |e| matches!(e, FileEvent::Removed { path: p } if p == path)
}

fn events(batches: &[Batch]) -> Vec<&FileEvent> {
    batches.iter().flat_map(|b| &b.events).collect()
}

fn events_for<'a>(batches: &'a [Batch], path: &Path) -> Vec<&'a FileEvent> {
    events(batches).into_iter().filter(|e| e.path() == path).collect()
}

#[test]
fn watcher_can_be_shared_between_threads() {
    fn check<T: Send + Sync>() {}
    check::<FileWatcher>();
}

#[test]
fn default_config() {
    let config = WatchConfig::default();
    assert!(config.roots.is_empty());
    assert_eq!(config.debounce, Duration::from_millis(2));
    assert_eq!(config.extensions, vec!["py".to_string()]);
}

#[test]
fn content_hash_is_fnv1a_64() {
    assert_eq!(content_hash(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(content_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(content_hash(b"foobar"), 0x8594_4171_f739_67e8);
    assert_ne!(content_hash(b"x = 1\n"), content_hash(b"x = 2\n"));
}

#[test]
fn is_watched_path_table() {
    let config = WatchConfig { roots: vec![PathBuf::from("/proj")], ..WatchConfig::default() };
    let cases: &[(&str, bool)] = &[
        ("/proj/a.py", true),
        ("/proj/pkg/sub/mod.py", true),
        ("/proj/a.pyc", false),
        ("/proj/a.txt", false),
        ("/proj/README", false),
        ("/proj/.py", false),
        ("/proj/.git/hooks/x.py", false),
        ("/proj/.hg/x.py", false),
        ("/proj/.svn/x.py", false),
        ("/proj/pkg/__pycache__/mod.py", false),
        ("/proj/node_modules/x.py", false),
        ("/proj/.venv/lib/x.py", false),
        ("/proj/.tox/py312/x.py", false),
        ("/proj/.nox/x.py", false),
        ("/proj/.mypy_cache/x.py", false),
        ("/proj/.pytest_cache/x.py", false),
        ("/proj/.ruff_cache/x.py", false),
        ("/proj/build/lib/x.py", false),
        ("/proj/dist/x.py", false),
        ("/proj/lib/site-packages/x.py", false),
        ("/proj/target/x.py", false),
        ("/proj/hotswap.egg-info/x.py", false),
        ("/proj/venv/x.py", true), // only ignored when it holds pyvenv.cfg (needs the disk)
        ("/proj/env/x.py", true),
        ("/proj/builder/x.py", true),
        ("/proj/.a.py.swp", false),
        ("/proj/a.py.swx", false),
        ("/proj/a.py.swo", false),
        ("/proj/a.py~", false),
        ("/proj/.#a.py", false),
        ("/proj/#a.py#", false),
        ("/proj/a.py___jb_tmp___", false),
        ("/proj/a.py___jb_old___", false),
        ("/proj/4913", false),
        ("/proj/a.py.tmp", false),
        // Only directories below the root count.
        ("/elsewhere/build/x.py", false),
    ];
    for &(path, want) in cases {
        assert_eq!(is_watched_path(Path::new(path), &config), want, "{path}");
    }

    let under_build = WatchConfig { roots: vec![PathBuf::from("/home/me/build/app")], ..WatchConfig::default() };
    assert!(is_watched_path(Path::new("/home/me/build/app/x.py"), &under_build));
    assert!(!is_watched_path(Path::new("/home/me/build/app/dist/x.py"), &under_build));
    let file_root = WatchConfig { roots: vec![PathBuf::from("/home/me/build/run.py")], ..WatchConfig::default() };
    assert!(is_watched_path(Path::new("/home/me/build/run.py"), &file_root));

    let multi = WatchConfig { extensions: vec!["py".into(), ".pyi".into()], ..config.clone() };
    assert!(is_watched_path(Path::new("/proj/a.pyi"), &multi));
    let any = WatchConfig { extensions: vec![], ..config };
    assert!(is_watched_path(Path::new("/proj/data.json"), &any));
    assert!(!is_watched_path(Path::new("/proj/data.json~"), &any));
    assert!(!is_watched_path(Path::new("/proj/__pycache__/data.json"), &any));
}

#[test]
fn missing_or_empty_roots_are_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nope");
    let config = WatchConfig { roots: vec![missing.clone()], ..WatchConfig::default() };
    let err = FileWatcher::start(config, |_| {}).expect_err("missing root");
    assert!(err.0.contains("does not exist") && err.0.contains("nope"), "{err}");
    let err = FileWatcher::start(WatchConfig::default(), |_| {}).expect_err("no roots");
    assert!(err.to_string().contains("no roots"), "{err}");
}

#[test]
fn plain_write_is_reported() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"x = 1\n").expect("write");
    let batches = h.wait_for("the write", is_changed(&file, b"x = 1\n"));
    let found = events_for(&batches, &file);
    match found.last() {
        Some(FileEvent::Changed { hash, .. }) => assert_eq!(*hash, content_hash(b"x = 1\n")),
        other => panic!("unexpected {other:?}"),
    }
    fs::write(&file, b"x = 2\n").expect("rewrite");
    h.wait_for("the rewrite", is_changed(&file, b"x = 2\n"));
}

#[test]
fn identical_content_is_not_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let file = root.join("mod.py");
    fs::write(&file, b"x = 1\n").expect("write");
    let (_watcher, rx) = start(WatchConfig { roots: vec![root.clone()], ..WatchConfig::default() });
    // Once a content has been reported, writing it again is not a change.
    fs::write(&file, b"x = 2\n").expect("new content");
    wait_for(&rx, "new content", is_changed(&file, b"x = 2\n"));
    fs::write(&file, b"x = 2\n").expect("same again");
    expect_quiet(&rx);
}

#[test]
fn atomic_save_by_rename_is_reported_as_changed() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"v0").expect("write");
    h.wait_for("initial", is_changed(&file, b"v0"));
    for (i, temp_name) in ["mod.py.tmp", "mod.py___jb_tmp___", ".mod.py.swp"].iter().enumerate() {
        let temp = h.path(temp_name);
        let content = format!("v{}", i + 1);
        fs::write(&temp, &content).expect("write temp");
        fs::rename(&temp, &file).expect("rename over");
        let batches = h.wait_for("the atomic save", is_changed(&file, content.as_bytes()));
        for event in events(&batches) {
            assert_eq!(event.path(), file, "only the target is reported: {event:?}");
        }
    }
    // JetBrains safe write: rename original to ___jb_old___, temp into place, delete the old one.
    let (temp, old) = (h.path("mod.py___jb_tmp___"), h.path("mod.py___jb_old___"));
    fs::write(&temp, b"jb").expect("write temp");
    fs::rename(&file, &old).expect("original away");
    fs::rename(&temp, &file).expect("temp into place");
    fs::remove_file(&old).expect("drop old");
    let batches = h.wait_for("the safe write", is_changed(&file, b"jb"));
    assert!(events(&batches).iter().all(|e| matches!(e, FileEvent::Changed { .. }) && e.path() == file));
}

#[test]
fn vim_backup_rename_then_write_is_changed_not_removed() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"old").expect("write");
    h.wait_for("initial", is_changed(&file, b"old"));
    let backup = h.path("mod.py~");
    let renamed = Instant::now();
    fs::rename(&file, &backup).expect("backup");
    fs::write(h.path("4913"), b"").expect("vim probe");
    fs::remove_file(h.path("4913")).expect("probe gone");
    fs::write(&file, b"new").expect("write new");
    let gap = renamed.elapsed();
    fs::remove_file(&backup).expect("drop backup");
    let batches = h.wait_for("the new content", is_changed(&file, b"new"));
    if gap >= grace() {
        return; // the machine stalled us longer than the grace: a Removed first is fair
    }
    for event in events(&batches) {
        assert!(matches!(event, FileEvent::Changed { path, .. } if *path == file), "{event:?}");
    }
    h.expect_quiet();
}

#[test]
fn two_step_write_does_not_report_the_empty_middle() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"before").expect("write");
    h.wait_for("initial", is_changed(&file, b"before"));
    fs::File::create(&file).expect("truncate"); // opened with O_TRUNC and closed: a close-write
    let truncated = Instant::now();
    thread::sleep(Duration::from_millis(10));
    fs::write(&file, b"after").expect("full content");
    let gap = truncated.elapsed();
    let batches = h.wait_for("the full content", is_changed(&file, b"after"));
    h.expect_quiet();
    if gap >= grace() * 4 / 5 {
        return; // the machine stalled us for about the grace: the empty file may show
    }
    for event in events_for(&batches, &file) {
        assert!(!matches!(event, FileEvent::Changed { content, .. } if content.is_empty()), "{event:?}");
    }
}

#[test]
fn a_truncated_file_is_reported_empty_after_the_grace_period() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"content").expect("write");
    h.wait_for("initial", is_changed(&file, b"content"));
    let truncated = Instant::now();
    fs::File::create(&file).expect("truncate");
    h.wait_for("the empty file", is_changed(&file, b""));
    assert!(truncated.elapsed() >= Duration::from_millis(50), "held for the grace period");
}

#[test]
fn rapid_rewrites_end_with_the_final_content() {
    let h = Harness::new();
    let file = h.path("mod.py");
    for i in 0..1000 {
        fs::write(&file, format!("x = {i}\n")).expect("write");
    }
    let batches = h.wait_for("the last write", is_changed(&file, b"x = 999\n"));
    assert!(events(&batches).len() < 1000, "coalesced");
    h.expect_quiet();
}

#[test]
fn many_files_at_once_arrive_together() {
    let h = Harness::new();
    let paths: Vec<PathBuf> = (0..200).map(|i| h.path(&format!("m{i:03}.py"))).collect();
    let started = Instant::now();
    for path in &paths {
        fs::write(path, path.to_string_lossy().as_bytes()).expect("write");
    }
    let writing = started.elapsed();
    let mut sizes = Vec::new();
    let mut remaining: std::collections::BTreeSet<PathBuf> = paths.iter().cloned().collect();
    let deadline = Instant::now() + ARRIVAL;
    let mut batches = 0;
    while !remaining.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        let batch = h.rx.recv_timeout(left).unwrap_or_else(|_| panic!("missing {remaining:?}"));
        batches += 1;
        sizes.push((batch.events.len(), started.elapsed()));
        let sorted = batch.events.windows(2).all(|w| w[0].path() < w[1].path());
        assert!(sorted, "batch is in path order without duplicates");
        for event in batch.events {
            assert!(
                matches!(&event, FileEvent::Changed { path, content, .. } if content == path.to_string_lossy().as_bytes())
            );
            remaining.remove(event.path());
        }
    }
    assert!(batches <= 5, "{batches} batches {sizes:?}, writing took {writing:?}");
}

#[test]
fn deletion_is_reported_as_removed() {
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"x").expect("write");
    h.wait_for("creation", is_changed(&file, b"x"));
    fs::remove_file(&file).expect("delete");
    h.wait_for("removal", is_removed(&file));
    // A file created and deleted within one burst is not worth reporting; if the machine is so
    // busy that they fall in different bursts, it must at least end up reported removed.
    let temp = h.path("flash.py");
    fs::write(&temp, b"x").expect("write");
    fs::remove_file(&temp).expect("delete");
    let control = h.path("control.py");
    fs::write(&control, b"ok").expect("write");
    let mut batches = h.wait_for("the control file", is_changed(&control, b"ok"));
    if !events_for(&batches, &temp).is_empty()
        && !matches!(events_for(&batches, &temp).last(), Some(FileEvent::Removed { .. }))
    {
        batches.extend(h.wait_for("the temporary file removed", is_removed(&temp)));
    }
    match events_for(&batches, &temp).as_slice() {
        [] | [FileEvent::Changed { .. }, FileEvent::Removed { .. }] => {}
        other => panic!("unexpected events for the temporary file: {other:#?}"),
    }
}

#[test]
fn moves_out_of_and_into_the_tree() {
    let outside = tempfile::tempdir().expect("outside dir");
    let h = Harness::new();
    let file = h.path("mod.py");
    fs::write(&file, b"x").expect("write");
    h.wait_for("creation", is_changed(&file, b"x"));
    let away = outside.path().join("mod.py");
    fs::rename(&file, &away).expect("move out");
    h.wait_for("move out", is_removed(&file));

    let incoming = outside.path().join("incoming.py");
    fs::write(&incoming, b"moved in").expect("write outside");
    let target = h.path("incoming.py");
    fs::rename(&incoming, &target).expect("move in");
    h.wait_for("move in", is_changed(&target, b"moved in"));

    // Renamed to a name that is not watched: gone as far as the program is concerned.
    fs::rename(&target, h.path("incoming.txt")).expect("rename away");
    h.wait_for("rename to unwatched name", is_removed(&target));
}

#[test]
fn new_subdirectory_with_immediate_file_is_reported() {
    let h = Harness::new();
    let file = h.path("pkg/sub/deep/mod.py");
    fs::create_dir_all(h.path("pkg/sub/deep")).expect("mkdir");
    fs::write(&file, b"deep").expect("write");
    fs::write(h.path("pkg/__init__.py"), b"#").expect("write");
    let mut seen = Vec::new();
    seen.extend(h.wait_for("the nested file", is_changed(&file, b"deep")));
    if events_for(&seen, &h.path("pkg/__init__.py")).is_empty() {
        seen.extend(h.wait_for("the package file", is_changed(&h.path("pkg/__init__.py"), b"#")));
    }
}

#[test]
fn directory_moved_in_and_out_is_reported() {
    let outside = tempfile::tempdir().expect("outside dir");
    let pkg = outside.path().join("pkg");
    fs::create_dir_all(pkg.join("sub")).expect("mkdir");
    fs::write(pkg.join("a.py"), b"a").expect("write");
    fs::write(pkg.join("sub/b.py"), b"b").expect("write");
    let h = Harness::new();
    fs::rename(&pkg, h.path("pkg")).expect("move in");
    let (a, b) = (h.path("pkg/a.py"), h.path("pkg/sub/b.py"));
    let mut seen = h.wait_for("a.py", is_changed(&a, b"a"));
    if events_for(&seen, &b).is_empty() {
        seen.extend(h.wait_for("b.py", is_changed(&b, b"b")));
    }
    fs::rename(h.path("pkg"), outside.path().join("pkg2")).expect("move out");
    let mut seen = h.wait_for("a.py removed", is_removed(&a));
    if events_for(&seen, &b).is_empty() {
        seen.extend(h.wait_for("b.py removed", is_removed(&b)));
    }
}

#[test]
fn ignored_directories_and_other_files_are_silent() {
    let h = Harness::new();
    for dir in ["__pycache__", ".git/objects", "node_modules/x", "myenv/lib", "build", "x.egg-info"] {
        fs::create_dir_all(h.path(dir)).expect("mkdir");
    }
    fs::write(h.path("myenv/pyvenv.cfg"), b"home = /usr\n").expect("venv marker");
    h.expect_quiet();
    fs::write(h.path("__pycache__/mod.py"), b"x").expect("write");
    fs::write(h.path(".git/objects/hook.py"), b"x").expect("write");
    fs::write(h.path("node_modules/x/y.py"), b"x").expect("write");
    fs::write(h.path("myenv/lib/activate.py"), b"x").expect("write");
    fs::write(h.path("myenv/top.py"), b"x").expect("write");
    fs::write(h.path("build/gen.py"), b"x").expect("write");
    fs::write(h.path("x.egg-info/a.py"), b"x").expect("write");
    fs::write(h.path("notes.txt"), b"x").expect("write");
    fs::write(h.path("mod.pyc"), b"x").expect("write");
    fs::write(h.path(".mod.py.swp"), b"x").expect("write");
    // A whole venv created after start, with its marker written first.
    fs::create_dir_all(h.path("later/lib")).expect("mkdir");
    fs::write(h.path("later/pyvenv.cfg"), b"home = /usr\n").expect("venv marker");
    fs::write(h.path("later/lib/x.py"), b"x").expect("write");
    let control = h.path("control.py");
    fs::write(&control, b"ok").expect("write");
    let batches = h.wait_for("the control file", is_changed(&control, b"ok"));
    h.expect_quiet();
    let paths: Vec<&Path> = events(&batches).iter().map(|e| e.path()).collect();
    assert_eq!(paths, vec![control.as_path()]);
}

#[test]
fn overlapping_roots_report_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    fs::create_dir_all(root.join("pkg/sub")).expect("mkdir");
    fs::write(root.join("pkg/single.py"), b"").expect("write");
    let config = WatchConfig {
        roots: vec![root.join("pkg/sub"), root.join("pkg/../pkg"), root.clone(), root.join("pkg/single.py")],
        ..WatchConfig::default()
    };
    let (watcher, rx) = start(config);
    assert_eq!(watcher.roots(), std::slice::from_ref(&root));
    let file = root.join("pkg/sub/mod.py");
    fs::write(&file, b"once").expect("write");
    let mut batches = wait_for(&rx, "the write", is_changed(&file, b"once"));
    if let Ok(more) = rx.recv_timeout(QUIET) {
        batches.push(more);
    }
    assert_eq!(events_for(&batches, &file).len(), 1, "{batches:#?}");
}

#[test]
fn file_root_reports_only_that_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let (main, other) = (root.join("main.py"), root.join("other.py"));
    fs::write(&main, b"v0").expect("write");
    let (watcher, rx) = start(WatchConfig { roots: vec![main.clone()], ..WatchConfig::default() });
    assert_eq!(watcher.roots(), std::slice::from_ref(&main));
    fs::write(&other, b"x").expect("write");
    fs::create_dir(root.join("sub")).expect("mkdir");
    fs::write(root.join("sub/main.py"), b"x").expect("write");
    fs::write(&main, b"v1").expect("write");
    let batches = wait_for(&rx, "the root file", is_changed(&main, b"v1"));
    assert!(events(&batches).iter().all(|e| e.path() == main), "{batches:#?}");
    expect_quiet(&rx);
}

#[test]
fn deleted_and_recreated_root_is_watched_again() {
    let parent = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(parent.path()).expect("canonical").join("root");
    fs::create_dir(&root).expect("mkdir");
    let file = root.join("mod.py");
    fs::write(&file, b"v0").expect("write");
    let (_watcher, rx) = start(WatchConfig { roots: vec![root.clone()], ..WatchConfig::default() });
    fs::write(&file, b"v1").expect("write");
    wait_for(&rx, "before deletion", is_changed(&file, b"v1"));
    fs::remove_dir_all(&root).expect("delete root");
    wait_for(&rx, "removal with the root", is_removed(&file));
    thread::sleep(Duration::from_millis(50));
    fs::create_dir(&root).expect("recreate");
    fs::write(&file, b"v2").expect("write");
    wait_for(&rx, "a file in the recreated root", is_changed(&file, b"v2"));
    // And later writes arrive through the new watch.
    thread::sleep(Duration::from_millis(300));
    fs::write(&file, b"v3").expect("write");
    wait_for(&rx, "a later write", is_changed(&file, b"v3"));

    // Moved away (the watch would follow the directory) and back.
    let moved = root.with_file_name("moved");
    fs::rename(&root, &moved).expect("move root away");
    wait_for(&rx, "removal with the moved root", is_removed(&file));
    fs::write(moved.join("mod.py"), b"elsewhere").expect("write in moved dir");
    expect_quiet(&rx);
    fs::rename(&moved, &root).expect("move back");
    wait_for(&rx, "the root moved back", is_changed(&file, b"elsewhere"));
}

#[test]
fn directory_in_place_of_a_file_is_unreadable() {
    let h = Harness::new();
    let file = h.path("odd.py");
    fs::write(&file, b"x").expect("write");
    h.wait_for("creation", is_changed(&file, b"x"));
    fs::remove_file(&file).expect("delete");
    fs::create_dir(&file).expect("mkdir with the same name");
    let batches = h.wait_for("unreadable", |e| matches!(e, FileEvent::Unreadable { path, .. } if *path == file));
    assert_eq!(events_for(&batches, &file).len(), 1);
}

#[test]
fn stop_is_prompt_and_idempotent() {
    let mut h = Harness::new();
    let started = Instant::now();
    h.watcher.stop();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    h.watcher.stop();
    fs::write(h.path("mod.py"), b"x").expect("write");
    h.expect_quiet();
    // Dropping a running watcher stops it too (the sink's sender goes away with the thread).
    let Harness { watcher, rx, root, _dir } = Harness::new();
    drop(watcher);
    fs::write(root.join("mod.py"), b"x").expect("write");
    assert!(matches!(rx.recv_timeout(Duration::from_secs(1)), Err(mpsc::RecvTimeoutError::Disconnected)));
}

#[test]
fn stopping_from_inside_the_sink_does_not_deadlock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let slot: std::sync::Arc<std::sync::Mutex<Option<FileWatcher>>> = Default::default();
    let (tx, rx) = mpsc::channel();
    let inner = slot.clone();
    let watcher = FileWatcher::start(WatchConfig { roots: vec![root.clone()], ..WatchConfig::default() }, move |_| {
        // Take it out first: dropping while holding the lock is fine, stop joins nothing.
        let taken = inner.lock().ok().and_then(|mut s| s.take());
        drop(taken);
        let _ = tx.send(());
    })
    .expect("start");
    *slot.lock().expect("lock") = Some(watcher);
    fs::write(root.join("mod.py"), b"x").expect("write");
    rx.recv_timeout(ARRIVAL).expect("sink ran and dropped the watcher");
}

#[test]
fn a_panicking_sink_does_not_stop_watching() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = fs::canonicalize(dir.path()).expect("canonical");
    let (tx, rx) = mpsc::channel();
    let (called_tx, called_rx) = mpsc::channel();
    let mut calls = 0;
    let _watcher =
        FileWatcher::start(WatchConfig { roots: vec![root.clone()], ..WatchConfig::default() }, move |batch| {
            calls += 1;
            if calls == 1 {
                let _ = called_tx.send(());
                panic!("handler failure (expected by the test)");
            }
            let _ = tx.send(batch);
        })
        .expect("start");
    let file = root.join("mod.py");
    fs::write(&file, b"first").expect("write");
    called_rx.recv_timeout(ARRIVAL).expect("the sink was called");
    fs::write(&file, b"second").expect("write");
    wait_for(&rx, "the second write", is_changed(&file, b"second"));
}
