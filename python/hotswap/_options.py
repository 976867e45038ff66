"""One table-driven option parser for ``hotswap`` and ``hotswap attach``.

Each :class:`Option` says what it accepts (its converter refuses a bad value with ``ValueError``
and describes what it takes), so every bad value is reported the same way, in one line, with
exit status 2, and ``--help`` is generated from the same table. ``--opt=value`` and ``--opt
value`` both work for long options; options end at the first argument that is not one (the
script), at ``--``, or after an option that names what to run (``-m``, ``--loop``), so the
program's own arguments pass through untouched.
"""

from __future__ import annotations

import math
import sys

# typing is only imported by type checkers: importing it costs every program ~2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Optional, Sequence, Set, Tuple


class UsageError(Exception):
    """A bad command line: shown as one ``PROG: message`` line on stderr, exit status 2."""


class Option:
    """One command-line option: its names, what it accepts and where its value goes.

    ``metavar`` names its value (None: it takes none); ``convert`` turns the text into the value
    (see ``converter``). ``action`` is ``"store"`` (the value), ``"append"`` (to a list),
    ``"extend"`` (a list of values), ``"const"`` (``const``, no value) or ``"count"`` (adds
    ``const``). ``ends_options``: after this option (and its value) the rest belongs to the
    program. (A plain class, not a namedtuple: ``collections`` costs every program ~1 ms.)
    """

    __slots__ = (
        "names",
        "dest",
        "help",
        "group",
        "metavar",
        "convert",
        "action",
        "const",
        "ends_options",
    )

    def __init__(
        self,
        names: Tuple[str, ...],
        dest: str,
        help: str,
        group: str,
        metavar: Optional[str] = None,
        convert: Callable[[str], Any] = str,
        action: str = "store",
        const: Any = True,
        ends_options: bool = False,
    ) -> None:
        self.names, self.dest, self.help, self.group = names, dest, help, group
        self.metavar, self.convert, self.action, self.const = metavar, convert, action, const
        self.ends_options = ends_options

    def __repr__(self) -> str:
        return f"Option({self.names!r}, {self.dest!r})"


class Parsed:
    """Parsed option values by ``dest``; ``given`` holds the dests the command line set, and
    ``rest`` the arguments after the options (the script or target and its arguments)."""

    def __init__(self, table: Sequence[Option]) -> None:
        for option in table:
            if not hasattr(self, option.dest):
                empty_list = option.action in ("append", "extend")
                start = [] if empty_list else 0 if option.action == "count" else None
                setattr(self, option.dest, start)
        self.given: Set[str] = set()
        self.rest: List[str] = []


def _convert(option: Option, name: str, text: str) -> Any:
    try:
        return option.convert(text)
    except ValueError:
        raise UsageError(f"{name}: expected {accepts(option)}; got {text!r}") from None


def accepts(option: Option) -> str:
    """What the option's value may be, in words (the converter's ``accepts``)."""
    return getattr(option.convert, "accepts", None) or (option.metavar or "a value").lower()


def _store(parsed: Parsed, option: Option, value: Any) -> None:
    if option.action == "append":
        getattr(parsed, option.dest).append(value)
    elif option.action == "extend":
        getattr(parsed, option.dest).extend(value)
    elif option.action == "count":
        setattr(parsed, option.dest, getattr(parsed, option.dest) + option.const)
    else:
        setattr(parsed, option.dest, value)
    parsed.given.add(option.dest)


def _split(arg: str, by_name: Dict[str, Option]) -> Tuple[Option, str, Optional[str]]:
    """The option ``arg`` names, the name used, and its ``=value`` if written inline."""
    if arg in by_name:
        return by_name[arg], arg, None
    name, equals, inline = arg.partition("=")
    if equals and name.startswith("--") and name in by_name:
        return by_name[name], name, inline
    raise UsageError(f"unknown option {arg} (see --help for the options)")


def parse(table: Sequence[Option], argv: Sequence[str], intersperse: bool = False) -> Parsed:
    """Parse ``argv`` by ``table``. With ``intersperse``, options may follow positional
    arguments (all positionals go to ``rest``); otherwise the first one ends the options."""
    by_name = {name: option for option in table for name in option.names}
    parsed = Parsed(table)
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            parsed.rest.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            if not intersperse:
                parsed.rest.extend(argv[i - 1 :])
                break
            parsed.rest.append(arg)
            continue
        option, name, inline = _split(arg, by_name)
        if option.metavar is None:
            if inline is not None:
                raise UsageError(f"{name} takes no value; got {inline!r}")
            _store(parsed, option, option.const)
        else:
            if inline is None:
                if i >= len(argv):
                    raise UsageError(f"{name}: missing value; expected {accepts(option)}")
                inline = argv[i]
                i += 1
            _store(parsed, option, _convert(option, name, inline))
        if option.ends_options:
            parsed.rest.extend(argv[i:])
            break
    return parsed


# Converters raise ValueError for a value they refuse; their ``accepts`` says what they take.


def converter(description: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Decorator: a converter that accepts what ``description`` says."""

    def wrap(convert: Callable[[str], Any]) -> Callable[[str], Any]:
        convert.accepts = description  # type: ignore[attr-defined]
        return convert

    return wrap


def choice(*words: str) -> Callable[[str], str]:
    """A converter accepting one of ``words``."""
    accepted = ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]

    @converter(accepted)
    def convert(text: str) -> str:
        if text not in words:
            raise ValueError(text)
        return text

    return convert


def number(unit: str, minimum: float, inclusive: bool = True) -> Callable[[str], float]:
    """A converter accepting a finite number of ``unit`` at or above (or above) ``minimum``."""
    bound = f"{'>=' if inclusive else '>'} {minimum:g}"

    @converter(f"{unit}, a finite number {bound}")
    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < minimum or (not inclusive and value == minimum):
            raise ValueError(text)
        return value

    return convert


def format_help(usage: str, table: Sequence[Option], epilog: str = "", width: int = 92) -> str:
    """``--help`` text: ``usage``, then the options of ``table`` by group, then ``epilog``."""
    import textwrap

    column = 24
    groups: Dict[str, List[Option]] = {}
    for option in table:
        groups.setdefault(option.group, []).append(option)
    out = [usage.rstrip("\n"), ""]
    for group, options in groups.items():
        out.append(f"{group}:")
        for option in options:
            head = "  " + ", ".join(option.names)
            head += f" {option.metavar}" if option.metavar else ""
            body = textwrap.wrap(option.help, width - column)
            if len(head) > column - 2:
                out.append(head)
            else:
                out.append(head.ljust(column) + body.pop(0))
            out.extend(" " * column + line for line in body)
        out.append("")
    if epilog:
        out.append(epilog.rstrip("\n"))
    return "\n".join(out) + "\n"


def fail(prog: str, message: str) -> int:
    """Write ``PROG: message`` as one line on stderr; the exit status of a usage error."""
    sys.stderr.write(f"{prog}: {message}\n")
    return 2
