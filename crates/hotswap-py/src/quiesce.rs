//! Quiesce: a batch is committed at a moment when no other thread is inside the batch's
//! modules, so an outer call that runs `a()`, `b()` and `K().m()` of an edited module sees one
//! version of all three, never old `a` with new `b`.
//!
//! Before the commit, every other thread's stack is looked at (`sys._current_frames()`). A
//! thread is *inside* when one of its frames runs a function of the batch's modules, or a
//! function that calls them directly (its code reads a global name bound to one of the modules
//! or to a function or class defined in them: the outer call). When none is, the commit happens
//! at once (the common case: one look, no wait). Otherwise the GIL is released for a moment and
//! the stacks looked at again, up to a bound (`HOTSWAP_QUIESCE_MS`, default 50 ms, 0 disables);
//! then the batch is committed anyway and the report says which thread was inside what.
//!
//! Not waited for, because waiting could never end: the calling thread itself, module-level
//! code (a script's top level, an import in progress), frames running a live loop, and frames
//! that stayed inside through half a bound once (a server's `serve_forever`, a worker's
//! `while True:` loop). Those are remembered as *parked*: the rest of that wait and later
//! batches do not wait for them, only for calls that start above them (a request that
//! `serve_forever` is handling).

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFunction, PyModule, PyTuple, PyType};

use crate::pyerr::{describe_exception, lock};

/// The bound when `HOTSWAP_QUIESCE_MS` is not set.
const DEFAULT_BOUND: Duration = Duration::from_millis(50);
/// How long other threads get the GIL between two looks.
const PAUSE: Duration = Duration::from_micros(200);
/// `co_flags` bit of function bodies (module and class bodies and `exec`'d code lack it).
const CO_OPTIMIZED: u32 = 0x1;

/// A frame on one thread's stack: (thread ident, address of the frame object).
pub type FrameKey = (u64, usize);

/// Frames remembered as parked (see the module doc), and frames running a live loop. Parked
/// frames are kept by address, without a reference (holding a frame that ended would keep its
/// locals alive until the next batch): an entry is dropped by the first look that does not find
/// it, so only a frame that ends and is replaced at the same address on the same thread between
/// two batches could be taken for it.
static PARKED: Mutex<Vec<FrameKey>> = Mutex::new(Vec::new());
static LIVE_LOOPS: Mutex<Vec<usize>> = Mutex::new(Vec::new());

/// A live loop started in the frame at `frame` (the frame object's address): never waited for.
pub fn live_loop_started(frame: usize) {
    lock(&LIVE_LOOPS).push(frame);
}

/// The live loop of `frame` ended (its frame may be freed and its address reused).
pub fn live_loop_ended(frame: usize) {
    let mut loops = lock(&LIVE_LOOPS);
    if let Some(at) = loops.iter().position(|&f| f == frame) {
        loops.swap_remove(at);
    }
}

/// Reads the bound from `value` (`HOTSWAP_QUIESCE_MS`): milliseconds, a finite number >= 0.
pub fn parse_bound(value: Option<&str>) -> Result<Duration, String> {
    let Some(text) = value else { return Ok(DEFAULT_BOUND) };
    match text.trim().parse::<f64>() {
        Ok(ms) if ms.is_finite() && ms >= 0.0 => Ok(Duration::from_secs_f64(ms / 1000.0)),
        _ => Err(format!(
            "HOTSWAP_QUIESCE_MS: expected milliseconds, a finite number >= 0; got {text:?}; using {} ms",
            DEFAULT_BOUND.as_millis()
        )),
    }
}

/// The process's bound, read once (a bad value is said once and the default used).
fn bound() -> Duration {
    static BOUND: OnceLock<Duration> = OnceLock::new();
    *BOUND.get_or_init(|| {
        let value = std::env::var("HOTSWAP_QUIESCE_MS").ok();
        parse_bound(value.as_deref()).unwrap_or_else(|message| {
            log::warn!(target: "hotswap", "{message}");
            DEFAULT_BOUND
        })
    })
}

/// One thread found inside: its frames that count (innermost first), and where the outermost
/// of them is, for the report (`mod.func`).
#[derive(Clone, Debug, PartialEq)]
pub struct Inside {
    pub thread: u64,
    pub frames: Vec<usize>,
    pub place: String,
}

/// The frames inside at both the first and the last look: they ran through the whole wait.
pub fn stayed(first: &[Inside], last: &[Inside]) -> Vec<FrameKey> {
    let before: HashSet<FrameKey> =
        first.iter().flat_map(|inside| inside.frames.iter().map(|&f| (inside.thread, f))).collect();
    last.iter()
        .flat_map(|inside| inside.frames.iter().map(|&f| (inside.thread, f)))
        .filter(|key| before.contains(key))
        .collect()
}

/// Keeps the parked frames that are still on a stack (`seen`) and adds `new` ones.
pub fn update_parked(parked: &mut Vec<FrameKey>, seen: &HashSet<FrameKey>, new: &[FrameKey]) {
    parked.retain(|key| seen.contains(key));
    for key in new {
        if !parked.contains(key) {
            parked.push(*key);
        }
    }
}

/// The report's note for a thread the batch did not wait for any longer.
pub fn note(thread: &str, place: &str, waited: Duration) -> String {
    format!(
        "applied while thread {thread} was inside {place} (waited {} ms for it to leave); calls already \
         running finish on the old code",
        waited.as_millis()
    )
}

/// What the batch changes, as the stacks show it.
pub struct BatchModules<'py> {
    /// `co_filename` of the modules' code.
    pub files: HashSet<String>,
    /// The modules' `__name__` (a class's `__module__`).
    pub names: HashSet<String>,
    pub modules: Vec<Bound<'py, PyAny>>,
}

/// After the wait: notes for the report, and the frames looked at, to release after the commit
/// (holding them kept their addresses from being reused during the wait; releasing one can run
/// a finalizer, which must not see half a batch).
#[derive(Default)]
pub struct Quiet<'py> {
    pub notes: Vec<String>,
    pub held: Vec<Bound<'py, PyAny>>,
}

/// Waits (GIL released between looks) until no other thread is inside `batch`, at most the
/// bound. Halfway, frames there since the first look are parked and the wait goes on for the
/// others (a request above a parked server loop). Returns with the GIL held and no Python code
/// run since the last look.
pub fn wait_until_outside<'py>(py: Python<'py>, batch: &BatchModules<'py>) -> Quiet<'py> {
    let bound = bound();
    let mut quiet = Quiet::default();
    if bound.is_zero() || batch.files.is_empty() {
        return quiet;
    }
    let started = Instant::now();
    let mut verdicts = HashMap::new();
    let mut first: Option<Vec<Inside>> = None;
    let mut parked_now: Option<Vec<Inside>> = None;
    loop {
        let (inside, seen) = match look(py, batch, &mut verdicts, &mut quiet.held) {
            Ok(found) => found,
            Err(err) => {
                log::debug!(target: "hotswap", "threads' stacks not read: {}", describe_exception(py, &err));
                return quiet;
            }
        };
        let waited = started.elapsed();
        let first = first.get_or_insert_with(|| inside.clone());
        if parked_now.is_none() && waited >= bound / 2 && !inside.is_empty() {
            let keys = stayed(first, &inside);
            update_parked(&mut lock(&PARKED), &seen, &keys);
            parked_now = Some(inside.iter().filter(|t| keys.iter().any(|k| k.0 == t.thread)).cloned().collect());
            if !keys.is_empty() {
                continue; // look again without them
            }
        }
        if inside.is_empty() || waited >= bound {
            update_parked(&mut lock(&PARKED), &seen, &[]);
            for thread in noted(parked_now.as_deref().unwrap_or_default(), &inside) {
                let text = note(&thread_name(py, thread.thread), &thread.place, waited);
                log::info!(target: "hotswap", "{text}");
                quiet.notes.push(text);
            }
            return quiet;
        }
        py.detach(|| std::thread::sleep(PAUSE));
    }
}

/// The threads the report names: those still inside, and those whose frames this wait parked.
pub fn noted(parked_now: &[Inside], inside: &[Inside]) -> Vec<Inside> {
    let mut threads = inside.to_vec();
    threads.extend(parked_now.iter().filter(|p| !inside.iter().any(|i| i.thread == p.thread)).cloned());
    threads
}

/// One look at every other thread's stack: the threads inside, and every frame seen.
fn look<'py>(
    py: Python<'py>,
    batch: &BatchModules<'py>,
    verdicts: &mut HashMap<usize, bool>,
    held: &mut Vec<Bound<'py, PyAny>>,
) -> PyResult<(Vec<Inside>, HashSet<FrameKey>)> {
    static READERS: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();
    let (get_ident, current_frames) = READERS.get_or_try_init(py, || -> PyResult<_> {
        let get_ident = py.import("_thread")?.getattr("get_ident")?.unbind();
        Ok((get_ident, py.import("sys")?.getattr("_current_frames")?.unbind()))
    })?;
    let stacks = current_frames.call0(py)?.into_bound(py).cast_into::<PyDict>()?;
    let mut seen = HashSet::new();
    if stacks.len() < 2 {
        return Ok((Vec::new(), seen)); // only the calling thread runs Python code
    }
    let me: u64 = get_ident.call0(py)?.extract(py)?;
    let parked = lock(&PARKED).clone();
    let live_loops = lock(&LIVE_LOOPS).clone();
    let mut found = Vec::new();
    for (ident, top) in stacks.iter() {
        let thread: u64 = ident.extract()?;
        if thread == me {
            continue;
        }
        let mut inside = Inside { thread, frames: Vec::new(), place: String::new() };
        let mut frame = top;
        while !frame.is_none() {
            let key = frame.as_ptr() as usize;
            seen.insert((thread, key));
            let skip = parked.contains(&(thread, key)) || live_loops.contains(&key);
            if !skip && counts(py, &frame, batch, verdicts)? {
                inside.frames.push(key);
                inside.place = place(py, &frame);
                held.push(frame.clone());
            }
            frame = frame.getattr(intern!(py, "f_back"))?;
        }
        if !inside.frames.is_empty() {
            found.push(inside);
        }
    }
    Ok((found, seen))
}

/// Whether `frame` runs code of the batch's modules, or code that calls them directly. One
/// verdict per code object (a code object runs with the globals of the module that made it).
fn counts<'py>(
    py: Python<'py>,
    frame: &Bound<'py, PyAny>,
    batch: &BatchModules<'py>,
    verdicts: &mut HashMap<usize, bool>,
) -> PyResult<bool> {
    let code = frame.getattr(intern!(py, "f_code"))?;
    if let Some(&verdict) = verdicts.get(&(code.as_ptr() as usize)) {
        return Ok(verdict);
    }
    let flags: u32 = code.getattr(intern!(py, "co_flags"))?.extract()?;
    let verdict = if flags & CO_OPTIMIZED == 0 {
        false
    } else if batch.files.contains(code.getattr(intern!(py, "co_filename"))?.extract::<&str>()?) {
        true
    } else {
        calls_into(py, frame, &code, batch)?
    };
    verdicts.insert(code.as_ptr() as usize, verdict);
    Ok(verdict)
}

/// Whether the code reads a global name bound to one of the batch's modules or to a function
/// or class defined in them.
fn calls_into<'py>(
    py: Python<'py>,
    frame: &Bound<'py, PyAny>,
    code: &Bound<'py, PyAny>,
    batch: &BatchModules<'py>,
) -> PyResult<bool> {
    let Ok(globals) = frame.getattr(intern!(py, "f_globals"))?.cast_into::<PyDict>() else { return Ok(false) };
    let names = code.getattr(intern!(py, "co_names"))?.cast_into::<PyTuple>()?;
    for name in names.iter() {
        let Some(value) = globals.get_item(&name)? else { continue };
        let defined_there = if value.is_instance_of::<PyModule>() {
            batch.modules.iter().any(|m| m.is(&value))
        } else if value.is_instance_of::<PyFunction>() {
            let filename = value.getattr(intern!(py, "__code__"))?.getattr(intern!(py, "co_filename"))?;
            filename.extract::<&str>().is_ok_and(|f| batch.files.contains(f))
        } else if value.is_instance_of::<PyType>() {
            let module = value.getattr(intern!(py, "__module__")).ok();
            module.and_then(|m| m.extract::<String>().ok()).is_some_and(|m| batch.names.contains(&m))
        } else {
            false
        };
        if defined_there {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `module.qualified_name` of the function a frame runs, for the report.
fn place(py: Python<'_>, frame: &Bound<'_, PyAny>) -> String {
    let module = frame
        .getattr(intern!(py, "f_globals"))
        .and_then(|g| g.get_item("__name__"))
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".into());
    let code = frame.getattr(intern!(py, "f_code"));
    // `co_qualname` is 3.11+; `co_name` before.
    let name = code
        .as_ref()
        .ok()
        .and_then(|c| c.getattr("co_qualname").or_else(|_| c.getattr(intern!(py, "co_name"))).ok())
        .and_then(|n| n.extract::<String>().ok())
        .unwrap_or_else(|| "?".into());
    format!("{module}.{name}")
}

/// A thread's name as `threading` knows it, with its ident; the ident alone for threads that
/// `threading` did not start.
fn thread_name(py: Python<'_>, ident: u64) -> String {
    let name = py
        .import("threading")
        .and_then(|t| t.getattr("_active"))
        .and_then(|active| active.get_item(ident))
        .and_then(|thread| thread.getattr("name"))
        .and_then(|name| name.extract::<String>());
    match name {
        Ok(name) => format!("'{name}' ({ident})"),
        Err(_) => ident.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(thread: u64, frames: &[usize]) -> Inside {
        Inside { thread, frames: frames.to_vec(), place: "m.f".into() }
    }

    #[test]
    fn bound_defaults_parses_and_rejects() {
        assert_eq!(parse_bound(None), Ok(DEFAULT_BOUND));
        assert_eq!(parse_bound(Some("0")), Ok(Duration::ZERO));
        assert_eq!(parse_bound(Some(" 12.5 ")), Ok(Duration::from_micros(12_500)));
        for bad in ["-1", "nan", "inf", "soon", ""] {
            let message = parse_bound(Some(bad)).unwrap_err();
            assert!(message.starts_with("HOTSWAP_QUIESCE_MS: expected milliseconds"), "{message}");
            assert!(message.ends_with("using 50 ms"), "{message}");
        }
    }

    #[test]
    fn only_frames_there_at_both_looks_stayed() {
        let first = [inside(1, &[10, 11]), inside(2, &[20])];
        let last = [inside(1, &[12, 11]), inside(3, &[20])];
        // Frame 11 of thread 1 stayed; 10 left; 20 is another thread's frame at the same address.
        assert_eq!(stayed(&first, &last), vec![(1, 11)]);
        assert!(stayed(&first, &[]).is_empty());
    }

    #[test]
    fn the_report_names_threads_inside_and_threads_parked_by_this_wait() {
        let parked = [inside(1, &[10]), inside(2, &[20])];
        let still = [inside(2, &[21, 20])];
        let threads: Vec<u64> = noted(&parked, &still).iter().map(|t| t.thread).collect();
        assert_eq!(threads, vec![2, 1]);
        assert!(noted(&[], &[]).is_empty());
    }

    #[test]
    fn parked_frames_are_forgotten_once_off_every_stack() {
        let mut parked = vec![(1, 11), (2, 20)];
        let seen: HashSet<FrameKey> = [(1, 11), (3, 30)].into_iter().collect();
        update_parked(&mut parked, &seen, &[(3, 30), (1, 11)]);
        assert_eq!(parked, vec![(1, 11), (3, 30)]);
    }

    #[test]
    fn live_loops_are_registered_and_removed() {
        live_loop_started(0xdead0);
        live_loop_started(0xbeef0);
        live_loop_ended(0xdead0);
        let loops = lock(&LIVE_LOOPS).clone();
        assert!(loops.contains(&0xbeef0) && !loops.contains(&0xdead0));
        live_loop_ended(0xbeef0);
    }

    #[test]
    fn note_names_the_thread_the_place_and_the_wait() {
        let text = note("'worker' (7)", "app.serve", Duration::from_millis(51));
        assert_eq!(
            text,
            "applied while thread 'worker' (7) was inside app.serve (waited 51 ms for it to leave); \
             calls already running finish on the old code"
        );
    }
}
