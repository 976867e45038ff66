"""Patch objects: change a function, method or class of the running program from a string.

``hotswap.patch(obj, source)`` builds the text the module's file would have with ``obj``'s
definition replaced by ``source`` and hands it to the engine as if the file had been saved with
it, so the change is applied exactly like a saved edit (same identity rules, same report). The
file is not touched until :meth:`Patch.commit`. Where each definition starts and ends comes from
the engine's parser (``_core.definitions``).
"""

from __future__ import annotations

import os
import sys
import types

from . import _core

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import List, Optional, Tuple


__all__ = ["Patch", "patch"]


def _dedent(text: str) -> str:
    import textwrap  # here: it imports re, which costs every program ~5 ms at start

    return textwrap.dedent(text)


def _running_text(path: str) -> str:
    """The text the module runs; recorded from disk first if the engine has no record yet."""
    text = _core.recorded_source(path)
    if text is None:
        with open(path, "rb") as f:
            _core.record_source(path, f.read())
        text = _core.recorded_source(path)
    return text


def _find(rows: List[_core.Definition], qualname: str) -> Optional[_core.Definition]:
    for row in rows:
        if row.kind != "statement" and row.name == qualname:
            return row
    return None


def _is_top(row: _core.Definition) -> bool:
    return row.kind == "statement" or "." not in row.name


def _reindent(source: str, indent: str, newline: str) -> str:
    """``source`` (already dedented) as it must appear after ``indent`` on its first line."""
    lines = source.strip("\n").split("\n")
    out = [lines[0]] + [indent + line if line.strip() else "" for line in lines[1:]]
    return newline.join(line.rstrip("\r") for line in out)


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _replace_definition(text: str, qualname: str, source: str) -> str:
    row = _find(_core.definitions(text), qualname)
    if row is None:
        raise LookupError(f"no definition of {qualname} in the module's source")
    return text[: row.start] + _reindent(source, row.indent, _newline_of(text)) + text[row.end :]


def _merge_module(text: str, snippet: str) -> str:
    """``text`` with each top-level item of ``snippet`` replacing the item of the same name
    (definitions) or key (statements), new imports after the last import, the rest at the end."""
    newline = _newline_of(text)
    rows = [r for r in _core.definitions(text) if _is_top(r)]
    edits = []  # (start, end, replacement)
    appended = []
    last_import = None
    for row in rows:
        if row.kind == "statement" and text[row.start : row.end].startswith(("import ", "from ")):
            last_import = row
    for new in _core.definitions(snippet):
        if not _is_top(new):
            continue
        piece = snippet[new.start : new.end].replace("\n", newline)
        is_statement = new.kind == "statement"
        same = next(
            (r for r in rows if (r.kind == "statement") == is_statement and r.name == new.name),
            None,
        )
        if same is not None:
            edits.append((same.start, same.end, piece))
        elif is_statement and piece.startswith(("import ", "from ")) and last_import:
            edits.append((last_import.end, last_import.end, newline + piece))
        else:
            appended.append(piece)
    for start, end, piece in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        text = text[:start] + piece + text[end:]
    if appended:
        if text and not text.endswith("\n"):
            text += newline
        for piece in appended:
            text += (newline * 2 if text.strip() else "") + piece + newline
    return text


def _target(obj: object) -> Tuple[types.ModuleType, Optional[str], object]:
    """The module an object is defined in, its qualified name (``None``: the module) and the
    object itself (a function under its method, descriptor and decorator wrappers)."""
    if isinstance(obj, types.ModuleType):
        return obj, None, obj
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    elif isinstance(obj, property) and obj.fget is not None:
        obj = obj.fget
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if callable(obj) and not isinstance(obj, type):
        import inspect  # here, not at the top: importing it costs every program ~5 ms

        obj = inspect.unwrap(obj)
    qualname = getattr(obj, "__qualname__", None)
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if not isinstance(qualname, str) or module is None:
        raise TypeError(f"cannot patch {obj!r}: not a function, method, class or module")
    return module, qualname, obj


def _has_no_file(module: types.ModuleType) -> bool:
    """Code typed at a prompt, in a cell or given to ``python -c``: no file holds its source."""
    path = getattr(module, "__file__", None)
    return not path or not os.path.exists(path)


def _module_file(module: types.ModuleType) -> str:
    path = getattr(module, "__file__", None)
    if not path or not path.endswith(".py") or not os.path.exists(path):
        raise ValueError(f"module {module.__name__} has no Python source file to patch")
    return os.path.realpath(path)


def _check_single_definition(source: str, name: str) -> None:
    rows = [r for r in _core.definitions(source) if _is_top(r)]
    if len(rows) != 1 or rows[0].kind == "statement":
        raise ValueError("the new source must be exactly one def or class statement")
    if rows[0].name != name:
        raise ValueError(f"the new source defines {rows[0].name!r}, not {name!r}")


def _check_same_kind(source: str, target: object) -> None:
    """A class is patched with a class statement, a function with a def."""
    new_is_class = _core.definitions(source)[0].kind == "class"
    if new_is_class != isinstance(target, type):
        wanted = "class" if isinstance(target, type) else "def"
        raise ValueError(f"the new source must be a {wanted} statement, like what it replaces")


class PatchError(RuntimeError):
    """The engine could not apply a patch; ``report`` says why."""

    def __init__(self, message: str, report: _core.Report) -> None:
        super().__init__(message)
        self.report = report


def _apply(path: str, text: str) -> _core.Report:
    report = _core.reload_source(path, text)
    if report.errors:
        raise PatchError("; ".join(str(e) for e in report.errors), report)
    return report


class Patch:
    """A change made by :func:`patch`: see :meth:`revert` and :meth:`commit`."""

    def __init__(
        self, module: types.ModuleType, qualname: Optional[str], source: str, path: str
    ) -> None:
        self.module = module
        self.qualname = qualname
        self.source = source
        self.path = path
        self.before = _running_text(path)
        if qualname is None:
            self.after = _merge_module(self.before, source)
            self._old_definition = None
        else:
            row = _find(_core.definitions(self.before), qualname)
            if row is None:
                raise LookupError(f"no definition of {qualname} in {path}")
            self._old_definition = _dedent(row.indent + self.before[row.start : row.end])
            self.after = _replace_definition(self.before, qualname, source)
        self.report = _apply(path, self.after)
        self.reverted = False
        self.committed = False

    @property
    def target(self) -> str:
        """What the patch changes: ``module.qualname``, or the module's name."""
        name = self.module.__name__
        return f"{name}.{self.qualname}" if self.qualname else name

    def revert(self) -> _core.Report:
        """Restore the code that ran before the patch. After :meth:`commit`, the file is
        restored too, but only while it still holds exactly what the commit wrote: otherwise
        nothing changes and ``RuntimeError`` says why."""
        if self.reverted:
            raise RuntimeError(f"the patch of {self.target} is already reverted")
        if self.committed:
            self._check_file_unchanged_since_commit()
        current = _running_text(self.path)
        if current == self.after or self.qualname is None:
            if current != self.after:
                raise RuntimeError(
                    f"{self.path} changed since the patch; revert a module patch before editing"
                )
            text = self.before
        else:
            text = _replace_definition(current, self.qualname, self._old_definition)
        report = _apply(self.path, text)
        if self.committed:
            with open(self.path, "wb") as f:
                f.write(self._file_before_commit)
        self.reverted = True
        return report

    def _check_file_unchanged_since_commit(self) -> None:
        with open(self.path, "rb") as f:
            on_disk = f.read()
        if on_disk != self._file_committed:
            raise RuntimeError(
                f"cannot revert the patch of {self.target}: {self.path} changed since the "
                "commit wrote it; nothing was reverted (the program and the file are as they "
                "were). Undo the change in the file by editing it."
            )

    def commit(self) -> None:
        """Write the change into the source file: only the patched definition's text changes
        (module patches: the added or replaced items), every other byte stays as it is."""
        if self.reverted:
            raise RuntimeError(f"the patch of {self.target} was reverted; nothing to commit")
        if self.committed:
            raise RuntimeError(f"the patch of {self.target} is already committed")
        with open(self.path, "rb") as f:
            before = f.read()
        disk = before.decode("utf-8")
        if self.qualname is None:
            new = _merge_module(disk, self.source)
        else:
            new = _replace_definition(disk, self.qualname, self.source)
        written = new.encode("utf-8")
        with open(self.path, "wb") as f:
            f.write(written)
        self._file_before_commit = before
        self._file_committed = written
        self.committed = True

    def __repr__(self) -> str:
        state = "reverted" if self.reverted else "committed" if self.committed else "applied"
        return f"<hotswap.Patch {self.target} {state}>"


class InMemoryPatch(Patch):
    """A patch of a function, method or class that has no source file (defined at the REPL,
    in an IPython or notebook cell, by ``python -c``): applied to the live objects directly;
    :meth:`revert` works, :meth:`commit` has no file to write to."""

    def __init__(self, module: types.ModuleType, qualname: str, target: object, source: str):
        from ._patch_memory import apply_in_memory

        self.module = module
        self.qualname = qualname
        self.source = source
        self.path = None
        globals_ = getattr(target, "__globals__", None)
        if not isinstance(globals_, dict):
            globals_ = vars(module)
        self._change = apply_in_memory(target, module.__name__, qualname, source, globals_)
        self.report = self._change.report
        self.reverted = False
        self.committed = False

    def revert(self) -> _core.Report:
        """Put back every object the patch changed."""
        if self.reverted:
            raise RuntimeError(f"the patch of {self.target} is already reverted")
        report = self._change.undo()
        self.reverted = True
        return report

    def commit(self) -> None:
        """Refused: there is no file to write. The patch stays applied."""
        raise RuntimeError(
            f"cannot commit the patch of {self.target}: it was defined at a prompt, in a "
            f"notebook cell or by python -c, so module {self.module.__name__} has no source "
            "file to write the new code to. The patch stays applied in the running program "
            "(revert() undoes it); copy the new source into your file yourself."
        )


def patch(obj: object, source: str) -> Patch:
    """Replace the definition of ``obj`` (a function, method or class) in the running program by
    ``source``, without touching its file. With a module, ``source`` holds imports, helpers and
    other top-level statements to add: each replaces the item of the same name if there is one.

    Returns a :class:`Patch`; raises ``PatchError`` (with its ``report``) if the engine refuses
    the change, and ``ValueError`` on a syntax error or a source that defines something else.
    Objects that have no source file (defined at the REPL, in a notebook cell, by
    ``python -c``) are patched in memory: an :class:`InMemoryPatch`, which cannot be committed.
    """
    _core.enable_inventory()
    module, qualname, target = _target(obj)
    source = _dedent(source).strip("\n") + "\n"
    _core.definitions(source)  # syntax errors first, with their line
    if qualname is not None:
        _check_single_definition(source, qualname.rsplit(".", 1)[-1])
        if _has_no_file(module):
            _check_same_kind(source, target)
            return InMemoryPatch(module, qualname, target, source)
    elif _has_no_file(module):
        raise ValueError(
            f"module {module.__name__} has no source file, so it cannot take a module patch; "
            "patch its functions, methods and classes one at a time"
        )
    return Patch(module, qualname, source, _module_file(module))
