"""Scenarios: functions (bodies, signatures, defaults, references held in many places)."""

import pytest
from scenarios import E, S, params, run_scenario

C = "functions"

SCENARIOS = [
    # h11 0.12 -> 0.13: `@overload` stubs added in front of a function: references held to it
    # run the implementation (not a stub's `...`), as `m.f` does after a fresh start.
    S(
        C,
        "overload_stubs_added_in_front_of_a_held_function",
        {"m.py": "def f(x, flag=False):\n    return x\n"},
        "import m\nheld = m.f",
        E(
            (
                "m.py",
                "from typing import overload\n\n\n"
                "@overload\ndef f(x: int, flag: bool) -> int: ...\n\n\n"
                "@overload\ndef f(x: str, flag: bool) -> str: ...\n\n\n"
                "def f(x, flag=False):\n    return x * 2\n",
            ),
            expect={"(held(3), m.f(3), held is m.f)": [6, 6, True]},
        ),
        watch=True,
    ),
    # boltons 23 -> 24: functions moved out of py2/py3 compatibility blocks (`try:`/`if`) keep
    # their identity: references held to them run the new body, as after a fresh start.
    S(
        C,
        "function_moved_out_of_a_compatibility_block_keeps_its_identity",
        {
            "m.py": "import sys\n\ntry:\n    from nowhere import helper\nexcept ImportError:\n"
            "    def helper():\n        return 1\n\n\nclass K:\n"
            "    if sys.version_info >= (3,):\n        def m(self):\n            return 'a'\n"
            "    else:\n        def m(self):\n            return 'b'\n"
        },
        "import m\nh = m.helper\nk = m.K()\nbm = m.K.m",
        E(
            (
                "m.py",
                "import sys\n\n\ndef helper():\n    return 2\n\n\nclass K:\n"
                "    def m(self):\n        return 'c'\n",
            ),
            expect={"(h(), bm(k), h is m.helper, bm is m.K.m)": [2, "c", True, True]},
        ),
        watch=True,
    ),
    S(
        C,
        "body_held_everywhere",
        {"m.py": "def f():\n    return 1\n"},
        "import m\nfrom m import f as g\nd = {'k': m.f}\nl = [m.f]",
        E(
            ("m.py", "return 1", "return 2"),
            expect={"(m.f(), g(), d['k'](), l[0](), g is m.f)": [2, 2, 2, 2, True]},
            updated=("m.f",),
        ),
        before={"g()": 1},
        watch=True,
    ),
    S(
        C,
        "parameter_added",
        {"m.py": "def f(a):\n    return a\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f(a):\n    return a", "def f(a, b=10):\n    return a + b"),
            expect={"g(1)": 11, "g(1, 2)": 3},
            updated=("m.f",),
        ),
    ),
    S(
        C,
        "parameter_removed",
        {"m.py": "def f(a, b):\n    return a + b\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f(a, b):\n    return a + b", "def f(a):\n    return -a"),
            expect={"g(1)": -1, "raises(lambda: g(1, 2))": "TypeError"},
        ),
    ),
    S(
        C,
        "defaults_changed",
        {"m.py": "def f(x=1, y='a'):\n    return (x, y)\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "x=1, y='a'", "x=5, y='b'"),
            expect={"g()": [5, "b"], "g.__defaults__": [5, "b"]},
            updated=("m.f",),
        ),
        watch=True,
    ),
    S(
        C,
        "kwdefaults_changed",
        {"m.py": "def f(*, k=1):\n    return k\n"},
        "import m\ng = m.f",
        E(("m.py", "k=1", "k=2"), expect={"g()": 2, "g.__kwdefaults__": {"k": 2}}),
    ),
    S(
        C,
        "annotations_changed",
        {"m.py": "def f(x: int) -> int:\n    return x\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f(x: int) -> int:", "def f(x: str) -> str:"),
            expect={
                "g.__annotations__['x'].__name__": "str",
                "g.__annotations__['return'].__name__": "str",
            },
        ),
    ),
    S(
        C,
        "docstring_changed",
        {"m.py": 'def f():\n    """old doc"""\n    return 1\n'},
        "import m\ng = m.f",
        E(("m.py", "old doc", "new doc"), expect={"g.__doc__": "new doc", "g()": 1}),
    ),
    S(
        C,
        "docstring_added",
        {"m.py": "def f():\n    return 1\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f():\n", 'def f():\n    """added"""\n'),
            expect={"g.__doc__": "added", "g()": 1},
        ),
    ),
    S(
        C,
        "module_lambda",
        {"m.py": "double = lambda x: x * 2\n"},
        "import m\nh = m.double",
        E(("m.py", "x * 2", "x * 3"), expect={"m.double(2)": 6, "h(2)": 6}),
    ),
    S(
        C,
        "generator_next_call",
        {"m.py": "def gen():\n    yield 1\n    yield 2\n"},
        "import m\ng = m.gen",
        E(
            ("m.py", "yield 1\n    yield 2", "yield 10\n    yield 20\n    yield 30"),
            expect={"list(g())": [10, 20, 30], "list(m.gen())": [10, 20, 30]},
            updated=("m.gen",),
        ),
        watch=True,
    ),
    S(
        C,
        "async_function",
        {"m.py": "async def fetch(x):\n    return x\n"},
        "import m, asyncio\nf = m.fetch",
        E(("m.py", "return x", "return x * 100"), expect={"asyncio.run(f(2))": 200}),
    ),
    S(
        C,
        "async_generator",
        {"m.py": "async def agen():\n    yield 1\n"},
        "import m, asyncio\nasync def collect(fn):\n    return [x async for x in fn()]\nf = m.agen",
        E(("m.py", "yield 1", "yield 1\n    yield 2"), expect={"asyncio.run(collect(f))": [1, 2]}),
    ),
    S(
        C,
        "recursion",
        {"m.py": "def fact(n):\n    return 1 if n <= 1 else n * fact(n - 1)\n"},
        "import m\nf = m.fact",
        E(("m.py", "return 1 if", "return 2 if"), expect={"f(3)": 12, "m.fact(1)": 2}),
    ),
    S(
        C,
        "callee_changed",
        {"m.py": "def g():\n    return 'g1'\n\ndef f():\n    return 'f:' + g()\n"},
        "from m import f",
        E(("m.py", "'g1'", "'g2'"), expect={"f()": "f:g2"}, updated=("m.g",), not_updated=("m.f",)),
    ),
    S(
        C,
        "from_import_in_other_module",
        {
            "m.py": "def f():\n    return 1\n",
            "user.py": "from m import f\n\ndef use():\n    return f()\n",
        },
        "import user",
        E(("m.py", "return 1", "return 2"), expect={"user.use()": 2, "user.f()": 2}),
        watch=True,
    ),
    S(
        C,
        "callback_registry",
        {
            "m.py": """
            registry = []

            def register(fn):
                registry.append(fn)
                return fn

            @register
            def on_event():
                return "v1"
            """
        },
        "import m\ncb = m.registry[0]",
        E(
            ("m.py", '"v1"', '"v2"'),
            expect={"cb()": "v2", "len(m.registry)": 1, "m.registry[0] is m.on_event": True},
        ),
        watch=True,
    ),
    S(
        C,
        "bound_method",
        {"m.py": "class K:\n    def f(self):\n        return 1\n"},
        "import m\nobj = m.K()\nbm = obj.f",
        E(("m.py", "return 1", "return 2"), expect={"bm()": 2}, updated=("m.K.f",)),
    ),
    S(
        C,
        "function_added",
        {"m.py": "def f():\n    return 1\n"},
        "import m",
        E(
            ("m.py", "return 1\n", "return 1\n\ndef g():\n    return 'g'\n"),
            expect={"m.g()": "g"},
            added=("m.g",),
        ),
    ),
    S(
        C,
        "function_deleted",
        {"m.py": "def f():\n    return 1\n\ndef g():\n    return 'g'\n"},
        "import m",
        E(
            ("m.py", "\ndef g():\n    return 'g'\n", ""),
            expect={"hasattr(m, 'g')": False, "m.f()": 1},
            deleted=("m.g",),
        ),
    ),
    S(
        C,
        "function_renamed",
        {"m.py": "def old_name():\n    return 1\n"},
        "import m",
        E(
            ("m.py", "def old_name():", "def new_name():"),
            expect={"m.new_name()": 1, "hasattr(m, 'old_name')": False},
        ),
    ),
    S(
        C,
        "varargs_to_kwargs",
        {"m.py": "def f(*args):\n    return len(args)\n"},
        "import m\ng = m.f",
        E(
            (
                "m.py",
                "def f(*args):\n    return len(args)",
                "def f(*args, **kw):\n    return len(args) + len(kw)",
            ),
            expect={"g(1, a=2, b=3)": 3},
        ),
    ),
    S(
        C,
        "positional_only",
        {"m.py": "def f(a, /):\n    return a\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f(a, /):\n    return a", "def f(a, /, b=1):\n    return a + b"),
            expect={"g(1)": 2, "raises(lambda: g(a=1))": "TypeError"},
        ),
    ),
    S(
        C,
        "function_becomes_generator",
        {"m.py": "def f():\n    return [1]\n"},
        "import m\ng = m.f",
        E(("m.py", "return [1]", "yield 1\n    yield 2"), expect={"list(g())": [1, 2]}),
    ),
    S(
        C,
        "identity_and_attributes_kept",
        {"m.py": "def f():\n    return 1\n"},
        "import m\ng = m.f\nm.f.calls = 7",
        E(("m.py", "return 1", "return 2"), expect={"g is m.f": True, "m.f.calls": 7, "g()": 2}),
    ),
    S(
        C,
        "new_global_used_by_body",
        {"m.py": "def f():\n    return 0\n"},
        "from m import f",
        E(
            ("m.py", "def f():\n    return 0", "LIMIT = 5\n\ndef f():\n    return LIMIT"),
            expect={"f()": 5},
        ),
    ),
    S(
        C,
        "two_edits_in_a_row",
        {"m.py": "def f():\n    return 1\n"},
        "from m import f",
        E(("m.py", "return 1", "return 2"), expect={"f()": 2}),
        E(("m.py", "return 2", "return 3"), expect={"f()": 3}, how="atomic"),
        E(("m.py", "return 3", "return 1"), expect={"f()": 1}, how="vim"),
        watch=True,
    ),
    S(
        C,
        "global_statement_state_kept",
        {"m.py": "N = 0\n\ndef inc():\n    global N\n    N += 1\n    return N\n"},
        "import m\nm.inc(); m.inc()",
        E(("m.py", "N += 1", "N += 10"), expect={"m.inc()": 12}),
    ),
    S(
        C,
        "keyword_only_added",
        {"m.py": "def f(a):\n    return a\n"},
        "import m\ng = m.f",
        E(
            ("m.py", "def f(a):\n    return a", "def f(a, *, scale=3):\n    return a * scale"),
            expect={"g(2)": 6, "g(2, scale=1)": 2},
        ),
    ),
    S(
        C,
        "two_step_save_through_watcher",
        {"m.py": "def f():\n    return 1\n\n\ndef g():\n    return 'g'\n"},
        "import m\nf = m.f",
        E(("m.py", "return 1", "return 2"), expect={"f()": 2, "m.g()": "g"}, how="two-step"),
        watch=True,
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
