//! User and Group resources, pure: normalising POST/PUT bodies into the canonical stored
//! form, the database columns derived from it, rendering it back as an RFC 7643 resource,
//! and projecting that with `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9).
//!
//! # Canonical stored form
//!
//! A JSON object holding a resource's attributes under their schema names (`userName`,
//! `name` → `{"givenName": …}`, `emails` → `[{"value": …, "primary": true}]`), the
//! Enterprise User extension's attributes inside an object keyed by its URN, and nothing
//! else: no `id`, `meta`, `schemas`, `groups` (User), `members` (Group) nor `password`. No
//! nulls, empty strings, empty arrays or empty objects are stored.
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

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::scim::path::AttrPath;
use crate::scim::schema::{
    AttrDef, AttrLocation, AttrType, Mutability, ResourceTypeDef, Returned, SchemaDef,
    COMMON_ATTRIBUTES, ENTERPRISE_USER_SCHEMA_URN, GROUP_RESOURCE, GROUP_SCHEMA_URN, USER_RESOURCE,
    USER_SCHEMA_URN,
};

/// Why a resource body (or a PATCH request) is rejected: each variant is a `400` with the
/// `scimType` of RFC 7644 §3.12, Table 9, and a plain-English `detail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourceError {
    #[error("{0}")]
    InvalidSyntax(String),
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    InvalidFilter(String),
}

impl ResourceError {
    /// The RFC 7644 §3.12 `scimType`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            ResourceError::InvalidSyntax(_) => "invalidSyntax",
            ResourceError::InvalidValue(_) => "invalidValue",
            ResourceError::InvalidPath(_) => "invalidPath",
            ResourceError::NoTarget(_) => "noTarget",
            ResourceError::Mutability(_) => "mutability",
            ResourceError::InvalidFilter(_) => "invalidFilter",
        }
    }

    /// The `detail` text of the error response.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

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

/// The User columns the database indexes, derived from the canonical stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    pub user_name: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// `true` when `active` is absent.
    pub active: bool,
    /// The deliverable address, lower-cased: the primary email, else the first of type
    /// `work`, else the first; only if it has text on both sides of an `@`.
    pub email: Option<String>,
    /// The Enterprise User extension's `department`.
    pub department: Option<String>,
    /// Every email value, lower-cased as the filter evaluator compares them (for
    /// `emails.value eq`).
    pub emails: Vec<String>,
}

fn str_field(obj: &Value, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// Derives the indexed columns from a User's canonical stored form.
pub fn user_columns(stored: &Value) -> UserColumns {
    let emails: &[Value] = stored
        .get("emails")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    let chosen = emails
        .iter()
        .find(|e| e.get("primary") == Some(&Value::Bool(true)))
        .or_else(|| {
            emails.iter().find(|e| {
                e.get("type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.eq_ignore_ascii_case("work"))
            })
        })
        .or_else(|| emails.first());
    let email = chosen
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .filter(|s| is_deliverable(s))
        .map(str::to_lowercase);
    UserColumns {
        user_name: str_field(stored, "userName").unwrap_or_default(),
        external_id: str_field(stored, "externalId"),
        display_name: str_field(stored, "displayName"),
        active: stored
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        email,
        department: stored
            .get(ENTERPRISE_USER_SCHEMA_URN)
            .and_then(|ext| str_field(ext, "department")),
        emails: emails
            .iter()
            .filter_map(|e| e.get("value").and_then(Value::as_str))
            .map(str::to_lowercase)
            .collect(),
    }
}

/// Text on both sides of an `@`.
fn is_deliverable(address: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.trim().is_empty() && !domain.trim().is_empty())
}

/// The Group columns the database indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupColumns {
    pub display_name: String,
    pub external_id: Option<String>,
}

/// Derives the indexed columns from a Group's canonical stored form.
pub fn group_columns(stored: &Value) -> GroupColumns {
    GroupColumns {
        display_name: str_field(stored, "displayName").unwrap_or_default(),
        external_id: str_field(stored, "externalId"),
    }
}

/// The server-maintained part of a resource (RFC 7643 §3.1, `meta`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    pub resource_type: &'static str,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
    pub location: String,
    pub version: String,
}

impl Meta {
    /// The `meta` object, timestamps in RFC 3339 UTC (`Z`), with as many fractional digits
    /// as needed (none for whole seconds).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "resourceType": self.resource_type,
            "created": self.created.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "lastModified": self.last_modified.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            "location": self.location,
            "version": self.version,
        })
    }
}

fn render(stored: &Value, id: &str, meta: &Meta, schemas: Vec<Value>) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("schemas".to_owned(), Value::Array(schemas));
    out.insert("id".to_owned(), Value::String(id.to_owned()));
    if let Some(obj) = stored.as_object() {
        for (k, v) in obj {
            if !is_server_key(k) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("meta".to_owned(), meta.to_json());
    out
}

/// Keys a stored form must not carry into a response, in case one slipped in.
fn is_server_key(key: &str) -> bool {
    ["id", "meta", "schemas", "password"]
        .iter()
        .any(|k| key.eq_ignore_ascii_case(k))
}

/// The full User resource (RFC 7643 §4.1): `schemas` (core, plus the Enterprise User URN
/// when the stored form has the extension object), `id`, the stored attributes, `groups`
/// when given and non-empty, and `meta`.
pub fn render_user(stored: &Value, id: &str, meta: &Meta, groups: Option<Vec<Value>>) -> Value {
    let mut schemas = vec![Value::String(USER_SCHEMA_URN.to_owned())];
    if stored.get(ENTERPRISE_USER_SCHEMA_URN).is_some() {
        schemas.push(Value::String(ENTERPRISE_USER_SCHEMA_URN.to_owned()));
    }
    let mut out = render(stored, id, meta, schemas);
    out.remove("groups");
    if let Some(groups) = groups.filter(|g| !g.is_empty()) {
        out.insert("groups".to_owned(), Value::Array(groups));
    }
    Value::Object(out)
}

/// The full Group resource (RFC 7643 §4.2). `members: Some(list)` is rendered even when
/// empty (`"members": []`); `None` leaves the key out (e.g. not loaded because not wanted).
pub fn render_group(stored: &Value, id: &str, meta: &Meta, members: Option<Vec<Value>>) -> Value {
    let mut out = render(
        stored,
        id,
        meta,
        vec![Value::String(GROUP_SCHEMA_URN.to_owned())],
    );
    out.remove("members");
    if let Some(members) = members {
        out.insert("members".to_owned(), Value::Array(members));
    }
    Value::Object(out)
}

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

#[cfg(test)]
#[expect(clippy::unwrap_used)]
pub(crate) mod tests;
