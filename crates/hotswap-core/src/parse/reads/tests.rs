use crate::imports::{Import, ImportedNames};
use crate::parse::{parse_definitions, PythonVersion};
use crate::tree::{Definition, DefinitionTree, Item, Statement, StatementKind};

fn tree_for(source: &str, version: PythonVersion) -> DefinitionTree {
    match parse_definitions(source, version) {
        Ok(tree) => tree,
        Err(issues) => panic!("unexpected syntax issues in {source:?}: {issues:?}"),
    }
}

fn first_statement(source: &str, version: PythonVersion) -> Statement {
    let tree = tree_for(source, version);
    match tree.items.into_iter().next() {
        Some(Item::Stmt(s)) => s,
        other => panic!("no statement first in {source:?}: {other:?}"),
    }
}

fn first_def(tree: &DefinitionTree) -> &Definition {
    tree.items.iter().find_map(Item::as_def).expect("a definition")
}

#[test]
fn statement_reads_every_name_in_load_context() {
    let cases: &[(&str, &[&str])] = &[
        ("GREETING = f\"hi {NAME}\"", &["NAME"]),
        ("s = f\"{x:{width}}\"", &["width", "x"]),
        ("s = f\"{x!r:>{width}.{precision}}\"", &["precision", "width", "x"]),
        ("s = f\"{x=} {y!s} {z!a}\"", &["x", "y", "z"]),
        ("s = f'{f\"{inner}\"}'", &["inner"]),
        ("s = 'NAME' + \"{NAME}\" + b'X'  # NAME", &[]),
        ("total = [f(v) for v in items if v > LIMIT]", &["LIMIT", "f", "items", "v"]),
        ("d = {k: w for k, w in pairs.items()}", &["k", "pairs", "w"]),
        ("g = (a for a in range(n))", &["a", "n", "range"]),
        ("h = lambda event, retry=RETRIES: send(event, retry)", &["RETRIES", "event", "retry", "send"]),
        ("if (m := pattern.match(line)):\n    found = m", &["line", "m", "pattern"]),
        ("obj.attr = value", &["obj", "value"]),
        ("d[key] = value", &["d", "key", "value"]),
        ("x += step", &["step"]),
        ("label: Annotation = TEXT", &["Annotation", "TEXT"]),
        ("label: 'NotAName' = TEXT", &["TEXT"]),
        ("call(keyword=VALUE, *args, **kwargs)", &["VALUE", "args", "call", "kwargs"]),
        ("del cache[key], _tmp, obj.attr", &["cache", "key", "obj"]),
        ("a, *rest = values", &["values"]),
        ("x = a if cond else b", &["a", "b", "cond"]),
        ("s = {first, *others}", &["first", "others"]),
        ("for i in items:\n    total = total + i\nelse:\n    done(total)", &["done", "i", "items", "total"]),
        ("while busy():\n    wait(DELAY)", &["DELAY", "busy", "wait"]),
        ("with lock, open(path) as f:\n    data = f.read()", &["f", "lock", "open", "path"]),
        ("try:\n    x = load()\nexcept (OSError, errors.Bad) as err:\n    log(err)\nfinally:\n    close()",
            &["OSError", "close", "err", "errors", "load", "log"]),
        (
            "match command:\n    case Point(x=0, y=Y0):\n        pass\n    case Color.RED:\n        pass\n    \
             case {consts.KEY: v} if v > LIMIT:\n        use(v)\n    case [a, *rest]:\n        pass",
            &["Color", "LIMIT", "Point", "command", "consts", "use", "v"],
        ),
        (
            "if DEBUG:\n    @trace(LEVEL)\n    def helper(a: Ann = DEFAULT, *args: Var) -> Ret:\n        return body_name\n",
            &["Ann", "DEBUG", "DEFAULT", "LEVEL", "Ret", "Var", "body_name", "trace"],
        ),
        ("if DEBUG:\n    class Local(Base, metaclass=Meta):\n        size = SIZE\n", &["Base", "DEBUG", "Meta", "SIZE"]),
        ("global counter", &[]),
        ("import os.path as osp", &[]),
        ("from . import sibling", &[]),
    ];
    for (source, expected) in cases {
        assert_eq!(first_statement(source, (3, 12)).reads, *expected, "source {source:?}");
    }
}

#[test]
fn template_strings_are_read_like_f_strings() {
    let statement = first_statement("s = t\"{user!r:{width}} {amount=}\"\n", (3, 14));
    assert_eq!(statement.reads, ["amount", "user", "width"]);
}

#[test]
fn a_long_operator_chain_is_read_without_deep_recursion() {
    // CPython compiles chains of a few thousand operands; each is one level of the tree.
    let source = format!("x = FIRST{}\ny = obj{}\n", " + 1".repeat(5000), ".attr".repeat(5000));
    let tree = tree_for(&source, (3, 12));
    let reads: Vec<&[String]> = tree.items.iter().filter_map(Item::as_stmt).map(|s| &s.reads[..]).collect();
    assert_eq!(reads, [&["FIRST".to_string()][..], &["obj".to_string()][..]]);
}

#[test]
fn statement_kinds_from_the_tree() {
    let cases: &[(&str, StatementKind)] = &[
        ("for i in x:\n    pass\n", StatementKind::Block),
        ("async def f():\n    pass\nasync for i in x:\n    pass\n", StatementKind::Block),
        ("async def f():\n    pass\nasync with y:\n    pass\n", StatementKind::Block),
        ("while x:\n    pass\n", StatementKind::Block),
        ("with x:\n    pass\n", StatementKind::Block),
        ("try:\n    pass\nexcept E:\n    pass\n", StatementKind::Block),
        ("try:\n    pass\nexcept* E:\n    pass\n", StatementKind::Block),
        ("if x:\n    pass\n", StatementKind::Plain),
        ("del x\n", StatementKind::Delete),
        ("del(x)\n", StatementKind::Delete),
        ("f = lambda: 0\n", StatementKind::LambdaAssignment),
        ("f = (lambda x, y=1: x + y)\n", StatementKind::LambdaAssignment),
        ("a = b = lambda: 0\n", StatementKind::Plain),
        ("f: T = lambda: 0\n", StatementKind::Plain),
        ("obj.f = lambda: 0\n", StatementKind::Plain),
        ("f = lambda_factory()\n", StatementKind::Plain),
        ("f = [lambda: 0]\n", StatementKind::Plain),
    ];
    for (source, kind) in cases {
        let tree = tree_for(source, (3, 12));
        let statement = tree.items.iter().find_map(Item::as_stmt).expect("a statement");
        assert_eq!(statement.kind, *kind, "source {source:?}");
    }
}

#[test]
fn del_statements_list_the_names_they_delete() {
    let statement = first_statement("del a, (b, [c]), d.e, f[0]\n", (3, 12));
    assert_eq!(statement.deletes, ["a", "b", "c"]);
    assert_eq!(statement.reads, ["d", "f"]);
    assert!(first_statement("x = 1\n", (3, 12)).deletes.is_empty());
}

#[test]
fn labels_are_the_first_line_cut_at_forty_characters() {
    assert_eq!(first_statement("print(x,\n      y)\n", (3, 12)).label, "print(x,");
    let long = first_statement("register_handler('a very long handler name', priority=10)\n", (3, 12));
    assert_eq!(long.label, "register_handler('a very long handler na…");
    assert_eq!(
        first_statement("print('ééééééééééééééééééééééééééééééééééééééééé')\n", (3, 12)).label.chars().count(),
        41
    );
}

#[test]
fn function_header_decorators_docstring_and_what_they_read() {
    let source = "@trace(f\"{LEVEL}\")\n@cache  # comment\ndef f(a: Ann = f\"{DEFAULT:{W}}\", *args, k=lambda: KW, **kw) -> Ret:\n    \"\"\"Doc.\"\"\"\n    return BODY\n";
    let tree = tree_for(source, (3, 12));
    let def = first_def(&tree);
    assert_eq!(&source[def.header.clone()], "(a: Ann = f\"{DEFAULT:{W}}\", *args, k=lambda: KW, **kw) -> Ret");
    let decorators: Vec<&str> = def.decorators.iter().map(|r| &source[r.clone()]).collect();
    assert_eq!(decorators, ["trace(f\"{LEVEL}\")", "cache"]);
    assert_eq!(def.docstring.clone().map(|r| &source[r]), Some("\"\"\"Doc.\"\"\""));
    assert_eq!(def.signature_reads, ["Ann", "DEFAULT", "KW", "Ret", "W"]);
    assert_eq!(def.decorator_reads, ["LEVEL", "cache", "trace"]);
}

#[test]
fn class_header_and_method_signatures() {
    let source = "class K(Base, metaclass=Meta):\n    'doc' 'more'\n    def m(self, y=f\"[{NAME}]\"):\n        return y\nclass Bare:\n    pass\n";
    let tree = tree_for(source, (3, 12));
    let class = first_def(&tree);
    assert_eq!(&source[class.header.clone()], "(Base, metaclass=Meta)");
    assert_eq!(class.docstring.clone().map(|r| &source[r]), Some("'doc' 'more'"));
    assert!(class.signature_reads.is_empty() && class.decorators.is_empty());
    let method = class.children.iter().find_map(Item::as_def).expect("method");
    assert_eq!(method.signature_reads, ["NAME"]);
    let bare = tree.items[1].as_def().expect("class");
    assert!(bare.header.is_empty());
    assert_eq!(bare.header.start, source.find("Bare").unwrap() + 4);
    assert_eq!(bare.docstring, None);
}

#[test]
fn ranges_count_a_leading_bom() {
    let source = "\u{feff}@deco\ndef f(x=1):\n    'doc'\n";
    let tree = tree_for(source, (3, 12));
    let def = first_def(&tree);
    assert_eq!(&source[def.header.clone()], "(x=1)");
    assert_eq!(&source[def.decorators[0].clone()], "deco");
    assert_eq!(def.docstring.clone().map(|r| &source[r]), Some("'doc'"));
}

fn names(pairs: &[(&str, &str)]) -> ImportedNames {
    ImportedNames::Names(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
}

#[test]
fn imports_at_every_depth_in_source_order() {
    let source = "\
import os, a.b as c
from x import (
    y,
    z as w,  # comment
)
from .pkg import *
from .. import sib
s = 'import nope'
doc = \"\"\"
from fake import thing
\"\"\"
# import hidden
def f():
    import inner.mod
    if True:
        from .local import helper
class K:
    from typing import List
try:
    import fast
except ImportError:
    from slow import fast
match v:
    case 1:
        import in_match
";
    let tree = tree_for(source, (3, 12));
    let module = |level, module: &str| Import { level, module: module.into(), names: ImportedNames::Module };
    let from = |level, module: &str, pairs| Import { level, module: module.into(), names: names(pairs) };
    assert_eq!(
        tree.imports,
        vec![
            module(0, "os"),
            module(0, "a.b"),
            from(0, "x", &[("y", "y"), ("z", "w")]),
            Import { level: 1, module: "pkg".into(), names: ImportedNames::Star },
            from(2, "", &[("sib", "sib")]),
            module(0, "inner.mod"),
            from(1, "local", &[("helper", "helper")]),
            from(0, "typing", &[("List", "List")]),
            module(0, "fast"),
            from(0, "slow", &[("fast", "fast")]),
            module(0, "in_match"),
        ]
    );
}

#[test]
fn imports_without_a_tree_match_the_tree() {
    let source = "\u{feff}import os\ndef f():\n    from .sub import (a,\n        b as c)\nx = 'import fake'\n";
    let imports = crate::parse::parse_imports(source, (3, 12));
    assert_eq!(imports, tree_for(source, (3, 12)).imports);
    assert_eq!(imports.len(), 2);
    // A file that does not parse still gives the imports the parser recovered.
    let broken = crate::parse::parse_imports("import json\ndef broken(:\n", (3, 12));
    assert_eq!(broken, vec![Import { level: 0, module: "json".into(), names: ImportedNames::Module }]);
}

#[test]
fn a_module_level_function_knows_the_globals_its_body_reads() {
    let source = "\
def _init(prefix, *args, flag=DEFAULT, **kw):
    import os.path
    from json import dumps as to_json
    total = 0
    for code, titles in _codes.items():
        total += len(titles) + OFFSET
        setattr(codes, prefix + titles[0], code)
    global counter
    counter = total
    def helper():
        return LIMIT, helper
    return to_json(args), os, kw, flag, counter, [t for t in TABLE]


class K:
    def method(self):
        return HIDDEN
";
    let tree = tree_for(source, PythonVersion::default());
    let def = first_def(&tree);
    // Parameters, stores, imports and nested definitions are local; `counter` is declared
    // global; a default (`DEFAULT`) is read by the signature, not by the body.
    let expected = ["LIMIT", "OFFSET", "TABLE", "_codes", "codes", "counter", "len", "setattr"];
    assert_eq!(def.global_reads, expected);
    let class = tree.items.iter().filter_map(Item::as_def).nth(1).expect("class K");
    let Some(Item::Def(method)) = class.children.first() else { panic!("method") };
    assert!(method.global_reads.is_empty(), "only module-level functions are recorded");
}

#[test]
fn a_statement_binding_nothing_names_what_it_changes_in_place() {
    let cases: &[(&str, Option<&str>)] = &[
        ("TABLE['b'] = 2", Some("TABLE")),
        ("TABLE.x.y += 1", Some("TABLE")),
        ("del spec['alt']", Some("spec")),
        ("TABLE.update(c=3)", Some("TABLE")),
        ("codes.items['a'].append(1)", Some("codes")),
        ("a.b: int = 1", Some("a")),
        ("print(TABLE)", None),
        ("x = 1", None),
        ("a[0], b[1] = 1, 2", None),
        ("f()()", None),
    ];
    for (source, expected) in cases {
        let stmt = first_statement(source, PythonVersion::default());
        assert_eq!(stmt.mutates.as_deref(), *expected, "{source}");
    }
}
