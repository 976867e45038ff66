"""``hotswap attach PID``: make a Python program that was started without hotswap live.

Python 3.14 lets a process run a script inside another one (``sys.remote_exec``, PEP 768): the
target runs it on its main thread at its next bytecode boundary, with the permissions of a
debugger (same user; ptrace rules apply). The script started here imports the target's own
hotswap, starts watching, and writes a status file that ``attach`` waits for, so success and
failure (no hotswap in the target's environment, ...) are reported here.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from typing import List, Optional

USAGE = "usage: hotswap attach [-w PATH]... [--timeout SECONDS] [-v|-q] PID"

# Runs inside the target. Kept free of anything but the standard library until hotswap imports.
_SCRIPT = """\
def _hotswap_attach(status_path, roots, verbosity):
    import os
    if not os.path.isdir(os.path.dirname(status_path)):
        return  # attach gave up waiting: do nothing
    try:
        import hotswap._attach as attach
        message = "ok\\n" + attach.start_in_target(roots, verbosity)
    except BaseException as exc:
        import sys
        message = "error\\n%s: %s\\n%s" % (type(exc).__name__, exc, sys.executable)
    tmp = status_path + ".tmp"
    try:
        with open(tmp, "w") as f:
            f.write(message)
        os.replace(tmp, status_path)
    except OSError:
        pass


_hotswap_attach({status!r}, {roots!r}, {verbosity!r})
del _hotswap_attach
"""

watcher = None


def start_in_target(roots: List[str], verbosity: int) -> str:
    """Runs in the attached process: watch ``roots`` (default: the program's directory)."""
    global watcher
    import logging

    import hotswap

    if not roots:
        first = sys.path[0] if sys.path else ""
        roots = [first if first and os.path.isdir(first) else os.getcwd()]
    from ._logsetup import log_to_stderr

    log_to_stderr(verbosity, only_once=True)
    if watcher is not None and watcher.running:
        return f"already watching {', '.join(watcher.roots)}"
    hotswap.install(roots)
    watcher = hotswap.watch(*roots)
    # Python processes it starts from now on are live too.
    os.environ.setdefault("HOTSWAP_WATCH", os.pathsep.join(watcher.roots))
    logging.getLogger("hotswap").info("attached: watching %s", ", ".join(watcher.roots))
    return f"watching {', '.join(watcher.roots)} (Python {sys.version.split()[0]})"


def _alive(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) would terminate it on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass
    return True


def _fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"hotswap attach: {message}\n")
    return code


def attach_main(argv: List[str]) -> int:
    roots: List[str] = []
    timeout = 10.0
    verbosity = 0
    pid: Optional[int] = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help"):
            print(USAGE)
            return 0
        if arg in ("-w", "--watch", "--timeout") and i + 1 >= len(argv):
            return _fail(f"{arg} needs a value\n{USAGE}", 2)
        if arg in ("-w", "--watch"):
            roots.append(os.path.abspath(argv[i + 1]))
            i += 2
        elif arg == "--timeout":
            try:
                timeout = float(argv[i + 1])
            except ValueError:
                return _fail(f"--timeout needs a number of seconds\n{USAGE}", 2)
            i += 2
        elif arg in ("-v", "--verbose"):
            verbosity += 1
            i += 1
        elif arg in ("-q", "--quiet"):
            verbosity -= 1
            i += 1
        elif pid is None and arg.isdigit():
            pid = int(arg)
            i += 1
        else:
            return _fail(f"unexpected argument {arg!r}\n{USAGE}", 2)
    if pid is None:
        return _fail(f"which process? give its PID\n{USAGE}", 2)
    missing = [r for r in roots if not os.path.isdir(r)]
    if missing:
        return _fail(f"cannot watch {missing[0]!r}: no such directory", 2)
    if not hasattr(sys, "remote_exec"):
        return _fail(
            "needs Python 3.14 or newer (sys.remote_exec, PEP 768); this is Python "
            f"{sys.version.split()[0]}. Run attach with the target's Python 3.14+ interpreter, "
            "or start the program under hotswap instead."
        )
    if not _alive(pid):
        return _fail(f"no process with PID {pid}")
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except PermissionError:
            return _fail(f"permission denied for PID {pid} (it belongs to another user)")
        except OSError:
            pass
    directory = tempfile.mkdtemp(prefix="hotswap-attach-")
    script = os.path.join(directory, "attach.py")
    status = os.path.join(directory, "status")
    try:
        os.chmod(directory, 0o755)
        with open(script, "w") as f:
            f.write(_SCRIPT.format(status=status, roots=roots, verbosity=verbosity))
        os.chmod(script, 0o644)
        try:
            sys.remote_exec(pid, script)
        except PermissionError as exc:
            return _fail(
                f"permission denied attaching to PID {pid}: {exc}. Attaching needs the rights "
                "of a debugger: the same user, and ptrace allowed (on Linux see "
                "/proc/sys/kernel/yama/ptrace_scope, or run as a user with CAP_SYS_PTRACE)."
            )
        except (OSError, RuntimeError, ValueError) as exc:
            return _fail(
                f"cannot attach to PID {pid}: {exc}. The target must run CPython 3.14+ of the "
                "same version, with remote debugging enabled (not -X disable_remote_debug or "
                "PYTHON_DISABLE_REMOTE_DEBUG)."
            )
        deadline = time.monotonic() + timeout
        while not os.path.exists(status):
            if time.monotonic() > deadline:
                return _fail(
                    f"PID {pid} did not run the attach script within {timeout:g} s. It runs at "
                    "the next bytecode of the target's main thread: a main thread blocked in C "
                    "code (a long sleep, a lock, input()) runs it when it gets back to Python. "
                    "Nothing was changed."
                )
            if not _alive(pid):
                return _fail(f"PID {pid} exited before it ran the attach script")
            time.sleep(0.01)
        with open(status) as f:
            state, _, detail = f.read().partition("\n")
    finally:
        for path in (script, status, status + ".tmp"):
            try:
                os.unlink(path)
            except OSError:
                pass
        try:
            os.rmdir(directory)
        except OSError:
            pass
    if state == "ok":
        if verbosity >= 0:
            print(f"hotswap: attached to PID {pid}: {detail}")
        return 0
    error, _, executable = detail.partition("\n")
    if error.startswith(("ModuleNotFoundError", "ImportError")):
        return _fail(
            f"PID {pid} cannot import hotswap ({error}). Install hotswap in the target's "
            f"environment ({executable or 'its Python'}) and attach again."
        )
    return _fail(f"watching could not start in PID {pid}: {error}")
