//! Following a name to the live object it reaches: the scope (module or class) a step is in,
//! the function a binding runs through its decorators, the wrappers in front of it, and what
//! still runs old code (suspended generators, module-level code).

use std::borrow::Cow;
use std::collections::HashSet;

use hotswap_core::names::mangle;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyString, PyTuple, PyType};

/// Where a step's names live: the module, or a class (by its path) inside it.
#[derive(Clone)]
pub struct Scope<'py> {
    pub module: Bound<'py, PyAny>,
    /// The innermost enclosing class, if the step is inside one.
    pub class: Option<Bound<'py, PyType>>,
    pub path: Vec<String>,
}

impl<'py> Scope<'py> {
    /// The key `name` has in this scope's namespace: inside a class, private names are
    /// mangled as the class body bound them (`__helper` → `_K__helper`).
    pub fn key<'a>(&self, name: &'a str) -> Cow<'a, str> {
        match (&self.class, self.path.last()) {
            (Some(_), Some(class)) => mangle(class, name),
            _ => Cow::Borrowed(name),
        }
    }

    /// Binds `name` (under its [`Scope::key`]) in the class, or in the module.
    pub fn bind(&self, name: &str, value: impl IntoPyObject<'py>) -> PyResult<()> {
        let key = self.key(name);
        match &self.class {
            Some(class) => class.setattr(key.as_ref(), value),
            None => self.module.setattr(key.as_ref(), value),
        }
    }
}

/// The module, or the innermost class named by `path` inside it.
pub fn resolve_scope<'py>(module: &Bound<'py, PyAny>, path: &[String]) -> PyResult<Scope<'py>> {
    let mut class: Option<Bound<'py, PyType>> = None;
    let mut current = module.clone();
    for (depth, name) in path.iter().enumerate() {
        // A nested class is bound in its outer class's namespace, mangled there.
        let key = match depth.checked_sub(1) {
            Some(outer) => mangle(&path[outer], name),
            None => Cow::Borrowed(name.as_str()),
        };
        let next = current.getattr(key.as_ref())?;
        let next_class = class_behind(&next, name, 0).ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err(format!("{name} is no longer a class in the running program"))
        })?;
        current = next_class.clone().into_any();
        class = Some(next_class);
    }
    Ok(Scope { module: module.clone(), class, path: path.to_vec() })
}

pub fn named_class<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let owner = match &scope.class {
        Some(c) => c.clone().into_any(),
        None => scope.module.clone(),
    };
    let bound = owner.getattr(scope.key(name).as_ref())?;
    class_behind(&bound, name, 0).ok_or_else(|| {
        pyo3::exceptions::PyTypeError::new_err(format!("{name} is no longer a class in the running program"))
    })
}

/// The class named `name` that `obj` is or wraps: a class decorator may bind the name to
/// another object (a deprecation wrapper, a factory function) that keeps the class in
/// `__wrapped__`, `__func__` or a closure cell; its members are still the class's.
fn class_behind<'py>(obj: &Bound<'py, PyAny>, name: &str, depth: u32) -> Option<Bound<'py, PyType>> {
    if let Ok(class) = obj.cast::<PyType>() {
        let named = class.getattr(intern!(obj.py(), "__name__")).and_then(|n| n.extract::<String>());
        return (depth == 0 || named.is_ok_and(|n| n == name)).then(|| class.clone());
    }
    if depth > 4 {
        return None;
    }
    let mut inner: Vec<Bound<'py, PyAny>> =
        ["__wrapped__", "__func__"].iter().filter_map(|attr| obj.getattr(*attr).ok()).collect();
    if obj.is_instance_of::<PyFunction>() {
        let cells = obj.getattr(intern!(obj.py(), "__closure__")).ok().filter(|c| !c.is_none());
        for cell in cells.iter().flat_map(|c| c.try_iter().into_iter().flatten()).flatten() {
            inner.extend(cell.getattr("cell_contents").ok());
        }
    }
    inner.iter().find_map(|o| class_behind(o, name, depth + 1))
}

/// The object bound to `name` in the scope's own namespace (not inherited).
pub fn namespace_get<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    let dict = match &scope.class {
        Some(class) => class.getattr(intern!(class.py(), "__dict__"))?,
        // A module's own dict, read without an attribute lookup or a KeyError per miss: a line
        // shift looks up thousands of names here.
        None => match scope.module.cast::<PyModule>() {
            Ok(module) => return module.dict().get_item(name),
            Err(_) => scope.module.getattr(intern!(scope.module.py(), "__dict__"))?,
        },
    };
    match dict.get_item(scope.key(name).as_ref()) {
        Ok(value) => Ok(Some(value)),
        Err(err) if err.is_instance_of::<pyo3::exceptions::PyKeyError>(dict.py()) => Ok(None),
        Err(err) => Err(err),
    }
}

/// The live function that runs the definition `name` first seen at `line` of `filename`,
/// found from its binding in the scope through decorators and wrappers.
pub fn live_function<'py>(
    scope: &Scope<'py>,
    name: &str,
    line: u32,
    filename: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let Some(anchor) = namespace_get(scope, name)? else { return Ok(None) };
    let mut seen = HashSet::new();
    if let Some(found) = find_function(&anchor, name, line, filename, 0, &mut seen)? {
        return Ok(Some(found));
    }
    // An enum keeps its class's own `__new__` as `__new_member__` and binds `Enum.__new__`.
    match (&scope.class, name) {
        (Some(class), "__new__") => match namespace_get(scope, "__new_member__")? {
            Some(member_new) if class.hasattr("_member_map_")? => {
                find_function(&member_new, name, line, filename, 0, &mut seen)
            }
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

fn find_function<'py>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    line: u32,
    filename: &str,
    depth: u32,
    seen: &mut HashSet<usize>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if depth > 8 || !seen.insert(obj.as_ptr() as usize) {
        return Ok(None);
    }
    if obj.is_instance_of::<PyFunction>() {
        let code = obj.getattr(intern!(obj.py(), "__code__"))?;
        // Cheapest test first; names are compared without copying them out of Python.
        let matches = code.getattr(intern!(code.py(), "co_firstlineno"))?.extract::<u32>()? == line
            && code.getattr(intern!(code.py(), "co_name"))?.cast_into::<PyString>()?.to_str()? == name
            && code.getattr(intern!(code.py(), "co_filename"))?.cast_into::<PyString>()?.to_str()? == filename;
        if matches {
            return Ok(Some(obj.clone()));
        }
        // A wrapper made by a decorator: the wrapped function is in its closure.
        if let Ok(cells) = obj.getattr(intern!(obj.py(), "__closure__")) {
            if !cells.is_none() {
                for cell in cells.try_iter()? {
                    if let Ok(content) = cell?.getattr("cell_contents") {
                        if let Some(found) = find_function(&content, name, line, filename, depth + 1, seen)? {
                            return Ok(Some(found));
                        }
                    }
                }
            }
        }
    }
    for attr in ["__wrapped__", "__func__", "fget", "fset", "fdel", "func"] {
        if let Ok(inner) = obj.getattr(attr) {
            if let Some(found) = find_function(&inner, name, line, filename, depth + 1, seen)? {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

/// Objects between a name's binding and its function that take new code themselves through
/// `__conform__(new_code)` (the protocol jurigged defines for code-transforming wrappers).
pub fn conformers<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = Vec::new();
    let mut current = namespace_get(scope, name)?;
    let mut depth = 0;
    while let Some(obj) = current {
        if depth > 8 || obj.is_instance_of::<PyFunction>() {
            break;
        }
        depth += 1;
        if obj.get_type().hasattr("__conform__")? && !obj.is_instance_of::<PyType>() {
            out.push(obj.clone());
        }
        current = ["__wrapped__", "__func__", "func"].iter().find_map(|attr| obj.getattr(*attr).ok());
    }
    Ok(out)
}

/// `functools` caches (`lru_cache`, `cache`) between a name's binding and its function.
pub fn caches_in_front<'py>(scope: &Scope<'py>, name: &str) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut out = Vec::new();
    let mut current = namespace_get(scope, name)?;
    let mut depth = 0;
    while let Some(obj) = current {
        if depth > 8 {
            break;
        }
        depth += 1;
        if plain_function(&obj) {
            break; // no cache here nor anything it wraps (and no exception raised to find out)
        }
        if obj.hasattr(intern!(obj.py(), "cache_clear"))? && obj.hasattr(intern!(obj.py(), "cache_info"))? {
            out.push(obj.clone());
        }
        current = ["__wrapped__", "__func__", "fget", "func"].iter().find_map(|attr| obj.getattr(*attr).ok());
    }
    Ok(out)
}

/// A function with an empty `__dict__`: the attributes [`caches_in_front`] looks for cannot be
/// on it (its type defines none of them), so looking for each would only raise AttributeErrors.
fn plain_function(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_exact_instance_of::<PyFunction>()
        && obj.getattr(intern!(obj.py(), "__dict__")).is_ok_and(|d| d.len().is_ok_and(|n| n == 0))
}

/// `value` is `target`, or holds it directly (list, tuple, set, dict values).
pub fn contains(value: &Bound<'_, PyAny>, target: &Bound<'_, PyAny>) -> bool {
    if value.is(target) {
        return true;
    }
    let items = if let Ok(dict) = value.cast::<PyDict>() { Some(dict.values().into_any()) } else { None };
    let iterable = match &items {
        Some(values) => values.clone(),
        None if value.is_instance_of::<pyo3::types::PyList>()
            || value.is_instance_of::<PyTuple>()
            || value.is_instance_of::<pyo3::types::PySet>() =>
        {
            value.clone()
        }
        None => return false,
    };
    iterable.try_iter().is_ok_and(|mut it| it.any(|v| v.is_ok_and(|v| v.is(target))))
}

/// A generator, coroutine or async generator suspended in `code` keeps running it until it
/// finishes: a frame cannot change code. Says so when there are any (a heap scan, done only
/// for generator and coroutine functions).
pub fn suspended_frames(py: Python<'_>, code: &Bound<'_, PyAny>, name: &str) -> PyResult<Option<String>> {
    const SUSPENDABLE: i64 = 0x20 | 0x80 | 0x200; // CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR
    if code.getattr(intern!(code.py(), "co_flags"))?.extract::<i64>()? & SUSPENDABLE == 0 {
        return Ok(None);
    }
    // 3.11+: the generator holds its frame and so the code; 3.9–3.10: a frame object does.
    let (mut generators, mut frames) = (0, 0);
    for obj in py.import("gc")?.getattr("get_referrers")?.call1((code,))?.try_iter()? {
        let obj = obj?;
        for (code_attr, frame_attr) in [("gi_code", "gi_frame"), ("cr_code", "cr_frame"), ("ag_code", "ag_frame")] {
            if obj.getattr(code_attr).is_ok_and(|c| c.is(code)) && obj.getattr(frame_attr).is_ok_and(|f| !f.is_none()) {
                generators += 1;
            }
        }
        if obj.hasattr(intern!(obj.py(), "f_lasti"))?
            && obj.getattr(intern!(obj.py(), "f_code")).is_ok_and(|c| c.is(code))
        {
            frames += 1;
        }
    }
    let count = if generators > 0 { generators } else { frames };
    Ok((count > 0).then(|| {
        format!("{name}: {count} suspended generator/coroutine object(s) keep running the old code until they finish; new calls run the new code")
    }))
}

/// Some thread is still running the top-level code of the module loaded from `filename` (a
/// script whose main loop is at module level, or a module still being imported).
/// Whether a thread is running `function` (its current `__code__`), `None` when the module
/// binds no function by that name.
pub fn function_running(py: Python<'_>, module: &Bound<'_, PyAny>, function: &str) -> PyResult<bool> {
    let Ok(code) = module.getattr(function).and_then(|f| f.getattr(intern!(py, "__code__"))) else {
        return Ok(false);
    };
    let frames = py.import("sys")?.getattr("_current_frames")?.call0()?;
    for frame in frames.call_method0("values")?.try_iter()? {
        let mut frame = frame?;
        while !frame.is_none() {
            if frame.getattr(intern!(py, "f_code"))?.is(&code) {
                return Ok(true);
            }
            frame = frame.getattr(intern!(py, "f_back"))?;
        }
    }
    Ok(false)
}

pub fn module_code_running(py: Python<'_>, filename: &str) -> PyResult<bool> {
    let frames = py.import("sys")?.getattr("_current_frames")?.call0()?;
    for frame in frames.call_method0("values")?.try_iter()? {
        let mut frame = frame?;
        while !frame.is_none() {
            let code = frame.getattr(intern!(frame.py(), "f_code"))?;
            if code.getattr(intern!(code.py(), "co_name"))?.extract::<String>()? == "<module>"
                && code.getattr(intern!(code.py(), "co_filename"))?.extract::<String>()? == filename
            {
                return Ok(true);
            }
            frame = frame.getattr(intern!(frame.py(), "f_back"))?;
        }
    }
    Ok(false)
}
