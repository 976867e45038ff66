//! The import statements of a module: which modules it depends on (to apply a batch of files
//! in dependency order) and which names it took from them (to refresh `from m import NAME`
//! bindings and star imports when `m` changes).
//!
//! The statements are collected by [`crate::parse`] into [`crate::tree::DefinitionTree::imports`]
//! while it holds the syntax tree; this module works on those values. Imports inside function
//! bodies are kept too; they only add harmless ordering edges.

/// One `import` or `from ... import` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    /// Leading dots of a relative import (0 for absolute).
    pub level: u32,
    /// The module as written after the dots (may be empty: `from . import x`).
    pub module: String,
    pub names: ImportedNames,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImportedNames {
    /// `import a.b` / `import a.b as c`: binds a module, not names from it.
    Module,
    /// `from m import a, b as c`: `(name in m, name bound here)` pairs.
    Names(Vec<(String, String)>),
    /// `from m import *`.
    Star,
}

/// The absolute name of the module an import refers to, from the module `importer` (whose
/// `__name__` is given; `is_package` when it is a package's `__init__`).
pub fn resolve(importer: &str, is_package: bool, import: &Import) -> Option<String> {
    if import.level == 0 {
        return Some(import.module.clone());
    }
    let mut parts: Vec<&str> = importer.split('.').collect();
    if !is_package {
        parts.pop();
    }
    for _ in 1..import.level {
        parts.pop()?;
    }
    if parts.is_empty() {
        return None;
    }
    let mut name = parts.join(".");
    if !import.module.is_empty() {
        name.push('.');
        name.push_str(&import.module);
    }
    Some(name)
}

/// The modules `import` may load: the module itself and, for `from pkg import x`, the
/// submodule `pkg.x` (which it is when `x` is a module).
pub fn candidate_modules(importer: &str, is_package: bool, import: &Import) -> Vec<String> {
    let Some(base) = resolve(importer, is_package, import) else { return Vec::new() };
    let mut out = Vec::new();
    if let ImportedNames::Names(names) = &import.names {
        for (name, _) in names {
            out.push(if base.is_empty() { name.clone() } else { format!("{base}.{name}") });
        }
    }
    if !base.is_empty() {
        out.push(base);
    }
    out
}

/// Indexes `0..n` ordered so that each comes after those it depends on (`deps[i]` are indexes
/// `i` depends on); otherwise the given order is kept. Cycles are broken at the first index of
/// the cycle in the given order.
pub fn dependency_order(deps: &[Vec<usize>]) -> Vec<usize> {
    fn visit(i: usize, deps: &[Vec<usize>], state: &mut [u8], out: &mut Vec<usize>) {
        if state[i] != 0 {
            return; // done, or on the stack (a cycle)
        }
        state[i] = 1;
        for &d in &deps[i] {
            if d < deps.len() && d != i {
                visit(d, deps, state, out);
            }
        }
        state[i] = 2;
        out.push(i);
    }
    let mut state = vec![0u8; deps.len()];
    let mut out = Vec::with_capacity(deps.len());
    for i in 0..deps.len() {
        visit(i, deps, &mut state, &mut out);
    }
    out
}

/// [`dependency_order`] cut into waves: a module goes in a later wave than every module it
/// depends on (except around a cycle), so each wave can be applied completely, statements run
/// and names propagated, before the modules that import from it are prepared.
pub fn dependency_waves(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let order = dependency_order(deps);
    let mut level: Vec<Option<usize>> = vec![None; deps.len()];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for &i in &order {
        let wave =
            deps[i].iter().filter(|&&d| d != i).filter_map(|&d| level.get(d).copied().flatten()).map(|l| l + 1).max();
        let wave = wave.unwrap_or(0);
        level[i] = Some(wave);
        if waves.len() <= wave {
            waves.resize_with(wave + 1, Vec::new);
        }
        waves[wave].push(i);
    }
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_definitions;

    fn parse_imports(text: &str) -> Vec<Import> {
        parse_definitions(text, (3, 12)).expect("parses").imports
    }

    fn names(pairs: &[(&str, &str)]) -> ImportedNames {
        ImportedNames::Names(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    #[test]
    fn reads_every_form() {
        let text = "import os, a.b as c\nfrom x import (\n    y,\n    z as w,  # comment\n)\nfrom .pkg import *\nfrom .. import sib\nif True: from q import r; import s\n";
        let got = parse_imports(text);
        assert_eq!(
            got,
            vec![
                Import { level: 0, module: "os".into(), names: ImportedNames::Module },
                Import { level: 0, module: "a.b".into(), names: ImportedNames::Module },
                Import { level: 0, module: "x".into(), names: names(&[("y", "y"), ("z", "w")]) },
                Import { level: 1, module: "pkg".into(), names: ImportedNames::Star },
                Import { level: 2, module: "".into(), names: names(&[("sib", "sib")]) },
                // The text scanner this replaced missed an import after `if True:`.
                Import { level: 0, module: "q".into(), names: names(&[("r", "r")]) },
                Import { level: 0, module: "s".into(), names: ImportedNames::Module },
            ]
        );
    }

    #[test]
    fn ignores_strings_comments_and_continuations() {
        let text =
            "x = 'import nope'\ns = \"\"\"\nfrom fake import thing\n\"\"\"\n# import hidden\nfrom a \\\n    import b\n";
        assert_eq!(parse_imports(text), vec![Import { level: 0, module: "a".into(), names: names(&[("b", "b")]) }]);
    }

    #[test]
    fn resolves_relative_imports() {
        let import = |level, module: &str| Import { level, module: module.into(), names: ImportedNames::Module };
        assert_eq!(resolve("pkg.mod", false, &import(1, "sub")), Some("pkg.sub".into()));
        assert_eq!(resolve("pkg", true, &import(1, "sub")), Some("pkg.sub".into()));
        assert_eq!(resolve("pkg.inner.mod", false, &import(2, "")), Some("pkg".into()));
        assert_eq!(resolve("mod", false, &import(1, "x")), None);
        assert_eq!(resolve("any", false, &import(0, "abs.name")), Some("abs.name".into()));
        let from = Import { level: 1, module: "".into(), names: names(&[("sub", "sub")]) };
        assert_eq!(candidate_modules("pkg", true, &from), vec!["pkg.sub".to_string(), "pkg".to_string()]);
    }

    #[test]
    fn orders_dependencies_first_and_survives_cycles() {
        // 0 imports 1, 1 imports 2: 2, 1, 0.
        assert_eq!(dependency_order(&[vec![1], vec![2], vec![]]), vec![2, 1, 0]);
        // Independent files keep their order.
        assert_eq!(dependency_order(&[vec![], vec![], vec![]]), vec![0, 1, 2]);
        // A cycle still yields every index once.
        let mut got = dependency_order(&[vec![1], vec![0], vec![0]]);
        got.sort();
        assert_eq!(got, vec![0, 1, 2]);
    }

    #[test]
    fn waves_put_importers_after_what_they_import() {
        // 0 imports 1, 1 imports 2, 3 imports nothing.
        assert_eq!(dependency_waves(&[vec![1], vec![2], vec![], vec![]]), vec![vec![2, 3], vec![1], vec![0]]);
        assert_eq!(dependency_waves(&[vec![], vec![]]), vec![vec![0, 1]]);
        assert_eq!(dependency_waves(&[]), Vec::<Vec<usize>>::new());
        // A cycle still gives every module exactly one wave.
        let waves = dependency_waves(&[vec![1], vec![0], vec![0]]);
        let mut all: Vec<usize> = waves.concat();
        all.sort();
        assert_eq!(all, vec![0, 1, 2]);
    }
}
