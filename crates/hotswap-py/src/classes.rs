//! Classes updated in place: rebuilding a class whose members are generated from its body
//! (dataclasses, enums, `NamedTuple`) or whose header changed, and what runs after a class
//! changed (abstract methods, protocol members, the class's own hooks).
//!
//! A rebuild runs the new class statement in a scratch namespace, then carries the scratch
//! class's members into the live class: the live class keeps its identity (so `isinstance`,
//! pickling, registries and existing instances keep working), members bound by unchanged
//! statements keep their live values (state survives), members of changed statements and
//! generated members (`__init__`, `__repr__`, `_member_map_`, ...) are taken from the scratch
//! class, with every reference to the scratch class redirected to the live one.

use std::collections::HashSet;

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFunction, PyList, PyTuple, PyType};

use crate::pyerr::describe_exception;

/// Namespace keys that are never carried from the scratch class: they belong to the class
/// object itself or to its layout.
const NEVER_CARRIED: &[&str] = &["__dict__", "__weakref__", "__module__", "__qualname__", "_abc_impl", "__slots__"];

/// What a rebuild did.
pub enum Rebuilt<'py> {
    /// The live class now has the new members.
    InPlace { fields_changed: bool, notes: Vec<String> },
    /// The live class could not take the new definition; `replacement` must be bound instead.
    Incompatible { replacement: Bound<'py, PyAny>, reason: String },
}

/// Why `live` must be rebuilt when statements of its body change, if it must: its members
/// are generated from the body by its decorator or metaclass.
pub fn generated_kind(py: Python<'_>, live: &Bound<'_, PyType>) -> PyResult<Option<&'static str>> {
    let dict = live.getattr(intern!(live.py(), "__dict__"))?;
    let has = |key: &str| dict.contains(key).unwrap_or(false);
    if has("__dataclass_fields__") {
        return Ok(Some("dataclass"));
    }
    if live.is_instance(&py.import("enum")?.getattr("EnumMeta")?)? {
        return Ok(Some("enum"));
    }
    if has("_fields") && live.is_subclass(&py.get_type::<PyTuple>())? {
        return Ok(Some("NamedTuple"));
    }
    if has("__attrs_attrs__") {
        return Ok(Some("attrs class"));
    }
    Ok(None)
}

/// Metaclasses of the standard library whose classes are handled on their own terms (enums,
/// ABCs, typing's generics, ctypes' structures): never the reason for a rebuild.
const STANDARD_METACLASS_MODULES: &[&str] = &["abc", "_abc", "enum", "typing", "_ctypes", "ctypes", "builtins"];

/// Whether `live`'s metaclass is one of the program's own, defined in the same top-level
/// package as the class (pygments' `LexerMeta` for its lexers): such a metaclass may derive
/// members from the class body when it creates the class (`_styles` from `styles`,
/// `analyse_text` wrapped), so a fresh start's class differs from the live class with only its
/// statements re-run. A framework's metaclass applied to the program's classes (an ORM's model
/// base) is not: running it again on a scratch class would add a second model.
pub fn has_own_metaclass(py: Python<'_>, live: &Bound<'_, PyType>) -> PyResult<bool> {
    let metaclass = live.get_type();
    if metaclass.is(py.get_type::<PyType>()) {
        return Ok(false);
    }
    let package = |of: &Bound<'_, PyAny>| -> String {
        let module: String = of.getattr(intern!(py, "__module__")).and_then(|m| m.extract()).unwrap_or_default();
        module.split('.').next().unwrap_or_default().to_string()
    };
    let meta_package = package(metaclass.as_any());
    Ok(!STANDARD_METACLASS_MODULES.contains(&meta_package.as_str()) && meta_package == package(live.as_any()))
}

/// A metaclass that registers every class it makes (a plugin registry) registered the scratch
/// classes of rebuilds too: the dict and list entries holding one are pointed at its live
/// class, which the registry held before (a list already holding the live class loses the
/// entry). One look at the heap for all the `(scratch, live)` pairs of a file.
pub fn redirect_registrations<'py>(py: Python<'py>, pairs: &[(Bound<'py, PyAny>, Bound<'py, PyAny>)]) -> PyResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let live_for = |value: &Bound<'py, PyAny>| pairs.iter().find(|(scratch, _)| scratch.is(value)).map(|p| &p.1);
    let scratches = PyTuple::new(py, pairs.iter().map(|(scratch, _)| scratch))?;
    let referrers = py.import("gc")?.getattr("get_referrers")?.call1(scratches)?;
    for referrer in referrers.try_iter()? {
        let referrer = referrer?;
        if let Ok(dict) = referrer.cast::<PyDict>() {
            let entries: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> =
                dict.iter().filter_map(|(key, value)| live_for(&value).map(|live| (key, live.clone()))).collect();
            for (key, live) in entries {
                dict.set_item(key, live)?;
            }
        } else if let Ok(list) = referrer.cast::<PyList>() {
            for at in (0..list.len()).rev() {
                let Some(live) = live_for(&list.get_item(at)?).cloned() else { continue };
                // A list that holds the live class already gets no second entry.
                if list.iter().any(|item| item.is(&live)) {
                    list.del_item(at)?;
                } else {
                    list.set_item(at, live)?;
                }
            }
        }
    }
    Ok(())
}

/// Carries the class `new` (the scratch class built from the new source) into `live`.
pub fn transplant<'py>(
    py: Python<'py>,
    live: &Bound<'py, PyType>,
    new: &Bound<'py, PyAny>,
    keep: &[String],
) -> PyResult<Rebuilt<'py>> {
    let incompatible = |reason: String| Ok(Rebuilt::Incompatible { replacement: new.clone(), reason });
    let Ok(new) = new.cast::<PyType>() else {
        return incompatible("its decorators no longer return a class".into());
    };
    if new.is(live) {
        return Ok(Rebuilt::InPlace { fields_changed: false, notes: Vec::new() });
    }
    if let Some(reason) = take_layout(py, live, new)? {
        return incompatible(reason);
    }
    let mut notes = Vec::new();
    let fields_before = dataclass_fields(live)?;
    let drop_extra = has_own_metaclass(py, live)?;
    carry_members(py, live, new, keep, drop_extra, &mut notes)?;
    let fields_after = dataclass_fields(live)?;
    let added: Vec<&str> = fields_after
        .iter()
        .map(|(name, _, _)| name.as_str())
        .filter(|name| !fields_before.iter().any(|(old, _, _)| old == name))
        .collect();
    if !added.is_empty() {
        give_instances_added_fields(py, live, &added, &mut notes)?;
    }
    Ok(Rebuilt::InPlace { fields_changed: fields_before != fields_after, notes })
}

/// A dataclass gained the fields `added`: its existing instances (and its subclasses') get
/// what a fresh start would have given them, each field's `default` or a value from its
/// `default_factory` (called once per instance), set with `object.__setattr__` so frozen
/// dataclasses take it too. A field with neither is named in a note pointing at `__migrate__`.
/// A class with a `__migrate__` hook migrates its instances itself after the batch instead.
fn give_instances_added_fields<'py>(
    py: Python<'py>,
    live: &Bound<'py, PyType>,
    added: &[&str],
    notes: &mut Vec<String>,
) -> PyResult<()> {
    if live.hasattr(intern!(py, "__migrate__"))? {
        return Ok(());
    }
    let (with_value, required) = added_field_defaults(py, live, added)?;
    if with_value.is_empty() && required.is_empty() {
        return Ok(());
    }
    let instances = instances_of(py, live)?;
    if instances.is_empty() {
        return Ok(());
    }
    let qualified = format!("{}.{}", live.getattr("__module__")?, live.getattr("__qualname__")?);
    let object_setattr = py.get_type::<PyAny>().getattr("__setattr__")?;
    let mut given = 0;
    for instance in &instances {
        let Ok(own) = instance.getattr(intern!(py, "__dict__")) else { continue };
        for (name, default, factory) in &with_value {
            if own.contains(*name)? {
                continue;
            }
            let value = match factory {
                Some(factory) => match factory.call0() {
                    Ok(value) => value,
                    Err(err) => {
                        let why = describe_exception(py, &err);
                        notes.push(format!(
                            "{qualified}: the default_factory of new field `{name}` failed ({why}); \
                             the remaining existing instances were not given it"
                        ));
                        return Ok(());
                    }
                },
                None => default.clone(),
            };
            object_setattr.call1((instance, *name, value))?;
            given += 1;
        }
    }
    if given > 0 {
        let names: Vec<String> = with_value.iter().map(|(name, _, _)| format!("`{name}`")).collect();
        notes.push(format!(
            "{qualified}: existing instances got the default of new field(s) {} ({given} value(s) set)",
            names.join(", ")
        ));
    }
    for name in required {
        notes.push(format!(
            "{qualified}: new field `{name}` has no default, so the {} existing instance(s) do not have it \
             (their repr and == fail until they do); define `__migrate__(self)` on the class to set it \
             (see \"State and hooks\" in the README)",
            instances.len()
        ));
    }
    Ok(())
}

/// A field's name, its `default` and its `default_factory` (`None`: it has a default).
type FieldDefault<'a, 'py> = (&'a str, Bound<'py, PyAny>, Option<Bound<'py, PyAny>>);

/// The real fields among `added` (not `ClassVar` or `InitVar` pseudo-fields): those with a
/// default or a default factory, and the names of those with neither.
fn added_field_defaults<'a, 'py>(
    py: Python<'py>,
    live: &Bound<'py, PyType>,
    added: &[&'a str],
) -> PyResult<(Vec<FieldDefault<'a, 'py>>, Vec<&'a str>)> {
    let dataclasses = py.import("dataclasses")?;
    let missing = dataclasses.getattr("MISSING")?;
    let real_field = dataclasses.getattr("_FIELD")?;
    let fields = live.getattr(intern!(py, "__dict__"))?.get_item("__dataclass_fields__")?;
    let (mut with_value, mut required) = (Vec::new(), Vec::new());
    for &name in added {
        let field = fields.get_item(name)?;
        if !field.getattr("_field_type")?.is(&real_field) {
            continue;
        }
        let default = field.getattr("default")?;
        let factory = field.getattr("default_factory")?;
        match (default.is(&missing), factory.is(&missing)) {
            (false, _) => with_value.push((name, default, None)),
            (true, false) => with_value.push((name, default, Some(factory))),
            (true, true) => required.push(name),
        }
    }
    Ok((with_value, required))
}

/// `dict[key]` when `dict` (a class `__dict__`) has `key`.
fn dict_entry<'py>(dict: &Bound<'py, PyAny>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
    if dict.contains(key)? {
        Ok(Some(dict.get_item(key)?))
    } else {
        Ok(None)
    }
}

/// Why the instances of `live` cannot take the layout of `new`, if they cannot; new base
/// classes that keep the layout are set on `live` here.
fn take_layout<'py>(py: Python<'py>, live: &Bound<'py, PyType>, new: &Bound<'py, PyType>) -> PyResult<Option<String>> {
    if !new.get_type().is(live.get_type()) {
        return Ok(Some(format!("its metaclass changed ({} to {})", live.get_type().name()?, new.get_type().name()?)));
    }
    let live_dict = live.getattr(intern!(live.py(), "__dict__"))?;
    let new_dict = new.getattr(intern!(new.py(), "__dict__"))?;
    let same = |key: &str| -> PyResult<bool> {
        Ok(match (dict_entry(&live_dict, key)?, dict_entry(&new_dict, key)?) {
            (None, None) => true,
            (Some(a), Some(b)) => a.eq(b)?,
            _ => false,
        })
    };
    if !same("__slots__")? {
        if dict_entry(&new_dict, "__dataclass_fields__")?.is_some() {
            return Ok(Some(
                "its fields changed and it is a `slots=True` dataclass, whose instances cannot gain or lose \
                 a slot"
                    .into(),
            ));
        }
        return Ok(Some("its `__slots__` changed, which changes the layout of its instances".into()));
    }
    if !same("_fields")? {
        return Ok(Some("its NamedTuple fields changed, which changes its instances' layout".into()));
    }
    let new_bases = new.getattr(intern!(new.py(), "__bases__"))?;
    let bases_changed = live.getattr(intern!(live.py(), "__bases__"))?.ne(&new_bases)?;
    if bases_changed
        && live.getattr(intern!(live.py(), "__basicsize__"))?.ne(new.getattr(intern!(new.py(), "__basicsize__"))?)?
    {
        return Ok(Some("its base classes changed the layout of its instances".into()));
    }
    if live.getattr(intern!(live.py(), "__basicsize__"))?.ne(new.getattr(intern!(new.py(), "__basicsize__"))?)? {
        return Ok(Some("the layout of its instances changed".into()));
    }
    if bases_changed {
        if let Err(err) = live.setattr("__bases__", &new_bases) {
            let reason = describe_exception(py, &err);
            return Ok(Some(format!("its base classes changed and the live class cannot take them ({reason})")));
        }
    }
    Ok(None)
}

/// Sets the members of `new` on `live` (objects of `new` remapped to the live objects that
/// stand for them) and removes the generated members `new` no longer has; `keep` names the
/// members whose live values stay. `drop_extra` (a class of the program's own metaclass) also
/// removes the other members `new` lacks, as a fresh start lacks them: what the metaclass
/// derived and cached after creation (pygments' compiled `_tokens`), named in a note.
fn carry_members<'py>(
    py: Python<'py>,
    live: &Bound<'py, PyType>,
    new: &Bound<'py, PyType>,
    keep: &[String],
    drop_extra: bool,
    notes: &mut Vec<String>,
) -> PyResult<()> {
    let live_dict = live.getattr(intern!(live.py(), "__dict__"))?;
    let new_dict = new.getattr(intern!(new.py(), "__dict__"))?;
    // New objects → the live objects that stand for them.
    let mut same_as: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = Vec::new();
    let members = enum_members(live, new, &mut same_as, notes)?;
    for key in keep.iter().filter(|k| !members.contains(k.as_str())) {
        if let (Some(live_value), Some(new_value)) = (dict_entry(&live_dict, key)?, dict_entry(&new_dict, key)?) {
            same_as.push((new_value, live_value));
        }
    }
    let keep: HashSet<&str> = keep.iter().map(String::as_str).filter(|k| !members.contains(*k)).collect();
    let type_setattr = py.get_type::<PyType>().getattr("__setattr__")?;
    let type_delattr = py.get_type::<PyType>().getattr("__delattr__")?;
    let new_items = PyList::new(py, new_dict.call_method0("items")?.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
    for pair in new_items.iter() {
        let (key, value): (String, Bound<'py, PyAny>) = pair.extract()?;
        if NEVER_CARRIED.contains(&key.as_str()) || is_layout_descriptor(&value) {
            continue;
        }
        if keep.contains(key.as_str()) && live_dict.contains(key.as_str())? {
            continue;
        }
        let value = remap(py, &value, new, live, &same_as)?;
        redirect_cells(&value, new, live, 0)?;
        if dict_entry(&live_dict, &key)?.is_some_and(|current| current.is(&value)) {
            continue;
        }
        type_setattr.call1((live, key.as_str(), &value))?;
        if value.get_type().hasattr("__set_name__")? && !value.is_instance_of::<PyType>() {
            value.call_method1("__set_name__", (live, key.as_str()))?;
        }
    }
    let live_keys: Vec<String> = live_dict.try_iter()?.map(|k| k?.extract()).collect::<PyResult<_>>()?;
    for key in live_keys {
        if new_dict.contains(key.as_str())? || keep.contains(key.as_str()) || NEVER_CARRIED.contains(&key.as_str()) {
            continue;
        }
        let value = live_dict.get_item(key.as_str())?;
        let generated = is_special(&key) || members.contains(key.as_str());
        if (generated || drop_extra) && !is_layout_descriptor(&value) {
            type_delattr.call1((live, key.as_str()))?;
            if !generated {
                let class: String = live.getattr(intern!(py, "__qualname__"))?.extract()?;
                notes.push(format!(
                    "{class}.{key} removed: the class had it but a fresh start of the new source does not \
                     (set after the class was created, e.g. a cache its metaclass fills)"
                ));
            }
        }
    }
    Ok(())
}

/// Enum members: each member of the new class that the live class has too is matched with the
/// live member, which keeps its identity (`Color.RED is old_reference`) and takes the new
/// value; a member whose value cannot change in place (an `int` subclass member whose value
/// changed) and new members are carried over re-classed. Returns the member names.
fn enum_members<'py>(
    live: &Bound<'py, PyType>,
    new: &Bound<'py, PyType>,
    same_as: &mut Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    notes: &mut Vec<String>,
) -> PyResult<HashSet<String>> {
    let mut names = HashSet::new();
    let (Ok(live_map), Ok(new_map)) =
        (live.getattr(intern!(live.py(), "_member_map_")), new.getattr(intern!(new.py(), "_member_map_")))
    else {
        return Ok(names);
    };
    let (Ok(live_map), Ok(new_map)) = (live_map.cast_into::<PyDict>(), new_map.cast_into::<PyDict>()) else {
        return Ok(names);
    };
    for name in live_map.keys() {
        names.insert(name.extract::<String>()?);
    }
    for (name, new_member) in new_map.iter() {
        let name: String = name.extract()?;
        names.insert(name.clone());
        let Some(live_member) = live_map.get_item(&name)? else { continue };
        let live_value = live_member.getattr(intern!(live_member.py(), "_value_"))?;
        let new_value = new_member.getattr(intern!(new_member.py(), "_value_"))?;
        let plain = live_member.hasattr(intern!(live_member.py(), "__dict__"))?
            && !live_member.is_instance_of::<pyo3::types::PyInt>()
            && !live_member.is_instance_of::<pyo3::types::PyString>();
        if plain {
            let state = new_member.getattr(intern!(new_member.py(), "__dict__"))?;
            live_member.getattr(intern!(live_member.py(), "__dict__"))?.call_method1("update", (state,))?;
            same_as.push((new_member, live_member));
        } else if live_value.eq(&new_value)? {
            same_as.push((new_member, live_member));
        } else {
            notes.push(format!(
                "{}.{name}: its value changed and cannot change in place; references to the old member keep the old value",
                live.name()?
            ));
        }
    }
    Ok(names)
}

/// `value` with the scratch class's objects replaced by the live ones: matched objects by
/// identity, instances of the scratch class re-classed, and the same one level down in dicts,
/// lists and tuples (an enum's `_member_map_`, `_value2member_map_`, ...).
fn remap<'py>(
    py: Python<'py>,
    value: &Bound<'py, PyAny>,
    new: &Bound<'py, PyType>,
    live: &Bound<'py, PyType>,
    same_as: &[(Bound<'py, PyAny>, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let one = |v: Bound<'py, PyAny>| -> PyResult<Bound<'py, PyAny>> {
        if let Some((_, live_value)) = same_as.iter().find(|(n, _)| n.is(&v)) {
            return Ok(live_value.clone());
        }
        if v.get_type().is(new) {
            v.setattr("__class__", live)?;
        }
        Ok(v)
    };
    if let Ok(dict) = value.cast::<PyDict>() {
        if dict.get_type().is(py.get_type::<PyDict>()) {
            let out = PyDict::new(py);
            for (k, v) in dict.iter() {
                out.set_item(one(k)?, one(v)?)?;
            }
            return Ok(out.into_any());
        }
    }
    if let Ok(list) = value.cast::<PyList>() {
        if list.get_type().is(py.get_type::<PyList>()) {
            let items = list.iter().map(one).collect::<PyResult<Vec<_>>>()?;
            return Ok(PyList::new(py, items)?.into_any());
        }
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        if tuple.get_type().is(py.get_type::<PyTuple>()) {
            let items = tuple.iter().map(one).collect::<PyResult<Vec<_>>>()?;
            return Ok(PyTuple::new(py, items)?.into_any());
        }
    }
    one(value.clone())
}

/// Closure cells of the functions in `value` (through method wrappers, properties and
/// `functools` wrappers) that hold `from` are made to hold `to`: the `__class__` cell of
/// zero-argument `super()`, a frozen dataclass's `__setattr__`, ...
fn redirect_cells(
    value: &Bound<'_, PyAny>,
    from: &Bound<'_, PyType>,
    to: &Bound<'_, PyType>,
    depth: u32,
) -> PyResult<()> {
    if depth > 4 {
        return Ok(());
    }
    if value.is_instance_of::<PyFunction>() {
        let cells = value.getattr(intern!(value.py(), "__closure__"))?;
        if !cells.is_none() {
            for cell in cells.try_iter()? {
                let cell = cell?;
                if cell.getattr(intern!(cell.py(), "cell_contents")).is_ok_and(|c| c.is(from)) {
                    cell.setattr("cell_contents", to)?;
                }
            }
        }
    }
    for attr in ["__func__", "fget", "fset", "fdel", "__wrapped__", "func"] {
        if let Ok(inner) = value.getattr(attr) {
            if !inner.is_none() {
                redirect_cells(&inner, from, to, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// `__x__` and `_x_` names: set by the class machinery, not by the user at run time.
fn is_special(key: &str) -> bool {
    let dunder = key.len() > 4 && key.starts_with("__") && key.ends_with("__");
    let sunder = key.len() > 2 && key.starts_with('_') && key.ends_with('_') && !key[1..].starts_with('_');
    dunder || sunder
}

/// Slot and `__dict__` descriptors are tied to the class that made them.
fn is_layout_descriptor(value: &Bound<'_, PyAny>) -> bool {
    let name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    matches!(name.as_str(), "member_descriptor" | "getset_descriptor")
}

/// A dataclass's fields as `(name, repr(default), repr(default_factory))`, to tell whether
/// they changed; empty for other classes.
fn dataclass_fields(class: &Bound<'_, PyType>) -> PyResult<Vec<(String, String, String)>> {
    let dict = class.getattr(intern!(class.py(), "__dict__"))?;
    if !dict.contains("__dataclass_fields__")? {
        return Ok(Vec::new());
    }
    let fields = dict.get_item("__dataclass_fields__")?.cast_into::<PyDict>()?;
    let repr = |v: PyResult<Bound<'_, PyAny>>| v.and_then(|v| v.repr().map(|r| r.to_string())).unwrap_or_default();
    let mut out = Vec::new();
    for (name, field) in fields.iter() {
        out.push((
            name.extract()?,
            repr(field.getattr(intern!(field.py(), "default"))),
            repr(field.getattr(intern!(field.py(), "default_factory"))),
        ));
    }
    Ok(out)
}

/// After a class changed: recompute what Python derives from its members once, at class
/// creation (abstract methods, protocol members), for it and its subclasses.
pub fn refresh_derived(py: Python<'_>, class: &Bound<'_, PyType>) -> PyResult<()> {
    let mut stack = vec![class.clone()];
    let mut seen = HashSet::new();
    while let Some(c) = stack.pop() {
        if !seen.insert(c.as_ptr() as usize) {
            continue;
        }
        update_abstract_methods(&c)?;
        update_protocol_members(py, &c)?;
        for sub in subclasses(&c)? {
            stack.push(sub);
        }
    }
    Ok(())
}

/// `__abstractmethods__` as `abc` computes it, for classes that have one.
fn update_abstract_methods(class: &Bound<'_, PyType>) -> PyResult<()> {
    if !class.hasattr(intern!(class.py(), "__abstractmethods__"))? {
        return Ok(());
    }
    let is_abstract = |v: &Bound<'_, PyAny>| {
        v.getattr(intern!(v.py(), "__isabstractmethod__")).and_then(|a| a.is_truthy()).unwrap_or(false)
    };
    let mut names: Vec<String> = Vec::new();
    for pair in class.getattr(intern!(class.py(), "__dict__"))?.call_method0("items")?.try_iter()? {
        let (name, value): (String, Bound<'_, PyAny>) = pair?.extract()?;
        if is_abstract(&value) {
            names.push(name);
        }
    }
    for base in class.getattr(intern!(class.py(), "__bases__"))?.try_iter()? {
        let Ok(inherited) = base?.getattr("__abstractmethods__") else { continue };
        for name in inherited.try_iter()? {
            let name: String = name?.extract()?;
            if class.getattr(name.as_str()).is_ok_and(|v| is_abstract(&v)) && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let set = pyo3::types::PyFrozenSet::new(class.py(), &names)?;
    class.setattr("__abstractmethods__", set)
}

/// `typing.Protocol` classes (3.12+) cache their member names at creation.
fn update_protocol_members(py: Python<'_>, class: &Bound<'_, PyType>) -> PyResult<()> {
    let dict = class.getattr(intern!(class.py(), "__dict__"))?;
    if !dict.contains("__protocol_attrs__")? {
        return Ok(());
    }
    let typing = py.import("typing")?;
    let Ok(get_attrs) = typing.getattr(intern!(typing.py(), "_get_protocol_attrs")) else { return Ok(()) };
    let attrs = get_attrs.call1((class,))?;
    class.setattr("__protocol_attrs__", &attrs)?;
    if dict.contains("__non_callable_proto_members__")? {
        let builtins = py.import("builtins")?;
        let callable = builtins.getattr(intern!(builtins.py(), "callable"))?;
        let mut non_callable = Vec::new();
        for name in attrs.try_iter()? {
            let name = name?;
            let member = class.getattr(name.extract::<String>()?.as_str()).ok();
            let is_callable =
                member.map(|m| callable.call1((m,)).and_then(|r| r.is_truthy())).transpose()?.unwrap_or(false);
            if !is_callable {
                non_callable.push(name);
            }
        }
        class.setattr("__non_callable_proto_members__", pyo3::types::PyFrozenSet::new(py, &non_callable)?)?;
    }
    Ok(())
}

/// `isinstance`/`issubclass` answers cached by every ABC (protocols included) are dropped:
/// registering a class bumps `abc`'s invalidation counter.
pub fn invalidate_abc_caches(py: Python<'_>) -> PyResult<()> {
    let abc = py.import("_abc")?;
    static MARKERS: pyo3::sync::PyOnceLock<(Py<PyAny>, Py<PyAny>)> = pyo3::sync::PyOnceLock::new();
    let (base, marker) = MARKERS.get_or_try_init(py, || -> PyResult<_> {
        let abc_meta = py.import("abc")?.getattr("ABCMeta")?;
        let object = py.get_type::<pyo3::types::PyAny>();
        let base = abc_meta.call1(("_HotswapCacheReset", (object.clone(),), PyDict::new(py)))?;
        let marker = py.get_type::<PyType>().call1(("_HotswapMarker", (object,), PyDict::new(py)))?;
        Ok((base.unbind(), marker.unbind()))
    })?;
    abc.getattr(intern!(abc.py(), "_reset_registry"))?.call1((base.bind(py),))?;
    abc.getattr(intern!(abc.py(), "_reset_caches"))?.call1((base.bind(py),))?;
    base.bind(py).call_method1("register", (marker.bind(py),))?;
    Ok(())
}

/// Existing instances of `class` and of its subclasses (a heap scan: only when a class has a
/// `__migrate__` hook and its `__init__` or fields changed).
pub fn instances_of<'py>(py: Python<'py>, class: &Bound<'py, PyType>) -> PyResult<Vec<Bound<'py, PyAny>>> {
    let mut classes = vec![class.clone()];
    let mut i = 0;
    while i < classes.len() {
        for sub in subclasses(&classes[i])? {
            if !classes.iter().any(|c| c.is(&sub)) {
                classes.push(sub);
            }
        }
        i += 1;
    }
    let referrers = py.import("gc")?.getattr("get_referrers")?.call1(PyTuple::new(py, &classes)?)?;
    let mut out = Vec::new();
    for obj in referrers.try_iter()? {
        let obj = obj?;
        if classes.iter().any(|c| obj.get_type().is(c)) {
            out.push(obj);
        }
    }
    Ok(out)
}

/// `type.__subclasses__(class)`: also right for a metaclass, whose own `__subclasses__`
/// attribute is the unbound method of `type`.
pub fn subclasses<'py>(class: &Bound<'py, PyType>) -> PyResult<Vec<Bound<'py, PyType>>> {
    let py = class.py();
    let list = py.get_type::<PyType>().getattr("__subclasses__")?.call1((class,))?;
    list.try_iter()?.map(|c| Ok(c?.cast_into::<PyType>()?)).collect()
}

/// Drops the cached `isinstance`/`issubclass` answers that a class change can make wrong: those
/// of every `typing.Protocol` (structural checks depend on other classes' members) and of the
/// ABCs among the changed classes and their bases. Other ABCs' negative caches are dropped by
/// bumping `abc`'s invalidation counter ([`invalidate_abc_caches`]).
pub fn reset_abc_caches<'py>(py: Python<'py>, changed: &[Bound<'py, PyType>]) -> PyResult<()> {
    let abc_meta = py.import("abc")?.getattr("ABCMeta")?;
    let reset = py.import("_abc")?.getattr("_reset_caches")?;
    let mut stack: Vec<Bound<'py, PyType>> = Vec::new();
    if let Ok(protocol) = py.import("typing")?.getattr("Protocol") {
        if let Ok(protocol) = protocol.cast_into::<PyType>() {
            stack.push(protocol);
        }
    }
    let mut seen = HashSet::new();
    while let Some(class) = stack.pop() {
        if !seen.insert(class.as_ptr() as usize) {
            continue;
        }
        if class.is_instance(&abc_meta)? {
            reset.call1((&class,))?;
        }
        stack.extend(subclasses(&class)?);
    }
    for class in changed {
        for base in class.getattr(intern!(class.py(), "__mro__"))?.try_iter()? {
            let base = base?;
            if base.is_instance(&abc_meta)? && seen.insert(base.as_ptr() as usize) {
                reset.call1((&base,))?;
            }
        }
    }
    invalidate_abc_caches(py)
}

/// After a dataclass gained, lost or changed fields: its dataclass subclasses inherit the
/// fields, so their generated methods are regenerated too (each rebuilt on a scratch class made
/// from its own namespace, with its own decorator arguments).
pub fn regenerate_dataclass_subclasses<'py>(
    py: Python<'py>,
    class: &Bound<'py, PyType>,
    notes: &mut Vec<String>,
) -> PyResult<()> {
    let mut stack = subclasses(class)?;
    let mut seen = HashSet::new();
    while let Some(sub) = stack.pop() {
        if !seen.insert(sub.as_ptr() as usize) {
            continue;
        }
        stack.extend(subclasses(&sub)?);
        let dict = sub.getattr(intern!(sub.py(), "__dict__"))?;
        if !dict.contains("__dataclass_fields__")? || !dict.contains("__dataclass_params__")? {
            continue;
        }
        let params = dict.get_item("__dataclass_params__")?;
        let kwargs = PyDict::new(py);
        for name in
            ["init", "repr", "eq", "order", "unsafe_hash", "frozen", "match_args", "kw_only", "slots", "weakref_slot"]
        {
            if let Ok(value) = params.getattr(name) {
                kwargs.set_item(name, value)?;
            }
        }
        // The subclass's own namespace, without what the decorator generated.
        let module_file = py
            .import("sys")?
            .getattr("modules")?
            .get_item(sub.getattr(intern!(sub.py(), "__module__"))?)
            .ok()
            .and_then(|m| m.getattr(intern!(m.py(), "__file__")).ok())
            .and_then(|f| f.extract::<String>().ok())
            .unwrap_or_default();
        let ns = PyDict::new(py);
        let mut keep = Vec::new();
        for pair in dict.call_method0("items")?.try_iter()? {
            let (key, value): (String, Bound<'py, PyAny>) = pair?.extract()?;
            if NEVER_CARRIED.contains(&key.as_str()) || is_layout_descriptor(&value) {
                continue;
            }
            let generated_function = value.is_instance_of::<PyFunction>()
                && value.getattr(intern!(value.py(), "__code__"))?.getattr("co_filename")?.extract::<String>()?
                    != module_file;
            let generated = generated_function
                || matches!(
                    key.as_str(),
                    "__dataclass_fields__" | "__dataclass_params__" | "__match_args__" | "__hash__"
                )
                || (key == "__doc__" && is_generated_doc(&sub, &value));
            if !generated {
                ns.set_item(&key, &value)?;
                keep.push(key);
            }
        }
        ns.set_item("__module__", sub.getattr(intern!(sub.py(), "__module__"))?)?;
        ns.set_item("__qualname__", sub.getattr(intern!(sub.py(), "__qualname__"))?)?;
        let scratch = sub.get_type().call1((sub.name()?, sub.getattr(intern!(sub.py(), "__bases__"))?, &ns))?;
        let decorated = py.import("dataclasses")?.getattr("dataclass")?.call((&scratch,), Some(&kwargs))?;
        match transplant(py, &sub, &decorated, &keep)? {
            Rebuilt::InPlace { notes: more, .. } => notes.extend(more),
            Rebuilt::Incompatible { reason, .. } => notes.push(format!(
                "{}: inherits changed dataclass fields but could not be regenerated in place: {reason}",
                sub.getattr(intern!(sub.py(), "__qualname__"))?
            )),
        }
    }
    Ok(())
}

/// The docstring `dataclass` writes for a class without one: `Name(field: type, ...)`.
fn is_generated_doc(class: &Bound<'_, PyType>, doc: &Bound<'_, PyAny>) -> bool {
    let name = class.name().map(|n| n.to_string()).unwrap_or_default();
    doc.extract::<String>().is_ok_and(|d| d.starts_with(&format!("{name}(")))
}
