//! The incremental re-parse must give exactly what a full parse of the new text gives: random
//! edits of real sources, each checked against a full parse.

use super::*;
use crate::diff::diff_with;

const PY: PythonVersion = (3, 12);

/// A module with what the incremental path must get right: a docstring, `__future__`, `;`,
/// repeated statements (keys with `@n`), decorators, classes, live loops, imports in bodies,
/// multi-line strings and brackets, line continuations, a main guard.
const FEATURES: &str = r#""""A module docstring."""
from __future__ import annotations

import os, sys
from collections import OrderedDict as OD

x = 1; y = 2
print(x)
print(x)
TABLE = {
    "a": 1,
    "b": [1, 2,
          3],
}
TABLE["c"] = 3
total = 1 + \
    2


@decorator(1)
# a comment between
@other
def decorated(a, b=TABLE):
    """Docstring."""
    import json
    return json.dumps(a)


class Base(object):
    """Class doc."""
    count = 0
    count = 1

    def method(self):
        for item in live_loop(range(3)):
            print(item)
        return 1

    class Inner:
        def deep(self):
            while True:
                break


async def runner():
    text = """
multi
line
"""
    await other(text)


while True:
    print(x)
    break

if __name__ == "__main__":
    print("main")
"#;

fn sources() -> Vec<&'static str> {
    vec![
        FEATURES,
        include_str!("../../../../../python/hotswap/_frameworks.py"),
        include_str!("../../../../../python/hotswap/_run.py"),
        include_str!("../../../../../benches/harness.py"),
    ]
}

/// xorshift64*: deterministic, no crate.
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
    fn pick<'a>(&mut self, options: &[&'a str]) -> &'a str {
        options[self.below(options.len())]
    }
}

const LINES: &[&str] = &[
    "",
    "x = 1",
    "x = 2",
    "print(x)",
    "    y = 3",
    "        return y",
    "def g():",
    "def g(a):\n    return a",
    "class C:",
    "class D:\n    z = 1\n",
    "@decorator",
    "# a comment",
    "    # indented comment",
    "\"\"\"",
    "'''",
    "s = '''open",
    "(",
    ")",
    "value = (1,",
    "else:",
    "a = 1; b = 2",
    "total = 1 + \\",
    "import json",
    "from os import path as p",
    "from __future__ import annotations",
    "while True:\n    pass",
    "for i in live_loop(range(2)):\n    print(i)",
    "if __name__ == '__main__':\n    main()",
    "\"\"\"A new docstring.\"\"\"",
    "\tx = 1",
    "type Alias = int",
];

const CHARS: &[&str] = &[" ", "\n", "\"", "'", "(", ")", "#", ":", "x", "\t", "\\", "@", ";", "    ", "\n\n", "é"];

/// One random edit of `text`: a line inserted, deleted, replaced or duplicated, or a character
/// inserted or deleted, anywhere (first and last lines included).
fn mutate(text: &str, rng: &mut Rng) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    let at = rng.below(lines.len() + 1);
    match rng.below(6) {
        0 => lines.insert(at, format!("{}\n", rng.pick(LINES))),
        1 if at < lines.len() => {
            lines.remove(at);
        }
        2 if at < lines.len() => lines[at] = format!("{}\n", rng.pick(LINES)),
        3 if at < lines.len() => lines.insert(at, lines[at].clone()),
        4 => {
            let joined = lines.concat();
            let mut cut = rng.below(joined.len() + 1);
            while !joined.is_char_boundary(cut) {
                cut -= 1;
            }
            return format!("{}{}{}", &joined[..cut], rng.pick(CHARS), &joined[cut..]);
        }
        _ => {
            let joined = lines.concat();
            let Some((cut, c)) = joined.char_indices().nth(rng.below(joined.chars().count())) else {
                return joined;
            };
            return format!("{}{}", &joined[..cut], &joined[cut + c.len_utf8()..]);
        }
    }
    lines.concat()
}

#[test]
fn random_edits_give_what_a_full_parse_gives() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut cases, mut incremental) = (0usize, 0usize);
    for source in sources() {
        for _ in 0..45 {
            let mut text = source.to_string();
            let mut tree = parse_definitions(&text, PY).expect("the sources parse");
            for _ in 0..15 {
                let mut new = mutate(&text, &mut rng);
                for _ in 0..rng.below(3) {
                    new = mutate(&new, &mut rng);
                }
                let full = parse_definitions(&new, PY);
                let after = parse_definitions_after(&text, &tree, &new, PY);
                assert_eq!(after, full, "old:\n{text}\n---- new:\n{new}");
                if full.is_ok() {
                    cases += 1;
                    incremental += usize::from(reparse(&text, &tree, &new, PY).is_some());
                }
                if let Ok(new_tree) = &after {
                    // Pairing the runs both versions share in place gives what matching by key gives.
                    let (aligned, by_key) = (diff_with(&tree, new_tree, true), diff_with(&tree, new_tree, false));
                    assert_eq!(aligned, by_key, "old:\n{text}\n---- new:\n{new}");
                }
                if let Ok(new_tree) = after {
                    (text, tree) = (new, new_tree);
                }
            }
        }
    }
    // The test means something only if most edits that parse take the incremental path.
    assert!(incremental * 2 >= cases, "{incremental} of {cases} edits re-parsed incrementally");
}

#[test]
fn edits_at_both_ends_move_everything_between() {
    let body: String = (0..200).map(|i| format!("def f_{i}(x):\n    return x + {i}\n\n")).collect();
    let old = format!("\"\"\"Doc.\"\"\"\n{body}def probe():\n    return 0\n");
    let new = format!("\"\"\"Doc.\"\"\"\nSHIFT = 1\n{body}def probe():\n    return 1\n");
    let tree = parse_definitions(&old, PY).unwrap();
    let after = reparse(&old, &tree, &new, PY).expect("re-parsed incrementally");
    assert_eq!(after, parse_definitions(&new, PY).unwrap());
}

#[test]
fn what_only_a_full_parse_gets_right_falls_back() {
    let old = "\"\"\"Doc.\"\"\"\nx = 1\n\ndef f():\n    return 1\n\ny = 2\n";
    let tree = parse_definitions(old, PY).unwrap();
    let fallback = |new: &str| reparse(old, &tree, new, PY).is_none();
    // An indented line after a function joins its body.
    assert!(fallback("\"\"\"Doc.\"\"\"\nx = 1\n\ndef f():\n    return 1\n    z = 3\ny = 2\n"));
    // An unterminated string.
    assert!(fallback("\"\"\"Doc.\"\"\"\nx = 1\n\ndef f():\n    return '1\n\ny = 2\n"));
    // The docstring, a `from __future__` import, carriage returns.
    assert!(fallback("\"\"\"Doc!\"\"\"\nx = 1\n\ndef f():\n    return 1\n\ny = 2\n"));
    assert!(fallback(
        "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nx = 1\n\ndef f():\n    return 1\n\ny = 2\n"
    ));
    assert!(fallback("\"\"\"Doc.\"\"\"\r\nx = 1\r\n\r\ndef f():\r\n    return 1\r\n\r\ny = 2\r\n"));
    // A syntax error: its message comes from the full parse.
    assert!(fallback("\"\"\"Doc.\"\"\"\nx = 1\n\ndef f(:\n    return 1\n\ny = 2\n"));
    // A body edit is incremental.
    assert!(!fallback("\"\"\"Doc.\"\"\"\nx = 1\n\ndef f():\n    return 2\n\ny = 2\n"));
}

#[test]
fn a_marked_tree_is_parsed_again_in_full() {
    let old = "\"\"\"Doc.\"\"\"\ndef f():\n    return 1\n";
    let mut tree = parse_definitions(old, PY).unwrap();
    tree.marked = true;
    assert!(reparse(old, &tree, "\"\"\"Doc.\"\"\"\ndef f():\n    return 2\n", PY).is_none());
}
