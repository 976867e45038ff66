//! The typed plan: what hotswap-core hands to the applier. Every decision the applier makes is
//! read from these fields (never from a message text), and every message is made from them.

use std::fmt;

use crate::diff::DefChange;

/// What a step is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A `def` or `class` statement.
    Def { name: String },
    /// Any other statement: the names it binds at its scope (maybe none), and how reports name
    /// it (its names joined, or its first line when it binds none).
    Stmt { binds: Vec<String>, label: String },
}

impl Target {
    /// How reports name the target.
    pub fn label(&self) -> &str {
        match self {
            Target::Def { name } => name,
            Target::Stmt { label, .. } => label,
        }
    }

    /// The names the target binds: a definition's name, a statement's bound names.
    pub fn binds(&self) -> Vec<&str> {
        match self {
            Target::Def { name } => vec![name.as_str()],
            Target::Stmt { binds, .. } => binds.iter().map(String::as_str).collect(),
        }
    }

    pub fn is_statement(&self) -> bool {
        matches!(self, Target::Stmt { .. })
    }
}

/// Where the item starts (`span.start`, its first decorator's line for a decorated definition)
/// in the running version and in the new one; `None` on the side where it does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lines {
    pub old: Option<u32>,
    pub new: Option<u32>,
}

impl Lines {
    /// An item present on both sides.
    pub fn both(old: u32, new: u32) -> Lines {
        Lines { old: Some(old), new: Some(new) }
    }

    /// The line reports point at: the new one, or the old one for a deleted item.
    pub fn shown(&self) -> u32 {
        self.new.or(self.old).unwrap_or(0)
    }

    /// New minus old line, for a definition that moved.
    pub fn delta(&self) -> i64 {
        i64::from(self.new.unwrap_or(0)) - i64::from(self.old.unwrap_or(0))
    }
}

/// What the applier does for one step. A compile unit is the new text of just that item, placed
/// at its real line numbers inside `class X:` headers for its enclosing classes, so compiling
/// it gives the code object the whole file would.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepAction {
    /// Compile `unit` and put the new code into every live function running the old version
    /// (found by the old line), with new defaults, annotations and docstring. `bare_unit` is
    /// the unit with the decorator lines blanked, so running it evaluates defaults and
    /// annotations without running the decorators. `rebind`: the decorators changed, so the
    /// decorated result is bound to the name again. `after_statements`: the signature reads a
    /// value this edit changes, so it is evaluated once the statements before it ran.
    UpdateFunction { unit: String, bare_unit: Option<String>, rebind: bool, after_statements: bool },
    /// The definition only moved: shift the line numbers of its live code by [`Lines::delta`].
    ShiftLines,
    /// Run `unit` in its scope (module namespace, or the class namespace copied into the class):
    /// added definitions, changed or added statements. `block`: a `for`/`while`/`with`/`try`
    /// statement, which is not run again while the module's own top-level code still runs it.
    /// `binding`: what the name of an added definition is bound to once it ran.
    Execute { unit: String, block: bool, binding: Binding },
    /// Set the class docstring from `unit` (a class header followed by the docstring).
    SetClassDoc { unit: String },
    /// Record the class's new first line (`__firstlineno__`, read by `inspect` on 3.13+).
    MoveClass,
    /// The class's header or decorators changed, or statements in its body did. `unit` is the
    /// whole class statement, `bare_unit` the same without its decorators. The applier rebuilds
    /// the class from it in a scratch namespace when the live class needs that (header changed;
    /// dataclass, enum, `NamedTuple`: classes whose members are generated from the body) and
    /// carries the result into the live class, which keeps its identity; the statement steps of
    /// its body are then covered by the rebuild. `keep` are the names bound by its unchanged
    /// statements and by its definitions (updated in place by their own steps): their live
    /// values stay (as class-namespace keys: private names mangled). `decorators` are the decorator expressions, outermost first, so a rebuild
    /// for changed body statements re-applies only those that generate members.
    RefreshClass { unit: String, bare_unit: Option<String>, header: bool, keep: Vec<String>, decorators: Vec<String> },
    /// Remove these names from the scope.
    Delete { names: Vec<String> },
    /// Deliberately not applied; the step's reason says why.
    Skip,
    /// Cannot be applied to the running program (a rude edit): reported with the step's reason,
    /// and `--on-rude restart` restarts the program.
    NotInPlace,
    /// An unchanged module-level statement that uses a changed function (a factory, as in
    /// `handler = make_handler(3)`): `unit` is run again only if a name it binds holds a closure
    /// of that function which could not take the new code (its free variables changed).
    ExecuteIfStale { unit: String },
}

/// What an added definition's name is bound to once its unit ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binding {
    /// What the unit made.
    New,
    /// A statement this edit removed bound the name (a function moved out of `try:` or `if`
    /// compatibility code): the live function it bound takes the new code and stays bound, so
    /// references held to it run the new body.
    Adopt,
    /// An `@overload` stub added in front of a definition that stays: it runs (typing records
    /// the overload) and the name is bound again to what it was, as the later definition
    /// rebinds it in a fresh start.
    Keep,
}

impl StepAction {
    /// The compile unit, for actions that run or compile one.
    pub fn unit(&self) -> Option<&str> {
        match self {
            StepAction::UpdateFunction { unit, .. }
            | StepAction::Execute { unit, .. }
            | StepAction::SetClassDoc { unit }
            | StepAction::RefreshClass { unit, .. }
            | StepAction::ExecuteIfStale { unit } => Some(unit),
            _ => None,
        }
    }

    /// The unit without decorators, for actions that have one.
    pub fn bare_unit(&self) -> Option<&str> {
        match self {
            StepAction::UpdateFunction { bare_unit, .. } | StepAction::RefreshClass { bare_unit, .. } => {
                bare_unit.as_deref()
            }
            _ => None,
        }
    }

    /// Only line numbers change (nothing of the program's behaviour).
    pub fn is_move(&self) -> bool {
        matches!(self, StepAction::ShiftLines | StepAction::MoveClass)
    }
}

/// Why a step exists. It formats itself for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// A definition present in both versions changed in these ways.
    Changed(DefChange),
    Added,
    /// A statement that binds the same names got a new text.
    StatementChanged,
    Deleted,
    /// The module docstring changed.
    ModuleDocstring,
    /// Statements in the class body changed.
    ClassBodyStatements,
    /// An unchanged statement reads `name`, a value the edit changed.
    ReadsChangedValue {
        name: String,
    },
    /// An unchanged statement calls `name`, a function the edit changed.
    BuiltByChangedFunction {
        name: String,
    },
    /// An unchanged statement calls `function`, a module-level function whose body reads
    /// `name`, a value the edit changed (directly or through other functions it calls).
    CallsFunctionReading {
        function: String,
        name: String,
    },
    /// An unchanged definition's signature or decorators read `name`, a value the edit changed.
    SignatureReadsChangedValue {
        name: String,
    },
    /// An unchanged statement binds `name`, which a later `del` removed from the live module
    /// and a changed statement between them reads.
    RestoresDeletedName {
        name: String,
    },
    /// `if __name__ == "__main__":` runs the program; a reload does not run it again.
    MainGuard,
    /// A changed `from __future__` import, or a function compiled again under it.
    FutureImport,
    /// A deleted statement bound no name that the new version lacks.
    NothingToUndo,
    /// The function uses `name.attr` for one of these names, which the module now imports or
    /// no longer imports (CPython compiles such calls differently).
    ImportsChanged {
        names: Vec<String>,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Changed(change) => f.write_str(&describe(*change)),
            Reason::Added => f.write_str("added"),
            Reason::StatementChanged => f.write_str("changed"),
            Reason::Deleted => f.write_str("deleted"),
            Reason::ModuleDocstring => f.write_str("module docstring"),
            Reason::ClassBodyStatements => f.write_str("class body statements"),
            Reason::ReadsChangedValue { name } => write!(f, "it uses {name}, which changed"),
            Reason::BuiltByChangedFunction { name } => write!(f, "it was built by {name}, which changed"),
            Reason::CallsFunctionReading { function, name } => {
                write!(f, "it calls {function}, which reads {name}, which changed")
            }
            Reason::SignatureReadsChangedValue { name } => {
                write!(f, "its signature or decorators use {name}, which changed")
            }
            Reason::RestoresDeletedName { name } => {
                write!(f, "it binds {name}, which a changed statement below uses before a `del` removes it again")
            }
            Reason::MainGuard => f.write_str(
                "the `if __name__ == \"__main__\":` block starts the program; it is not run again on a reload",
            ),
            Reason::FutureImport => f.write_str(
                "a changed `from __future__` import changes how the whole module compiles: \
                 every function of it is compiled again under it",
            ),
            Reason::ImportsChanged { names } => write!(
                f,
                "compiled again: {} is now imported differently by the module, which changes how its calls compile",
                names.join(", ")
            ),
            Reason::NothingToUndo => f.write_str(
                "the removed statement defined no name the new version lacks, so there is nothing to remove",
            ),
        }
    }
}

/// "body, signature, decorators, docstring" (the flags that are set), or "moved".
fn describe(change: DefChange) -> String {
    let parts: Vec<&str> = [
        (change.body, "body"),
        (change.header, "signature"),
        (change.decorators, "decorators"),
        (change.docstring, "docstring"),
    ]
    .iter()
    .filter(|(set, _)| *set)
    .map(|(_, name)| *name)
    .collect();
    if parts.is_empty() && change.moved {
        return "moved".into();
    }
    parts.join(", ")
}

/// One step of a [`PatchPlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchStep {
    /// Enclosing class names, outermost first; empty at module level.
    pub scope: Vec<String>,
    pub target: Target,
    pub lines: Lines,
    /// 1-based column (in characters) where the item starts on the line reports point at
    /// ([`Lines::shown`]): after its indentation.
    pub column: u32,
    pub action: StepAction,
    pub reason: Reason,
    /// Names the item reads when the step runs or evaluates it (a statement's reads, a
    /// definition's signature and decorator reads, a class's body statements' reads): what a
    /// step depends on, so a failed step holds back only the steps that use what it binds.
    pub reads: Vec<String>,
    /// Inside a class: the names its body binds before this item. The class body evaluated the
    /// item seeing only those (then the module's globals), so its defaults and annotations are
    /// evaluated seeing only those again. Empty at module level.
    pub visible: Vec<String>,
}

impl PatchStep {
    /// `Scope.label` as a user reads it.
    pub fn dotted_name(&self) -> String {
        let mut parts = self.scope.clone();
        parts.push(self.target.label().to_string());
        parts.join(".")
    }

    /// The scope path of the class this step's definition is, when it is one (`scope` + name).
    pub fn path(&self) -> Vec<String> {
        let mut path = self.scope.clone();
        path.push(self.target.label().to_string());
        path
    }
}

/// Everything needed to bring one file's live module from the old tree to the new one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatchPlan {
    pub steps: Vec<PatchStep>,
    /// The `from __future__` features the new source imports: units compile under them, so a
    /// save that adds one (`annotations`) recompiles the module's functions as a restart would.
    pub future: Vec<String>,
}

impl PatchPlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The plan only gives existing functions new bodies (or docstrings) and moves line
    /// numbers: nothing of it runs when applied (no statement, default, annotation or
    /// decorator is evaluated), so it cannot fail on a name that another file of the same
    /// save brings, and may be applied before the rest of a multi-file save arrives.
    pub fn runs_nothing(&self) -> bool {
        self.steps.iter().all(|step| match (&step.action, &step.reason) {
            (StepAction::UpdateFunction { rebind: false, after_statements: false, .. }, Reason::Changed(change)) => {
                !change.header && !change.decorators
            }
            (action, _) => action.is_move() || matches!(action, StepAction::SetClassDoc { .. }),
        })
    }
}
