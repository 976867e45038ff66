//! What later stages need from the syntax tree beyond positions and hashes, collected while
//! ruff's tree is held: the names a statement or a definition's signature and decorators read
//! (see [`Statement::reads`](crate::tree::Statement::reads)), the names a `del` removes, and
//! the file's import statements.

use ruff_python_ast::statement_visitor::{self, StatementVisitor};
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, ExprContext, Stmt};

use crate::imports::{Import, ImportedNames};

/// Names in load context under the visited nodes.
#[derive(Default)]
pub(super) struct NameReads<'a> {
    names: Vec<&'a str>,
    /// `name.attr` reads (attribute loads on a plain name).
    attributes: Vec<(&'a str, &'a str)>,
}

impl<'a> NameReads<'a> {
    /// The names read by `stmt`, anywhere inside it, and the `name.attr` reads.
    pub(super) fn of_statement(stmt: &'a Stmt) -> (Vec<String>, Vec<String>) {
        let mut reads = NameReads::default();
        reads.visit_stmt(stmt);
        let mut attributes: Vec<String> = reads.attributes.iter().map(|(n, a)| format!("{n}.{a}")).collect();
        attributes.sort_unstable();
        attributes.dedup();
        (reads.finish(), attributes)
    }

    /// The names read by a function's parameters (defaults and annotations) and return
    /// annotation.
    pub(super) fn of_signature(parameters: &'a ast::Parameters, returns: Option<&'a Expr>) -> Vec<String> {
        let mut reads = NameReads::default();
        reads.visit_parameters(parameters);
        if let Some(returns) = returns {
            reads.visit_annotation(returns);
        }
        reads.finish()
    }

    /// The names read by decorator expressions.
    pub(super) fn of_decorators(decorators: &'a [ast::Decorator]) -> Vec<String> {
        let mut reads = NameReads::default();
        for decorator in decorators {
            reads.visit_decorator(decorator);
        }
        reads.finish()
    }

    /// The global names a function body reads: names loaded anywhere in it (nested functions
    /// included) that the function does not bind itself, unless it declares them `global`.
    pub(super) fn of_function_body(parameters: &'a ast::Parameters, body: &'a [Stmt]) -> Vec<String> {
        let mut reads = NameReads::default();
        reads.visit_body(body);
        let mut locals = LocalBinds::default();
        locals.names.extend(parameters.iter().map(|p| p.name().as_str()));
        locals.visit_body(body);
        let globals = locals.globals;
        let local: std::collections::HashSet<&str> =
            locals.names.into_iter().filter(|n| !globals.contains(n)).collect();
        reads.names.retain(|n| !local.contains(n));
        reads.finish()
    }

    fn finish(mut self) -> Vec<String> {
        self.names.sort_unstable();
        self.names.dedup();
        self.names.into_iter().map(str::to_string).collect()
    }
}

impl<'a> Visitor<'a> for NameReads<'a> {
    /// Left-nested chains (`a + b + c ...`, `a.b.c`, `f()()`, `x[0][1]`) are followed in a loop:
    /// CPython compiles chains thousands of operands long: recursing down them could exhaust
    /// the stack of the thread that parses.
    fn visit_expr(&mut self, expr: &'a Expr) {
        let mut expr = expr;
        loop {
            match expr {
                Expr::Name(name) => {
                    if name.ctx == ExprContext::Load {
                        self.names.push(name.id.as_str());
                    }
                    return;
                }
                Expr::BinOp(op) => {
                    self.visit_expr(&op.right);
                    expr = &op.left;
                }
                Expr::Attribute(attribute) => {
                    if let (Expr::Name(name), ExprContext::Load) = (&*attribute.value, attribute.ctx) {
                        self.attributes.push((name.id.as_str(), attribute.attr.as_str()));
                    }
                    expr = &attribute.value;
                }
                Expr::Subscript(subscript) => {
                    self.visit_expr(&subscript.slice);
                    expr = &subscript.value;
                }
                Expr::Call(call) => {
                    self.visit_arguments(&call.arguments);
                    expr = &call.func;
                }
                _ => return visitor::walk_expr(self, expr),
            }
        }
    }
}

/// Names a function body binds (stores, imports, nested `def`/`class`) and the names it
/// declares `global`. Bindings of nested functions count too: a function sharing a name with
/// a global it reads is rare, and missing a dependency only leaves a statement as it is.
#[derive(Default)]
struct LocalBinds<'a> {
    names: Vec<&'a str>,
    globals: Vec<&'a str>,
}

impl<'a> Visitor<'a> for LocalBinds<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Global(global) => self.globals.extend(global.names.iter().map(|n| n.as_str())),
            Stmt::FunctionDef(f) => self.names.push(f.name.as_str()),
            Stmt::ClassDef(c) => self.names.push(c.name.as_str()),
            Stmt::Import(import) => {
                for alias in &import.names {
                    let bound = alias
                        .asname
                        .as_ref()
                        .map_or_else(|| alias.name.as_str().split('.').next().unwrap_or_default(), |a| a.as_str());
                    self.names.push(bound);
                }
            }
            Stmt::ImportFrom(from) => {
                self.names.extend(from.names.iter().map(|a| a.asname.as_ref().unwrap_or(&a.name).as_str()));
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(name) = expr {
            if name.ctx == ExprContext::Store {
                self.names.push(name.id.as_str());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

/// The name at the root of what a statement changes in place (see
/// [`Statement::mutates`](crate::tree::Statement::mutates)): item and attribute assignments
/// and deletions, and a method called on it as a statement.
pub(super) fn mutated_name(stmt: &Stmt) -> Option<&str> {
    let target = match stmt {
        Stmt::Assign(assign) if assign.targets.len() == 1 => &assign.targets[0],
        Stmt::AugAssign(assign) => &assign.target,
        Stmt::AnnAssign(assign) if assign.value.is_some() => &assign.target,
        Stmt::Delete(delete) if delete.targets.len() == 1 => &delete.targets[0],
        Stmt::Expr(expr) => match &*expr.value {
            Expr::Call(call) => &call.func,
            _ => return None,
        },
        _ => return None,
    };
    let mut expr: &Expr = match target {
        Expr::Subscript(subscript) => &subscript.value,
        Expr::Attribute(attribute) => &attribute.value,
        _ => return None,
    };
    loop {
        match expr {
            Expr::Name(name) => return Some(name.id.as_str()),
            Expr::Subscript(subscript) => expr = &subscript.value,
            Expr::Attribute(attribute) => expr = &attribute.value,
            _ => return None,
        }
    }
}

/// The plain names a `del` statement removes, also inside tuples and lists, in order.
pub(super) fn deleted_names(stmt: &Stmt) -> Vec<String> {
    let Stmt::Delete(delete) = stmt else { return Vec::new() };
    let mut names = Vec::new();
    let mut stack: Vec<&Expr> = delete.targets.iter().rev().collect();
    while let Some(target) = stack.pop() {
        match target {
            Expr::Name(name) => names.push(name.id.to_string()),
            Expr::Tuple(tuple) => stack.extend(tuple.elts.iter().rev()),
            Expr::List(list) => stack.extend(list.elts.iter().rev()),
            _ => {}
        }
    }
    names
}

/// Every `import` and `from ... import` statement in `body`, at any depth, in source order.
pub(super) fn imports_of(body: &[Stmt]) -> Vec<Import> {
    let mut collector = ImportCollector::default();
    collector.visit_body(body);
    collector.imports
}

#[derive(Default)]
struct ImportCollector {
    imports: Vec<Import>,
}

impl<'a> StatementVisitor<'a> for ImportCollector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(import) => {
                for alias in &import.names {
                    let module = alias.name.to_string();
                    self.imports.push(Import { level: 0, module, names: ImportedNames::Module });
                }
            }
            Stmt::ImportFrom(from) => {
                let names = if from.names.iter().any(|alias| alias.name.as_str() == "*") {
                    ImportedNames::Star
                } else {
                    let pairs = from.names.iter().map(|alias| {
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                        (alias.name.to_string(), bound.to_string())
                    });
                    ImportedNames::Names(pairs.collect())
                };
                let module = from.module.as_ref().map_or_else(String::new, |m| m.to_string());
                self.imports.push(Import { level: from.level, module, names });
            }
            _ => statement_visitor::walk_stmt(self, stmt),
        }
    }
}

/// The names the module's own scope binds by `import` and `from ... import` statements (inside
/// its blocks too, not in function or class bodies): CPython compiles `name.attr(...)` on such a
/// name differently, so compile units declare them (see [`crate::tree::DefinitionTree::imported`]).
pub(super) fn module_import_binds(body: &[Stmt]) -> Vec<String> {
    let mut collector = ModuleImportBinds::default();
    collector.visit_body(body);
    collector.names.sort();
    collector.names.dedup();
    collector.names
}

#[derive(Default)]
struct ModuleImportBinds {
    names: Vec<String>,
}

impl<'a> StatementVisitor<'a> for ModuleImportBinds {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::Import(import) => {
                for alias in &import.names {
                    let bound = alias.asname.as_ref().map(|a| a.as_str()).unwrap_or_else(|| {
                        let name = alias.name.as_str();
                        name.split_once('.').map_or(name, |(first, _)| first)
                    });
                    self.names.push(bound.to_string());
                }
            }
            Stmt::ImportFrom(from) => {
                for alias in from.names.iter().filter(|alias| alias.name.as_str() != "*") {
                    self.names.push(alias.asname.as_ref().unwrap_or(&alias.name).to_string());
                }
            }
            _ => statement_visitor::walk_stmt(self, stmt),
        }
    }
}

#[cfg(test)]
mod tests;
