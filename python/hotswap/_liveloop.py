"""``hotswap.live_loop``: a loop that runs its newest body from the next iteration on.

A running frame keeps the code it started with, so an edit to the body of a loop that is
already running would otherwise only show at the function's next call. A live loop checks, at
each iteration, whether the source its file runs changed (one lookup in the engine's record).
When it did, the loop's new body is taken from the new source (the loop is found again by its
enclosing function and its rank among the live loops there), compiled once, and run by the
iterator itself with the loop's local variables; when the loop ends, the variables are written
back to the frame, so the code after the loop sees them.

A new body that fails to compile, or raises, is reported (``file:line``) and set aside: the
previous good body runs the same item again, with the locals as they were before the failed
iteration, and keeps running until the next edit.
"""

from __future__ import annotations

import ast
import itertools
import logging
import os
import sys
from types import CodeType, FrameType
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from . import _core

log = logging.getLogger("hotswap")

_ITEM = "__hotswap_item__"
_BROKE = "__hotswap_broke__"
_CO_OPTIMIZED = 0x0001


def _is_live_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "live_loop"


def _live_loops(tree: ast.Module) -> Dict[Tuple[str, ...], List[ast.For]]:
    """Every ``for ... in live_loop(...)`` statement, by enclosing scope, in source order."""
    found: Dict[Tuple[str, ...], List[ast.For]] = {}

    def visit(statements: List[ast.stmt], scope: Tuple[str, ...]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(node.body, scope + (node.name,))
                continue
            if isinstance(node, ast.For) and _is_live_call(node.iter):
                found.setdefault(scope, []).append(node)
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                children = getattr(node, field, None)
                if isinstance(children, list):
                    for child in children:
                        if isinstance(child, ast.stmt):
                            visit([child], scope)
                        elif hasattr(child, "body"):  # except handlers, match cases
                            visit(child.body, scope)

    visit(tree.body, ())
    return found


def _unsupported(loop: ast.For) -> Optional[Tuple[int, str]]:
    """Why a body cannot run outside its function (``return`` ...), with the line."""
    if loop.orelse:
        return loop.lineno, "has an else clause"
    stack: List[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.Return, ast.Yield, ast.YieldFrom, ast.Await, ast.Nonlocal)):
            keyword = {
                ast.Return: "return",
                ast.Yield: "yield",
                ast.YieldFrom: "yield from",
                ast.Await: "await",
                ast.Nonlocal: "nonlocal",
            }[type(node)]
            return node.lineno, f"uses {keyword}"
        stack.extend(ast.iter_child_nodes(node))
    return None


def _display(path: str) -> str:
    """A path as the engine's messages show it: relative to the working directory when under it."""
    cwd = os.getcwd()
    return os.path.relpath(path, cwd) if path.startswith(cwd.rstrip(os.sep) + os.sep) else path


class LiveLoop:
    """The iterator ``live_loop`` returns; see :func:`hotswap.live_loop`."""

    def __init__(self, iterable: Optional[Iterable[Any]], frame: FrameType) -> None:
        self._items: Iterator[Any] = iter(itertools.count() if iterable is None else iterable)
        self._frame: Optional[FrameType] = frame
        self._filename = frame.f_code.co_filename
        self._module_level = not frame.f_code.co_flags & _CO_OPTIMIZED
        self._where: Optional[Tuple[Tuple[str, ...], int]] = None
        self._seen: Optional[int] = None
        self._body: Optional[CodeType] = None  # None: the frame's own body
        # The bodies to go back to when the current one raises, newest last (None: the frame's).
        self._fallbacks: List[Optional[CodeType]] = []
        self._body_ran = True  # the current body completed an iteration
        self._line = frame.f_lineno
        self._ns: Optional[Dict[str, Any]] = None
        self._done = False
        running = _core.running_source(self._filename)
        if running is None:
            log.debug("%s: live_loop in a file hotswap does not watch", self._filename)
            return
        self._seen, text = running
        try:
            loops = _live_loops(ast.parse(text, self._filename))
        except SyntaxError:
            return
        for scope, nodes in loops.items():
            for index, node in enumerate(nodes):
                if node.lineno <= self._line <= (node.iter.end_lineno or node.lineno):
                    self._where = (scope, index)
                    self._line = node.lineno
        if self._where is None:
            log.debug("%s:%d: live_loop is not the iterable of a for statement", *self._at())

    def _at(self) -> Tuple[str, int]:
        return _display(self._filename), self._line

    def __iter__(self) -> "LiveLoop":
        return self

    def __next__(self) -> Any:
        try:
            return self._next()
        except BaseException:
            self._finish()
            raise

    def _next(self) -> Any:
        while True:
            if self._done:
                raise StopIteration
            item = next(self._items)
            if self._where is not None:
                self._check()
            if self._body is None:
                self._sync_back()
                return item
            if self._ns is None:
                self._ns = self._frame_locals()
            before = dict(self._ns)
            while True:
                try:
                    broke = self._run(self._body, item)
                    break
                except Exception as exc:
                    if not self._fallbacks:
                        raise
                    # Set the failed body aside; the one it replaced runs this item again.
                    self._report_failure(exc)
                    for name in [name for name in self._ns if name not in before]:
                        del self._ns[name]
                    self._ns.update(before)
                    self._body, self._body_ran = self._fallbacks.pop(), True
                    if self._body is None:
                        self._sync_back()
                        return item
            self._body_ran = True
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
        current = _core.running_source_hash(self._filename)
        if current is None or current == self._seen:
            return
        running = _core.running_source(self._filename)
        if running is None:
            return
        self._seen, text = running
        assert self._where is not None
        scope, index = self._where
        try:
            nodes = _live_loops(ast.parse(text, self._filename)).get(scope, [])
        except SyntaxError:
            return
        if index >= len(nodes):
            log.warning(
                "%s:%d: the live loop is no longer in %s; its body stays as it is",
                *self._at(),
                ".".join(scope) or "the module",
            )
            return
        loop = nodes[index]
        self._line = loop.lineno
        problem = _unsupported(loop)
        if problem is not None:
            log.error(
                "%s:%d: the live loop's new body %s, which only works in its function; "
                "the previous body keeps running",
                _display(self._filename),
                problem[0],
                problem[1],
            )
            return
        not_broken = ast.Assign(
            targets=[ast.Name(id=_BROKE, ctx=ast.Store())], value=ast.Constant(False)
        )
        runner = ast.For(
            target=loop.target,
            iter=ast.Name(id=_ITEM, ctx=ast.Load()),
            body=loop.body,
            orelse=[not_broken],
            type_comment=None,
        )
        ast.copy_location(runner, loop)
        module = ast.Module(body=[runner], type_ignores=[])
        ast.fix_missing_locations(module)
        try:
            body = compile(module, self._filename, "exec", dont_inherit=True)
        except SyntaxError as exc:
            log.error(
                "%s:%s: the live loop's new body does not compile (%s); the previous body "
                "keeps running",
                _display(self._filename),
                exc.lineno or self._line,
                exc.msg,
            )
            return
        if self._body_ran:  # a body that never completed an iteration is no fallback
            self._fallbacks.append(self._body)
        self._body, self._body_ran = body, False
        log.info("%s:%d: live loop runs its new body from this iteration on", *self._at())

    def _report_failure(self, exc: BaseException) -> None:
        line = self._line
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                line = tb.tb_lineno
            tb = tb.tb_next
        log.error(
            "%s:%d: the live loop's new body raised %s: %s; the previous body runs again",
            _display(self._filename),
            line,
            type(exc).__name__,
            exc,
        )

    def _frame_locals(self) -> Dict[str, Any]:
        assert self._frame is not None
        if self._module_level:
            return self._frame.f_globals
        return dict(self._frame.f_locals)

    def _sync_back(self) -> None:
        """Writes the variables the new bodies set back to the frame."""
        ns, self._ns = self._ns, None
        frame = self._frame
        if ns is None or frame is None or self._module_level:
            return
        if sys.version_info >= (3, 13):
            proxy = frame.f_locals  # PEP 667: writes go to the frame's variables
            for name, value in ns.items():
                proxy[name] = value
            return
        import ctypes

        frame.f_locals.update(ns)
        ctypes.pythonapi.PyFrame_LocalsToFast(ctypes.py_object(frame), ctypes.c_int(0))

    def _finish(self) -> None:
        self._done = True
        self._sync_back()
        self._frame = None


def live_loop(iterable: Optional[Iterable[Any]] = None) -> LiveLoop:
    """Iterate over ``iterable`` (forever when omitted) in a loop whose body is live::

        for item in hotswap.live_loop(queue_items()):
            handle(item)        # edit this and save: the next iteration runs the new body

    Use it as the iterable of a ``for`` statement, inside a function or the
    ``if __name__ == "__main__":`` block. The new body runs with the loop's local variables
    and writes them back when the loop ends. A body that uses ``return``, ``yield``, ``await``
    or ``nonlocal``, or a loop with an ``else`` clause, is reported and not applied.
    """
    return LiveLoop(iterable, sys._getframe(1))
