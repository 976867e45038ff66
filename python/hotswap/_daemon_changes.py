"""What changed since the pytest daemon's last run, and whether it can still run warm.

Before each run the daemon looks at the files its process runs: the project's modules it has
loaded (the engine applies their saves and its Report says whether that worked in place),
pytest plugins loaded from the project (``conftest.py``, ``-p`` and ``pytest_plugins``
modules: a change restarts), the ini files, and the installed packages (site-packages
directories: an install or uninstall restarts). Test modules are never kept: they are dropped
from ``sys.modules`` before every run, so pytest imports them afresh, as a new process would
(added, deleted and edited tests, parametrize lists, module-level state).

A stat signature only says which files to look at; whether a file changed is decided by its
content (the engine compares with the source it recorded at import, the others by hash).
"""

from __future__ import annotations

import hashlib
import os
import site
import sys
import weakref
from typing import Dict, List, Optional, Set, Tuple

from . import _core

CONFIG_FILES = ("pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")

# Variables that belong to the terminal or the shell, not to the program: they may differ
# between runs without a restart (the run gets the client's values).
TERMINAL_VARIABLES = {
    "COLUMNS", "LINES", "TERM", "COLORTERM", "PWD", "OLDPWD", "SHLVL", "_", "PS1", "PS2",
    "WINDOWID", "TMUX", "TMUX_PANE", "STY", "WINDOW", "DISPLAY", "WAYLAND_DISPLAY", "SSH_TTY",
    "SSH_CLIENT", "SSH_CONNECTION", "SSH_AUTH_SOCK", "LS_COLORS", "FORCE_COLOR", "NO_COLOR",
    "PY_COLORS", "PYTEST_ADDOPTS", "PYTEST_VERSION", "PYTEST_CURRENT_TEST", "GPG_TTY",
}  # fmt: skip
TERMINAL_PREFIXES = ("TERM_", "KONSOLE_", "VTE_", "ITERM_", "XDG_SESSION", "LC_TERMINAL")

Signature = Tuple[int, int, int]


def _signature(path: str) -> Optional[Signature]:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def file_hash(path: str) -> Optional[str]:
    try:
        with open(path, "rb") as f:
            return hashlib.sha1(f.read()).hexdigest()
    except OSError:
        return None


def _installed_dirs() -> List[str]:
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    dirs += [user] if isinstance(user, str) else []
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    return [os.path.realpath(d) for d in dirs + sorted(prefixes)]


def _under(path: str, folders: List[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip(os.sep) + os.sep) for f in folders)


def environment_change(started_with: Dict[str, str], now: Dict[str, str]) -> Optional[str]:
    """The first variable (other than the terminal's) whose value differs, as a reason."""
    for name in sorted(set(started_with) | set(now)):
        if name in TERMINAL_VARIABLES or name.startswith(TERMINAL_PREFIXES):
            continue
        if started_with.get(name) != now.get(name):
            return f"environment variable {name} changed"
    return None


class ProjectFiles:
    """The daemon's view of the files its process runs."""

    def __init__(self) -> None:
        self.installed = _installed_dirs()
        self.site_dirs = {d: _signature(d) for d in self.installed if os.path.isdir(d)}
        self.test_modules: Set[str] = set()
        self.plugin_hashes: Dict[str, Optional[str]] = {}  # path -> hash when loaded
        self.other_hashes: Dict[str, Optional[str]] = {}  # loaded, not recorded by the engine
        self.config_hashes: Dict[str, Optional[str]] = {}
        self.signatures: Dict[str, Optional[Signature]] = {}
        # Modules track_loaded_modules looked at (weakly: a test module must be freed).
        self.seen_modules: Dict[str, weakref.ref] = {}

    # -- after a run: what the process holds now --------------------------------------------

    def plugin_loaded(self, path: str) -> None:
        """A pytest plugin module from the project (a conftest) was just imported."""
        path = os.path.realpath(path)
        if path not in self.plugin_hashes and not _under(path, self.installed):
            self.plugin_hashes[path] = file_hash(path)

    def test_module_loaded(self, name: str) -> None:
        self.test_modules.add(name)

    def config_seen(self, rootdir: str, inipath: Optional[str]) -> None:
        paths = [os.path.join(rootdir, name) for name in CONFIG_FILES]
        for path in paths + ([inipath] if inipath else []):
            if path not in self.config_hashes:
                self.config_hashes[path] = file_hash(path)

    def track_loaded_modules(self) -> None:
        """Starts following the project modules loaded by the last run (their first check
        compares content: the run may have imported a file that changed since)."""
        _core.record_loaded([])  # the sources the import hook queued are recorded now
        test_files = self._test_files()
        for name, module in list(sys.modules.items()):
            seen = self.seen_modules.get(name)
            if seen is not None and seen() is module:
                continue
            try:
                self.seen_modules[name] = weakref.ref(module)
            except TypeError:  # not a module: something put in sys.modules by hand
                continue
            path = getattr(module, "__file__", None)
            if not isinstance(path, str) or not path.endswith(".py"):
                continue
            path = os.path.realpath(path)
            if path in self.signatures or path in test_files or _under(path, self.installed):
                continue
            if path in self.plugin_hashes or not os.path.isfile(path):
                continue
            self.signatures[path] = None
            if _core.recorded_source(path) is None:
                self.other_hashes[path] = file_hash(path)

    def _test_files(self) -> Set[str]:
        files = set()
        for name in self.test_modules:
            path = getattr(sys.modules.get(name), "__file__", None)
            if isinstance(path, str):
                files.add(os.path.realpath(path))
        return files

    # -- before a run -------------------------------------------------------------------------

    def forget_test_modules(self) -> None:
        """Test modules are imported afresh by every run (pytest finds them in its collection)."""
        for name in self.test_modules:
            module = sys.modules.pop(name, None)
            path = getattr(module, "__file__", None)
            if isinstance(path, str):
                self.signatures.pop(os.path.realpath(path), None)
        self.test_modules.clear()

    def restart_reason(self) -> Optional[str]:
        """Why the next run cannot be served warm (None: it can, after ``apply_edits``)."""
        for folder, signature in self.site_dirs.items():
            if _signature(folder) != signature:
                return f"installed packages changed ({folder})"
        for path, digest in self.config_hashes.items():
            if file_hash(path) != digest:
                return f"{_core.display_path(path)} changed"
        for path, digest in self.plugin_hashes.items():
            if file_hash(path) != digest:
                return f"{_core.display_path(path)} (a pytest plugin or conftest) changed"
        return None

    def changed_modules(self) -> List[str]:
        """Loaded project modules whose file may have changed since the last look."""
        changed = []
        for path, signature in self.signatures.items():
            now = _signature(path)
            if now != signature:
                changed.append(path)
                self.signatures[path] = now
        return changed

    def apply_edits(self) -> Tuple[Optional[str], Optional[str]]:
        """Applies the saves to loaded project modules through the engine. Returns (reason to
        restart or None, one line saying what was applied or None)."""
        changed = self.changed_modules()
        live = []
        for path in changed:
            if not os.path.exists(path):
                return f"{_core.display_path(path)} was deleted", None
            if path in self.other_hashes:
                if file_hash(path) != self.other_hashes[path]:
                    return f"{_core.display_path(path)} changed (hotswap did not record it)", None
                continue
            live.append(path)
        if not live:
            return None, None
        import hotswap

        report = hotswap.reload_paths(live)
        if report.rude or report.errors:
            for path in live:  # looked at again by the next daemon
                self.signatures[path] = None
            return report.summary(), None
        return None, (report.summary() if report else None)
