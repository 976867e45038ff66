"""Property test: the names a statement reads, as the engine records them while it holds ruff's
syntax tree, are exactly the names Python's own ``ast`` reports in load context.

A small seeded generator writes random modules from a grammar of expressions (names,
attributes, calls, subscripts, f-strings with conversions, format specs and nested fields,
comprehensions with conditions, lambdas with defaults, conditional expressions, walrus,
starred, dict and set displays) and statements (assignments of every form, ``del``, and
``if``/``for``/``while``/``with``/``try``/``match`` blocks holding assignments and nested
definitions). It runs in the pytest process and checks a few hundred modules in well under a
second.
"""

import ast
import random
import sys

import pytest
from hotswap import _core

NAMES = ["a", "b", "c", "data", "width", "fn", "Cls", "_tmp", "x1", "été"]
FIELDS = ["attr", "value", "real", "b"]
MODULES = 300


class Gen:
    """A random module writer. ``quotes`` are the string quotes still usable where an
    expression is written: inside an f-string's replacement field its own quote is not (Python
    before 3.12), so nested f-strings alternate quotes and stop when none is left."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def name(self) -> str:
        return self.rng.choice(NAMES)

    def expr(self, depth: int = 0, quotes: str = "\"'") -> str:
        if depth >= 3:
            return self.atom(depth, quotes)
        kinds = [
            self.atom,
            self.attribute,
            self.call,
            self.subscript,
            self.binop,
            self.fstring,
            self.comprehension,
            self.lambda_,
            self.conditional,
            self.walrus,
            self.display,
        ]
        if depth and self.rng.random() < 0.4:
            return self.atom(depth, quotes)
        return (
            self.rng.choice(kinds)(depth + 1, quotes)
            if depth
            else self.rng.choice(kinds[1:])(1, quotes)
        )

    def atom(self, depth: int = 0, quotes: str = "") -> str:
        choices = [self.name(), self.name(), str(self.rng.randint(0, 9)), "None", "True"]
        if quotes:
            q = self.rng.choice(quotes)
            choices.append(f"{q}s{self.rng.randint(0, 9)}{q}")
        return self.rng.choice(choices)

    def attribute(self, depth: int, quotes: str) -> str:
        return f"{self.sub(depth, quotes)}.{self.rng.choice(FIELDS)}"

    def call(self, depth: int, quotes: str) -> str:
        args = [self.expr(depth, quotes) for _ in range(self.rng.randint(0, 2))]
        if self.rng.random() < 0.3:
            args.append(f"*{self.sub(depth, quotes)}")
        if self.rng.random() < 0.4:
            args.append(f"{self.name()}={self.expr(depth, quotes)}")
        if self.rng.random() < 0.2:
            args.append(f"**{self.sub(depth, quotes)}")
        return f"{self.sub(depth, quotes)}({', '.join(args)})"

    def subscript(self, depth: int, quotes: str) -> str:
        index = self.expr(depth, quotes)
        if self.rng.random() < 0.3:
            index = f"{index}:{self.expr(depth, quotes)}"
        return f"{self.sub(depth, quotes)}[{index}]"

    def binop(self, depth: int, quotes: str) -> str:
        op = self.rng.choice(["+", "*", "==", "and", "or", "is not", "not in", "-"])
        return f"({self.expr(depth, quotes)} {op} {self.expr(depth, quotes)})"

    def fstring(self, depth: int, quotes: str) -> str:
        if not quotes:
            return self.atom(depth, "")
        q = self.rng.choice(quotes)
        inner = quotes.replace(q, "")
        parts = []
        for _ in range(self.rng.randint(1, 3)):
            field = self.expr(depth, inner)
            suffix = self.rng.choice(["", "!r", "!s", "=", ":>5", "!r:{w}", ":{w}.{p}"])
            width = "{ " + self.sub(depth, inner) + "}"
            suffix = suffix.replace("{w}", width).replace("{p}", "{ " + self.name() + "}")
            parts.append("txt {{ " + "{ " + field + suffix + "}")
        return f"f{q}{' '.join(parts)}{q}"

    def comprehension(self, depth: int, quotes: str) -> str:
        target = self.rng.choice([self.name(), f"({self.name()}, {self.name()})"])
        clause = f"for {target} in {self.sub(depth, quotes)}"
        if self.rng.random() < 0.6:
            clause += f" if {self.expr(depth, quotes)}"
        if self.rng.random() < 0.3:
            clause += f" for {self.name()} in {self.sub(depth, quotes)}"
        element = self.expr(depth, quotes)
        kind = self.rng.choice(["[]", "{}", "()", "dict"])
        if kind == "dict":
            return f"{{{element}: {self.expr(depth, quotes)} {clause}}}"
        return f"{kind[0]}{element} {clause}{kind[1]}"

    def lambda_(self, depth: int, quotes: str) -> str:
        params = [self.rng.choice(["p", "q", "a"])]
        if self.rng.random() < 0.6:
            params.append(f"d={self.expr(depth, quotes)}")
        if self.rng.random() < 0.3:
            params.append("*rest")
        return f"(lambda {', '.join(params)}: {self.expr(depth, quotes)})"

    def conditional(self, depth: int, quotes: str) -> str:
        e = [self.expr(depth, quotes) for _ in range(3)]
        return f"({e[0]} if {e[1]} else {e[2]})"

    def walrus(self, depth: int, quotes: str) -> str:
        return f"({self.name()} := {self.expr(depth, quotes)})"

    def display(self, depth: int, quotes: str) -> str:
        items = [self.expr(depth, quotes) for _ in range(self.rng.randint(1, 3))]
        kind = self.rng.choice(["list", "set", "dict", "tuple"])
        if kind == "dict":
            pairs = [f"{i}: {self.expr(depth, quotes)}" for i in items]
            if self.rng.random() < 0.3:
                pairs.append(f"**{self.sub(depth, quotes)}")
            return "{" + ", ".join(pairs) + "}"
        if self.rng.random() < 0.3:
            items.append(f"*{self.sub(depth, quotes)}")
        if kind == "set":
            return "{" + ", ".join(items) + "}"
        return f"[{', '.join(items)}]" if kind == "list" else f"({', '.join(items)},)"

    def sub(self, depth: int, quotes: str) -> str:
        """An expression usable before `.`, `(` or `[`: parenthesized unless a name."""
        e = self.expr(depth + 1, quotes)
        return e if e.isidentifier() else f"({e})"

    # --- statements ---------------------------------------------------------------------------

    def simple(self, indent: str) -> str:
        n, e = self.name(), self.expr()
        forms = [
            f"{n} = {e}",
            f"{n} = {self.name()} = {e}",
            f"{n}, *{self.name()} = {e}",
            f"{self.sub(1, QUOTES)}.{self.rng.choice(FIELDS)} = {e}",
            f"{self.sub(1, QUOTES)}[{self.expr()}] = {e}",
            f"{n} += {e}",
            f"{n}: {self.expr()} = {e}",
            f"{n}: {self.expr()}",
            f"{self.call(1, QUOTES)}",
            f"del {n}, {self.sub(1, QUOTES)}.attr, {self.sub(1, QUOTES)}[{self.expr()}]",
            f"assert {e}, {self.expr()}",
            "import os.path as osp",
            "pass",
        ]
        return indent + self.rng.choice(forms) + "\n"

    def body(self, indent: str, depth: int) -> str:
        return "".join(self.statement(indent, depth) for _ in range(self.rng.randint(1, 3)))

    def statement(self, indent: str = "", depth: int = 0) -> str:
        if depth >= 2 or self.rng.random() < 0.5:
            return self.simple(indent)
        inner = indent + "    "
        e, n = self.expr(), self.name()
        kinds = ["if", "for", "while", "with", "try", "match", "def", "class"]
        if sys.version_info < (3, 10):
            kinds.remove("match")
        kind = self.rng.choice(kinds)
        if kind == "if":
            out = f"{indent}if {e}:\n{self.body(inner, depth + 1)}"
            out += f"{indent}elif {self.walrus(1, QUOTES)}:\n{self.body(inner, depth + 1)}"
            return out + f"{indent}else:\n{self.body(inner, depth + 1)}"
        if kind == "for":
            return f"{indent}for {n}, {self.name()} in {e}:\n{self.body(inner, depth + 1)}"
        if kind == "while":
            orelse = f"{indent}else:\n{self.body(inner, depth + 1)}"
            return f"{indent}while {e}:\n{self.body(inner, depth + 1)}{orelse}"
        if kind == "with":
            return f"{indent}with {e} as {n}, {self.expr()}:\n{self.body(inner, depth + 1)}"
        if kind == "try":
            out = f"{indent}try:\n{self.body(inner, depth + 1)}"
            out += f"{indent}except ({self.name()}, {self.sub(1, QUOTES)}.{FIELDS[0]}) as err:\n"
            return (
                out
                + f"{self.body(inner, depth + 1)}{indent}finally:\n{self.body(inner, depth + 1)}"
            )
        if kind == "match":
            cases = [
                f"case {n}.{FIELDS[0]}:",
                f"case [first, *rest] if {self.expr()}:",
                "case {'k': v, **kw}:",
                f"case {self.name()}(x=captured, y=[1, 2]):",
                "case _:",
            ]
            out = f"{indent}match {e}:\n"
            for case in cases:
                out += f"{inner}{case}\n{self.body(inner + '    ', depth + 2)}"
            return out
        if kind == "def":
            decorator = f"{inner}@{self.call(1, QUOTES)}\n" if self.rng.random() < 0.5 else ""
            params = (
                f"p: {self.expr()} = {self.expr()}, *args: {self.name()}, k={self.expr()}, **kw"
            )
            header = f"{inner}def inner_fn({params}) -> {self.expr()}:\n"
            return f"{indent}if {n}:\n{decorator}{header}{inner}    return {self.expr()}\n"
        bases = f"({self.sub(1, QUOTES)}, metaclass={self.name()})"
        return (
            f"{indent}if {n}:\n{inner}class Inner{bases}:\n{self.body(inner + '    ', depth + 2)}"
        )

    def module(self) -> str:
        # The first statement is not a string: a module docstring is not a statement.
        return "import os\n" + "".join(self.statement() for _ in range(self.rng.randint(3, 8)))


QUOTES = "\"'"


def python_reads(source: str) -> list:
    """(first line, sorted names in load context) of each module-level non-definition statement."""
    rows = []
    for stmt in ast.parse(source).body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        names = {
            n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        rows.append((stmt.lineno, sorted(names)))
    return rows


def test_generated_modules_read_what_python_reads():
    for seed in range(MODULES):
        source = Gen(seed).module()
        expected = python_reads(source)
        got = [(line, list(names)) for line, names in _core.statement_reads(source)]
        assert got == expected, f"seed {seed}:\n{source}"


@pytest.mark.parametrize(
    "source, reads",
    [
        ('GREETING = f"hi {NAME}"\n', ["NAME"]),
        ('PADDED = f"{x:{width}.{precision}}"\n', ["precision", "width", "x"]),
        ('SHOWN = f"{value!r:>{size}} {other=}"\n', ["other", "size", "value"]),
        ("total = [f(v) for v in items if v > LIMIT]\n", ["LIMIT", "f", "items", "v"]),
        (
            "handler = lambda event, retry=RETRIES: send(event, retry)\n",
            ["RETRIES", "event", "retry", "send"],
        ),
        ("if (m := pattern.match(line)):\n    found = m\n", ["line", "m", "pattern"]),
        ("obj.attr = value\n", ["obj", "value"]),
        ("del cache[key], _tmp\n", ["cache", "key"]),
        ("call(keyword=VALUE)\n", ["VALUE", "call"]),
        ("label: 'NotAName' = TEXT\n", ["TEXT"]),
    ],
)
def test_reads_of_known_statements(source, reads):
    assert _core.statement_reads(source) == [(1, reads)]
    assert python_reads(source) == [(1, reads)]


def test_syntax_errors_are_raised():
    with pytest.raises(SyntaxError, match="line 2"):
        _core.statement_reads("x = 1\ndef broken(:\n")
