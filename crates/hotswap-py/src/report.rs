//! `Report`: what one batch did, as the Python API and the log show it.

use std::sync::atomic::{AtomicBool, Ordering};

use hotswap_core::plan::PatchStep;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Errors and rude edits are logged as compiler diagnostics (`path:line:col: error: message`),
/// for editors' problem matchers, instead of `path:line: message` (see [`set_message_format`]).
static COMPILER_STYLE: AtomicBool = AtomicBool::new(false);

/// How errors and rude edits are logged, for the whole process: `"plain"` (`path:line:
/// message`, the default) or `"compiler"` (`path:line:col: error: message`, `warning:` for
/// rude edits, one line each, logged by the `hotswap.diagnostic` logger).
#[pyfunction]
pub fn set_message_format(format: &str) -> PyResult<()> {
    let compiler = match format {
        "plain" => false,
        "compiler" => true,
        other => {
            return Err(PyValueError::new_err(format!("message format must be 'plain' or 'compiler', not {other:?}")))
        }
    };
    COMPILER_STYLE.store(compiler, Ordering::Relaxed);
    Ok(())
}

/// Above this many definitions updated, added or deleted in one batch (a checkout, a package
/// upgrade), the log gives one line for the batch instead of one per definition; `-v` (debug)
/// still lists each, and the report always does.
pub const ITEMS_LISTED: usize = 20;

thread_local! {
    /// This thread runs a batch too big to log item by item (see [`ITEMS_LISTED`]).
    static SUMMARIZED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The level of a per-definition log line ("updated m.f (m.py:3)") on this thread now.
pub fn item_level() -> log::Level {
    if SUMMARIZED.with(std::cell::Cell::get) {
        log::Level::Debug
    } else {
        log::Level::Info
    }
}

/// While alive, per-definition log lines on this thread are debug lines (a big batch).
pub struct ItemsSummarized {
    was: bool,
}

impl ItemsSummarized {
    pub fn new(summarize: bool) -> Self {
        ItemsSummarized { was: SUMMARIZED.with(|s| s.replace(summarize)) }
    }
}

impl Drop for ItemsSummarized {
    fn drop(&mut self) {
        SUMMARIZED.with(|s| s.set(self.was));
    }
}

/// One problem with one file: where, and what.
#[pyclass(module = "hotswap._core", frozen, get_all)]
#[derive(Clone, Debug)]
pub struct ReportError {
    pub path: String,
    /// 1-based line, 0 when the problem is not at a line (unreadable file, ...).
    pub line: u32,
    /// 1-based column in characters: where a syntax error is, where the definition or statement
    /// starts for a failed step or a rude edit; 1 when not known.
    pub column: u32,
    pub message: String,
}

#[pymethods]
impl ReportError {
    fn __repr__(&self) -> String {
        format!("{}: {}", self.location(), self.message)
    }
    fn __str__(&self) -> String {
        self.__repr__()
    }
}

impl ReportError {
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{}:{}", self.path, self.line)
        } else {
            self.path.clone()
        }
    }

    /// `path:line:col: SEVERITY: message` on one line, as compilers write diagnostics. A
    /// problem with a whole file points at its first line; one with no file (`<hotswap>`) has
    /// no location: `hotswap: SEVERITY: message`.
    pub fn compiler_line(&self, severity: &str) -> String {
        let message = self.message.lines().map(str::trim_end).collect::<Vec<_>>().join(" ");
        if self.path.starts_with('<') {
            return format!("hotswap: {severity}: {message}");
        }
        format!("{}:{}:{}: {severity}: {message}", self.path, self.line.max(1), self.column.max(1))
    }

    /// Logs the entry, as a compiler diagnostic when that format is on.
    fn log(&self, level: log::Level, severity: &str) {
        if COMPILER_STYLE.load(Ordering::Relaxed) {
            log::log!(target: "hotswap::diagnostic", level, "{}", self.compiler_line(severity));
        } else {
            log::log!(target: "hotswap", level, "{}: {}", self.location(), self.message);
        }
    }
}

/// What one reload batch changed in the running program.
#[pyclass(module = "hotswap._core", frozen, get_all)]
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Qualified names (`pkg.mod.C.m`) whose code, value or line numbers were updated.
    pub updated: Vec<String>,
    /// Qualified names defined or statements run for the first time.
    pub added: Vec<String>,
    /// Qualified names removed from their module or class.
    pub deleted: Vec<String>,
    /// Qualified names that only moved; their line numbers were corrected.
    pub moved: Vec<String>,
    pub errors: Vec<ReportError>,
    /// Edits that could not be applied in place ("rude" edits), with where and why: a running
    /// generator's code, a class whose instance layout changed, ...
    pub rude: Vec<ReportError>,
    /// Qualified names re-created by running their new definition: their identity changed,
    /// so references to the old object keep the old behaviour (the reason is in `rude`).
    pub recreated: Vec<String>,
    /// Other things worth knowing: skipped blocks, fallbacks, files not imported.
    pub notes: Vec<String>,
    /// Files this batch looked at.
    pub paths: Vec<String>,
    pub duration_ms: f64,
    /// This batch's number in the process (1, 2, ...); 0 for a report no batch made.
    pub generation: u64,
}

#[pymethods]
impl Report {
    fn __bool__(&self) -> bool {
        self.changed()
    }

    fn __repr__(&self) -> String {
        let mut parts = Vec::new();
        for (label, names) in [("updated", &self.updated), ("added", &self.added), ("deleted", &self.deleted)] {
            if !names.is_empty() {
                parts.push(format!("{label}={}", py_list(names)));
            }
        }
        if !self.rude.is_empty() {
            let rude: Vec<String> = self.rude.iter().map(ReportError::__repr__).collect();
            parts.push(format!("rude={}", py_list(&rude)));
        }
        if !self.errors.is_empty() {
            let errors: Vec<String> = self.errors.iter().map(ReportError::__repr__).collect();
            parts.push(format!("errors={}", py_list(&errors)));
        }
        if parts.is_empty() {
            parts.push("no changes".into());
        }
        format!("<Report {} in {:.1} ms>", parts.join(" "), self.duration_ms)
    }

    /// Names of the modules whose names this batch updated, added, deleted or re-created, in
    /// first-seen order: for each qualified name, the longest prefix loaded in `sys.modules`.
    #[getter]
    fn modules(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let loaded = py.import("sys")?.getattr("modules")?;
        let mut modules: Vec<String> = Vec::new();
        for name in self.changed_names() {
            let module = module_of(name, |prefix| loaded.contains(prefix).unwrap_or(false));
            if !modules.contains(&module) {
                modules.push(module);
            }
        }
        Ok(modules)
    }

    /// One line saying what the batch did, the same wherever a report is shown (the command
    /// line, `--loop`, `--test`, the pytest plugin, IPython): e.g.
    /// `updated mod.f, mod.g; added mod.h; failed: mod.py:3: syntax error ...`.
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (label, names) in [
            ("updated", &self.updated),
            ("added", &self.added),
            ("deleted", &self.deleted),
            ("re-created", &self.recreated),
        ] {
            if !names.is_empty() {
                parts.push(format!("{label} {}", first_few(names, SUMMARY_NAMES)));
            }
        }
        for (label, entries) in [("not applied in place", &self.rude), ("failed", &self.errors)] {
            if let Some(first) = entries.first() {
                let more = match entries.len() - 1 {
                    0 => String::new(),
                    n => format!(" (and {n} more)"),
                };
                parts.push(format!("{label}: {}{more}", first.__repr__()));
            }
        }
        if parts.is_empty() {
            return "nothing changed".into();
        }
        parts.join("; ")
    }
}

/// How many names a summary lists of each kind before it says "and N more".
const SUMMARY_NAMES: usize = 3;

/// `a, b, c and 4 more`: the first `shown` items, then how many are left out.
fn first_few(items: &[String], shown: usize) -> String {
    let listed = items[..items.len().min(shown)].join(", ");
    match items.len().saturating_sub(shown) {
        0 => listed,
        more => format!("{listed} and {more} more"),
    }
}

/// The module a qualified name belongs to: its longest prefix `is_module` accepts, or, when
/// none is (a module no longer loaded), the name without its last part.
fn module_of(qualified: &str, is_module: impl Fn(&str) -> bool) -> String {
    let mut end = qualified.len();
    loop {
        let prefix = &qualified[..end];
        if is_module(prefix) {
            return prefix.to_owned();
        }
        match prefix.rfind('.') {
            Some(dot) => end = dot,
            None => break,
        }
    }
    qualified.rsplit_once('.').map_or(qualified, |(module, _)| module).to_owned()
}

/// `['a', 'b']`, as Python prints a list of simple strings.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> =
        items.iter().map(|s| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))).collect();
    format!("[{}]", quoted.join(", "))
}

impl Report {
    /// The names a batch changed, as `changed` counts them.
    fn changed_names(&self) -> impl Iterator<Item = &String> {
        self.updated.iter().chain(&self.added).chain(&self.deleted).chain(&self.recreated)
    }

    pub fn changed(&self) -> bool {
        !(self.updated.is_empty() && self.added.is_empty() && self.deleted.is_empty() && self.recreated.is_empty())
    }

    /// Worth handing to a waiting caller: something changed or something went wrong.
    pub fn is_significant(&self) -> bool {
        self.changed() || !self.errors.is_empty() || !self.rude.is_empty()
    }

    /// An edit that could not be applied in place, at `line` (column unknown).
    pub fn rude(&mut self, path: &str, line: u32, message: impl Into<String>) {
        self.rude_at(path, line, 1, message);
    }

    /// An edit that could not be applied in place, at `line` and `column`.
    pub fn rude_at(&mut self, path: &str, line: u32, column: u32, message: impl Into<String>) {
        let entry = ReportError { path: path.to_owned(), line, column, message: message.into() };
        entry.log(log::Level::Warn, "warning");
        self.rude.push(entry);
    }

    /// The item of `step` could not be applied in place: reported where it starts.
    pub fn step_rude(&mut self, path: &str, step: &PatchStep, message: impl Into<String>) {
        self.rude_at(path, step.lines.shown(), step.column, message);
    }

    /// An error at `line` (column unknown; 0: not at a line).
    pub fn error(&mut self, path: &str, line: u32, message: impl Into<String>) {
        self.error_at(path, line, 1, message);
    }

    pub fn error_at(&mut self, path: &str, line: u32, column: u32, message: impl Into<String>) {
        let error = ReportError { path: path.to_owned(), line, column, message: message.into() };
        error.log(log::Level::Error, "error");
        self.errors.push(error);
    }

    /// The step `step` failed or was held back: reported where its item starts.
    pub fn step_error(&mut self, path: &str, step: &PatchStep, message: impl Into<String>) {
        self.error_at(path, step.lines.shown(), step.column, message);
    }

    pub fn merge(&mut self, other: Report) {
        self.updated.extend(other.updated);
        self.added.extend(other.added);
        self.deleted.extend(other.deleted);
        self.moved.extend(other.moved);
        self.errors.extend(other.errors);
        self.rude.extend(other.rude);
        self.recreated.extend(other.recreated);
        self.notes.extend(other.notes);
        self.paths.extend(other.paths);
        self.generation = self.generation.max(other.generation);
    }
}
