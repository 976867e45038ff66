use super::*;
use crate::diff::diff_trees;
use crate::parse::parse_definitions;

fn plan(old: &str, new: &str) -> PatchPlan {
    let old_tree = parse_definitions(old, (3, 13)).expect("old parses");
    let new_tree = parse_definitions(new, (3, 13)).expect("new parses");
    let changes = diff_trees(&old_tree, &new_tree);
    plan_patch(new, &new_tree, &old_tree.imported, &changes)
}

/// (dotted name, action summary) for each step.
fn summary(plan: &PatchPlan) -> Vec<(String, String)> {
    plan.steps
        .iter()
        .map(|s| {
            let action = match &s.action {
                StepAction::UpdateFunction { rebind: false, .. } => "update".to_string(),
                StepAction::UpdateFunction { rebind: true, .. } => "update+rebind".to_string(),
                StepAction::ShiftLines => format!("shift {}->{}", s.lines.old.unwrap_or(0), s.lines.new.unwrap_or(0)),
                StepAction::Execute { .. } => "execute".to_string(),
                StepAction::SetClassDoc { .. } => "classdoc".to_string(),
                StepAction::MoveClass => {
                    format!("moveclass {}->{}", s.lines.old.unwrap_or(0), s.lines.new.unwrap_or(0))
                }
                StepAction::Delete { names } => format!("delete {}", names.join(",")),
                StepAction::Skip => "skip".to_string(),
                StepAction::NotInPlace => "rude".to_string(),
                StepAction::ExecuteIfStale { .. } => "execute-if-stale".to_string(),
                StepAction::RefreshClass { header, keep, .. } => {
                    format!("refresh{} keep={}", if *header { "+header" } else { "" }, keep.join(","))
                }
            };
            (s.dotted_name(), action)
        })
        .collect()
}

fn s(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// (label, old source, new source, expected (dotted name, action) pairs).
type Case<'a> = (&'a str, &'a str, &'a str, &'a [(&'a str, &'a str)]);

#[test]
fn table() {
    let cases: &[Case] = &[
        ("nothing", "def f():\n    return 1\n", "def f():\n    return 1\n", &[]),
        ("body", "def f():\n    return 1\n", "def f():\n    return 2\n", &[("f", "update")]),
        ("defaults", "def f(a=1):\n    return a\n", "def f(a=2):\n    return a\n", &[("f", "update")]),
        ("decorator", "def f():\n    return 1\n", "@d\ndef f():\n    return 1\n", &[("f", "update+rebind")]),
        ("moved", "def f():\n    return 1\n", "\n\ndef f():\n    return 1\n", &[("f", "shift 1->3")]),
        ("added and deleted", "def f():\n    pass\n", "def g():\n    pass\n", &[("g", "execute"), ("f", "delete f")]),
        (
            "method",
            "class C:\n    def m(self):\n        return 1\n",
            "class C:\n    def m(self):\n        return 2\n",
            &[("C.m", "update")],
        ),
        (
            "class attribute",
            "class C:\n    x = 1\n    y = 1\n    def m(self):\n        pass\n",
            "class C:\n    x = 2\n    y = 1\n    def m(self):\n        pass\n",
            &[("C", "refresh keep=m,y"), ("C.x", "execute")],
        ),
        (
            "class bases",
            "class C:\n    x = 1\n",
            "class C(object):\n    x = 2\n",
            &[("C", "refresh+header keep="), ("C.x", "execute")],
        ),
        ("statement changed and removed", "A = 1\nB = 2\n", "A = 3\n", &[("A", "execute"), ("B", "delete B")]),
        ("removed print", "print('hi')\nA = 1\n", "A = 1\n", &[("statement at line 1", "skip")]),
        (
            "main guard",
            "if __name__ == '__main__':\n    main()\n",
            "if __name__ == '__main__':\n    main(1)\n",
            &[("if __name__ == '__main__':", "skip"), ("statement at line 1", "skip")],
        ),
        ("rebound elsewhere", "def f():\n    pass\n", "f = lambda: 1\n", &[("f", "execute"), ("f", "skip")]),
        (
            "class moved",
            "class C:\n    def m(self):\n        pass\n",
            "\nclass C:\n    def m(self):\n        pass\n",
            &[("C", "moveclass 1->2"), ("C.m", "shift 2->3")],
        ),
        ("class docstring", "class C:\n    'a'\n    x = 1\n", "class C:\n    'b'\n    x = 1\n", &[("C", "classdoc")]),
    ];
    for (label, old, new, expected) in cases {
        assert_eq!(summary(&plan(old, new)), s(expected), "case {label}");
    }
}

#[test]
fn unit_keeps_lines_and_class_scope() {
    let old =
        "import os\n\nclass Outer:\n    class Inner:\n        @staticmethod\n        def m():\n            return 1\n";
    let new =
        "import os\n\nclass Outer:\n    class Inner:\n        @staticmethod\n        def m():\n            return 2\n";
    let p = plan(old, new);
    assert_eq!(p.steps.len(), 1);
    let unit = &p.steps[0].action.unit().unwrap_or_default();
    let lines: Vec<&str> = unit.lines().collect();
    assert_eq!(lines[2], "class Outer:");
    assert_eq!(lines[3], "    class Inner:");
    assert_eq!(lines[4], "        @staticmethod");
    assert_eq!(lines[6], "            return 2");
    assert_eq!(p.steps[0].lines.old.unwrap_or(0), 5);
}

#[test]
fn class_docstring_unit_is_header_and_docstring() {
    let new = "class C(Base, metaclass=M):\n    \"\"\"New\n    doc.\"\"\"\n    x = 1\n";
    let p = plan("class C(Base, metaclass=M):\n    \"\"\"Old.\"\"\"\n    x = 1\n", new);
    assert_eq!(
        p.steps[0].action.unit().unwrap_or_default(),
        "class C(Base, metaclass=M):\n    \"\"\"New\n    doc.\"\"\"\n"
    );
}

#[test]
fn bare_unit_blanks_decorators_only() {
    let old = "@a\n@b(\n  1)\ndef f(x=1):\n    return x\n";
    let new = "@a\n@b(\n  1)\ndef f(x=2):\n    return x\n";
    let p = plan(old, new);
    assert_eq!(p.steps[0].action.unit().unwrap_or_default(), new);
    assert_eq!(p.steps[0].action.bare_unit(), Some("\n\n\ndef f(x=2):\n    return x\n"));
}

#[test]
fn class_docstring_with_non_ascii_text() {
    // The docstring's end used to be searched with `str` slicing at every byte: a multi-byte
    // character (or one after a backslash) in a class docstring made the planner panic.
    let new = "class C:\n    \"\"\"Café \\é au lait.\"\"\"\n    x = 1\n";
    let p = plan("class C:\n    \"\"\"Café.\"\"\"\n    x = 1\n", new);
    assert_eq!(summary(&p), s(&[("C", "classdoc")]));
    assert_eq!(p.steps[0].action.unit().unwrap_or_default(), "class C:\n    \"\"\"Café \\é au lait.\"\"\"\n");
}

#[test]
fn class_defined_twice_uses_the_class_of_the_change() {
    // The enclosing classes of a change used to be the first classes of those names: a method
    // of the second `X` got a unit without its `class G:` header (so its code was not found),
    // and a deletion in the second `C` was checked against the names of the first.
    let old = "class X:\n    pass\nclass X:\n    class G:\n        def f(self):\n            return 0\n";
    let new = "class X:\n    pass\nclass X:\n    class G:\n        def f(self):\n            return 1\n";
    let p = plan(old, new);
    assert_eq!(summary(&p), s(&[("X.G.f", "update")]));
    assert_eq!(
        p.steps[0].action.unit().unwrap_or_default(),
        "\n\nclass X:\n    class G:\n        def f(self):\n            return 1\n"
    );

    let old = "class C:\n    pass\nclass C:\n    a = 1\n    a = 2\n";
    let new = "class C:\n    pass\nclass C:\n    a = 1\n";
    assert_eq!(summary(&plan(old, new)), s(&[("C", "refresh keep=a"), ("C.a", "skip")]));
}

#[test]
fn class_docstring_unit_skips_comments_and_strings_in_the_header() {
    // The docstring used to be the first quote after the first `:` after the first "class":
    // a quote in a comment, or a colon or bracket in a string of the header, cut the unit short
    // (`class C:  # it'`), and it did not compile.
    let cases = [
        ("class C:  # it's C\n", "    \"\"\"Old.\"\"\"\n", "    \"\"\"New.\"\"\"\n"),
        ("class C(Base, tag=\"):'\"):\n    # a 'quoted' comment\n", "    'Old.'\n", "    r'New.'\n"),
        ("@dataclass(doc=':')  # note: it's\nclass C:\n", "    \"Old.\"\n", "    \"\"\"New\n    doc.\"\"\"\n"),
    ];
    for (header, old_doc, new_doc) in cases {
        let new = format!("{header}{new_doc}    x = 1\n");
        let p = plan(&format!("{header}{old_doc}    x = 1\n"), &new);
        assert_eq!(summary(&p), s(&[("C", "classdoc")]), "{new}");
        assert_eq!(p.steps[0].action.unit().unwrap_or_default(), format!("{header}{new_doc}"));
    }
}

#[test]
fn class_docstring_unit_holds_every_part_of_a_concatenated_docstring() {
    // The text scanner ended the docstring at its first string literal: `__doc__` became "New ".
    let new = "class C:\n    \"New \" \\\n    \"doc.\"\n    x = 1\n";
    let p = plan("class C:\n    \"Old.\"\n    x = 1\n", new);
    assert_eq!(p.steps[0].action.unit().unwrap_or_default(), "class C:\n    \"New \" \\\n    \"doc.\"\n");
}

#[test]
fn class_docstring_removed_unit_is_the_whole_class() {
    // Without a docstring the unit is the whole class (so `__doc__` comes out None); the first
    // quote of the body used to end it, mid-statement here.
    let new = "class C:\n    x = f(\"a\", 1)\n";
    let p = plan("class C:\n    \"Doc.\"\n    x = f(\"a\", 1)\n", new);
    let classdoc =
        p.steps.iter().find(|s| matches!(s.action, StepAction::SetClassDoc { .. })).expect("a classdoc step");
    assert_eq!(classdoc.action.unit().unwrap_or_default(), new);
}

#[test]
fn statements_using_changed_values_are_run_again_in_source_order() {
    let old = "LIMIT = 1\nDOUBLE = LIMIT * 2\nQUAD = DOUBLE * 2\nOTHER = 'LIMIT'\nobj.LIMIT = 3\nx = obj.LIMIT\n";
    let new = "LIMIT = 5\nDOUBLE = LIMIT * 2\nQUAD = DOUBLE * 2\nOTHER = 'LIMIT'\nobj.LIMIT = 3\nx = obj.LIMIT\n";
    let p = plan(old, new);
    assert_eq!(summary(&p), s(&[("LIMIT", "execute"), ("DOUBLE", "execute"), ("QUAD", "execute")]));
    assert_eq!(p.steps[1].action.unit().unwrap_or_default(), "\nDOUBLE = LIMIT * 2\n");
    assert_eq!(p.steps[2].reason.to_string(), "it uses DOUBLE, which changed");
}

#[test]
fn statements_calling_a_changed_factory_are_run_again_only_if_stale() {
    let old = "def make(n):\n    return lambda: n\nh = make(1)\nprint(make)\n";
    let new = "def make(n):\n    return lambda: n + 1\nh = make(1)\nprint(make)\n";
    assert_eq!(summary(&plan(old, new)), s(&[("make", "update"), ("h", "execute-if-stale")]));
}

#[test]
fn a_changed_lambda_is_a_function_for_its_dependents() {
    let old = "f = lambda x: x\nhandlers = [f]\n";
    let new = "f = lambda x: x * 2\nhandlers = [f]\n";
    assert_eq!(summary(&plan(old, new)), s(&[("f", "execute"), ("handlers", "execute-if-stale")]));
}

#[test]
fn module_docstring_change_sets_doc() {
    let old = parse_definitions("'''one'''\nx = 1\n", (3, 13)).unwrap();
    let source = "\n'''two\nlines'''\nx = 1\n";
    let new = parse_definitions(source, (3, 13)).unwrap();
    let step = module_docstring_step(source, &new, old.docstring_hash).expect("a step");
    assert_eq!(step.action.unit().unwrap_or_default(), "\n__doc__ = '''two\nlines'''\n");
    assert!(module_docstring_step(source, &new, new.docstring_hash).is_none());
    let none = parse_definitions("x = 1\n", (3, 13)).unwrap();
    assert_eq!(
        module_docstring_step("x = 1\n", &none, old.docstring_hash).unwrap().action.unit().unwrap_or_default(),
        "__doc__ = None\n"
    );
}

#[test]
fn statements_using_a_class_patched_in_place_are_not_re_run() {
    let old = "class K:\n    def f(self):\n        return 1\nDEFAULT = K()\n";
    let new = "class K:\n    def f(self):\n        return 2\nDEFAULT = K()\n";
    assert_eq!(summary(&plan(old, new)), s(&[("K.f", "update"), ("DEFAULT", "execute-if-stale")]));
}

#[test]
fn definitions_reading_a_changed_value_are_updated() {
    let old = "LIMIT = 1\n\ndef f(x=LIMIT):\n    return x\n\ndef g(x=1):\n    return LIMIT\n\nclass C:\n    SIZE = LIMIT\n    OTHER = 2\n";
    let new = "LIMIT = 5\n\ndef f(x=LIMIT):\n    return x\n\ndef g(x=1):\n    return LIMIT\n\nclass C:\n    SIZE = LIMIT\n    OTHER = 2\n";
    let p = plan(old, new);
    // g only reads LIMIT when called: nothing to do for it.
    assert_eq!(
        summary(&p),
        s(&[("LIMIT", "execute"), ("f", "update"), ("C", "refresh keep=OTHER"), ("C.SIZE", "execute")])
    );
    assert_eq!(p.steps[3].action.unit().unwrap_or_default(), "\n\n\n\n\n\n\n\nclass C:\n    SIZE = LIMIT\n");
}

#[test]
fn refresh_class_carries_its_decorators_and_a_bare_unit() {
    let old = "@register\n@dataclass(order=True,  # sorted\n           eq=True)\nclass P:\n    x: int = 1\n";
    let new = "@register\n@dataclass(order=True,  # sorted\n           eq=True)\nclass P:\n    x: int = 2\n";
    let p = plan(old, new);
    let StepAction::RefreshClass { decorators, .. } = &p.steps[0].action else { panic!("{p:?}") };
    // The expressions' source text: the applier compiles each inside parentheses, where the
    // comment and the line break are valid.
    let dataclass = "dataclass(order=True,  # sorted\n           eq=True)";
    assert_eq!(decorators, &vec!["register".to_string(), dataclass.to_string()]);
    assert_eq!(p.steps[0].action.bare_unit(), Some("\n\n\nclass P:\n    x: int = 2\n"));
}

#[test]
fn method_defaults_and_del_follow_a_changed_value() {
    let old = "LIMIT = 1\n_tmp = LIMIT\ndel _tmp\n\nclass K:\n    def f(self, x=LIMIT):\n        return x\n";
    let new = "LIMIT = 2\n_tmp = LIMIT\ndel _tmp\n\nclass K:\n    def f(self, x=LIMIT):\n        return x\n";
    assert_eq!(
        summary(&plan(old, new)),
        s(&[("LIMIT", "execute"), ("_tmp", "execute"), ("del _tmp", "execute"), ("K.f", "update")])
    );
}

#[test]
fn values_read_inside_f_strings_are_dependencies() {
    let body = "GREETING = f\"hi {NAME}\"\nPADDED = f\"{'x':>{WIDTH}}\"\n\n\
                def f(x=f\"<{NAME}>\"):\n    return x\n\n\
                @tag(f\"t-{NAME}\")\ndef g():\n    return 1\n\n\
                class K:\n    LABEL = f\"k-{NAME}\"\n\n    def m(self, y=f\"[{NAME}]\"):\n        return y\n";
    let old = format!("NAME = 'a'\nWIDTH = 3\n{body}");
    let new = format!("NAME = 'b'\nWIDTH = 5\n{body}");
    let p = plan(&old, &new);
    assert_eq!(
        summary(&p),
        s(&[
            ("NAME", "execute"),
            ("WIDTH", "execute"),
            ("GREETING", "execute"),
            ("PADDED", "execute"),
            ("f", "update"),
            ("g", "update+rebind"),
            ("K.m", "update"),
            ("K", "refresh keep=m"),
            ("K.LABEL", "execute"),
        ])
    );
    assert_eq!(p.steps[2].reason.to_string(), "it uses NAME, which changed");
    assert_eq!(p.steps[5].reason, Reason::SignatureReadsChangedValue { name: "NAME".into() });
    assert!(matches!(p.steps[5].action, StepAction::UpdateFunction { rebind: true, after_statements: true, .. }));
}

#[test]
fn keyword_argument_names_are_not_reads() {
    // The text scanner took `LIMIT=` for a read of the module's LIMIT and ran `x` again.
    let old = "LIMIT = 1\nx = dict(LIMIT=3)\ny = dict(n=LIMIT)\n";
    let new = "LIMIT = 2\nx = dict(LIMIT=3)\ny = dict(n=LIMIT)\n";
    assert_eq!(summary(&plan(old, new)), s(&[("LIMIT", "execute"), ("y", "execute")]));
}

#[test]
fn a_parenthesized_del_follows_a_changed_value() {
    let old = "_tmp = 1\nX = _tmp\ndel(_tmp)\n";
    let new = "_tmp = 2\nX = _tmp\ndel(_tmp)\n";
    assert_eq!(summary(&plan(old, new)), s(&[("_tmp", "execute"), ("X", "execute"), ("del(_tmp)", "execute")]));
}

#[test]
fn a_changed_future_import_recompiles_every_function() {
    let old = "x = 1\n\ndef f(a: int):\n    return a\n\nclass K:\n    def m(self) -> int:\n        return 1\n";
    let new = format!("from __future__ import annotations\n{old}");
    let p = plan(old, &new);
    let updated: Vec<String> = p
        .steps
        .iter()
        .filter(|s| matches!(s.action, StepAction::UpdateFunction { .. }))
        .map(PatchStep::dotted_name)
        .collect();
    assert_eq!(updated, vec!["f", "K.m"]);
    assert_eq!(p.future, vec!["annotations"]);
    assert!(p.steps.iter().all(|s| !matches!(s.action, StepAction::NotInPlace)));
}

#[test]
fn class_steps_see_only_the_class_names_bound_before_them() {
    let old = "import re\n\nclass K:\n    A = 1\n\n    def __init__(self, flags: re.RegexFlag = 0):\n        self.flags = flags\n\n    @property\n    def re(self):\n        return 1\n";
    let new = old.replace("= 0)", "= A)");
    let plan = plan(old, &new);
    let init = plan.steps.iter().find(|s| s.dotted_name() == "K.__init__").expect("a step for K.__init__");
    assert_eq!(init.visible, vec!["A".to_string()]);
    assert_eq!(init.reads, vec!["A".to_string(), "re".to_string()]);
}

#[test]
fn units_declare_the_names_the_module_imports_after_their_item() {
    let old = "import os.path\nimport json as j\nfrom a import b as c, d\ntry:\n    import e\nexcept ImportError:\n    pass\n\ndef f():\n    import local\n    return os.getcwd()\n";
    let new = old.replace("os.getcwd()", "os.getcwd() + j.dumps(1)");
    let tree = parse_definitions(&new, (3, 13)).expect("parses");
    assert_eq!(tree.imported, vec!["c", "d", "e", "j", "os"]);
    let plan = plan(old, &new);
    let unit = plan.steps[0].action.unit().expect("a unit");
    assert!(unit.ends_with("    return os.getcwd() + j.dumps(1)\nif False: import c, d, e, j, os\n"), "{unit:?}");
    assert_eq!(unit.lines().count(), 12, "no line of the item moved");
}

#[test]
fn a_changed_signature_reading_a_value_changed_in_the_same_edit_waits_for_it() {
    let plan = plan(
        "LIMIT = 1\n\ndef f(x=LIMIT):\n    return x\n\ndef g(x=1):\n    return x\n",
        "LIMIT = 5\n\ndef f(x=LIMIT + 1):\n    return x\n\ndef g(x=2):\n    return x\n",
    );
    let after = |name: &str| {
        let step = plan.steps.iter().find(|s| s.dotted_name() == name).expect("a step");
        matches!(step.action, StepAction::UpdateFunction { after_statements: true, .. })
    };
    assert!(after("f"));
    assert!(!after("g"));
}

#[test]
fn a_changed_statement_reading_a_deleted_name_runs_its_binding_again() {
    // pygments/console.py 2.17 -> 2.18: the loop changed, `x` was deleted after the first run.
    let old = "x = 30\nfor d in 'ab':\n    CODES[d] = x\n    x += 1\n\ndel d, x\n";
    let new = "x = 30\nfor dark in 'ab':\n    CODES[dark] = x\n    x += 1\n\ndel dark, x\n";
    let p = plan(old, new);
    assert_eq!(
        summary(&p),
        s(&[
            ("x", "execute"),
            ("dark, x", "execute"),
            ("del dark, x", "execute"),
            ("d, x", "delete d"),
            ("statement at line 6", "skip")
        ])
    );
    assert_eq!(p.steps[0].reason, Reason::RestoresDeletedName { name: "x".into() });
}

#[test]
fn names_restored_for_a_changed_statement_are_deleted_again() {
    // toolz/curried/operator.py 0.11 -> 0.12: imports used by a changed expression statement,
    // then deleted; an unchanged import is run again and so is its unchanged `del`.
    let old = "import operator\nfrom f import curry, other\n\nlocals().update({n: curry(v) for n, v in vars(operator).items()})\n\ndel curry\ndel other\ndel operator\n";
    let new = "import operator\nfrom f import curry\n\nlocals().update({n: v for n, v in vars(operator).items()})\n\ndel curry\ndel operator\n";
    let p = plan(old, new);
    let names: Vec<String> = summary(&p).into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"operator".to_string()), "{names:?}");
    assert!(names.contains(&"del operator".to_string()), "{names:?}");
    let position = |n: &str| names.iter().position(|x| x == n).unwrap();
    assert!(position("operator") < position("del operator"));
}

#[test]
fn a_name_deleted_before_the_changed_statement_is_not_restored() {
    let old = "x = 1\ndel x\ny = 2\n";
    let new = "x = 1\ndel x\ny = [x for _ in ()]\n";
    assert_eq!(summary(&plan(old, new)), s(&[("y", "execute")]));
}

#[test]
fn functions_using_a_name_whose_import_status_changed_are_compiled_again() {
    // boltons/debugutils.py 23 -> 24: `import pdb` left the main guard; `pdb.set_trace()` in an
    // unchanged (moved) function compiles differently on 3.11+ once `pdb` is not module-imported.
    let body = "def f():\n    import pdb\n    pdb.set_trace()\n\n\ndef g():\n    return pdbx.y\n";
    let old = format!("x = 1\n\n\n{body}\nif __name__ == '__main__':\n    import pdb\n");
    let new = body.to_string();
    let p = plan(&old, &new);
    let f = p.steps.iter().find(|s| s.dotted_name() == "f").expect("f is compiled again");
    assert!(matches!(f.action, StepAction::UpdateFunction { .. }), "{:?}", f.action);
    assert_eq!(f.reason, Reason::ImportsChanged { names: vec!["pdb".into()] });
    assert!(p.steps.iter().all(|s| s.dotted_name() != "g" || s.action.is_move()), "g does not use pdb.");
}

#[test]
fn a_def_moved_out_of_a_removed_block_adopts_the_function_it_bound() {
    let old =
        "try:\n    from x import f\nexcept ImportError:\n    def f():\n        return 1\n\ndef g():\n    return 0\n";
    let new = "def f():\n    return 2\n\ndef g():\n    return 0\n\ndef h():\n    return 3\n";
    let p = plan(old, new);
    let adopts = |name: &str| {
        p.steps
            .iter()
            .any(|s| s.dotted_name() == name && matches!(s.action, StepAction::Execute { binding: Binding::Adopt, .. }))
    };
    assert!(adopts("f"), "{:?}", summary(&p));
    assert!(!adopts("h"), "h was never bound by a removed statement");
}

#[test]
fn overload_stubs_added_in_front_leave_the_implementation_matched_with_itself() {
    // h11 0.12 -> 0.13: `@overload` stubs added before `normalize_and_validate`: the running
    // function must take the implementation's code, not a stub's.
    let old = "def f(x, flag=False):\n    return x\n";
    let new = "@overload\ndef f(x: int, flag: bool) -> int:\n    ...\n\n@overload\ndef f(x: str, flag: bool) -> str:\n    ...\n\ndef f(x, flag=False):\n    return x * 2\n";
    let p = plan(old, new);
    let update = p.steps.iter().find(|s| matches!(s.action, StepAction::UpdateFunction { .. })).expect("an update");
    assert_eq!((update.lines.old, update.lines.new), (Some(1), Some(9)), "{:?}", summary(&p));
    let stubs: Vec<Binding> = p
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            StepAction::Execute { binding, .. } if s.lines.old.is_none() => Some(*binding),
            _ => None,
        })
        .collect();
    assert_eq!(stubs, vec![Binding::Keep, Binding::Keep], "the stubs run, the name stays bound to f");
}

#[test]
fn a_module_whose_imported_names_changed_runs_the_statements_reading_them() {
    // httpx 0.26 -> 0.27: `__version__` changed in `__version__.py`; `_client.py` did not.
    let source = "from .__version__ import __version__\n\nUSER_AGENT = f\"python-httpx/{__version__}\"\nOTHER = 1\n\ndef f(agent=USER_AGENT):\n    return agent\n";
    let tree = parse_definitions(source, (3, 13)).expect("parses");
    let p = plan_dependents(source, &tree, &["__version__".to_string()]);
    assert_eq!(summary(&p), s(&[("USER_AGENT", "execute"), ("f", "update")]));
    assert!(plan_dependents(source, &tree, &["nothing_reads_this".to_string()]).steps.is_empty());
}

#[test]
fn a_call_runs_again_when_the_function_it_calls_reads_a_changed_value() {
    let old = "_codes = {1: 'a'}\n\n\ndef _entries():\n    return _codes\n\n\ndef _init():\n    \
               return _entries()\n\n\ndef _log():\n    print('x')\n\n\n_init()\n_log()\nTABLE = _init()\n";
    let new = old.replace("{1: 'a'}", "{1: 'a', 2: 'b'}");
    let p = plan(old, &new);
    let reasons: Vec<String> = p.steps.iter().map(|s| format!("{} {}", s.target.label(), s.reason)).collect();
    assert_eq!(
        reasons,
        [
            "_codes changed",
            "_init() it calls _init, which reads _codes, which changed",
            "TABLE it calls _init, which reads _codes, which changed"
        ]
    );
    assert!(p.steps[1..].iter().all(|s| matches!(s.action, StepAction::Execute { .. })));
    // An edit that changes nothing the functions read runs no call again.
    let p = plan(old, &old.replace("print('x')", "print('y')"));
    assert_eq!(p.steps.len(), 1, "{:?}", p.steps);
}

#[test]
fn a_statement_reading_a_changed_attribute_of_an_imported_module_runs_again() {
    let source = "import docutils\n\nBANNER = 'v' + docutils.__version__\nOTHER = docutils.x\n\n\n\
                  class Writer:\n    generator = 'Docutils %s' % docutils.__version__\n\n    \
                  def write(self):\n        return docutils.__version__\n";
    let tree = crate::parse::parse_definitions(source, crate::parse::PythonVersion::default()).unwrap();
    let p = plan_dependents(source, &tree, &["docutils.__version__".to_string()]);
    let steps: Vec<String> =
        p.steps.iter().map(|s| format!("{:?} {} {}", s.scope, s.target.label(), s.reason)).collect();
    assert_eq!(
        steps,
        [
            "[] BANNER it uses docutils.__version__, which changed",
            "[] Writer class body statements",
            "[\"Writer\"] generator it uses docutils.__version__, which changed",
        ]
    );
}

#[test]
fn a_changed_class_still_runs_its_unchanged_statements_that_copy_a_changed_attribute() {
    let old = "class Image:\n    spec = {'alt': 1}\n\n\nclass Figure(Image):\n    spec = Image.spec.copy()\n    \
               spec['w'] = 2\n\n    def run(self):\n        return 1\n";
    let new = old.replace("{'alt': 1}", "{'alt': 1, 'lazy': 3}").replace("return 1", "return 2");
    let p = plan(old, &new);
    let steps: Vec<String> =
        p.steps.iter().map(|s| format!("{:?} {} {}", s.scope, s.target.label(), s.reason)).collect();
    assert!(steps.contains(&"[\"Figure\"] spec it uses Image.spec, which changed".to_string()), "{steps:#?}");
    assert!(steps.contains(&"[\"Figure\"] spec['w'] = 2 it uses spec, which changed".to_string()), "{steps:#?}");
    assert!(steps.iter().any(|s| s.starts_with("[\"Figure\"] run")), "{steps:#?}");
}

#[test]
fn only_body_and_line_changes_run_nothing_when_applied() {
    let old = "import b\n\ndef f():\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n";
    let body = "import b\n\ndef f():\n    return 10\n\nclass C:\n    def m(self):\n        return 20\n";
    assert!(plan(old, body).runs_nothing(), "new bodies only");
    let shifted = format!("\n\n{body}");
    assert!(plan(old, &shifted).runs_nothing(), "bodies and moved lines");
    for runs in [
        "import b\n\ndef f(x=b.DEFAULT):\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n",
        "import b\n\n@b.register\ndef f():\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n",
        "import b\nX = b.NEW\n\ndef f():\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n",
        "from b import added\n\ndef f():\n    return 1\n\nclass C:\n    def m(self):\n        return 2\n",
        "import b\n\ndef f():\n    return 1\n\ndef g():\n    return 3\n\nclass C:\n    def m(self):\n        return 2\n",
        "import b\n\ndef f():\n    return 1\n\nclass C(b.Base):\n    def m(self):\n        return 2\n",
    ] {
        assert!(!plan(old, runs).runs_nothing(), "runs something: {runs}");
    }
}
