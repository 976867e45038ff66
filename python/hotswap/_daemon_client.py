"""The client side of ``pytest --hotswap-daemon``: find (or start) the project's pytest daemon,
hand it this run, and wait for its exit code.

The daemon listens on a Unix domain socket in a private directory (mode 0700, checked before
use), one per project rootdir and Python. A run passes the client's stdin, stdout and stderr
file descriptors over the socket (``SCM_RIGHTS``), so the daemon's pytest writes straight to
the client's terminal: output streams live, and colours and the terminal size are the
terminal's own. The messages are JSON lines; this module also holds the helpers the daemon
uses to speak them (the daemon imports this module, never the reverse).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time

PROTOCOL = 1
START_TIMEOUT = 60.0
BUSY_NOTICE_AFTER = 0.5


# Options a warm process cannot serve, and why.
COLD_ONLY = {
    "-n": "-n (pytest-xdist) starts worker processes",
    "--numprocesses": "--numprocesses (pytest-xdist) starts worker processes",
    "--dist": "--dist (pytest-xdist) starts worker processes",
    "--tx": "--tx (pytest-xdist) starts worker processes",
    "-f": "-f (looponfail) runs its own loop",
    "--looponfail": "--looponfail runs its own loop",
    "--cov": "--cov must see the imports a warm process has done already",
    "--reload-loop": "--reload-loop runs its own session",
}


def _option_name(arg: str) -> str:
    if arg.startswith("--"):
        return arg.split("=", 1)[0]
    if arg.startswith("-n") and len(arg) > 2:  # -n4, -nauto
        return "-n"
    return arg


def cold_option(args) -> "str | None":
    """Why these pytest arguments cannot be served warm (None: they can)."""
    for arg in args:
        if arg == "--":
            break
        reason = COLD_ONLY.get(_option_name(arg))
        if reason is not None:
            return reason
    return None


class DaemonError(Exception):
    """Something the user must hear about in one line (the run does not go to the daemon)."""


class DaemonLost(DaemonError):
    """The daemon went away during a run (the run is not repeated)."""


def private_dir() -> str:
    """The directory for sockets and logs, private to this user (created mode 0700)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    path = os.path.join(base, f"hotswap-pytest-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise DaemonError(
            f"{path} is not a private directory (it must be a directory owned by you with mode "
            "0700); remove it and run again"
        )
    return path


class DaemonPaths:
    """The files of the daemon for one project rootdir and one Python."""

    def __init__(self, rootdir: str) -> None:
        self.rootdir = os.path.realpath(rootdir)
        identity = f"{self.rootdir}\0{os.path.realpath(sys.executable)}\0{sys.version}"
        key = hashlib.sha256(identity.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        folder = private_dir()
        self.socket = os.path.join(folder, f"pytest-{key}.sock")
        self.lock = os.path.join(folder, f"pytest-{key}.lock")
        self.log = os.path.join(folder, f"pytest-{key}.log")
        self.info = os.path.join(folder, f"pytest-{key}.json")  # for `hotswap pytest`


# -- messages ------------------------------------------------------------------------------


def send(conn: socket.socket, message: dict, fds: tuple = ()) -> None:
    data = (json.dumps(message) + "\n").encode("utf-8", "surrogateescape")
    if fds:
        sent = socket.send_fds(conn, [data], list(fds))
        data = data[sent:]
    if data:
        conn.sendall(data)


class Reader:
    """Reads JSON lines from a socket (and the file descriptors sent with the first one)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""
        self.fds: list = []

    def read(self, with_fds: bool = False):
        """The next message, or None when the other side closed the connection."""
        while b"\n" not in self.buffer:
            if with_fds and not self.fds:
                chunk, fds, _flags, _addr = socket.recv_fds(self.conn, 1 << 20, 3)
                self.fds.extend(fds)
            else:
                chunk = self.conn.recv(1 << 20)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line.decode("utf-8", "surrogateescape"))


# -- finding or starting the daemon --------------------------------------------------------


def _connect(path: str):
    """A connection to the daemon at ``path``; None when none listens there (a socket left by
    a daemon that died is removed)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(path)
        return conn
    except FileNotFoundError:
        conn.close()
        return None
    except ConnectionRefusedError:
        conn.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # stale: nothing listens on it
        return None


@contextlib.contextmanager
def _locked(path: str):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


def _spawn(paths: DaemonPaths, settings: dict) -> subprocess.Popen:
    argv = [sys.executable, "-m", "hotswap._daemon_server", "--socket", paths.socket]
    argv += ["--root", paths.rootdir]
    argv += ["--idle", str(settings["idle"]), "--max-growth", str(settings["max_growth"])]
    with open(paths.log, "w") as log:
        return subprocess.Popen(
            argv,
            cwd=paths.rootdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C in the terminal reaches the client, not the daemon
            close_fds=True,
        )


def connect_or_start(paths: DaemonPaths, settings: dict, say) -> socket.socket:
    """A connection to the project's daemon, started first if none runs (one at a time: two
    clients starting at once share the first one's daemon)."""
    with _locked(paths.lock):
        conn = _connect(paths.socket)
        if conn is not None:
            return conn
        process = _spawn(paths, settings)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if os.path.exists(paths.socket):
                conn = _connect(paths.socket)
                if conn is not None:
                    say(f"started the pytest daemon (pid {process.pid}) for {paths.rootdir}")
                    return conn
            if process.poll() is not None:
                raise DaemonError(
                    f"the pytest daemon exited at start (status {process.returncode}):\n"
                    + _log_tail(paths.log)
                )
            time.sleep(0.01)
        process.kill()
        raise DaemonError(f"the pytest daemon did not start in {START_TIMEOUT:.0f} s")


def _hello(conn: socket.socket, reader: Reader, say) -> dict:
    """The daemon's greeting; it comes when the daemon takes this client (another run may be
    going on: the client is queued and says so)."""
    conn.settimeout(BUSY_NOTICE_AFTER)
    try:
        hello = reader.read()
    except socket.timeout:
        say("the pytest daemon is busy with another run; this one waits its turn (Ctrl-C gives up)")
        conn.settimeout(None)
        hello = reader.read()
    conn.settimeout(None)
    if hello is None:
        raise ConnectionResetError(errno.ECONNRESET, "the pytest daemon closed the connection")
    return hello


# -- one run -------------------------------------------------------------------------------


def standard_fds_open() -> None:
    """fds 0-2 are passed to the daemon: a closed one is opened on /dev/null first."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _wait_for_exit(conn: socket.socket, reader: Reader, say) -> dict:
    """Messages until the run's end; Ctrl-C here is passed on to the running test."""
    interrupts = 0
    while True:
        try:
            message = reader.read()
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts > 2:
                say("gave up waiting for the pytest daemon (it goes on with the run)")
                return {"exit": 2}
            send(conn, {"op": "interrupt"})
            continue
        if message is None:
            raise DaemonLost("the pytest daemon stopped during the run (see its log)")
        if "say" in message:
            say(message["say"])
            continue
        return message


def exchange(paths: DaemonPaths, conn: socket.socket, request: dict, say) -> dict:
    """Hands one run to the daemon on ``conn``; returns its last message: ``exit`` (with the
    code), ``restart`` (it ends: why), ``cold`` (this run cannot be served warm: why),
    ``elsewhere`` (the run's rootdir is another daemon's) or ``declined`` (a guessed daemon
    would have to restart: the long way decides)."""
    request = dict(request, op="run", protocol=PROTOCOL)
    with conn:
        reader = Reader(conn)
        hello = _hello(conn, reader, say)
        if hello.get("protocol") != PROTOCOL:
            send(conn, {"op": "stop"})
            reply = {"restart": "it speaks another protocol (hotswap was upgraded)"}
        else:
            send(conn, request, fds=(0, 1, 2))
            reply = _wait_for_exit(conn, reader, say)
    if "restart" in reply:
        say(f"restarting the pytest daemon: {reply['restart']}")
        _wait_gone(paths, hello.get("pid"))
    elif reply.get("note"):
        say(reply["note"])
    return reply


def run(rootdir: str, request: dict, settings: dict, say) -> int:
    """Runs ``request`` in the daemon of ``rootdir`` and returns pytest's exit code."""
    paths = DaemonPaths(rootdir)
    for _attempt in range(3):
        reply = exchange(paths, connect_or_start(paths, settings, say), request, say)
        if "exit" in reply:
            return int(reply["exit"])
        if "restart" not in reply:
            raise DaemonError(reply.get("cold") or f"the run's rootdir is {reply.get('elsewhere')}")
    raise DaemonError("the pytest daemon restarted three times in a row; see " + paths.log)


def _wait_gone(paths: DaemonPaths, pid, timeout: float = 10.0) -> None:
    """Waits for a daemon that said it ends to be gone (its socket removed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(paths.socket) or (pid and not _alive(pid)):
            return
        time.sleep(0.01)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def stop(rootdir: str, say) -> int:
    """``--hotswap-daemon-stop``: ends the project's daemon; 0 also when none ran."""
    paths = DaemonPaths(rootdir)
    conn = _connect(paths.socket)
    if conn is None:
        say(f"no pytest daemon runs for {paths.rootdir}")
        return 0
    with conn:
        reader = Reader(conn)
        hello = _hello(conn, reader, say)
        send(conn, {"op": "stop"})
        reply = reader.read() or {}
    _wait_gone(paths, hello.get("pid"))
    say(
        f"stopped the pytest daemon (pid {hello.get('pid')}; {reply.get('runs', '?')} runs; "
        f"{reply.get('rss_mb', '?')} MB)"
    )
    return 0
