//! The definition tree: what a Python source file defines, with exact positions.
//!
//! This is the shared vocabulary of the pipeline. `parse` builds it, `diff` compares two of them
//! and `plan` turns the comparison into patch steps. It holds no Python objects, so every stage
//! that works on it runs without the GIL and is testable without an interpreter.

use std::ops::Range;

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
}

/// One syntax problem, positioned as Python would report it (1-based line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxIssue {
    pub line: u32,
    pub column: u32,
    pub message: String,
}
