"""Traceback lines for frames that still run the code their file started with.

A frame keeps the code it started with, and an edit can move that code's lines; tracebacks look
lines up by file name and line number in the file's current text, so such a frame would show
the new text's line at the old line number. The CLI remembers the text the script's code was
compiled from; when the program dies, a frame running that code shows its line from that text
(when it differs from the current one), and every other frame shows the current text as usual.
"""

from __future__ import annotations

import sys
from types import CodeType

# typing is only imported by type checkers: importing it costs every program ~2 ms. So are
# linecache and traceback (imported when a traceback is shown: every program would pay ~2 ms).
TYPE_CHECKING = False
if TYPE_CHECKING:
    import traceback
    from types import TracebackType
    from typing import Dict, List, Optional, Set, Tuple


class _Text:
    """The source some code was compiled from, decoded when a traceback first needs its lines
    (decoding imports tokenize, which would cost every program ~3 ms at start)."""

    __slots__ = ("source", "decoded")

    def __init__(self, source: bytes) -> None:
        self.source = source
        self.decoded: Optional[List[str]] = None

    def lines(self) -> List[str]:
        if self.decoded is None:
            from importlib.util import decode_source

            self.decoded = decode_source(self.source).splitlines(keepends=True)
        return self.decoded


# id(code) -> (code, the text it was compiled from); the code is kept so its id is never
# reused by another object.
_SOURCES: Dict[int, Tuple[CodeType, _Text]] = {}


def remember(code: CodeType, source: bytes) -> None:
    """``code`` (and the code nested in it) was compiled from ``source`` (a file's bytes)."""
    text = _Text(source)
    stack = [code]
    while stack:
        current = stack.pop()
        _SOURCES[id(current)] = (current, text)
        stack.extend(const for const in current.co_consts if isinstance(const, CodeType))


def _ran(tb: TracebackType, first: int, last: int) -> Optional[str]:
    """Lines ``first..last`` of the text the frame's code came from, when that text is
    remembered and its line differs from the current text's line; otherwise None."""
    known = _SOURCES.get(id(tb.tb_frame.f_code))
    if known is None or known[0] is not tb.tb_frame.f_code:
        return None
    import linecache

    lines = known[1].lines()
    filename = tb.tb_frame.f_code.co_filename
    if not 0 < first <= len(lines) or lines[first - 1] == linecache.getline(filename, first):
        return None
    return "".join(lines[first - 1 : min(last, len(lines))])


def _summary(tb: TracebackType, frame: traceback.FrameSummary) -> traceback.FrameSummary:
    """``frame`` with the line its code ran, when that is not the current text's."""
    import traceback

    end = getattr(frame, "end_lineno", None) or frame.lineno
    ran = _ran(tb, frame.lineno, end if sys.version_info >= (3, 13) else frame.lineno)
    if ran is None:
        return frame
    positions = {
        name: getattr(frame, name)
        for name in ("end_lineno", "colno", "end_colno")
        if hasattr(frame, name)
    }
    if sys.version_info >= (3, 13):  # all the lines of the statement, as 3.13+ keeps them
        ran = "\n".join(line.rstrip() for line in ran.splitlines()) + "\n"
    return traceback.FrameSummary(
        frame.filename,
        frame.lineno,
        frame.name,
        lookup_line=False,
        locals=frame.locals,
        line=ran,
        **positions,
    )


def _fix(error: traceback.TracebackException, exc: BaseException, seen: Set[int]) -> bool:
    """Puts the lines that ran into ``error`` and its chained exceptions; True if any changed."""
    import traceback

    if id(exc) in seen:
        return False
    seen.add(id(exc))
    tbs = [tb for tb in _walk(exc.__traceback__)]
    changed = False
    if len(tbs) == len(error.stack):
        frames = [_summary(tb, frame) for tb, frame in zip(tbs, error.stack)]
        changed = any(new is not old for new, old in zip(frames, error.stack))
        if changed:
            error.stack = traceback.StackSummary.from_list(frames)
    pairs = [(error.__cause__, exc.__cause__), (error.__context__, exc.__context__)]
    pairs += zip(getattr(error, "exceptions", None) or (), getattr(exc, "exceptions", ()))
    for inner_error, inner in pairs:
        if inner_error is not None and inner is not None:
            changed = _fix(inner_error, inner, seen) or changed
    return changed


def _walk(tb: Optional[TracebackType]) -> List[TracebackType]:
    out = []
    while tb is not None:
        out.append(tb)
        tb = tb.tb_next
    return out


def show(exc: BaseException, tb: Optional[TracebackType]) -> None:
    """Prints ``exc`` as ``sys.excepthook`` does, with the lines that ran; a hook the program
    set is called as it is."""
    if _SOURCES and sys.excepthook is sys.__excepthook__:
        import traceback

        error = traceback.TracebackException(type(exc), exc, tb)
        if _fix(error, exc, set()):
            print("".join(error.format()), end="", file=sys.stderr)
            return
    sys.excepthook(type(exc), exc, tb)
