"""Scenarios: inheritance (subclasses see their parents' edits, overrides, MRO)."""

import pytest
from scenarios import E, S, params, run_scenario

C = "inheritance"

PC = """
class Parent:
    def f(self):
        return "p1"

class Child(Parent):
    def g(self):
        return "c1"
"""

SCENARIOS = [
    S(
        C,
        "parent_method_body",
        {"m.py": PC},
        "import m\nc = m.Child()",
        E(("m.py", '"p1"', '"p2"'), expect={"c.f()": "p2"}),
        watch=True,
    ),
    S(
        C,
        "parent_gains_method",
        {"m.py": PC},
        "import m\nc = m.Child()",
        E(
            ("m.py", 'return "p1"\n', 'return "p1"\n\n    def new(self):\n        return "n"\n'),
            expect={"c.new()": "n"},
        ),
    ),
    S(
        C,
        "override_added",
        {"m.py": PC},
        "import m\nc = m.Child()",
        E(
            (
                "m.py",
                'return "c1"\n',
                'return "c1"\n\n    def f(self):\n        return "child-f"\n',
            ),
            expect={"c.f()": "child-f", "m.Parent().f()": "p1"},
        ),
        watch=True,
    ),
    S(
        C,
        "override_removed",
        {"m.py": PC + '\n    def f(self):\n        return "child-f"\n'},
        "import m\nc = m.Child()",
        E(
            ("m.py", '\n    def f(self):\n        return "child-f"\n', ""),
            expect={"c.f()": "p1", "'f' in vars(m.Child)": False},
        ),
        before={"c.f()": "child-f"},
    ),
    S(
        C,
        "diamond_mro",
        {
            "m.py": """
            class A:
                def f(self):
                    return "A"

            class B(A):
                def f(self):
                    return "B>" + super().f()

            class C(A):
                def f(self):
                    return "C>" + super().f()

            class D(B, C):
                pass
            """
        },
        "import m\nd = m.D()",
        E(
            ("m.py", 'return "C>" + super().f()', 'return "C2>" + super().f()'),
            expect={
                "d.f()": "B>C2>A",
                "[k.__name__ for k in m.D.__mro__]": ["D", "B", "C", "A", "object"],
            },
        ),
        before={"d.f()": "B>C>A"},
        watch=True,
    ),
    S(
        C,
        "grandparent_edit_via_super_chain",
        {
            "m.py": """
            class G:
                def f(self):
                    return 1

            class P(G):
                def f(self):
                    return super().f() + 10

            class K(P):
                def f(self):
                    return super().f() + 100
            """
        },
        "import m\nk = m.K()",
        E(("m.py", "return 1\n", "return 2\n"), expect={"k.f()": 112}),
    ),
    S(
        C,
        "parent_gains_dunder",
        {"m.py": PC},
        "import m\nc = m.Child()",
        E(
            ("m.py", 'return "p1"\n', 'return "p1"\n\n    def __len__(self):\n        return 5\n'),
            expect={"len(c)": 5},
        ),
    ),
    S(
        C,
        "parent_dunder_changed",
        {
            "m.py": """
            class P:
                def __repr__(self):
                    return "r1"

            class K(P):
                pass
            """
        },
        "import m\nk = m.K()",
        E(("m.py", '"r1"', '"r2"'), expect={"repr(k)": "r2"}),
    ),
    S(
        C,
        "parent_class_attribute",
        {"m.py": "class P:\n    X = 1\n\nclass K(P):\n    pass\n"},
        "import m\nk = m.K()",
        E(("m.py", "X = 1", "X = 2"), expect={"(k.X, m.K.X)": [2, 2]}),
    ),
    S(
        C,
        "mixin_added_to_bases",
        {
            "m.py": """
            class Mixin:
                def extra(self):
                    return "mixed"

            class Base:
                def f(self):
                    return 1

            class K(Base):
                pass
            """
        },
        "import m\nk = m.K()\nK0 = m.K",
        E(
            ("m.py", "class K(Base):", "class K(Mixin, Base):"),
            expect={"k.extra()": "mixed", "k.f()": 1, "K0 is m.K": True},
        ),
    ),
    S(
        C,
        "subclass_in_other_module",
        {
            "base.py": "class Base:\n    def f(self):\n        return 'b1'\n",
            "sub.py": "from base import Base\n\nclass Sub(Base):\n    pass\n",
        },
        "import sub\ns = sub.Sub()",
        E(("base.py", "'b1'", "'b2'"), expect={"s.f()": "b2"}),
        watch=True,
    ),
    S(
        C,
        "inherited_classmethod",
        {
            "m.py": """
            class P:
                @classmethod
                def make(cls):
                    return "1:" + cls.__name__

            class K(P):
                pass
            """
        },
        "import m",
        E(("m.py", '"1:"', '"2:"'), expect={"m.K.make()": "2:K"}),
    ),
    S(
        C,
        "subclass_of_edited_subclass",
        {
            "m.py": """
            class A:
                def f(self):
                    return "a"

            class B(A):
                def f(self):
                    return "b"

            class C(B):
                pass
            """
        },
        "import m\nc = m.C()",
        E(
            ("m.py", '    def f(self):\n        return "b"\n', "    X = 1\n"),
            expect={"c.f()": "a", "c.X": 1},
        ),
    ),
    S(
        C,
        "method_moved_from_child_to_parent",
        {"m.py": PC + '\n    def f(self):\n        return "child-f"\n'},
        "import m\nc = m.Child()",
        E(
            ("m.py", '\n    def f(self):\n        return "child-f"\n', ""),
            ("m.py", 'return "p1"', 'return "moved"'),
            expect={"c.f()": "moved", "'f' in vars(m.Child)": False},
        ),
    ),
    S(
        C,
        "parent_renamed_with_child_header",
        {"m.py": PC},
        "import m\nc = m.Child()\nChild = m.Child",
        E(
            ("m.py", "class Parent:", "class Base:"),
            ("m.py", "class Child(Parent):", "class Child(Base):"),
            expect={
                "c.f()": "p1",
                "Child is m.Child": True,
                "isinstance(c, m.Base)": True,
                "hasattr(m, 'Parent')": False,
            },
        ),
    ),
    S(
        C,
        "parent_and_child_edited_together",
        {"m.py": PC},
        "import m\nc = m.Child()",
        E(
            ("m.py", 'return "p1"\n', 'return "p1"\n\n    def greet(self):\n        return "hi"\n'),
            (
                "m.py",
                'return "c1"\n',
                'return "c1"\n\n    def greet(self):\n        return super().greet() + "!"\n',
            ),
            expect={"c.greet()": "hi!"},
        ),
    ),
]


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
