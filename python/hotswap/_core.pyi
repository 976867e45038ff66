"""Type stubs for hotswap's Rust extension module."""

from types import CodeType
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

class ReportError:
    """One problem with one file."""

    path: str
    line: int
    column: int
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
    generation: int
    @property
    def modules(self) -> List[str]:
        """Modules whose names this batch updated, added, deleted or re-created."""
    def summary(self) -> str:
        """One line saying what the batch did (the same format everywhere)."""
    def __bool__(self) -> bool: ...

class Watcher:
    def __init__(
        self,
        roots: List[str],
        debounce_ms: Optional[float] = None,
        on_reload: Optional[Callable[[Report], object]] = None,
        sync: str = "immediate",
        on_batch: Optional[Callable[[Report], object]] = None,
    ) -> None: ...
    @property
    def roots(self) -> List[str]: ...
    @property
    def running(self) -> bool: ...
    def wait_for_reload(self, timeout: Optional[float] = None) -> Report: ...
    def stop(self) -> None: ...

def record_source(path: str, content: bytes) -> None: ...
def queue_source(
    path: str, source: Optional[bytes], stamp: Optional[Tuple[int, int, int, int, int]]
) -> None: ...
def source_stats(path: str, own: bool, record: bool) -> Dict[str, float]: ...
def read_file(path: str) -> bytes: ...

RECENT_SECONDS: float

def set_log_threshold(level: int) -> None: ...
def set_message_format(format: str) -> None: ...
def record_loaded(roots: List[str]) -> int: ...
def stop_watchers() -> None: ...
def reload_paths(paths: List[str]) -> Report: ...
def currently_reloading() -> bool: ...
def statement_reads(source: str) -> List[Tuple[int, List[str]]]: ...
def enable_inventory() -> str: ...
def poll() -> Report: ...
def set_compile_hook(
    filename: str, hook: Optional[Callable[[str, str, int], CodeType]]
) -> None: ...

# Live loops (liveloop.rs)
class LiveLoopRecord:
    scope: List[str]
    index: int
    kind: str  # "for" or "while"
    line: int
    header_end: int
    text_hash: int
    problem: Optional[Tuple[int, str]]
    runner: str

def live_loop_at(filename: str, line: int) -> Optional[LiveLoopRecord]: ...
def live_loop(filename: str, scope: List[str], index: int) -> Optional[LiveLoopRecord]: ...
def source_generation() -> int: ...

class LiveIter:
    generation: int
    fast: bool
    def __init__(self, items: Iterable[Any], *rest: Any) -> None: ...
    def _next_item(self) -> Any: ...
    def __iter__(self) -> "LiveIter": ...
    def __next__(self) -> Any: ...

# Patch objects (patching.rs)
def reload_source(path: str, text: str) -> Report: ...
def recorded_source(path: str) -> Optional[str]: ...
def previous_source(path: str) -> Optional[str]: ...

# What the parser finds in a source (parsed.rs)
class Definition:
    """One definition (any depth) or module-level statement of a source."""

    kind: str  # "function", "async function", "class" or "statement"
    name: str  # a definition's qualified name, a statement's key
    start: int  # character offsets: decorators and a comment ending the last line included,
    # the trailing newline not
    end: int
    first_line: int
    last_line: int
    indent: str

class Import:
    """One ``import`` or ``from ... import`` statement of a file."""

    level: int
    module: str
    names: List[str]  # ["*"] for a star import, none for ``import a.b``
    def modules(self, importer: str, is_package: bool) -> List[str]:
        """Absolute names of the modules it may load when ``importer`` runs it."""

def definitions(text: str) -> List[Definition]: ...
def imports(path: str) -> List[Import]: ...
def display_path(path: str) -> str: ...
