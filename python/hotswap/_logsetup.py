"""hotswap's log lines on stderr, for the command line, spawned children and attached processes."""

from __future__ import annotations

import logging
import sys


def log_to_stderr(
    verbosity: int, prefix: str = "hotswap", quiet: int = logging.INFO, only_once: bool = False
) -> None:
    """Send the ``hotswap`` logger to stderr as ``PREFIX: message``.

    ``verbosity`` > 0 shows every step (DEBUG), 0 shows ``quiet`` and above, < 0 errors only.
    With ``only_once``, nothing is done if the logger has a handler already.
    """
    logger = logging.getLogger("hotswap")
    if only_once and logger.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(PrefixFormatter(prefix))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbosity > 0 else quiet if verbosity == 0 else logging.ERROR)


class PrefixFormatter(logging.Formatter):
    """``PREFIX: message``, except compiler-style diagnostics (the ``hotswap.diagnostic``
    logger, see ``--message-format``): their lines are written as they are, for editors."""

    def __init__(self, prefix: str) -> None:
        super().__init__(f"{prefix}: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.name == "hotswap.diagnostic":
            return record.getMessage()
        return super().format(record)
