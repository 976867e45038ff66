//! One policy for a bug in the engine, whatever the entry point (the watcher thread, `poll()`,
//! the main thread's pending call, `reload_paths`, `hotswap.patch`): a panic during a reload
//! becomes an error entry in that batch's [`Report`], with its message and where it happened,
//! logged once. Nothing crosses into Python as `PanicException`, and the program keeps running.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Once, OnceLock};

use hotswap_core::watch::FileEvent;

use crate::engine::ENGINE;
use crate::report::Report;

thread_local! {
    /// Set while this thread runs guarded engine code: the panic hook records instead of printing.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
    /// Where the last guarded panic of this thread happened (`file:line`).
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Applies a batch through the engine; a panic inside becomes an error in the report.
pub fn reload(inputs: Vec<FileEvent>) -> Report {
    guarded(|| {
        if failpoint_set() {
            panic!("HOTSWAP_FAILPOINT=reload-panic is set");
        }
        ENGINE.reload(inputs)
    })
    .unwrap_or_else(|message| {
        let mut report = Report::default();
        // Logged there, once, like every error of a report.
        report.error(
            "<hotswap>",
            0,
            format!("internal error in hotswap, the batch stopped: {message}; please report it"),
        );
        report
    })
}

/// Runs `work`; a panic inside is returned as its message (with its place), not printed.
pub fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = catch_unwind(AssertUnwindSafe(work));
    GUARDED.with(|g| g.set(was));
    result.map_err(|panic| {
        let place = LOCATION.with(|l| l.borrow_mut().take());
        match place {
            Some(place) => format!("{} (at {place})", panic_message(panic.as_ref())),
            None => panic_message(panic.as_ref()),
        }
    })
}

/// The text a panic was raised with.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Sets up the panic hook and reads the failpoint at import, on the importing thread: a
/// one-time initialisation still running on another thread when the program forks would
/// leave the child waiting for it forever.
pub fn prepare() {
    install_hook();
    failpoint_set();
}

/// Keeps the default hook for panics outside guarded code; inside, records the place only, so
/// the one message the user sees is the report's.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARDED.with(Cell::get) {
                let place = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                LOCATION.with(|l| *l.borrow_mut() = place);
            } else {
                default(info);
            }
        }));
    });
}

/// Fault injection for the tests of this policy: `HOTSWAP_FAILPOINT=reload-panic` in the
/// environment when the extension is imported makes every reload panic inside the guard.
fn failpoint_set() -> bool {
    static SET: OnceLock<bool> = OnceLock::new();
    *SET.get_or_init(|| std::env::var_os("HOTSWAP_FAILPOINT").is_some_and(|v| v == "reload-panic"))
}
