"""hotswap.patch: change a definition of the running program from a string; revert; commit."""

import textwrap

SOURCE = """\
# a comment that must survive   \t
import math

class Shape:
    '''A shape.'''

    def __init__(self, r):
        self.r = r

    def area(self):
        return round(math.pi * self.r ** 2, 2)   # keep this comment


def double(x):
    return x * 2      # odd spacing


def user(x):
    return double(x) + 1
"""


def start(project):
    project.write("shapes.py", SOURCE)
    prog = project.start()
    prog.exec("import hotswap, shapes; d = shapes.double; s = shapes.Shape(1)")
    return prog


def test_patch_function_keeps_identity_and_leaves_file(project):
    prog = start(project)
    prog.exec("p = hotswap.patch(shapes.double, 'def double(x):\\n    return x * 3\\n')")
    assert prog.eval("d(2)") == 6  # the reference taken before the patch runs the new code
    assert prog.eval("shapes.user(2)") == 7
    assert prog.eval("d is shapes.double") is True
    assert prog.eval("list(p.report.updated)") == ["shapes.double"]
    assert project.path("shapes.py").read_text() == SOURCE
    prog.exec("p.revert()")
    assert prog.eval("d(2)") == 4
    assert project.path("shapes.py").read_text() == SOURCE


def test_patch_method_and_revert_after_another_patch(project):
    prog = start(project)
    prog.exec(
        """
        p1 = hotswap.patch(shapes.Shape.area, '''
            def area(self):
                return self.r * 100
        ''')
        p2 = hotswap.patch(s.__init__, '''
            def __init__(self, r):
                self.r = r + 1
        ''')
        """
    )
    assert prog.eval("s.area()") == 100
    assert prog.eval("shapes.Shape(1).area()") == 200
    prog.exec("p1.revert()")  # only area goes back; __init__ stays patched
    assert prog.eval("shapes.Shape(1).area()") == 12.57
    assert prog.eval("shapes.Shape(1).r") == 2
    assert prog.eval("repr(p1)") == "<hotswap.Patch shapes.Shape.area reverted>"


def test_patch_class_adds_a_method(project):
    prog = start(project)
    prog.exec(
        """
        hotswap.patch(shapes.Shape, '''
            class Shape:
                def __init__(self, r):
                    self.r = r

                def area(self):
                    return 1

                def perimeter(self):
                    return self.r * 4
        ''')
        """
    )
    assert prog.eval("(s.area(), s.perimeter())") == [1, 4]


def test_commit_replaces_exactly_the_definition(project):
    prog = start(project)
    prog.exec(
        """
        p = hotswap.patch(shapes.Shape.area, '''
        def area(self):
            # squares now
            return self.r * self.r
        ''')
        p.commit()
        """
    )
    # The old last line's comment goes with the old code.
    expected = SOURCE.replace(
        "def area(self):\n        return round(math.pi * self.r ** 2, 2)   # keep this comment",
        "def area(self):\n        # squares now\n        return self.r * self.r",
    )
    assert project.path("shapes.py").read_text() == expected
    # The engine's record is the committed text: a later save diffs from it.
    path = project.path("shapes.py")
    path.write_text(expected.replace("return x * 2", "return x * 5"))
    report = prog.reload("shapes.py")
    assert report["updated"] == ["shapes.double"], report
    assert prog.eval("(s.area(), d(1))") == [1, 5]


def test_commit_keeps_crlf_line_endings(project):
    project.path("crlf.py").write_bytes(b"def f():\r\n    return 1\r\n\r\nX = 1\r\n")
    prog = project.start()
    prog.exec("import hotswap, crlf; hotswap.patch(crlf.f, 'def f():\\n    return 2\\n').commit()")
    assert prog.eval("crlf.f()") == 2
    assert project.path("crlf.py").read_bytes() == b"def f():\r\n    return 2\r\n\r\nX = 1\r\n"


def test_module_patch_adds_import_and_helper(project):
    prog = start(project)
    prog.exec(
        textwrap.dedent(
            """
            p = hotswap.patch(shapes, '''
                import json

                def helper(x):
                    return json.dumps({"x": x})

                def user(x):
                    return helper(x)
            ''')
            """
        )
    )
    assert prog.eval("shapes.user(3)") == '{"x": 3}'
    prog.exec("p.commit()")
    text = project.path("shapes.py").read_text()
    assert text.startswith("# a comment that must survive   \t\nimport math\nimport json\n")
    assert "def user(x):\n    return helper(x)\n" in text
    assert text.count("def user") == 1
    prog.exec("import importlib; importlib.reload(shapes)")
    assert prog.eval("shapes.user(4)") == '{"x": 4}'


def test_module_patch_revert(project):
    prog = start(project)
    prog.exec("p = hotswap.patch(shapes, 'def helper():\\n    return 9\\n')")
    assert prog.eval("shapes.helper()") == 9
    prog.exec("p.revert()")
    assert prog.eval("hasattr(shapes, 'helper')") is False


def test_patch_refuses_bad_sources(project):
    prog = start(project)
    prog.exec(
        """
        errors = []
        for source in ('def other(x):\\n    return 1\\n', 'def double(x) return 1\\n', 'x = 1\\n'):
            try:
                hotswap.patch(shapes.double, source)
            except ValueError as exc:
                errors.append(str(exc))
        """
    )
    errors = prog.eval("errors")
    assert len(errors) == 3, errors
    assert "defines 'other', not 'double'" in errors[0]
    assert errors[1].startswith("line 1:")
    assert prog.eval("d(2)") == 4


COMMENTED = """\
import functools


def helper(x):
    return x - 1  # bug: off by one


@functools.lru_cache(maxsize=None)  # cached
def cached(x):
    return x * 10  # old


class Box:
    def __init__(self, v):
        self.v = v

    def size(self):
        return self.v  # wrong


AFTER = 1  # stays
"""


def start_commented(project):
    project.write("mod.py", COMMENTED)
    prog = project.start()
    prog.exec("import hotswap, mod; b = mod.Box(3)")
    return prog


def test_commit_drops_the_old_last_lines_comment(project):
    prog = start_commented(project)
    prog.exec("hotswap.patch(mod.helper, 'def helper(x):\\n    return x\\n').commit()")
    assert prog.eval("mod.helper(5)") == 5
    expected = COMMENTED.replace("return x - 1  # bug: off by one", "return x")
    assert project.path("mod.py").read_text() == expected


def test_commit_writes_the_new_last_lines_comment(project):
    prog = start_commented(project)
    prog.exec("hotswap.patch(mod.helper, 'def helper(x):\\n    return x  # fixed\\n').commit()")
    expected = COMMENTED.replace("return x - 1  # bug: off by one", "return x  # fixed")
    assert project.path("mod.py").read_text() == expected


def test_commit_replaces_the_decorators_with_the_definition(project):
    prog = start_commented(project)
    prog.exec(
        """
        p = hotswap.patch(mod.cached, '''
            @functools.lru_cache(maxsize=4)
            def cached(x):
                return x * 100  # new
        ''')
        p.commit()
        """
    )
    assert prog.eval("mod.cached(2)") == 200
    old = "@functools.lru_cache(maxsize=None)  # cached\ndef cached(x):\n    return x * 10  # old"
    new = "@functools.lru_cache(maxsize=4)\ndef cached(x):\n    return x * 100  # new"
    assert project.path("mod.py").read_text() == COMMENTED.replace(old, new)


def test_commit_of_a_method_keeps_its_indentation(project):
    prog = start_commented(project)
    prog.exec(
        """
        hotswap.patch(mod.Box.size, '''
            def size(self):
                if self.v < 0:
                    return 0  # never negative
                return self.v * 2
        ''').commit()
        """
    )
    assert prog.eval("b.size()") == 6
    new = (
        "    def size(self):\n        if self.v < 0:\n            return 0  # never negative\n"
        "        return self.v * 2"
    )
    expected = COMMENTED.replace("    def size(self):\n        return self.v  # wrong", new)
    assert project.path("mod.py").read_text() == expected
    prog.exec("import importlib; importlib.reload(mod)")  # the written file runs as patched
    assert prog.eval("mod.Box(-1).size()") == 0


def test_revert_after_commit_restores_file_and_behaviour(project):
    prog = start_commented(project)
    prog.exec("p = hotswap.patch(mod.Box.size, 'def size(self):\\n    return -1\\n')")
    prog.exec("p.commit()")
    assert project.path("mod.py").read_text() != COMMENTED
    assert prog.eval("b.size()") == -1
    prog.exec("p.revert()")
    assert project.path("mod.py").read_text() == COMMENTED
    assert prog.eval("b.size()") == 3
    assert prog.eval("repr(p)") == "<hotswap.Patch mod.Box.size reverted>"
    # The engine and the file agree again: the next save diffs from the original text.
    project.write("mod.py", COMMENTED.replace("AFTER = 1", "AFTER = 2"))
    report = prog.reload("mod.py")
    assert report["errors"] == [], report
    assert prog.eval("(b.size(), mod.AFTER)") == [3, 2]


def test_revert_after_commit_and_a_later_edit_refuses(project):
    prog = start_commented(project)
    prog.exec("p = hotswap.patch(mod.helper, 'def helper(x):\\n    return x\\n'); p.commit()")
    edited = project.path("mod.py").read_text().replace("AFTER = 1", "AFTER = 7")
    project.write("mod.py", edited)
    prog.exec(
        """
        try:
            p.revert()
            message = None
        except RuntimeError as exc:
            message = str(exc)
        """
    )
    message = prog.eval("message")
    assert message is not None
    assert "changed since the commit" in message
    assert str(project.path("mod.py").resolve()) in message
    assert project.path("mod.py").read_text() == edited
    assert prog.eval("mod.helper(5)") == 5  # the program still runs the patch
    assert prog.eval("repr(p)") == "<hotswap.Patch mod.helper committed>"


def test_commit_and_revert_under_the_watcher_change_nothing_more(project):
    prog = start_commented(project)
    prog.watch(project.root, debounce_ms=20)
    prog.exec("p = hotswap.patch(mod.helper, 'def helper(x):\\n    return x\\n'); p.commit()")
    prog.exec("p.revert()")
    assert project.path("mod.py").read_text() == COMMENTED
    # The watcher saw both writes; each matches what the program runs, so nothing is re-applied.
    project.write("mod.py", COMMENTED.replace("AFTER = 1", "AFTER = 3"))
    prog.wait_until("mod.AFTER", 3)
    assert prog.eval("mod.helper(5)") == 4
    assert "error" not in prog.stderr.lower(), prog.stderr
