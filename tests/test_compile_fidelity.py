"""The code a patched function runs is what a fresh start compiles from the new file: the
oracle is ``compile()`` of the whole new source, compared instruction for instruction, with its
names, constants (nested code included) and flags."""

from test_patching import edit

ORACLE = '''
import dis, types

def _shape(code):
    consts = tuple(_shape(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts)
    ops = [(i.opname, i.argrepr if not isinstance(i.argval, types.CodeType) else "<code>")
           for i in dis.get_instructions(code)]
    return {"name": code.co_name, "ops": ops, "names": code.co_names, "consts": consts,
            "varnames": code.co_varnames, "freevars": code.co_freevars, "flags": code.co_flags,
            "firstlineno": code.co_firstlineno}

def _find(code, name, line):
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            if c.co_name == name and c.co_firstlineno == line:
                return c
            found = _find(c, name, line)
            if found is not None:
                return found
    return None

def differs_from_fresh(func):
    """'' when func runs what a fresh compile of its file gives, else what differs."""
    code = func.__code__
    with open(code.co_filename) as f:
        top = compile(f.read(), code.co_filename, "exec", dont_inherit=True)
    fresh = _find(top, code.co_name, code.co_firstlineno)
    if fresh is None:
        return "no such definition in a fresh compile"
    live, new = _shape(code), _shape(fresh)
    return ", ".join(f"{k}: {live[k]!r} != {new[k]!r}" for k in live if live[k] != new[k])
'''


def test_no_op_future_imports_do_not_change_the_flags_of_patched_code(project):
    project.write(
        "m.py",
        """
        from __future__ import division, unicode_literals, generator_stop

        def f(x):
            return x / 2
        """,
    )
    prog = project.start()
    prog.exec("import m")
    prog.exec(ORACLE)
    assert prog.eval("differs_from_fresh(m.f)") == ""
    edit(project, prog, "m.py", "return x / 2", "return x / 4")
    assert prog.eval("m.f(8)") == 2.0
    assert prog.eval("differs_from_fresh(m.f)") == ""


def test_annotations_future_import_still_compiles_patched_code_with_it(project):
    project.write(
        "m.py",
        """
        from __future__ import annotations

        def f(x: Undefined) -> int:
            return x
        """,
    )
    prog = project.start()
    prog.exec("import m")
    prog.exec(ORACLE)
    edit(project, prog, "m.py", "return x", "return x + 1")
    assert prog.eval("m.f(1)") == 2
    assert prog.eval("m.f.__annotations__") == {"x": "Undefined", "return": "int"}
    assert prog.eval("differs_from_fresh(m.f)") == ""


def test_attribute_calls_on_imported_names_compile_as_in_a_fresh_start(project):
    """3.11+ compiles ``os.getcwd()`` as a plain attribute load when the module imports ``os``
    (a method load otherwise): a unit compiled alone must know what the module imports."""
    project.write(
        "m.py",
        """
        import os
        import os.path as osp
        from json import dumps

        def f():
            return os.getcwd()

        class K:
            def m(self):
                return osp.join("a", "b")
        """,
    )
    prog = project.start()
    prog.exec("import m")
    prog.exec(ORACLE)
    edit(project, prog, "m.py", "return os.getcwd()", "return os.getcwd() + dumps(1)")
    edit(project, prog, "m.py", 'osp.join("a", "b")', 'osp.join("a", "c")')
    assert prog.eval("m.f().endswith('1')") is True
    assert prog.eval("m.K().m()") == "a/c"
    assert prog.eval("differs_from_fresh(m.f)") == ""
    assert prog.eval("differs_from_fresh(m.K.m)") == ""


def test_adding_a_future_import_recompiles_every_function_as_a_restart_would(project):
    project.write(
        "m.py",
        """
        import os

        def f(x: int) -> int:
            return x

        class K:
            @staticmethod
            def m(y: os.PathLike) -> str:
                return "m"
        """,
    )
    prog = project.start()
    prog.exec("import m\nf = m.f\nm_ = m.K.m")
    prog.exec(ORACLE)
    edit(project, prog, "m.py", "import os\n", "from __future__ import annotations\nimport os\n")
    assert prog.eval("f.__annotations__") == {"x": "int", "return": "int"}
    assert prog.eval("m_.__annotations__") == {"y": "os.PathLike", "return": "str"}
    assert prog.eval("(f is m.f, m_ is m.K.m)") == [True, True]
    assert prog.eval("differs_from_fresh(m.f)") == ""
    assert prog.eval("differs_from_fresh(m.K.m)") == ""


def test_a_function_using_a_name_whose_import_status_changed_compiles_as_fresh(project):
    # boltons 23 -> 24: `import pdb` left the module's main guard, so `pdb.set_trace()` in an
    # unchanged, moved function compiles as a method call in a fresh start (3.11+).
    project.write(
        "m.py",
        """
        # -*- coding: utf-8 -*-

        def f():
            import pdb
            return pdb.set_trace

        if __name__ == "__main__":
            import pdb
        """,
    )
    prog = project.start()
    prog.exec("import m")
    prog.exec(ORACLE)
    assert prog.eval("differs_from_fresh(m.f)") == ""
    text = project.path("m.py").read_text()
    new = text.replace("# -*- coding: utf-8 -*-\n\n", "").split('if __name__ == "__main__":')[0]
    project.write("m.py", new)
    report = prog.reload("m.py")
    assert not report["errors"], report
    assert prog.eval("differs_from_fresh(m.f)") == ""
    assert prog.eval("m.f() is __import__('pdb').set_trace") is True
