//! A module whose file became a package (`m.py` replaced by `m/__init__.py`, as upgrading an
//! installed distribution can do): its record moves to the new file and the live module becomes
//! that package, so the edit applies in place and its submodules import, as after a fresh start.

use std::path::{Path, PathBuf};

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::Engine;
use crate::pyerr::{describe_exception, lock};
use crate::report::Report;

/// A module file that moved: the module ran `old`, it now runs `new` (a package's `__init__.py`).
pub(super) struct Rehomed {
    pub(super) old: PathBuf,
    pub(super) new: PathBuf,
}

impl Engine {
    /// When `path` is `<dir>/<name>/__init__.py`, has no record, and `<dir>/<name>.py` has one
    /// but is gone from disk: moves that record to `path` and says so.
    pub(super) fn adopt_package_init(&self, path: &Path) -> Option<Rehomed> {
        if path.file_name()? != "__init__.py" {
            return None;
        }
        let package_dir = path.parent()?;
        let old = package_dir.parent()?.join(format!("{}.py", package_dir.file_name()?.to_str()?));
        if old.exists() {
            return None;
        }
        let mut files = lock(&self.files);
        if files.contains_key(path) {
            return None;
        }
        let record = files.remove(&old)?;
        files.insert(path.to_path_buf(), record);
        Some(Rehomed { old, new: path.to_path_buf() })
    }

    /// Under the GIL: every module loaded from `moved.old` becomes the package of `moved.new`
    /// (`__file__`, `__path__`, `__package__`, `__spec__`, `__loader__`, `__cached__`).
    pub(super) fn rehome_modules(&self, py: Python<'_>, moved: &Rehomed, report: &mut Report) {
        let result = (|| -> PyResult<Vec<String>> {
            let sys_modules = py.import("sys")?.getattr("modules")?.cast_into::<PyDict>()?;
            let mut names = Vec::new();
            for item in PyList::new(py, sys_modules.items())?.iter() {
                let (name, module) = item.extract::<(String, Bound<'_, PyAny>)>()?;
                let Ok(file) = module.getattr(intern!(py, "__file__")).and_then(|f| f.extract::<String>()) else {
                    continue;
                };
                if self.ran_from(&file, &moved.old) {
                    make_package(py, &module, &name, &moved.new)?;
                    names.push((name, file));
                }
            }
            // Functions keep their identity and take the edit in place only when their code
            // names the file the module runs, as it would after a fresh start.
            let new = moved.new.display().to_string();
            for (_, file) in &names {
                retarget_functions(py, file, &new)?;
            }
            Ok(names.into_iter().map(|(name, _)| name).collect())
        })();
        // The index and the canonical paths still name the old file.
        *lock(&self.module_index) = None;
        let (old, new) = (super::display_path(&moved.old), super::display_path(&moved.new));
        match result {
            Ok(names) => {
                for name in names {
                    let note = format!("{old} became the package {new}: module {name} now runs that file");
                    log::info!(target: "hotswap", "{note}");
                    report.notes.push(note);
                }
            }
            Err(err) => report.error(
                &new,
                0,
                format!("cannot make {old}'s module the package: {}", describe_exception(py, &err)),
            ),
        }
    }

    /// Whether a module's `__file__` names `old` (which no longer exists, so it is compared as
    /// it was cached when it did, or as an absolute path).
    fn ran_from(&self, file: &str, old: &Path) -> bool {
        if lock(&self.canonical).get(file).is_some_and(|p| p == old) {
            return true;
        }
        std::path::absolute(file).is_ok_and(|p| p == old)
    }
}

/// Every live function whose code was compiled from `old` gets the same code naming `new`
/// (nested code objects too). One pass over the heap: this happens once per moved module.
fn retarget_functions(py: Python<'_>, old: &str, new: &str) -> PyResult<()> {
    let function_type = py.import("types")?.getattr("FunctionType")?;
    for object in py.import("gc")?.call_method0("get_objects")?.try_iter()? {
        let object = object?;
        if !object.is_instance(&function_type)? {
            continue;
        }
        let code = object.getattr(intern!(py, "__code__"))?;
        if let Some(retargeted) = retarget_code(py, &code, old, new)? {
            object.setattr(intern!(py, "__code__"), retargeted)?;
        }
    }
    Ok(())
}

/// `code` with `co_filename` set to `new` in it and its nested code, or None when it does not
/// come from `old`.
fn retarget_code<'py>(
    py: Python<'py>,
    code: &Bound<'py, PyAny>,
    old: &str,
    new: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    if code.getattr(intern!(py, "co_filename"))?.extract::<String>()? != old {
        return Ok(None);
    }
    let code_type = code.get_type();
    let mut consts = Vec::new();
    for constant in code.getattr(intern!(py, "co_consts"))?.try_iter()? {
        let constant = constant?;
        let nested = if constant.is_instance(&code_type)? { retarget_code(py, &constant, old, new)? } else { None };
        consts.push(nested.unwrap_or(constant));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("co_filename", new)?;
    kwargs.set_item("co_consts", pyo3::types::PyTuple::new(py, consts)?)?;
    code.call_method("replace", (), Some(&kwargs)).map(Some)
}

fn make_package(py: Python<'_>, module: &Bound<'_, PyAny>, name: &str, init: &Path) -> PyResult<()> {
    let dir = init.parent().map(|d| d.display().to_string()).unwrap_or_default();
    let init = init.display().to_string();
    let util = py.import("importlib.util")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("submodule_search_locations", vec![dir.clone()])?;
    let spec = util.call_method("spec_from_file_location", (name, &init), Some(&kwargs))?;
    module.setattr(intern!(py, "__file__"), &init)?;
    module.setattr(intern!(py, "__path__"), PyList::new(py, [dir])?)?;
    module.setattr(intern!(py, "__package__"), name)?;
    module.setattr(intern!(py, "__loader__"), spec.getattr(intern!(py, "loader"))?)?;
    module.setattr(intern!(py, "__cached__"), spec.getattr(intern!(py, "cached"))?)?;
    module.setattr(intern!(py, "__spec__"), spec)?;
    Ok(())
}
