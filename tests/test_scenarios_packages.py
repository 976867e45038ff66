"""Scenarios: packages and batches (several files applied together in dependency order,
relative imports, a broken file beside a good one)."""

import subprocess
import sys

import pytest
from scenarios import E, S, params, run_scenario

C = "packages"

AB = {
    "a.py": "import b\n\ndef use():\n    return 'a'\n",
    "b.py": "def base():\n    return 'b'\n",
}
A_NEW = ("a.py", "return 'a'", "return 'a+' + b.added()")
B_NEW = ("b.py", "return 'b'\n", "return 'b'\n\ndef added():\n    return 'new'\n")

REL = {
    "pkg/__init__.py": "",
    "pkg/a.py": "from .b import helper\n\ndef use():\n    return helper()\n",
    "pkg/b.py": "def helper():\n    return 'h1'\n",
}

SCENARIOS = [
    # An importer whose own file was edited (the engine holds its parsed imports) still gets a
    # name it imports, relatively or absolutely, when the module it comes from changes it; so
    # does one never edited (found by its text).
    S(
        C,
        "edited_and_unedited_importers_follow_a_changed_constant",
        {
            "pkg/__init__.py": "",
            "pkg/b.py": "LIMIT = 1\n",
            "pkg/a.py": "from .b import LIMIT\n\n\ndef use():\n    return LIMIT\n",
            "pkg/c.py": "from pkg.b import LIMIT\n\n\ndef use():\n    return LIMIT\n",
            "pkg/d.py": "from .b import LIMIT\n\n\ndef use():\n    return LIMIT\n",
        },
        "import pkg.a, pkg.c, pkg.d",
        E(
            ("pkg/a.py", "return LIMIT", "return LIMIT * 1"),
            ("pkg/c.py", "return LIMIT", "return LIMIT * 1"),
            expect={"(pkg.a.use(), pkg.c.use(), pkg.d.use())": [1, 1, 1]},
        ),
        E(
            ("pkg/b.py", "LIMIT = 1", "LIMIT = 2"),
            expect={"(pkg.a.use(), pkg.c.use(), pkg.d.use())": [2, 2, 2]},
            updated=("pkg.a.LIMIT", "pkg.c.LIMIT", "pkg.d.LIMIT"),
        ),
        watch=True,
    ),
    # httpx 0.26 -> 0.27: `USER_AGENT = f"python-httpx/{__version__}"` in `_client.py` computes
    # from a name `__version__.py` changed: it runs again, and so does what imports it.
    S(
        C,
        "values_computed_from_an_imported_name_follow_it",
        {
            "a.py": "VERSION = '1'\n",
            "b.py": "from a import VERSION\n\nAGENT = f'x/{VERSION}'\n\n\n"
            "def agent(default=AGENT):\n    return default\n",
            "c.py": "from b import AGENT\n\nBANNER = AGENT + '!'\n",
        },
        "import b, c",
        E(
            ("a.py", "'1'", "'2'"),
            expect={"(b.AGENT, b.agent(), c.BANNER)": ["x/2", "x/2", "x/2!"]},
        ),
        watch=True,
    ),
    # docutils 0.20 -> 0.21: `from docutils import __version_info__` follows the new value (a
    # dunder is a value like any other; only the import machinery's own names are not).
    S(
        C,
        "from_import_of_a_dunder_follows_the_new_value",
        {
            "a.py": "__version__ = '1.0'\n",
            "b.py": "from a import __version__\n\n\ndef version():\n    return __version__\n",
        },
        "import b",
        E(("a.py", "'1.0'", "'2.0'"), expect={"b.version()": "2.0"}, updated=("b.__version__",)),
        watch=True,
    ),
    # docutils 0.20 -> 0.21: `generator = "... %s" % docutils.__version__` in a class body of
    # another module of the package reads the new version through the module, as a fresh
    # start does; so does a module-level statement.
    S(
        C,
        "statement_reading_a_changed_attribute_of_an_imported_package_runs_again",
        {
            "pkg/__init__.py": "__version__ = '1'\n",
            "pkg/writer.py": "import pkg\n\nBANNER = 'v' + pkg.__version__\n\n\n"
            "class Writer:\n    generator = 'gen %s' % pkg.__version__\n\n"
            "    def write(self):\n        return self.generator\n",
        },
        "import pkg.writer",
        E(
            ("pkg/__init__.py", "'1'", "'2'"),
            expect={"(pkg.writer.BANNER, pkg.writer.Writer().write())": ["v2", "gen 2"]},
        ),
        watch=True,
    ),
    # h11 0.12 -> 0.13: `_events` gains `Event` (in `__all__`), `_state`'s unchanged
    # `from ._events import *` must bind it before `_state`'s changed statements use it.
    S(
        C,
        "batch_star_import_gains_a_name_the_importer_uses",
        {
            "pkg/__init__.py": "",
            "pkg/events.py": "__all__ = ['Request']\n\n\nclass Request:\n    pass\n",
            "pkg/state.py": "from typing import Tuple, Type\n\nfrom .events import *\n\n"
            "KINDS = (Request,)\n\n\n"
            "def kind(x: Type[Request]):\n    return x.__name__\n",
        },
        "from pkg import state",
        E(
            (
                "pkg/events.py",
                "__all__ = ['Event', 'Request']\n\n\nclass Event:\n    pass\n\n\n"
                "class Request:\n    pass\n",
            ),
            ("pkg/state.py", "KINDS = (Request,)", "KINDS = (Event, Request)"),
            ("pkg/state.py", "def kind(x: Type[Request]):", "def kind(x: Type[Event]):"),
            expect={
                "([k.__name__ for k in state.KINDS], state.kind(state.Request))": [
                    ["Event", "Request"],
                    "Request",
                ]
            },
        ),
        watch=True,
    ),
    S(
        C,
        "batch_user_first",
        AB,
        "import a",
        E(A_NEW, B_NEW, expect={"a.use()": "a+new"}, added=("b.added",)),
        watch=True,
    ),
    S(
        C,
        "batch_provider_first",
        AB,
        "import a",
        E(B_NEW, A_NEW, expect={"a.use()": "a+new"}),
    ),
    S(
        C,
        "batch_from_import_of_new_name",
        {
            "a.py": "from b import base\n\ndef use():\n    return base()\n",
            "b.py": "def base():\n    return 'b'\n",
        },
        "import a",
        E(
            ("a.py", "from b import base\n", "from b import base, added\n"),
            ("a.py", "return base()", "return added()"),
            B_NEW,
            expect={"a.use()": "new"},
        ),
        watch=True,
    ),
    S(
        C,
        "importer_saved_before_its_provider_runs_its_import_once_the_provider_is_saved",
        {
            "a.py": "from b import base\n\nTABLE = {'base': base}\n\n"
            "def use():\n    return base()\n",
            "b.py": "def base():\n    return 'b'\n",
        },
        "import a",
        E(
            ("a.py", "from b import base\n", "from b import base, added\n"),
            ("a.py", "TABLE = {'base': base}", "TABLE = {'base': base, 'added': added}"),
            ("a.py", "return base()", "return added()"),
            errors=(("a.py", 1, "cannot import name 'added'"),),
        ),
        E(
            B_NEW,
            expect={
                "a.use()": "new",
                "sorted(a.TABLE)": ["added", "base"],
                "a.TABLE['added']()": "new",
            },
        ),
        watch=True,
    ),
    S(
        C,
        "package_import_of_a_module_not_yet_created_runs_once_the_module_is_saved",
        {"pkg/__init__.py": "X = 1\n"},
        "import pkg",
        E(
            ("pkg/__init__.py", "X = 1\n", "X = 1\nfrom .new import thing\n"),
            errors=(("pkg/__init__.py", 2, "No module named"),),
        ),
        E(("pkg/new.py", "def thing():\n    return 'new'\n"), expect={"pkg.thing()": "new"}),
        watch=True,
    ),
    S(
        C,
        "batch_one_file_broken",
        AB,
        "import a, b",
        E(
            ("a.py", "return 'a'", "return 'a2'"),
            ("b.py", "return 'b'", "return 'b' +"),
            expect={"a.use()": "a2", "b.base()": "b"},
            errors=(("b.py", 2, "syntax"),),
        ),
        E(("b.py", "return 'b' +", "return 'b2'"), expect={"b.base()": "b2", "a.use()": "a2"}),
        watch=True,
    ),
    S(
        C,
        "batch_three_file_chain",
        {
            "a.py": "import b\n\ndef use():\n    return 'a'\n",
            "b.py": "import c\n\ndef mid():\n    return 'b'\n",
            "c.py": "def low():\n    return 'c'\n",
        },
        "import a",
        E(
            ("a.py", "return 'a'", "return b.mid2()"),
            ("b.py", "return 'b'\n", "return 'b'\n\ndef mid2():\n    return c.low2()\n"),
            ("c.py", "return 'c'\n", "return 'c'\n\ndef low2():\n    return 'deep'\n"),
            expect={"a.use()": "deep"},
        ),
    ),
    S(
        C,
        "batch_three_file_chain_reversed",
        {
            "a.py": "import b\n\ndef use():\n    return 'a'\n",
            "b.py": "import c\n\ndef mid():\n    return 'b'\n",
            "c.py": "def low():\n    return 'c'\n",
        },
        "import a",
        E(
            ("c.py", "return 'c'\n", "return 'c'\n\ndef low2():\n    return 'deep'\n"),
            ("a.py", "return 'a'", "return b.mid2()"),
            ("b.py", "return 'b'\n", "return 'b'\n\ndef mid2():\n    return c.low2()\n"),
            expect={"a.use()": "deep"},
        ),
    ),
    S(
        C,
        "batch_module_level_use_of_new_function",
        {"a.py": "import b\n\nVALUE = b.base()\n", "b.py": "def base():\n    return 'b'\n"},
        "import a",
        E(("a.py", "VALUE = b.base()", "VALUE = b.added()"), B_NEW, expect={"a.VALUE": "new"}),
    ),
    S(
        C,
        "relative_import_helper_changed",
        REL,
        "import pkg.a as a",
        E(("pkg/b.py", "'h1'", "'h2'"), expect={"a.use()": "h2"}),
        watch=True,
    ),
    S(
        C,
        "relative_import_new_name_batch",
        REL,
        "import pkg.a as a",
        E(
            ("pkg/a.py", "from .b import helper\n", "from .b import helper, extra\n"),
            ("pkg/a.py", "return helper()", "return extra()"),
            ("pkg/b.py", "return 'h1'\n", "return 'h1'\n\ndef extra():\n    return 'x'\n"),
            expect={"a.use()": "x"},
        ),
    ),
    S(
        C,
        "relative_import_of_new_module",
        dict(REL, **{"pkg/extra.py": "def e():\n    return 'extra'\n"}),
        "import pkg.a as a",
        E(
            ("pkg/a.py", "from .b import helper\n", "from .b import helper\nfrom . import extra\n"),
            ("pkg/a.py", "return helper()", "return extra.e()"),
            expect={"a.use()": "extra"},
        ),
    ),
    S(
        C,
        "subpackage_module",
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "",
            "pkg/sub/deep.py": "def f():\n    return 'd1'\n",
        },
        "from pkg.sub.deep import f\nimport pkg.sub.deep as deep",
        E(
            ("pkg/sub/deep.py", "'d1'", "'d2'"),
            expect={"(f(), deep.f())": ["d2", "d2"]},
            updated=("pkg.sub.deep.f",),
        ),
    ),
    S(
        C,
        "package_constant_used_by_submodule",
        {
            "pkg/__init__.py": "MODE = 'dev'\n",
            "pkg/tool.py": "from pkg import MODE\n\ndef mode():\n    return MODE\n",
        },
        "import pkg.tool as tool",
        E(("pkg/__init__.py", "'dev'", "'prod'"), expect={"tool.mode()": "prod"}),
    ),
    S(
        C,
        "circular_imports",
        {
            "a.py": "import b\n\ndef fa():\n    return 'a1'\n\ndef call_b():\n    return b.fb()\n",
            "b.py": "import a\n\ndef fb():\n    return 'b1:' + a.fa()\n",
        },
        "import a",
        E(("a.py", "'a1'", "'a2'"), ("b.py", "'b1:'", "'b2:'"), expect={"a.call_b()": "b2:a2"}),
    ),
    S(
        C,
        "same_file_saved_twice_in_batch",
        AB,
        "import a",
        E(
            ("a.py", "return 'a'", "return 'a2'"),
            ("a.py", "return 'a2'", "return 'a3'"),
            expect={"a.use()": "a3"},
        ),
    ),
    S(
        C,
        "class_moved_between_modules",
        {"a.py": "class K:\n    def f(self):\n        return 'a'\n", "b.py": "X = 1\n"},
        "import a, b\nk = a.K()",
        E(
            ("b.py", "X = 1\n", "from a import K\n\nX = 1\n"),
            ("a.py", "return 'a'", "return 'a2'"),
            expect={"b.K is a.K": True, "k.f()": "a2"},
        ),
    ),
    S(
        C,
        "new_module_and_importer_in_batch",
        {"pkg/__init__.py": "X = 1\n"},
        "import pkg",
        E(
            ("pkg/new.py", "def thing():\n    return 'new'\n"),
            ("pkg/__init__.py", "X = 1\n", "X = 1\nfrom .new import thing\n"),
            expect={"pkg.thing()": "new"},
        ),
        watch=True,
    ),
    S(
        C,
        "diamond_batch_order",
        {
            "top.py": "import left, right\n\nVALUE = 'top'\n",
            "left.py": "import base\n\nL = 'l'\n",
            "right.py": "import base\n\nR = 'r'\n",
            "base.py": "B = 'b'\n",
        },
        "import top",
        E(
            ("top.py", "VALUE = 'top'", "VALUE = left.L2 + right.R2"),
            ("left.py", "L = 'l'", "L2 = base.B2 + 'l'"),
            ("right.py", "R = 'r'", "R2 = base.B2 + 'r'"),
            ("base.py", "B = 'b'", "B2 = 'B'"),
            expect={"top.VALUE": "BlBr"},
        ),
        watch=True,
    ),
    S(
        C,
        "provider_broken_importer_reports",
        AB,
        "import a, b",
        E(
            ("a.py", "return 'a'", "return 'a+' + b.added()"),
            ("b.py", "return 'b'\n", "return 'b'\n\ndef added(:\n    return 'new'\n"),
            expect={"b.base()": "b", "raises(a.use)": "AttributeError"},
            errors=(("b.py", 4, "syntax"),),
        ),
    ),
    S(
        C,
        "init_star_reexport_new_function",
        {"pkg/__init__.py": "from .core import *\n", "pkg/core.py": "def f():\n    return 1\n"},
        "import pkg",
        E(
            ("pkg/core.py", "return 1\n", "return 1\n\n\ndef g():\n    return 'g'\n"),
            expect={"pkg.g()": "g"},
        ),
    ),
    S(
        C,
        "function_moved_between_modules",
        {"a.py": "def f():\n    return 'a'\n\n\ndef use():\n    return f()\n", "b.py": "X = 1\n"},
        "import a, b",
        E(
            ("a.py", "def f():\n    return 'a'\n", "from b import f\n"),
            ("b.py", "X = 1\n", "X = 1\n\n\ndef f():\n    return 'b'\n"),
            expect={"a.use()": "b", "a.f is b.f": True},
        ),
    ),
    S(
        C,
        "circular_batch_module_level_names",
        {
            "a.py": "import b\n\nA = 'a'\n\n\ndef use():\n    return b.B\n",
            "b.py": "import a\n\nB = 'b'\n\n\ndef use():\n    return a.A\n",
        },
        "import a, b",
        E(
            ("a.py", "A = 'a'", "A = 'a2'\nA_NEW = 'an'"),
            ("b.py", "return a.A", "return a.A_NEW"),
            ("a.py", "return b.B", "return b.B_NEW"),
            ("b.py", "B = 'b'", "B = 'b2'\nB_NEW = 'bn'"),
            expect={"(a.use(), b.use(), a.A, b.B)": ["bn", "an", "a2", "b2"]},
        ),
        watch=True,
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")


# tabulate 0.8 -> 0.9: the module `m.py` is replaced by the package `m/` (an upgrade in place).
# Oracle: a fresh process started on the new files.
MODULE_V1 = "def f():\n    return 1\n\n\ndef g():\n    return 'g'\n"
PACKAGE_V2 = {
    "m/__init__.py": "from .sub import VALUE\n\n\ndef f():\n    return VALUE\n\n\n"
    "def g():\n    return 'g'\n",
    "m/sub.py": "VALUE = 2\n",
}
PROBE = (
    "(m.f(), held_f(), held_g(), held_f is m.f, m.__file__.endswith('__init__.py'), m.sub.VALUE)"
)


@pytest.mark.parametrize("mode", ["reload", "watch"])
def test_module_replaced_by_a_package_becomes_that_package(project, mode):
    fresh_dir = project.path("fresh")
    for name, text in PACKAGE_V2.items():
        project.write(f"fresh/{name}", text)
    oracle = subprocess.run(
        [sys.executable, "-c", "import m; print(m.f(), m.__file__.endswith('__init__.py'))"],
        cwd=fresh_dir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    project.write("m.py", MODULE_V1)
    prog = project.start()
    prog.exec("import m\nheld_f = m.f\nheld_g = m.g")
    if mode == "watch":
        prog.watch()
    for name, text in PACKAGE_V2.items():
        project.write(name, text)
    project.path("m.py").unlink()
    if mode == "reload":
        report = prog.reload("m/__init__.py", "m/sub.py", "m.py")
    else:
        report = prog.wait_reload()
        prog.wait_until("m.f()", int(oracle[0]))
    assert not report["errors"], report
    assert [str(v) for v in prog.eval(PROBE)[:1]] == oracle[:1]
    assert prog.eval(PROBE) == [2, 2, "g", True, True, 2]
    assert prog.eval("m.__path__") == [str(project.path("m"))]
    assert prog.eval("m.f.__code__.co_filename") == str(project.path("m/__init__.py"))
