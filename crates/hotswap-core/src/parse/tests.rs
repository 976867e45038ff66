use super::*;
use crate::tree::{DefKind, Definition, DefinitionTree, Item, LineSpan, StatementKind};

const PY: PythonVersion = (3, 12);

fn tree(source: &str) -> DefinitionTree {
    match parse_definitions(source, PY) {
        Ok(tree) => tree,
        Err(issues) => panic!("unexpected syntax issues in {source:?}: {issues:?}"),
    }
}

/// Every definition of the tree, depth first, in source order.
fn all_defs(items: &[Item]) -> Vec<&Definition> {
    let mut out = Vec::new();
    for item in items {
        if let Item::Def(d) = item {
            out.push(d);
            out.extend(all_defs(&d.children));
        }
    }
    out
}

fn find<'t>(tree: &'t DefinitionTree, qualname: &str) -> &'t Definition {
    all_defs(&tree.items)
        .into_iter()
        .find(|d| d.qualname == qualname)
        .unwrap_or_else(|| panic!("no definition {qualname}"))
}

/// Items of one scope as short labels: `def:name` / `class:name` / the statement key.
fn labels(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|item| match item {
            Item::Def(d) if d.kind.is_class() => format!("class:{}", d.name),
            Item::Def(d) => format!("def:{}", d.name),
            Item::Stmt(s) => s.key.clone(),
        })
        .collect()
}

/// Every item (at any depth) must satisfy the byte-range and span invariants.
fn check_invariants(source: &str, items: &[Item]) {
    for item in items {
        let range = item.byte_range();
        let text = source.get(range.clone()).unwrap_or_else(|| panic!("bad range {range:?}"));
        assert!(!text.is_empty());
        assert!(!text.ends_with(['\n', '\r', ' ', '\t']), "trailing whitespace in {text:?}");
        let span = item.span();
        assert!(span.start <= span.end);
        let newlines = text.matches('\n').count() + text.matches('\r').count() - text.matches("\r\n").count();
        assert_eq!((span.end - span.start) as usize, newlines, "span of {text:?}");
        if let Item::Def(d) = item {
            assert!(d.span.start <= d.def_line && d.def_line <= d.span.end);
            check_invariants(source, &d.children);
        }
    }
}

const NESTED_CLASS: &str = "\
import os

class Outer:
    \"\"\"Outer doc.\"\"\"
    x = 1

    class Inner:
        @staticmethod
        @other(1,
               2)
        def m(a, b=2) -> int:
            \"\"\"m doc\"\"\"
            return a + b  # trailing comment

        # a comment after

    y = 2
";

#[test]
fn decorated_method_in_nested_class_positions() {
    let t = tree(NESTED_CLASS);
    check_invariants(NESTED_CLASS, &t.items);
    assert_eq!(t.line_count, 17);
    assert_eq!(t.docstring_hash, None);
    assert_eq!(labels(&t.items), ["#import os", "class:Outer"]);

    let outer = find(&t, "Outer");
    assert_eq!(outer.kind, DefKind::Class);
    assert_eq!(outer.span, LineSpan { start: 3, end: 17 });
    assert_eq!(outer.def_line, 3);
    assert_eq!(outer.indent, "");
    assert!(outer.docstring_hash.is_some());
    assert_eq!(outer.decorators_hash, 0);
    assert_eq!(labels(&outer.children), ["=x", "class:Inner", "=y"]);
    assert!(NESTED_CLASS[outer.byte_range.clone()].starts_with("class Outer:"));
    assert!(NESTED_CLASS[outer.byte_range.clone()].ends_with("y = 2"));

    let inner = find(&t, "Outer.Inner");
    assert_eq!(inner.span, LineSpan { start: 7, end: 13 });
    assert_eq!(inner.indent, "    ");
    assert_eq!(inner.docstring_hash, None);

    let m = find(&t, "Outer.Inner.m");
    assert_eq!(m.name, "m");
    assert_eq!(m.kind, DefKind::Function);
    assert_eq!(m.span, LineSpan { start: 8, end: 13 });
    assert_eq!(m.def_line, 11);
    assert_eq!(m.indent, "        ");
    assert_ne!(m.decorators_hash, 0);
    assert!(m.docstring_hash.is_some());
    assert_eq!(
        &NESTED_CLASS[m.byte_range.clone()],
        "@staticmethod\n        @other(1,\n               2)\n        def m(a, b=2) -> int:\n            \
         \"\"\"m doc\"\"\"\n            return a + b"
    );
    let y = outer.children[2].as_stmt().unwrap();
    assert_eq!(y.span, LineSpan { start: 17, end: 17 });
    assert_eq!(y.indent, "    ");
    assert_eq!(&NESTED_CLASS[y.byte_range.clone()], "y = 2");
    assert_eq!(y.binds, ["y"]);
}

const NESTED_FUNCTIONS: &str = "\
def f(x):
    if x:
        def g():
            def h(): pass
            return h
    else:
        class C:
            def m(self): pass
    for i in x:
        async def k(): pass
    try:
        pass
    except E:
        @dec
        def e(): pass
    lam = lambda: 1
    return g
";

#[test]
fn nested_functions_and_qualnames() {
    let t = tree(NESTED_FUNCTIONS);
    check_invariants(NESTED_FUNCTIONS, &t.items);
    let f = find(&t, "f");
    assert_eq!(labels(&f.children), ["def:g", "class:C", "def:k", "def:e"]);
    let qualnames: Vec<&str> = all_defs(&t.items).iter().map(|d| d.qualname.as_str()).collect();
    assert_eq!(
        qualnames,
        [
            "f",
            "f.<locals>.g",
            "f.<locals>.g.<locals>.h",
            "f.<locals>.C",
            "f.<locals>.C.m",
            "f.<locals>.k",
            "f.<locals>.e"
        ]
    );
    let g = find(&t, "f.<locals>.g");
    assert_eq!(g.span, LineSpan { start: 3, end: 5 });
    assert_eq!(g.indent, "        ");
    assert_eq!(&NESTED_FUNCTIONS[g.byte_range.clone()], "def g():\n            def h(): pass\n            return h");
    let h = find(&t, "f.<locals>.g.<locals>.h");
    assert_eq!((h.span, h.def_line), (LineSpan { start: 4, end: 4 }, 4));
    assert_eq!(find(&t, "f.<locals>.k").kind, DefKind::AsyncFunction);
    let e = find(&t, "f.<locals>.e");
    assert_eq!((e.span, e.def_line), (LineSpan { start: 14, end: 15 }, 15));
    assert_eq!(f.span, LineSpan { start: 1, end: 17 });
}

#[test]
fn statement_keys() {
    let cases: &[(&str, &[&str])] = &[
        ("x = 1\n", &["=x"]),
        ("a = b = 1\n", &["=a,b"]),
        ("x: int\n", &["=x"]),
        ("x: int = 1\n", &["=x"]),
        ("a, b = 1, 2\n", &["#a, b = 1, 2"]),
        ("[a, b] = 1, 2\n", &["#[a, b] = 1, 2"]),
        ("a = b.c = 1\n", &["#a = b.c = 1"]),
        ("obj.attr = 1\n", &["#obj.attr = 1"]),
        ("d[k] = 1\n", &["#d[k] = 1"]),
        ("x += 1\n", &["#x += 1"]),
        ("x = 1\nx = 2\nx = 3\n", &["=x", "=x@2", "=x@3"]),
        ("print('a')\nprint('a')\n", &["#print('a')", "#print('a')@2"]),
        ("a\na\na@2\n", &["#a", "#a@2", "#a@2@2"]),
        ("import os\ndef f(): pass\nimport os\n", &["#import os", "def:f", "#import os@2"]),
        ("\"\"\"Module doc.\"\"\"\nx = 1\n", &["=x"]),
        ("x = 1; y = 2\n", &["=x", "=y"]),
        ("if a:\n    x = 1\n", &["#if a:\n    x = 1"]),
        ("if a:\r\n    x = 1\r\n", &["#if a:\n    x = 1"]),
        ("class C: pass\nclass C: pass\n", &["class:C", "class:C"]),
    ];
    for (source, expected) in cases {
        assert_eq!(labels(&tree(source).items), *expected, "source {source:?}");
    }
}

#[test]
fn class_children_keys_and_docstring() {
    let source = "class C:\n    'doc'\n    x = 1\n    x = 2\n    def m(self): pass\n    print(x)\n";
    let t = tree(source);
    let c = find(&t, "C");
    assert!(c.docstring_hash.is_some());
    assert_eq!(labels(&c.children), ["=x", "=x@2", "def:m", "#print(x)"]);
}

#[test]
fn statement_kinds() {
    let cases: &[(&str, StatementKind)] = &[
        ("if __name__ == \"__main__\":\n    main()\n", StatementKind::MainGuard),
        ("if __name__ == '__main__':\n    main()\n", StatementKind::MainGuard),
        ("if '__main__' == __name__:\n    main()\n", StatementKind::MainGuard),
        ("if __name__ == \"\"\"__main__\"\"\":\n    main()\n", StatementKind::MainGuard),
        ("if __name__ == '__main__':\n    main()\nelse:\n    lib()\n", StatementKind::MainGuard),
        ("if __name__ != '__main__':\n    main()\n", StatementKind::Plain),
        ("if __name__ == '__main__' and x:\n    main()\n", StatementKind::Plain),
        ("if name == '__main__':\n    main()\n", StatementKind::Plain),
        ("from __future__ import annotations\n", StatementKind::FutureImport),
        ("from __future__ import annotations, division\n", StatementKind::FutureImport),
        ("from .__future__ import x\n", StatementKind::Plain),
        ("import __future__\n", StatementKind::Plain),
        ("x = 1\n", StatementKind::Plain),
    ];
    for (source, kind) in cases {
        let t = tree(source);
        assert_eq!(t.items[0].as_stmt().unwrap().kind, *kind, "source {source:?}");
    }
}

#[test]
fn statement_binds() {
    let cases: &[(&str, &[&str])] = &[
        ("x = 1", &["x"]),
        ("a = b = 1", &["a", "b"]),
        ("a, (b, [c, *d]) = v", &["a", "b", "c", "d"]),
        ("a, b = b, a", &["a", "b"]),
        ("obj.attr = 1", &[]),
        ("d[k] = v", &[]),
        ("x += 1", &["x"]),
        ("x: int = 1", &["x"]),
        ("x: int", &[]),
        ("import os", &["os"]),
        ("import os.path", &["os"]),
        ("import os.path as osp, sys", &["osp", "sys"]),
        ("from a.b import c, d as e", &["c", "e"]),
        ("from . import sibling", &["sibling"]),
        ("from .mod import *", &[]),
        ("for i, (k, v) in items:\n    total = i\nelse:\n    done = 1", &["i", "k", "v", "total", "done"]),
        ("while cond:\n    n = 1", &["n"]),
        ("with open(p) as f, lock, ctx() as (a, b):\n    data = f.read()", &["f", "a", "b", "data"]),
        ("try:\n    import x\nexcept ImportError as err:\n    x = None\nelse:\n    y = 1\nfinally:\n    z = 2", &["x", "err", "y", "z"]),
        ("if a:\n    def f(): pass\nelif b:\n    class C: pass\nelse:\n    g = lambda: 1", &["f", "C", "g"]),
        ("if a:\n    if b:\n        def f():\n            inner = 1\n        x = 2", &["f", "x"]),
        ("match p:\n    case [a, *rest]:\n        pass\n    case {'k': v, **kw}:\n        w = 1\n    case Point(x=px) as pt:\n        pass", &["a", "rest", "v", "kw", "w", "px", "pt"]),
        ("global g\ng = 1", &["g"]),
        ("global g", &[]),
        ("del x", &[]),
        ("print(x)", &[]),
        ("(y := 5)", &["y"]),
        ("if (m := f()):\n    pass", &["m"]),
        ("type Alias = int", &["Alias"]),
        ("x = 1; x = 2", &["x"]),
        ("if a:\n    x = 1\nelse:\n    x = 2", &["x"]),
        ("naïve = 1", &["naïve"]),
    ];
    for (source, expected) in cases {
        let t = tree(source);
        let binds: Vec<&str> = t
            .items
            .iter()
            .flat_map(|item| match item {
                Item::Stmt(s) => s.binds.iter().map(String::as_str).collect::<Vec<_>>(),
                Item::Def(_) => Vec::new(),
            })
            .collect();
        let mut seen = Vec::new();
        for b in binds {
            if !seen.contains(&b) {
                seen.push(b);
            }
        }
        assert_eq!(seen, *expected, "source {source:?}");
    }
}

#[test]
fn binds_are_deduplicated_in_order() {
    let source = "if a:\n    x = 1\n    y = 2\nelse:\n    y = 3\n    x = 4\n";
    assert_eq!(tree(source).items[0].as_stmt().unwrap().binds, ["x", "y"]);
    let many: String = (0..40).map(|i| format!("    v{} = 1\n    v{} = 2\n", i % 20, i)).collect();
    let source = format!("if a:\n{many}");
    let t = tree(&source);
    let expected: Vec<String> = (0..40).map(|i| format!("v{i}")).collect();
    assert_eq!(t.items[0].as_stmt().unwrap().binds, expected);
}

fn def_hashes(source: &str, qualname: &str) -> (u64, u64, u64, Option<u64>, LineSpan) {
    let t = tree(source);
    let d = find(&t, qualname);
    (d.body_hash, d.header_hash, d.decorators_hash, d.docstring_hash, d.span)
}

#[test]
fn hashes_follow_text_not_position() {
    let base = "def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x + b\n";
    let (body, header, decorators, doc, span) = def_hashes(base, "f");
    // Moved: same hashes, other span.
    let moved = def_hashes(&format!("\n\n# comment\n{base}"), "f");
    assert_eq!((moved.0, moved.1, moved.2, moved.3), (body, header, decorators, doc));
    assert_eq!(moved.4, LineSpan { start: span.start + 3, end: span.end + 3 });
    // Each part changes only its own hash.
    let cases: &[(&str, [bool; 4])] = &[
        ("def f(a, b=2) -> int:\n    '''doc'''\n    x = a\n    return x + b\n", [false, true, false, false]),
        ("def f(a, b=1) -> str:\n    '''doc'''\n    x = a\n    return x + b\n", [false, true, false, false]),
        ("async def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x + b\n", [false, true, false, false]),
        ("def f(a, b=1) -> int:\n    '''other'''\n    x = a\n    return x + b\n", [false, false, false, true]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x - b\n", [true, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x  +  b\n", [true, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n\n    return x + b\n", [true, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n    x = a  # note\n    return x + b\n", [true, false, false, false]),
        ("def f(a, b=1) -> int:\n  '''doc'''\n  x = a\n  return x + b\n", [true, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n\n    x = a\n    return x + b\n", [true, false, false, false]),
        ("@cache\ndef f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x + b\n", [false, false, true, false]),
        ("def f(a, b=1) -> int:  # note\n    '''doc'''\n    x = a\n    return x + b\n", [false, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc'''\n    x = a\n    return x + b  # note\n", [false, false, false, false]),
        ("def f(a, b=1) -> int:\n    '''doc\n    more'''\n    x = a\n    return x + b\n", [true, false, false, true]),
        ("def f(a, b=1) -> int:\n\n    '''doc'''\n    x = a\n    return x + b\n", [true, false, false, false]),
        ("def f(a,\n      b=1) -> int:\n    '''doc'''\n    x = a\n    return x + b\n", [true, true, false, false]),
    ];
    for (source, [b, h, d, ds]) in cases {
        let (body2, header2, decorators2, doc2, _) = def_hashes(source, "f");
        assert_eq!(
            [body != body2, header != header2, decorators != decorators2, doc != doc2],
            [*b, *h, *d, *ds],
            "source {source:?}"
        );
    }
}

#[test]
fn docstring_only_body_and_decorator_hashes() {
    let a = def_hashes("def f():\n    'one'\n", "f");
    let b = def_hashes("def f():\n    'two'\n", "f");
    assert_eq!(a.0, b.0);
    assert_eq!(a.0, hash_str(""));
    assert_ne!(a.3, b.3);
    assert_eq!(def_hashes("def f(): pass\n", "f").3, None);
    let one = def_hashes("@a\n@b\ndef f(): pass\n", "f").2;
    let spaced = def_hashes("@ a\n@b # c\ndef f(): pass\n", "f").2;
    let blank_line = def_hashes("@a\n\n@b\ndef f(): pass\n", "f").2;
    let swapped = def_hashes("@b\n@a\ndef f(): pass\n", "f").2;
    assert_eq!(one, spaced);
    assert_ne!(one, swapped);
    assert_eq!(one, blank_line);
    let body = |s: &str| def_hashes(s, "f").0;
    assert_eq!(body("@a\n@b\ndef f(): pass\n"), body("def f(): pass\n"));
    assert_eq!(body("@a\n@b\ndef f(): pass\n"), body("@a(\n  1)\n@b\ndef f(): pass\n"));
    assert_ne!(body("@a\n@b\ndef f(): pass\n"), body("@a\n\n@b\ndef f(): pass\n"));
    assert_ne!(body("@a\n@b\ndef f(): pass\n"), body("@a\n@b\n# note\ndef f(): pass\n"));
    assert_ne!(one, 0);
    // Class header: bases, keywords and type parameters.
    let c = |s: &str| def_hashes(s, "C").1;
    assert_ne!(c("class C(A):\n    pass\n"), c("class C(B):\n    pass\n"));
    assert_ne!(c("class C(A):\n    pass\n"), c("class C(A, metaclass=M):\n    pass\n"));
    assert_ne!(c("class C:\n    pass\n"), c("class C[T]:\n    pass\n"));
    assert_eq!(c("class C(A):\n    pass\n"), c("class C(A):\n    x = 1\n"));
}

#[test]
fn module_docstring() {
    let t = tree("'''Doc.'''\nimport os\n");
    assert!(t.docstring_hash.is_some());
    assert_eq!(labels(&t.items), ["#import os"]);
    assert_eq!(tree("import os\n'''Not a docstring.'''\n").docstring_hash, None);
    assert_eq!(tree("f'''{x}'''\n").docstring_hash, None);
    assert_eq!(tree("b'''bytes'''\n").docstring_hash, None);
    assert!(tree("'a' 'b'\n").docstring_hash.is_some());
}

#[test]
fn line_endings_bom_tabs_and_unicode() {
    let lf = "import os\n\n@dec\ndef f(x):\n    if x:\n        return 1\n    return 2\n\nclass C:\n    y = 1\n";
    let crlf = lf.replace('\n', "\r\n");
    let cr = lf.replace('\n', "\r");
    let (t_lf, t_crlf, t_cr) = (tree(lf), tree(&crlf), tree(&cr));
    for (source, t) in [(lf, &t_lf), (crlf.as_str(), &t_crlf), (cr.as_str(), &t_cr)] {
        check_invariants(source, &t.items);
        assert_eq!(t.line_count, 10);
        let f = find(t, "f");
        assert_eq!((f.span, f.def_line), (LineSpan { start: 3, end: 7 }, 4));
    }
    // Same hashes and keys whatever the line endings.
    assert_eq!(
        t_lf.items.iter().map(labels_one).collect::<Vec<_>>(),
        t_crlf.items.iter().map(labels_one).collect::<Vec<_>>()
    );
    let hashes =
        |t: &DefinitionTree| all_defs(&t.items).iter().map(|d| (d.body_hash, d.header_hash)).collect::<Vec<_>>();
    assert_eq!(hashes(&t_lf), hashes(&t_crlf));
    assert_eq!(hashes(&t_lf), hashes(&t_cr));
    assert_eq!(
        &crlf[find(&t_crlf, "f").byte_range.clone()],
        "@dec\r\ndef f(x):\r\n    if x:\r\n        return 1\r\n    return 2"
    );

    // BOM: byte ranges count it, lines and columns do not.
    let bom = format!("\u{feff}{lf}");
    let t_bom = tree(&bom);
    check_invariants(&bom, &t_bom.items);
    assert_eq!(t_bom.items[0].byte_range(), 3..12);
    assert_eq!(&bom[find(&t_bom, "f").byte_range.clone()], &lf[find(&t_lf, "f").byte_range.clone()]);
    assert_eq!(hashes(&t_bom), hashes(&t_lf));
    let issues = parse_definitions("\u{feff}x = (]\n", PY).unwrap_err();
    assert_eq!((issues[0].line, issues[0].column), (1, 6));
    assert_eq!(parse_definitions("\u{feff}", PY).map(|t| t.line_count), Ok(0));

    // Tabs.
    let tabs = "class C:\n\tdef m(self):\n\t\treturn 1\n";
    let t = tree(tabs);
    let m = find(&t, "C.m");
    assert_eq!(m.indent, "\t");
    assert_eq!(&tabs[m.byte_range.clone()], "def m(self):\n\t\treturn 1");

    // Unicode identifiers and text.
    let uni = "# é\nclass Ünï:\n    naïve = 'ü'\n    def métho(self): return 'π'\n";
    let t = tree(uni);
    check_invariants(uni, &t.items);
    let m = find(&t, "Ünï.métho");
    assert_eq!(&uni[m.byte_range.clone()], "def métho(self): return 'π'");
    assert_eq!(labels(&find(&t, "Ünï").children), ["=naïve", "def:métho"]);
}

fn labels_one(item: &Item) -> String {
    labels(std::slice::from_ref(item)).remove(0)
}

#[test]
fn line_count() {
    let cases: &[(&str, u32)] = &[
        ("", 0),
        ("x = 1", 1),
        ("x = 1\n", 1),
        ("x = 1\n\n", 2),
        ("x = 1\r\ny = 2", 2),
        ("x = 1\r\ny = 2\r\n", 2),
        ("\n\n\n", 3),
        ("# only a comment\n", 1),
    ];
    for (source, expected) in cases {
        assert_eq!(tree(source).line_count, *expected, "source {source:?}");
    }
}

#[test]
fn spans_exclude_trailing_comments_and_blank_lines() {
    let source = "def f():\n    x = 1\n    # trailing comment\n\n\ndef g():\n    pass  # c\n# after\n";
    let t = tree(source);
    assert_eq!(find(&t, "f").span, LineSpan { start: 1, end: 2 });
    assert_eq!(find(&t, "g").span, LineSpan { start: 6, end: 7 });
    let source = "x = [\n    1,\n    2,\n]  # c\ny = '''a\nb\n'''\nz = 1 \\\n    + 2\n";
    let t = tree(source);
    check_invariants(source, &t.items);
    let spans: Vec<LineSpan> = t.items.iter().map(Item::span).collect();
    assert_eq!(spans, [LineSpan { start: 1, end: 4 }, LineSpan { start: 5, end: 7 }, LineSpan { start: 8, end: 9 }]);
    let s = t.items[2].as_stmt().unwrap();
    assert_eq!(&source[s.byte_range.clone()], "z = 1 \\\n    + 2");
}

#[test]
fn syntax_errors_positions() {
    let cases: &[(&str, u32, u32)] = &[
        ("def f(:\n    pass\n", 1, 7),
        ("x = 1\ny = (]\n", 2, 6),
        ("if True:\npass\n", 2, 1),
        ("x = (1,\n", 2, 1),
        ("é = (]\n", 1, 6),
        ("def f():\n    return 1\n  x = 2\n", 3, 1),
        ("class C:\n    def m(self)\n        pass\n", 2, 16),
        ("x = 'unterminated\n", 1, 5),
        ("\tif x:\n", 1, 1),
    ];
    for (source, line, column) in cases {
        let issues = parse_definitions(source, PY).expect_err(source);
        assert!(!issues.is_empty());
        assert_eq!((issues[0].line, issues[0].column), (*line, *column), "source {source:?}: {issues:?}");
        assert!(issues.iter().all(|i| !i.message.is_empty() && !i.message.contains("byte range")));
        let mut sorted = issues.clone();
        sorted.sort_by_key(|i| (i.line, i.column));
        assert_eq!(sorted, issues);
    }
}

#[test]
fn syntax_newer_than_target() {
    let cases: &[(&str, PythonVersion, &str)] = &[
        ("type X = int\n", (3, 11), "3.12"),
        ("def f[T](x: T) -> T:\n    return x\n", (3, 11), "3.12"),
        ("class C[T]:\n    pass\n", (3, 11), "3.12"),
        ("try:\n    pass\nexcept* E:\n    pass\n", (3, 10), "3.11"),
        ("match x:\n    case 1:\n        pass\n", (3, 9), "3.10"),
        ("with (open(a) as f, open(b) as g):\n    pass\n", (3, 8), "3.9"),
        ("x = t'hi {a}'\n", (3, 13), "3.14"),
        ("x = f'{'nested'}'\n", (3, 11), "3.12"),
        ("def f[T = int](): pass\n", (3, 12), "3.13"),
        ("if (n := 1): pass\n", (3, 7), "3.8"),
    ];
    for (source, target, needed) in cases {
        let issues = parse_definitions(source, *target).expect_err(source);
        let running = format!("(running {}.{})", target.0, target.1);
        let message = &issues[0].message;
        assert!(message.contains(&format!("requires Python {needed}")), "{source:?}: {message}");
        assert!(message.ends_with(&running), "{source:?}: {message}");
        let needed: Vec<u8> = needed.split('.').map(|p| p.parse().unwrap()).collect();
        assert!(parse_definitions(source, (needed[0], needed[1])).is_ok(), "{source:?} on {needed:?}");
    }
    let issues = parse_definitions("x = 1\ntype X = int\n", (3, 11)).unwrap_err();
    assert_eq!(issues.len(), 1);
    assert_eq!((issues[0].line, issues[0].column), (2, 1));
    assert_eq!(issues[0].message, "Cannot use `type` alias statement: requires Python 3.12 (running 3.11)");
}

#[test]
fn too_deep_nesting_is_an_issue_not_a_crash() {
    let mut source = String::new();
    for depth in 0..150 {
        source.push_str(&" ".repeat(depth));
        source.push_str("if x:\n");
    }
    source.push_str(&" ".repeat(150));
    source.push_str("pass\n");
    let issues = parse_definitions(&source, PY).unwrap_err();
    assert!(issues[0].message.contains("too many levels of indentation"), "{issues:?}");
    // 60 levels of defs and ifs are fine.
    let mut source = String::new();
    for depth in 0..60 {
        source.push_str(&" ".repeat(depth));
        source.push_str(if depth % 2 == 0 { "def f():\n" } else { "if x:\n" });
    }
    source.push_str(&" ".repeat(60));
    source.push_str("pass\n");
    assert!(parse_definitions(&source, PY).is_ok());
}

#[test]
fn line_lookup_matches_line_index() {
    let source = "a\n\nbb\r\nccc\rdddd\n\n\nlast";
    let index = LineIndex::from_source_text(source);
    let builder = Builder {
        text: source,
        bom: 0,
        index: LineIndex::from_source_text(source),
        issues: Vec::new(),
        line_hints: [Cell::new(0), Cell::new(0)],
        has_cr: true,
    };
    // Forward, backward and jumping lookups all agree with the binary search.
    let mut offsets: Vec<usize> = (0..=source.len()).collect();
    offsets.extend((0..=source.len()).rev());
    offsets.extend((0..=source.len()).map(|i| (i * 7) % (source.len() + 1)));
    for offset in offsets {
        let size = TextSize::try_from(offset).unwrap();
        assert_eq!(builder.line0(size), index.line_index(size).to_zero_indexed(), "offset {offset}");
    }
}

#[test]
fn def_line_after_decorators_comments_and_parentheses() {
    let source =
        "@(dec)  # c\n# comment\n\n@other(\n    1)\nasync  def f(): pass\nclass C:\n    @a\n    class D: pass\n";
    let t = tree(source);
    check_invariants(source, &t.items);
    let f = find(&t, "f");
    assert_eq!((f.span, f.def_line, f.kind), (LineSpan { start: 1, end: 6 }, 6, DefKind::AsyncFunction));
    let d = find(&t, "C.D");
    assert_eq!((d.span, d.def_line), (LineSpan { start: 8, end: 9 }, 9));
    assert_eq!(&source[d.byte_range.clone()], "@a\n    class D: pass");
}

#[test]
fn one_line_and_semicolon_forms() {
    let source = "class D: pass\nclass E(): x = 1; y = 2\ndef f(): return 1\n";
    let t = tree(source);
    check_invariants(source, &t.items);
    assert_eq!(labels(&find(&t, "E").children), ["=x", "=y"]);
    let e = find(&t, "E");
    assert_eq!(e.children[1].as_stmt().unwrap().indent, "");
    assert_eq!(find(&t, "f").span, LineSpan { start: 3, end: 3 });
}

/// A large generated module: 50,000 lines of functions, classes and statements.
pub(crate) fn large_source(lines: usize) -> String {
    let mut out = String::from("\"\"\"Big module.\"\"\"\nimport os, sys\n\n");
    let (mut i, mut count) = (0, 3);
    while count < lines {
        let chunk = match i % 3 {
            0 => format!(
                "@decorator({i})\ndef func_{i}(a, b={i}, *args, c: int = 3, **kw) -> int:\n    \"\"\"Doc {i}.\"\"\"\n    \
                 x = a + b * {i}\n    if x > 10:\n        return x - {i}\n    for j in range(3):\n        x += j\n    return x\n\n"
            ),
            1 => format!(
                "class Klass{i}(Base):\n    attr_{i} = {i}\n\n    @property\n    def value(self):\n        return self._v + {i}\n\n    \
                 @value.setter\n    def value(self, v):\n        self._v = v\n\n    class Nested:\n        def m(self):\n            \
                 return 1\n\n"
            ),
            _ => format!("CONST_{i} = {{'k': [{i}, {i} + 1]}}\nprint('loaded {i}')\n\n"),
        };
        count += chunk.matches('\n').count();
        out.push_str(&chunk);
        i += 1;
    }
    out
}

#[test]
fn large_module() {
    let source = large_source(50_000);
    let t = tree(&source);
    assert!(t.line_count >= 50_000);
    check_invariants(&source, &t.items);
    let defs = all_defs(&t.items);
    assert!(defs.len() > 10_000);
    let last = t.items.last().unwrap();
    assert_eq!(last.span().end, t.line_count - 1);
    assert!(defs.iter().any(|d| d.qualname.ends_with(".Nested.m")));
}

#[test]
fn stable_hash_distinguishes_similar_texts() {
    let mut seen = std::collections::HashSet::new();
    for i in 0..100_000 {
        for text in [format!("return {i}"), format!("    x = {i}\n"), format!("{i:>16}"), format!("{i:<9}")] {
            assert!(seen.insert(hash_str(&text)), "collision on {text:?}");
        }
    }
    // Every single-byte edit of a longer text changes its hash.
    let base = "def f(a, b):\n    return a + b  # 0123456789\n".repeat(3);
    let original = hash_str(&base);
    for pos in 0..base.len() {
        for byte in [b' ', b'x', b'\n', b'0'] {
            let mut edited = base.clone().into_bytes();
            if edited[pos] == byte {
                continue;
            }
            edited[pos] = byte;
            assert_ne!(hash_str(std::str::from_utf8(&edited).unwrap()), original, "edit at {pos}");
        }
    }
    // Pinned values: hashes must not depend on the process, the platform or a random seed.
    assert_eq!([hash_str(""), hash_str("x = 1")], PINNED);
}

const PINNED: [u64; 2] = [13_667_269_713_994_822_111, 1_678_996_365_148_479_783];
