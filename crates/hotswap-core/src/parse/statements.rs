//! What kind a statement is, how reports label it, and the keys that match statements between
//! two versions of a scope.

use ruff_python_ast::{CmpOp, Expr, Stmt};

use super::FastMap;
use crate::tree::StatementKind;

pub(super) fn statement_kind(stmt: &Stmt) -> StatementKind {
    match stmt {
        Stmt::ImportFrom(i) if i.level == 0 && i.module.as_ref().is_some_and(|m| m.as_str() == "__future__") => {
            StatementKind::FutureImport
        }
        Stmt::If(i) if is_main_test(&i.test) => StatementKind::MainGuard,
        Stmt::For(_) | Stmt::While(_) | Stmt::With(_) | Stmt::Try(_) => StatementKind::Block,
        Stmt::Delete(_) => StatementKind::Delete,
        Stmt::Assign(a) if a.targets.len() == 1 && a.targets[0].is_name_expr() && a.value.is_lambda_expr() => {
            StatementKind::LambdaAssignment
        }
        _ => StatementKind::Plain,
    }
}

/// A statement's first line, trimmed, cut at 40 characters: how reports name a statement
/// that binds nothing.
pub(super) fn label(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default().trim();
    match first.char_indices().nth(40) {
        Some((cut, _)) => format!("{}…", &first[..cut]),
        None => first.to_string(),
    }
}

/// `__name__ == "__main__"` or `"__main__" == __name__`.
fn is_main_test(test: &Expr) -> bool {
    let Expr::Compare(cmp) = test else { return false };
    if cmp.ops.as_ref() != [CmpOp::Eq] || cmp.comparators.len() != 1 {
        return false;
    }
    let is_name = |e: &Expr| e.as_name_expr().is_some_and(|n| n.id.as_str() == "__name__");
    let is_main = |e: &Expr| e.as_string_literal_expr().is_some_and(|s| s.value.to_str() == "__main__");
    let (left, right) = (&*cmp.left, &cmp.comparators[0]);
    (is_name(left) && is_main(right)) || (is_main(left) && is_name(right))
}

/// Unique statement keys within one scope.
#[derive(Default)]
pub(super) struct KeyAllocator {
    /// Every key handed out, with how often it was asked for as a base key.
    keys: FastMap<String, u32>,
}

impl KeyAllocator {
    pub(super) fn allocate(&mut self, base: String) -> String {
        let count = match self.keys.get_mut(&base) {
            None => {
                self.keys.insert(base.clone(), 1);
                return base;
            }
            Some(count) => {
                *count += 1;
                *count
            }
        };
        let mut n = count.max(2);
        let mut key = format!("{base}@{n}");
        while self.keys.contains_key(&key) {
            n += 1;
            key = format!("{base}@{n}");
        }
        if let Some(c) = self.keys.get_mut(&base) {
            *c = n;
        }
        self.keys.insert(key.clone(), 0);
        key
    }
}
