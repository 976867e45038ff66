"""A bug in the engine (a Rust panic) is handled one way at every entry point: the batch's
report carries an error with the panic's message, it is logged once, and the program keeps
running. The panic is injected with ``HOTSWAP_FAILPOINT=reload-panic``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

PROGRAM = textwrap.dedent(
    """
    import json, os, sys, threading, time
    import hotswap

    root = os.getcwd()
    hotswap.install(root)
    import mod

    def save(text):
        with open("mod.py", "w") as f:
            f.write(text)

    def errors(report):
        return [e.message for e in report.errors]

    out = {}
    save("def f():\\n    return 2\\n")
    out["reload_paths"] = errors(hotswap.reload_paths(["mod.py"]))

    try:
        hotswap.patch(mod.f, "def f():\\n    return 3\\n")
        out["patch"] = []
    except hotswap.PatchError as exc:
        out["patch"] = errors(exc.report)

    with hotswap.watch(root, sync="immediate") as w:
        save("def f():\\n    return 4\\n")
        out["immediate"] = errors(w.wait_for_reload(timeout=10))

    with hotswap.watch(root, sync="manual") as w:
        save("def f():\\n    return 5\\n")
        deadline = time.monotonic() + 10
        report = hotswap.poll()
        while not (report or report.errors) and time.monotonic() < deadline:
            time.sleep(0.05)
            report = hotswap.poll()
        out["poll"] = errors(report)

    with hotswap.watch(root, sync="main") as w:
        save("def f():\\n    return 6\\n")
        deadline = time.monotonic() + 10
        got = None
        while got is None and time.monotonic() < deadline:
            sum(range(1000))  # bytecodes for the pending call to run between
            try:
                got = w.wait_for_reload(timeout=0.05)
            except TimeoutError:
                pass
        out["main"] = errors(got)

    out["f"] = mod.f()
    print("@@" + json.dumps(out))
    """
)


ENTRY_POINTS = ("reload_paths", "patch", "immediate", "poll", "main")


def run_program(tmp_path, failpoint):
    """Runs PROGRAM on a fresh mod.py; returns the process and what it printed after `@@`."""
    (tmp_path / "mod.py").write_text("def f():\n    return 1\n")
    (tmp_path / "prog.py").write_text(PROGRAM)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("HOTSWAP_FAILPOINT", None)
    if failpoint:
        env["HOTSWAP_FAILPOINT"] = failpoint
    proc = subprocess.run(
        [sys.executable, "prog.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("@@"))
    return proc, json.loads(line[2:])


def test_a_panic_in_a_reload_becomes_a_report_error_at_every_entry_point(tmp_path):
    proc, out = run_program(tmp_path, "reload-panic")
    assert "PanicException" not in proc.stderr
    # The default panic hook's "thread ... panicked at" line is not printed: the report says it.
    assert "panicked at" not in proc.stderr
    for entry in ENTRY_POINTS:
        messages = out[entry]
        assert len(messages) == 1, (entry, messages)
        assert "internal error in hotswap" in messages[0], (entry, messages)
        assert "HOTSWAP_FAILPOINT=reload-panic is set" in messages[0], (entry, messages)
        assert "panics.rs:" in messages[0], (entry, messages)
    # Nothing was applied, and the program runs on.
    assert out["f"] == 1
    # Logged once per batch (five batches), not twice.
    assert proc.stderr.count("internal error in hotswap") == 5, proc.stderr


def test_without_the_failpoint_the_same_edits_apply(tmp_path):
    _, out = run_program(tmp_path, None)
    assert all(out[e] == [] for e in ENTRY_POINTS), out
    assert out["f"] == 6
