"""Scenarios: tracebacks and source lookups point at the right lines after an edit."""

import pytest
from scenarios import E, S, params, run_scenario

C = "tracebacks"

RAISER = "def f():\n    raise ValueError('x')\n"
SHIFT = ("m.py", "def f():", "# one\n# two\ndef f():")

SCENARIOS = [
    S(
        C,
        "co_firstlineno_after_shift",
        {"m.py": RAISER},
        "import m\ng = m.f",
        E(SHIFT, expect={"g.__code__.co_firstlineno": 3}, moved=("m.f",)),
    ),
    S(
        C,
        "traceback_line_after_shift",
        {"m.py": RAISER},
        "import m\ng = m.f",
        E(
            ("m.py", "def f():", "X = 1\n\n\ndef f():"),
            expect={"tb_line(g)": 5, "tb_text(g)": "raise ValueError('x')"},
            added=("m.X",),
        ),
        watch=True,
    ),
    S(
        C,
        "getsourcelines_after_shift",
        {"m.py": RAISER},
        "import m, inspect\ng = m.f",
        E(SHIFT, expect={"inspect.getsourcelines(g)[1]": 3}),
    ),
    S(
        C,
        "getsource_after_body_edit",
        {"m.py": "def f():\n    return 1\n"},
        "import m, inspect\ng = m.f",
        E(
            ("m.py", "return 1", "return 2"),
            expect={"inspect.getsource(g)": "def f():\n    return 2\n"},
        ),
    ),
    S(
        C,
        "linecache_shows_new_text",
        {"m.py": RAISER},
        "import m, linecache\nlinecache.getline(m.__file__, 2)",
        E(
            ("m.py", "raise ValueError('x')", "raise KeyError('y')"),
            expect={
                "linecache.getline(m.__file__, 2)": "    raise KeyError('y')\n",
                "tb_text(m.f)": "raise KeyError('y')",
            },
        ),
    ),
    S(
        C,
        "linecache_after_successive_edits",
        {
            "m.py": "def a():\n    return 1\n\n\ndef b():\n    return 2\n\n\n"
            "def c():\n    raise ValueError\n"
        },
        "import m, linecache\nlinecache.getline(m.__file__, 1)",
        E(
            ("m.py", "def a():", "X = 1\n\n\ndef a():"),
            ("m.py", "    raise ValueError", "    raise KeyError"),
            expect={
                "linecache.getlines(m.__file__) == open(m.__file__).read().splitlines(True)": True,
                "tb_text(m.c)": "raise KeyError",
            },
        ),
        E(
            ("m.py", "    return 2", "    y = 2\n    return y"),
            expect={
                "linecache.getlines(m.__file__) == open(m.__file__).read().splitlines(True)": True,
                "linecache.getline(m.__file__, 10)": "    return y\n",
                "tb_line(m.c)": 14,
            },
        ),
    ),
    S(
        C,
        "method_after_shift",
        {"m.py": "class K:\n    def f(self):\n        raise ValueError\n"},
        "import m\nk = m.K()",
        E(
            ("m.py", "class K:", "X = 1\n\n\nclass K:"),
            expect={"k.f.__code__.co_firstlineno": 5, "tb_line(k.f)": 6},
        ),
    ),
    S(
        C,
        "function_above_grows",
        {"m.py": "def a():\n    return 1\n\n\ndef f():\n    raise ValueError\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "    return 1", "    x = 1\n    y = 2\n    return x + y"),
            expect={"tb_line(g)": 8, "m.a()": 3},
            moved=("m.f",),
        ),
        watch=True,
    ),
    S(
        C,
        "function_above_shrinks",
        {"m.py": "def a():\n    x = 1\n    return x\n\n\ndef f():\n    raise ValueError\n"},
        "import m\ng = m.f",
        E(("m.py", "    x = 1\n    return x", "    return 1"), expect={"tb_line(g)": 6}),
    ),
    S(
        C,
        "closure_after_shift",
        {"m.py": "def make():\n    def inner():\n        raise ValueError\n    return inner\n"},
        "import m\ninner = m.make()",
        E(("m.py", "def make():", "# a\n# b\n# c\ndef make():"), expect={"tb_line(inner)": 6}),
    ),
    S(
        C,
        "changed_function_new_line",
        {"m.py": RAISER},
        "import m\ng = m.f",
        E(
            ("m.py", "    raise ValueError('x')", "    y = 1\n    raise ValueError('z')"),
            expect={"tb_line(g)": 3, "tb_text(g)": "raise ValueError('z')"},
        ),
        watch=True,
    ),
    S(
        C,
        "decorated_function_after_shift",
        {
            "m.py": """
            import functools

            def deco(fn):
                @functools.wraps(fn)
                def wrapper():
                    return fn()
                return wrapper

            @deco
            def f():
                raise ValueError
            """
        },
        "import m, inspect\ng = m.f",
        E(
            ("m.py", "@deco\n", "# moved\n@deco\n"),
            expect={"tb_line(g)": 12, "inspect.getsourcelines(g)[1]": 10},
        ),
    ),
    S(
        C,
        "class_getsource_after_shift",
        {"m.py": "class K:\n    def f(self):\n        return 1\n"},
        "import m, inspect",
        E(
            ("m.py", "class K:", "Y = 2\n\n\nclass K:"),
            expect={"inspect.getsourcelines(m.K)[1]": 4},
        ),
    ),
    S(
        C,
        "generator_function_after_shift",
        {"m.py": "def gen():\n    yield 1\n    raise ValueError\n"},
        "import m\ng = m.gen",
        E(
            SHIFT[:1] + ("def gen():", "# one\ndef gen():"),
            expect={"tb_line(lambda: list(g()))": 4},
        ),
    ),
    S(
        C,
        "two_edits_lines_follow",
        {"m.py": RAISER},
        "import m\ng = m.f",
        E(SHIFT, expect={"tb_line(g)": 4}),
        E(("m.py", "# one\n# two\n", ""), expect={"tb_line(g)": 2}),
    ),
    S(
        C,
        "enum_method_after_member_added",
        {
            "m.py": "import enum\n\n\nclass Color(enum.Enum):\n    RED = 1\n\n"
            "    def boom(self):\n        raise ValueError\n"
        },
        "import m\nred = m.Color.RED",
        E(("m.py", "RED = 1\n", "RED = 1\n    GREEN = 2\n"), expect={"tb_line(red.boom)": 9}),
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
