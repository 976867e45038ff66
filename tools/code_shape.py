"""The shape of the code, as the house rules measure it: the longest functions (Rust and Python),
the largest source files, import cycles between the Rust modules of each crate, the lines of
Python in python/hotswap, and whether `cargo fmt --check` is clean.

    python tools/code_shape.py [--top N]

Rust functions are measured from their `fn` line to the closing brace at the same indentation;
Python functions from `def` to their last line (`ast`). Tests are counted with the rest.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FN = re.compile(
    r"^(\s*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?fn\s+(\w+)"
)


def rust_functions(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text().splitlines()
    found = []
    for i, line in enumerate(lines):
        match = FN.match(line)
        if not match or line.rstrip().endswith(";"):
            continue
        indent = match.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j].startswith(indent + "}") and not lines[j].startswith(indent + "} else"):
                found.append((j - i + 1, f"{path.relative_to(ROOT)}:{i + 1} {match.group(2)}"))
                break
    return found


def python_functions(path: Path) -> list[tuple[int, str]]:
    try:
        tree = ast.parse(path.read_text())
    except SyntaxError:
        return []
    return [
        (node.end_lineno - node.lineno + 1, f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def module_of(src: Path, path: Path) -> str:
    """The top-level module a file of a crate's src/ belongs to (`apply/prepare.rs` -> apply)."""
    first = path.relative_to(src).parts[0]
    return first[:-3] if first.endswith(".rs") else first


def rust_cycles(src: Path) -> list[list[str]]:
    """Strongly connected groups (more than one module) of `crate::x` references."""
    edges: dict[str, set[str]] = {}
    for path in src.rglob("*.rs"):
        module = module_of(src, path)
        # A test module may use any other module: only what the library itself uses counts.
        library = path.read_text().split("#[cfg(test)]")[0]
        # Links in doc comments are not dependencies.
        code = [line for line in library.splitlines() if not line.lstrip().startswith("//")]
        text = "\n".join(code)
        refs = set(re.findall(r"crate::(\w+)", text))
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            refs.update(name.strip().split("::")[0] for name in group.split(","))
        edges.setdefault(module, set()).update(r for r in refs if r and r != module)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in edges:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10)
    top = parser.parse_args().top
    rust = sorted(ROOT.glob("crates/*/src/**/*.rs")) + sorted(ROOT.glob("crates/*/tests/**/*.rs"))
    python = sorted(ROOT.glob("python/hotswap/*.py"))
    functions = [f for p in rust for f in rust_functions(p)]
    functions += [f for p in python for f in python_functions(p)]
    print(f"longest functions (top {top}):")
    for length, name in sorted(functions, reverse=True)[:top]:
        print(f"  {length:5} {name}")
    files = [(len(p.read_text().splitlines()), str(p.relative_to(ROOT))) for p in rust + python]
    print(f"largest files (top {top}):")
    for length, name in sorted(files, reverse=True)[:top]:
        print(f"  {length:5} {name}")
    for crate in sorted(ROOT.glob("crates/*/src")):
        cycles = rust_cycles(crate)
        shown = "; ".join(" <-> ".join(group) for group in cycles) or "none"
        print(f"import cycles in {crate.parent.name}: {shown}")
    lines = sum(len(p.read_text().splitlines()) for p in python)
    print(f"lines of Python in python/hotswap: {lines} in {len(python)} files")
    fmt = subprocess.run(
        ["cargo", "fmt", "--all", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    differences = fmt.stdout.count("Diff in ")
    print(f"cargo fmt --check: {'clean' if fmt.returncode == 0 else f'{differences} differences'}")


if __name__ == "__main__":
    main()
