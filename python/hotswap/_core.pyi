"""Type stubs for hotswap's Rust extension module."""

from typing import Callable, List, Optional

class ReportError:
    """One problem with one file."""

    path: str
    line: int
    message: str

class Report:
    """What one reload batch changed in the running program."""

    updated: List[str]
    added: List[str]
    deleted: List[str]
    moved: List[str]
    errors: List[ReportError]
    rude: List[ReportError]
    recreated: List[str]
    notes: List[str]
    paths: List[str]
    duration_ms: float
    def __bool__(self) -> bool: ...

class Watcher:
    def __init__(
        self,
        roots: List[str],
        debounce_ms: Optional[float] = None,
        on_reload: Optional[Callable[[Report], object]] = None,
        sync: str = "immediate",
    ) -> None: ...
    @property
    def roots(self) -> List[str]: ...
    @property
    def running(self) -> bool: ...
    def wait_for_reload(self, timeout: Optional[float] = None) -> Report: ...
    def stop(self) -> None: ...

def record_source(path: str, content: bytes) -> None: ...
def record_loaded(roots: List[str]) -> int: ...
def reload_paths(paths: List[str]) -> Report: ...
def currently_reloading() -> bool: ...
def enable_inventory() -> str: ...
def poll() -> Report: ...
