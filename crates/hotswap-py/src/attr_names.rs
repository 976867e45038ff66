//! The attribute names read and written while no other thread may run: the looks at the
//! other threads' stacks and the commit that follows the last one.
//!
//! pyo3 makes an `intern!` string (and any `PyOnceLock` value) on first use, and lets go of
//! the GIL to do so; in the first batch of a process that handed the GIL to another thread
//! between two swaps of the commit, which then ran half a batch. These names are made once,
//! before the first look ([`AttrNames::get`]), and passed to the code that needs them; so is
//! the type every fetched error is checked against.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyString;

/// One interned string per attribute name.
pub struct AttrNames {
    pub code: Py<PyString>,
    pub defaults: Py<PyString>,
    pub kwdefaults: Py<PyString>,
    pub doc: Py<PyString>,
    pub type_params: Py<PyString>,
    pub annotate: Py<PyString>,
    pub annotations: Py<PyString>,
    pub module: Py<PyString>,
    pub name: Py<PyString>,
    pub f_back: Py<PyString>,
    pub f_code: Py<PyString>,
    pub f_globals: Py<PyString>,
    pub f_lasti: Py<PyString>,
    pub f_lineno: Py<PyString>,
    pub co_code: Py<PyString>,
    pub co_filename: Py<PyString>,
    pub co_flags: Py<PyString>,
    pub co_name: Py<PyString>,
    pub co_names: Py<PyString>,
    pub co_qualname: Py<PyString>,
}

impl AttrNames {
    /// The names, made on the first call: call it before the first look of a batch, never
    /// between a look and the end of the commit.
    pub fn get(py: Python<'_>) -> &'static AttrNames {
        static NAMES: PyOnceLock<AttrNames> = PyOnceLock::new();
        NAMES.get_or_init(py, || {
            // Every error pyo3 fetches (`getattr` of `__type_params__` before 3.12, say) is
            // checked against this type, made on first use the same way: made here too.
            let _ = py.get_type::<pyo3::panic::PanicException>();
            let name = |text: &str| PyString::intern(py, text).unbind();
            AttrNames {
                code: name("__code__"),
                defaults: name("__defaults__"),
                kwdefaults: name("__kwdefaults__"),
                doc: name("__doc__"),
                type_params: name("__type_params__"),
                annotate: name("__annotate__"),
                annotations: name("__annotations__"),
                module: name("__module__"),
                name: name("__name__"),
                f_back: name("f_back"),
                f_code: name("f_code"),
                f_globals: name("f_globals"),
                f_lasti: name("f_lasti"),
                f_lineno: name("f_lineno"),
                co_code: name("co_code"),
                co_filename: name("co_filename"),
                co_flags: name("co_flags"),
                co_name: name("co_name"),
                co_names: name("co_names"),
                co_qualname: name("co_qualname"),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    /// The text of the function whose signature starts with `signature` in `source`: up to the
    /// closing brace at the indent of its `fn` line.
    fn function<'a>(source: &'a str, signature: &str) -> &'a str {
        let at = source.find(signature).unwrap_or_else(|| panic!("{signature} not found"));
        let line_start = source[..at].rfind('\n').map_or(0, |i| i + 1);
        let indent = source[line_start..].len() - source[line_start..].trim_start().len();
        let end = format!("\n{}}}\n", " ".repeat(indent));
        let length = source[at..].find(&end).unwrap_or_else(|| panic!("end of {signature} not found"));
        &source[at..at + length]
    }

    #[test]
    fn nothing_between_a_look_and_the_end_of_the_commit_can_let_go_of_the_gil() {
        let quiesce = include_str!("quiesce.rs");
        let commit = include_str!("apply/commit.rs");
        let critical = [
            (quiesce, "fn look("),
            (quiesce, "fn counts("),
            (quiesce, "fn batch_names("),
            (quiesce, "fn defined_in_batch("),
            (quiesce, "fn on_batch_line("),
            (quiesce, "fn lines_reading_batch("),
            (quiesce, "fn place("),
            (commit, "fn commit<"),
            (commit, "fn apply_swap<"),
        ];
        // Made on first use with the GIL let go (`intern!`, once-cells, type objects), or
        // running Python code (imports, logging through the `logging` module).
        let lazy = ["intern!", "OnceLock", "OnceCell", "get_type::<", "import(", "log::"];
        for (source, signature) in critical {
            let text = function(source, signature);
            assert!(text.len() > signature.len() + 20, "{signature}: {text}");
            for token in lazy {
                assert!(!text.contains(token), "{signature} uses {token}");
            }
        }
    }

    #[test]
    fn the_function_text_ends_at_its_own_closing_brace() {
        let source = "impl X {\n    fn a(&self) {\n        if x {\n        }\n    }\n\n    fn b() {}\n}\n";
        assert_eq!(function(source, "fn a("), "fn a(&self) {\n        if x {\n        }");
    }
}
