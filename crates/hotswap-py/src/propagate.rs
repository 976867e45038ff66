//! Module state across modules: a batch is applied in import order, and names other modules
//! took from a changed module (`from m import CONST`, `from m import *`) follow its new values.

use std::cell::OnceCell;
use std::collections::HashMap;

use hotswap_core::imports::{candidate_modules, dependency_waves, resolve, Import, ImportedNames};
use hotswap_core::parse::parse_imports;
use hotswap_core::tree::DefinitionTree;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::apply::FilePatch;
use crate::report::Report;

/// A loaded module's name and whether it is a package (for relative imports).
pub fn module_identity(module: &Bound<'_, PyAny>) -> (String, bool) {
    let name = module.getattr(intern!(module.py(), "__name__")).and_then(|n| n.extract::<String>()).unwrap_or_default();
    let is_package = has_path(module);
    (name, is_package)
}

/// `hasattr(module, "__path__")`, read from the module's `__dict__` when that is all `hasattr`
/// would consult (a plain module without a module-level `__getattr__`): `hasattr` raises and
/// drops an AttributeError for every module that is not a package.
fn has_path(module: &Bound<'_, PyAny>) -> bool {
    let py = module.py();
    if module.is_exact_instance_of::<PyModule>() {
        if let Ok(dict) = module.getattr(intern!(py, "__dict__")).and_then(|d| Ok(d.cast_into::<PyDict>()?)) {
            match dict.contains(intern!(py, "__path__")) {
                Ok(true) => return true,
                Ok(false) if !dict.contains(intern!(py, "__getattr__")).unwrap_or(true) => return false,
                _ => {}
            }
        }
    }
    module.hasattr(intern!(py, "__path__")).unwrap_or(false)
}

/// The waves to apply `patches` in: a module after the modules of the batch it imports, which
/// are applied (statements run, names propagated) before it is prepared, as a fresh start
/// imports them first: a file may use what another file of the same batch adds, even through
/// `from m import *`. `trees[i]` is patch `i`'s new tree.
pub fn batch_waves(patches: &[FilePatch<'_>], trees: &[&DefinitionTree]) -> Vec<Vec<usize>> {
    let names: Vec<(String, bool)> = patches.iter().map(|p| module_identity(&p.module)).collect();
    let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, (n, _))| (n.as_str(), i)).collect();
    let deps: Vec<Vec<usize>> = trees
        .iter()
        .zip(&names)
        .map(|(tree, (name, is_package))| {
            let mut deps = Vec::new();
            for import in &tree.imports {
                for candidate in candidate_modules(name, *is_package, import) {
                    if let Some(&j) = index.get(candidate.as_str()) {
                        deps.push(j);
                    }
                }
            }
            deps
        })
        .collect();
    dependency_waves(&deps)
}

/// Each module's namespace before the batch, to tell which bindings it replaced.
pub fn snapshot<'py>(patches: &[FilePatch<'py>]) -> Vec<Option<Bound<'py, PyDict>>> {
    patches
        .iter()
        .map(|p| p.module.getattr(intern!(p.module.py(), "__dict__")).ok()?.cast_into::<PyDict>().ok()?.copy().ok())
        .collect()
}

/// Another module that may hold names from a changed one: its module object, source text,
/// and its imports: set from its parsed tree when the engine holds one, else parsed from the
/// text on first need (a module not edited since it was imported), once per batch.
pub struct Importer<'py> {
    pub module: Bound<'py, PyAny>,
    /// The module's file (canonical) and its `__file__` as Python spells it.
    pub path: std::path::PathBuf,
    pub filename: String,
    pub text: std::sync::Arc<str>,
    pub imports: OnceCell<Vec<Import>>,
    /// Its `__name__` and whether it is a package, read once per batch on first need.
    pub identity: OnceCell<(String, bool)>,
}

/// Names a batch re-bound in an importer: (index in the importers, the names).
pub type Rebound = Vec<(usize, Vec<String>)>;

impl Importer<'_> {
    pub fn identity(&self) -> &(String, bool) {
        self.identity.get_or_init(|| module_identity(&self.module))
    }

    /// Whether any of its imports can name a module whose last part is `short`. With its imports
    /// known (from its parsed tree) they are what is checked; else its text is searched, so the
    /// imports of a module that cannot be one are never parsed (every import of `m` spells `m`,
    /// or is relative).
    fn may_import(&self, short: &str) -> bool {
        self.imports.get().is_some() || self.text.contains(short) || self.text.contains("from .")
    }

    /// Whether `import` refers to the module `name`: an absolute import by its spelling, a
    /// relative one resolved from this module's name (read only then).
    fn refers_to(&self, import: &Import, name: &str) -> bool {
        if import.level == 0 {
            return import.module == name;
        }
        let (importer_name, is_package) = self.identity();
        resolve(importer_name, *is_package, import).as_deref() == Some(name)
    }

    fn imports(&self) -> &[Import] {
        self.imports.get_or_init(|| {
            let version = crate::interpreter::grammar();
            parse_imports(&self.text, version)
        })
    }
}

/// After the batch: for each changed module, the modules that imported names from it get the
/// new values where they still hold the old ones (an importer that rebound the name keeps its
/// own value), and star importers get its new public names.
pub fn refresh_importers<'a, 'py: 'a>(
    patches: &[FilePatch<'py>],
    before: &[Option<Bound<'py, PyDict>>],
    importers: impl FnOnce() -> &'a [Importer<'py>],
    report: &mut Report,
) -> Rebound {
    let mut rebound: Rebound = Vec::new();
    let mut changes = Vec::new();
    for (patch, old) in patches.iter().zip(before) {
        let Some(old) = old else { continue };
        let Ok(new) = patch
            .module
            .getattr(intern!(patch.module.py(), "__dict__"))
            .and_then(|d| d.cast_into::<PyDict>().map_err(PyErr::from))
        else {
            continue;
        };
        let changed = changed_names(old, &new);
        if !changed.is_empty() {
            changes.push((patch, changed));
        }
    }
    if changes.is_empty() {
        return rebound;
    }
    let importers = importers();
    for (patch, changed) in changes {
        let name = &patch.name;
        let short = name.rsplit('.').next().unwrap_or(name);
        for (index, importer) in importers.iter().enumerate() {
            if importer.module.is(&patch.module) || !importer.may_import(short) {
                continue;
            }
            for import in importer.imports() {
                if !importer.refers_to(import, name) {
                    continue;
                }
                let (importer_name, _) = importer.identity();
                if let Some(read) = attributes_read(import, &patch.module, &changed, &importer.module) {
                    rebound.push((index, read));
                    continue;
                }
                let result = rebind(import, &patch.module, &changed, &importer.module);
                match result {
                    Ok(names) => {
                        for bound in &names {
                            log::log!(
                                target: "hotswap",
                                crate::report::item_level(),
                                "updated {importer_name}.{bound} (imported from {name})"
                            );
                            report.updated.push(format!("{importer_name}.{bound}"));
                        }
                        if !names.is_empty() {
                            rebound.push((index, names));
                        }
                    }
                    Err(err) => {
                        log::debug!(target: "hotswap", "{importer_name}: names from {name} not refreshed: {err}")
                    }
                }
            }
        }
    }
    rebound
}

/// A name whose binding in the module changed: its old value (None if it is new) and its new
/// value (None if it was deleted).
type ChangedName<'py> = (String, Option<Bound<'py, PyAny>>, Option<Bound<'py, PyAny>>);

fn changed_names<'py>(old: &Bound<'py, PyDict>, new: &Bound<'py, PyDict>) -> Vec<ChangedName<'py>> {
    let mut out = Vec::new();
    // Keys are looked up as the key objects themselves (their hash is cached) and copied out
    // only when changed: a module of thousands of names, most unchanged.
    for (key, value) in new.iter() {
        match old.get_item(&key).ok().flatten() {
            Some(before) if before.is(&value) => {}
            before => {
                let Ok(key) = key.extract::<String>() else { continue };
                out.push((key, before, Some(value)));
            }
        }
    }
    for (key, value) in old.iter() {
        if !new.contains(&key).unwrap_or(true) {
            let Ok(key) = key.extract::<String>() else { continue };
            out.push((key, Some(value), None));
        }
    }
    // The import machinery's own names are the module's, never another module's; other
    // dunders (`__version__`, `__all__`) are values like any other.
    const MACHINERY: [&str; 8] =
        ["__name__", "__file__", "__path__", "__package__", "__loader__", "__spec__", "__cached__", "__builtins__"];
    out.retain(|(k, _, _)| !MACHINERY.contains(&k.as_str()));
    out
}

/// For `import m` (bound to the batch's module as `m`): the changed names as `m.NAME`, the way
/// the importer's statements read them (`BANNER = "v" + m.__version__`). Nothing is re-bound:
/// the module object stays the same.
fn attributes_read<'py>(
    import: &Import,
    source: &Bound<'py, PyAny>,
    changed: &[ChangedName<'py>],
    importer: &Bound<'py, PyAny>,
) -> Option<Vec<String>> {
    let ImportedNames::Module = import.names else { return None };
    let bound = import.module.as_str();
    let holds_module = importer.getattr(bound).is_ok_and(|m| m.is(source));
    let names: Vec<String> = changed
        .iter()
        .filter(|(_, old, new)| old.is_some() && new.is_some())
        .map(|(name, _, _)| format!("{bound}.{name}"))
        .collect();
    (holds_module && !bound.contains('.') && !names.is_empty()).then_some(names)
}

fn rebind<'py>(
    import: &Import,
    source: &Bound<'py, PyAny>,
    changed: &[ChangedName<'py>],
    importer: &Bound<'py, PyAny>,
) -> PyResult<Vec<String>> {
    let ns = importer.getattr(intern!(importer.py(), "__dict__"))?.cast_into::<PyDict>()?;
    let holds_old = |alias: &str, old: &Option<Bound<'py, PyAny>>| -> PyResult<bool> {
        Ok(match (ns.get_item(alias)?, old) {
            (Some(current), Some(old)) => current.is(old),
            (None, None) => true,
            _ => false,
        })
    };
    let mut bound = Vec::new();
    match &import.names {
        ImportedNames::Module => {}
        ImportedNames::Names(pairs) => {
            for (name, alias) in pairs {
                let Some((_, old, new)) = changed.iter().find(|(k, _, _)| k == name) else { continue };
                if let Some(new) = new {
                    if old.is_some() && holds_old(alias, old)? {
                        ns.set_item(alias, new)?;
                        bound.push(alias.clone());
                    }
                }
            }
        }
        ImportedNames::Star => {
            let public = public_names(source)?;
            for (name, old, new) in changed {
                let exported = match &public {
                    Some(all) => all.iter().any(|n| n == name),
                    None => !name.starts_with('_'),
                };
                if !holds_old(name, old)? {
                    continue;
                }
                match new {
                    Some(new) if exported => {
                        ns.set_item(name, new)?;
                        bound.push(name.clone());
                    }
                    None if old.is_some() => {
                        ns.del_item(name)?;
                        bound.push(name.clone());
                    }
                    _ => {}
                }
            }
            // Names newly listed in `__all__` whose values did not change.
            if let Some(all) = &public {
                for name in all {
                    if ns.contains(name)? {
                        continue;
                    }
                    if let Ok(value) = source.getattr(name.as_str()) {
                        ns.set_item(name, value)?;
                        bound.push(name.clone());
                    }
                }
            }
        }
    }
    Ok(bound)
}

/// The module's `__all__`, if it defines one.
fn public_names(module: &Bound<'_, PyAny>) -> PyResult<Option<Vec<String>>> {
    match module.getattr(intern!(module.py(), "__all__")) {
        Ok(all) => {
            let list = PyList::new(module.py(), all.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
            Ok(Some(list.iter().filter_map(|n| n.extract::<String>().ok()).collect()))
        }
        Err(_) => Ok(None),
    }
}

/// A module that put a copy of itself in `sys.modules` (`newmod.__dict__.update(oldmod.__dict__)`,
/// as `pygments.lexers` does) runs its functions in the first namespace, which the batch did not
/// touch: each name the batch changed in the module is set there too, where that namespace still
/// holds the old value, so its functions see what a fresh start gives them.
pub fn sync_function_globals<'py>(patches: &[FilePatch<'py>], before: &[Option<Bound<'py, PyDict>>]) {
    for (patch, old) in patches.iter().zip(before) {
        let Some(old) = old else { continue };
        let py = patch.module.py();
        let Ok(new) =
            patch.module.getattr(intern!(py, "__dict__")).and_then(|d| d.cast_into::<PyDict>().map_err(PyErr::from))
        else {
            continue;
        };
        let Some(globals) = function_globals(&new, &patch.filename) else { continue };
        for (name, was, now) in changed_names(old, &new) {
            let holds_old = match (globals.get_item(&name).ok().flatten(), &was) {
                (Some(current), Some(was)) => current.is(was),
                (None, None) => true,
                _ => false,
            };
            let result = match (holds_old, now) {
                (true, Some(now)) => globals.set_item(&name, now),
                (true, None) if was.is_some() => globals.del_item(&name),
                _ => Ok(()),
            };
            if let Err(err) = result {
                log::debug!(target: "hotswap", "{}.{name} not set in its functions' globals: {err}", patch.name);
            }
        }
    }
}

/// The globals of the module's own functions (compiled from `filename`) when they are not the
/// module's `__dict__`.
fn function_globals<'py>(namespace: &Bound<'py, PyDict>, filename: &str) -> Option<Bound<'py, PyDict>> {
    let py = namespace.py();
    for value in namespace.values().iter() {
        let Ok(code) = value.getattr(intern!(py, "__code__")) else { continue };
        let from_file = code.getattr(intern!(py, "co_filename")).is_ok_and(|f| f.eq(filename).unwrap_or(false));
        if !from_file {
            continue;
        }
        let globals = value.getattr(intern!(py, "__globals__")).ok()?.cast_into::<PyDict>().ok()?;
        return (!globals.is(namespace)).then_some(globals);
    }
    None
}
