"""Reading back the sections of an earlier RESULTS.md, so that a run of some measurements
(``--only``) still rewrites the whole file: the others are carried over with the date they were
measured, and the targets table is computed over all of them (medians and p90s as printed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Dict, Optional, Tuple

from harness import Row, Table

TITLE = re.compile(r"^\*\*(.+)\*\* \(([^()]+)\)(?: — (.*))?$")
FAILED = re.compile(r"^\*\*failed:\*\* `(.*)`$")
MEASURED = re.compile(r"^Measured (.+)\.$")
RUN_DATE = re.compile(r"^- date: ([^,]+),")

# name: (doc, tables, error, when measured)
Sections = Dict[str, Tuple[str, list, Optional[str], str]]


def _number(text: str) -> Optional[float]:
    return None if text in ("—", "") else float(text.replace(",", ""))


def _table(title_line: str, lines: list) -> Table:
    """A table from its title line and its markdown lines (header, separator, rows)."""
    title, unit, note = TITLE.match(title_line).groups()
    reference = lines[0].split("ratio vs ", 1)[1].split("|", 1)[0].strip()
    table = Table(title, unit, reference=reference, note=note or "")
    for line in lines[2:]:
        tool, med, ninetieth, _, count, notes = (c.strip() for c in line.strip()[1:-1].split("|"))
        summary = None if _number(med) is None else (_number(med), _number(ninetieth), int(count))
        table.rows.append(Row(tool, [], notes, summary))
    return table


def _section(lines: list, run_date: str) -> Tuple[str, list, Optional[str], str]:
    doc, tables, error, when = "", [], None, run_date
    i = 0
    while i < len(lines):
        line = lines[i]
        if TITLE.match(line):
            block = []
            i += 2  # the blank line under the title
            while i < len(lines) and lines[i].startswith("|"):
                block.append(lines[i])
                i += 1
            tables.append(_table(line, block))
            continue
        if FAILED.match(line):
            error = FAILED.match(line).group(1)
        elif MEASURED.match(line):
            when = MEASURED.match(line).group(1)
        elif line.strip() and not doc:
            doc = line.strip()
        i += 1
    return doc, tables, error, when


def read(path: Path, names) -> Sections:
    """The sections named in ``names`` found in the RESULTS.md at ``path`` (none if absent)."""
    if not path.exists():
        return {}
    run_date, current, found = "an earlier run", None, {}
    for line in path.read_text().splitlines():
        if RUN_DATE.match(line) and current is None:
            run_date = RUN_DATE.match(line).group(1)
        if line.startswith("## "):
            current = line[3:].strip()
            found[current] = []
        elif current is not None:
            found[current].append(line)
    return {name: _section(found[name], run_date) for name in names if name in found}
