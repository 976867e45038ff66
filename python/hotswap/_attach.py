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
from typing import List

from ._options import Option, UsageError, converter, fail, format_help, number, parse

USAGE = """\
usage: hotswap attach [-w PATH]... [--timeout SECONDS] [-v|-q] PID

Makes a running Python 3.14+ program live, as if it had been started under hotswap.
"""

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


def _fail(message: str) -> int:
    """Say why attaching failed; exit status 1 (2 is for a bad command line)."""
    sys.stderr.write(f"hotswap attach: {message}\n")
    return 1


@converter("an existing directory")
def _directory(text: str) -> str:
    if not text or not os.path.isdir(text):
        raise ValueError(text)
    return os.path.abspath(text)


_ATTACH = "attach"
# fmt: off
OPTIONS = (
    Option(("-w", "--watch"), "roots", "watch this directory (repeatable; default: the "
           "directory of the program's main script, or its working directory)", _ATTACH,
           "PATH", _directory, action="append"),
    Option(("--timeout",), "timeout", "how long to wait for the program to run the attach "
           "script (default 10)", _ATTACH, "SECONDS", number("seconds", 0, inclusive=False)),
    Option(("-v", "--verbose"), "verbosity", "the program says every step of each update",
           _ATTACH, action="count", const=1),
    Option(("-q", "--quiet"), "verbosity", "only errors, here and in the program", _ATTACH,
           action="count", const=-1),
    Option(("-h", "--help"), "help", "show this help and exit", _ATTACH, action="const",
           ends_options=True),
)
# fmt: on


def _pid(rest: List[str]) -> int:
    """The one positional argument: the PID."""
    if not rest:
        raise UsageError("which process? give its PID")
    if len(rest) > 1:
        raise UsageError(f"unexpected argument {rest[1]!r} (one PID only)")
    if not rest[0].isdigit():
        raise UsageError(f"PID: expected a process id, a whole number; got {rest[0]!r}")
    return int(rest[0])


def attach_main(argv: List[str]) -> int:
    """``hotswap attach``; the exit status."""
    try:
        parsed = parse(OPTIONS, argv, intersperse=True)
        if parsed.help:
            sys.stdout.write(format_help(USAGE, OPTIONS))
            return 0
        pid = _pid(parsed.rest)
    except UsageError as exc:
        return fail("hotswap attach", str(exc))
    return _attach(pid, parsed.roots, parsed.timeout or 10.0, parsed.verbosity)


class _Failed(Exception):
    """Attaching failed: the message says why and what to do (exit status 1)."""


def _check_target(pid: int) -> None:
    if not hasattr(sys, "remote_exec"):
        raise _Failed(
            "needs Python 3.14 or newer (sys.remote_exec, PEP 768); this is Python "
            f"{sys.version.split()[0]}. Run attach with the target's Python 3.14+ interpreter, "
            "or start the program under hotswap instead."
        )
    if not _alive(pid):
        raise _Failed(f"no process with PID {pid}")
    if os.name == "posix":
        try:
            os.kill(pid, 0)
        except PermissionError:
            raise _Failed(f"permission denied for PID {pid} (it belongs to another user)") from None
        except OSError:
            pass


def _remote_exec(pid: int, script: str) -> None:
    try:
        sys.remote_exec(pid, script)
    except PermissionError as exc:
        raise _Failed(
            f"permission denied attaching to PID {pid}: {exc}. Attaching needs the rights "
            "of a debugger: the same user, and ptrace allowed (on Linux see "
            "/proc/sys/kernel/yama/ptrace_scope, or run as a user with CAP_SYS_PTRACE)."
        ) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise _Failed(
            f"cannot attach to PID {pid}: {exc}. The target must run CPython 3.14+ of the "
            "same version, with remote debugging enabled (not -X disable_remote_debug or "
            "PYTHON_DISABLE_REMOTE_DEBUG)."
        ) from None


def _wait_for_status(pid: int, status: str, timeout: float) -> str:
    """The status file's text, once the target has written it."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(status):
        if time.monotonic() > deadline:
            raise _Failed(
                f"PID {pid} did not run the attach script within {timeout:g} s. It runs at "
                "the next bytecode of the target's main thread: a main thread blocked in C "
                "code (a long sleep, a lock, input()) runs it when it gets back to Python. "
                "Nothing was changed."
            )
        if not _alive(pid):
            raise _Failed(f"PID {pid} exited before it ran the attach script")
        time.sleep(0.01)
    with open(status) as f:
        return f.read()


def _run_attach_script(pid: int, roots: List[str], timeout: float, verbosity: int) -> str:
    """Run the attach script in ``pid``; the status it wrote. Its files are removed after."""
    directory = tempfile.mkdtemp(prefix="hotswap-attach-")
    script = os.path.join(directory, "attach.py")
    status = os.path.join(directory, "status")
    try:
        os.chmod(directory, 0o755)
        with open(script, "w") as f:
            f.write(_SCRIPT.format(status=status, roots=roots, verbosity=verbosity))
        os.chmod(script, 0o644)
        _remote_exec(pid, script)
        return _wait_for_status(pid, status, timeout)
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


def _attach(pid: int, roots: List[str], timeout: float, verbosity: int) -> int:
    """Make ``pid`` live and say how it went; the exit status."""
    try:
        _check_target(pid)
        state, _, detail = _run_attach_script(pid, roots, timeout, verbosity).partition("\n")
    except _Failed as exc:
        return _fail(str(exc))
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
