"""``hotswap pytest ARGS``: ``python -m pytest --hotswap-daemon ARGS`` without importing pytest.

A run of ``pytest --hotswap-daemon`` pays for Python's start-up, importing pytest and loading
every installed plugin before it can hand the run over. This client does not import pytest: it
finds the running daemon of this Python whose rootdir holds the working directory (from the
files the daemons write next to their sockets) and hands it the run. The daemon checks that
the run's rootdir is its own and that its options (addopts included) can be served warm;
whenever it cannot serve the run (no daemon yet, another rootdir, ``-n``, a restart), this
process becomes ``python -m pytest --hotswap-daemon ARGS``, which does everything the long way.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

from . import _daemon_client


def _say(text: str) -> None:
    print(f"hotswap: {text}", file=sys.stderr, flush=True)


def _daemon_rootdir(cwd: str) -> Optional[str]:
    """The rootdir of the deepest running daemon of this Python that holds ``cwd``."""
    try:
        folder = _daemon_client.private_dir()
        names = os.listdir(folder)
    except (OSError, _daemon_client.DaemonError):
        return None
    python = os.path.realpath(sys.executable)
    best = None
    for name in names:
        if not (name.startswith("pytest-") and name.endswith(".json")):
            continue
        try:
            with open(os.path.join(folder, name)) as f:
                info = json.load(f)
        except (OSError, ValueError):
            continue
        root = info.get("rootdir", "")
        if info.get("python") != python or info.get("version") != sys.version:
            continue
        if (cwd == root or cwd.startswith(root.rstrip(os.sep) + os.sep)) and (
            best is None or len(root) > len(best)
        ):
            best = root
    return best


def _the_long_way(args: List[str]) -> int:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "--hotswap-daemon", *args])
    return 1  # not reached


def main(args: List[str]) -> int:
    cwd = os.path.realpath(os.getcwd())
    rootdir = _daemon_rootdir(cwd)
    own_options = any(a.startswith("--hotswap-daemon") for a in args)
    if rootdir is None or own_options or _daemon_client.cold_option(args):
        return _the_long_way(args)
    paths = _daemon_client.DaemonPaths(rootdir)
    conn = _daemon_client._connect(paths.socket)
    if conn is None:
        return _the_long_way(args)
    _daemon_client.standard_fds_open()
    out = sys.__stdout__
    request = {
        "args": list(args),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "sys_path": [os.getcwd(), *sys.path[1:]],  # as `python -m pytest` has it
        "argv0": sys.argv[0],
        "encoding": getattr(out, "encoding", None),
        "errors": getattr(out, "errors", None),
        "fast": True,
    }
    try:
        reply = _daemon_client.exchange(paths, conn, request, _say)
    except _daemon_client.DaemonLost as exc:
        _say(str(exc))
        return 3
    except (_daemon_client.DaemonError, OSError):
        return _the_long_way(args)
    if "exit" in reply:
        return int(reply["exit"])
    return _the_long_way(args)
