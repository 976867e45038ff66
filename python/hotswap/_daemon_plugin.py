"""``pytest --hotswap-daemon``: a pytest process that hands its run to the project's daemon.

The pytest plugin calls :func:`run_in_daemon` from ``pytest_load_initial_conftests``, after
pytest found the rootdir and read the ini file and before any conftest is imported (the time
the daemon saves). The process then exits with the daemon's exit code. Runs the daemon cannot
serve warm go on here as a plain run, after a one-line note.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

# Options that take the daemon's own values; they are not forwarded.
DAEMON_FLAGS = ("--hotswap-daemon", "--hotswap-daemon-stop")
DAEMON_VALUES = ("--hotswap-daemon-idle", "--hotswap-daemon-max-growth")


def say(text: str) -> None:
    print(f"hotswap: {text}", file=sys.stderr, flush=True)


def cold_only_reason(args: List[str], early_config) -> Optional[str]:
    """Why this run cannot be served warm (None: it can)."""
    from ._daemon_client import cold_option

    if early_config.invocation_params.plugins:
        return "plugin objects passed to pytest.main() cannot be sent to the daemon"
    return cold_option(args)


def forwarded_args(args) -> List[str]:
    """The invocation's arguments without the daemon's own options."""
    forwarded, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in DAEMON_FLAGS:
            continue
        elif arg in DAEMON_VALUES:
            skip = True
        elif arg.split("=", 1)[0] in DAEMON_VALUES:
            continue
        else:
            forwarded.append(arg)
    return forwarded


def initial_sys_path(early_config) -> List[str]:
    """``sys.path`` as the interpreter set it up (pytest already added the ini's pythonpath,
    which the daemon's pytest adds again)."""
    path = list(sys.path)
    for added in early_config.getini("pythonpath") or []:
        if str(added) in path:
            path.remove(str(added))
    return path


def request_for(early_config) -> dict:
    out = sys.__stdout__
    return {
        "args": forwarded_args(early_config.invocation_params.args),
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "sys_path": initial_sys_path(early_config),
        "argv0": sys.argv[0] if sys.argv else "pytest",
        "encoding": getattr(out, "encoding", None),
        "errors": getattr(out, "errors", None),
    }


def run_in_daemon(early_config, args: List[str]) -> None:
    """Runs this invocation in the daemon and exits with its code; returns (a plain run goes
    on) when the run cannot be served warm."""
    from . import _daemon_client, _daemon_server

    if _daemon_server.SERVING:
        return  # --hotswap-daemon in addopts, read again inside the daemon
    options = early_config.known_args_namespace
    rootdir = str(early_config.rootpath)
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:  # the terminal, not pytest's capture files, goes to the daemon
        capture.suspend_global_capture(in_=True)
    try:
        if options.hotswap_daemon_stop:
            code = _daemon_client.stop(rootdir, say)
        else:
            reason = cold_only_reason(args, early_config)
            if reason is not None:
                say(f"{reason}: running plain pytest, not the daemon")
                return
            _daemon_client.standard_fds_open()
            settings = {
                "idle": options.hotswap_daemon_idle,
                "max_growth": options.hotswap_daemon_max_growth,
            }
            code = _daemon_client.run(rootdir, request_for(early_config), settings, say)
    except _daemon_client.DaemonLost as exc:
        say(str(exc))
        code = 3
    except (_daemon_client.DaemonError, OSError) as exc:
        say(f"{exc}; running plain pytest, not the daemon")
        return
    finally:
        if capture is not None:
            capture.resume_global_capture()
    raise SystemExit(code)
