//! Generators for the property tests: random but valid Python modules from a small grammar, and
//! random edit sequences applied to them.
//!
//! A module is generated as a [`Module`] model and rendered to text, so every edit is applied to
//! the model and the result is valid Python by construction. Identifiers come from a small pool
//! ([`NAMES`]) and constants from a small range, so names and statement texts collide and repeat
//! (duplicate functions, a class shadowed by an assignment, `print(1)` twice, ...). Blank lines
//! and comments are inserted into the rendered text at random lines, which shifts everything
//! below them (also inside functions, docstrings and between a decorator and its `def`).

pub mod live;

use proptest::prelude::*;
use proptest::sample::Index;

/// Every name a definition, assignment or main-guard binding can get.
pub const NAMES: &[&str] = &["f", "g", "C", "D", "x", "p"];
const PARAMS: &[&str] = &["", "a", "a=1", "a, *args", "b: int = 2"];
const BASES: &[&str] = &["", "()", "(Base)", "(Base, metaclass=Meta)", "(object)", "(Base, tag=\"):'\")"];
const DECORATORS: &[&str] = &["dec", "dec(1)", "functools.cache", "dataclass"];
const IMPORTS: &[&str] = &["import os", "import sys", "from os import path"];

#[derive(Clone, Debug)]
pub enum Body {
    /// `return N`
    Return(u8),
    /// `y = N` then `return y`
    Assign(u8),
}

#[derive(Clone, Debug)]
pub struct Doc {
    pub text: u8,
    pub two_lines: bool,
}

#[derive(Clone, Debug)]
pub struct Func {
    pub name: &'static str,
    pub decorator: Option<u8>,
    pub is_async: bool,
    pub params: u8,
    pub doc: Option<Doc>,
    pub body: Body,
    /// Indent the body with a tab instead of four spaces.
    pub tabs: bool,
}

#[derive(Clone, Debug)]
pub struct Class {
    pub name: &'static str,
    /// A comment after the header's colon (with a quote in it).
    pub comment: bool,
    pub decorator: Option<u8>,
    pub bases: u8,
    pub doc: Option<Doc>,
    pub items: Vec<Node>,
}

#[derive(Clone, Debug)]
pub enum Node {
    Func(Func),
    Class(Class),
    /// A property getter and setter pair, both named `name`.
    Property {
        name: &'static str,
        getter: Body,
        setter: u8,
    },
    /// `name = value`, optionally followed by a comment.
    Assign {
        name: &'static str,
        value: u8,
        comment: bool,
    },
    Import(u8),
    /// `print(value, "x")`
    Print(u8),
    /// `if __name__ == "__main__":` running `print(value)`, optionally binding `name`.
    MainGuard {
        name: Option<&'static str>,
        value: u8,
    },
    Blank,
    Comment(u8),
}

#[derive(Clone, Debug)]
pub struct Module {
    pub doc: Option<Doc>,
    pub items: Vec<Node>,
}

/// One edit of a module model. Indices pick the node or class to edit among those present when
/// the edit is applied; an edit that does not fit the picked node does nothing.
#[derive(Clone, Debug)]
pub enum Edit {
    Constant {
        target: Index,
        value: u8,
    },
    Rename {
        target: Index,
        name: &'static str,
    },
    Delete {
        target: Index,
    },
    Insert {
        container: Index,
        at: Index,
        node: Node,
    },
    /// Move a node to another position in the same scope.
    Move {
        target: Index,
        to: Index,
    },
    Decorator {
        target: Index,
        decorator: Option<u8>,
    },
    Bases {
        target: Index,
        bases: u8,
    },
    Params {
        target: Index,
        params: u8,
    },
    Docstring {
        target: Index,
        doc: Option<Doc>,
    },
    /// Change the text of an existing docstring only.
    DocText {
        target: Index,
        text: u8,
    },
    ToggleTabs {
        target: Index,
    },
    ToggleAsync {
        target: Index,
    },
    ToggleBodyKind {
        target: Index,
    },
}

#[derive(Clone, Copy, Debug)]
pub enum Trivia {
    Blank,
    Spaces,
    Comment(u8),
    IndentedComment,
}

/// An old module, the edits that make the new one, and the line-level trivia and line endings
/// of each version's text.
#[derive(Clone, Debug)]
pub struct Case {
    pub old: Module,
    pub edits: Vec<Edit>,
    pub trivia_old: Vec<(Index, Trivia)>,
    pub trivia_new: Vec<(Index, Trivia)>,
    pub crlf_old: bool,
    pub crlf_new: bool,
}

impl Case {
    /// (old source, new source).
    pub fn sources(&self) -> (String, String) {
        let mut new = self.old.clone();
        for edit in &self.edits {
            apply_edit(&mut new, edit);
        }
        (text(&self.old, &self.trivia_old, self.crlf_old), text(&new, &self.trivia_new, self.crlf_new))
    }
}

fn text(module: &Module, trivia: &[(Index, Trivia)], crlf: bool) -> String {
    let mut lines = Vec::new();
    if let Some(doc) = &module.doc {
        render_doc(doc, "", &mut lines);
    }
    render_items(&module.items, "", false, &mut lines);
    for (at, t) in trivia {
        let line = match t {
            Trivia::Blank => String::new(),
            Trivia::Spaces => "   ".to_string(),
            Trivia::Comment(n) => format!("# note {n}"),
            Trivia::IndentedComment => "        # indented note".to_string(),
        };
        lines.insert(at.index(lines.len() + 1), line);
    }
    let mut out = String::new();
    for line in lines {
        out.push_str(&line);
        out.push_str(if crlf { "\r\n" } else { "\n" });
    }
    out
}

fn render_doc(doc: &Doc, indent: &str, out: &mut Vec<String>) {
    let word = if doc.text.is_multiple_of(2) { "Doc" } else { "Dóc \\\\ «é»" };
    if doc.two_lines {
        out.push(format!("{indent}\"\"\"{word} {}.", doc.text));
        out.push(format!("{indent}more.\"\"\""));
    } else {
        out.push(format!("{indent}\"\"\"{word} {}.\"\"\"", doc.text));
    }
}

fn render_body(body: &Body, indent: &str, out: &mut Vec<String>) {
    match body {
        Body::Return(v) => out.push(format!("{indent}return {v}")),
        Body::Assign(v) => {
            out.push(format!("{indent}y = {v}"));
            out.push(format!("{indent}return y"));
        }
    }
}

fn render_items(items: &[Node], indent: &str, in_class: bool, out: &mut Vec<String>) {
    for node in items {
        render_node(node, indent, in_class, out);
    }
}

fn render_node(node: &Node, indent: &str, in_class: bool, out: &mut Vec<String>) {
    let inner = format!("{indent}    ");
    match node {
        Node::Func(f) => {
            if let Some(d) = f.decorator {
                out.push(format!("{indent}@{}", DECORATORS[d as usize]));
            }
            let params = match (in_class, PARAMS[f.params as usize]) {
                (false, p) => p.to_string(),
                (true, "") => "self".to_string(),
                (true, p) => format!("self, {p}"),
            };
            let prefix = if f.is_async { "async " } else { "" };
            out.push(format!("{indent}{prefix}def {}({params}):", f.name));
            let body_indent = if f.tabs { format!("{indent}\t") } else { inner };
            if let Some(doc) = &f.doc {
                render_doc(doc, &body_indent, out);
            }
            render_body(&f.body, &body_indent, out);
        }
        Node::Class(c) => {
            if let Some(d) = c.decorator {
                out.push(format!("{indent}@{}", DECORATORS[d as usize]));
            }
            let comment = if c.comment { "  # it's a class" } else { "" };
            out.push(format!("{indent}class {}{}:{comment}", c.name, BASES[c.bases as usize]));
            if let Some(doc) = &c.doc {
                render_doc(doc, &inner, out);
            }
            render_items(&c.items, &inner, true, out);
            let has_statement = c.items.iter().any(|n| !matches!(n, Node::Blank | Node::Comment(_)));
            if c.doc.is_none() && !has_statement {
                out.push(format!("{inner}pass"));
            }
        }
        Node::Property { name, getter, setter } => {
            out.push(format!("{indent}@property"));
            out.push(format!("{indent}def {name}(self):"));
            render_body(getter, &inner, out);
            out.push(format!("{indent}@{name}.setter"));
            out.push(format!("{indent}def {name}(self, value):"));
            out.push(format!("{inner}self._v = value + {setter}"));
        }
        Node::Assign { name, value, comment } => {
            let comment = if *comment { "  # the value" } else { "" };
            out.push(format!("{indent}{name} = {value}{comment}"));
        }
        Node::Import(i) => out.push(format!("{indent}{}", IMPORTS[*i as usize])),
        Node::Print(v) => out.push(format!("{indent}print({v}, \"x\")")),
        Node::MainGuard { name, value } => {
            out.push(format!("{indent}if __name__ == \"__main__\":"));
            out.push(format!("{inner}print({value})"));
            if let Some(name) = name {
                out.push(format!("{inner}{name} = {value}"));
            }
        }
        Node::Blank => out.push(String::new()),
        Node::Comment(n) => out.push(format!("{indent}# comment {n}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Edits

/// Paths (indices through class bodies) of every node, depth first.
fn node_paths(items: &[Node], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
    for (i, node) in items.iter().enumerate() {
        prefix.push(i);
        out.push(prefix.clone());
        if let Node::Class(c) = node {
            node_paths(&c.items, prefix, out);
        }
        prefix.pop();
    }
}

/// The item list a path's first `path.len()` indices lead into (classes only).
fn container<'m>(items: &'m mut Vec<Node>, path: &[usize]) -> &'m mut Vec<Node> {
    match path.split_first() {
        None => items,
        Some((&i, rest)) => match &mut items[i] {
            Node::Class(c) => container(&mut c.items, rest),
            _ => unreachable!("paths only go through classes"),
        },
    }
}

fn pick(module: &Module, target: &Index) -> Option<Vec<usize>> {
    let mut paths = Vec::new();
    node_paths(&module.items, &mut Vec::new(), &mut paths);
    (!paths.is_empty()).then(|| paths[target.index(paths.len())].clone())
}

pub fn apply_edit(module: &mut Module, edit: &Edit) {
    if let Edit::Insert { container: which, at, node } = edit {
        let mut paths = vec![Vec::new()];
        let mut all = Vec::new();
        node_paths(&module.items, &mut Vec::new(), &mut all);
        paths.extend(all.into_iter().filter(|p| matches!(node_at(&mut module.items, p), Node::Class(_))));
        let items = container(&mut module.items, &paths[which.index(paths.len())]);
        items.insert(at.index(items.len() + 1), node.clone());
        return;
    }
    let target = match edit {
        Edit::Constant { target, .. }
        | Edit::Rename { target, .. }
        | Edit::Delete { target }
        | Edit::Move { target, .. }
        | Edit::Decorator { target, .. }
        | Edit::Bases { target, .. }
        | Edit::Params { target, .. }
        | Edit::Docstring { target, .. }
        | Edit::DocText { target, .. }
        | Edit::ToggleTabs { target }
        | Edit::ToggleAsync { target }
        | Edit::ToggleBodyKind { target } => target,
        Edit::Insert { .. } => unreachable!(),
    };
    let Some(path) = pick(module, target) else { return };
    let (last, parent) = path.split_last().expect("paths are not empty");
    match edit {
        Edit::Delete { .. } => {
            container(&mut module.items, parent).remove(*last);
            return;
        }
        Edit::Move { to, .. } => {
            let items = container(&mut module.items, parent);
            let node = items.remove(*last);
            items.insert(to.index(items.len() + 1), node);
            return;
        }
        _ => {}
    }
    let node = node_at(&mut module.items, &path);
    match (edit, node) {
        (Edit::Constant { value, .. }, Node::Func(Func { body: Body::Return(v) | Body::Assign(v), .. }))
        | (Edit::Constant { value, .. }, Node::Property { getter: Body::Return(v) | Body::Assign(v), .. })
        | (Edit::Constant { value, .. }, Node::Assign { value: v, .. })
        | (Edit::Constant { value, .. }, Node::Print(v))
        | (Edit::Constant { value, .. }, Node::MainGuard { value: v, .. }) => *v = *value,
        (Edit::Rename { name, .. }, Node::Func(Func { name: n, .. }))
        | (Edit::Rename { name, .. }, Node::Class(Class { name: n, .. }))
        | (Edit::Rename { name, .. }, Node::Property { name: n, .. })
        | (Edit::Rename { name, .. }, Node::Assign { name: n, .. })
        | (Edit::Rename { name, .. }, Node::MainGuard { name: Some(n), .. }) => *n = name,
        (Edit::Decorator { decorator, .. }, Node::Func(Func { decorator: d, .. }))
        | (Edit::Decorator { decorator, .. }, Node::Class(Class { decorator: d, .. })) => *d = *decorator,
        (Edit::Bases { bases, .. }, Node::Class(c)) => c.bases = *bases,
        (Edit::Params { params, .. }, Node::Func(f)) => f.params = *params,
        (Edit::Docstring { doc, .. }, Node::Func(Func { doc: d, .. }))
        | (Edit::Docstring { doc, .. }, Node::Class(Class { doc: d, .. })) => *d = doc.clone(),
        (Edit::DocText { text, .. }, Node::Func(Func { doc: Some(d), .. }))
        | (Edit::DocText { text, .. }, Node::Class(Class { doc: Some(d), .. })) => d.text = *text,
        (Edit::ToggleTabs { .. }, Node::Func(f)) => f.tabs = !f.tabs,
        (Edit::ToggleAsync { .. }, Node::Func(f)) => f.is_async = !f.is_async,
        (Edit::ToggleBodyKind { .. }, Node::Func(f)) => {
            f.body = match f.body {
                Body::Return(v) => Body::Assign(v),
                Body::Assign(v) => Body::Return(v),
            }
        }
        _ => {}
    }
}

fn node_at<'m>(items: &'m mut Vec<Node>, path: &[usize]) -> &'m mut Node {
    let (last, parent) = path.split_last().expect("paths are not empty");
    &mut container(items, parent)[*last]
}

// ---------------------------------------------------------------------------------------------
// Strategies

fn name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(NAMES)
}

fn value() -> impl Strategy<Value = u8> {
    0u8..4
}

fn doc() -> impl Strategy<Value = Doc> {
    (value(), prop::bool::weighted(0.3)).prop_map(|(text, two_lines)| Doc { text, two_lines })
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![value().prop_map(Body::Return), value().prop_map(Body::Assign)]
}

fn decorator() -> impl Strategy<Value = Option<u8>> {
    prop::option::weighted(0.3, 0..DECORATORS.len() as u8)
}

fn func() -> impl Strategy<Value = Func> {
    (
        name(),
        decorator(),
        prop::bool::weighted(0.1),
        0..PARAMS.len() as u8,
        prop::option::weighted(0.3, doc()),
        body(),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(name, decorator, is_async, params, doc, body, tabs)| Func {
            name,
            decorator,
            is_async,
            params,
            doc,
            body,
            tabs,
        })
}

fn class(items: BoxedStrategy<Node>) -> impl Strategy<Value = Class> {
    let doc = prop::option::weighted(0.3, doc());
    let comment = prop::bool::weighted(0.1);
    (name(), comment, decorator(), 0..BASES.len() as u8, doc, prop::collection::vec(items, 0..5))
        .prop_map(|(name, comment, decorator, bases, doc, items)| Class { name, comment, decorator, bases, doc, items })
}

fn assign() -> impl Strategy<Value = Node> {
    let comment = prop::bool::weighted(0.1);
    (name(), value(), comment).prop_map(|(name, value, comment)| Node::Assign { name, value, comment })
}

/// Items of a class body; `nested` allows a class inside (one level).
fn class_item(nested: bool) -> BoxedStrategy<Node> {
    let simple = prop_oneof![
        4 => func().prop_map(Node::Func),
        1 => (name(), body(), value()).prop_map(|(name, getter, setter)| Node::Property { name, getter, setter }),
        2 => assign(),
        1 => Just(Node::Blank),
        1 => value().prop_map(Node::Comment),
    ]
    .boxed();
    if nested {
        prop_oneof![8 => simple, 1 => class(class_item(false).boxed()).prop_map(Node::Class)].boxed()
    } else {
        simple
    }
}

fn module_item() -> BoxedStrategy<Node> {
    prop_oneof![
        4 => func().prop_map(Node::Func),
        3 => class(class_item(true)).prop_map(Node::Class),
        2 => assign(),
        1 => (0..IMPORTS.len() as u8).prop_map(Node::Import),
        1 => value().prop_map(Node::Print),
        1 => (prop::option::of(name()), value()).prop_map(|(name, value)| Node::MainGuard { name, value }),
        1 => Just(Node::Blank),
        1 => value().prop_map(Node::Comment),
    ]
    .boxed()
}

pub fn module() -> impl Strategy<Value = Module> {
    (prop::option::weighted(0.1, doc()), prop::collection::vec(module_item(), 0..10))
        .prop_map(|(doc, items)| Module { doc, items })
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<Index>;
    prop_oneof![
        3 => (i(), value()).prop_map(|(target, value)| Edit::Constant { target, value }),
        2 => (i(), name()).prop_map(|(target, name)| Edit::Rename { target, name }),
        2 => i().prop_map(|target| Edit::Delete { target }),
        2 => (i(), i(), module_item()).prop_map(|(container, at, node)| Edit::Insert { container, at, node }),
        2 => (i(), i()).prop_map(|(target, to)| Edit::Move { target, to }),
        1 => (i(), decorator()).prop_map(|(target, decorator)| Edit::Decorator { target, decorator }),
        1 => (i(), 0..BASES.len() as u8).prop_map(|(target, bases)| Edit::Bases { target, bases }),
        1 => (i(), 0..PARAMS.len() as u8).prop_map(|(target, params)| Edit::Params { target, params }),
        1 => (i(), prop::option::of(doc())).prop_map(|(target, doc)| Edit::Docstring { target, doc }),
        1 => (i(), value()).prop_map(|(target, text)| Edit::DocText { target, text }),
        1 => i().prop_map(|target| Edit::ToggleTabs { target }),
        1 => i().prop_map(|target| Edit::ToggleAsync { target }),
        1 => i().prop_map(|target| Edit::ToggleBodyKind { target }),
    ]
}

fn trivia() -> impl Strategy<Value = (Index, Trivia)> {
    let kind = prop_oneof![
        Just(Trivia::Blank),
        Just(Trivia::Spaces),
        value().prop_map(Trivia::Comment),
        Just(Trivia::IndentedComment),
    ];
    (any::<Index>(), kind)
}

/// An old module and an edit sequence. A fifth of the cases have no model edit at all, so
/// that pure line shifts (trivia only) are common.
pub fn case() -> impl Strategy<Value = Case> {
    let edits = prop_oneof![1 => Just(Vec::new()), 4 => prop::collection::vec(edit(), 1..5)];
    (
        module(),
        edits,
        prop::collection::vec(trivia(), 0..2),
        prop::collection::vec(trivia(), 0..4),
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(old, edits, trivia_old, trivia_new, crlf_old, crlf_new)| Case {
            old,
            edits,
            trivia_old,
            trivia_new,
            crlf_old,
            crlf_new,
        })
}

/// A byte-level mutation of a source text.
#[derive(Clone, Debug)]
pub enum ByteEdit {
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Truncate(Index),
}

pub fn byte_edit() -> impl Strategy<Value = ByteEdit> {
    // Bytes that matter to Python's tokenizer, plus a few that break UTF-8.
    const INTERESTING: &[u8] = b"()[]{}:;,.=@#\\\"' \t\n\r\x0cx0\xff\xe2\x80\xef";
    let byte = prop_oneof![3 => prop::sample::select(INTERESTING), 1 => any::<u8>()];
    let i = any::<Index>;
    prop_oneof![
        3 => (i(), byte.clone()).prop_map(|(at, b)| ByteEdit::Set(at, b)),
        3 => (i(), byte).prop_map(|(at, b)| ByteEdit::Insert(at, b)),
        3 => i().prop_map(ByteEdit::Remove),
        1 => i().prop_map(ByteEdit::Truncate),
    ]
}

pub fn mutate(source: &str, edits: &[ByteEdit]) -> Vec<u8> {
    let mut bytes = source.as_bytes().to_vec();
    for edit in edits {
        match edit {
            ByteEdit::Set(at, b) if !bytes.is_empty() => {
                let i = at.index(bytes.len());
                bytes[i] = *b;
            }
            ByteEdit::Insert(at, b) => bytes.insert(at.index(bytes.len() + 1), *b),
            ByteEdit::Remove(at) if !bytes.is_empty() => {
                bytes.remove(at.index(bytes.len()));
            }
            ByteEdit::Truncate(at) => bytes.truncate(at.index(bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}
