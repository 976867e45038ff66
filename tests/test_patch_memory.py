"""hotswap.patch on what has no source file: definitions made by ``python -c``, stdin, the REPL
and IPython cells are patched in memory; revert restores them; commit explains why it cannot."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

PROGRAM = '''
import json, hotswap

class Base:
    def hello(self):
        return "base"

class Shape(Base):
    SCALE = 3

    def __init__(self, r):
        self.r = r

    def area(self, k=SCALE):
        return self.r * k

    def __secret(self):
        return "secret"

def double(x):
    return x * 2

before_double, shape, seen = double, Shape(2), {}
p = hotswap.patch(double, "def double(x):\\n    return x * 3\\n")
seen["function"] = [before_double(2), double is before_double, p.report.summary()]
try:
    p.commit()
except RuntimeError as exc:
    seen["commit"] = str(exc)
seen["still applied"] = before_double(2)
p.revert()
seen["reverted"] = before_double(2)
m = hotswap.patch(Shape.area, """
    def area(self, k=SCALE * 10):
        return [self.r * k, super().hello(), self.__secret()]
""")
seen["method"] = [shape.area(), Shape(1).area()]
m.revert()
seen["method reverted"] = shape.area()
c = hotswap.patch(Shape, """
    class Shape(Base):
        def __init__(self, r):
            self.r = r + 100

        def area(self):
            return "class " + super().hello()

        def perimeter(self):
            return self.r * 4
""")
seen["class"] = [shape.area(), shape.perimeter(), Shape(1).r, shape.__class__ is Shape]
c.revert()
seen["class reverted"] = [shape.area(), hasattr(shape, "perimeter"), Shape(1).r]
print("SEEN " + json.dumps(seen))
'''


def check_program_results(out):
    line = [x for x in out.splitlines() if x.startswith("SEEN ")]
    assert line, out
    seen = json.loads(line[0][5:])
    assert seen["function"] == [6, True, "updated __main__.double"]
    assert "cannot commit the patch of __main__.double" in seen["commit"]
    assert "no source file" in seen["commit"]
    assert seen["still applied"] == 6
    assert seen["reverted"] == 4
    # The default is evaluated in the class namespace; super() and name mangling work.
    assert seen["method"] == [[60, "base", "secret"], [30, "base", "secret"]]
    assert seen["method reverted"] == 6
    assert seen["class"] == ["class base", 8, 101, True]  # the instance keeps its state
    assert seen["class reverted"] == [6, False, 1]


def run_python(args, **kwargs):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, **kwargs
    )


def test_patch_in_a_python_c_program(tmp_path):
    result = run_python(["-c", textwrap.dedent(PROGRAM)], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    check_program_results(result.stdout)


def test_patch_in_a_program_read_from_stdin(tmp_path):
    result = run_python(["-"], cwd=tmp_path, input=textwrap.dedent(PROGRAM))
    assert result.returncode == 0, result.stderr
    check_program_results(result.stdout)


def test_patch_at_the_interactive_prompt(tmp_path):
    pexpect = pytest.importorskip("pexpect", reason="pexpect needs a POSIX pty")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_HISTORY", "PYTHONSTARTUP")}
    # The basic prompt on 3.13+ too: the new one indents continuation lines by itself.
    env.update(HOME=str(tmp_path), TERM="dumb", PYTHON_BASIC_REPL="1")
    child = pexpect.spawn(
        sys.executable, ["-q", "-i"], cwd=str(tmp_path), env=env, encoding="utf-8", timeout=30
    )

    def run(line, expected=None):
        child.sendline(line)
        if expected is not None:
            child.expect(expected)
        child.expect(">>> ")

    child.expect(">>> ")
    run("import hotswap")
    run("def greet(name):\r    return 'hello ' + name\r")
    run("class Counter:\r    def step(self):\r        return 1\r")
    run("keep, counter = greet, Counter()")
    run("p = hotswap.patch(greet, 'def greet(name):\\n    return \"hi \" + name\\n')")
    run("keep('ann')", "'hi ann'")
    run("q = hotswap.patch(Counter.step, 'def step(self):\\n    return 2\\n')")
    run("counter.step()", "\r\n2\r\n")
    run("p.commit()", "RuntimeError: cannot commit the patch of __main__.greet")
    run("keep('bob')", "'hi bob'")  # the refused commit left the patch applied
    run("p.revert(); q.revert()")
    run("keep('cy'), counter.step()", r"\('hello cy', 1\)")
    child.sendeof()
    child.expect(pexpect.EOF)


IPYTHON_DRIVER = r'''
import json
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
def cell(code):
    result = ip.run_cell(code)
    if result.error_in_exec is not None or result.error_before_exec is not None:
        raise SystemExit("cell failed: " + code)
    return result.result

cell("import hotswap")
cell("""
class Greeter:
    def greet(self, name):
        return "hello " + name
""")
cell("def shout(text):\n    return text.upper()")
cell("g, before = Greeter(), shout")
cell("new = 'def greet(self, name):\\n    return \"hi \" + shout(name)'")
cell("p = hotswap.patch(Greeter.greet, new)")
seen = {"method": cell("g.greet('ann')")}
cell("q = hotswap.patch(shout, 'def shout(text):\\n    return text + \"!\"\\n')")
seen["function"] = cell("before('x'), g.greet('bo')")
cell("try:\n    p.commit()\nexcept RuntimeError as exc:\n    commit_error = str(exc)")
seen["commit"] = cell("commit_error")
cell("q.revert(); p.revert()")
seen["reverted"] = cell("g.greet('cy'), before('x')")
print("SEEN " + json.dumps(seen))
'''


def test_patch_in_ipython_cells(tmp_path):
    pytest.importorskip("IPython", reason="IPython is not installable for this Python")
    (tmp_path / "drive.py").write_text(IPYTHON_DRIVER)
    result = run_python(
        ["drive.py"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert result.returncode == 0, result.stderr + result.stdout
    line = [x for x in result.stdout.splitlines() if x.startswith("SEEN ")]
    assert line, result.stdout + result.stderr
    seen = json.loads(line[0][5:])
    assert seen["method"] == "hi ANN"
    assert seen["function"] == ["x!", "hi bo!"]
    assert "no source file" in seen["commit"]
    assert seen["reverted"] == ["hello cy", "X"]
