//! Projecting a rendered resource: the `returned` characteristic and the `attributes` /
//! `excludedAttributes` parameters (RFC 7644 §3.4.2.5, §3.9).

use serde_json::{Map, Value};

use super::normalize::top_level_attribute;
use crate::scim::path::AttrPath;
use crate::scim::schema::{
    AttrDef, AttrLocation, ResourceTypeDef, Returned, SchemaDef, COMMON_ATTRIBUTES,
};

/// What an `attributes` / `excludedAttributes` entry names.
#[derive(Debug, Clone, Copy)]
enum Named {
    /// A whole extension object.
    Extension(&'static SchemaDef),
    /// A top-level attribute (in `container`: `None` = the resource, `Some(urn)` = an
    /// extension object), optionally one sub-attribute of it.
    Attr {
        container: Option<&'static str>,
        attr: &'static AttrDef,
        sub: Option<&'static AttrDef>,
    },
}

/// What each entry of an attribute list names; entries naming nothing are dropped. The
/// core schema URN alone names every core attribute (and `externalId`).
fn names(rt: &ResourceTypeDef, list: &[AttrPath]) -> Vec<Named> {
    let mut out = Vec::with_capacity(list.len());
    for path in list {
        match rt.schema_named_by(path) {
            Some(schema) if std::ptr::eq(schema, rt.schema) => {
                let core = COMMON_ATTRIBUTES.iter().chain(rt.schema.attributes.iter());
                out.extend(core.map(|attr| Named::Attr {
                    container: None,
                    attr,
                    sub: None,
                }));
            }
            _ => out.extend(name_of(rt, path)),
        }
    }
    out
}

fn name_of(rt: &ResourceTypeDef, path: &AttrPath) -> Option<Named> {
    if let Some(schema) = rt.schema_named_by(path) {
        return Some(Named::Extension(schema));
    }
    let resolved = rt.resolve(path).ok()?;
    let container = match resolved.location {
        AttrLocation::Extension(schema) => Some(schema.id),
        AttrLocation::Common | AttrLocation::Core => None,
    };
    Some(match resolved.parent {
        Some(parent) => Named::Attr {
            container,
            attr: parent,
            sub: Some(resolved.attr),
        },
        None => Named::Attr {
            container,
            attr: resolved.attr,
            sub: None,
        },
    })
}

/// Applies the `returned` characteristic and the `attributes` / `excludedAttributes`
/// parameters (RFC 7644 §3.4.2.5, §3.9; RFC 7643 §2.2, §7) to a rendered resource.
///
/// - Attributes `returned: "always"` (`id`, `schemas`) are always kept; `"never"` ones
///   (`password`) always removed; `"request"` ones only kept when asked for.
/// - `attributes` keeps only the listed attributes (and the always-returned ones); a
///   sub-attribute path (`name.givenName`, `emails.value`) keeps only that sub-attribute.
/// - `excludedAttributes` removes the listed attributes or sub-attributes, never the
///   always-returned ones.
/// - Extension attributes may be named URN-qualified or bare; the extension URN alone
///   names the whole extension object. Names that resolve to nothing are ignored.
/// - When the extension object does not survive, its URN is dropped from `schemas`.
pub fn project(
    resource: Value,
    rt: &ResourceTypeDef,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
) -> Value {
    let Value::Object(mut obj) = resource else {
        return resource;
    };
    let included = names(rt, attributes);
    let excluded = names(rt, excluded);

    // Core and common attributes.
    let keys: Vec<String> = obj.keys().cloned().collect();
    for key in keys {
        if let Some((schema, _)) = rt
            .schema_by_urn(&key)
            .filter(|(_, loc)| matches!(loc, AttrLocation::Extension(_)))
        {
            project_extension(
                &mut obj,
                &key,
                schema,
                &included,
                &excluded,
                !attributes.is_empty(),
            );
            continue;
        }
        let Some(def) = top_level_attribute(rt, &key) else {
            continue; // not ours to judge
        };
        project_attr(
            &mut obj,
            &key,
            def,
            None,
            &included,
            &excluded,
            !attributes.is_empty(),
        );
    }

    // `schemas` lists only the extensions still present.
    let present: Vec<String> = obj.keys().cloned().collect();
    if let Some(Value::Array(schemas)) = obj.get_mut("schemas") {
        schemas.retain(|s| {
            let Some(uri) = s.as_str() else { return true };
            match rt.schema_by_urn(uri) {
                Some((_, AttrLocation::Extension(_))) => {
                    present.iter().any(|k| k.eq_ignore_ascii_case(uri))
                }
                _ => true,
            }
        });
    }
    Value::Object(obj)
}

fn project_extension(
    obj: &mut Map<String, Value>,
    key: &str,
    schema: &'static SchemaDef,
    included: &[Named],
    excluded: &[Named],
    restrict: bool,
) {
    let whole = |list: &[Named]| {
        list.iter()
            .any(|n| matches!(n, Named::Extension(s) if std::ptr::eq(*s, schema)))
    };
    if whole(excluded) {
        obj.remove(key);
        return;
    }
    let keep_all = restrict && whole(included);
    let Some(Value::Object(ext)) = obj.get_mut(key) else {
        return;
    };
    let keys: Vec<String> = ext.keys().cloned().collect();
    for k in keys {
        match schema.attribute(&k) {
            Some(def) => project_attr(
                ext,
                &k,
                def,
                Some(schema.id),
                included,
                excluded,
                restrict && !keep_all,
            ),
            None => {
                ext.remove(&k);
            }
        }
    }
    if ext.is_empty() {
        obj.remove(key);
    }
}

fn same_container(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// Projects one attribute `def` stored under `key` in `obj`.
fn project_attr(
    obj: &mut Map<String, Value>,
    key: &str,
    def: &'static AttrDef,
    container: Option<&'static str>,
    included: &[Named],
    excluded: &[Named],
    restrict: bool,
) {
    match def.returned {
        Returned::Always => return,
        Returned::Never => {
            obj.remove(key);
            return;
        }
        Returned::Default | Returned::Request => {}
    }
    let mentions = |list: &[Named]| -> Vec<Option<&'static AttrDef>> {
        list.iter()
            .filter_map(|n| match n {
                Named::Attr {
                    container: c,
                    attr,
                    sub,
                } if same_container(*c, container) && std::ptr::eq(*attr, def) => Some(*sub),
                _ => None,
            })
            .collect()
    };
    let inc = mentions(included);
    let exc = mentions(excluded);
    if exc.iter().any(Option::is_none) {
        obj.remove(key);
        return;
    }
    let keep_subs: Option<Vec<&'static AttrDef>> = if restrict {
        if inc.is_empty() {
            obj.remove(key);
            return;
        }
        if inc.iter().any(Option::is_none) {
            None
        } else {
            Some(inc.iter().flatten().copied().collect())
        }
    } else {
        if def.returned == Returned::Request && inc.is_empty() {
            obj.remove(key);
            return;
        }
        None
    };
    let drop_subs: Vec<&'static AttrDef> = exc.iter().flatten().copied().collect();
    if keep_subs.is_none() && drop_subs.is_empty() && !def.is_complex() {
        return;
    }
    let Some(value) = obj.get_mut(key) else {
        return;
    };
    let filter_sub = |element: &mut Value| {
        if let Value::Object(m) = element {
            m.retain(|k, _| {
                let Some(sub) = def.sub_attribute(k) else {
                    return keep_subs.is_none();
                };
                if sub.returned == Returned::Never {
                    return false;
                }
                if drop_subs.iter().any(|d| std::ptr::eq(*d, sub)) {
                    return false;
                }
                match &keep_subs {
                    Some(keep) => keep.iter().any(|d| std::ptr::eq(*d, sub)),
                    None => true,
                }
            });
        }
    };
    match value {
        Value::Array(items) => {
            items.iter_mut().for_each(filter_sub);
            items.retain(|v| !matches!(v, Value::Object(m) if m.is_empty()));
            if items.is_empty() {
                obj.remove(key);
            }
        }
        Value::Object(_) => {
            filter_sub(value);
            if matches!(value, Value::Object(m) if m.is_empty()) {
                obj.remove(key);
            }
        }
        _ => {}
    }
}

/// Would top-level attribute `name` (e.g. `members`, `groups`) be in the response for
/// these `attributes` / `excludedAttributes`? Lets the server skip loading it.
pub fn wants(
    rt: &ResourceTypeDef,
    attributes: &[AttrPath],
    excluded: &[AttrPath],
    name: &str,
) -> bool {
    let Some(def) = top_level_attribute(rt, name) else {
        return false;
    };
    match def.returned {
        Returned::Always => return true,
        Returned::Never => return false,
        Returned::Default | Returned::Request => {}
    }
    let mentions = |list: &[Named], whole_only: bool| {
        list.iter().any(|n| match n {
            Named::Attr {
                container: None,
                attr,
                sub,
            } => std::ptr::eq(*attr, def) && (!whole_only || sub.is_none()),
            _ => false,
        })
    };
    let excluded = names(rt, excluded);
    if mentions(&excluded, true) {
        return false;
    }
    let included = names(rt, attributes);
    if !attributes.is_empty() || def.returned == Returned::Request {
        return mentions(&included, false);
    }
    true
}
