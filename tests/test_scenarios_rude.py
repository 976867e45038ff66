"""Scenarios: rude edits (cannot be applied in place): reported with file:line and a reason,
the program keeps running, the rest of the edit applies."""

import pytest
from scenarios import E, S, params, run_scenario, xfail

C = "rude"

GEN = "def gen():\n    yield 1\n    yield 2\n"

SCENARIOS = [
    S(
        C,
        "suspended_generator",
        {"m.py": GEN},
        "import m\ng = m.gen()\nnext(g)",
        E(
            ("m.py", "yield 2", "yield 20"),
            expect={"next(g)": 2, "list(m.gen())": [1, 20]},
            rude=(("m.py", 1, "generator"),),
        ),
        watch=True,
    ),
    S(
        C,
        "suspended_generator_rest_of_file_applies",
        {"m.py": GEN + "\n\ndef f():\n    return 1\n"},
        "import m\ng = m.gen()\nnext(g)",
        E(
            ("m.py", "yield 2", "yield 20"),
            ("m.py", "return 1", "return 2"),
            expect={"m.f()": 2, "next(g)": 2},
            updated=("m.f",),
            rude=(("m.py", None, "generator"),),
        ),
        watch=True,
    ),
    S(
        C,
        "suspended_generator_method",
        {"m.py": "class K:\n    def items(self):\n        yield 'a'\n        yield 'b'\n"},
        "import m\nit = m.K().items()\nnext(it)",
        E(
            ("m.py", "yield 'b'", "yield 'B'"),
            expect={"next(it)": "b", "list(m.K().items())": ["a", "B"]},
            rude=(("m.py", None, "generator"),),
        ),
    ),
    S(
        C,
        "finished_generator_not_rude",
        {"m.py": GEN},
        "import m\ng = m.gen()\nlist(g)",
        E(("m.py", "yield 2", "yield 20"), expect={"list(m.gen())": [1, 20]}),
    ),
    S(
        C,
        "suspended_coroutine",
        {
            "m.py": """
            class Step:
                def __await__(self):
                    yield

            async def co():
                await Step()
                return "r1"
            """
        },
        "import m\nc = m.co()\nc.send(None)\n"
        "def finish(c):\n    try:\n        c.send(None)\n    except StopIteration as e:\n"
        "        return e.value",
        E(
            ("m.py", '"r1"', '"r2"'),
            expect={"finish(c)": "r1"},
            rude=(("m.py", None, "coroutine"),),
        ),
    ),
    S(
        C,
        "slots_layout_changed",
        {
            "m.py": """
            class K:
                __slots__ = ("a",)

                def __init__(self):
                    self.a = 1
            """
        },
        "import m\nk = m.K()",
        E(("m.py", '("a",)', '("a", "b")'), expect={"k.a": 1}, rude=(("m.py", None, "slots"),)),
    ),
    S(
        C,
        "slot_removed",
        {
            "m.py": """
            class K:
                __slots__ = ("a", "b")

                def f(self):
                    return 1
            """
        },
        "import m\nk = m.K()\nk.a = 1",
        E(("m.py", '("a", "b")', '("a",)'), expect={"k.a": 1}, rude=(("m.py", None, "slots"),)),
    ),
    S(
        C,
        "slots_change_beside_method_edit",
        {
            "m.py": """
            class K:
                __slots__ = ("a",)

                def f(self):
                    return 1

            def g():
                return 1
            """
        },
        "import m\nk = m.K()",
        E(
            ("m.py", '("a",)', '("a", "c")'),
            ("m.py", "def g():\n    return 1", "def g():\n    return 2"),
            expect={"m.g()": 2},
            rude=(("m.py", None, "slots"),),
        ),
    ),
    S(
        C,
        "namedtuple_field_added",
        {"m.py": "from typing import NamedTuple\n\n\nclass Pt(NamedTuple):\n    x: int\n"},
        "import m\np = m.Pt(1)",
        E(
            ("m.py", "    x: int\n", "    x: int\n    y: int = 0\n"),
            expect={"p.x": 1},
            rude=(("m.py", None, "namedtuple"),),
        ),
    ),
    S(
        C,
        "slots_dataclass_field_added",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass(slots=True)
            class P:
                x: int = 0
            """
        },
        "import m\np = m.P(1)",
        E(
            ("m.py", "    x: int = 0\n", "    x: int = 0\n    y: int = 0\n"),
            expect={"p.x": 1},
            rude=(("m.py", None, "slots"),),
        ),
        min_version=(3, 10),
    ),
    S(
        C,
        "base_layout_incompatible",
        {"m.py": "class A:\n    pass\n\n\nclass B(A):\n    def f(self):\n        return 1\n"},
        "import m\nb = m.B()",
        E(
            ("m.py", "class B(A):", "class B(int):"),
            expect={"issubclass(m.B, int)": True, "b.f()": 1},
            recreated=("m.B",),
            rude=(("m.py", 5, "re-created"),),
        ),
    ),
    S(
        C,
        "slots_added_to_plain_class",
        {"m.py": "class K:\n    def __init__(self):\n        self.a = 1\n"},
        "import m\nk = m.K()",
        E(
            ("m.py", "class K:\n", "class K:\n    __slots__ = ('a',)\n\n"),
            expect={"k.a": 1},
            rude=(("m.py", None, "slots"),),
        ),
    ),
    S(
        C,
        "suspended_async_generator",
        {"m.py": "async def agen():\n    yield 1\n    yield 2\n"},
        "import m\nag = m.agen()\nstep = ag.__anext__()\n"
        "try:\n    step.send(None)\nexcept StopIteration:\n    pass",
        E(
            ("m.py", "yield 2", "yield 20"),
            rude=(("m.py", None, "generator"),),
        ),
    ),
    S(
        C,
        "suspended_generator_other_module_edit_clean",
        {"m.py": "def gen():\n    yield 1\n    yield 2\n", "other.py": "def f():\n    return 1\n"},
        "import m, other\ng = m.gen()\nnext(g)",
        E(("other.py", "return 1", "return 2"), expect={"other.f()": 2, "next(g)": 2}),
    ),
    S(
        C,
        "instance_of_recreated_class_rebuilt",
        {"m.py": "class A:\n    pass\n\n\nclass B(A):\n    pass\n\n\nDEFAULT = B()\n"},
        "import m",
        E(
            ("m.py", "class B(A):", "class B(int):"),
            expect={"isinstance(m.DEFAULT, m.B)": True},
            recreated=("m.B",),
            rude=(("m.py", 5, ""),),
        ),
    ),
    S(
        C,
        "subclass_of_recreated_class_follows",
        {"m.py": "class A:\n    pass\n\n\nclass B(A):\n    pass\n\n\nclass C(B):\n    pass\n"},
        "import m",
        E(
            ("m.py", "class B(A):", "class B(int):"),
            expect={"issubclass(m.C, m.B)": True, "issubclass(m.C, int)": True},
            recreated=("m.B",),
            rude=(("m.py", 5, ""),),
        ),
    ),
    S(
        C,
        "slots_changed_new_instances_use_new_layout",
        {"m.py": "class K:\n    __slots__ = ('a',)\n"},
        "import m\nk = m.K()\nk.a = 1",
        E(
            ("m.py", "('a',)", "('a', 'b')"),
            run="n = m.K()\nn.b = 2",
            expect={"n.b": 2, "k.a": 1, "m.K.__slots__": ["a", "b"]},
            rude=(("m.py", 1, "slots"),),
            recreated=("m.K",),
        ),
        watch=True,
    ),
    S(
        C,
        "namedtuple_field_added_new_instances",
        {"m.py": "from typing import NamedTuple\n\n\nclass Pt(NamedTuple):\n    x: int\n"},
        "import m\np = m.Pt(1)",
        E(
            ("m.py", "    x: int\n", "    x: int\n    y: int = 0\n"),
            expect={"m.Pt(1, 2).y": 2, "m.Pt._fields": ["x", "y"], "p.x": 1},
            rude=(("m.py", 4, "namedtuple"),),
        ),
    ),
    S(
        C,
        "slots_dataclass_field_added_new_instances",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass(slots=True)
            class P:
                x: int = 0
            """
        },
        "import m\np = m.P(1)",
        E(
            ("m.py", "    x: int = 0\n", "    x: int = 0\n    y: int = 0\n"),
            expect={"repr(m.P(1, 2))": "P(x=1, y=2)", "p.x": 1},
            rude=(("m.py", None, "slots"),),
        ),
        min_version=(3, 10),
    ),
    S(
        C,
        "future_import_added",
        {"m.py": "def f(x: int) -> int:\n    return x\n"},
        "import m",
        E(
            ("m.py", "def f(", "from __future__ import annotations\n\n\ndef f("),
            expect={"m.f(1)": 1, "m.f.__annotations__": {"x": "int", "return": "int"}},
            updated=("m.f",),
        ),
    ),
]


# Expected failures on the current engine (strict): scenario name -> cause.
WHY_1 = "class re-created (rude) but the statement using it (DEFAULT = B()) is not re-run"
WHY_2 = (
    "class re-created (rude) but its subclasses keep the old class as base (not rebuilt / "
    "__bases__ not reassigned)"
)
xfail(
    SCENARIOS,
    {
        "instance_of_recreated_class_rebuilt": WHY_1,
        "subclass_of_recreated_class_follows": WHY_2,
    },
)


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
