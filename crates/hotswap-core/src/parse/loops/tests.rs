use super::*;
use crate::parse::parse_definitions;
use crate::tree::LineSpan;

fn sites(source: &str) -> Vec<LiveLoopSite> {
    parse_definitions(source, (3, 12)).expect("parses").live_loops
}

const PROGRAM: &str = "\
import hotswap

def main():
    total = 0
    for line in hotswap.live_loop(
        items,
    ):
        total += 1
        print(total)
    while True:
        step()

class C:
    def run(self):
        if ready:
            for (a, b) in live_loop(pairs): show(a)
while 1:
    pass
for x in range(3):
    pass
";

#[test]
fn finds_each_live_loop_by_scope_in_source_order() {
    let found = sites(PROGRAM);
    let summary: Vec<_> = found.iter().map(|s| (s.scope.join("."), s.kind, s.span, s.header_end)).collect();
    assert_eq!(
        summary,
        vec![
            ("main".into(), LiveLoopKind::ForLiveLoop, LineSpan { start: 5, end: 9 }, 7),
            ("main".into(), LiveLoopKind::WhileTrue, LineSpan { start: 10, end: 11 }, 10),
            ("C.run".into(), LiveLoopKind::ForLiveLoop, LineSpan { start: 16, end: 16 }, 16),
            (String::new(), LiveLoopKind::WhileTrue, LineSpan { start: 17, end: 18 }, 17),
        ]
    );
    assert_eq!(&PROGRAM[found[0].target.clone().unwrap()], "line");
    assert_eq!(&PROGRAM[found[2].target.clone().unwrap()], "(a, b)");
    assert!(found.iter().all(|s| s.problem.is_none()));
}

#[test]
fn runner_puts_the_body_at_its_own_lines() {
    let found = sites(PROGRAM);
    let runner = runner_source(PROGRAM, &found[0]);
    let lines: Vec<&str> = runner.lines().collect();
    assert_eq!(lines[4], "for line in __hotswap_item__:");
    assert_eq!(lines[7], "        total += 1");
    assert_eq!(lines[8], "        print(total)");
    assert_eq!(lines[9..], ["else:", "    __hotswap_broke__ = False"]);
    assert!(lines[..4].iter().chain(&lines[5..7]).all(|l| l.is_empty()));
    let same_line = runner_source(PROGRAM, &found[2]);
    assert_eq!(same_line.lines().nth(15), Some("for (a, b) in __hotswap_item__: show(a)"));
    let while_true = runner_source(PROGRAM, &found[1]);
    assert_eq!(while_true.lines().nth(9), Some("for [] in __hotswap_item__:"));
    assert_eq!(while_true.lines().nth(10), Some("        step()"));
}

#[test]
fn text_hash_is_the_loops_own_text_only() {
    let before = sites(PROGRAM);
    let moved = sites(&PROGRAM.replace("import hotswap\n", "import hotswap\nimport os\n\nX = 1\n"));
    assert_eq!(moved[0].span.start, before[0].span.start + 3);
    let hashes = |s: &[LiveLoopSite]| s.iter().map(|s| s.text_hash).collect::<Vec<_>>();
    assert_eq!(hashes(&before), hashes(&moved));
    let edited = sites(&PROGRAM.replace("total += 1", "total += 2"));
    assert_ne!(edited[0].text_hash, before[0].text_hash);
    assert_eq!(hashes(&edited)[1..], hashes(&before)[1..]);
}

#[test]
fn what_only_works_in_the_function_is_reported_with_its_line() {
    let source = "\
async def f():
    def inner():
        return 1
    g = lambda: (yield)
    while True:
        if x:
            await y
        return 2
    for a in live_loop(b):
        nonlocal q
    for a in live_loop(b):
        pass
    else:
        pass
";
    let problems: Vec<_> = sites(source).iter().map(|s| s.problem).collect();
    assert_eq!(problems, vec![Some((7, "uses await")), Some((10, "uses nonlocal")), Some((11, "has an else clause"))]);
}

#[test]
fn async_for_and_other_loops_are_not_live() {
    let source = "async def f():\n    async for a in live_loop(b):\n        pass\n    while x:\n        pass\n";
    assert!(sites(source).is_empty());
}

#[test]
fn runner_keeps_crlf_tabs_and_a_body_on_the_header_line() {
    let source = "def f():\r\n\twhile True: step()\r\n\tfor x in live_loop(y):\r\n\t\tuse(x)\r\n\r\n\t\tmore(x)\r\n";
    let found = sites(source);
    assert_eq!(
        runner_source(source, &found[0]),
        "\nfor [] in __hotswap_item__: step()\nelse:\n    __hotswap_broke__ = False\n"
    );
    let runner = runner_source(source, &found[1]);
    assert_eq!(
        runner,
        "\n\nfor x in __hotswap_item__:\n\t\tuse(x)\r\n\r\n\t\tmore(x)\nelse:\n    __hotswap_broke__ = False\n"
    );
    let crlf_free = sites(&source.replace("\r\n", "\n"));
    assert_eq!(crlf_free[1].text_hash, found[1].text_hash);
}
