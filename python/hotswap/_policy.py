"""Process policy of the command line: restarting after rude edits, and making the processes
the program starts live too (``--on-rude``, ``--no-children``)."""

from __future__ import annotations

import os
import sys

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, List, Optional

    from ._events import EventStream


def _restart_command(cli_args: List[str]) -> List[str]:
    """The command that started this program: interpreter options, ``-m hotswap``, arguments."""
    orig = getattr(sys, "orig_argv", None)
    if orig and "hotswap" in " ".join(orig):
        return list(orig)
    return [sys.executable, "-m", "hotswap", *cli_args]


def restart_on_rude(cli_args: List[str], events: Optional[EventStream] = None) -> Callable:
    """An ``on_reload`` callback that restarts the process after a rude edit (said on the
    event stream ``events`` first, which is then written out)."""
    from . import _log as log

    def on_reload(report) -> None:
        if not report.rude:
            return
        log.warning("restarting: an edit could not be applied in place (--on-rude restart)")
        command = _restart_command(cli_args)
        if events is not None:
            from ._events import event

            events.emit(event("restarted", argv=command, reason="rude edit"))
            events.close()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        # What this command line set for its children would make the new one watch twice.
        env = {k: v for k, v in os.environ.items() if k not in ("HOTSWAP_WATCH", "HOTSWAP_EVENTS")}
        os.execve(command[0], command, env)

    return on_reload


def _quieter_in_forked_children(verbosity: int) -> None:
    """A forked child applies each edit too: it only says so with -v, and names itself."""

    def child() -> None:
        from . import _log

        prefix = f"hotswap[{os.getpid()}]"
        if _log.restyle_pending(prefix, _log.WARNING):
            return  # logging not used yet: the set-up made when it is carries the new style
        import logging

        from ._logsetup import PrefixFormatter

        logger = logging.getLogger("hotswap")
        for handler in logger.handlers:
            handler.setFormatter(PrefixFormatter(prefix))
        if verbosity <= 0:
            logger.setLevel(logging.WARNING if verbosity == 0 else logging.ERROR)

    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=child)


def both(first: Optional[Callable], second: Optional[Callable]) -> Optional[Callable]:
    """One ``on_reload`` callback calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first or second

    def on_reload(report) -> None:
        first(report)
        second(report)

    return on_reload


def live_children(opts, roots: List[str]) -> None:
    """Python processes the program starts watch the same roots (see ``_autostart``)."""
    _quieter_in_forked_children(opts.verbosity)
    if "hotswap._autostart" in sys.modules:  # started with HOTSWAP_WATCH set: this CLI watches
        sys.modules["hotswap._autostart"].stop()
    if not opts.children:
        for name in (
            "HOTSWAP_WATCH",
            "HOTSWAP_MAIN",
            "HOTSWAP_SYNC",
            "HOTSWAP_DEBOUNCE",
            "HOTSWAP_EVENTS",
        ):
            os.environ.pop(name, None)
        return
    os.environ["HOTSWAP_WATCH"] = os.pathsep.join(os.path.abspath(r) for r in roots)
    if opts.script is not None:
        os.environ["HOTSWAP_MAIN"] = os.path.abspath(opts.script)
    os.environ["HOTSWAP_SYNC"] = opts.sync
    if opts.debounce is not None:
        os.environ["HOTSWAP_DEBOUNCE"] = str(opts.debounce)
    os.environ["HOTSWAP_VERBOSITY"] = str(opts.verbosity)
    os.environ["HOTSWAP_MESSAGE_FORMAT"] = opts.message_format
    if opts.events is None:
        os.environ.pop("HOTSWAP_EVENTS", None)
    else:  # children append their own events (each with its pid) to the same place
        os.environ["HOTSWAP_EVENTS"] = "-" if opts.events == "-" else os.path.abspath(opts.events)
