"""A program for the tests to drive: it reads commands as JSON lines on stdin and answers on
stdout with lines starting with ``@@HS``. Run as ``python driver.py api`` (it imports hotswap
itself) or under the CLI as ``python -m hotswap driver.py cli``.
"""

import json
import os
import sys
import traceback

MODE = sys.argv[1] if len(sys.argv) > 1 else "api"
if MODE == "api":
    import hotswap

    hotswap.install(os.getcwd())

watcher = None
namespace = {"__name__": "driven"}


def respond(obj):
    sys.stdout.write("@@HS " + json.dumps(obj) + "\n")
    sys.stdout.flush()


def to_json(value):
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def report_dict(report):
    return {
        "updated": list(report.updated),
        "added": list(report.added),
        "deleted": list(report.deleted),
        "moved": list(report.moved),
        "notes": list(report.notes),
        "rude": [{"path": e.path, "line": e.line, "message": e.message} for e in report.rude],
        "recreated": list(report.recreated),
        "errors": [{"path": e.path, "line": e.line, "message": e.message} for e in report.errors],
        "paths": list(report.paths),
        "duration_ms": report.duration_ms,
        "bool": bool(report),
        "repr": repr(report),
        "modules": list(report.modules),
        "summary": report.summary(),
    }


respond({"ready": True, "pid": os.getpid()})
for line in sys.stdin:
    command = json.loads(line)
    op = command["op"]
    try:
        if op == "exec":
            exec(command["code"], namespace)
            respond({"ok": True})
        elif op == "eval":
            respond({"ok": True, "value": to_json(eval(command["expr"], namespace))})
        elif op == "watch":
            import hotswap

            paths = command.get("paths") or [os.getcwd()]
            watcher = hotswap.watch(*paths, debounce_ms=command.get("debounce_ms"))
            namespace["watcher"] = watcher
            respond({"ok": True, "roots": watcher.roots})
        elif op == "wait":
            report = watcher.wait_for_reload(command.get("seconds", 10))
            respond({"ok": True, "report": report_dict(report)})
        elif op == "reload":
            import hotswap

            respond({"ok": True, "report": report_dict(hotswap.reload_paths(command["paths"]))})
        elif op == "quit":
            respond({"ok": True})
            break
        else:
            respond({"ok": False, "error": f"unknown op {op}"})
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the test
        respond(
            {
                "ok": False,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(),
            }
        )
