"""Scenarios: decorators (wrapper chains, caches, dispatch, re-decoration, __conform__)."""

import pytest
from scenarios import E, S, params, run_scenario

C = "decorators"

SCENARIOS = [
    S(
        C,
        "functools_wraps",
        {
            "m.py": """
            import functools

            def logged(fn):
                @functools.wraps(fn)
                def wrapper(*args):
                    return "log:" + fn(*args)
                return wrapper

            @logged
            def f():
                return "v1"
            """
        },
        "import m\ng = m.f",
        E(("m.py", '"v1"', '"v2"'), expect={"g()": "log:v2", "m.f()": "log:v2", "g is m.f": True}),
        watch=True,
    ),
    S(
        C,
        "closure_wrapper_without_wraps",
        {
            "m.py": """
            def bang(fn):
                def wrapper(*args):
                    return fn(*args) + "!"
                return wrapper

            @bang
            def f(x):
                return x
            """
        },
        "import m\ng = m.f",
        E(("m.py", "return x\n", "return x * 2\n"), expect={"g('a')": "aa!", "m.f('b')": "bb!"}),
    ),
    S(
        C,
        "wrapper_logic_changed",
        {
            "m.py": """
            def bang(fn):
                def wrapper(*args):
                    return fn(*args) + "!"
                return wrapper

            @bang
            def f():
                return "x"

            @bang
            def g():
                return "y"
            """
        },
        "import m\nf = m.f",
        E(("m.py", '+ "!"', '+ "?"'), expect={"f()": "x?", "m.g()": "y?"}),
    ),
    S(
        C,
        "decorator_with_arguments",
        {
            "m.py": """
            def repeat(n):
                def deco(fn):
                    def wrapper():
                        return [fn() for _ in range(n)]
                    return wrapper
                return deco

            @repeat(2)
            def f():
                return 1
            """
        },
        "import m\ng = m.f",
        E(("m.py", "return 1\n", "return 7\n"), expect={"g()": [7, 7]}),
        E(("m.py", "@repeat(2)", "@repeat(3)"), expect={"m.f()": [7, 7, 7]}),
    ),
    S(
        C,
        "contextmanager",
        {
            "m.py": """
            from contextlib import contextmanager

            @contextmanager
            def ctx():
                yield "v1"
            """
        },
        "import m\nctx = m.ctx\ndef use(cm):\n    with cm() as v:\n        return v",
        E(("m.py", '"v1"', '"v2"'), expect={"use(ctx)": "v2", "use(m.ctx)": "v2"}),
        watch=True,
    ),
    S(
        C,
        "singledispatch_impl_changed",
        {
            "m.py": """
            from functools import singledispatch

            @singledispatch
            def show(x):
                return "obj"

            @show.register(int)
            def _(x):
                return "int1"
            """
        },
        "import m\nshow = m.show",
        E(("m.py", '"int1"', '"int2"'), expect={"show(1)": "int2", "show('a')": "obj"}),
    ),
    S(
        C,
        "singledispatch_new_type",
        {
            "m.py": """
            from functools import singledispatch

            @singledispatch
            def show(x):
                return "obj"

            @show.register(int)
            def _(x):
                return "int"
            """
        },
        "import m\nshow = m.show",
        E(
            (
                "m.py",
                'return "int"\n',
                'return "int"\n\n@show.register(str)\ndef _(x):\n    return "str"\n',
            ),
            expect={"show('a')": "str", "show(1)": "int", "show(1.5)": "obj"},
        ),
    ),
    S(
        C,
        "singledispatch_default_changed",
        {
            "m.py": """
            from functools import singledispatch

            @singledispatch
            def show(x):
                return "obj1"

            @show.register(int)
            def _(x):
                return "int"
            """
        },
        "import m\nshow = m.show",
        E(
            ("m.py", '"obj1"', '"obj2"'),
            expect={"show(1.5)": "obj2", "show(1)": "int", "show is m.show": True},
        ),
    ),
    S(
        C,
        "lru_cache_invalidated",
        {
            "m.py": """
            import functools

            @functools.lru_cache(maxsize=None)
            def f(x):
                return x * 2
            """
        },
        "import m\ng = m.f\nassert g(2) == 4",
        E(("m.py", "x * 2", "x * 3"), expect={"g(2)": 6, "m.f(2)": 6}),
        watch=True,
    ),
    S(
        C,
        "functools_cache_invalidated",
        {"m.py": "import functools\n\n@functools.cache\ndef f(x):\n    return [x]\n"},
        "import m\ng = m.f\nassert g(1) == [1]",
        E(("m.py", "return [x]", "return [x, x]"), expect={"g(1)": [1, 1]}),
    ),
    S(
        C,
        "lru_cache_method",
        {
            "m.py": """
            import functools

            class K:
                @functools.lru_cache(maxsize=None)
                def f(self, x):
                    return x + 1
            """
        },
        "import m\nk = m.K()\nassert k.f(1) == 2",
        E(("m.py", "x + 1", "x + 100"), expect={"k.f(1)": 101}),
    ),
    S(
        C,
        "decorator_line_changed",
        {
            "m.py": """
            def upper(fn):
                return lambda: fn().upper()

            def title(fn):
                return lambda: fn().title()

            @upper
            def f():
                return "hello world"
            """
        },
        "import m",
        E(("m.py", "@upper", "@title"), expect={"m.f()": "Hello World"}, updated=("m.f",)),
    ),
    S(
        C,
        "decorator_added_with_wraps",
        {
            "m.py": """
            import functools

            def twice(fn):
                @functools.wraps(fn)
                def wrapper():
                    return fn() * 2
                return wrapper

            def f():
                return "a"
            """
        },
        "import m",
        E(
            ("m.py", "def f():", "@twice\ndef f():"),
            expect={"m.f()": "aa", "m.f.__wrapped__() ": "a", "m.f.__name__": "f"},
        ),
    ),
    S(
        C,
        "decorator_removed",
        {
            "m.py": """
            def shout(fn):
                return lambda: fn().upper()

            @shout
            def f():
                return "quiet"
            """
        },
        "import m",
        E(("m.py", "@shout\n", ""), expect={"m.f()": "quiet"}),
        before={"m.f()": "QUIET"},
    ),
    S(
        C,
        "partial_object",
        {"m.py": "def f(a, b):\n    return a + b\n"},
        "import m, functools\np = functools.partial(m.f, 10)",
        E(("m.py", "return a + b", "return a * b"), expect={"p(3)": 30}),
    ),
    S(
        C,
        "partialmethod",
        {
            "m.py": """
            import functools

            class K:
                def scale(self, factor, x):
                    return factor * x

                double = functools.partialmethod(scale, 2)
            """
        },
        "import m\nk = m.K()",
        E(("m.py", "return factor * x", "return factor * x + 1"), expect={"k.double(5)": 11}),
    ),
    S(
        C,
        "staticmethod_over_custom_decorator",
        {
            "m.py": """
            import functools

            def tag(fn):
                @functools.wraps(fn)
                def wrapper(*a):
                    return "<" + fn(*a) + ">"
                return wrapper

            class K:
                @staticmethod
                @tag
                def s():
                    return "s1"
            """
        },
        "import m\ns = m.K.s",
        E(("m.py", '"s1"', '"s2"'), expect={"s()": "<s2>", "m.K().s()": "<s2>"}),
    ),
    S(
        C,
        "classmethod_over_custom_decorator",
        {
            "m.py": """
            def tag(fn):
                def wrapper(*a):
                    return "<" + fn(*a) + ">"
                return wrapper

            class K:
                @classmethod
                @tag
                def c(cls):
                    return cls.__name__ + "1"
            """
        },
        "import m",
        E(("m.py", '"1"', '"2"'), expect={"m.K.c()": "<K2>"}),
    ),
    S(
        C,
        "conform_protocol",
        {
            "m.py": """
            import types

            class Traced:
                def __init__(self, fn):
                    self.fn = fn
                    self.conformed = 0

                def __call__(self, *args):
                    return self.fn(*args)

                def __conform__(self, new):
                    self.conformed += 1
                    if isinstance(new, types.CodeType):
                        self.fn.__code__ = new
                    elif new is not None:
                        self.fn = new

            @Traced
            def f():
                return "v1"
            """
        },
        "import m\nt = m.f",
        E(("m.py", '"v1"', '"v2"'), expect={"t()": "v2", "t is m.f": True, "t.conformed": 1}),
    ),
    S(
        C,
        "stacked_custom_decorators",
        {
            "m.py": """
            def a(fn):
                def wa():
                    return "a(" + fn() + ")"
                return wa

            def b(fn):
                def wb():
                    return "b(" + fn() + ")"
                return wb

            @a
            @b
            def f():
                return "x"
            """
        },
        "import m\ng = m.f",
        E(("m.py", 'return "x"', 'return "y"'), expect={"g()": "a(b(y))"}),
    ),
    S(
        C,
        "property_with_wraps_decorator",
        {
            "m.py": """
            import functools

            def upper(fn):
                @functools.wraps(fn)
                def wrapper(self):
                    return fn(self).upper()
                return wrapper

            class K:
                @property
                @upper
                def name(self):
                    return "a"
            """
        },
        "import m\nk = m.K()",
        E(("m.py", 'return "a"', 'return "b"'), expect={"k.name": "B"}),
    ),
    S(
        C,
        "singledispatchmethod_impl",
        {
            "m.py": """
            from functools import singledispatchmethod

            class K:
                @singledispatchmethod
                def show(self, x):
                    return "obj"

                @show.register
                def _(self, x: int):
                    return "int1"
            """
        },
        "import m\nk = m.K()",
        E(("m.py", '"int1"', '"int2"'), expect={"k.show(1)": "int2", "k.show('a')": "obj"}),
    ),
    S(
        C,
        "asynccontextmanager",
        {
            "m.py": """
            from contextlib import asynccontextmanager

            @asynccontextmanager
            async def ctx():
                yield "a1"
            """
        },
        "import m, asyncio\nctx = m.ctx\n"
        "async def use(cm):\n    async with cm() as v:\n        return v",
        E(("m.py", '"a1"', '"a2"'), expect={"asyncio.run(use(ctx))": "a2"}),
    ),
    S(
        C,
        "unchanged_cache_kept",
        {
            "m.py": """
            import functools

            @functools.lru_cache(maxsize=None)
            def f(x):
                return x

            @functools.lru_cache(maxsize=None)
            def g(x):
                return x
            """
        },
        "import m\nm.f(1); m.g(1)",
        E(
            ("m.py", "def f(x):\n    return x", "def f(x):\n    return -x"),
            expect={"m.f(1)": -1, "m.g.cache_info().currsize": 1},
        ),
    ),
    S(
        C,
        "callable_class_wrapper_state_kept",
        {
            "m.py": """
            import functools

            class Counted:
                def __init__(self, fn):
                    functools.update_wrapper(self, fn)
                    self.calls = 0

                def __call__(self, *args):
                    self.calls += 1
                    return self.__wrapped__(*args)

            @Counted
            def f():
                return "v1"
            """
        },
        "import m\nc = m.f\nc(); c()",
        E(("m.py", '"v1"', '"v2"'), expect={"c()": "v2", "c.calls": 3, "c is m.f": True}),
    ),
    S(
        C,
        "same_name_functions_in_registry",
        {
            "m.py": """
            ROUTES = {}

            def route(path):
                def deco(fn):
                    ROUTES[path] = fn
                    return fn
                return deco

            @route("/a")
            def _():
                return "a1"

            @route("/b")
            def _():
                return "b1"
            """
        },
        "import m\nroutes = m.ROUTES",
        E(
            ("m.py", '"b1"', '"b2"'),
            expect={"routes['/a']()": "a1", "routes['/b']()": "b2", "len(routes)": 2},
        ),
        E(
            ("m.py", 'return "b2"\n', 'return "b2"\n\n\n@route("/c")\ndef _():\n    return "c1"\n'),
            expect={"[routes[k]() for k in sorted(routes)]": ["a1", "b2", "c1"]},
        ),
    ),
    S(
        C,
        "typing_overload_implementation",
        {
            "m.py": """
            from typing import overload

            @overload
            def f(x: int) -> int: ...
            @overload
            def f(x: str) -> str: ...
            def f(x):
                return x
            """
        },
        "import m\ng = m.f",
        E(("m.py", "    return x\n", "    return x * 2\n"), expect={"g(2)": 4, "m.f('a')": "aa"}),
    ),
    S(
        C,
        "app_object_routes",
        {
            "m.py": """
            class App:
                def __init__(self):
                    self.routes = {}

                def route(self, path):
                    def deco(fn):
                        self.routes[path] = fn
                        return fn
                    return deco

            app = App()

            @app.route("/")
            def index():
                return "home1"

            @app.route("/about")
            def about():
                return "about1"
            """
        },
        "import m\napp = m.app",
        E(
            ("m.py", '"home1"', '"home2"'),
            expect={
                "app is m.app": True,
                "sorted(app.routes)": ["/", "/about"],
                "app.routes['/']()": "home2",
            },
        ),
        E(
            ("m.py", '@app.route("/about")', '@app.route("/info")'),
            expect={"app.routes['/info']()": "about1"},
        ),
        watch=True,
    ),
    S(
        C,
        "total_ordering_follows_lt",
        {
            "m.py": """
            import functools

            @functools.total_ordering
            class V:
                def __init__(self, n):
                    self.n = n

                def __eq__(self, other):
                    return self.n == other.n

                def __lt__(self, other):
                    return self.n < other.n
            """
        },
        "import m\na, b = m.V(1), m.V(2)",
        E(
            ("m.py", "return self.n < other.n", "return self.n > other.n"),
            expect={"(a < b, a > b, a >= b)": [False, True, True]},
        ),
    ),
    S(
        C,
        "staticmethod_over_lru_cache",
        {
            "m.py": """
            import functools

            class K:
                @staticmethod
                @functools.lru_cache(maxsize=None)
                def f(x):
                    return x + 1
            """
        },
        "import m\nassert m.K.f(1) == 2",
        E(("m.py", "return x + 1", "return x + 100"), expect={"m.K.f(1)": 101}),
    ),
    S(
        C,
        "lru_cache_over_wraps_decorator",
        {
            "m.py": """
            import functools

            def logged(fn):
                @functools.wraps(fn)
                def wrapper(*args):
                    return fn(*args)
                return wrapper

            @functools.lru_cache(maxsize=None)
            @logged
            def f(x):
                return x * 2
            """
        },
        "import m\nassert m.f(3) == 6",
        E(("m.py", "return x * 2", "return x * 5"), expect={"m.f(3)": 15}),
    ),
    S(
        C,
        "decorator_order_swapped",
        {
            "m.py": """
            def a(fn):
                def wa():
                    return "a(" + fn() + ")"
                return wa

            def b(fn):
                def wb():
                    return "b(" + fn() + ")"
                return wb

            @a
            @b
            def f():
                return "x"
            """
        },
        "import m",
        E(("m.py", "@a\n@b\n", "@b\n@a\n"), expect={"m.f()": "b(a(x))"}),
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
