//! Normalising User and Group POST/PUT bodies into the canonical stored form (see the
//! parent module).
//!
//! # Input leniency (each rule has a test in `resource/tests.rs`)
//!
//! - Attribute and sub-attribute names match case-insensitively; output uses the schema's
//!   spelling.
//! - `id`, `meta`, `schemas`, `groups` (User), readOnly attributes, unknown attributes,
//!   unknown sub-attributes, unknown URN-keyed objects, nulls and empty values are ignored.
//! - Booleans also accept the strings `"true"` / `"false"` in any case (Entra ID).
//! - A multi-valued attribute given as one value is wrapped in an array; a single-valued
//!   one given as a one-element array is unwrapped (Entra ID sends `manager` that way).
//! - `manager` may be a bare string (its `value`); `""` or `null` clears it.
//! - Strings are not format-checked; values are kept exactly as sent.

use chrono::DateTime;
use serde_json::{Map, Value};

use super::ResourceError;
use crate::scim::schema::{
    AttrDef, AttrLocation, AttrType, Mutability, ResourceTypeDef, SchemaDef, COMMON_ATTRIBUTES,
    GROUP_RESOURCE, USER_RESOURCE,
};

/// A group member as the client named it; the server resolves `value` to a User or Group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MemberRef {
    pub value: String,
    /// The `display` the client sent, kept as sent (scim2-tester reads it back).
    pub display: Option<String>,
}

/// A normalised User body: the canonical stored form and the password, if one was sent.
#[derive(Debug, Clone, PartialEq)]
pub struct UserInput {
    pub resource: Value,
    pub password: Option<String>,
}

/// A normalised Group body. `members` is `None` when the body has no `members` key, and
/// `Some(vec![])` for `"members": []` or `"members": null` (RFC 7644 §3.5.1: on PUT, null
/// and `[]` both clear).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupInput {
    pub resource: Value,
    pub members: Option<Vec<MemberRef>>,
}

/// Normalises a User POST/PUT body (see the module documentation for the rules).
pub fn normalize_user(body: &Value) -> Result<UserInput, ResourceError> {
    let n = normalize_resource(body, &USER_RESOURCE)?;
    Ok(UserInput {
        resource: Value::Object(n.resource),
        password: n.password,
    })
}

/// Normalises a Group POST/PUT body (see the module documentation for the rules).
pub fn normalize_group(body: &Value) -> Result<GroupInput, ResourceError> {
    let n = normalize_resource(body, &GROUP_RESOURCE)?;
    Ok(GroupInput {
        resource: Value::Object(n.resource),
        members: n.members,
    })
}

/// The result of [`normalize_resource`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Normalized {
    pub resource: Map<String, Value>,
    pub password: Option<String>,
    pub members: Option<Vec<MemberRef>>,
}

pub(crate) fn is_user(rt: &ResourceTypeDef) -> bool {
    std::ptr::eq(rt, &USER_RESOURCE)
}

pub(crate) fn is_group(rt: &ResourceTypeDef) -> bool {
    std::ptr::eq(rt, &GROUP_RESOURCE)
}

/// Normalises a whole resource body for `rt` and checks the required attributes.
pub(crate) fn normalize_resource(
    body: &Value,
    rt: &'static ResourceTypeDef,
) -> Result<Normalized, ResourceError> {
    let obj = body.as_object().ok_or_else(|| {
        ResourceError::InvalidSyntax(format!("a {} must be a JSON object", rt.name))
    })?;
    let mut out = Normalized {
        resource: Map::new(),
        password: None,
        members: None,
    };
    for (key, value) in obj {
        if is_ignored_key(rt, key) {
            continue;
        }
        if is_user(rt) && key.eq_ignore_ascii_case("password") {
            out.password = password_value(value)?;
            continue;
        }
        if is_group(rt) && key.eq_ignore_ascii_case("members") {
            out.members = Some(members_value(value)?);
            continue;
        }
        if let Some((schema, _)) = rt
            .schema_by_urn(key)
            .filter(|(_, loc)| matches!(loc, AttrLocation::Extension(_)))
        {
            if let Some(ext) = normalize_extension(schema, value)? {
                out.resource
                    .insert(schema.id.to_owned(), Value::Object(ext));
            }
            continue;
        }
        let Some(def) = top_level_attribute(rt, key) else {
            continue; // unknown attributes and URN-keyed objects are ignored
        };
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        match normalize_value(def, value, def.name)? {
            Some(v) => {
                out.resource.insert(def.name.to_owned(), v);
            }
            None => {
                out.resource.remove(def.name);
            }
        }
    }
    check_required(rt, &out.resource)?;
    Ok(out)
}

/// Keys never taken from a body: `id`, `meta`, `schemas`, and a User's `groups`.
fn is_ignored_key(rt: &ResourceTypeDef, key: &str) -> bool {
    ["id", "meta", "schemas"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
        || (is_user(rt) && key.eq_ignore_ascii_case("groups"))
}

/// A top-level attribute of the core schema, or `externalId`.
pub(crate) fn top_level_attribute(rt: &ResourceTypeDef, key: &str) -> Option<&'static AttrDef> {
    COMMON_ATTRIBUTES
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(key))
        .or_else(|| rt.schema.attribute(key))
}

fn normalize_extension(
    schema: &'static SchemaDef,
    value: &Value,
) -> Result<Option<Map<String, Value>>, ResourceError> {
    let value = match unwrap_single(value) {
        Value::Null => return Ok(None),
        v => v,
    };
    let obj = value.as_object().ok_or_else(|| {
        ResourceError::InvalidSyntax(format!("'{}' must be a JSON object", schema.id))
    })?;
    let mut ext = Map::new();
    for (key, value) in obj {
        let Some(def) = schema.attribute(key) else {
            continue; // includes `schemas`
        };
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        match normalize_value(def, value, def.name)? {
            Some(v) => {
                ext.insert(def.name.to_owned(), v);
            }
            None => {
                ext.remove(def.name);
            }
        }
    }
    Ok((!ext.is_empty()).then_some(ext))
}

fn check_required(
    rt: &ResourceTypeDef,
    resource: &Map<String, Value>,
) -> Result<(), ResourceError> {
    let required = if is_group(rt) {
        "displayName"
    } else {
        "userName"
    };
    match resource.get(required) {
        Some(Value::String(s)) if !s.is_empty() => Ok(()),
        _ => Err(ResourceError::InvalidValue(format!(
            "{required} is required"
        ))),
    }
}

/// `password`: a string, or null for none.
pub(crate) fn password_value(value: &Value) -> Result<Option<String>, ResourceError> {
    match unwrap_single(value) {
        Value::Null => Ok(None),
        Value::String(s) if s.is_empty() => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ResourceError::InvalidSyntax(
            "'password' must be a string".to_owned(),
        )),
    }
}

/// A one-element array's element, or the value itself.
pub(crate) fn unwrap_single(value: &Value) -> &Value {
    match value {
        Value::Array(items) => match items.as_slice() {
            [one] => one,
            _ => value,
        },
        v => v,
    }
}

/// Group `members`: an array of objects (or one object) each with a string `value`;
/// `null` is the empty list. Other member keys (`$ref`, `display`, `type`, …) are ignored.
pub(crate) fn members_value(value: &Value) -> Result<Vec<MemberRef>, ResourceError> {
    let items: &[Value] = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        other => std::slice::from_ref(other),
    };
    let mut members = Vec::with_capacity(items.len());
    for item in items {
        let obj = item.as_object().ok_or_else(|| {
            ResourceError::InvalidValue(
                "each member must be an object with a 'value', e.g. {\"value\": \"<id>\"}"
                    .to_owned(),
            )
        })?;
        let value = obj
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("value"))
            .map(|(_, v)| v);
        match value {
            Some(Value::String(s)) if !s.is_empty() => {
                let display = obj
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("display"))
                    .and_then(|(_, v)| v.as_str())
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned);
                members.push(MemberRef {
                    value: s.clone(),
                    display,
                })
            }
            Some(Value::String(_)) | Some(Value::Null) | None => {
                return Err(ResourceError::InvalidValue(
                    "each member needs a non-empty 'value'".to_owned(),
                ))
            }
            Some(_) => {
                return Err(ResourceError::InvalidSyntax(
                    "a member's 'value' must be a string".to_owned(),
                ))
            }
        }
    }
    Ok(members)
}

/// Normalises the value of attribute `def` (single- or multi-valued). `None` means "no
/// value": null, empty string, empty array or object.
pub(crate) fn normalize_value(
    def: &'static AttrDef,
    value: &Value,
    name: &str,
) -> Result<Option<Value>, ResourceError> {
    if def.multi_valued {
        let items: &[Value] = match value {
            Value::Null => return Ok(None),
            Value::Array(items) => items,
            other => std::slice::from_ref(other),
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(def, item, name)? {
                out.push(v);
            }
        }
        check_primary(&out, name)?;
        Ok((!out.is_empty()).then_some(Value::Array(out)))
    } else {
        match value {
            Value::Array(items) => match items.as_slice() {
                [] => Ok(None),
                [one] => normalize_single(def, one, name),
                _ => Err(ResourceError::InvalidSyntax(format!(
                    "'{name}' is single-valued, but an array of {} values was given",
                    items.len()
                ))),
            },
            other => normalize_single(def, other, name),
        }
    }
}

/// RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
pub(crate) fn check_primary(items: &[Value], name: &str) -> Result<(), ResourceError> {
    let primaries = items
        .iter()
        .filter(|v| v.get("primary") == Some(&Value::Bool(true)))
        .count();
    if primaries > 1 {
        return Err(ResourceError::InvalidValue(format!(
            "at most one value of '{name}' may have \"primary\": true, but {primaries} do"
        )));
    }
    Ok(())
}

fn is_manager(def: &AttrDef) -> bool {
    def.is_complex() && def.name == "manager"
}

/// Normalises one value (one element of a multi-valued attribute).
pub(crate) fn normalize_single(
    def: &'static AttrDef,
    value: &Value,
    name: &str,
) -> Result<Option<Value>, ResourceError> {
    if value.is_null() {
        return Ok(None);
    }
    let wrong_type = || {
        ResourceError::InvalidSyntax(format!(
            "'{name}' must be {}, not {}",
            type_phrase(def.ty),
            json_type(value)
        ))
    };
    match def.ty {
        AttrType::Complex => {
            let obj = match value {
                Value::Object(obj) => obj,
                Value::String(s) if is_manager(def) => {
                    return Ok((!s.is_empty()).then(|| {
                        let mut m = Map::new();
                        m.insert("value".to_owned(), Value::String(s.clone()));
                        Value::Object(m)
                    }));
                }
                _ => return Err(wrong_type()),
            };
            let mut out = Map::new();
            for (key, v) in obj {
                let Some(sub) = def.sub_attribute(key) else {
                    continue;
                };
                let sub_name = format!("{name}.{}", sub.name);
                match normalize_value(sub, v, &sub_name)? {
                    Some(v) => {
                        out.insert(sub.name.to_owned(), v);
                    }
                    None => {
                        out.remove(sub.name);
                    }
                }
            }
            Ok((!out.is_empty()).then_some(Value::Object(out)))
        }
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(_) => Ok(Some(value.clone())),
            _ => Err(wrong_type()),
        },
        AttrType::Boolean => match value {
            Value::Bool(_) => Ok(Some(value.clone())),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(Value::Bool(true))),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(Value::Bool(false))),
            _ => Err(wrong_type()),
        },
        AttrType::DateTime => match value {
            Value::String(s) if s.is_empty() => Ok(None),
            Value::String(s) => match DateTime::parse_from_rfc3339(s) {
                Ok(_) => Ok(Some(value.clone())),
                Err(_) => Err(ResourceError::InvalidValue(format!(
                    "'{name}' must be an RFC 3339 date-time, e.g. 2008-01-23T04:56:22Z"
                ))),
            },
            _ => Err(wrong_type()),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Some(value.clone())),
            _ => Err(wrong_type()),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => Ok(Some(value.clone())),
            _ => Err(wrong_type()),
        },
    }
}

fn type_phrase(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::Decimal => "a number",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "a date-time string",
        AttrType::Binary => "a base64 string",
        AttrType::Reference => "a URI string",
        AttrType::Complex => "an object",
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
