//! Parser adapter: Python source → [`DefinitionTree`], using ruff's parser.
//!
//! - Positions: lines are 1-based; byte ranges are offsets into the `source` string exactly as
//!   given (a leading BOM is skipped for parsing but counts in byte offsets, not in columns).
//!   Spans end on the line of the statement's last token (no trailing comments or blank lines).
//! - Hashes are a deterministic, seedless 64-bit hash of source text slices: any text change
//!   inside the slice (indentation and comments included) changes them, moving the text does
//!   not. Line endings are normalized (`\r\n` and `\r` hash as `\n`, and `#` statement keys
//!   spell them `\n`), so converting a file between LF and CRLF changes nothing.
//! - `body_hash` also covers how many lines below the `def`/`class` keyword the body starts, and
//!   how many non-decorator lines (blank, comment) sit between the first decorator and the
//!   keyword: lines added there move the body's code lines without changing any hashed text, and
//!   must still show up as a (body) change. Adding or removing a decorator line is a
//!   `decorators` change only.
//! - Statement keys are unique within a scope: a key already used in that scope gets the next
//!   free `"@" + n` suffix (n >= 2), so even a statement whose text ends in `@2` cannot collide.
//! - `binds`: an annotation without a value (`x: int`) binds nothing, as in Python; a walrus
//!   binds when it is the whole statement-level expression (`(y := f())`, `if (m := ...):`);
//!   `match` capture patterns and `type X = ...` bind their names.
//! - Syntax errors and syntax newer than the target version are reported, never panicked on;
//!   blocks nested deeper than CPython allows are reported as "too many levels of indentation".

use std::cell::Cell;

use ruff_python_ast::{self as ast, Stmt};
use ruff_python_parser::{parse_unchecked, Mode, ParseOptions, UnsupportedSyntaxError};
use ruff_source_file::LineIndex;
use ruff_text_size::{Ranged, TextRange, TextSize};

use self::binds::{assigned_names, sub_blocks, Binds};
pub(crate) use self::hash::FastMap;
use self::hash::{hash_str, normalize_newlines, StableHasher};
use self::reads::NameReads;
use self::statements::{label, statement_kind, KeyAllocator};
use crate::tree::{DefKind, Definition, DefinitionTree, ImportSite, Item, LineSpan, Statement, SyntaxIssue};

/// The Python version whose grammar the running interpreter accepts, as (major, minor).
pub type PythonVersion = (u8, u8);

/// Deeper nesting of blocks than this is refused (CPython itself stops at 100 indentation levels
/// with "too many levels of indentation"); it also bounds this module's recursion.
const MAX_BLOCK_DEPTH: usize = 100;

/// Parses `source` into its definition tree. Syntax errors, and syntax that `target` does not
/// support yet (e.g. `type X = int` on 3.11), are returned as issues; no tree is produced then.
pub fn parse_definitions(source: &str, target: PythonVersion) -> Result<DefinitionTree, Vec<SyntaxIssue>> {
    let bom = if source.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let text = source.get(bom..).unwrap_or_default();
    if u32::try_from(text.len()).is_err() {
        return Err(vec![SyntaxIssue { line: 1, column: 1, message: "source is too large (4 GiB or more)".into() }]);
    }
    let version = ruff_python_ast::PythonVersion { major: target.0, minor: target.1 };
    let options = ParseOptions::from(Mode::Module).with_target_version(version);
    let parsed = parse_unchecked(text, options);
    let mut builder = Builder::new(text, bom);

    for error in parsed.errors() {
        builder.issue(error.location.start(), error.error.to_string());
    }
    for error in parsed.unsupported_syntax_errors() {
        builder.issue(error.range.start(), unsupported_message(error, target));
    }
    if !builder.issues.is_empty() {
        return Err(builder.into_sorted_issues());
    }
    let Some(module) = parsed.try_into_module() else {
        return Err(vec![SyntaxIssue { line: 1, column: 1, message: "source did not parse as a module".into() }]);
    };
    let body = &module.syntax().body;

    let docstring = docstring_of(body);
    let docstring_hash = docstring.map(|d| builder.hash(builder.slice(d.range())));
    let items = builder.scope_items(body, docstring.is_some(), Parent::Module, 0);
    if !builder.issues.is_empty() {
        return Err(builder.into_sorted_issues());
    }
    let line_count = builder.line_count();
    let docstring = docstring.map(|d| (builder.byte_range(d.range()), builder.span(d.range()).start));
    let (imports, import_sites) = import_sites_of(&body[usize::from(docstring.is_some())..]);
    let imported = imported_names(&import_sites);
    let live_loops = builder.live_loops(body);
    free_elsewhere(module, text.len());
    Ok(DefinitionTree {
        items,
        line_count,
        docstring_hash,
        docstring,
        imports,
        imported,
        live_loops,
        import_sites,
        marked: false,
    })
}

/// The imports of top-level statements `body` (the module docstring left out, so that indexes
/// are those of [`DefinitionTree::items`]), and which statement holds which.
fn import_sites_of(body: &[Stmt]) -> (Vec<crate::imports::Import>, Vec<ImportSite>) {
    let mut imports = Vec::new();
    let mut sites = Vec::new();
    for (item, stmt) in body.iter().enumerate() {
        let found = reads::imports_of(std::slice::from_ref(stmt));
        if found.is_empty() {
            continue;
        }
        let binds = reads::module_import_binds(std::slice::from_ref(stmt));
        sites.push(ImportSite { item, count: found.len(), binds });
        imports.extend(found);
    }
    (imports, sites)
}

/// [`DefinitionTree::imported`] from the import sites.
fn imported_names(sites: &[ImportSite]) -> Vec<String> {
    let mut names: Vec<String> = sites.iter().flat_map(|s| s.binds.iter().cloned()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The import statements of `source` alone, for a module whose tree is not held: cheaper than
/// [`parse_definitions`] (no positions or hashes). A file with syntax errors gives the imports
/// of what the parser recovered.
pub fn parse_imports(source: &str, target: PythonVersion) -> Vec<crate::imports::Import> {
    let text = source.strip_prefix('\u{feff}').unwrap_or(source);
    if u32::try_from(text.len()).is_err() {
        return Vec::new();
    }
    let version = ruff_python_ast::PythonVersion { major: target.0, minor: target.1 };
    let parsed = parse_unchecked(text, ParseOptions::from(Mode::Module).with_target_version(version));
    parsed.try_into_module().map(|module| reads::imports_of(&module.syntax().body)).unwrap_or_default()
}

/// Freeing the syntax tree of a large file is a sizeable part of a reload (about 15 % of it
/// for 50,000 lines) while the edit waits to apply: large trees are freed on a thread of their
/// own.
fn free_elsewhere<T: Send + 'static>(value: T, source_len: usize) {
    if source_len < 64 * 1024 {
        return;
    }
    // If the thread cannot start, the closure (and the tree) is dropped here.
    let _ = std::thread::Builder::new().name("hotswap-free".into()).spawn(move || drop(value));
}

/// Rewrites ruff's "Cannot use X on Python 3.11 (syntax was added in Python 3.12)" as
/// "Cannot use X: requires Python 3.12 (running 3.11)".
fn unsupported_message(error: &UnsupportedSyntaxError, target: PythonVersion) -> String {
    let display = error.to_string();
    let running = format!("{}.{}", target.0, target.1);
    let version_after = |marker: &str| {
        display.rfind(marker).map(|at| {
            let rest = &display[at + marker.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
            rest[..end].trim_end_matches('.').to_string()
        })
    };
    let (added, version) = match (version_after("was added in Python "), version_after("was removed in Python ")) {
        (Some(v), _) => (true, v),
        (None, Some(v)) => (false, v),
        (None, None) => return format!("{display} (running {running})"),
    };
    let mut description = display.clone();
    if let Some(open) = description.rfind(" (") {
        description.truncate(open);
    }
    let description = description.replacen(&format!(" on Python {}", error.target_version), "", 1);
    if added {
        format!("{description}: requires Python {version} (running {running})")
    } else {
        format!("{description}: not allowed since Python {version} (running {running})")
    }
}

/// The docstring statement of a body, if it starts with a string-literal expression statement.
fn docstring_of(body: &[Stmt]) -> Option<&Stmt> {
    match body.first() {
        Some(stmt @ Stmt::Expr(ast::StmtExpr { value, .. })) if value.is_string_literal_expr() => Some(stmt),
        _ => None,
    }
}

/// Where a definition is, for its `__qualname__`.
#[derive(Clone, Copy)]
enum Parent<'q> {
    Module,
    /// A class, by qualname.
    Class(&'q str),
    /// A function, by qualname.
    Function(&'q str),
}

impl Parent<'_> {
    fn qualname(self, name: &str) -> String {
        let (owner, separator) = match self {
            Parent::Module => ("", ""),
            Parent::Class(q) => (q, "."),
            Parent::Function(q) => (q, ".<locals>."),
        };
        let mut qualname = String::with_capacity(owner.len() + separator.len() + name.len());
        qualname.push_str(owner);
        qualname.push_str(separator);
        qualname.push_str(name);
        qualname
    }
}

struct Builder<'s> {
    /// The source without its BOM; every `TextRange` from ruff is relative to it.
    text: &'s str,
    bom: usize,
    index: LineIndex,
    issues: Vec<(TextSize, SyntaxIssue)>,
    /// Zero-based lines of the last two lookups: lookups mostly move forward by a few lines
    /// from one of them (a definition's start and its end alternate).
    line_hints: [Cell<usize>; 2],
    /// Whether the text contains any `\r` (only then line endings need normalizing).
    has_cr: bool,
}

impl<'s> Builder<'s> {
    fn new(text: &'s str, bom: usize) -> Self {
        Builder {
            text,
            bom,
            index: LineIndex::from_source_text(text),
            issues: Vec::new(),
            line_hints: [Cell::new(0), Cell::new(0)],
            has_cr: text.contains('\r'),
        }
    }

    fn issue(&mut self, offset: TextSize, message: String) {
        let (line, column) = self.line_column(offset);
        self.issues.push((offset, SyntaxIssue { line, column, message }));
    }

    fn into_sorted_issues(mut self) -> Vec<SyntaxIssue> {
        self.issues.sort_by_key(|(offset, _)| *offset);
        self.issues.into_iter().map(|(_, issue)| issue).collect()
    }

    /// Zero-based line of `offset`: a galloping search forward from the nearest earlier of the
    /// last two lookups, so a walk in source order costs O(log distance) per lookup.
    fn line0(&self, offset: TextSize) -> usize {
        let starts = self.index.line_starts();
        let [recent, older] = &self.line_hints;
        let at_or_before = |line: usize| starts.get(line).is_some_and(|&s| s <= offset);
        let from = [recent.get(), older.get()].into_iter().filter(|&h| at_or_before(h)).max().unwrap_or(0);
        let (mut low, mut step) = (from, 1);
        let high = loop {
            let probe = low.saturating_add(step);
            if probe >= starts.len() || !at_or_before(probe) {
                break probe.min(starts.len());
            }
            low = probe;
            step = step.saturating_mul(2);
        };
        let line = starts
            .get(low..high)
            .map_or(low, |window| low + window.partition_point(|&s| s <= offset).saturating_sub(1));
        if line != recent.get() {
            older.set(recent.get());
            recent.set(line);
        }
        line
    }

    fn line(&self, offset: TextSize) -> u32 {
        u32::try_from(self.line0(offset) + 1).unwrap_or(u32::MAX)
    }

    fn line_start(&self, offset: TextSize) -> usize {
        let starts = self.index.line_starts();
        starts.get(self.line0(offset)).map_or(0, |s| s.to_usize())
    }

    /// 1-based line and 1-based column in characters (the BOM is not counted).
    fn line_column(&self, offset: TextSize) -> (u32, u32) {
        let offset = offset.to_usize().min(self.text.len());
        let size = TextSize::try_from(offset).unwrap_or_default();
        let start = self.line_start(size).min(offset);
        let chars = match self.text.get(start..offset) {
            Some(prefix) => prefix.chars().count(),
            None => offset - start,
        };
        (self.line(size), u32::try_from(chars + 1).unwrap_or(u32::MAX))
    }

    /// `text` with normalized line endings (see [`normalize_newlines`]).
    fn normalized<'t>(&self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if self.has_cr {
            normalize_newlines(text)
        } else {
            std::borrow::Cow::Borrowed(text)
        }
    }

    /// Hash of source text, line endings normalized so that LF ↔ CRLF changes no hash.
    fn hash(&self, text: &str) -> u64 {
        hash_str(&self.normalized(text))
    }

    fn slice(&self, range: TextRange) -> &'s str {
        self.text.get(range.start().to_usize()..range.end().to_usize()).unwrap_or_default()
    }

    fn byte_range(&self, range: TextRange) -> std::ops::Range<usize> {
        range.start().to_usize() + self.bom..range.end().to_usize() + self.bom
    }

    fn span(&self, range: TextRange) -> LineSpan {
        let last = if range.end() > range.start() { range.end() - TextSize::from(1) } else { range.start() };
        LineSpan { start: self.line(range.start()), end: self.line(last) }
    }

    /// Leading whitespace of the line containing `offset`.
    fn indent(&self, offset: TextSize) -> String {
        let start = self.line_start(offset);
        let line = self.text.get(start..).unwrap_or_default();
        let end = line.find(|c: char| !matches!(c, ' ' | '\t' | '\x0c')).unwrap_or(line.len());
        line[..end].to_string()
    }

    /// Start of `stmt`, moved back to its line start when only indentation precedes it, so that
    /// the body's indentation is part of the hashed text.
    fn start_with_indent(&self, stmt: TextRange) -> usize {
        let start = stmt.start().to_usize();
        let line_start = self.line_start(stmt.start()).min(start);
        match self.text.get(line_start..start) {
            Some(prefix) if prefix.chars().all(|c| matches!(c, ' ' | '\t' | '\x0c')) => line_start,
            _ => start,
        }
    }

    /// Offset of the first token at or after `from`, skipping whitespace, comments and line
    /// continuations.
    fn next_token(&self, from: TextSize) -> TextSize {
        let bytes = self.text.as_bytes();
        let mut i = from.to_usize();
        while let Some(&b) = bytes.get(i) {
            match b {
                b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' => i += 1,
                b'\\' => i += 1,
                b'#' => {
                    while bytes.get(i).is_some_and(|&c| c != b'\n' && c != b'\r') {
                        i += 1;
                    }
                }
                _ => break,
            }
        }
        TextSize::try_from(i).unwrap_or(from)
    }

    fn line_count(&self) -> u32 {
        if self.text.is_empty() {
            return 0;
        }
        let starts = self.index.line_starts().len();
        let trailing = self.text.ends_with('\n') || self.text.ends_with('\r');
        u32::try_from(starts - usize::from(trailing)).unwrap_or(u32::MAX)
    }

    /// Items of a module or class body: definitions and statements, in order.
    fn scope_items(&mut self, body: &[Stmt], has_docstring: bool, parent: Parent, depth: usize) -> Vec<Item> {
        let mut keys = KeyAllocator::default();
        let mut items = Vec::with_capacity(body.len());
        for stmt in body.iter().skip(usize::from(has_docstring)) {
            match stmt {
                Stmt::FunctionDef(f) => items.push(Item::Def(self.function(f, parent, depth))),
                Stmt::ClassDef(c) => items.push(Item::Def(self.class(c, parent, depth))),
                _ => {
                    let statement = self.statement(stmt, &mut keys, depth);
                    items.push(Item::Stmt(statement));
                }
            }
        }
        items
    }

    fn statement(&mut self, stmt: &Stmt, keys: &mut KeyAllocator, depth: usize) -> Statement {
        let range = stmt.range();
        let text = self.slice(range);
        let base = match assigned_names(stmt) {
            Some(names) => {
                let mut key = String::with_capacity(names.iter().map(|n| n.len() + 1).sum());
                key.push('=');
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        key.push(',');
                    }
                    key.push_str(name);
                }
                key
            }
            None => {
                let text = self.normalized(text);
                let mut key = String::with_capacity(text.len() + 1);
                key.push('#');
                key.push_str(&text);
                key
            }
        };
        let mut binds = Binds::default();
        self.collect_binds(std::slice::from_ref(stmt), &mut binds, depth);
        let (reads, attribute_reads) = NameReads::of_statement(stmt);
        Statement {
            key: keys.allocate(base),
            kind: statement_kind(stmt),
            span: self.span(range),
            byte_range: self.byte_range(range),
            indent: self.indent(range.start()),
            text_hash: self.hash(text),
            binds: binds.names,
            reads,
            attribute_reads,
            mutates: reads::mutated_name(stmt).map(str::to_string),
            deletes: reads::deleted_names(stmt),
            label: label(text),
        }
    }

    /// Hash of the decorator expressions' text, one per line, without the `@` (0 without any).
    fn decorators_hash(&self, decorators: &[ast::Decorator]) -> u64 {
        if decorators.is_empty() {
            return 0;
        }
        let mut joined = String::new();
        for (i, decorator) in decorators.iter().enumerate() {
            if i > 0 {
                joined.push('\n');
            }
            let text = self.slice(decorator.range());
            joined.push_str(text.strip_prefix('@').unwrap_or(text).trim_start());
        }
        self.hash(&joined)
    }

    #[allow(clippy::too_many_arguments)]
    fn definition(
        &mut self,
        kind: DefKind,
        name: &str,
        parent: Parent,
        range: TextRange,
        decorators: &[ast::Decorator],
        header_hash: u64,
        body: &[Stmt],
    ) -> (Definition, usize) {
        let keyword = match decorators.last() {
            Some(last) => self.next_token(last.range().end()),
            None => range.start(),
        };
        // Lines between the first decorator and the keyword that hold no decorator (blank lines,
        // comments): they move the code's line numbers without changing any hashed text.
        let decorator_lines: u32 = decorators
            .iter()
            .map(|d| {
                let span = self.span(d.range());
                span.end - span.start + 1
            })
            .sum();
        let def_line = self.line(keyword);
        let first_line = self.line(range.start());
        let gap = def_line.saturating_sub(first_line).saturating_sub(decorator_lines);
        let docstring = docstring_of(body);
        let rest = &body[usize::from(docstring.is_some()).min(body.len())..];
        // The body's text, how many lines below the keyword it starts (a blank line added after
        // the header, or a longer docstring, moves the body's code lines) and the gap above.
        let body_hash = match (rest.first(), rest.last()) {
            (Some(first), Some(last)) => {
                let start = self.start_with_indent(first.range());
                let end = last.range().end().to_usize();
                let mut h = StableHasher::new();
                h.write_text(self, self.text.get(start..end).unwrap_or_default());
                h.word(u64::from(self.line(first.range().start()).saturating_sub(def_line)));
                h.word(u64::from(gap));
                h.finish()
            }
            _ => hash_str(""),
        };
        let def = Definition {
            kind,
            name: name.to_string(),
            qualname: parent.qualname(name),
            span: self.span(range),
            def_line,
            byte_range: self.byte_range(range),
            indent: self.indent(range.start()),
            decorators_hash: self.decorators_hash(decorators),
            header_hash,
            header: 0..0,
            decorators: decorators.iter().map(|d| self.byte_range(d.expression.range())).collect(),
            docstring: docstring.map(|d| self.byte_range(d.range())),
            signature_reads: Vec::new(),
            decorator_reads: NameReads::of_decorators(decorators),
            global_reads: Vec::new(),
            overload: decorators.iter().any(|d| is_overload(&d.expression)),
            docstring_hash: docstring.map(|d| self.hash(self.slice(d.range()))),
            body_hash,
            children: Vec::new(),
        };
        (def, usize::from(docstring.is_some()))
    }

    fn function(&mut self, f: &ast::StmtFunctionDef, parent: Parent, depth: usize) -> Definition {
        let mut h = StableHasher::new();
        h.write_text(self, if f.is_async { "async" } else { "" });
        h.write_text(self, f.type_params.as_ref().map_or("", |t| self.slice(t.range())));
        h.write_text(self, self.slice(f.parameters.range()));
        h.write_text(self, f.returns.as_ref().map_or("", |r| self.slice(r.range())));
        let kind = if f.is_async { DefKind::AsyncFunction } else { DefKind::Function };
        let (mut def, _) =
            self.definition(kind, f.name.as_str(), parent, f.range(), &f.decorator_list, h.finish(), &f.body);
        let header_end = f.returns.as_ref().map_or(f.parameters.range().end(), |r| r.range().end());
        def.header = self.byte_range(TextRange::new(f.parameters.range().start(), header_end));
        def.signature_reads = NameReads::of_signature(&f.parameters, f.returns.as_deref());
        if matches!(parent, Parent::Module) {
            def.global_reads = NameReads::of_function_body(&f.parameters, &f.body);
        }
        let mut children = Vec::new();
        self.nested_definitions(&f.body, Parent::Function(&def.qualname), depth + 1, &mut children);
        def.children = children;
        def
    }

    fn class(&mut self, c: &ast::StmtClassDef, parent: Parent, depth: usize) -> Definition {
        let mut h = StableHasher::new();
        h.write_text(self, c.type_params.as_ref().map_or("", |t| self.slice(t.range())));
        h.write_text(self, c.arguments.as_ref().map_or("", |a| self.slice(a.range())));
        let (mut def, skip) =
            self.definition(DefKind::Class, c.name.as_str(), parent, c.range(), &c.decorator_list, h.finish(), &c.body);
        let header = c.arguments.as_ref().map_or(TextRange::empty(c.name.range().end()), |a| a.range());
        def.header = self.byte_range(header);
        if self.enter(depth + 1, c.range()) {
            def.children = self.scope_items(&c.body, skip == 1, Parent::Class(&def.qualname), depth + 1);
        }
        def
    }

    /// Records an issue and returns false when `depth` exceeds the nesting limit.
    fn enter(&mut self, depth: usize, range: TextRange) -> bool {
        if depth <= MAX_BLOCK_DEPTH {
            return true;
        }
        if self.issues.is_empty() {
            self.issue(range.start(), "too many levels of indentation".to_string());
        }
        false
    }

    /// Definitions in a function body, at any depth of control flow but not inside definitions.
    fn nested_definitions(&mut self, body: &[Stmt], parent: Parent, depth: usize, out: &mut Vec<Item>) {
        for stmt in body {
            if !self.enter(depth, stmt.range()) {
                return;
            }
            match stmt {
                Stmt::FunctionDef(f) => out.push(Item::Def(self.function(f, parent, depth))),
                Stmt::ClassDef(c) => out.push(Item::Def(self.class(c, parent, depth))),
                _ => {
                    for block in sub_blocks(stmt) {
                        self.nested_definitions(block, parent, depth + 1, out);
                    }
                }
            }
        }
    }
}

mod binds;
mod hash;
mod incremental;
mod lines;
mod loops;
mod reads;
mod statements;

pub use self::incremental::parse_definitions_after;
pub use self::loops::{runner_source, RUNNER_BROKE, RUNNER_ITEMS};
#[cfg(test)]
mod tests;

/// `@overload` or `@typing.overload` (any `X.overload`).
fn is_overload(decorator: &ast::Expr) -> bool {
    match decorator {
        ast::Expr::Name(name) => name.id.as_str() == "overload",
        ast::Expr::Attribute(attribute) => attribute.attr.as_str() == "overload",
        _ => false,
    }
}
