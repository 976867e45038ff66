//! The names a statement binds in its scope (see [`Statement::binds`](crate::tree::Statement::binds)).

use std::collections::HashSet;

use ruff_python_ast::{Expr, Pattern};

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
