"""Scenarios: errors (reported with file:line, old code keeps running, next good save applies)."""

import pytest
from scenarios import E, S, params, run_scenario

C = "errors"

FG = "def f():\n    return 'f1'\n\n\ndef g():\n    return 'g1'\n"

SCENARIOS = [
    S(
        C,
        "syntax_error_then_fix",
        {"m.py": FG},
        "import m\nf = m.f",
        E(
            ("m.py", "def g():", "def g(:"),
            expect={"(f(), m.g())": ["f1", "g1"]},
            errors=(("m.py", 5, "syntax"),),
            stderr=("m.py:5",),
        ),
        E(
            ("m.py", "def g(:\n    return 'g1'", "def g():\n    return 'g2'"),
            expect={"(f(), m.g())": ["f1", "g2"]},
        ),
        watch=True,
    ),
    S(
        C,
        "syntax_error_blocks_whole_file",
        {"m.py": FG},
        "import m",
        E(
            ("m.py", "return 'f1'", "return 'f2'"),
            ("m.py", "return 'g1'", "return 'g1' +"),
            expect={"m.f()": "f1"},
            errors=(("m.py", 6, "syntax"),),
        ),
        E(("m.py", "return 'g1' +", "return 'g2'"), expect={"(m.f(), m.g())": ["f2", "g2"]}),
    ),
    S(
        C,
        "indentation_error",
        {"m.py": FG},
        "import m",
        E(
            ("m.py", "    return 'g1'", "  return 'g2'\n    x = 1"),
            expect={"m.g()": "g1"},
            errors=(("m.py", 7, ""),),
        ),
        E(("m.py", "  return 'g2'\n    x = 1", "    return 'g3'"), expect={"m.g()": "g3"}),
    ),
    S(
        C,
        "exception_in_rerun_statement",
        {"m.py": "X = 1\n\n\ndef f():\n    return X\n"},
        "import m",
        E(
            ("m.py", "X = 1", "X = 1 // 0"),
            expect={"m.f()": 1, "m.X": 1},
            errors=(("m.py", 1, "ZeroDivisionError"),),
            stderr=("m.py:1",),
        ),
        E(("m.py", "X = 1 // 0", "X = 2"), expect={"m.f()": 2}),
        watch=True,
    ),
    S(
        C,
        "exception_in_class_body_statement",
        {"m.py": "class K:\n    X = 1\n\n    def f(self):\n        return self.X\n"},
        "import m\nk = m.K()",
        E(
            ("m.py", "X = 1", "X = 1 // 0"),
            expect={"k.f()": 1},
            errors=(("m.py", 2, "ZeroDivisionError"),),
        ),
        E(("m.py", "X = 1 // 0", "X = 5"), expect={"k.f()": 5}),
    ),
    S(
        C,
        "name_error_at_call_time",
        {"m.py": FG},
        "import m\nf = m.f",
        E(
            ("m.py", "return 'f1'", "return undefined_name"),
            expect={"raises(f)": "NameError", "m.g()": "g1"},
        ),
        E(("m.py", "return undefined_name", "return 'f3'"), expect={"f()": "f3"}),
        watch=True,
    ),
    S(
        C,
        "import_of_missing_module",
        {"m.py": FG},
        "import m",
        E(
            ("m.py", "def f():", "import no_such_module_xyz\n\n\ndef f():"),
            expect={"m.f()": "f1"},
            errors=(("m.py", 1, "no_such_module_xyz"),),
        ),
        E(("m.py", "import no_such_module_xyz\n", "import os\n"), expect={"m.os.sep": "/"}),
    ),
    S(
        C,
        "decorator_raising_on_redecorate",
        {
            "m.py": """
            def ok(fn):
                return fn

            def boom(fn):
                raise RuntimeError("no")

            @ok
            def f():
                return 1
            """
        },
        "import m",
        E(("m.py", "@ok", "@boom"), expect={"m.f()": 1}, errors=(("m.py", 7, "RuntimeError"),)),
        E(("m.py", "@boom", "@ok"), expect={"m.f()": 1}),
    ),
    S(
        C,
        "deleted_function_still_called",
        {"m.py": FG.replace("return 'f1'", "return 'f:' + g()")},
        "import m\nf = m.f",
        E(
            ("m.py", "\n\ndef g():\n    return 'g1'\n", ""),
            expect={"raises(f)": "NameError"},
            deleted=("m.g",),
        ),
    ),
    S(
        C,
        "runtime_error_in_new_code",
        {"m.py": FG},
        "import m",
        E(
            ("m.py", "return 'f1'", "return 1 / 0"),
            expect={"raises(m.f)": "ZeroDivisionError"},
            updated=("m.f",),
        ),
    ),
    S(
        C,
        "error_line_inside_class",
        {
            "m.py": "class K:\n    def a(self):\n        return 1\n\n    def b(self):\n"
            "        return 2\n"
        },
        "import m\nk = m.K()",
        E(
            ("m.py", "return 2", "return 2 +"),
            expect={"(k.a(), k.b())": [1, 2]},
            errors=(("m.py", 6, "syntax"),),
        ),
        E(("m.py", "return 2 +", "return 3"), expect={"k.b()": 3}),
    ),
    S(
        C,
        "two_errors_two_statements",
        {"m.py": "A = 1\nB = 2\n"},
        "import m",
        E(
            ("m.py", "A = 1\nB = 2", "A = 1 // 0\nB = int('x')"),
            expect={"(m.A, m.B)": [1, 2]},
            errors=(("m.py", 1, "ZeroDivisionError"), ("m.py", 2, "ValueError")),
        ),
    ),
    S(
        C,
        "good_part_of_statement_error_edit_applies",
        {"m.py": "X = 1\n\n\ndef f():\n    return 'f1'\n"},
        "import m",
        E(
            ("m.py", "X = 1", "X = 1 // 0"),
            ("m.py", "'f1'", "'f2'"),
            expect={"m.f()": "f2"},
            errors=(("m.py", 1, "ZeroDivisionError"),),
        ),
    ),
    S(
        C,
        "exception_in_after_hook_reported",
        {
            "m.py": "import hotswap\n\n\n@hotswap.after_reload\ndef _after():\n    pass\n\n\n"
            "def f():\n    return 1\n"
        },
        "import m",
        E(
            ("m.py", "    pass", "    raise RuntimeError('hook broke')"),
            ("m.py", "return 1", "return 2"),
            expect={"m.f()": 2},
            errors=(("m.py", None, "hook broke"),),
        ),
    ),
    S(
        C,
        "exception_in_reloaded_hook_reported",
        {
            "m.py": "class K:\n    @classmethod\n    def __reloaded__(cls):\n"
            "        raise RuntimeError('cls hook')\n\n    def f(self):\n        return 1\n"
        },
        "import m\nk = m.K()",
        E(
            ("m.py", "return 1", "return 2"),
            expect={"k.f()": 2},
            errors=(("m.py", None, "cls hook"),),
        ),
    ),
    S(
        C,
        "exception_in_migrate_reported",
        {
            "m.py": "class K:\n    def __init__(self):\n        self.a = 1\n\n"
            "    def __migrate__(self):\n        raise RuntimeError('migrate broke')\n"
        },
        "import m\nk = m.K()",
        E(
            ("m.py", "self.a = 1", "self.a = 2"),
            expect={"m.K().a": 2, "k.a": 1},
            errors=(("m.py", None, "migrate broke"),),
        ),
    ),
    S(
        C,
        "exception_in_before_hook_reported",
        {
            "m.py": "import hotswap\n\n\n@hotswap.before_reload\ndef _before():\n"
            "    raise RuntimeError('before broke')\n\n\ndef f():\n    return 1\n"
        },
        "import m",
        E(
            ("m.py", "return 1", "return 2"),
            expect={"m.f()": 2},
            errors=(("m.py", None, "before broke"),),
        ),
    ),
    S(
        C,
        "dependent_rerun_error_reported_at_its_line",
        {"m.py": "LIMIT = 10\nRATIO = 100 // LIMIT\n"},
        "import m",
        E(
            ("m.py", "LIMIT = 10", "LIMIT = 0"),
            expect={"m.LIMIT": 0, "m.RATIO": 10},
            errors=(("m.py", 2, "ZeroDivisionError"),),
        ),
        E(("m.py", "LIMIT = 0", "LIMIT = 5"), expect={"m.RATIO": 20}),
    ),
    S(
        C,
        "syntax_error_then_revert",
        {"m.py": FG},
        "import m\nf = m.f",
        E(("m.py", "def g():", "def g(:"), errors=(("m.py", 5, "syntax"),)),
        E(
            ("m.py", "def g(:", "def g():"),
            expect={"(f(), m.g())": ["f1", "g1"]},
            not_updated=("m.f", "m.g"),
        ),
        E(("m.py", "'f1'", "'f2'"), expect={"f()": "f2"}, updated=("m.f",)),
    ),
    S(
        C,
        "comment_only_change",
        {"m.py": FG},
        "import m\nf = m.f",
        E(
            ("m.py", "    return 'f1'", "    # a comment\n    return 'f1'"),
            expect={"f()": "f1"},
            not_updated=("m.g",),
        ),
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
