//! PATCH (RFC 7644 §3.5.2), pure: parsing a PatchOp body and applying it to a resource's
//! canonical stored form (see [`crate::scim::resource`]).
//!
//! Operations apply in order to a copy of the stored form; the result is then normalised
//! with the same rules as a POST body, so a PATCH can never store what a POST could not.
//! Any failure rejects the whole request.
//!
//! Leniencies for Microsoft Entra ID and Okta (each has a test in `patch/tests.rs`):
//! - `schemas` may be missing; the `Operations` key and op names are case-insensitive;
//!   unknown keys (in the body or in an operation) are ignored; an empty `Operations`
//!   list is a no-op.
//! - A value-filtered path whose filter matches no element creates the element from the
//!   filter's `eq` clauses (`emails[type eq "work"].value`).
//! - Path-less `add` / `replace` values may use dotted keys (`name.givenName`) and
//!   URN-qualified keys (`urn:…:enterprise:2.0:User:manager`); an `id` equal to the
//!   resource's own is ignored (Okta group rename), as are `meta`, `schemas`, `groups`.
//! - `remove` of `members` with a value array removes only the listed members (Entra).

use serde_json::{Map, Value};

use crate::scim::filter::{
    evaluate_element, AttrExp, CompValue, CompareOp, Filter, LogExp, LogicalOp,
};
use crate::scim::path::{
    check_patch_path, parse_attr_path, parse_patch_path, AttrPath, PatchPath, PathError,
};
use crate::scim::resource::{
    is_group, is_user, members_value, normalize_resource, normalize_single, normalize_value,
    password_value, unwrap_single, MemberRef, ResourceError,
};
use crate::scim::schema::{
    AttrDef, AttrLocation, Mutability, Resolved, ResourceTypeDef, GROUP_RESOURCE, USER_RESOURCE,
};

/// The PatchOp message URN (RFC 7644 §3.5.2).
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one PATCH request may carry.
pub const MAX_PATCH_OPERATIONS: usize = 1000;

/// A PATCH operation's `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    Add,
    Replace,
    Remove,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Replace => "replace",
            OpKind::Remove => "remove",
        }
    }
}

/// One parsed operation. `value` is `None` when the key is absent (only `remove` may
/// omit it); an explicit `null` is `Some(Value::Null)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOperation {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A parsed PatchOp body (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatchRequest {
    pub operations: Vec<PatchOperation>,
}

/// A change to a group's membership, in request order; the server resolves the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberChange {
    Add(Vec<MemberRef>),
    Remove(Vec<String>),
    RemoveAll,
    Replace(Vec<MemberRef>),
}

/// The result of applying a PATCH.
#[derive(Debug, Clone, PartialEq)]
pub struct Patched {
    /// The new canonical stored form.
    pub resource: Value,
    /// Membership changes (Groups only), in order.
    pub members: Vec<MemberChange>,
    /// A new password (Users only), the last one set.
    pub password: Option<String>,
}

fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// Parses a PatchOp body. Paths are parsed here (syntax errors are `invalidPath`) and
/// resolved against the resource type when applied.
pub fn parse_patch(body: &Value) -> Result<PatchRequest, ResourceError> {
    let obj = body.as_object().ok_or_else(|| {
        ResourceError::InvalidSyntax("a PATCH body must be a JSON object".to_owned())
    })?;
    let ops_value = get_ci(obj, "Operations").ok_or_else(|| {
        ResourceError::InvalidSyntax("a PATCH body needs an 'Operations' array".to_owned())
    })?;
    let ops: &[Value] = match ops_value {
        Value::Array(ops) => ops,
        // One operation not wrapped in an array.
        op @ Value::Object(_) => std::slice::from_ref(op),
        _ => {
            return Err(ResourceError::InvalidSyntax(
                "'Operations' must be an array of operations".to_owned(),
            ))
        }
    };
    if ops.len() > MAX_PATCH_OPERATIONS {
        return Err(ResourceError::InvalidValue(format!(
            "a PATCH request may have at most {MAX_PATCH_OPERATIONS} operations, this one has {}",
            ops.len()
        )));
    }
    let operations = ops
        .iter()
        .enumerate()
        .map(|(i, op)| parse_operation(i + 1, op))
        .collect::<Result<_, _>>()?;
    Ok(PatchRequest { operations })
}

fn parse_operation(n: usize, op: &Value) -> Result<PatchOperation, ResourceError> {
    let obj = op.as_object().ok_or_else(|| {
        ResourceError::InvalidSyntax(format!("operation {n} must be a JSON object"))
    })?;
    let kind = match get_ci(obj, "op") {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(Value::String(s)) => {
            return Err(ResourceError::InvalidSyntax(format!(
                "operation {n}: unknown op '{s}'; expected 'add', 'replace' or 'remove'"
            )))
        }
        Some(_) => {
            return Err(ResourceError::InvalidSyntax(format!(
                "operation {n}: 'op' must be a string"
            )))
        }
        None => {
            return Err(ResourceError::InvalidSyntax(format!(
                "operation {n} has no 'op'"
            )))
        }
    };
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(parse_patch_path(s).map_err(|e| {
            ResourceError::InvalidPath(format!("operation {n}: invalid path '{s}': {}", e.detail()))
        })?),
        Some(_) => {
            return Err(ResourceError::InvalidPath(format!(
                "operation {n}: 'path' must be a string"
            )))
        }
    };
    let value = get_ci(obj, "value").cloned();
    match kind {
        OpKind::Remove if path.is_none() => Err(ResourceError::NoTarget(format!(
            "operation {n}: 'remove' needs a 'path'"
        ))),
        OpKind::Add | OpKind::Replace if value.is_none() => Err(ResourceError::InvalidValue(
            format!("operation {n}: '{}' needs a 'value'", kind.as_str()),
        )),
        _ => Ok(PatchOperation {
            op: kind,
            path,
            value,
        }),
    }
}

/// Applies a PATCH to a User's canonical stored form.
pub fn apply_user_patch(
    stored: &Value,
    id: &str,
    req: &PatchRequest,
) -> Result<Patched, ResourceError> {
    apply(&USER_RESOURCE, stored, id, req)
}

/// Applies a PATCH to a Group's canonical stored form.
pub fn apply_group_patch(
    stored: &Value,
    id: &str,
    req: &PatchRequest,
) -> Result<Patched, ResourceError> {
    apply(&GROUP_RESOURCE, stored, id, req)
}

struct State<'a> {
    rt: &'static ResourceTypeDef,
    id: &'a str,
    doc: Map<String, Value>,
    members: Vec<MemberChange>,
    password: Option<String>,
}

fn apply(
    rt: &'static ResourceTypeDef,
    stored: &Value,
    id: &str,
    req: &PatchRequest,
) -> Result<Patched, ResourceError> {
    let mut st = State {
        rt,
        id,
        doc: stored.as_object().cloned().unwrap_or_default(),
        members: Vec::new(),
        password: None,
    };
    for (i, op) in req.operations.iter().enumerate() {
        st.apply_op(op).map_err(|e| prefix(i + 1, e))?;
    }
    let normalized = normalize_resource(&Value::Object(st.doc), rt)?;
    Ok(Patched {
        resource: Value::Object(normalized.resource),
        members: st.members,
        password: st.password,
    })
}

fn prefix(n: usize, e: ResourceError) -> ResourceError {
    let p = |m: String| format!("operation {n}: {m}");
    match e {
        ResourceError::InvalidSyntax(m) => ResourceError::InvalidSyntax(p(m)),
        ResourceError::InvalidValue(m) => ResourceError::InvalidValue(p(m)),
        ResourceError::InvalidPath(m) => ResourceError::InvalidPath(p(m)),
        ResourceError::NoTarget(m) => ResourceError::NoTarget(p(m)),
        ResourceError::Mutability(m) => ResourceError::Mutability(p(m)),
        ResourceError::InvalidFilter(m) => ResourceError::InvalidFilter(p(m)),
    }
}

fn path_error(path: &PatchPath, e: PathError) -> ResourceError {
    let msg = format!("invalid path '{path}': {}", e.detail());
    if e.scim_type() == "invalidFilter" {
        ResourceError::InvalidFilter(msg)
    } else {
        ResourceError::InvalidPath(msg)
    }
}

fn is_members(rt: &ResourceTypeDef, def: &AttrDef) -> bool {
    is_group(rt) && def.name == "members"
}

fn is_password(rt: &ResourceTypeDef, def: &AttrDef) -> bool {
    is_user(rt) && def.name == "password"
}

/// A multi-valued complex element matched by a value filter, or a single complex value.
fn value_or_null(value: Option<&Value>) -> &Value {
    value.unwrap_or(&Value::Null)
}

impl State<'_> {
    fn apply_op(&mut self, op: &PatchOperation) -> Result<(), ResourceError> {
        match &op.path {
            None => self.apply_pathless(op.op, value_or_null(op.value.as_ref())),
            // The path is an extension's URN: the whole extension object (RFC 7644 §3.10).
            Some(PatchPath::Attr(attr))
                if self
                    .rt
                    .schema_named_by(attr)
                    .is_some_and(|schema| schema.id != self.rt.schema.id) =>
            {
                let schema_id = self
                    .rt
                    .schema_named_by(attr)
                    .map(|s| s.id)
                    .unwrap_or_default();
                match op.op {
                    OpKind::Remove => {
                        self.doc.remove(schema_id);
                        Ok(())
                    }
                    kind => {
                        let mut wrapped = Map::new();
                        wrapped.insert(
                            schema_id.to_owned(),
                            value_or_null(op.value.as_ref()).clone(),
                        );
                        if kind == OpKind::Replace {
                            self.doc.remove(schema_id);
                        }
                        self.apply_pathless(kind, &Value::Object(wrapped))
                    }
                }
            }
            Some(path) => {
                let resolved = check_patch_path(path, self.rt).map_err(|e| path_error(path, e))?;
                let top = resolved.top();
                if top.mutability == Mutability::ReadOnly {
                    return Err(ResourceError::Mutability(format!(
                        "'{}' is read-only and cannot be changed by PATCH",
                        top.name
                    )));
                }
                if is_members(self.rt, top) {
                    return self.apply_members(op, path);
                }
                if is_password(self.rt, top) {
                    if op.op != OpKind::Remove {
                        self.password = password_value(value_or_null(op.value.as_ref()))?;
                    }
                    return Ok(());
                }
                match path {
                    PatchPath::Attr(_) => self.apply_attr(op.op, &resolved, op.value.as_ref()),
                    PatchPath::ValuePath {
                        value_path,
                        sub_attr,
                    } => self.apply_value_path(
                        op.op,
                        &resolved,
                        &value_path.filter,
                        sub_attr.is_some(),
                        op.value.as_ref(),
                    ),
                }
            }
        }
    }

    /// The object holding `resolved`'s top attribute: the resource or an extension object.
    fn container(&mut self, resolved: &Resolved) -> Result<&mut Map<String, Value>, ResourceError> {
        let holder = match resolved.location {
            AttrLocation::Extension(schema) => {
                let entry = self
                    .doc
                    .entry(schema.id.to_owned())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                entry.as_object_mut()
            }
            AttrLocation::Common | AttrLocation::Core => Some(&mut self.doc),
        };
        holder
            .ok_or_else(|| ResourceError::InvalidValue("the extension is not an object".to_owned()))
    }

    /// `add` / `replace` / `remove` on `attr` or `attr.sub`.
    fn apply_attr(
        &mut self,
        kind: OpKind,
        resolved: &Resolved,
        value: Option<&Value>,
    ) -> Result<(), ResourceError> {
        let top = resolved.top();
        let sub = resolved.parent.map(|_| resolved.attr);
        let container = self.container(resolved)?;
        match sub {
            None => {
                if kind == OpKind::Remove {
                    container.remove(top.name);
                    return Ok(());
                }
                let new = normalize_value(top, value_or_null(value), top.name)?;
                set_attr(container, top, kind, new);
            }
            Some(sub) => {
                let name = format!("{}.{}", top.name, sub.name);
                let new = match kind {
                    OpKind::Remove => None,
                    _ => normalize_value(sub, value_or_null(value), &name)?,
                };
                let current = container.get_mut(top.name);
                match current {
                    Some(Value::Array(items)) => {
                        // No filter: every element gets (or loses) the sub-attribute.
                        for item in items.iter_mut() {
                            set_sub(item, sub, new.clone());
                        }
                    }
                    Some(item @ Value::Object(_)) => set_sub(item, sub, new),
                    _ => {
                        if let Some(new) = new {
                            let mut element = Map::new();
                            element.insert(sub.name.to_owned(), new);
                            let element = Value::Object(element);
                            let v = if top.multi_valued {
                                Value::Array(vec![element])
                            } else {
                                element
                            };
                            container.insert(top.name.to_owned(), v);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Operations on `attr[filter]` and `attr[filter].sub`.
    fn apply_value_path(
        &mut self,
        kind: OpKind,
        resolved: &Resolved,
        filter: &Filter,
        has_sub: bool,
        value: Option<&Value>,
    ) -> Result<(), ResourceError> {
        let top = resolved.top();
        let sub = if has_sub { Some(resolved.attr) } else { None };
        // The new value: a whole element, or one sub-attribute.
        let new = match (kind, sub) {
            (OpKind::Remove, _) => None,
            (_, None) => normalize_single(top, unwrap_single(value_or_null(value)), top.name)?,
            (_, Some(sub)) => normalize_value(
                sub,
                value_or_null(value),
                &format!("{}.{}", top.name, sub.name),
            )?,
        };
        let container = self.container(resolved)?;
        let mut items: Vec<Value> = match container.remove(top.name) {
            Some(Value::Array(items)) => items,
            Some(Value::Null) | None => Vec::new(),
            Some(other) => vec![other],
        };
        let mut matched = false;
        let mut kept = Vec::with_capacity(items.len());
        for mut item in items.drain(..) {
            let hit = evaluate_element(filter, &item, top)
                .map_err(|e| ResourceError::InvalidFilter(e.detail()))?;
            if !hit {
                kept.push(item);
                continue;
            }
            matched = true;
            match (kind, sub) {
                (OpKind::Remove, None) => {}
                (_, Some(sub)) => {
                    set_sub(&mut item, sub, new.clone());
                    kept.push(item);
                }
                (OpKind::Replace, None) => {
                    if let Some(new) = &new {
                        kept.push(new.clone());
                    }
                }
                (OpKind::Add, None) => {
                    if let (Value::Object(m), Some(Value::Object(n))) = (&mut item, &new) {
                        for (k, v) in n {
                            m.insert(k.clone(), v.clone());
                        }
                    }
                    kept.push(item);
                }
            }
        }
        if !matched && kind != OpKind::Remove {
            // Entra ID: create the element the filter describes.
            let mut element = eq_clauses(filter, top).ok_or_else(|| {
                ResourceError::NoTarget(format!(
                    "no value of '{}' matches the filter, and one cannot be created from it \
                     (only 'eq' clauses joined by 'and' can)",
                    top.name
                ))
            })?;
            match (sub, new) {
                (Some(sub), Some(new)) => {
                    element.insert(sub.name.to_owned(), new);
                }
                (None, Some(Value::Object(n))) => element.extend(n),
                _ => {}
            }
            kept.push(Value::Object(element));
        }
        if !kept.is_empty() {
            let v = if top.multi_valued {
                Value::Array(kept)
            } else {
                kept.pop().unwrap_or(Value::Null)
            };
            container.insert(top.name.to_owned(), v);
        }
        Ok(())
    }

    /// Path-less `add` / `replace`: `value` is an object of attributes.
    fn apply_pathless(&mut self, kind: OpKind, value: &Value) -> Result<(), ResourceError> {
        let obj = value.as_object().ok_or_else(|| {
            ResourceError::InvalidValue(format!(
                "a '{}' without 'path' needs an object 'value'",
                kind.as_str()
            ))
        })?;
        for (key, v) in obj {
            if key.eq_ignore_ascii_case("id") {
                match v {
                    Value::Null => {}
                    Value::String(s) if s == self.id => {}
                    _ => {
                        return Err(ResourceError::Mutability(
                            "'id' is read-only and cannot be changed".to_owned(),
                        ))
                    }
                }
                continue;
            }
            if ["meta", "schemas"]
                .iter()
                .any(|k| key.eq_ignore_ascii_case(k))
            {
                continue;
            }
            if let Some((schema, AttrLocation::Extension(_))) = self.rt.schema_by_urn(key) {
                let Some(inner) = v.as_object() else {
                    if v.is_null() {
                        continue;
                    }
                    return Err(ResourceError::InvalidSyntax(format!(
                        "'{}' must be a JSON object",
                        schema.id
                    )));
                };
                for (k, v) in inner {
                    let path = match parse_attr_path(k) {
                        Ok(p) if p.uri.is_none() => p.with_uri(schema.id),
                        _ => continue,
                    };
                    self.apply_keyed(kind, &path, v)?;
                }
                continue;
            }
            let Ok(path) = parse_attr_path(key) else {
                continue; // not an attribute name: unknown, ignored
            };
            self.apply_keyed(kind, &path, v)?;
        }
        Ok(())
    }

    /// One key of a path-less value object, e.g. `displayName`, `name.givenName` or
    /// `urn:…:enterprise:2.0:User:manager`. Unknown and read-only names are ignored.
    fn apply_keyed(
        &mut self,
        kind: OpKind,
        path: &AttrPath,
        value: &Value,
    ) -> Result<(), ResourceError> {
        let Ok(resolved) = self.rt.resolve(path) else {
            return Ok(());
        };
        let top = resolved.top();
        if top.mutability == Mutability::ReadOnly {
            return Ok(());
        }
        if is_members(self.rt, top) {
            if resolved.parent.is_some() {
                return Ok(());
            }
            let list = members_value(value)?;
            self.members.push(match kind {
                OpKind::Replace => MemberChange::Replace(list),
                _ => MemberChange::Add(list),
            });
            return Ok(());
        }
        if is_password(self.rt, top) {
            self.password = password_value(value)?;
            return Ok(());
        }
        self.apply_attr(kind, &resolved, Some(value))
    }

    /// Operations on a Group's `members`: they become [`MemberChange`]s.
    fn apply_members(
        &mut self,
        op: &PatchOperation,
        path: &PatchPath,
    ) -> Result<(), ResourceError> {
        match (path, op.op) {
            (PatchPath::Attr(p), kind) if p.sub_attr.is_none() => {
                let value = op.value.as_ref().filter(|v| !v.is_null());
                match (kind, value) {
                    (OpKind::Remove, None) => self.members.push(MemberChange::RemoveAll),
                    (OpKind::Remove, Some(v)) => {
                        let list = members_value(v)?;
                        if !list.is_empty() {
                            self.members.push(MemberChange::Remove(
                                list.into_iter().map(|m| m.value).collect(),
                            ));
                        }
                    }
                    (kind, v) => {
                        let list = members_value(value_or_null(v))?;
                        if kind == OpKind::Replace {
                            self.members.push(MemberChange::Replace(list));
                        } else if !list.is_empty() {
                            self.members.push(MemberChange::Add(list));
                        }
                    }
                }
                Ok(())
            }
            (
                PatchPath::ValuePath {
                    value_path,
                    sub_attr: None,
                },
                OpKind::Remove,
            ) => {
                let mut values = Vec::new();
                if !member_values(&value_path.filter, &mut values) {
                    return Err(ResourceError::InvalidFilter(format!(
                        "members can only be removed by value: use members[value eq \"<id>\"] \
                         (clauses joined by 'or'), not '{}'",
                        value_path.filter
                    )));
                }
                self.members.push(MemberChange::Remove(values));
                Ok(())
            }
            _ => Err(ResourceError::InvalidPath(format!(
                "'{path}' is not supported: members are added with path 'members', and removed \
                 with 'members' or members[value eq \"<id>\"]"
            ))),
        }
    }
}

/// Sets (or, for `None`, removes) sub-attribute `sub` of a complex element.
fn set_sub(item: &mut Value, sub: &AttrDef, new: Option<Value>) {
    if let Value::Object(m) = item {
        match new {
            Some(v) => {
                m.insert(sub.name.to_owned(), v);
            }
            None => {
                m.remove(sub.name);
            }
        }
    }
}

/// `add` / `replace` of a whole attribute with an already-normalised value.
///
/// - Multi-valued: `add` appends the values not already there (RFC 7644 §3.5.2.1);
///   `replace` replaces the whole list (§3.5.2.3).
/// - Complex single-valued: both merge the given sub-attributes into the existing value
///   ("Sub-attributes that are not specified in the value parameter are left unchanged"),
///   except that a new `value` different from the old one (a different manager) replaces
///   the whole object, so a stale `displayName` / `$ref` is not kept.
/// - Otherwise the value is set. An empty value (null, `""`, `[]`) clears the attribute,
///   except that `add` of nothing to a multi-valued attribute changes nothing.
fn set_attr(container: &mut Map<String, Value>, def: &AttrDef, kind: OpKind, new: Option<Value>) {
    let Some(new) = new else {
        if !(def.multi_valued && kind == OpKind::Add) {
            container.remove(def.name);
        }
        return;
    };
    match (def.multi_valued, def.is_complex(), kind) {
        (true, _, OpKind::Add) => {
            let existing = container
                .entry(def.name.to_owned())
                .or_insert_with(|| Value::Array(Vec::new()));
            if !existing.is_array() {
                *existing = Value::Array(vec![existing.take()]);
            }
            if let (Value::Array(items), Value::Array(new)) = (existing, new) {
                for v in new {
                    if !items.contains(&v) {
                        items.push(v);
                    }
                }
            }
        }
        (false, true, _) => {
            let existing = container
                .entry(def.name.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            match (existing, new) {
                // A different `value` (manager) names a different resource: its old
                // `$ref` / `displayName` would describe the wrong one, so start afresh.
                (Value::Object(m), Value::Object(n))
                    if !n.get("value").is_some_and(|v| m.get("value") != Some(v)) =>
                {
                    m.extend(n)
                }
                (existing, new) => *existing = new,
            }
        }
        _ => {
            container.insert(def.name.to_owned(), new);
        }
    }
}

/// The element a value filter describes, from its `eq` clauses joined by `and`, e.g.
/// `type eq "work" and primary eq true` → `{"type": "work", "primary": true}`. `None` when
/// the filter has any other shape.
fn eq_clauses(filter: &Filter, parent: &'static AttrDef) -> Option<Map<String, Value>> {
    fn walk(filter: &Filter, parent: &'static AttrDef, out: &mut Map<String, Value>) -> bool {
        match filter {
            Filter::LogExp(LogExp {
                op: LogicalOp::And,
                left,
                right,
            }) => walk(left, parent, out) && walk(right, parent, out),
            Filter::AttrExp(AttrExp::Compare {
                path,
                op: CompareOp::Eq,
                value,
            }) if path.uri.is_none() && path.sub_attr.is_none() => {
                let Some(sub) = parent.sub_attribute(&path.name) else {
                    return false;
                };
                let v = match value {
                    CompValue::String(s) => Value::String(s.clone()),
                    CompValue::Bool(b) => Value::Bool(*b),
                    CompValue::Number(n) => Value::String(n.as_str().to_owned()),
                    CompValue::Null => return false,
                };
                match normalize_value(sub, &v, sub.name) {
                    Ok(Some(v)) => {
                        out.insert(sub.name.to_owned(), v);
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }
    let mut out = Map::new();
    walk(filter, parent, &mut out).then_some(out)
}

/// The ids of `value eq "x" [or value eq "y" …]`; `false` for any other filter.
fn member_values(filter: &Filter, out: &mut Vec<String>) -> bool {
    match filter {
        Filter::LogExp(LogExp {
            op: LogicalOp::Or,
            left,
            right,
        }) => member_values(left, out) && member_values(right, out),
        Filter::AttrExp(AttrExp::Compare {
            path,
            op: CompareOp::Eq,
            value: CompValue::String(s),
        }) if path.uri.is_none()
            && path.sub_attr.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            out.push(s.clone());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests;
