"""Import hook that records each module's source as it is imported (see ``hotswap.install``).

Python caches bytecode, so the source of a module is not always read when it is imported. For
each module imported from under the watched roots the hook hands the extension what the code
that runs was compiled from, at no more cost than Python's own loader: the source bytes when
Python read them (no `.pyc`, a stale one, a file written in the last seconds), otherwise the
stat Python validated the `.pyc` against; the extension's recorder thread then reads the file
and records it only if its stat is still that one. Directories that have nothing to do with
the roots (the standard library, site-packages) keep Python's own finder and cost nothing.
"""

from __future__ import annotations

import os
import sys
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


# Files written this recently are compiled from their source (see `source_stats` in lib.rs).
RECENT_SECONDS = _core.RECENT_SECONDS


class RecordingSourceLoader(SourceFileLoader):
    """Loads a module from a directory under a watched root and queues what it runs to be
    recorded: the stat its `.pyc` is validated against, and the bytes compiled when Python
    compiles the source instead."""

    def _records(self, path: str) -> bool:
        return True

    def path_stats(self, path):
        """The one stat Python's loader takes (``SourceLoader.get_code`` compares it with the
        `.pyc`), queued as the version of the file that runs. For a file written in the last
        seconds, an ``OSError`` instead: the loader then compiles the source it reads rather
        than trust a `.pyc` that cannot tell it apart (and ``source_to_code`` queues it)."""
        own = path == self.path
        return _core.source_stats(path, own, own)

    def get_data(self, path):
        """The file's bytes (the `.pyc`, or the source), read in Rust with half the system
        calls of Python's own ``io.open_code``: this pays for the recorder's read. (So a
        ``PyFile_SetOpenCodeHook`` hook or an ``open`` audit hook does not see the files of the
        watched roots; it still sees every other.)"""
        return _core.read_file(path)

    def source_to_code(self, data, path, *args, **kwargs):
        """Compiles the source the loader read; those very bytes are queued (they replace
        the stat queued before, if the `.pyc` turned out stale)."""
        code = super().source_to_code(data, path, *args, **kwargs)
        if path == self.path and isinstance(data, (bytes, bytearray)) and self._records(path):
            _core.queue_source(self.path, bytes(data), None)
        return code


class FilteringSourceLoader(RecordingSourceLoader):
    """For a directory above a watched root: records only the files under a root."""

    def _records(self, path: str) -> bool:
        return _under_roots(os.path.abspath(path))

    def path_stats(self, path):
        own = path == self.path
        return _core.source_stats(path, own, own and self._records(path))


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
