"""Property test: after any sequence of edits applied with ``reload_paths``, the live module
behaves like a fresh import of the final source (same names, same results).

Runs in the pytest process itself (one module per example) so hypothesis can try many
sequences quickly; every other behaviour test drives a separate program.
"""

import importlib
import itertools
import sys

import hotswap
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NAMES = ["alpha", "beta", "gamma", "delta"]
KINDS = ["def", "decorated", "method", "uses_const"]

# One item of a module: (name, kind, value, blank lines before it).
item = st.tuples(
    st.sampled_from(NAMES),
    st.sampled_from(KINDS),
    st.integers(-5, 5),
    st.integers(0, 2),
)
module = st.lists(item, max_size=5).map(lambda items: list({i[0]: i for i in items}.values()))


def render(items, const: int) -> str:
    parts = [
        "import functools\n",
        f"CONST = {const}\n",
        "def deco(fn):\n    @functools.wraps(fn)\n    def wrapper(*a):\n"
        "        return fn(*a) * 10\n    return wrapper\n",
    ]
    for name, kind, value, blanks in items:
        parts.append("\n" * blanks)
        if kind == "def":
            parts.append(f"def {name}():\n    return {value}\n")
        elif kind == "decorated":
            parts.append(f"@deco\ndef {name}():\n    return {value}\n")
        elif kind == "method":
            parts.append(f"class {name}:\n    def get(self):\n        return {value}\n")
        else:
            parts.append(f"def {name}():\n    return CONST + {value}\n")
    return "".join(parts)


def behaviour(namespace: dict, items) -> dict:
    result = {}
    for name, kind, _, _ in items:
        obj = namespace[name]
        result[name] = obj().get() if kind == "method" else obj()
    present = {n for n in NAMES if n in namespace}
    return {"results": result, "present": present}


counter = itertools.count()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    hotswap.install(str(root))
    sys.path.insert(0, str(root))
    yield root
    sys.path.remove(str(root))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    first=module,
    edits=st.lists(st.tuples(module, st.integers(0, 3)), min_size=1, max_size=4),
    const=st.integers(0, 3),
)
def test_live_module_matches_fresh_import(workdir, first, edits, const):
    name = f"hsprop_{next(counter)}"
    path = workdir / f"{name}.py"
    path.write_text(render(first, const))
    live = importlib.import_module(name)
    for items, new_const in edits:
        source = render(items, new_const)
        path.write_text(source)
        report = hotswap.reload_paths([str(path)])
        assert not report.errors, report
        fresh: dict = {"__name__": name}
        exec(compile(source, str(path), "exec"), fresh)
        assert behaviour(vars(live), items) == behaviour(fresh, items), source
    del sys.modules[name]
