//! Differ: running tree × new tree → classified changes, matched in linear time.
//!
//! # Matching
//!
//! Matching is done per scope: first the module level, then, recursively, the children of each
//! class matched in both versions. Within a scope, with hash maps (linear time):
//!
//! - Definitions are matched by `(name, occurrence)`, where `occurrence` is the index among the
//!   definitions of that same name in that scope (a property getter and setter both named `x`
//!   are occurrences 0 and 1); `@overload` stubs are counted apart, so adding stubs in front
//!   of a function leaves it matched with itself. `Function` and `AsyncFunction` count as the same kind: switching
//!   between `def` and `async def` is a `header` change. A matched pair whose kind changed
//!   between function and class is reported as `Deleted(old)` + `Added(new)`.
//! - Statements are matched by [`Statement::key`](crate::tree::Statement::key), which already
//!   carries the occurrence suffix (`@2`, `@3`, ...).
//!
//! # Classification
//!
//! - Matched definitions get [`DefChange`] flags: `body` (body hash differs), `header`,
//!   `decorators`, `docstring`, and `moved` (`span.start` differs). `Modified(flags)` is emitted
//!   only if at least one flag is set.
//! - A function is one unit: the definitions nested in it are not diffed separately.
//! - A class emits its own `Modified` change if any flag is set, and then its children are diffed
//!   recursively with `scope` extended by the class name, also when its `header` or
//!   `decorators` changed: the class is then rebuilt, and its children's changes tell which of
//!   its members keep their live values.
//! - Statements: a matched key with a different text hash → `StatementChanged` (only possible
//!   for name-keyed `=` keys: a `#` key is the text itself, so a text change there shows up as
//!   `Deleted` + `Added`). A matched key with the same text → nothing, even if it moved.
//! - Unmatched old items → `Deleted`; unmatched new items → `Added`. The children of an added or
//!   deleted class are not reported separately: the class is added or deleted as a whole.
//! - The module docstring is not an item: compare [`DefinitionTree::docstring_hash`] directly.
//!
//! # Order
//!
//! First every `Modified` / `Added` / `StatementChanged` change, walking the NEW tree in source
//! order (a class's own change comes before its children's changes); then every `Deleted`
//! change, in the OLD tree's source order.
//!
//! `scope` holds the names of the enclosing classes, outermost first, borrowed from the trees.

use crate::parse::FastMap;
use crate::tree::{Definition, DefinitionTree, Item, LineSpan};

/// What changed in a definition that exists in both versions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefChange {
    pub body: bool,
    /// Parameters, defaults, annotations, return type, async-ness (functions); bases (classes).
    pub header: bool,
    pub decorators: bool,
    pub docstring: bool,
    /// `span.start` differs (lines shifted), whatever else changed.
    pub moved: bool,
}

impl DefChange {
    /// True if any flag is set.
    pub fn any(&self) -> bool {
        self.body || self.header || self.decorators || self.docstring || self.moved
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A definition in both versions with at least one [`DefChange`] flag set.
    Modified(DefChange),
    /// A definition or statement only in the new version.
    Added,
    /// A definition or statement only in the old version.
    Deleted,
    /// A name-keyed statement (`x = ...`) whose text changed.
    StatementChanged,
}

/// One classified change. `old`/`new` point into the two trees.
#[derive(Clone, Debug, PartialEq)]
pub struct Change<'t> {
    /// Names of the enclosing classes, outermost first; empty at module level.
    pub scope: Vec<&'t str>,
    pub kind: ChangeKind,
    pub old: Option<&'t Item>,
    pub new: Option<&'t Item>,
}

impl Change<'_> {
    /// The line span in the new version if there is one, else in the old.
    pub fn span(&self) -> LineSpan {
        self.new.or(self.old).map(Item::span).expect("a change has a side")
    }
}

/// Compares `old` and `new`. See the module docs for the matching and ordering rules.
pub fn diff_trees<'t>(old: &'t DefinitionTree, new: &'t DefinitionTree) -> Vec<Change<'t>> {
    diff_with(old, new, true)
}

/// [`diff_trees`]; `aligned`: pair the runs of items both versions start and end with directly
/// (the result is the same; the tests compare both ways).
pub(crate) fn diff_with<'t>(old: &'t DefinitionTree, new: &'t DefinitionTree, aligned: bool) -> Vec<Change<'t>> {
    let mut differ = Differ { changes: Vec::new(), deleted: Vec::new(), scope: Vec::new(), aligned };
    differ.scope(&old.items, &new.items);
    let Differ { mut changes, mut deleted, .. } = differ;
    // Deleted items come from several scopes; old byte offsets give the old tree's source order
    // (an item's children lie inside its range, after its start).
    deleted.sort_by_key(|change| change.old.map_or(0, |item| item.byte_range().start));
    changes.append(&mut deleted);
    changes
}

/// The change flags of two versions of one definition.
fn def_change(old: &Definition, new: &Definition) -> DefChange {
    DefChange {
        body: old.body_hash != new.body_hash,
        header: old.header_hash != new.header_hash,
        decorators: old.decorators_hash != new.decorators_hash,
        docstring: old.docstring_hash != new.docstring_hash,
        moved: old.span.start != new.span.start,
    }
}

struct Differ<'t> {
    changes: Vec<Change<'t>>,
    deleted: Vec<Change<'t>>,
    scope: Vec<&'t str>,
    aligned: bool,
}

/// Whether the two items would be matched if they stood at the same place in their scopes:
/// same statement key, or a definition of the same name, stub-ness and class-ness.
fn same_identity(old: &Item, new: &Item) -> bool {
    match (old, new) {
        (Item::Def(o), Item::Def(n)) => {
            o.name == n.name && o.overload == n.overload && o.kind.is_class() == n.kind.is_class()
        }
        (Item::Stmt(o), Item::Stmt(n)) => o.key == n.key,
        _ => false,
    }
}

/// Whether both runs hold the same definitions by `(name, overload)`, counted: then the
/// definitions after them have the same occurrence numbers in both versions.
fn same_definition_names(old: &[Item], new: &[Item]) -> bool {
    fn names(items: &[Item]) -> Vec<(&str, bool)> {
        let mut names: Vec<(&str, bool)> =
            items.iter().filter_map(Item::as_def).map(|d| (d.name.as_str(), d.overload)).collect();
        names.sort_unstable();
        names
    }
    names(old) == names(new)
}

impl<'t> Differ<'t> {
    fn push(&mut self, kind: ChangeKind, old: Option<&'t Item>, new: Option<&'t Item>) {
        let change = Change { scope: self.scope.clone(), kind, old, new };
        if kind == ChangeKind::Deleted {
            self.deleted.push(change);
        } else {
            self.changes.push(change);
        }
    }

    /// Matches a scope's items. The items both versions start with, and (when the runs between
    /// hold the same definition names) end with, pair up in place: what matching by key gives,
    /// without its hash maps (a 50,000-line file has 12,500 functions; an edit touches a few).
    fn scope(&mut self, old_items: &'t [Item], new_items: &'t [Item]) {
        if !self.aligned {
            return self.scope_by_key(old_items, new_items);
        }
        let head = old_items.iter().zip(new_items).take_while(|(o, n)| same_identity(o, n)).count();
        let (old_rest, new_rest) = (&old_items[head..], &new_items[head..]);
        let tail = old_rest.iter().rev().zip(new_rest.iter().rev()).take_while(|(o, n)| same_identity(o, n)).count();
        let (old_middle, new_middle) = (&old_rest[..old_rest.len() - tail], &new_rest[..new_rest.len() - tail]);
        if tail > 0 && !same_definition_names(old_middle, new_middle) {
            return self.scope_by_key(old_items, new_items);
        }
        for (old, new) in old_items[..head].iter().zip(&new_items[..head]) {
            self.pair(old, new);
        }
        self.scope_by_key(old_middle, new_middle);
        for (old, new) in old_rest[old_middle.len()..].iter().zip(&new_rest[new_middle.len()..]) {
            self.pair(old, new);
        }
    }

    /// Two items [`same_identity`] says match.
    fn pair(&mut self, old_item: &'t Item, new_item: &'t Item) {
        match (old_item, new_item) {
            (Item::Def(old), Item::Def(new)) => self.definition(old_item, old, new_item, new),
            (Item::Stmt(old), Item::Stmt(new)) if old.text_hash != new.text_hash => {
                self.push(ChangeKind::StatementChanged, Some(old_item), Some(new_item));
            }
            _ => {}
        }
    }

    fn scope_by_key(&mut self, old_items: &'t [Item], new_items: &'t [Item]) {
        let defs = old_items.iter().filter(|item| item.as_def().is_some()).count();
        // Keyed by (name, is an `@overload` stub, occurrence): stubs match stubs, and the
        // implementation after them matches the definition it replaces.
        let mut old_defs: FastMap<(&str, bool, usize), usize> =
            FastMap::with_capacity_and_hasher(defs, Default::default());
        let mut old_stmts: FastMap<&str, usize> =
            FastMap::with_capacity_and_hasher(old_items.len() - defs, Default::default());
        let mut occurrences: FastMap<(&str, bool), usize> = FastMap::with_capacity_and_hasher(defs, Default::default());
        for (i, item) in old_items.iter().enumerate() {
            match item {
                Item::Def(d) => {
                    let n = occurrences.entry((d.name.as_str(), d.overload)).or_insert(0);
                    old_defs.insert((d.name.as_str(), d.overload, *n), i);
                    *n += 1;
                }
                Item::Stmt(s) => {
                    old_stmts.entry(s.key.as_str()).or_insert(i);
                }
            }
        }

        let mut matched = vec![false; old_items.len()];
        occurrences.clear();
        for new_item in new_items {
            match new_item {
                Item::Def(new_def) => {
                    let n = occurrences.entry((new_def.name.as_str(), new_def.overload)).or_insert(0);
                    let found = old_defs.get(&(new_def.name.as_str(), new_def.overload, *n)).copied();
                    *n += 1;
                    let pair = found.and_then(|i| {
                        let old_item = old_items.get(i)?;
                        let old_def = old_item.as_def()?;
                        (old_def.kind.is_class() == new_def.kind.is_class()).then_some((i, old_item, old_def))
                    });
                    match pair {
                        Some((i, old_item, old_def)) => {
                            matched[i] = true;
                            self.definition(old_item, old_def, new_item, new_def);
                        }
                        None => self.push(ChangeKind::Added, None, Some(new_item)),
                    }
                }
                Item::Stmt(new_stmt) => match old_stmts.get(new_stmt.key.as_str()).copied() {
                    Some(i) if !matched[i] => {
                        matched[i] = true;
                        let old_item = &old_items[i];
                        if old_item.as_stmt().is_some_and(|s| s.text_hash != new_stmt.text_hash) {
                            self.push(ChangeKind::StatementChanged, Some(old_item), Some(new_item));
                        }
                    }
                    _ => self.push(ChangeKind::Added, None, Some(new_item)),
                },
            }
        }

        for (item, was_matched) in old_items.iter().zip(matched) {
            if !was_matched {
                self.push(ChangeKind::Deleted, Some(item), None);
            }
        }
    }

    fn definition(&mut self, old_item: &'t Item, old: &'t Definition, new_item: &'t Item, new: &'t Definition) {
        let flags = def_change(old, new);
        if flags.any() {
            self.push(ChangeKind::Modified(flags), Some(old_item), Some(new_item));
        }
        if new.kind.is_class() {
            self.scope.push(new.name.as_str());
            self.scope(&old.children, &new.children);
            self.scope.pop();
        }
    }
}

#[cfg(test)]
mod tests;
