"""A batch that changes many definitions (a checkout, an upgrade) is logged in one line, not one
per definition; a small one lists each, and the report always lists every one."""

from __future__ import annotations


def module(version: int, count: int) -> str:
    return "".join(f"def f{i}():\n    return {version}\n\n\n" for i in range(count))


def test_a_big_batch_is_one_log_line_and_a_small_one_lists_each(project):
    project.write("many.py", module(0, 30))
    project.write("few.py", module(0, 3))
    # Not the CLI, whose watcher would race these reloads for the saves (and win under load):
    # hotswap's log records go to stderr through logging, as the CLI sends them.
    prog = project.start()
    prog.exec("import logging; logging.basicConfig(level=logging.INFO)")
    prog.exec("import many, few")
    project.write("many.py", module(1, 30))
    report = prog.reload("many.py")
    assert len(report["updated"]) == 30, report
    assert (
        "updated 30, added 0, deleted 0 definitions in 1 file (each is logged at debug level, -v)"
        in prog.stderr
    )
    assert "updated many.f7 " not in prog.stderr
    project.write("few.py", module(1, 3))
    report = prog.reload("few.py")
    assert len(report["updated"]) == 3, report
    for i in range(3):
        assert f"updated few.f{i} (few.py:" in prog.stderr
