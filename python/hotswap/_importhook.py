"""Import hook that records each module's source as it is imported (see ``hotswap.install``).

Python caches bytecode, so the source of a module is not always read when it is imported. The
hook reads it right before the module's code runs and hands it to the engine, so the first
edit is diffed against what really runs.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger("hotswap")
_roots: list = []
_hook = None


def _under_roots(path: str) -> bool:
    return any(path == root or path.startswith(root.rstrip(os.sep) + os.sep) for root in _roots)


class RecordingSourceLoader(SourceFileLoader):
    """A ``SourceFileLoader`` that records the source of modules under the watched roots."""

    def exec_module(self, module):  # noqa: D401 - loader protocol
        path = os.path.abspath(self.path)
        if _under_roots(path):
            try:
                _core.record_source(path, self.get_data(self.path))
            except (OSError, ValueError) as exc:
                log.debug("could not record the source of %s: %s", path, exc)
        super().exec_module(module)


def install_import_hook(roots: list) -> None:
    """Record sources under ``roots`` (added to any roots given before) from now on."""
    global _hook
    _core.enable_inventory()
    for root in roots:
        if root not in _roots:
            _roots.append(root)
    if _hook is not None:
        return
    _hook = FileFinder.path_hook(
        (ExtensionFileLoader, EXTENSION_SUFFIXES),
        (RecordingSourceLoader, SOURCE_SUFFIXES),
        (SourcelessFileLoader, BYTECODE_SUFFIXES),
    )
    # Before the standard FileFinder hook, after zipimport's.
    position = next(
        (i for i, h in enumerate(sys.path_hooks) if "FileFinder" in getattr(h, "__qualname__", "")),
        len(sys.path_hooks),
    )
    sys.path_hooks.insert(position, _hook)
    for key, finder in list(sys.path_importer_cache.items()):
        if type(finder) is FileFinder:
            del sys.path_importer_cache[key]
