//! Code-object utilities: compiling a unit as its file compiles, finding a definition's code
//! inside it, pairing nested code objects, moving line numbers.

use std::collections::BTreeMap;
use std::sync::Mutex;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCode, PyDict, PyTuple};

use crate::pyerr::lock;

/// Files whose module was compiled by other rules than `compile()` (pytest's assertion
/// rewriter): `__file__` → the callable that compiles their units the same way.
static COMPILE_HOOKS: Mutex<BTreeMap<String, Py<PyAny>>> = Mutex::new(BTreeMap::new());

/// Compiles the units of the module file `filename` (as in its `__file__`) with
/// `hook(source, filename, flags)`, which returns the code object, instead of `compile()`;
/// `None` removes the hook. `source` is the unit at its real line numbers, `flags` the
/// module's `__future__` compiler flags.
#[pyfunction]
pub fn set_compile_hook(filename: String, hook: Option<Py<PyAny>>) {
    // The replaced hook is dropped after the lock is released: its `__del__` may call back.
    let _replaced = match hook {
        Some(hook) => lock(&COMPILE_HOOKS).insert(filename, hook),
        None => lock(&COMPILE_HOOKS).remove(&filename),
    };
}

/// The `builtins` module, imported once: `py.import` goes through the import machinery on every
/// call, which costs about as much as compiling a one-line statement (a batch compiles and runs
/// hundreds). Its attributes are still looked up on each use, so a patched `builtins.compile`
/// is honoured as before.
pub fn builtins(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static BUILTINS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    Ok(BUILTINS.get_or_try_init(py, || py.import("builtins").map(Bound::unbind))?.bind(py))
}

pub fn exec<'py>(
    py: Python<'py>,
    code: &Bound<'py, PyAny>,
    globals: &Bound<'py, PyAny>,
    locals: &Bound<'py, PyAny>,
) -> PyResult<()> {
    builtins(py)?.getattr(intern!(py, "exec"))?.call1((code, globals, locals))?;
    Ok(())
}

/// Compiles a unit of `filename` as the file was compiled: with its compile hook if it has
/// one, else with `compile()` and the module's `__future__` flags.
pub fn compile<'py>(py: Python<'py>, source: &str, filename: &str, flags: i64) -> PyResult<Bound<'py, PyAny>> {
    let hook = lock(&COMPILE_HOOKS).get(filename).map(|hook| hook.clone_ref(py));
    let Some(hook) = hook else {
        return builtins(py)?.getattr(intern!(py, "compile"))?.call1((source, filename, "exec", flags, true));
    };
    let code = hook.bind(py).call1((source, filename, flags))?;
    if !code.is_instance_of::<PyCode>() {
        let got = code.get_type().name()?;
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "the compile hook of {filename} returned {got}, not a code object"
        )));
    }
    Ok(code)
}

/// Compiler flags of the `from __future__` features a module's new source imports, so units
/// compile as the file does. Only the features that still change compilation count: the others
/// (`division`, `unicode_literals`, `generator_stop`...) are no-ops that a fresh compile does not
/// record in `co_flags`, so passing them would make the new code differ from a fresh start's.
pub fn future_flags(py: Python<'_>, features: &[String]) -> PyResult<i64> {
    let future = py.import("__future__")?;
    let mut flags = 0i64;
    for name in ["annotations", "barry_as_FLUFL"] {
        if features.iter().any(|feature| feature == name) {
            flags |= future.getattr(name)?.getattr(intern!(py, "compiler_flag"))?.extract::<i64>()?;
        }
    }
    Ok(flags)
}

fn code_consts<'py>(code: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let consts = code.getattr(intern!(code.py(), "co_consts"))?.cast_into::<PyTuple>()?;
    Ok(consts.iter().filter(|c| c.is_instance_of::<PyCode>()).collect())
}

fn not_found(what: &str) -> PyErr {
    pyo3::exceptions::PyLookupError::new_err(format!("{what} is not in the compiled unit"))
}

/// The code object named `name` (starting at `line`, when given) among the constants of
/// `code`. A generic definition (`def first[T]`, `class Box[T]`, 3.12+) is compiled inside a
/// type-parameters scope, a code object of its own between the enclosing code and the
/// definition's: when no constant is the definition, it is looked for one level inside them.
fn find_named<'py>(code: &Bound<'py, PyAny>, name: &str, line: Option<u32>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let consts = named_consts(code, line)?;
    if let Some((_, found)) = consts.iter().find(|(n, _)| n == name) {
        return Ok(Some(found.clone()));
    }
    for (_, scope) in &consts {
        if let Some((_, found)) = named_consts(scope, line)?.into_iter().find(|(n, _)| n == name) {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The code constants of `code` (those starting at `line`, when given), with their names.
fn named_consts<'py>(code: &Bound<'py, PyAny>, line: Option<u32>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = Vec::new();
    for c in code_consts(code)? {
        let first: u32 = c.getattr(intern!(c.py(), "co_firstlineno"))?.extract()?;
        if line.is_none_or(|line| line == first) {
            out.push((c.getattr(intern!(c.py(), "co_name"))?.extract()?, c));
        }
    }
    Ok(out)
}

/// The body code of the innermost class in `path` inside a compiled unit.
pub fn find_class_body<'py>(unit: &Bound<'py, PyAny>, path: &[String]) -> PyResult<Bound<'py, PyAny>> {
    let mut code = unit.clone();
    for name in path {
        code = find_named(&code, name, None)?.ok_or_else(|| not_found(&format!("class {name}")))?;
    }
    Ok(code)
}

/// The code object of definition `name` starting at `line`, inside the class bodies of `scope`.
pub fn find_code<'py>(
    unit: &Bound<'py, PyAny>,
    scope: &[String],
    name: &str,
    line: u32,
) -> PyResult<Bound<'py, PyAny>> {
    let body = find_class_body(unit, scope)?;
    find_named(&body, name, Some(line))?.ok_or_else(|| not_found(&format!("function {name} at line {line}")))
}

/// Code whose functions only live while it runs (comprehensions, generator expressions on
/// 3.9–3.11): no live function can be waiting to be updated.
pub fn is_transient(code: &Bound<'_, PyAny>) -> bool {
    let name: String = code.getattr(intern!(code.py(), "co_name")).and_then(|n| n.extract()).unwrap_or_default();
    matches!(name.as_str(), "<listcomp>" | "<setcomp>" | "<dictcomp>" | "<genexpr>")
}

pub fn same_freevars(a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> bool {
    match (a.getattr(intern!(a.py(), "co_freevars")), b.getattr(intern!(b.py(), "co_freevars"))) {
        (Ok(x), Ok(y)) => x.eq(y).unwrap_or(false),
        _ => false,
    }
}

/// Pairs of nested code objects (closures, lambdas, comprehensions) of `old` and `new`, matched
/// by name and order of appearance, recursively.
pub fn nested_code_pairs<'py>(
    old: &Bound<'py, PyAny>,
    new: &Bound<'py, PyAny>,
    out: &mut Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<()> {
    let olds = code_consts(old)?;
    let mut news = code_consts(new)?;
    for o in olds {
        let name: String = o.getattr(intern!(o.py(), "co_name"))?.extract()?;
        let position = news.iter().position(|n| {
            n.getattr(intern!(n.py(), "co_name")).and_then(|x| x.extract::<String>()).is_ok_and(|x| x == name)
        });
        if let Some(position) = position {
            let n = news.remove(position);
            nested_code_pairs(&o, &n, out)?;
            out.push((o, n));
        }
    }
    Ok(())
}

/// `code` with every line number moved by `delta`, nested code objects included, and whether it
/// holds nested code. Line tables are relative to `co_firstlineno` on every supported version,
/// so only that field changes.
pub fn shift_lines<'py>(py: Python<'py>, code: &Bound<'py, PyAny>, delta: i64) -> PyResult<(Bound<'py, PyAny>, bool)> {
    let first: i64 = code.getattr(intern!(code.py(), "co_firstlineno"))?.extract()?;
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "co_firstlineno"), first + delta)?;
    // Most functions have no nested code: then the constants stay as they are.
    let consts = code.getattr(intern!(code.py(), "co_consts"))?.cast_into::<PyTuple>()?;
    let nested = consts.iter().any(|c| c.is_instance_of::<PyCode>());
    if nested {
        let shifted = consts
            .iter()
            .map(|c| if c.is_instance_of::<PyCode>() { Ok(shift_lines(py, &c, delta)?.0) } else { Ok(c) })
            .collect::<PyResult<Vec<_>>>()?;
        kwargs.set_item(intern!(py, "co_consts"), PyTuple::new(py, shifted)?)?;
    }
    Ok((code.call_method(intern!(py, "replace"), (), Some(&kwargs))?, nested))
}
