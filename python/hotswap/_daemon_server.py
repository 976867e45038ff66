"""The pytest daemon (``python -m hotswap._daemon_server``, started by the client).

One process per project rootdir and Python keeps pytest, its plugins and the project's modules
imported. Each run the client hands over (its arguments, working directory, environment and
its stdin/stdout/stderr) is served by ``pytest.main`` on the main thread, after the saves made
since the last run were applied through the engine. When something cannot be served warm (an
edit the engine could not apply in place, a changed conftest, ini file, plugin, installed
package or environment), the daemon tells the client why and exits; the client starts a new one.
Runs are served one at a time; other clients wait in the socket's queue.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import select
import signal
import socket
import sys
import threading
import time
import traceback
from typing import List, Optional

import pytest

from ._daemon_changes import ProjectFiles, environment_change
from ._daemon_client import PROTOCOL, Reader, cold_option, send

# The daemon imported hotswap before pytest could mark it for assertion rewriting.
IGNORE_ALREADY_IMPORTED = (
    "ignore:Module already imported so cannot be rewritten; hotswap"
    ":pytest.PytestAssertRewriteWarning"
)
SERVING = False  # read by the pytest plugin: inside the daemon --hotswap-daemon does nothing


def settle_heap() -> None:
    """Between runs, with the client answered: the garbage of the last run is collected and
    what is left (the warm modules) is moved out of the cycle collector's sight
    (``gc.freeze``), so the full collections pytest makes at the end of every run only walk
    the objects of that run instead of the whole warm heap. Frozen objects are still freed by
    reference counting; cyclic garbage among them waits for the daemon's restart."""
    gc.collect()
    gc.freeze()


def rss_mb() -> float:
    """The process's resident memory now (Linux), or its peak elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class NotServedHere(Exception):
    """A run this daemon must not serve; ``reply`` says why (``cold`` or ``elsewhere``)."""

    def __init__(self, reply: dict, config) -> None:
        super().__init__(reply)
        self.reply = reply
        self.config = config


class Recorder:
    """A pytest plugin given to every run: checks the run belongs here, and notes the test
    modules and project plugins loaded."""

    def __init__(self, files: ProjectFiles, root: str) -> None:
        self.files = files
        self.root = root

    @pytest.hookimpl(tryfirst=True)
    def pytest_load_initial_conftests(self, early_config, parser, args) -> None:
        # The arguments here include addopts: a client that did not read the ini file (``hotswap
        # pytest``) learns here that its run is another daemon's, or cannot be served warm.
        rootdir = os.path.realpath(str(early_config.rootpath))
        if rootdir != self.root:
            raise NotServedHere({"elsewhere": rootdir}, early_config)
        reason = cold_option(args)
        if reason is not None:
            raise NotServedHere({"cold": reason}, early_config)

    def pytest_plugin_registered(self, plugin, manager) -> None:  # no plugin_name: pytest < 8.1
        path = getattr(plugin, "__file__", None)
        if isinstance(plugin, type(sys)) and isinstance(path, str):
            self.files.plugin_loaded(path)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_make_collect_report(self, collector):
        yield
        module = getattr(collector, "_obj", None)  # set once pytest imported it
        if isinstance(collector, pytest.Module) and module is not None:
            self.files.test_module_loaded(module.__name__)

    def pytest_sessionfinish(self, session) -> None:
        config = session.config
        inipath = str(config.inipath) if config.inipath else None
        self.files.config_seen(str(config.rootpath), inipath)


class Interrupts:
    """Passes the client's Ctrl-C (or its going away) to the run on the main thread."""

    def __init__(self, conn: socket.socket, reader: Reader) -> None:
        self.conn = conn
        self.reader = reader
        self.done = threading.Event()
        self.main = threading.main_thread().ident
        self.thread = threading.Thread(target=self._listen, name="hotswap-interrupts", daemon=True)

    def __enter__(self) -> "Interrupts":
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        self.thread.join()
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def _listen(self) -> None:
        while not self.done.is_set():
            ready, _, _ = select.select([self.conn], [], [], 0.05)
            if not ready or self.done.is_set():
                continue
            try:
                message = self.reader.read()
            except OSError:
                message = None
            if message is None or message.get("op") == "interrupt":
                signal.pthread_kill(self.main, signal.SIGINT)
            if message is None:
                return


class ClientStreams:
    """For one run, fds 0-2 and ``sys.std*`` are the client's; then the daemon's again."""

    def __init__(self, fds: List[int], request: dict) -> None:
        self.fds = fds
        self.request = request

    def __enter__(self) -> "ClientStreams":
        self.saved_fds = [os.dup(fd) for fd in (0, 1, 2)]
        self.saved_std = (sys.stdin, sys.stdout, sys.stderr)
        for target, fd in enumerate(self.fds):
            os.dup2(fd, target)
        encoding = self.request.get("encoding") or "utf-8"
        errors = self.request.get("errors") or "strict"
        tty = os.isatty(1)
        sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding=encoding)
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding=encoding, errors=errors, line_buffering=tty
        )
        sys.stderr = io.TextIOWrapper(
            io.FileIO(2, "w", closefd=False), encoding=encoding, errors="backslashreplace",
            line_buffering=True,
        )  # fmt: skip
        return self

    def __exit__(self, *exc_info) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        sys.stdin, sys.stdout, sys.stderr = self.saved_std
        for target, fd in enumerate(self.saved_fds):
            os.dup2(fd, target)
            os.close(fd)
        for fd in self.fds:
            os.close(fd)


class Daemon:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.files = ProjectFiles()
        self.runs = 0
        self.env = dict(os.environ)
        self.sys_path: Optional[List[str]] = None
        self.rss_warm: Optional[float] = None

    def restart_reason(self, request: dict) -> Optional[str]:
        if self.sys_path is not None and request["sys_path"] != self.sys_path:
            return "sys.path differs from the daemon's (e.g. `python -m pytest` vs `pytest`)"
        return environment_change(self.env, request["env"]) or self.files.restart_reason()

    def handle(self, conn: socket.socket) -> bool:
        """Serves one client; False when the daemon must end after it."""
        reader = Reader(conn)
        send(conn, {"pid": os.getpid(), "protocol": PROTOCOL})
        conn.settimeout(30)
        request = reader.read(with_fds=True)
        conn.settimeout(None)
        if request is None or request.get("op") == "stop":
            if request is not None:
                send(conn, {"stopped": os.getpid(), "runs": self.runs, "rss_mb": round(rss_mb())})
            for fd in reader.fds:
                os.close(fd)
            return request is None
        if len(reader.fds) != 3:
            send(conn, {"restart": "the client's terminal could not be passed"})
            return False
        started = time.perf_counter()
        self.files.forget_test_modules()
        reason = self.restart_reason(request)
        applied = None
        if reason is not None and request.get("fast"):
            # `hotswap pytest` guessed this daemon from its working directory: the run may be
            # another daemon's. Nothing changed yet, so the long way decides (and restarts).
            for fd in reader.fds:
                os.close(fd)
            send(conn, {"declined": reason})
            return True
        if reason is None:
            reason, applied = self.files.apply_edits()
        checked = time.perf_counter()
        if reason is not None:
            for fd in reader.fds:
                os.close(fd)
            send(conn, {"restart": reason})
            return False
        if applied:
            send(conn, {"say": applied})
        code = self.run(conn, reader, request)
        if isinstance(code, dict):  # not served: the client runs it elsewhere
            send(conn, code)
            return True
        ran = time.perf_counter()
        self.files.track_loaded_modules()
        self.files.forget_test_modules()
        note = self.memory_note()
        send(conn, {"exit": code, "note": note})
        answered = time.perf_counter()
        if note is None:
            settle_heap()
        print(
            f"run {self.runs}: exit {code}; ms: checks and edits {(checked - started) * 1e3:.0f}, "
            f"pytest {(ran - checked) * 1e3:.0f}, after {(answered - ran) * 1e3:.0f}, heap "
            f"{(time.perf_counter() - answered) * 1e3:.0f}; {rss_mb():.0f} MB",
            flush=True,
        )
        return note is None

    def run(self, conn: socket.socket, reader: Reader, request: dict) -> "int | dict":
        if self.sys_path is None:
            self.sys_path = list(request["sys_path"])
            sys.path[:] = self.sys_path
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request.get("argv0", "pytest"), *request["args"]]
        args = ["-W", IGNORE_ALREADY_IMPORTED, *request["args"]]
        try:
            with ClientStreams(reader.fds, request), Interrupts(conn, reader):
                try:
                    recorder = Recorder(self.files, os.path.realpath(self.options.root))
                    code = int(pytest.main(args, plugins=[recorder]))
                except NotServedHere as exc:
                    # Undo what pytest set up before the check (its import hook, the capture).
                    getattr(exc.config, "_ensure_unconfigure", lambda: None)()
                    return exc.reply
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 1
                except KeyboardInterrupt:
                    code = 2
                except BaseException:
                    traceback.print_exc()
                    code = 3
        finally:
            os.environ.clear()
            os.environ.update(self.env)
            os.chdir(self.options.root)
        self.runs += 1
        return code

    def memory_note(self) -> Optional[str]:
        now = rss_mb()
        if self.rss_warm is None:
            self.rss_warm = now
            return None
        if now - self.rss_warm > self.options.max_growth:
            return (
                f"the pytest daemon grew from {self.rss_warm:.0f} MB to {now:.0f} MB (limit: "
                f"+{self.options.max_growth:.0f} MB); it ends now and the next run starts a new one"
            )
        return None


def serve(listener: socket.socket, daemon: Daemon) -> None:
    listener.settimeout(daemon.options.idle * 60 if daemon.options.idle > 0 else None)
    while True:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            print(
                f"hotswap: idle for {daemon.options.idle} min; the pytest daemon ends", flush=True
            )
            return
        with conn:
            try:
                go_on = daemon.handle(conn)
            except Exception:  # a client that went away, a bad message: the next one is served
                print("hotswap: a client failed:", flush=True)
                traceback.print_exc(file=sys.stdout)
                go_on = True
        if not go_on:
            return


def _listen(path: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o077)
    try:
        listener.bind(path)
    finally:
        os.umask(old_umask)
    listener.listen(16)
    return listener


def main(argv: Optional[List[str]] = None) -> int:
    global SERVING
    parser = argparse.ArgumentParser(prog="hotswap._daemon_server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--idle", type=float, default=60.0, help="minutes")
    parser.add_argument("--max-growth", type=float, default=1000.0, help="MB")
    options = parser.parse_args(argv)
    SERVING = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import hotswap

    hotswap.install(options.root)  # project modules imported from now on are recorded
    listener = _listen(options.socket)
    mine = os.stat(options.socket).st_ino
    info = options.socket[: -len(".sock")] + ".json"
    identity = {
        "rootdir": os.path.realpath(options.root),
        "pid": os.getpid(),
        "python": os.path.realpath(sys.executable),
        "version": sys.version,
    }
    with open(info, "w") as f:  # what `hotswap pytest` looks for: which project, which Python
        json.dump(identity, f)
    print(f"hotswap: pytest daemon {os.getpid()} serving {options.root}", flush=True)
    try:
        serve(listener, Daemon(options))
    finally:
        listener.close()
        try:
            if os.stat(options.socket).st_ino == mine:  # not a newer daemon's socket
                os.unlink(options.socket)
                os.unlink(info)
        except OSError:
            pass
        print(f"hotswap: pytest daemon {os.getpid()} ends at {time.strftime('%X')}", flush=True)
    return 0


if __name__ == "__main__":
    # Run under the module's own name, so the plugin sees SERVING set.
    from hotswap._daemon_server import main as serve_main

    sys.exit(serve_main())
