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


def _is_live_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "live_loop"


def _is_while_true(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.While)
        and isinstance(node.test, ast.Constant)
        and node.test.value in (True, 1)
    )


def _header_end(loop: Loop) -> int:
    header = loop.iter if isinstance(loop, ast.For) else loop.test
    return getattr(header, "end_lineno", None) or loop.lineno


def _live_loops(tree: ast.Module) -> Dict[Tuple[str, ...], List[Loop]]:
    """Every ``for ... in live_loop(...)`` and ``while True:`` statement, by enclosing scope,
    in source order (``while True:`` loops are live in the main script run by the CLI)."""
    found: Dict[Tuple[str, ...], List[Loop]] = {}

    def visit(statements: List[ast.stmt], scope: Tuple[str, ...]) -> None:
        for node in statements:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(node.body, scope + (node.name,))
                continue
            if (isinstance(node, ast.For) and _is_live_call(node.iter)) or _is_while_true(node):
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


def _unsupported(loop: Loop) -> Optional[Tuple[int, str]]:
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


class LiveLoop(_core.LiveIter):
    """The iterator ``live_loop`` returns; see :func:`hotswap.live_loop`. Iteration itself is
    ``_core.LiveIter.__next__``, which calls ``_next`` only when something may have changed."""

    def __init__(self, iterable: Iterable[Any], frame: FrameType) -> None:
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
        self._kind: type = ast.For
        # Variables shared with closures: kept in step with the frame at each iteration.
        code = frame.f_code
        self._cells = () if self._module_level else code.co_cellvars + code.co_freevars
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
                if node.lineno <= self._line <= _header_end(node):
                    self._where = (scope, index)
                    self._line = node.lineno
                    self._kind = type(node)
        if self._where is None:
            log.debug("%s:%d: live_loop is not the iterable of a for statement", *self._at())

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
            before = dict(self._ns)
            while True:
                try:
                    broke = self._run(self._body, item)
                    if self._cells:
                        self._settle_cells(pulled)
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
                        self.fast = True
                        return item
            self._body_ran = True
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
        generation = _core.source_generation()
        if generation == self.generation:
            return
        self.generation = generation
        if self._where is None:
            return
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
        if type(loop) is not self._kind:
            log.warning(
                "%s:%d: the live loop is no longer a loop of the same kind; its body stays as "
                "it is",
                *self._at(),
            )
            return
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
        # `for [] in ((),)`: a while loop's body runs once per item and binds nothing.
        target = loop.target if isinstance(loop, ast.For) else ast.List(elts=[], ctx=ast.Store())
        runner = ast.For(
            target=target,
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
        self.fast = False
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
            if live and _is_while_true(node) and _unsupported(node) is None:
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
