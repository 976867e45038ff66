"""hotswap's logger, without importing ``logging`` until a message must be written.

Importing ``logging`` costs a program about as much as everything else hotswap adds to its
start, and many programs never import it. Before it is imported no logging configuration can
exist, so what ``logging`` would do with a record is known: one below the threshold (WARNING,
Python's default; or what the command line asked for) is dropped, any other imports
``logging`` and goes through the ``hotswap`` logger. Once the program has imported
``logging``, every record goes through it. The extension's Rust records follow the same rule
(``logbridge.rs``).

The command line's stderr set-up (:func:`to_stderr`) is applied to the real logger when it is
first needed (:func:`logger`).
"""

from __future__ import annotations

import sys

from . import _core

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40

_threshold = WARNING
_pending = None  # arguments for _logsetup.log_to_stderr, not applied yet


def to_stderr(
    verbosity: int, prefix: str = "hotswap", quiet: int = INFO, only_once: bool = False
) -> None:
    """Send hotswap's messages to stderr as ``PREFIX: message`` (see ``_logsetup``)."""
    global _pending, _threshold
    _pending = {"verbosity": verbosity, "prefix": prefix, "quiet": quiet, "only_once": only_once}
    _threshold = DEBUG if verbosity > 0 else quiet if verbosity == 0 else ERROR
    _core.set_log_threshold(_threshold)
    if "logging" in sys.modules:
        logger()


def restyle_pending(prefix: str, quiet: int) -> bool:
    """Change the stderr set-up not applied yet (a forked child names itself); False if none."""
    global _threshold
    if _pending is None:
        return False
    _pending.update(prefix=prefix, quiet=quiet)
    if _pending["verbosity"] == 0:
        _threshold = quiet
        _core.set_log_threshold(quiet)
    return True


def logger():
    """The ``hotswap`` ``logging.Logger``, with any pending set-up applied (imports logging)."""
    global _pending
    import logging

    if _pending is not None:
        from ._logsetup import log_to_stderr

        setup, _pending = _pending, None
        log_to_stderr(**setup)
    return logging.getLogger("hotswap")


def log(level: int, msg: str, *args, **kwargs) -> None:
    if level < _threshold and "logging" not in sys.modules:
        return
    logger().log(level, msg, *args, **kwargs)


def debug(msg: str, *args, **kwargs) -> None:
    log(DEBUG, msg, *args, **kwargs)


def info(msg: str, *args, **kwargs) -> None:
    log(INFO, msg, *args, **kwargs)


def warning(msg: str, *args, **kwargs) -> None:
    log(WARNING, msg, *args, **kwargs)


def error(msg: str, *args, **kwargs) -> None:
    log(ERROR, msg, *args, **kwargs)


MESSAGE_FORMATS = ("plain", "compiler")
_compiler_style = False


def set_message_format(value: str) -> None:
    """``plain`` or ``compiler`` for the engine's messages and :func:`problem`'s."""
    global _compiler_style
    _core.set_message_format(value)  # refuses a bad value with ValueError
    _compiler_style = value == "compiler"


def problem(level: int, path: str, line: int, message: str) -> None:
    """An error (or warning) at ``path:line``, as the engine's are: ``path:line: message``, or
    ``path:line:1: error: message`` under the compiler format (the column is not known here)."""
    if not _compiler_style:
        log(level, "%s:%d: %s", path, line, message)
        return
    if level < _threshold and "logging" not in sys.modules:
        return
    logger()  # applies the pending stderr set-up
    import logging

    severity = "error" if level >= ERROR else "warning"
    text = f"{path}:{max(line, 1)}:1: {severity}: {message}"
    logging.getLogger("hotswap.diagnostic").log(level, "%s", text)


def message_format_from_env() -> None:
    """Apply ``HOTSWAP_MESSAGE_FORMAT`` (see ``watch``); a bad value is said once and ignored."""
    import os

    value = os.environ.get("HOTSWAP_MESSAGE_FORMAT", "")
    if value in MESSAGE_FORMATS:
        set_message_format(value)
    elif value:
        warning("HOTSWAP_MESSAGE_FORMAT: expected plain or compiler; got %r (plain is used)", value)
