"""Scenarios: dataclasses (fields, defaults, generated methods regenerated on the same class)."""

import pytest
from scenarios import E, S, params, run_scenario, xfail

C = "dataclasses"

P = """
from dataclasses import dataclass, field

@dataclass
class P:
    x: int = 1

    def show(self):
        return "x=%s" % self.x
"""

SCENARIOS = [
    S(
        C,
        "field_added",
        {"m.py": P},
        "import m\np = m.P(1)\nP0 = m.P",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={
                "m.P(1).y": 2,
                "m.P(1, 3).y": 3,
                "repr(m.P(1))": "P(x=1, y=2)",
                "P0 is m.P": True,
                "[f.name for f in __import__('dataclasses').fields(m.P)]": ["x", "y"],
            },
        ),
        watch=True,
    ),
    S(
        C,
        "field_removed",
        {"m.py": P.replace("x: int = 1\n", "x: int = 1\n    y: int = 2\n")},
        "import m\nP0 = m.P",
        E(
            ("m.py", "    y: int = 2\n", ""),
            expect={
                "repr(m.P(4))": "P(x=4)",
                "raises(lambda: m.P(1, 2))": "TypeError",
                "P0 is m.P": True,
            },
        ),
    ),
    S(
        C,
        "default_changed",
        {"m.py": P},
        "import m\nP0 = m.P",
        E(("m.py", "x: int = 1", "x: int = 5"), expect={"m.P().x": 5, "P0().x": 5}),
        watch=True,
    ),
    S(
        C,
        "default_factory_changed",
        {
            "m.py": """
            from dataclasses import dataclass, field

            @dataclass
            class P:
                items: list = field(default_factory=list)
            """
        },
        "import m",
        E(
            ("m.py", "default_factory=list", "default_factory=lambda: [1]"),
            expect={"m.P().items": [1]},
        ),
    ),
    S(
        C,
        "frozen_method_and_default",
        {"m.py": P.replace("@dataclass", "@dataclass(frozen=True)")},
        "import m\np = m.P(3)",
        E(("m.py", '"x=%s"', '"X=%s"'), expect={"p.show()": "X=3"}),
        E(
            ("m.py", "x: int = 1", "x: int = 9"),
            expect={"m.P().x": 9, "raises(lambda: setattr(p, 'x', 1))": "FrozenInstanceError"},
        ),
        watch=True,
    ),
    S(
        C,
        "order_added_to_decorator",
        {"m.py": P},
        "import m\np = m.P(1)",
        E(
            ("m.py", "@dataclass\n", "@dataclass(order=True)\n"),
            expect={"p < m.P(2)": True, "type(p) is m.P": True},
        ),
    ),
    S(
        C,
        "order_follows_new_field",
        {"m.py": P.replace("@dataclass", "@dataclass(order=True)")},
        "import m",
        E(
            ("m.py", "    x: int = 1\n", "    w: int = 0\n    x: int = 1\n"),
            expect={"m.P(1, 0) < m.P(0, 5)": False, "m.P(0, 5) < m.P(1, 0)": True},
        ),
    ),
    S(
        C,
        "slots_dataclass_method",
        {"m.py": P.replace("@dataclass", "@dataclass(slots=True)")},
        "import m\np = m.P(2)",
        E(("m.py", '"x=%s"', '"X=%s"'), expect={"p.show()": "X=2", "m.P.__slots__": ["x"]}),
        min_version=(3, 10),
    ),
    S(
        C,
        "eq_regenerated",
        {"m.py": P},
        "import m",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 0\n"),
            expect={"m.P(1, 2) == m.P(1, 3)": False, "m.P(1, 2) == m.P(1, 2)": True},
        ),
    ),
    S(
        C,
        "existing_instance_methods",
        {"m.py": P},
        "import m\np = m.P(7)",
        E(
            ("m.py", '"x=%s"', '"value %s"'),
            expect={"p.show()": "value 7", "isinstance(p, m.P)": True, "repr(p)": "P(x=7)"},
        ),
    ),
    S(
        C,
        "existing_instance_new_field_default",
        {"m.py": P},
        "import m\np = m.P(7)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"p.y": 2, "repr(p)": "P(x=7, y=2)"},
        ),
    ),
    S(
        C,
        "post_init_changed",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass
            class P:
                x: int = 1

                def __post_init__(self):
                    self.double = self.x * 2
            """
        },
        "import m",
        E(("m.py", "self.x * 2", "self.x * 3"), expect={"m.P(2).double": 6}),
    ),
    S(
        C,
        "field_type_changed",
        {"m.py": P},
        "import m",
        E(
            ("m.py", "x: int = 1", "x: str = 'a'"),
            expect={"m.P.__dataclass_fields__['x'].type in (str, 'str')": True, "m.P().x": "a"},
        ),
    ),
    S(
        C,
        "kw_only_field",
        {"m.py": P.replace("x: int = 1\n", "x: int = 1\n    y: int = field(default=2)\n")},
        "import m",
        E(
            ("m.py", "field(default=2)", "field(default=2, kw_only=True)"),
            expect={"m.P(1, y=5).y": 5, "raises(lambda: m.P(1, 5))": "TypeError"},
        ),
        min_version=(3, 10),
    ),
    S(
        C,
        "subclass_sees_parent_field",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass
            class Base:
                a: int = 1

            @dataclass
            class Sub(Base):
                b: int = 2
            """
        },
        "import m",
        E(
            ("m.py", "a: int = 1\n", "a: int = 1\n    z: int = 9\n"),
            expect={"repr(m.Sub())": "Sub(a=1, z=9, b=2)"},
        ),
    ),
    S(
        C,
        "existing_instance_eq_after_field_added",
        {"m.py": P},
        "import m\np = m.P(7)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"p == m.P(7, 2)": True, "p == m.P(7, 3)": False},
        ),
    ),
    S(
        C,
        "frozen_hash_regenerated",
        {"m.py": P.replace("@dataclass", "@dataclass(frozen=True)")},
        "import m",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"hash(m.P(1, 5)) == hash((1, 5))": True},
        ),
    ),
    S(
        C,
        "match_args_regenerated",
        {"m.py": P},
        "import m",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"m.P.__match_args__": ["x", "y"]},
        ),
        min_version=(3, 10),
    ),
    S(
        C,
        "replace_with_new_field",
        {"m.py": P},
        "import m, dataclasses",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"dataclasses.replace(m.P(1), y=9).y": 9},
        ),
    ),
    S(
        C,
        "outer_decorator_not_rerun",
        {
            "m.py": """
            from dataclasses import dataclass

            SEEN = []

            def register(cls):
                SEEN.append(cls.__name__)
                return cls

            @register
            @dataclass
            class P:
                x: int = 1
            """
        },
        "import m",
        E(
            ("m.py", "x: int = 1", "x: int = 3"),
            expect={"m.P().x": 3, "m.SEEN": ["P"]},
        ),
    ),
    S(
        C,
        "init_false_field_added",
        {"m.py": P},
        "import m",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    tag: str = field(default='t', init=False)\n"),
            expect={"m.P(5).tag": "t", "raises(lambda: m.P(5, 't'))": "TypeError"},
        ),
    ),
    S(
        C,
        "pickle_after_field_added",
        {"m.py": P},
        "import m, pickle",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={"pickle.loads(pickle.dumps(m.P(1, 4))) == m.P(1, 4)": True},
        ),
    ),
    S(
        C,
        "user_repr_kept_when_fields_change",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass
            class P:
                x: int = 1

                def __repr__(self):
                    return "custom"
            """
        },
        "import m",
        E(
            ("m.py", "    x: int = 1\n", "    x: int = 1\n    y: int = 2\n"),
            expect={"repr(m.P())": "custom", "m.P().y": 2},
        ),
        E(("m.py", '"custom"', '"custom2"'), expect={"repr(m.P())": "custom2"}),
    ),
    S(
        C,
        "user_eq_kept_when_fields_change",
        {
            "m.py": """
            from dataclasses import dataclass

            @dataclass
            class P:
                x: int = 1

                def __eq__(self, other):
                    return True
            """
        },
        "import m",
        E(
            ("m.py", "    x: int = 1\n", "    x: int = 1\n    y: int = 2\n"),
            expect={"m.P(1, 2) == m.P(3, 4)": True},
        ),
    ),
    S(
        C,
        "field_added_shifts_method_lines",
        {"m.py": P.replace('return "x=%s" % self.x', "raise ValueError(self.x)")},
        "import m\np = m.P(1)",
        E(("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"), expect={"tb_line(p.show)": 9}),
    ),
    S(
        C,
        "initvar_added",
        {
            "m.py": """
            from dataclasses import InitVar, dataclass

            @dataclass
            class P:
                x: int = 1

                def __post_init__(self):
                    self.total = self.x
            """
        },
        "import m",
        E(
            (
                "m.py",
                "    x: int = 1\n\n    def __post_init__(self):\n        self.total = self.x\n",
                "    x: int = 1\n    bonus: InitVar[int] = 0\n\n"
                "    def __post_init__(self, bonus):\n        self.total = self.x + bonus\n",
            ),
            expect={"m.P(1, 5).total": 6, "repr(m.P(1, 5))": "P(x=1)"},
        ),
    ),
    S(
        C,
        "fields_reordered",
        {"m.py": P.replace("x: int = 1\n", "x: int = 1\n    y: int = 2\n")},
        "import m",
        E(
            ("m.py", "    x: int = 1\n    y: int = 2\n", "    y: int = 2\n    x: int = 1\n"),
            expect={"repr(m.P(5, 6))": "P(y=5, x=6)"},
        ),
    ),
    S(
        C,
        "compare_flag_changed",
        {
            "m.py": P.replace(
                "x: int = 1\n", "x: int = 1\n    note: str = field(default='', compare=False)\n"
            )
        },
        "import m",
        E(
            ("m.py", "compare=False", "compare=True"),
            expect={"m.P(1, 'a') == m.P(1, 'b')": False},
        ),
        before={"m.P(1, 'a') == m.P(1, 'b')": True},
    ),
]

# Fields added to a dataclass that has instances: each old instance must look like the object a
# fresh start would make the same way (same repr, equal, the field in its own __dict__).
ADDED = """
from dataclasses import dataclass, field

@dataclass
class P:
    x: int = 1
"""
SCENARIOS += [
    S(
        C,
        "field_added_with_default_factory",
        {"m.py": ADDED},
        "import m\np, q = m.P(1), m.P(2)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    items: list = field(default_factory=list)\n"),
            expect={
                "repr(p)": "P(x=1, items=[])",
                "repr(p) == repr(m.P(1))": True,
                "p == m.P(1)": True,
                "p.items is not q.items": True,  # the factory ran once per instance
                "vars(q) == vars(m.P(2))": True,
            },
            notes=("existing instances got the default of new field(s) `items`",),
        ),
        watch=True,
    ),
    S(
        C,
        "field_added_with_default",
        {"m.py": ADDED},
        "import m\np = m.P(1)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: str = 'why'\n"),
            expect={"repr(p)": "P(x=1, y='why')", "vars(p) == vars(m.P(1))": True},
        ),
    ),
    S(
        C,
        "frozen_field_added_with_default_factory",
        {"m.py": ADDED.replace("@dataclass", "@dataclass(frozen=True)")},
        "import m\np = m.P(1)",
        E(
            (
                "m.py",
                "x: int = 1\n",
                "x: int = 1\n    tags: tuple = field(default_factory=tuple)\n",
            ),
            expect={
                "repr(p) == repr(m.P(1))": True,
                "p == m.P(1)": True,
                "hash(p) == hash(m.P(1))": True,
                "raises(lambda: setattr(p, 'tags', ()))": "FrozenInstanceError",
            },
        ),
    ),
    S(
        C,
        "subclass_instance_gets_base_field",
        {"m.py": ADDED + "\n\n@dataclass\nclass Q(P):\n    z: int = 0\n"},
        "import m\nq = m.Q(1, 5)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    items: list = field(default_factory=list)\n"),
            expect={"repr(q)": "Q(x=1, items=[], z=5)", "repr(q) == repr(m.Q(1, [], 5))": True},
        ),
    ),
    S(
        C,
        "required_field_added_is_reported",
        {"m.py": ADDED.replace("x: int = 1", "x: int")},
        "import m\np = m.P(1)",
        E(
            ("m.py", "x: int\n", "x: int\n    y: int\n"),
            expect={"repr(m.P(1, 2))": "P(x=1, y=2)", "raises(lambda: repr(p))": "AttributeError"},
            notes=("m.P: new field `y` has no default", "define `__migrate__(self)`"),
        ),
    ),
    S(
        C,
        "migrate_runs_instead_of_defaults",
        {
            "m.py": ADDED
            + "\n    def __migrate__(self):\n"
            + "        self.items = getattr(self, 'items', ['migrated'])\n"
        },
        "import m\np = m.P(1)",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    items: list = field(default_factory=list)\n"),
            expect={"repr(p)": "P(x=1, items=['migrated'])", "repr(m.P(1))": "P(x=1, items=[])"},
            notes=("migrated 1 existing instance",),
        ),
    ),
    S(
        C,
        "slots_field_added_is_recreated",
        {"m.py": ADDED.replace("@dataclass", "@dataclass(slots=True)")},
        "import m\np = m.P(1)\nP0 = m.P",
        E(
            ("m.py", "x: int = 1\n", "x: int = 1\n    y: int = 2\n"),
            expect={
                "repr(m.P(1))": "P(x=1, y=2)",
                "repr(p)": "P(x=1)",  # the old instance keeps the old class, which still works
                "P0 is m.P": False,
            },
            recreated=("m.P",),
            rude=(("m.py", None, "slots=True"),),
        ),
        min_version=(3, 10),
    ),
]


# Expected failures on the current engine (strict): scenario name -> cause.
WHY = (
    "moving distinct fields in a class body is seen as no change (report: no changes; same-"
    "name reorders are handled): dataclass __init__ keeps the old positional order"
)
xfail(
    SCENARIOS,
    {
        "fields_reordered": WHY,
    },
)


@pytest.mark.parametrize("sc", params(SCENARIOS, "reload"))
def test_reload(project, sc):
    run_scenario(project, sc, "reload")


@pytest.mark.parametrize("sc", params(SCENARIOS, "watch"))
def test_watch(project, sc):
    run_scenario(project, sc, "watch")
