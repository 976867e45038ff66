use super::*;
use crate::parse::parse_definitions;
use crate::tree::{DefinitionTree, Item};

fn tree(source: &str) -> DefinitionTree {
    match parse_definitions(source, (3, 12)) {
        Ok(tree) => tree,
        Err(issues) => panic!("unexpected syntax issues in {source:?}: {issues:?}"),
    }
}

fn kind_label(kind: ChangeKind) -> String {
    match kind {
        ChangeKind::Added => "Added".into(),
        ChangeKind::Deleted => "Deleted".into(),
        ChangeKind::StatementChanged => "StatementChanged".into(),
        ChangeKind::Modified(f) => {
            let flags: Vec<&str> = [
                (f.body, "body"),
                (f.header, "header"),
                (f.decorators, "decorators"),
                (f.docstring, "docstring"),
                (f.moved, "moved"),
            ]
            .into_iter()
            .filter_map(|(set, name)| set.then_some(name))
            .collect();
            format!("Modified({})", flags.join(","))
        }
    }
}

fn item_label(item: &Item) -> String {
    match item {
        Item::Def(d) => d.name.clone(),
        Item::Stmt(s) => s.key.clone(),
    }
}

/// (scope joined with ".", name or key, kind with flags) for every change.
fn describe(changes: &[Change<'_>]) -> Vec<(String, String, String)> {
    changes
        .iter()
        .map(|c| {
            let item = c.new.or(c.old).expect("a change has a side");
            (c.scope.join("."), item_label(item), kind_label(c.kind))
        })
        .collect()
}

fn diff(old: &str, new: &str) -> Vec<(String, String, String)> {
    let (old, new) = (tree(old), tree(new));
    let changes = diff_trees(&old, &new);
    for c in &changes {
        // Sides are consistent with the kind.
        match c.kind {
            ChangeKind::Added => assert!(c.old.is_none() && c.new.is_some()),
            ChangeKind::Deleted => assert!(c.old.is_some() && c.new.is_none()),
            ChangeKind::Modified(f) => {
                assert!(f.any());
                assert!(c.old.unwrap().as_def().is_some() && c.new.unwrap().as_def().is_some());
            }
            ChangeKind::StatementChanged => {
                assert!(c.old.unwrap().as_stmt().is_some() && c.new.unwrap().as_stmt().is_some());
            }
        }
    }
    describe(&changes)
}

type Case = (&'static str, &'static str, &'static str, &'static [(&'static str, &'static str, &'static str)]);

const CASES: &[Case] = &[
    ("nothing changed", "import os\n\ndef f(x):\n    return x\n\nclass C:\n    y = 1\n", "import os\n\ndef f(x):\n    return x\n\nclass C:\n    y = 1\n", &[]),
    ("body", "def f():\n    return 1\n", "def f():\n    return 2\n", &[("", "f", "Modified(body)")]),
    ("default value", "def f(a=1):\n    return a\n", "def f(a=2):\n    return a\n", &[("", "f", "Modified(header)")]),
    ("new parameter", "def f(a):\n    return a\n", "def f(a, b):\n    return a\n", &[("", "f", "Modified(header)")]),
    ("return annotation", "def f() -> int:\n    return 1\n", "def f() -> str:\n    return 1\n", &[("", "f", "Modified(header)")]),
    ("async to sync", "async def f():\n    return 1\n", "def f():\n    return 1\n", &[("", "f", "Modified(header)")]),
    ("sync to async", "def f():\n    return 1\n", "async def f():\n    return 1\n", &[("", "f", "Modified(header)")]),
    ("decorator added", "def f():\n    return 1\n", "@cache\ndef f():\n    return 1\n", &[("", "f", "Modified(decorators)")]),
    ("decorator changed", "@d(1)\ndef f():\n    return 1\n", "@d(2)\ndef f():\n    return 1\n", &[("", "f", "Modified(decorators)")]),
    ("decorator removed", "@d\ndef f():\n    return 1\n", "def f():\n    return 1\n", &[("", "f", "Modified(decorators)")]),
    ("blank line between decorator and def", "@d\ndef f():\n    return 1\n", "@d\n\ndef f():\n    return 1\n", &[("", "f", "Modified(body)")]),
    ("decorator line added above decorator", "@d\ndef f():\n    return 1\n", "@c\n@d\ndef f():\n    return 1\n", &[("", "f", "Modified(decorators)")]),
    ("docstring", "def f():\n    'one'\n    return 1\n", "def f():\n    'two'\n    return 1\n", &[("", "f", "Modified(docstring)")]),
    ("docstring added", "def f():\n    return 1\n", "def f():\n    'doc'\n    return 1\n", &[("", "f", "Modified(body,docstring)")]),
    ("only moved", "def f():\n    return 1\n\nx = 1\n", "import os\n\n\ndef f():\n    return 1\n\nx = 1\n", &[("", "#import os", "Added"), ("", "f", "Modified(moved)")]),
    ("moved and body", "def f():\n    return 1\n", "# header\n\ndef f():\n    return 2\n", &[("", "f", "Modified(body,moved)")]),
    ("comment change outside bodies", "# one\ndef f():\n    return 1\n", "# two\ndef f():\n    return 1\n", &[]),
    ("comment line added above", "def f():\n    return 1\n", "# new\ndef f():\n    return 1\n", &[("", "f", "Modified(moved)")]),
    ("comment after the body", "def f():\n    return 1\n", "def f():\n    return 1\n    # later\n", &[]),
    ("comment inside the body", "def f():\n    x = 1\n    return x\n", "def f():\n    x = 1\n    # note\n    return x\n", &[("", "f", "Modified(body)")]),
    ("body indentation only", "def f():\n    x = 1\n    return x\n", "def f():\n  x = 1\n  return x\n", &[("", "f", "Modified(body)")]),
    ("blank line inside body", "def f():\n    x = 1\n    return x\n", "def f():\n    x = 1\n\n    return x\n", &[("", "f", "Modified(body)")]),
    ("blank line before body", "def f():\n    return 1\n", "def f():\n\n    return 1\n", &[("", "f", "Modified(body)")]),
    ("function added", "def f():\n    pass\n", "def f():\n    pass\n\ndef g():\n    pass\n", &[("", "g", "Added")]),
    ("function deleted", "def f():\n    pass\n\ndef g():\n    pass\n", "def f():\n    pass\n", &[("", "g", "Deleted")]),
    ("method added", "class C:\n    def m(self): pass\n", "class C:\n    def m(self): pass\n    def n(self): pass\n", &[("", "C", "Modified(body)"), ("C", "n", "Added")]),
    ("method deleted", "class C:\n    def m(self): pass\n    def n(self): pass\n", "class C:\n    def m(self): pass\n", &[("", "C", "Modified(body)"), ("C", "n", "Deleted")]),
    ("method body", "class C:\n    def m(self):\n        return 1\n", "class C:\n    def m(self):\n        return 2\n", &[("", "C", "Modified(body)"), ("C", "m", "Modified(body)")]),
    ("class attribute", "class C:\n    x = 1\n", "class C:\n    x = 2\n", &[("", "C", "Modified(body)"), ("C", "=x", "StatementChanged")]),
    ("class docstring", "class C:\n    'one'\n    x = 1\n", "class C:\n    'two'\n    x = 1\n", &[("", "C", "Modified(docstring)")]),
    ("class bases: children diffed too", "class C(A):\n    x = 1\n    def m(self): return 1\n", "class C(B):\n    x = 2\n    def m(self): return 2\n    def n(self): pass\n", &[("", "C", "Modified(body,header)"), ("C", "=x", "StatementChanged"), ("C", "m", "Modified(body)"), ("C", "n", "Added")]),
    ("class decorator: children diffed too", "class C:\n    def m(self): return 1\n", "@dataclass\nclass C:\n    def m(self): return 2\n", &[("", "C", "Modified(body,decorators)"), ("C", "m", "Modified(body,moved)")]),
    ("nested class method", "class Outer:\n    class Inner:\n        def m(self):\n            return 1\n", "class Outer:\n    class Inner:\n        def m(self):\n            return 2\n", &[("", "Outer", "Modified(body)"), ("Outer", "Inner", "Modified(body)"), ("Outer.Inner", "m", "Modified(body)")]),
    ("nested class attribute deleted", "class Outer:\n    class Inner:\n        a = 1\n        b = 2\n", "class Outer:\n    class Inner:\n        a = 1\n", &[("", "Outer", "Modified(body)"), ("Outer", "Inner", "Modified(body)"), ("Outer.Inner", "=b", "Deleted")]),
    ("property setter", "class C:\n    @property\n    def x(self): return self._x\n    @x.setter\n    def x(self, v): self._x = v\n", "class C:\n    @property\n    def x(self): return self._x\n    @x.setter\n    def x(self, v): self._x = v * 2\n", &[("", "C", "Modified(body)"), ("C", "x", "Modified(body)")]),
    ("duplicate names, second changed", "def f(): return 1\ndef f(): return 2\n", "def f(): return 1\ndef f(): return 3\n", &[("", "f", "Modified(body)")]),
    ("duplicate names, one removed", "def f(): return 1\ndef f(): return 2\n", "def f(): return 1\n", &[("", "f", "Deleted")]),
    ("statement value", "X = 1\n", "X = 2\n", &[("", "=X", "StatementChanged")]),
    ("annotated statement value", "X: int = 1\n", "X: int = 2\n", &[("", "=X", "StatementChanged")]),
    ("repeated statement, second changed", "x = 1\nx = 2\n", "x = 1\nx = 3\n", &[("", "=x@2", "StatementChanged")]),
    ("statement moved unchanged", "x = 1\ny = 2\n", "y = 2\n\nx = 1\n", &[]),
    ("import added", "import os\n", "import os\nimport sys\n", &[("", "#import sys", "Added")]),
    ("import removed", "import os\nimport sys\n", "import os\n", &[("", "#import sys", "Deleted")]),
    ("print changed", "print('a')\n", "print('b')\n", &[("", "#print('b')", "Added"), ("", "#print('a')", "Deleted")]),
    ("tuple assignment changed", "a, b = 1, 2\n", "a, b = 1, 3\n", &[("", "#a, b = 1, 3", "Added"), ("", "#a, b = 1, 2", "Deleted")]),
    ("main guard changed", "if __name__ == '__main__':\n    main()\n", "if __name__ == '__main__':\n    main(1)\n", &[("", "#if __name__ == '__main__':\n    main(1)", "Added"), ("", "#if __name__ == '__main__':\n    main()", "Deleted")]),
    ("function to class", "def f():\n    pass\n", "class f:\n    pass\n", &[("", "f", "Added"), ("", "f", "Deleted")]),
    ("class to function", "class f:\n    x = 1\n", "def f():\n    pass\n", &[("", "f", "Added"), ("", "f", "Deleted")]),
    ("method to nested class", "class C:\n    def m(self): pass\n", "class C:\n    class m: pass\n", &[("", "C", "Modified(body)"), ("C", "m", "Added"), ("C", "m", "Deleted")]),
    ("added class: children not separate", "x = 1\n", "x = 1\nclass C:\n    y = 1\n    def m(self): pass\n", &[("", "C", "Added")]),
    ("deleted class: children not separate", "x = 1\nclass C:\n    y = 1\n    def m(self): pass\n", "x = 1\n", &[("", "C", "Deleted")]),
    ("nested function changed: function is the unit", "def f():\n    def g():\n        return 1\n    return g\n", "def f():\n    def g():\n        return 2\n    return g\n", &[("", "f", "Modified(body)")]),
    ("module docstring only", "'''one'''\nx = 1\n", "'''two'''\nx = 1\n", &[]),
    ("future import kept", "from __future__ import annotations\nx = 1\n", "from __future__ import annotations\nx = 2\n", &[("", "=x", "StatementChanged")]),
    ("line endings only", "def f():\n    x = 1\n    return x\ny = [\n  1]\n", "def f():\r\n    x = 1\r\n    return x\r\ny = [\r\n  1]\r\n", &[]),
    ("tabs to spaces in body", "class C:\n\tdef m(self):\n\t\treturn 1\n", "class C:\n\tdef m(self):\n\t    return 1\n", &[("", "C", "Modified(body)"), ("C", "m", "Modified(body)")]),
];

#[test]
fn table() {
    let mut failures = Vec::new();
    for (name, old, new, expected) in CASES {
        let got = diff(old, new);
        let expected: Vec<(String, String, String)> =
            expected.iter().map(|(s, n, k)| (s.to_string(), n.to_string(), k.to_string())).collect();
        if got != expected {
            failures.push(format!("{name}:\n  expected {expected:?}\n  got      {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} failing case(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn crlf_and_bom_sources() {
    let old = "\u{feff}class C:\r\n    x = 1\r\n    def m(self):\r\n        return 1\r\n";
    let new = "\u{feff}class C:\r\n    x = 1\r\n    def m(self):\r\n        return 2\r\n";
    assert_eq!(
        diff(old, new),
        [("".into(), "C".into(), "Modified(body)".into()), ("C".into(), "m".into(), "Modified(body)".into())]
    );
    assert_eq!(diff(old, &old.replace('\u{feff}', "")), []);
}

#[test]
fn property_occurrences_are_matched_in_order() {
    let old = tree("class C:\n    @property\n    def x(self): return 1\n    @x.setter\n    def x(self, v): pass\n");
    let new = tree("class C:\n    @property\n    def x(self): return 1\n    @x.setter\n    def x(self, v): print(v)\n");
    let changes = diff_trees(&old, &new);
    let setter = changes.iter().find(|c| c.scope == ["C"]).unwrap();
    let (o, n) = (setter.old.unwrap().as_def().unwrap(), setter.new.unwrap().as_def().unwrap());
    assert_eq!((o.def_line, n.def_line), (5, 5));
    assert_eq!(setter.span().start, 4);
}

#[test]
fn changes_point_into_the_trees() {
    let old = tree("class C:\n    x = 1\n    def m(self): pass\n");
    let new = tree("class C:\n    x = 2\n");
    let changes = diff_trees(&old, &new);
    let Item::Def(old_c) = &old.items[0] else { panic!() };
    let Item::Def(new_c) = &new.items[0] else { panic!() };
    assert!(std::ptr::eq(changes[0].old.unwrap(), &old.items[0]));
    assert!(std::ptr::eq(changes[0].new.unwrap(), &new.items[0]));
    assert!(std::ptr::eq(changes[1].old.unwrap(), &old_c.children[0]));
    assert!(std::ptr::eq(changes[1].new.unwrap(), &new_c.children[0]));
    assert_eq!(changes[2].kind, ChangeKind::Deleted);
    assert!(std::ptr::eq(changes[2].old.unwrap(), &old_c.children[1]));
    assert_eq!(changes[2].scope, ["C"]);
}

#[test]
fn ordering_new_order_first_then_deletions_in_old_order() {
    // Old: A (a1, a2), B (b1, b2), gone; new: B before A, one method of each deleted, one added.
    let old = "\
class A:
    def a1(self): pass
    def a2(self): pass
class B:
    def b1(self): pass
    def b2(self): pass
def gone(): pass
";
    let new = "\
def fresh(): pass
class B:
    def b2(self): pass
    def b3(self): pass
class A:
    def a2(self): pass
";
    assert_eq!(
        diff(old, new),
        [
            ("", "fresh", "Added"),
            ("", "B", "Modified(body,moved)"),
            ("B", "b2", "Modified(moved)"),
            ("B", "b3", "Added"),
            ("", "A", "Modified(body,moved)"),
            ("A", "a2", "Modified(moved)"),
            ("A", "a1", "Deleted"),
            ("B", "b1", "Deleted"),
            ("", "gone", "Deleted"),
        ]
        .map(|(s, n, k)| (s.to_string(), n.to_string(), k.to_string()))
    );
}

/// A tiny deterministic PRNG (xorshift64*), so the fuzz test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FUZZ_SAMPLE: &str = "\u{feff}\"\"\"Module doc.\"\"\"
from __future__ import annotations
import os.path as osp, sys
from .pkg import (a, b as c)

X: int = 1
Y = Z = [1, 2, 3]
a, *rest = Y

@decorator(1,
           2)
async def fetch(url: str, *, timeout: float = 1.0) -> bytes:
    \"\"\"Fetch.\"\"\"
    async with session() as s:
        return await s.get(url)

class Base[T](Generic, metaclass=Meta):
    '''Base doc.'''
    attr = {'k': (1, 2)}

    @property
    def x(self): return self._x
    @x.setter
    def x(self, v):
        self._x = v

    class Inner:
        def m(self, naïve='é'):
            match self:
                case [p, *q] if p:
                    return f\"{p!r:>10}\"
                case {'k': v, **kw}:
                    return lambda: v
            try:
                pass
            except* ValueError as e:
                raise

class Tabbed:
\tdef tabbed(self):
\t\treturn 1

type Alias = list[int]

if __name__ == '__main__':
    fetch('x')\r
else:
    print(\"imported\")
";

#[test]
fn fuzz_mutations_never_panic() {
    let original = tree(FUZZ_SAMPLE);
    let bytes = FUZZ_SAMPLE.as_bytes();
    let alphabet = b" \t\n\r#:()[]{}'\"\\@=,.;*-+xdefclassif0\xc3\xa9\xef\xbb\xbf";
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut err) = (0, 0);
    for _ in 0..1000 {
        let mut mutated = bytes.to_vec();
        for _ in 0..=rng.below(4) {
            let at = rng.below(mutated.len());
            match rng.below(5) {
                0 => mutated[at] = alphabet[rng.below(alphabet.len())],
                1 => mutated.insert(at, alphabet[rng.below(alphabet.len())]),
                2 => {
                    mutated.remove(at);
                }
                3 => mutated[at] = rng.next() as u8,
                _ => {
                    let len = rng.below(40).min(mutated.len() - at);
                    let chunk: Vec<u8> = mutated[at..at + len].to_vec();
                    let to = rng.below(mutated.len());
                    mutated.splice(to..to, chunk);
                }
            }
            if mutated.is_empty() {
                mutated.push(b'x');
            }
        }
        let source = String::from_utf8_lossy(&mutated);
        for target in [(3, 8), (3, 12), (3, 14)] {
            match parse_definitions(&source, target) {
                Ok(new) => {
                    ok += 1;
                    for (old, new, old_text, new_text) in
                        [(&original, &new, FUZZ_SAMPLE, &*source), (&new, &original, &*source, FUZZ_SAMPLE)]
                    {
                        for change in diff_trees(old, new) {
                            let _ = change.span();
                            if let Some(item) = change.old {
                                assert!(old_text.get(item.byte_range()).is_some());
                            }
                            if let Some(item) = change.new {
                                assert!(new_text.get(item.byte_range()).is_some());
                            }
                        }
                    }
                }
                Err(issues) => {
                    err += 1;
                    assert!(!issues.is_empty());
                    assert!(issues.iter().all(|i| i.line >= 1 && i.column >= 1));
                }
            }
        }
    }
    // Both outcomes are exercised.
    assert!(ok > 100 && err > 100, "ok {ok}, err {err}");
}

#[test]
fn degenerate_inputs() {
    for source in [
        "", "\n", "\u{feff}", "\r", "\r\n\r\n", "#", "\\", "\x00", "@", "def", "class C", "(((((", "'''", "\t",
        " x = 1",
    ] {
        let result = parse_definitions(source, (3, 12));
        if let Ok(t) = &result {
            assert!(diff_trees(t, t).is_empty());
        }
    }
    let deep = format!("x = {}1{}\n", "(".repeat(5000), ")".repeat(5000));
    assert!(parse_definitions(&deep, (3, 12)).is_ok());
    let deep_target = format!("{}a{} = 1\n", "(".repeat(3000), ",)".repeat(3000));
    let t = parse_definitions(&deep_target, (3, 12)).unwrap();
    assert_eq!(t.items[0].as_stmt().unwrap().binds, ["a"]);
}

#[test]
fn runs_both_versions_share_pair_as_matching_by_key_does() {
    let cases = [
        ("def f(): pass\nx = 1\ndef f(): pass\n", "def f(): pass\ny = 1\ndef f(): pass\ndef f(): pass\n"),
        ("def f(): pass\ndef g(): pass\ndef f(): return 1\n", "def f(): pass\ndef f(): return 1\n"),
        ("class A: pass\ndef f(): pass\nz = 2\n", "def A(): pass\ndef f(): pass\nz = 3\n"),
        ("a = 1\nb = 2\nc = 3\n", "a = 1\nc = 3\nb = 2\n"),
        (
            "def f(): pass\nclass C:\n    def m(self): pass\n    def n(self): pass\n",
            "\ndef f(): pass\nclass C:\n    def n(self): pass\n    def m(self): pass\n",
        ),
    ];
    for (old, new) in cases {
        let (old, new) = (tree(old), tree(new));
        assert_eq!(diff_with(&old, &new, true), diff_with(&old, &new, false));
    }
}
