//! The loops `hotswap.live_loop` can run, found while ruff's tree is held (see
//! [`LiveLoopSite`]), and the source a live loop compiles its new body from.

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Number, Stmt};
use ruff_text_size::{Ranged, TextRange};

use super::{Builder, MAX_BLOCK_DEPTH};
use crate::tree::{LiveLoopKind, LiveLoopSite};

/// Name of the variable a runner iterates over: a one-item tuple holding the loop's item.
pub const RUNNER_ITEMS: &str = "__hotswap_item__";
/// Set to `False` by the runner's `else` clause: still `True` after a run means `break`.
pub const RUNNER_BROKE: &str = "__hotswap_broke__";

impl Builder<'_> {
    /// Every live-loop candidate under `body`, by enclosing scope, in source order.
    pub(super) fn live_loops(&self, body: &[Stmt]) -> Vec<LiveLoopSite> {
        let mut found = Vec::new();
        self.loops_in(body, &mut Vec::new(), 0, &mut found);
        found
    }

    fn loops_in(&self, body: &[Stmt], scope: &mut Vec<String>, depth: usize, out: &mut Vec<LiveLoopSite>) {
        if depth > MAX_BLOCK_DEPTH {
            return;
        }
        for stmt in body {
            let inner: Vec<&[Stmt]> = match stmt {
                Stmt::FunctionDef(f) => {
                    scope.push(f.name.to_string());
                    self.loops_in(&f.body, scope, depth + 1, out);
                    scope.pop();
                    continue;
                }
                Stmt::ClassDef(c) => {
                    scope.push(c.name.to_string());
                    self.loops_in(&c.body, scope, depth + 1, out);
                    scope.pop();
                    continue;
                }
                _ => super::sub_blocks(stmt),
            };
            if let Some(site) = self.live_loop_site(stmt, scope) {
                out.push(site);
            }
            for block in inner {
                self.loops_in(block, scope, depth + 1, out);
            }
        }
    }

    fn live_loop_site(&self, stmt: &Stmt, scope: &[String]) -> Option<LiveLoopSite> {
        let (kind, header, target, body, orelse) = match stmt {
            Stmt::For(f) if !f.is_async && is_live_loop_call(&f.iter) => {
                (LiveLoopKind::ForLiveLoop, f.iter.range(), Some(f.target.range()), &f.body, &f.orelse)
            }
            Stmt::While(w) if is_true(&w.test) => (LiveLoopKind::WhileTrue, w.test.range(), None, &w.body, &w.orelse),
            _ => return None,
        };
        let (first, last) = (body.first()?, body.last()?);
        let line = self.line(stmt.range().start());
        let body_line = self.line(first.range().start());
        let body_start =
            if body_line == line { first.range().start().to_usize() } else { self.start_with_indent(first.range()) };
        let problem = match orelse.first() {
            Some(_) => Some((line, "has an else clause")),
            None => {
                let mut finder = OnlyInFunction::default();
                finder.visit_body(body);
                finder.found.map(|(range, what)| (self.line(range.start()), what))
            }
        };
        let loop_start = self.start_with_indent(stmt.range());
        Some(LiveLoopSite {
            scope: scope.to_vec(),
            kind,
            span: self.span(stmt.range()),
            header_end: self.span(header).end,
            target: target.map(|t| self.byte_range(t)),
            body: body_start + self.bom..last.range().end().to_usize() + self.bom,
            body_line,
            problem,
            text_hash: self.hash(self.text.get(loop_start..stmt.range().end().to_usize()).unwrap_or_default()),
        })
    }
}

/// `live_loop(...)` or `anything.live_loop(...)`.
fn is_live_loop_call(expr: &Expr) -> bool {
    let Expr::Call(call) = expr else { return false };
    match &*call.func {
        Expr::Name(name) => name.id.as_str() == "live_loop",
        Expr::Attribute(attribute) => attribute.attr.as_str() == "live_loop",
        _ => false,
    }
}

/// `True` or `1`, as Python's `while True:` / `while 1:`.
fn is_true(expr: &Expr) -> bool {
    match expr {
        Expr::BooleanLiteral(b) => b.value,
        Expr::NumberLiteral(n) => matches!(&n.value, Number::Int(i) if i.as_u64() == Some(1)),
        _ => false,
    }
}

/// The first statement or expression of a loop body that only works inside its function.
#[derive(Default)]
struct OnlyInFunction {
    found: Option<(TextRange, &'static str)>,
}

impl OnlyInFunction {
    fn note(&mut self, range: TextRange, what: &'static str) {
        if self.found.is_none_or(|(earlier, _)| range.start() < earlier.start()) {
            self.found = Some((range, what));
        }
    }
}

impl<'a> Visitor<'a> for OnlyInFunction {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Return(r) => self.note(r.range(), "uses return"),
            Stmt::Nonlocal(n) => self.note(n.range(), "uses nonlocal"),
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(_) => return,
            Expr::Yield(y) => self.note(y.range(), "uses yield"),
            Expr::YieldFrom(y) => self.note(y.range(), "uses yield from"),
            Expr::Await(a) => self.note(a.range(), "uses await"),
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// The source a live loop compiles its body from: the loop rewritten as
/// `for TARGET in __hotswap_item__: BODY else: __hotswap_broke__ = False`, each body line at
/// its line in `source` (blank lines before it), so tracebacks show the file's own lines.
/// A `while True:` body binds nothing: `for [] in` with an item `()`.
pub fn runner_source(source: &str, site: &LiveLoopSite) -> String {
    let slice = |range: &std::ops::Range<usize>| source.get(range.clone()).unwrap_or_default();
    let target = site.target.as_ref().map_or_else(|| "[]".to_string(), |t| slice(t).replace(['\r', '\n'], " "));
    let body = slice(&site.body);
    let lines_before = site.span.start.saturating_sub(1) as usize;
    let mut out = String::with_capacity(lines_before + target.len() + body.len() + 80);
    out.extend(std::iter::repeat_n('\n', lines_before));
    out.push_str("for ");
    out.push_str(&target);
    out.push_str(" in ");
    out.push_str(RUNNER_ITEMS);
    out.push(':');
    if site.body_line == site.span.start {
        out.push(' ');
    } else {
        out.extend(std::iter::repeat_n('\n', site.body_line.saturating_sub(site.span.start) as usize));
    }
    out.push_str(body);
    out.push_str("\nelse:\n    ");
    out.push_str(RUNNER_BROKE);
    out.push_str(" = False\n");
    out
}

#[cfg(test)]
mod tests;
