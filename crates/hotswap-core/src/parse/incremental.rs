//! Incremental re-parse: a new version of a file from the previous version's text and tree,
//! re-parsing only the top-level statements an edit touched.
//!
//! The changed lines come from a line diff. Each run of changed lines widens to the top-level
//! items it touches, bounded by kept items on both sides (or the end of the file); that slice
//! of the new text is parsed on its own, and every kept item after it is moved by the bytes and
//! lines the edit added. The result is the tree a full parse gives; whenever that is not
//! certain, this falls back to a full parse: syntax errors (their messages and positions come
//! from the full parse), a slice that is not whole statements (an unterminated string or bracket,
//! an indented first line, a line continuation at its end, `;` joining it to a kept statement),
//! edits above the first statement (encoding line, module docstring) or of a `from __future__`
//! import, carriage returns, a BOM, a tree whose hashes were marked after its parse, and edits of
//! more than [`MAX_CHANGED_LINES`] lines.

use std::ops::Range;

use ruff_python_parser::{parse_unchecked, Mode, ParseOptions};

use super::lines::{changed_lines, line_starts, Hunk};
use super::statements::KeyAllocator;
use super::{import_sites_of, imported_names, parse_definitions, Builder, Parent, PythonVersion};
use crate::imports::Import;
use crate::tree::{Definition, DefinitionTree, ImportSite, Item, LineSpan, LiveLoopSite, StatementKind, SyntaxIssue};

/// Past this many inserted plus deleted lines, the line diff gives up and the file is parsed
/// whole (a rewrite, a branch switch): the diff's cost grows with it, the saving shrinks.
const MAX_CHANGED_LINES: usize = 128;

/// Parses `text`, the new version of `old_text` whose tree is `old_tree`: the same result as
/// [`parse_definitions`] of `text`, re-parsing only what the edit touched when it can.
pub fn parse_definitions_after(
    old_text: &str,
    old_tree: &DefinitionTree,
    text: &str,
    target: PythonVersion,
) -> Result<DefinitionTree, Vec<SyntaxIssue>> {
    match reparse(old_text, old_tree, text, target) {
        Some(tree) => Ok(tree),
        None => parse_definitions(text, target),
    }
}

/// The incremental result, or `None` when only a full parse gives a certain one.
fn reparse(old_text: &str, old_tree: &DefinitionTree, text: &str, target: PythonVersion) -> Option<DefinitionTree> {
    if old_tree.marked || u32::try_from(text.len()).is_err() {
        return None;
    }
    // A BOM shifts every column; `\r` line ends are normalized in hashes and keys.
    let plain = |t: &str| !t.starts_with('\u{feff}') && !t.as_bytes().contains(&b'\r');
    if !plain(old_text) || !plain(text) {
        return None;
    }
    let old_starts = line_starts(old_text);
    if old_tree.line_count as usize != old_starts.len() - 1 {
        return None; // not the tree of this text
    }
    let new_starts = line_starts(text);
    let hunks = changed_lines(old_text, &old_starts, text, &new_starts, MAX_CHANGED_LINES)?;
    let old = Old { text: old_text, starts: &old_starts, tree: old_tree };
    let regions = regions(&old, &hunks)?;
    let mut splice = Splice::new(old_tree);
    let (mut bytes, mut lines) = (0isize, 0isize);
    for region in &regions {
        let shift = Shift { bytes, lines };
        splice.keep(&old, region.items.start, shift);
        let first_line = region.lines.start.checked_add_signed(lines)?;
        let end_line = region.lines.end.checked_add_signed(lines + region.added_lines)?;
        let slice = *new_starts.get(first_line)?..new_starts.get(end_line).copied().unwrap_or(text.len());
        let parsed = parse_slice(text, slice.clone(), first_line, target)?;
        if old_tree.items[region.items.clone()].iter().any(is_future_import) {
            return None;
        }
        splice.skip(&old, region.items.end);
        splice.insert(parsed);
        // Kept items below start as many bytes and lines further down as the slice grew.
        bytes = slice.end as isize - *old.starts.get(region.lines.end)? as isize;
        lines = end_line as isize - region.lines.end as isize;
    }
    splice.keep(&old, old_tree.items.len(), Shift { bytes, lines });
    Some(splice.finish(old_tree, text, new_starts.len() - 1))
}

/// The previous version.
struct Old<'a> {
    text: &'a str,
    starts: &'a [usize],
    tree: &'a DefinitionTree,
}

impl Old<'_> {
    /// Zero-based line of byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// The first line a region after `items[..i]` may start on: the line after the last kept
    /// item (or the module docstring) before it, when nothing joins that line to the next one.
    fn region_start(&self, i: usize) -> Option<usize> {
        let end = match i.checked_sub(1) {
            Some(previous) => self.tree.items[previous].byte_range().end,
            None => self.tree.docstring.as_ref()?.0.end,
        };
        let next_line = self.line_of(end.checked_sub(1)?) + 1;
        let rest = self.text.get(end..*self.starts.get(next_line)?)?;
        (!rest.contains([';', '\\'])).then_some(next_line)
    }

    /// The line a region before `items[j..]` ends on (exclusive): where item `j` starts, which
    /// must be the start of its line.
    fn region_end(&self, j: usize) -> Option<usize> {
        let Some(item) = self.tree.items.get(j) else { return Some(self.starts.len() - 1) };
        let line = (item.span().start as usize).checked_sub(1)?;
        (self.starts.get(line) == Some(&item.byte_range().start)).then_some(line)
    }
}

/// Top-level items to re-parse, with the old lines they span and what the edit added.
#[derive(Debug)]
struct Region {
    items: Range<usize>,
    /// Old lines, zero-based, end exclusive: from the line after the last kept item before to
    /// the first line of the next kept item.
    lines: Range<usize>,
    added_lines: isize,
    /// The old lines the hunks replace, from the first's start to the last's end.
    changed: Range<usize>,
}

/// The regions the hunks touch, in order, merged where they share an item or a boundary.
fn regions(old: &Old, hunks: &[Hunk]) -> Option<Vec<Region>> {
    let items = &old.tree.items;
    let mut out: Vec<Region> = Vec::new();
    for hunk in hunks {
        let (a0, a1) = (hunk.old.start, hunk.old.end);
        let i = items.partition_point(|item| (item.span().end as usize) <= a0);
        let j = items.partition_point(|item| (item.span().start as usize) <= a1).max(i);
        let added_lines = hunk.new.len() as isize - hunk.old.len() as isize;
        match out.last_mut() {
            Some(last) if i <= last.items.end => {
                last.items.end = last.items.end.max(j);
                last.added_lines += added_lines;
                last.changed.end = a1;
            }
            _ => out.push(Region { items: i..j, lines: 0..0, added_lines, changed: a0..a1 }),
        }
    }
    for region in &mut out {
        region.lines = old.region_start(region.items.start)?..old.region_end(region.items.end)?;
        // The changed lines must lie inside (an edit above the module docstring does not).
        if region.changed.start < region.lines.start || region.changed.end > region.lines.end {
            return None;
        }
    }
    Some(out)
}

fn is_future_import(item: &Item) -> bool {
    item.as_stmt().is_some_and(|s| s.kind == StatementKind::FutureImport)
}

/// What parsing a slice of the new text gave, positioned in the whole text.
struct Parsed {
    items: Vec<Item>,
    imports: Vec<Import>,
    import_sites: Vec<ImportSite>,
    live_loops: Vec<LiveLoopSite>,
}

/// Parses `text[slice]`, which starts at zero-based line `first_line`, as whole top-level
/// statements; `None` when it is not that (see the module comment).
fn parse_slice(text: &str, slice: Range<usize>, first_line: usize, target: PythonVersion) -> Option<Parsed> {
    let at_end = slice.end == text.len();
    let source = text.get(slice.clone())?;
    if !(at_end || source.ends_with('\n')) || source.trim_end().ends_with('\\') {
        return None;
    }
    let version = ruff_python_ast::PythonVersion { major: target.0, minor: target.1 };
    let parsed = parse_unchecked(source, ParseOptions::from(Mode::Module).with_target_version(version));
    if !parsed.errors().is_empty() || !parsed.unsupported_syntax_errors().is_empty() {
        return None;
    }
    let module = parsed.try_into_module()?;
    let body = &module.syntax().body;
    let mut builder = Builder::new(source, 0);
    let mut items = builder.scope_items(body, false, Parent::Module, 0);
    if !builder.issues.is_empty() || items.iter().any(is_future_import) {
        return None;
    }
    let (imports, import_sites) = import_sites_of(body);
    let mut live_loops = builder.live_loops(body);
    let shift = Shift { bytes: slice.start as isize, lines: first_line as isize };
    items.iter_mut().for_each(|item| shift.item(item));
    live_loops.iter_mut().for_each(|site| shift.live_loop(site));
    Some(Parsed { items, imports, import_sites, live_loops })
}

/// How far a kept item moved.
#[derive(Clone, Copy)]
struct Shift {
    bytes: isize,
    lines: isize,
}

impl Shift {
    fn is_zero(self) -> bool {
        self.bytes == 0 && self.lines == 0
    }
    fn byte(self, at: usize) -> usize {
        at.wrapping_add_signed(self.bytes)
    }
    fn range(self, range: &mut Range<usize>) {
        *range = self.byte(range.start)..self.byte(range.end);
    }
    fn line(self, line: u32) -> u32 {
        (line as isize + self.lines) as u32
    }
    fn span(self, span: &mut LineSpan) {
        *span = LineSpan { start: self.line(span.start), end: self.line(span.end) };
    }
    fn item(self, item: &mut Item) {
        match item {
            Item::Def(def) => self.definition(def),
            Item::Stmt(stmt) => {
                self.span(&mut stmt.span);
                self.range(&mut stmt.byte_range);
            }
        }
    }
    fn definition(self, def: &mut Definition) {
        self.span(&mut def.span);
        def.def_line = self.line(def.def_line);
        self.range(&mut def.byte_range);
        self.range(&mut def.header);
        def.decorators.iter_mut().for_each(|range| self.range(range));
        if let Some(docstring) = &mut def.docstring {
            self.range(docstring);
        }
        def.children.iter_mut().for_each(|child| self.item(child));
    }
    fn live_loop(self, site: &mut LiveLoopSite) {
        self.span(&mut site.span);
        site.header_end = self.line(site.header_end);
        if let Some(target) = &mut site.target {
            self.range(target);
        }
        self.range(&mut site.body);
        site.body_line = self.line(site.body_line);
        if let Some((line, _)) = &mut site.problem {
            *line = self.line(*line);
        }
    }
}

/// The new tree's parts, built in source order from kept (moved) and re-parsed items.
struct Splice {
    items: Vec<Item>,
    imports: Vec<Import>,
    import_sites: Vec<ImportSite>,
    live_loops: Vec<LiveLoopSite>,
    /// How far the old tree has been read: items, import sites, imports, live loops.
    next_item: usize,
    next_site: usize,
    next_import: usize,
    next_loop: usize,
}

impl Splice {
    fn new(old: &DefinitionTree) -> Self {
        Splice {
            items: Vec::with_capacity(old.items.len()),
            imports: Vec::with_capacity(old.imports.len()),
            import_sites: Vec::with_capacity(old.import_sites.len()),
            live_loops: Vec::with_capacity(old.live_loops.len()),
            next_item: 0,
            next_site: 0,
            next_import: 0,
            next_loop: 0,
        }
    }

    /// Copies the old items up to `end` (and what they hold), moved by `shift`.
    fn keep(&mut self, old: &Old, end: usize, shift: Shift) {
        let tree = old.tree;
        let moved = self.items.len() as isize - self.next_item as isize;
        for item in &tree.items[self.next_item..end] {
            let mut item = item.clone();
            if !shift.is_zero() {
                shift.item(&mut item);
            }
            self.items.push(item);
        }
        while let Some(site) = tree.import_sites.get(self.next_site).filter(|s| s.item < end) {
            let imports = &tree.imports[self.next_import..self.next_import + site.count];
            self.imports.extend(imports.iter().cloned());
            self.next_import += site.count;
            self.import_sites.push(ImportSite { item: site.item.wrapping_add_signed(moved), ..site.clone() });
            self.next_site += 1;
        }
        let end_byte = tree.items.get(end).map_or(usize::MAX, |item| item.byte_range().start);
        while let Some(site) = tree.live_loops.get(self.next_loop).filter(|s| s.body.start < end_byte) {
            let mut site = site.clone();
            shift.live_loop(&mut site);
            self.live_loops.push(site);
            self.next_loop += 1;
        }
        self.next_item = end;
    }

    /// Passes over the old items up to `end` (re-parsed: their new version is inserted).
    fn skip(&mut self, old: &Old, end: usize) {
        let tree = old.tree;
        while let Some(site) = tree.import_sites.get(self.next_site).filter(|s| s.item < end) {
            self.next_import += site.count;
            self.next_site += 1;
        }
        let end_byte = tree.items.get(end).map_or(usize::MAX, |item| item.byte_range().start);
        while tree.live_loops.get(self.next_loop).is_some_and(|s| s.body.start < end_byte) {
            self.next_loop += 1;
        }
        self.next_item = end;
    }

    fn insert(&mut self, parsed: Parsed) {
        let base = self.items.len();
        self.items.extend(parsed.items);
        self.imports.extend(parsed.imports);
        self.import_sites.extend(parsed.import_sites.into_iter().map(|s| ImportSite { item: s.item + base, ..s }));
        self.live_loops.extend(parsed.live_loops);
    }

    fn finish(mut self, old: &DefinitionTree, text: &str, line_count: usize) -> DefinitionTree {
        reassign_keys(&mut self.items, text);
        DefinitionTree {
            items: self.items,
            line_count: u32::try_from(line_count).unwrap_or(u32::MAX),
            docstring_hash: old.docstring_hash,
            docstring: old.docstring.clone(),
            imports: self.imports,
            imported: imported_names(&self.import_sites),
            live_loops: self.live_loops,
            import_sites: self.import_sites,
            marked: false,
        }
    }
}

/// Statement keys are unique in the module scope by an `@n` suffix that depends on every
/// earlier statement with the same base key: they are handed out again over the whole scope.
fn reassign_keys(items: &mut [Item], text: &str) {
    let mut keys = KeyAllocator::default();
    for item in items {
        let Item::Stmt(stmt) = item else { continue };
        let base = if stmt.key.starts_with('=') {
            // Names hold no `@`: the base is the key up to its suffix.
            stmt.key.split('@').next().unwrap_or_default().to_string()
        } else {
            format!("#{}", text.get(stmt.byte_range.clone()).unwrap_or_default())
        };
        let key = keys.allocate(base);
        if key != stmt.key {
            stmt.key = key;
        }
    }
}

#[cfg(test)]
mod tests;
