"""The floor: the least a reloader can do for a save, to measure hotswap against.

A daemon thread blocks in inotify on the watched directory; when a ``.py`` file there is closed
after writing or renamed into place, it reads the file, compiles the whole text, executes it
into a scratch namespace and swaps ``__code__`` of the module's live functions by name. No
settling, no diff, no classes, no error handling beyond skipping a bad file: only the path
every reloader has to take. Linux only (libc's inotify through ctypes, no dependency).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import sys
import threading
import types

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CLOEXEC = 0o2000000
HEADER = struct.Struct("iIII")  # wd, mask, cookie, len of the name that follows

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _modules_by_file(root: str) -> dict:
    """{absolute source path: module} for the modules imported from ``root``."""
    found = {}
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and os.path.dirname(os.path.abspath(path)) == root:
            found[os.path.abspath(path)] = module
    return found


def reload_file(path: str, module: types.ModuleType) -> None:
    """Read, compile the whole file, run it in a scratch namespace, swap ``__code__``."""
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec")
    scratch = {"__name__": module.__name__, "__file__": path}
    exec(code, scratch)
    for name, new in scratch.items():
        old = module.__dict__.get(name)
        if isinstance(new, types.FunctionType) and isinstance(old, types.FunctionType):
            old.__code__ = new.__code__


def _loop(fd: int, root: str, modules: dict) -> None:
    while True:
        data = os.read(fd, 65536)
        offset = 0
        while offset < len(data):
            _, _, _, size = HEADER.unpack_from(data, offset)
            offset += HEADER.size
            name = data[offset : offset + size].rstrip(b"\0").decode()
            offset += size
            path = os.path.join(root, name)
            module = modules.get(path)
            if module is None:
                continue
            try:
                reload_file(path, module)
            except Exception as exc:  # a broken file: say so, the next save brings another event
                print(f"floor: {path}: {exc!r}", file=sys.stderr)


def watch(root: str) -> threading.Thread:
    """Watch the modules already imported from ``root`` (not below it)."""
    root = os.path.abspath(root)
    fd = _check(_libc.inotify_init1(IN_CLOEXEC), "inotify_init1")
    mask = IN_CLOSE_WRITE | IN_MOVED_TO
    _check(_libc.inotify_add_watch(fd, os.fsencode(root), mask), "inotify_add_watch")
    thread = threading.Thread(
        target=_loop, args=(fd, root, _modules_by_file(root)), name="floor", daemon=True
    )
    thread.start()
    return thread
