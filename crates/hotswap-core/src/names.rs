//! How CPython spells a name in a class namespace.

use std::borrow::Cow;

/// The key under which a class body named `class` binds `name`, as CPython's compiler mangles
/// private names: `__helper` in `class Parser` is `_Parser__helper`. Names that do not start
/// with two underscores, dunder names (`__init__`) and dotted names stay as they are; a class
/// whose name is only underscores mangles nothing.
pub fn mangle<'a>(class: &str, name: &'a str) -> Cow<'a, str> {
    let private = name.starts_with("__") && !name.ends_with("__") && !name.contains('.');
    let class = class.trim_start_matches('_');
    if !private || class.is_empty() {
        return Cow::Borrowed(name);
    }
    Cow::Owned(format!("_{class}{name}"))
}

#[cfg(test)]
mod tests {
    use super::mangle;

    #[test]
    fn private_names_get_the_class_name() {
        assert_eq!(mangle("Parser", "__helper"), "_Parser__helper");
        assert_eq!(mangle("_Parser", "__helper"), "_Parser__helper");
        assert_eq!(mangle("__Parser", "__x_"), "_Parser__x_");
    }

    #[test]
    fn other_names_stay() {
        assert_eq!(mangle("Parser", "_helper"), "_helper");
        assert_eq!(mangle("Parser", "__init__"), "__init__");
        assert_eq!(mangle("Parser", "helper"), "helper");
        assert_eq!(mangle("Parser", "__"), "__");
        assert_eq!(mangle("Parser", "__a.b"), "__a.b");
        assert_eq!(mangle("___", "__helper"), "__helper");
    }
}
