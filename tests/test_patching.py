"""What each kind of edit does to the running program (applied through ``reload_paths``)."""

import sys

import pytest


def edit(project, prog, name, old, new):
    """Replace ``old`` by ``new`` in file ``name`` and apply it; return the report."""
    path = project.path(name)
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new))
    return prog.reload(name)


def test_method_in_class_scope_keeps_mangling_and_super(project):
    project.write(
        "m.py",
        """
        class Base:
            def hello(self):
                return "base"

        class Child(Base):
            def __init__(self):
                self.__secret = "s1"

            def hello(self):
                return "child"

            def secret(self):
                return "old"
        """,
    )
    prog = project.start()
    prog.exec("import m; c = m.Child()")
    report = edit(
        project,
        prog,
        "m.py",
        'def hello(self):\n        return "child"',
        'def hello(self):\n        return "child+" + super().hello()',
    )
    assert report["updated"] == ["m.Child.hello"], report
    assert prog.eval("c.hello()") == "child+base"
    edit(project, prog, "m.py", 'return "old"', "return self.__secret")
    assert prog.eval("c.secret()") == "s1"


def test_super_added_to_method_that_had_no_class_cell(project):
    project.write(
        "m.py",
        """
        class Base:
            def f(self):
                return 1

        class Child(Base):
            def f(self):
                return 2
        """,
    )
    prog = project.start()
    prog.exec("import m; c = m.Child()")
    report = edit(project, prog, "m.py", "return 2", "return 10 + super().f()")
    assert prog.eval("c.f()") == 11
    assert any("free variables changed" in n for n in report["notes"]), report


def test_static_class_methods_and_properties(project):
    project.write(
        "m.py",
        """
        class K:
            factor = 2

            @staticmethod
            def s():
                return "s1"

            @classmethod
            def c(cls):
                return cls.factor

            @property
            def p(self):
                return "p1"

            @p.setter
            def p(self, value):
                self.stored = value
        """,
    )
    prog = project.start()
    prog.exec("import m; k = m.K()")
    edit(project, prog, "m.py", 'return "s1"', 'return "s2"')
    edit(project, prog, "m.py", "return cls.factor", "return cls.factor * 100")
    edit(project, prog, "m.py", 'return "p1"', 'return "p2"')
    edit(project, prog, "m.py", "self.stored = value", "self.stored = value * 2")
    prog.exec("k.p = 21")
    assert prog.eval("(m.K.s(), k.c(), k.p, k.stored)") == ["s2", 200, "p2", 42]


def test_async_function_and_generator(project):
    project.write(
        "m.py",
        """
        async def fetch():
            return "a1"

        def gen():
            yield 1
        """,
    )
    prog = project.start()
    prog.exec("import m, asyncio")
    edit(project, prog, "m.py", 'return "a1"', 'return "a2"')
    edit(project, prog, "m.py", "yield 1", "yield 1\n    yield 2")
    assert prog.eval("asyncio.run(m.fetch())") == "a2"
    assert prog.eval("list(m.gen())") == [1, 2]


def test_decorator_change_redecorates_and_rebinds(project):
    project.write(
        "m.py",
        """
        def shout(fn):
            return lambda: fn().upper()

        def f():
            return "quiet"
        """,
    )
    prog = project.start()
    prog.exec("import m; old = m.f")
    report = edit(project, prog, "m.py", "def f():", "@shout\ndef f():")
    assert report["updated"] == ["m.f"], report
    assert prog.eval("m.f()") == "QUIET"
    assert prog.eval("old()") == "quiet"


def test_class_base_change_is_made_in_place_when_the_layout_allows(project):
    project.write(
        "m.py",
        """
        class A:
            def who(self):
                return "A"

        class A2:
            def who(self):
                return "A2"

            def extra(self):
                return "extra"

        class B(A):
            count = 0

            def hello(self):
                return "hello " + self.who()
        """,
    )
    prog = project.start()
    prog.exec("import m; b = m.B(); B = m.B; m.B.count = 3")
    report = edit(project, prog, "m.py", "class B(A):", "class B(A2):")
    assert report["updated"] == ["m.B"], report
    assert report["rude"] == [] and report["recreated"] == [], report
    assert prog.eval("B is m.B and isinstance(b, m.B)") is True
    assert prog.eval("(b.hello(), b.extra(), m.B.count)") == ["hello A2", "extra", 3]


def test_class_base_change_that_cannot_be_made_in_place_recreates_and_says_so(project):
    project.write(
        "m.py",
        """
        class A:
            def who(self):
                return "A"

        class B:
            def who(self):
                return "B"
        """,
    )
    prog = project.start()
    prog.exec("import m; old = m.B")
    # An `int` base changes the layout of B's instances: no `__bases__` assignment can do that.
    report = edit(project, prog, "m.py", "class B:", "class B(int):")
    assert report["recreated"] == ["m.B"], report
    (rude,) = report["rude"]
    assert rude["line"] == 6 and "base classes changed" in rude["message"], rude
    assert prog.eval("issubclass(m.B, int) and m.B is not old") is True


def test_moved_method_lines_follow(project):
    project.write(
        "m.py",
        """
        class C:
            def f(self):
                raise ValueError
        """,
    )
    prog = project.start()
    prog.exec("import m")
    report = edit(project, prog, "m.py", "class C:", "# one\n# two\nclass C:")
    assert "m.C.f" in report["moved"], report
    assert prog.eval("m.C.f.__code__.co_firstlineno") == 5
    if sys.version_info >= (3, 13):
        assert prog.eval("m.C.__firstlineno__") == 4


def test_future_annotations_respected(project):
    project.write(
        "m.py",
        """
        from __future__ import annotations

        def f(x: Undefined) -> AlsoUndefined:
            return 1
        """,
    )
    prog = project.start()
    prog.exec("import m")
    edit(project, prog, "m.py", "return 1", "return 2")
    assert prog.eval("m.f(0)") == 2
    assert prog.eval("m.f.__annotations__['x']") == "Undefined"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="type statements are valid on 3.12+")
def test_syntax_newer_than_interpreter_is_reported(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import m")
    report = edit(project, prog, "m.py", "return 1", "return 2\n\ntype Alias = int")
    assert report["errors"] and "3.12" in report["errors"][0]["message"], report
    assert report["errors"][0]["line"] == 4
    assert prog.eval("m.f()") == 1


@pytest.mark.skipif(sys.version_info < (3, 12), reason="type statements need 3.12")
def test_new_syntax_applies_where_supported(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import m")
    report = edit(project, prog, "m.py", "return 1", "return 2\n\ntype Alias = int")
    assert not report["errors"], report
    assert prog.eval("(m.f(), m.Alias.__value__.__name__)") == [2, "int"]


def test_closure_whose_free_variables_change(project):
    project.write(
        "m.py",
        """
        def make(n):
            m = n * 2
            def get():
                return n
            return get
        """,
    )
    prog = project.start()
    prog.exec("import m; early = m.make(1)")
    report = edit(project, prog, "m.py", "return n\n", "return n + m\n")
    assert prog.eval("m.make(1)()") == 3  # new closures run the new code
    assert prog.eval("early()") == 1  # the old closure cannot: it has no cell for m
    (rude,) = report["rude"]
    assert "closure created before the edit keeps its old code" in rude["message"], report


def test_closure_with_new_free_variables_is_rebuilt_by_its_module_statement(project):
    project.write(
        "m.py",
        """
        def make(n):
            def get():
                return n
            return get

        handler = make(1)
        handlers = {"a": make(2)}
        """,
    )
    prog = project.start()
    prog.exec("import m")
    report = edit(
        project,
        prog,
        "m.py",
        "    def get():\n        return n\n",
        "    k = 10\n    def get():\n        return n * k\n",
    )
    assert prog.eval("(m.handler(), m.handlers['a']())") == [10, 20]
    assert report["rude"] == [], report
    assert any("m.handler: line 8 ran again" in n for n in report["notes"]), report


def test_statement_using_a_changed_value_is_run_again(project):
    project.write("m.py", "LIMIT = 1\nDOUBLE = LIMIT * 2\nlog = []\nlog.append(DOUBLE)\n")
    prog = project.start()
    prog.exec("import m")
    report = edit(project, prog, "m.py", "LIMIT = 1", "LIMIT = 5")
    assert report["updated"] == ["m.LIMIT", "m.DOUBLE"], report
    # `log.append(...)` binds nothing: it is not run again, so nothing is registered twice.
    assert prog.eval("(m.DOUBLE, m.log)") == [10, [2]]


def test_new_module_imported_by_edit(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import m")
    project.write("helper.py", "def h():\n    return 'helped'\n")
    report = edit(
        project,
        prog,
        "m.py",
        "def f():\n    return 1",
        "import helper\n\ndef f():\n    return helper.h()",
    )
    assert not report["errors"], report
    assert prog.eval("m.f()") == "helped"


def test_latin1_and_crlf_sources(project):
    path = project.path("m.py")
    path.write_bytes(b"# -*- coding: latin-1 -*-\r\ndef f():\r\n    return '\xe9t\xe9'\r\n")
    prog = project.start()
    prog.exec("import m")
    path.write_bytes(b"# -*- coding: latin-1 -*-\r\ndef f():\r\n    return '\xe9t\xe9!'\r\n")
    report = prog.reload("m.py")
    assert report["updated"] == ["m.f"], report
    assert prog.eval("m.f()") == "\u00e9t\u00e9!"


def test_undecodable_file_is_reported(project):
    project.write("m.py", "def f():\n    return 1\n")
    prog = project.start()
    prog.exec("import m")
    project.path("m.py").write_bytes(b"def f():\n    return '\xff'\n")
    report = prog.reload("m.py")
    assert report["errors"] and report["errors"][0]["line"] == 2, report
    assert "utf-8" in report["errors"][0]["message"]
    assert prog.eval("m.f()") == 1


def test_default_needing_a_new_global(project):
    project.write("m.py", "def f(x=1):\n    return x\n")
    prog = project.start()
    prog.exec("import m; g = m.f")
    report = edit(project, prog, "m.py", "def f(x=1):", "K = 7\n\ndef f(x=K):")
    assert not report["errors"], report
    assert prog.eval("(m.f(), g())") == [7, 7]


@pytest.mark.skipif(
    sys.version_info < (3, 12), reason="copies are found through the function-watcher index (3.12+)"
)
def test_copies_sharing_the_code_object_are_updated(project):
    project.write("m.py", "def f():\n    return 'old'\n")
    prog = project.start()
    prog.exec(
        """
        import m, types
        copy = types.FunctionType(m.f.__code__, m.__dict__, "copy")
        """
    )
    edit(project, prog, "m.py", "'old'", "'new'")
    assert prog.eval("(m.f(), copy())") == ["new", "new"]


def test_closures_made_before_and_after_install_are_found(project):
    project.write(
        "m.py",
        """
        def factory():
            def inner():
                return "old"
            return inner
        """,
    )
    prog = project.start()
    prog.exec("import m; made = [m.factory() for _ in range(3)]")
    edit(project, prog, "m.py", '"old"', '"new"')
    assert prog.eval("[f() for f in made]") == ["new", "new", "new"]


def test_module_level_lambda_keeps_its_identity(project):
    project.write("m.py", "double = lambda x: x * 2\nhandlers = [double]\n")
    prog = project.start()
    prog.exec("import m; from m import double")
    report = edit(project, prog, "m.py", "x * 2", "x * 3")
    assert report["updated"] == ["m.double"], report
    assert prog.eval("(double(2), m.handlers[0](2), double is m.double)") == [6, 6, True]


def test_class_annotation_change_keeps_the_other_annotations(project):
    project.write("m.py", "class C:\n    x: int = 1\n    y: str = 'a'\n")
    prog = project.start()
    prog.exec("import m")
    edit(project, prog, "m.py", "x: int = 1", "x: float = 2")
    assert prog.eval("{k: v.__name__ for k, v in m.C.__annotations__.items()}") == {
        "x": "float",
        "y": "str",
    }
    assert prog.eval("m.C.x") == 2
