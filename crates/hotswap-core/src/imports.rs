//! The import statements of a module, read from its text: which modules it depends on (to
//! apply a batch of files in dependency order) and which names it took from them (to refresh
//! `from m import NAME` bindings and star imports when `m` changes).
//!
//! This is a scan of logical lines, not a parse: it is used on files the engine already holds,
//! for every file of a batch, and only needs `import` and `from ... import` statements.
//! Imports inside function bodies are found too; they only add harmless ordering edges.

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

/// Every import statement in `text`, in order.
pub fn parse_imports(text: &str) -> Vec<Import> {
    let mut out = Vec::new();
    for line in logical_lines(text) {
        for statement in line.split(';') {
            parse_statement(statement.trim(), &mut out);
        }
    }
    out
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

fn parse_statement(statement: &str, out: &mut Vec<Import>) {
    if let Some(rest) = statement.strip_prefix("import ") {
        for part in rest.split(',') {
            let module = part.split_whitespace().next().unwrap_or_default();
            if is_dotted_name(module) {
                out.push(Import { level: 0, module: module.to_string(), names: ImportedNames::Module });
            }
        }
    } else if let Some(rest) = statement.strip_prefix("from ") {
        let Some((source, names)) = rest.split_once(" import") else { return };
        let source = source.trim();
        let level = source.chars().take_while(|c| *c == '.').count() as u32;
        let module = source[level as usize..].trim().to_string();
        if !(module.is_empty() || is_dotted_name(&module)) || (level == 0 && module.is_empty()) {
            return;
        }
        let names = names.trim().trim_start_matches('(').trim_end_matches(')').trim();
        let names = if names == "*" {
            ImportedNames::Star
        } else {
            let mut pairs = Vec::new();
            for part in names.split(',') {
                let words: Vec<&str> = part.split_whitespace().collect();
                match words.as_slice() {
                    [name] if is_identifier(name) => pairs.push((name.to_string(), name.to_string())),
                    [name, "as", alias] if is_identifier(name) && is_identifier(alias) => {
                        pairs.push((name.to_string(), alias.to_string()))
                    }
                    _ => {}
                }
            }
            ImportedNames::Names(pairs)
        };
        out.push(Import { level, module, names });
    }
}

/// Lines joined across brackets and backslash continuations, comments removed, strings
/// skipped (their text is replaced by nothing, so `"import x"` in a string is not an import).
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                while chars.peek().is_some_and(|&n| n != '\n') {
                    chars.next();
                }
            }
            '"' | '\'' => skip_string(c, &mut chars),
            '\\' if chars.peek() == Some(&'\n') => {
                chars.next();
                current.push(' ');
            }
            '(' | '[' | '{' => {
                depth += 1;
                current.push(c);
            }
            ')' | ']' | '}' => {
                depth -= 1;
                current.push(c);
            }
            '\n' if depth > 0 => current.push(' '),
            '\n' | '\r' => {
                if !current.trim().is_empty() {
                    lines.push(std::mem::take(&mut current).trim().to_string());
                }
                current.clear();
                depth = 0.max(depth);
            }
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        lines.push(current.trim().to_string());
    }
    lines
}

fn skip_string(quote: char, chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    let triple = {
        let mut look = chars.clone();
        look.next() == Some(quote) && look.next() == Some(quote)
    };
    if triple {
        chars.next();
        chars.next();
    } else if chars.peek() == Some(&quote) {
        chars.next(); // empty string
        return;
    }
    let mut run = 0;
    while let Some(c) = chars.next() {
        if c == '\\' {
            chars.next();
            run = 0;
            continue;
        }
        if c == quote {
            run += 1;
            if !triple || run == 3 {
                return;
            }
        } else {
            run = 0;
            if c == '\n' && !triple {
                return;
            }
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_identifier)
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

#[cfg(test)]
mod tests {
    use super::*;

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
                Import { level: 0, module: "s".into(), names: ImportedNames::Module },
            ]
        );
    }

    #[test]
    fn ignores_strings_comments_and_continuations() {
        let text = "x = 'import nope'\ns = \"\"\"\nfrom fake import thing\n\"\"\"\n# import hidden\nfrom a \\\n    import b\n";
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
}
