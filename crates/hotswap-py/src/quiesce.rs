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
//! `serve_forever` is handling), and for the statement they are running when it reads one of
//! the batch's names (`va, vb = m.a(), m.b()` in a worker's loop: a commit between the two
//! calls would mix versions). A frame is parked halfway only if its thread ran meanwhile (its
//! innermost frame or instruction changed): a thread that merely waited for the GIL on a busy
//! machine is still inside a short call, and is waited for until the bound.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFunction, PyModule, PyTuple, PyType};

use crate::attr_names::AttrNames;
use crate::pyerr::{describe_exception, lock};

/// The bound when `HOTSWAP_QUIESCE_MS` is not set.
const DEFAULT_BOUND: Duration = Duration::from_millis(50);
/// How long other threads get the GIL between the first two looks; doubled up to
/// [`LONGEST_PAUSE`] while a thread stays inside, so that one the OS did not schedule gets
/// a chance to run.
const PAUSE: Duration = Duration::from_micros(200);
const LONGEST_PAUSE: Duration = Duration::from_millis(2);
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
         running finish on the old code, against the module as this save leaves it",
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

/// After the wait: the threads not waited for any longer, and the frames looked at, to
/// release after the commit (holding them kept their addresses from being reused during the
/// wait; releasing one can run a finalizer, which must not see half a batch).
#[derive(Default)]
pub struct Quiet<'py> {
    pub noted: Vec<Inside>,
    pub waited: Duration,
    pub held: Vec<Bound<'py, PyAny>>,
}

impl Quiet<'_> {
    /// The report's notes, logged. Called once the batch is committed: naming a thread and
    /// logging may run Python code, which would let the others run between look and commit.
    pub fn notes(&self, py: Python<'_>) -> Vec<String> {
        let notes: Vec<String> =
            self.noted.iter().map(|thread| note(&thread_name(py, thread.thread), &thread.place, self.waited)).collect();
        for text in &notes {
            log::info!(target: "hotswap", "{text}");
        }
        notes
    }
}

/// Waits (GIL released between looks) until no other thread is inside `batch`, at most the
/// bound. Halfway, frames there since the first look are parked (when their thread ran
/// meanwhile) and the wait goes on for the others (a request above a parked server loop).
/// Returns with the GIL held and no Python code run since the last look.
pub fn wait_until_outside<'py>(py: Python<'py>, names: &AttrNames, batch: &BatchModules<'py>) -> Quiet<'py> {
    let bound = bound();
    let mut quiet = Quiet::default();
    if bound.is_zero() || batch.files.is_empty() {
        return quiet;
    }
    let mut reader = match StackReader::new(py, names, batch) {
        Ok(reader) => reader,
        Err(err) => {
            log::debug!(target: "hotswap", "threads' stacks not read: {}", describe_exception(py, &err));
            return quiet;
        }
    };
    let started = Instant::now();
    // The time the other threads were given: what the pauses asked for, at most twice that per
    // pause. A process the OS does not run (an overloaded machine, a CPU quota used up) gives
    // its threads no chance to leave, so the time it stood still does not count.
    let mut given = Duration::ZERO;
    let mut first: Option<Look> = None;
    let mut ran: HashSet<u64> = HashSet::new();
    let mut parked_now: Option<Vec<Inside>> = None;
    let mut pause = PAUSE;
    loop {
        let look = match reader.look(&mut quiet.held) {
            Ok(look) => look,
            Err(err) => {
                log::debug!(target: "hotswap", "threads' stacks not read: {}", describe_exception(py, &err));
                return quiet;
            }
        };
        let first = first.get_or_insert_with(|| look.clone());
        ran.extend(look.places.iter().filter(|(t, at)| first.places.get(t) != Some(at)).map(|(t, _)| *t));
        if parked_now.is_none() && given >= bound / 2 && !look.inside.is_empty() {
            let parked = park_halfway(&mut reader, first, &look, &ran);
            let any = !parked.is_empty();
            parked_now = Some(parked);
            if any {
                continue; // look again without them
            }
        }
        if look.inside.is_empty() || given >= bound {
            let waited = started.elapsed();
            // Frames inside through the whole bound are not waited for again (a loop blocked
            // in `accept()` never shows progress); a short call parked by mistake still counts
            // while its statement reads the batch's names.
            update_parked(&mut lock(&PARKED), &look.seen, &stayed(&first.inside, &look.inside));
            quiet.noted = noted(parked_now.as_deref().unwrap_or_default(), &look.inside);
            quiet.waited = waited;
            return quiet;
        }
        let paused = Instant::now();
        py.detach(|| std::thread::sleep(pause));
        given += paused.elapsed().min(pause * 2);
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// Halfway through a wait: the frames inside since the first look whose thread ran meanwhile
/// are parked (frames parked before are inside again only for a statement: not parked anew).
/// Returns the threads whose frames were parked.
fn park_halfway(reader: &mut StackReader<'_, '_>, first: &Look, look: &Look, ran: &HashSet<u64>) -> Vec<Inside> {
    let before = lock(&PARKED).clone();
    let keys: Vec<FrameKey> = stayed(&first.inside, &look.inside)
        .into_iter()
        .filter(|key| ran.contains(&key.0) && !before.contains(key))
        .collect();
    update_parked(&mut lock(&PARKED), &look.seen, &keys);
    if keys.is_empty() {
        return Vec::new();
    }
    if let Err(err) = reader.read_opcodes() {
        log::debug!(target: "hotswap", "opcodes not read: {}", describe_exception(reader.py, &err));
    }
    look.inside.iter().filter(|t| keys.iter().any(|k| k.0 == t.thread)).cloned().collect()
}

/// The threads the report names: those still inside, and those whose frames this wait parked.
pub fn noted(parked_now: &[Inside], inside: &[Inside]) -> Vec<Inside> {
    let mut threads = inside.to_vec();
    threads.extend(parked_now.iter().filter(|p| !inside.iter().any(|i| i.thread == p.thread)).cloned());
    threads
}

/// Where a thread was at one look: its innermost frame's address and instruction. A thread
/// whose place changed between two looks ran in between.
type Place = (usize, i64);

/// What one look at the other threads' stacks found.
#[derive(Clone)]
struct Look {
    inside: Vec<Inside>,
    /// Every frame on another thread's stack.
    seen: HashSet<FrameKey>,
    places: HashMap<u64, Place>,
}

/// Reads the other threads' stacks during one wait. What it learns about a code object is kept
/// for the wait (a code object runs with the globals of the module that made it). Runs no
/// Python code once made, so that no other thread moves between a look and the commit.
struct StackReader<'a, 'py> {
    py: Python<'py>,
    /// Made before the first look: `intern!` lets go of the GIL the first time.
    names: &'a AttrNames,
    batch: &'a BatchModules<'py>,
    /// Read (importing `dis`) only once a frame is parked: before a look, never during one.
    opcodes: Option<&'static Opcodes>,
    get_ident: Bound<'py, PyAny>,
    current_frames: Bound<'py, PyAny>,
    /// Per code object: does it run or call the batch's code.
    verdicts: HashMap<usize, bool>,
    /// Per code object: the lines that read a global bound to the batch's code.
    batch_lines: HashMap<usize, HashSet<i64>>,
}

impl<'a, 'py> StackReader<'a, 'py> {
    fn new(py: Python<'py>, names: &'a AttrNames, batch: &'a BatchModules<'py>) -> PyResult<Self> {
        let mut reader = StackReader {
            py,
            names,
            batch,
            opcodes: None,
            get_ident: py.import("_thread")?.getattr("get_ident")?,
            current_frames: py.import("sys")?.getattr("_current_frames")?,
            verdicts: HashMap::new(),
            batch_lines: HashMap::new(),
        };
        if !lock(&PARKED).is_empty() {
            reader.read_opcodes()?;
        }
        Ok(reader)
    }

    /// Makes the lines of parked frames readable (see [`StackReader::on_batch_line`]).
    fn read_opcodes(&mut self) -> PyResult<()> {
        static OPCODES: PyOnceLock<Opcodes> = PyOnceLock::new();
        self.opcodes = Some(OPCODES.get_or_try_init(self.py, || Opcodes::read(self.py))?);
        Ok(())
    }

    /// One look at every other thread's stack.
    fn look(&mut self, held: &mut Vec<Bound<'py, PyAny>>) -> PyResult<Look> {
        let py = self.py;
        let stacks = self.current_frames.call0()?.cast_into::<PyDict>()?;
        let mut look = Look { inside: Vec::new(), seen: HashSet::new(), places: HashMap::new() };
        if stacks.len() < 2 {
            return Ok(look); // only the calling thread runs Python code
        }
        let me: u64 = self.get_ident.call0()?.extract()?;
        let parked = lock(&PARKED).clone();
        let live_loops = lock(&LIVE_LOOPS).clone();
        for (ident, top) in stacks.iter() {
            let thread: u64 = ident.extract()?;
            if thread == me {
                continue;
            }
            let lasti: i64 = top.getattr(self.names.f_lasti.bind(py))?.extract()?;
            look.places.insert(thread, (top.as_ptr() as usize, lasti));
            let mut inside = Inside { thread, frames: Vec::new(), place: String::new() };
            let mut frame = top;
            while !frame.is_none() {
                let key = frame.as_ptr() as usize;
                look.seen.insert((thread, key));
                let counts = !live_loops.contains(&key)
                    && self.counts(&frame)?
                    && (!parked.contains(&(thread, key)) || self.on_batch_line(&frame)?);
                if counts {
                    inside.frames.push(key);
                    inside.place = place(py, self.names, &frame);
                    held.push(frame.clone());
                }
                frame = frame.getattr(self.names.f_back.bind(py))?;
            }
            if !inside.frames.is_empty() {
                look.inside.push(inside);
            }
        }
        Ok(look)
    }

    /// Whether `frame` runs code of the batch's modules, or code that calls them directly.
    fn counts(&mut self, frame: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        let code = frame.getattr(self.names.f_code.bind(py))?;
        if let Some(&verdict) = self.verdicts.get(&(code.as_ptr() as usize)) {
            return Ok(verdict);
        }
        let flags: u32 = code.getattr(self.names.co_flags.bind(py))?.extract()?;
        let verdict = if flags & CO_OPTIMIZED == 0 {
            false
        } else if self.batch.files.contains(code.getattr(self.names.co_filename.bind(py))?.extract::<&str>()?) {
            true
        } else {
            self.batch_names(frame, &code)?.contains(&true)
        };
        self.verdicts.insert(code.as_ptr() as usize, verdict);
        Ok(verdict)
    }

    /// Per name of the code's `co_names`: whether the frame's globals bind it to one of the
    /// batch's modules or to a function or class defined in them.
    fn batch_names(&self, frame: &Bound<'py, PyAny>, code: &Bound<'py, PyAny>) -> PyResult<Vec<bool>> {
        let py = self.py;
        let Ok(globals) = frame.getattr(self.names.f_globals.bind(py))?.cast_into::<PyDict>() else {
            return Ok(Vec::new());
        };
        let names = code.getattr(self.names.co_names.bind(py))?.cast_into::<PyTuple>()?;
        names
            .iter()
            .map(|name| match globals.get_item(&name)? {
                Some(value) => self.defined_in_batch(&value),
                None => Ok(false),
            })
            .collect()
    }

    fn defined_in_batch(&self, value: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        Ok(if value.is_instance_of::<PyModule>() {
            self.batch.modules.iter().any(|m| m.is(value))
        } else if value.is_instance_of::<PyFunction>() {
            let filename = value.getattr(self.names.code.bind(py))?.getattr(self.names.co_filename.bind(py))?;
            filename.extract::<&str>().is_ok_and(|f| self.batch.files.contains(f))
        } else if value.is_instance_of::<PyType>() {
            let module = value.getattr(self.names.module.bind(py)).ok();
            module.and_then(|m| m.extract::<String>().ok()).is_some_and(|m| self.batch.names.contains(&m))
        } else {
            false
        })
    }

    /// Whether a parked frame is running a statement that reads one of the batch's names.
    fn on_batch_line(&mut self, frame: &Bound<'py, PyAny>) -> PyResult<bool> {
        let py = self.py;
        let Some(line) = frame.getattr(self.names.f_lineno.bind(py))?.extract::<Option<i64>>()? else {
            return Ok(false);
        };
        let code = frame.getattr(self.names.f_code.bind(py))?;
        let key = code.as_ptr() as usize;
        // Opcodes not read yet (a frame parked by another thread's wait): the frame counts.
        let Some(opcodes) = self.opcodes else { return Ok(true) };
        if !self.batch_lines.contains_key(&key) {
            let lines = self.lines_reading_batch(frame, &code, opcodes)?;
            self.batch_lines.insert(key, lines);
        }
        Ok(self.batch_lines[&key].contains(&line))
    }

    fn lines_reading_batch(
        &self,
        frame: &Bound<'py, PyAny>,
        code: &Bound<'py, PyAny>,
        opcodes: &Opcodes,
    ) -> PyResult<HashSet<i64>> {
        let py = self.py;
        let hits = self.batch_names(frame, code)?;
        if !hits.contains(&true) {
            return Ok(HashSet::new());
        }
        let raw: Vec<u8> = code.getattr(self.names.co_code.bind(py))?.extract()?;
        let offsets = global_loads(&raw, opcodes, &hits);
        let table = LineTable::read(code)?;
        Ok(offsets.into_iter().filter_map(|offset| table.line_at(offset)).collect())
    }
}

/// The opcodes that load a global by name, as this interpreter numbers them.
#[derive(Debug)]
pub struct Opcodes {
    pub load_global: u8,
    pub load_name: u8,
    pub extended_arg: u8,
    /// 3.11+ keeps a flag in the low bit of `LOAD_GLOBAL`'s argument.
    pub global_shift: u32,
}

impl Opcodes {
    /// Read once, before any look (importing `dis` runs Python code).
    fn read(py: Python<'_>) -> PyResult<Opcodes> {
        let opmap = py.import("dis")?.getattr("opmap")?;
        let op = |name: &str| -> PyResult<u8> { opmap.get_item(name)?.extract() };
        Ok(Opcodes {
            load_global: op("LOAD_GLOBAL")?,
            load_name: op("LOAD_NAME")?,
            extended_arg: op("EXTENDED_ARG")?,
            global_shift: u32::from(py.version_info() >= (3, 11)),
        })
    }
}

/// Byte offsets in `raw` (a code object's `co_code`) of the instructions that load a name of
/// `co_names` whose entry in `hits` is true.
pub fn global_loads(raw: &[u8], opcodes: &Opcodes, hits: &[bool]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut extended: u32 = 0;
    for (at, unit) in raw.chunks_exact(2).enumerate() {
        let (op, arg) = (unit[0], extended << 8 | u32::from(unit[1]));
        if op == opcodes.extended_arg {
            extended = arg;
            continue;
        }
        extended = 0;
        let index = if op == opcodes.load_global {
            arg >> opcodes.global_shift
        } else if op == opcodes.load_name {
            arg
        } else {
            continue;
        };
        if hits.get(index as usize) == Some(&true) {
            found.push(at * 2);
        }
    }
    found
}

/// Which source line each instruction belongs to: `co_lines()` on 3.10+, `co_lnotab` before.
pub enum LineTable {
    Ranges(Vec<(usize, usize, Option<i64>)>),
    Lnotab { first_line: i64, table: Vec<u8> },
}

impl LineTable {
    fn read(code: &Bound<'_, PyAny>) -> PyResult<LineTable> {
        if code.hasattr("co_lines")? {
            let ranges = code.call_method0("co_lines")?.try_iter()?;
            return Ok(LineTable::Ranges(ranges.map(|r| r?.extract()).collect::<PyResult<_>>()?));
        }
        Ok(LineTable::Lnotab {
            first_line: code.getattr("co_firstlineno")?.extract()?,
            table: code.getattr("co_lnotab")?.extract()?,
        })
    }

    pub fn line_at(&self, offset: usize) -> Option<i64> {
        match self {
            LineTable::Ranges(ranges) => {
                ranges.iter().find(|(start, end, _)| (*start..*end).contains(&offset)).and_then(|r| r.2)
            }
            // Pairs of (bytes advanced, lines advanced as a signed byte), as 3.9 reads them.
            LineTable::Lnotab { first_line, table } => {
                let (mut line, mut address) = (*first_line, 0usize);
                for pair in table.chunks_exact(2) {
                    address += usize::from(pair[0]);
                    if address > offset {
                        break;
                    }
                    line += i64::from(pair[1] as i8);
                }
                Some(line)
            }
        }
    }
}

/// `module.qualified_name` of the function a frame runs, for the report.
fn place(py: Python<'_>, names: &AttrNames, frame: &Bound<'_, PyAny>) -> String {
    let module = frame
        .getattr(names.f_globals.bind(py))
        .and_then(|g| g.get_item(names.name.bind(py)))
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".into());
    let code = frame.getattr(names.f_code.bind(py));
    // `co_qualname` is 3.11+; `co_name` before.
    let name = code
        .as_ref()
        .ok()
        .and_then(|c| c.getattr(names.co_qualname.bind(py)).or_else(|_| c.getattr(names.co_name.bind(py))).ok())
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

    const OPS: Opcodes = Opcodes { load_global: 116, load_name: 101, extended_arg: 144, global_shift: 1 };

    #[test]
    fn global_loads_follow_extended_arguments_and_the_flag_bit() {
        let mut hits = vec![false; 300];
        hits[2] = true;
        hits[258] = true;
        // LOAD_GLOBAL 2 (flag bit set), NOP, LOAD_GLOBAL 3, EXTENDED_ARG 2 + LOAD_GLOBAL 4 (258),
        // LOAD_NAME 2.
        let raw = [116, 5, 9, 0, 116, 6, 144, 2, 116, 4, 101, 2];
        assert_eq!(global_loads(&raw, &OPS, &hits), vec![0, 8, 10]);
        assert!(global_loads(&raw, &OPS, &[]).is_empty());
    }

    #[test]
    fn lines_come_from_ranges_or_from_the_old_line_number_table() {
        let ranges = LineTable::Ranges(vec![(0, 4, Some(3)), (4, 10, Some(5)), (10, 12, None)]);
        assert_eq!([0, 3, 4, 9, 10, 12].map(|o| ranges.line_at(o)), [Some(3), Some(3), Some(5), Some(5), None, None]);
        // From line 10: +4 bytes +1 line, +6 bytes -2 lines (a loop's jump back).
        let lnotab = LineTable::Lnotab { first_line: 10, table: vec![4, 1, 6, 0xfe] };
        assert_eq!([0, 3, 4, 9, 10, 40].map(|o| lnotab.line_at(o)), [10, 10, 11, 11, 9, 9].map(Some));
    }

    #[test]
    fn note_names_the_thread_the_place_and_the_wait() {
        let text = note("'worker' (7)", "app.serve", Duration::from_millis(51));
        assert_eq!(
            text,
            "applied while thread 'worker' (7) was inside app.serve (waited 51 ms for it to leave); \
             calls already running finish on the old code, against the module as this save leaves it"
        );
    }
}
