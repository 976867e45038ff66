//! The definition tree: what a Python source file defines, with exact positions.
//!
//! This is the shared vocabulary of the pipeline. `parse` builds it, `diff` compares two of them
//! and `plan` turns the comparison into patch steps. It holds no Python objects, so every stage
//! that works on it runs without the GIL and is testable without an interpreter.

use std::ops::Range;

use crate::imports::Import;

/// Lines `start..=end`, 1-based, inclusive, as Python reports them (`co_firstlineno`, tracebacks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct LineSpan {
    pub start: u32,
    pub end: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DefKind {
    Function,
    AsyncFunction,
    Class,
}

impl DefKind {
    pub fn is_class(self) -> bool {
        self == DefKind::Class
    }
}

/// A `def`, `async def` or `class` statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub kind: DefKind,
    pub name: String,
    /// Python's `__qualname__` spelling: `C.m`, `f.<locals>.g`, `Outer.Inner.m`.
    pub qualname: String,
    /// From the first decorator's line (Python's `co_firstlineno`) to the last line of the body.
    pub span: LineSpan,
    /// Line of the `def` / `class` keyword itself.
    pub def_line: u32,
    /// Byte range of the whole statement in the source, decorators included, from the first
    /// decorator's `@` (or the `def`/`async`/`class` keyword) to the end of the body, without the
    /// trailing newline.
    pub byte_range: Range<usize>,
    /// Leading whitespace of the line at `span.start`, exactly as written (spaces or tabs).
    pub indent: String,
    /// Hash of the decorator expressions' source text, in order (0 when there are none).
    pub decorators_hash: u64,
    /// Functions: hash of the text of the parameters, return annotation, type parameters and
    /// `async`-ness. Classes: hash of the text of the bases, keywords and type parameters.
    pub header_hash: u64,
    /// Hash of the docstring's source text, if the body starts with one.
    pub docstring_hash: Option<u64>,
    /// Byte range of the header the definition is called or built with: a function's parameters
    /// (with their parentheses) through its return annotation; a class's parenthesized bases and
    /// keywords (an empty range just after the name when it has none).
    pub header: Range<usize>,
    /// Byte range of each decorator's expression (after the `@`), outermost first: the planner
    /// hands these texts to the applier, which re-applies generating decorators.
    pub decorators: Vec<Range<usize>>,
    /// Byte range of the docstring statement (the whole string literal), if the body starts with one.
    pub docstring: Option<Range<usize>>,
    /// Names read where the definition is evaluated and not when it is called: defaults and
    /// annotations of the parameters and the return annotation (functions only), as in
    /// [`Statement::reads`].
    pub signature_reads: Vec<String>,
    /// Names read by the decorator expressions, as in [`Statement::reads`].
    pub decorator_reads: Vec<String>,
    /// Module-level functions: the global names the body reads (loaded and not bound in the
    /// function, or declared `global`), sorted. A statement calling the function at import
    /// (`_init()`) computed its result from them.
    pub global_reads: Vec<String>,
    /// Decorated with `@overload` (`typing.overload`): a stub that a later definition of the
    /// same name replaces, so the differ matches it only with other stubs.
    pub overload: bool,
    /// Hash of the body's source text without the docstring. Depends on the text only, never on
    /// position, so a definition that only moved keeps its hash.
    pub body_hash: u64,
    /// Classes: every item of the class body, in order (methods, nested classes, class-level
    /// statements; the docstring is not an item). Functions: the definitions nested in the body
    /// (at any depth of control flow, not inside nested definitions' own bodies), as `Item::Def`.
    pub children: Vec<Item>,
}

/// What kind of statement a [`Statement`] is, where that changes how it is patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatementKind {
    /// Any other statement.
    Plain,
    /// `if __name__ == "__main__":` (either quote style or operand order): runs the program, so a
    /// reload never re-runs it.
    MainGuard,
    /// `from __future__ import ...`: changes compile flags; never re-run.
    FutureImport,
    /// A `for`, `while`, `with` or `try` statement (and the `async` forms): a block a script
    /// may still be running at module level (its main loop).
    Block,
    /// A `del` statement: names it removes are in [`Statement::deletes`].
    Delete,
    /// `name = lambda ...`: one plain name bound to a lambda, which keeps its identity when the
    /// statement runs again (the applier swaps the code), so it changes like a function.
    LambdaAssignment,
}

impl StatementKind {
    /// Whether running the statement again is how an edit of it (or of what it reads) is
    /// applied: all but the main guard and `from __future__` imports.
    pub fn runs_again(self) -> bool {
        !matches!(self, StatementKind::MainGuard | StatementKind::FutureImport)
    }
}

/// A statement that is not a `def` or `class`, at module level or in a class body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// Matching key between versions of a file. Assignments whose targets are all plain names
    /// (`x = ...`, `a = b = ...`, `x: int = ...`) use `"=" + names joined by ","` so a changed
    /// value is one change; every other statement uses `"#" + its source text`. When a key occurs
    /// more than once in a scope, the n-th repetition (n >= 2) gets the suffix `"@" + n`.
    pub key: String,
    pub kind: StatementKind,
    pub span: LineSpan,
    pub byte_range: Range<usize>,
    pub indent: String,
    /// Hash of the statement's source text.
    pub text_hash: u64,
    /// Names this statement binds in its scope: assignment and augmented-assignment targets that
    /// are plain names (also inside tuples/lists/starred), import names (`import a.b` binds `a`,
    /// `import a as b` binds `b`, `from m import x as y` binds `y`; a star import binds nothing
    /// known), `for` targets, `with ... as` names, and names bound by `def`/`class`/assignments
    /// nested in compound statements (`if`, `try`, `for`, `while`, `with`, `match`) at this scope.
    pub binds: Vec<String>,
    /// Names the statement reads: every name in load context anywhere inside it, as Python's
    /// `ast` reports them (`ast.Name` with `ast.Load`), including those inside f-strings and
    /// t-strings (replacement fields and nested format specs), comprehensions, lambdas, nested
    /// blocks, and nested `def`/`class` statements (decorators, defaults, annotations, bases and
    /// bodies). Attribute names, keyword-argument names and string annotations are not names.
    /// Deduplicated and sorted.
    pub reads: Vec<String>,
    /// Attributes the statement reads from a plain name, as `name.attr` (`docutils.__version__`):
    /// a value another module's edit changed, read through the module. Deduplicated and sorted.
    pub attribute_reads: Vec<String>,
    /// The name whose value a statement binding nothing changes in place: `TABLE` in
    /// `TABLE["b"] = 2`, `TABLE.x += 1`, `del TABLE["a"]` and `TABLE.update(c=3)`. When `TABLE`
    /// is re-built, the statement runs again (a fresh start runs it on the new object).
    pub mutates: Option<String>,
    /// For a `del` statement, the plain names it deletes (also inside tuples and lists), in
    /// order; empty for other statements. A deleted name is not a read.
    pub deletes: Vec<String>,
    /// How reports name the statement when it binds nothing: its first line, trimmed, cut at
    /// 40 characters (with `…`).
    pub label: String,
}

/// The 1-based column (in characters, a tab counting as one) of the text after `indent`.
pub fn column_after(indent: &str) -> u32 {
    u32::try_from(indent.chars().count()).map_or(u32::MAX, |n| n.saturating_add(1))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Def(Definition),
    Stmt(Statement),
}

impl Item {
    pub fn span(&self) -> LineSpan {
        match self {
            Item::Def(d) => d.span,
            Item::Stmt(s) => s.span,
        }
    }
    pub fn byte_range(&self) -> Range<usize> {
        match self {
            Item::Def(d) => d.byte_range.clone(),
            Item::Stmt(s) => s.byte_range.clone(),
        }
    }
    /// 1-based column (in characters) where the item starts: after its indentation.
    pub fn column(&self) -> u32 {
        match self {
            Item::Def(d) => column_after(&d.indent),
            Item::Stmt(s) => column_after(&s.indent),
        }
    }
    pub fn as_def(&self) -> Option<&Definition> {
        match self {
            Item::Def(d) => Some(d),
            Item::Stmt(_) => None,
        }
    }
    pub fn as_stmt(&self) -> Option<&Statement> {
        match self {
            Item::Stmt(s) => Some(s),
            Item::Def(_) => None,
        }
    }
}

/// Everything one source file defines at module level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DefinitionTree {
    pub items: Vec<Item>,
    /// Number of lines in the source.
    pub line_count: u32,
    /// Hash of the module docstring's source text, if the module starts with one.
    pub docstring_hash: Option<u64>,
    /// Byte range and first line of the module docstring's string literal.
    pub docstring: Option<(Range<usize>, u32)>,
    /// Every `import` and `from ... import` statement of the file, at any depth (function and
    /// class bodies, blocks), in source order: kept with the tree so a batch never scans the
    /// text for them again.
    pub imports: Vec<Import>,
    /// The names bound by the module scope's own import statements (in its blocks too, not in
    /// function or class bodies), sorted: CPython 3.11+ compiles `name.attr(...)` as a plain
    /// attribute load when `name` is imported, so compile units declare them too.
    pub imported: Vec<String>,
    /// The loops a live loop can run (see [`LiveLoopSite`]), in source order.
    pub live_loops: Vec<LiveLoopSite>,
    /// The top-level items holding import statements (at any depth), in order: what an
    /// incremental re-parse needs to splice `imports` and `imported` without the syntax tree.
    pub import_sites: Vec<ImportSite>,
    /// Some hashes were altered after the parse (the applier marks items whose step failed, so
    /// that the next save retries them): such a tree is no base for an incremental re-parse.
    pub marked: bool,
}

/// The imports of one top-level item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSite {
    /// Index of the item in [`DefinitionTree::items`].
    pub item: usize,
    /// How many entries of [`DefinitionTree::imports`] it holds.
    pub count: usize,
    /// The names its imports bind at module scope (see [`DefinitionTree::imported`]), sorted.
    pub binds: Vec<String>,
}

/// What makes a loop live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LiveLoopKind {
    /// `for TARGET in live_loop(...)` (also `hotswap.live_loop(...)`).
    ForLiveLoop,
    /// `while True:` (or `while 1:`): live when the CLI made the main script's loops live.
    WhileTrue,
}

/// A loop that can run as a live loop: `hotswap.live_loop` finds its loop here once, then
/// compares `text_hash` at each applied edit, so only an edit of the loop itself gives it a
/// new body (and no Python code parses the file again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveLoopSite {
    /// Names of the enclosing `def`/`class` statements, outermost first (empty at module level).
    pub scope: Vec<String>,
    pub kind: LiveLoopKind,
    /// From the `for`/`while` keyword to the end of the body (an `else` clause included).
    pub span: LineSpan,
    /// Last line of the header (the iterable or the test), where the frame stands when it
    /// calls `live_loop(...)`.
    pub header_end: u32,
    /// Byte range of a `for` loop's target.
    pub target: Option<Range<usize>>,
    /// Byte range of the body: from the start of its first statement's line (its indentation
    /// included), or from the statement itself when it sits on the header's line.
    pub body: Range<usize>,
    /// Line of the body's first statement.
    pub body_line: u32,
    /// Why the body cannot run outside its function (an `else` clause, `return`, `yield`,
    /// `await`, `nonlocal` outside nested definitions), with the line: the first in the source.
    pub problem: Option<(u32, &'static str)>,
    /// Hash of the loop statement's own text (indentation included; position excluded).
    pub text_hash: u64,
}

/// One syntax problem, positioned as Python would report it (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxIssue {
    pub line: u32,
    pub column: u32,
    pub message: String,
}
