//! The names a statement binds in its scope (see [`Statement::binds`](crate::tree::Statement::binds)).

use std::collections::HashSet;

use ruff_python_ast::{self as ast, Expr, Pattern, Stmt};
use ruff_text_size::Ranged;

use super::Builder;

/// Bound names, deduplicated, in first-seen order.
#[derive(Default)]
pub(super) struct Binds {
    pub(super) names: Vec<String>,
    /// Only used once `names` is long enough for a linear scan to hurt.
    seen: HashSet<String>,
}

impl Binds {
    pub(super) fn add(&mut self, name: &str) {
        const LINEAR: usize = 16;
        if name.is_empty() {
            return;
        }
        if self.names.len() < LINEAR {
            if self.names.iter().any(|n| n == name) {
                return;
            }
        } else {
            if self.seen.is_empty() {
                self.seen.extend(self.names.iter().cloned());
            }
            if !self.seen.insert(name.to_string()) {
                return;
            }
        }
        self.names.push(name.to_string());
    }

    /// Names in an assignment target (names, tuples, lists, starred), without recursion.
    pub(super) fn target(&mut self, target: &Expr) {
        let mut stack = vec![target];
        while let Some(expr) = stack.pop() {
            match expr {
                Expr::Name(n) => self.add(n.id.as_str()),
                Expr::Tuple(t) => stack.extend(t.elts.iter().rev()),
                Expr::List(l) => stack.extend(l.elts.iter().rev()),
                Expr::Starred(s) => stack.push(&s.value),
                _ => {}
            }
        }
    }

    /// A walrus at the top of a statement-level expression.
    pub(super) fn walrus(&mut self, expr: &Expr) {
        if let Expr::Named(n) = expr {
            self.target(&n.target);
        }
    }

    /// Capture names of a `case` pattern, in source order, without recursion.
    pub(super) fn pattern(&mut self, pattern: &Pattern) {
        enum Work<'p> {
            Pattern(&'p Pattern),
            Name(&'p str),
        }
        let mut stack = vec![Work::Pattern(pattern)];
        while let Some(work) = stack.pop() {
            let p = match work {
                Work::Name(name) => {
                    self.add(name);
                    continue;
                }
                Work::Pattern(p) => p,
            };
            match p {
                Pattern::MatchAs(m) => {
                    if let Some(name) = &m.name {
                        stack.push(Work::Name(name.as_str()));
                    }
                    if let Some(inner) = &m.pattern {
                        stack.push(Work::Pattern(inner));
                    }
                }
                Pattern::MatchStar(m) => {
                    if let Some(name) = &m.name {
                        self.add(name.as_str());
                    }
                }
                Pattern::MatchSequence(m) => stack.extend(m.patterns.iter().rev().map(Work::Pattern)),
                Pattern::MatchOr(m) => stack.extend(m.patterns.iter().rev().map(Work::Pattern)),
                Pattern::MatchMapping(m) => {
                    if let Some(rest) = &m.rest {
                        stack.push(Work::Name(rest.as_str()));
                    }
                    stack.extend(m.patterns.iter().rev().map(Work::Pattern));
                }
                Pattern::MatchClass(m) => {
                    stack.extend(m.arguments.keywords.iter().rev().map(|k| Work::Pattern(&k.pattern)));
                    stack.extend(m.arguments.patterns.iter().rev().map(Work::Pattern));
                }
                Pattern::MatchValue(_) | Pattern::MatchSingleton(_) => {}
            }
        }
    }
}

impl Builder<'_> {
    /// Names bound at this scope by `stmts`, in source order, recursing into compound statements
    /// (not into `def`/`class` bodies).
    pub(super) fn collect_binds(&mut self, stmts: &[Stmt], binds: &mut Binds, depth: usize) {
        for stmt in stmts {
            if !self.enter(depth, stmt.range()) {
                return;
            }
            let inner = depth + 1;
            match stmt {
                Stmt::FunctionDef(f) => binds.add(f.name.as_str()),
                Stmt::ClassDef(c) => binds.add(c.name.as_str()),
                Stmt::Assign(a) => {
                    binds.walrus(&a.value);
                    for target in &a.targets {
                        binds.target(target);
                    }
                }
                Stmt::AugAssign(a) => binds.target(&a.target),
                Stmt::AnnAssign(a) if a.value.is_some() => binds.target(&a.target),
                Stmt::TypeAlias(t) => binds.target(&t.name),
                Stmt::Import(_) | Stmt::ImportFrom(_) => import_binds(stmt, binds),
                Stmt::For(f) => {
                    binds.target(&f.target);
                    self.collect_binds(&f.body, binds, inner);
                    self.collect_binds(&f.orelse, binds, inner);
                }
                Stmt::While(w) => {
                    binds.walrus(&w.test);
                    self.collect_binds(&w.body, binds, inner);
                    self.collect_binds(&w.orelse, binds, inner);
                }
                Stmt::If(i) => {
                    binds.walrus(&i.test);
                    self.collect_binds(&i.body, binds, inner);
                    for clause in &i.elif_else_clauses {
                        if let Some(test) = &clause.test {
                            binds.walrus(test);
                        }
                        self.collect_binds(&clause.body, binds, inner);
                    }
                }
                Stmt::With(w) => {
                    for item in &w.items {
                        if let Some(vars) = &item.optional_vars {
                            binds.target(vars);
                        }
                    }
                    self.collect_binds(&w.body, binds, inner);
                }
                Stmt::Try(t) => {
                    self.collect_binds(&t.body, binds, inner);
                    for ast::ExceptHandler::ExceptHandler(h) in &t.handlers {
                        if let Some(name) = &h.name {
                            binds.add(name.as_str());
                        }
                        self.collect_binds(&h.body, binds, inner);
                    }
                    self.collect_binds(&t.orelse, binds, inner);
                    self.collect_binds(&t.finalbody, binds, inner);
                }
                Stmt::Match(m) => {
                    for case in &m.cases {
                        binds.pattern(&case.pattern);
                        self.collect_binds(&case.body, binds, inner);
                    }
                }
                Stmt::Expr(e) => binds.walrus(&e.value),
                _ => {}
            }
        }
    }
}

/// Names an `import` or `from ... import` statement binds (`import a.b` binds `a`; a star
/// import binds nothing known).
fn import_binds(stmt: &Stmt, binds: &mut Binds) {
    let aliases = match stmt {
        Stmt::Import(i) => &i.names,
        Stmt::ImportFrom(i) => &i.names,
        _ => return,
    };
    let from = matches!(stmt, Stmt::ImportFrom(_));
    for alias in aliases {
        match &alias.asname {
            Some(asname) => binds.add(asname.as_str()),
            None if from && alias.name.as_str() == "*" => {}
            None if from => binds.add(alias.name.as_str()),
            None => binds.add(alias.name.as_str().split('.').next().unwrap_or_default()),
        }
    }
}

/// The statement blocks directly inside a compound statement other than `def`/`class`, in order.
pub(super) fn sub_blocks(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(s) => {
            let mut blocks = vec![&s.body[..]];
            blocks.extend(s.elif_else_clauses.iter().map(|c| &c.body[..]));
            blocks
        }
        Stmt::For(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::While(s) => vec![&s.body[..], &s.orelse[..]],
        Stmt::With(s) => vec![&s.body[..]],
        Stmt::Try(s) => {
            let mut blocks = vec![&s.body[..]];
            blocks.extend(s.handlers.iter().map(|ast::ExceptHandler::ExceptHandler(h)| &h.body[..]));
            blocks.push(&s.orelse[..]);
            blocks.push(&s.finalbody[..]);
            blocks
        }
        Stmt::Match(s) => s.cases.iter().map(|c| &c.body[..]).collect(),
        _ => Vec::new(),
    }
}

/// Target names of an assignment whose targets are all plain names, in order.
pub(super) fn assigned_names(stmt: &Stmt) -> Option<Vec<&str>> {
    match stmt {
        Stmt::Assign(a) => a.targets.iter().map(|t| t.as_name_expr().map(|n| n.id.as_str())).collect(),
        Stmt::AnnAssign(a) => a.target.as_name_expr().map(|n| vec![n.id.as_str()]),
        _ => None,
    }
}
