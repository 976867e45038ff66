"""Import hook that records each module's source as it is imported (see ``hotswap.install``).

Python caches bytecode, so the source of a module is not always read when it is imported. The
hook reads the file of each module imported from under the watched roots right before its code
runs, so the first edit is diffed against what really runs; the extension decodes and records
it on a thread of its own. Directories that have nothing to do with the roots (the standard
library, site-packages) keep Python's own finder and cost nothing.
"""

from __future__ import annotations

import os
import sys
import time
from importlib.machinery import (
    BYTECODE_SUFFIXES,
    EXTENSION_SUFFIXES,
    SOURCE_SUFFIXES,
    ExtensionFileLoader,
    FileFinder,
    SourceFileLoader,
    SourcelessFileLoader,
)

from . import _core

_roots: list = []
_hook = None


def _under_roots(path: str) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in _roots)


def _holds_a_root(directory: str) -> bool:
    prefix = directory.rstrip(os.sep) + os.sep
    return any(root.startswith(prefix) for root in _roots)


# A `.pyc` is trusted when its source's size and mtime (whole seconds) match: a same-size edit
# in the second the `.pyc` was written runs the old bytecode while the new text is recorded.
RECENT_SECONDS = 2.0


class FreshCodeLoader(SourceFileLoader):
    """Compiles a source written in the last seconds from its text instead of trusting a `.pyc`
    whose timestamp cannot tell it apart."""

    def get_code(self, fullname):
        path = self.get_filename(fullname)
        try:
            recent = time.time() - os.stat(path).st_mtime < RECENT_SECONDS
        except OSError:
            recent = False
        if not recent:
            return super().get_code(fullname)
        return self.source_to_code(self.get_data(path), path)


class RecordingSourceLoader(FreshCodeLoader):
    """Loads a module from a directory under a watched root, queueing its source to be recorded."""

    def exec_module(self, module):  # noqa: D401 - loader protocol
        _core.queue_source(self.path)
        super().exec_module(module)


class FilteringSourceLoader(FreshCodeLoader):
    """For a directory above a watched root: records only the files under a root."""

    def exec_module(self, module):  # noqa: D401 - loader protocol
        if _under_roots(os.path.abspath(self.path)):
            _core.queue_source(self.path)
        super().exec_module(module)


def _finder_hook(source_loader):
    return FileFinder.path_hook(
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (source_loader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    )


_recording = _finder_hook(RecordingSourceLoader)
_filtering = _finder_hook(FilteringSourceLoader)


def _path_hook(entry: str):
    """A recording finder for path entries in or above a watched root; others are declined
    (``ImportError``), so the next hook, Python's own, serves them."""
    try:
        directory = os.path.abspath(entry or os.getcwd())
    except (TypeError, ValueError, OSError):  # bytes entries, a deleted working directory
        raise ImportError("not a watched directory") from None
    if _under_roots(directory):
        return _recording(entry)
    if _holds_a_root(directory):
        return _filtering(entry)
    raise ImportError("not a watched directory")


def install_import_hook(roots: list) -> None:
    """Record sources under ``roots`` (added to any roots given before) from now on."""
    global _hook
    _core.enable_inventory()
    new = [root for root in roots if root not in _roots]
    _roots.extend(new)
    if _hook is None:
        # Before the standard FileFinder hook, after zipimport's.
        position = next(
            (
                i
                for i, h in enumerate(sys.path_hooks)
                if "FileFinder" in getattr(h, "__qualname__", "")
            ),
            len(sys.path_hooks),
        )
        _hook = _path_hook
        sys.path_hooks.insert(position, _hook)
    if not new:
        return
    # Finders Python already made for directories the hook now serves are made again.
    for key, finder in list(sys.path_importer_cache.items()):
        if type(finder) is not FileFinder or not isinstance(key, str):
            continue
        try:
            directory = os.path.abspath(key or os.getcwd())
        except OSError:
            continue
        if any(
            directory == root
            or directory.startswith(root.rstrip(os.sep) + os.sep)
            or root.startswith(directory.rstrip(os.sep) + os.sep)
            for root in new
        ):
            del sys.path_importer_cache[key]
