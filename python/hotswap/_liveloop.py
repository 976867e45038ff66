"""``hotswap.live_loop``: a loop that runs its newest body from the next iteration on.

A running frame keeps the code it started with, so an edit to the body of a loop that is
already running would otherwise only show at the function's next call. A live loop finds its
loop once in the engine's record of its file (the engine parsed each version of the file once
and kept the loops it holds, by enclosing scope and rank). At each iteration it reads a counter
of applied edits; when the counter moved it asks the engine for its loop's record and compares
the hash of the loop's own text: only an edit of the loop itself gives it a new body, compiled
once from the source the engine builds for it and run by the iterator itself with the loop's
local variables; when the loop ends, the variables are written back to the frame, so the code
after the loop sees them. A loop that only moved (lines added above it) is compiled again,
quietly, so tracebacks show the lines that run.

A new body that fails to compile, or uses what only works in its function (``return``...), is
reported (``file:line``) and not used: the body before it keeps running. A new body that raises
on its first item is reported once; when the exception comes from the body's own code (not from
a function it called), the body is set aside and the one before it runs that item again, from
the locals as they were; otherwise the exception goes on as in a plain run. Nothing runs an item
more than twice, and only a new body's first item twice.
"""

from __future__ import annotations

import ast
import itertools
import os
import sys
from types import CodeType, FrameType

from . import _core
from . import _log as log

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

    Loop = Union[ast.For, ast.While]

_ITEM = "__hotswap_item__"
_BROKE = "__hotswap_broke__"
_CO_OPTIMIZED = 0x0001
_NOTHING = object()


def _is_while_true(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.While)
        and isinstance(node.test, ast.Constant)
        and node.test.value in (True, 1)
    )


def _runs_only_in_its_function(loop: Loop) -> bool:
    """Whether a body uses ``return``, ``yield``, ``await`` or ``nonlocal`` (or the loop has an
    ``else``): used once, on the main script's tree before it runs (the engine answers for
    edits)."""
    if loop.orelse:
        return True
    stack: List[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Nonlocal)):
            return True
        stack.extend(ast.iter_child_nodes(node))
    return False


def _display(path: str) -> str:
    """A path as the engine's messages show it: relative to the working directory when under it."""
    cwd = os.getcwd()
    return os.path.relpath(path, cwd) if path.startswith(cwd.rstrip(os.sep) + os.sep) else path


class LiveLoop(_core.LiveIter):
    """The iterator ``live_loop`` returns; see :func:`hotswap.live_loop`. Iteration itself is
    ``_core.LiveIter.__next__``, which calls ``_next`` only when something may have changed."""

    def __init__(self, iterable: Iterable[Any], frame: FrameType) -> None:
        self._frame: Optional[FrameType] = frame
        self._filename = frame.f_code.co_filename
        self._module_level = not frame.f_code.co_flags & _CO_OPTIMIZED
        self._where: Optional[Tuple[List[str], int]] = None
        self._body: Optional[CodeType] = None  # None: the frame's own body
        # The body a new body replaced, until the new one completes an item (then None).
        self._previous: Optional[CodeType] = None
        self._new = False  # the current body came with an edit and completed no item yet
        self._ns: Optional[Dict[str, Any]] = None
        self._done = False
        # Variables shared with closures: kept in step with the frame at each iteration.
        code = frame.f_code
        self._cells = () if self._module_level else code.co_cellvars + code.co_freevars
        record = _core.live_loop_at(self._filename, frame.f_lineno)
        self._line = frame.f_lineno if record is None else record.line
        # What the running body was made from: the loop's text hash and first line.
        self._seen = None if record is None else (record.text_hash, record.line)
        self._kind = "for" if record is None else record.kind
        self._missing = False  # said that the loop is gone (said once)
        if record is None:
            log.debug(
                "%s:%d: live_loop is not the iterable of a for statement in a file hotswap runs",
                *self._at(),
            )
            return
        self._where = (record.scope, record.index)

    def _at(self) -> Tuple[str, int]:
        return _display(self._filename), self._line

    def _next(self, item: Any = _NOTHING) -> Any:
        while True:
            if self._done:
                raise StopIteration
            if item is _NOTHING:
                item = self._next_item()
            self._check()
            if self._body is None:
                self._sync_back()
                self.fast = True
                return item
            if self._ns is None:
                self._ns = self._frame_locals()
            pulled = self._pull_cells() if self._cells else {}
            before = dict(self._ns) if self._new else None
            try:
                broke = self._run(self._body, item)
            except Exception as exc:
                if before is None or not self._set_aside(exc):
                    raise
                for name in [name for name in self._ns if name not in before]:
                    del self._ns[name]
                self._ns.update(before)
                continue  # the body before it runs the same item
            if self._cells:
                self._settle_cells(pulled)
            self._new, self._previous = False, None
            item = _NOTHING
            if broke:
                self._done = True
                raise StopIteration

    def _run(self, body: CodeType, item: Any) -> bool:
        ns = self._ns
        assert ns is not None and self._frame is not None
        ns[_ITEM] = (item,)
        ns[_BROKE] = True
        try:
            exec(body, self._frame.f_globals, ns)
            return bool(ns[_BROKE])
        finally:
            ns.pop(_ITEM, None)
            ns.pop(_BROKE, None)

    def _check(self) -> None:
        """At an applied edit: a new body when the loop's own text changed, the same body at
        its new lines when the loop only moved, nothing otherwise."""
        generation = _core.source_generation()
        if generation == self.generation:
            return
        self.generation = generation
        if self._where is None:
            return
        record = _core.live_loop(self._filename, *self._where)
        if record is None:
            if not self._missing:
                self._missing = True
                scope = ".".join(self._where[0]) or "the module"
                log.problem(
                    log.WARNING,
                    *self._at(),
                    f"the live loop is no longer in {scope}; its body stays as it is",
                )
            return
        self._missing = False
        if (record.text_hash, record.line) == self._seen:
            return
        changed = self._seen is None or record.text_hash != self._seen[0]
        self._seen = (record.text_hash, record.line)
        self._line = record.line
        if not changed and (record.problem is not None or record.kind != self._kind):
            return  # what runs is older than this text; it was said when the text came
        body = self._compile(record)
        if body is None:
            return
        if not changed:
            # Same text at other lines: the same body, so tracebacks show the right lines.
            self._body = body
            self.fast = False
            log.debug("%s:%d: live loop moved; its body runs at its new lines", *self._at())
            return
        if not self._new:  # a body that never completed an item is no fallback
            self._previous = self._body
        self._body, self._new = body, True
        self.fast = False
        log.info("%s:%d: live loop runs its new body from this iteration on", *self._at())

    def _compile(self, record: Any) -> Optional[CodeType]:
        """The body of the loop ``record`` describes, or None (said why) when it cannot run."""
        if record.kind != self._kind:
            log.problem(
                log.WARNING,
                *self._at(),
                "the live loop is no longer a loop of the same kind; its body stays as it is",
            )
            return None
        if record.problem is not None:
            line, what = record.problem
            log.problem(
                log.ERROR,
                _display(self._filename),
                line,
                f"the live loop's new body {what}, which only works in its function; "
                "the previous body keeps running",
            )
            return None
        try:
            body = compile(record.runner, self._filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            log.problem(
                log.ERROR,
                _display(self._filename),
                exc.lineno or self._line,
                f"the live loop's new body does not compile ({exc.msg}); the previous body "
                "keeps running",
            )
            return None
        if not record.scope:
            return body
        # Tracebacks name the function the loop is in, as for the frame's own body.
        if sys.version_info >= (3, 11):
            return body.replace(co_name=record.scope[-1], co_qualname=".".join(record.scope))
        return body.replace(co_name=record.scope[-1])

    def _set_aside(self, exc: BaseException) -> bool:
        """A new body raised on its first item: reports it once, where it was raised. True when
        the exception comes from the body's own code: the body is set aside and the one it
        replaced takes over. Otherwise (a function it called raised) the exception goes on."""
        tb = exc.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        own = tb is not None and tb.tb_frame.f_code is self._body
        where = (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb else (self._filename, 0)
        then = "the previous body runs this item again" if own else "it goes on as in a plain run"
        log.problem(
            log.ERROR,
            _display(where[0]),
            where[1],
            f"the live loop's new body raised {type(exc).__name__}: {exc}; {then}",
        )
        self._new = False
        if not own:
            return False
        self._body, self._previous = self._previous, None
        return True

    def _frame_locals(self) -> Dict[str, Any]:
        assert self._frame is not None
        if self._module_level:  # the module's globals (or a class body's namespace) itself
            return self._frame.f_locals
        return dict(self._frame.f_locals)

    def _sync_back(self) -> None:
        """Writes the variables the new bodies set back to the frame."""
        ns, self._ns = self._ns, None
        if ns is not None and not self._module_level:
            self._push(ns)

    def _push(self, values: Dict[str, Any]) -> None:
        frame = self._frame
        if frame is None:
            return
        if sys.version_info >= (3, 13):
            proxy = frame.f_locals  # PEP 667: writes go to the frame's variables
            for name, value in values.items():
                proxy[name] = value
            return
        import ctypes

        frame.f_locals.update(values)
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))

    def _pull_cells(self) -> Dict[str, Any]:
        """Closures may have changed shared variables since the last iteration."""
        assert self._frame is not None and self._ns is not None
        current = self._frame.f_locals
        pulled = {}
        for name in self._cells:
            try:
                pulled[name] = self._ns[name] = current[name]
            except KeyError:  # an empty cell
                pass
        return pulled

    def _settle_cells(self, pulled: Dict[str, Any]) -> None:
        """After an iteration: shared variables the body rebound go to the frame (where
        closures see them); the others take what a closure may have set meanwhile."""
        assert self._frame is not None and self._ns is not None
        ns = self._ns
        current = self._frame.f_locals
        rebound = {}
        for name in self._cells:
            if name in ns and (name not in pulled or ns[name] is not pulled[name]):
                rebound[name] = ns[name]
            elif name in current:
                ns[name] = current[name]
        if rebound:
            self._push(rebound)

    def _finish(self) -> None:
        self._done = True
        self.fast = False
        self._sync_back()
        self._frame = None


def _live_while() -> LiveLoop:
    """What a ``while True:`` loop of the main script iterates over once made live."""
    return LiveLoop(itertools.repeat(()), sys._getframe(1))  # ``for [] in``: binds nothing


def make_main_loops_live(tree: ast.Module) -> int:
    """Turns each ``while True:`` loop of the main script that is inside a function or the
    ``if __name__ == "__main__":`` block into ``for [] in _live_while():`` (same lines, no new
    variable), unless its body uses what a live body cannot (``return``, ``yield``...). Loops
    at the top level elsewhere are left alone: a reload re-runs changed top-level statements.
    Returns how many loops became live."""
    count = 0

    def is_main_guard(node: ast.stmt) -> bool:
        test = getattr(node, "test", None)
        return (
            isinstance(node, ast.If)
            and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name)
            and test.left.id == "__name__"
            and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant)
            and test.comparators[0].value == "__main__"
        )

    def rewrite(statements: List[Any], live: bool) -> None:
        nonlocal count
        for position, node in enumerate(statements):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                rewrite(node.body, True)
                continue
            if isinstance(node, ast.ClassDef):
                rewrite(node.body, False)
                continue
            if live and _is_while_true(node) and not _runs_only_in_its_function(node):
                module = ast.Call(
                    func=ast.Name(id="__import__", ctx=ast.Load()),
                    args=[ast.Constant("hotswap._liveloop")],
                    keywords=[],
                )
                package = ast.Attribute(value=module, attr="_liveloop", ctx=ast.Load())
                function = ast.Attribute(value=package, attr="_live_while", ctx=ast.Load())
                call = ast.Call(func=function, args=[], keywords=[])
                for child in ast.walk(call):
                    ast.copy_location(child, node.test)
                loop = ast.For(
                    target=ast.List(elts=[], ctx=ast.Store()),
                    iter=call,
                    body=node.body,
                    orelse=[],
                    type_comment=None,
                )
                node = statements[position] = ast.copy_location(loop, node)
                ast.copy_location(node.target, node)
                count += 1
            inner_live = live or is_main_guard(node)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    rewrite(children, inner_live)

    rewrite(tree.body, False)
    return count
