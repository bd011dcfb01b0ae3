//! Validation of a filter against a resource type: the rules that make a filter
//! `invalidFilter` beyond its syntax (RFC 7644 §3.4.2.2, §3.12).

use super::ast::{AttrExp, CompValue, CompareOp, Filter, LogExp, ValuePath};
use crate::scim::error::ParseError;
use crate::scim::path::AttrPath;
use crate::scim::schema::{
    AttrDef, AttrLocation, AttrType, ResolveError, ResourceTypeDef, Returned,
};

/// Why a filter cannot be used: bad syntax, an unknown attribute, or a comparison the RFC
/// forbids. All are `400 invalidFilter` (RFC 7644 §3.12), except syntax errors of a PATCH
/// path, which keep their own `scimType`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    #[error(transparent)]
    Syntax(#[from] ParseError),
    /// The filter names an attribute the resource type does not have.
    #[error(transparent)]
    Attribute(#[from] ResolveError),
    /// The comparison is not allowed on the attribute, e.g. `active gt true`.
    #[error("{message}")]
    InvalidComparison { attribute: String, message: String },
}

impl FilterError {
    /// The RFC 7644 §3.12 `scimType`.
    pub fn scim_type(&self) -> &'static str {
        match self {
            FilterError::Syntax(e) => e.scim_type(),
            FilterError::Attribute(_) | FilterError::InvalidComparison { .. } => "invalidFilter",
        }
    }

    /// The `detail` text of the error response.
    pub fn detail(&self) -> String {
        self.to_string()
    }

    fn invalid(path: &AttrPath, message: String) -> FilterError {
        FilterError::InvalidComparison {
            attribute: path.to_string(),
            message,
        }
    }
}

/// Where filter attribute names are looked up. The SQL compiler resolves attributes with
/// [`resolve_compare`] / [`resolve_target`] in the same scopes, so it applies the same
/// rules as [`check`] and the evaluator.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Top-level filter: names resolve against the resource type.
    Resource(&'a ResourceTypeDef),
    /// Inside `parent[...]`: names are sub-attributes of `parent`.
    Element(&'static AttrDef),
}

/// A filter attribute resolved to where its values are and how they compare.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub location: AttrLocation,
    /// The attribute found at the top of the scope (in an element scope, the sub-attribute).
    pub top: &'static AttrDef,
    /// The sub-attribute of `top`, if the path has one (or one was implied, see
    /// [`resolve_compare`]).
    pub sub: Option<&'static AttrDef>,
}

impl Target {
    /// The attribute whose values are compared.
    pub fn leaf(&self) -> &'static AttrDef {
        self.sub.unwrap_or(self.top)
    }
}

/// Resolves a filter's attribute path in a scope (for `pr` and value paths).
pub fn resolve_target(scope: Scope<'_>, path: &AttrPath) -> Result<Target, FilterError> {
    match scope {
        Scope::Resource(rt) => {
            let resolved = rt.resolve(path)?;
            Ok(match resolved.parent {
                Some(parent) => Target {
                    location: resolved.location,
                    top: parent,
                    sub: Some(resolved.attr),
                },
                None => Target {
                    location: resolved.location,
                    top: resolved.attr,
                    sub: None,
                },
            })
        }
        Scope::Element(parent) => {
            // Inside `emails[...]` only plain sub-attribute names make sense: `type`, not
            // `emails.type` nor a URN-qualified name.
            let found = match (&path.uri, &path.sub_attr) {
                (None, None) => parent.sub_attribute(&path.name),
                _ => None,
            };
            let top = found.ok_or_else(|| ResolveError::UnknownSubAttribute {
                parent: parent.name.to_owned(),
                sub_attr: path.to_string(),
            })?;
            Ok(Target {
                location: AttrLocation::Core,
                top,
                sub: None,
            })
        }
    }
}

/// Resolves the attribute of a comparison. A complex attribute without a sub-attribute is
/// compared through its `value` sub-attribute for `eq`, `ne`, `co`, `sw` and `ew`: RFC 7644
/// §3.4.2.2 (Figure 2) filters `emails co "example.com"`, and RFC 7643 §2.4 makes `value`
/// the primary sub-attribute of multi-valued attributes.
pub fn resolve_compare(
    scope: Scope<'_>,
    path: &AttrPath,
    op: CompareOp,
) -> Result<Target, FilterError> {
    let target = resolve_target(scope, path)?;
    if target.sub.is_none() && target.top.is_complex() && !op.is_ordering() {
        if let Some(value) = target.top.sub_attribute("value") {
            return Ok(Target {
                sub: Some(value),
                ..target
            });
        }
    }
    Ok(target)
}

/// Checks a filter against a resource type, with the rules the evaluator and the SQL
/// compiler rely on:
///
/// - every attribute exists (a [`ResolveError`] naming it as written);
/// - attributes that are never returned (`password`, RFC 7643 §4.1.1) cannot be compared:
///   filtering on them would reveal them;
/// - `gt`, `ge`, `lt`, `le` work on strings, numbers and dateTimes; on booleans and binary
///   they are `invalidFilter` (RFC 7644 §3.4.2.2: "Boolean and Binary attributes SHALL
///   cause a failed response … invalidFilter"), and so are they on a complex attribute
///   without a sub-attribute;
/// - `co`, `sw`, `ew` work on strings (and references) only;
/// - booleans compare with `true` / `false`, numbers with numbers, dateTimes with RFC 3339
///   strings, strings with strings (or numbers, leniency 6);
/// - `null` compares only with `eq` (has no value) and `ne` (has a value);
/// - a value path's attribute is complex, and names inside its brackets are its
///   sub-attributes.
pub fn check(filter: &Filter, rt: &ResourceTypeDef) -> Result<(), FilterError> {
    check_in(filter, Scope::Resource(rt))
}

/// Checks a value filter (the `[...]` of a PATCH path or a filter's value path) against
/// the complex attribute `parent` whose elements it selects.
pub fn check_element(filter: &Filter, parent: &'static AttrDef) -> Result<(), FilterError> {
    check_in(filter, Scope::Element(parent))
}

fn check_in(filter: &Filter, scope: Scope<'_>) -> Result<(), FilterError> {
    match filter {
        Filter::AttrExp(exp) => check_attr_exp(exp, scope),
        Filter::LogExp(LogExp { left, right, .. }) => {
            check_in(left, scope)?;
            check_in(right, scope)
        }
        Filter::Not(inner) => check_in(inner, scope),
        Filter::ValuePath(ValuePath { attr, filter }) => {
            let target = resolve_target(scope, attr)?;
            if matches!(scope, Scope::Element(_))
                || target.sub.is_some()
                || !target.top.is_complex()
            {
                return Err(FilterError::invalid(
                    attr,
                    format!(
                        "'{attr}' is not a complex attribute, so it cannot have a value filter"
                    ),
                ));
            }
            check_in(filter, Scope::Element(target.top))
        }
    }
}

fn check_attr_exp(exp: &AttrExp, scope: Scope<'_>) -> Result<(), FilterError> {
    let (path, op, value) = match exp {
        AttrExp::Present(path) => {
            let target = resolve_target(scope, path)?;
            return not_secret(path, target.leaf());
        }
        AttrExp::Compare { path, op, value } => (path, *op, value),
    };
    let target = resolve_compare(scope, path, op)?;
    let attr = target.leaf();
    not_secret(path, attr)?;
    let invalid = |message: String| Err(FilterError::invalid(path, message));

    if attr.ty == AttrType::Complex {
        let example = attr
            .sub_attributes
            .first()
            .map(|sub| format!(", e.g. '{path}.{}'", sub.name))
            .unwrap_or_default();
        return invalid(format!(
            "'{path}' is a complex attribute; '{op}' needs one of its sub-attributes{example}"
        ));
    }
    if *value == CompValue::Null {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Ok(());
        }
        return invalid(format!(
            "'{op}' cannot compare with null; use 'eq null', 'ne null' or 'pr'"
        ));
    }
    let kind = type_name(attr.ty);
    if op.is_ordering() && matches!(attr.ty, AttrType::Boolean | AttrType::Binary) {
        return invalid(format!(
            "'{op}' is not allowed on '{path}', which is {kind} (RFC 7644 §3.4.2.2)"
        ));
    }
    if op.is_substring() && !matches!(attr.ty, AttrType::String | AttrType::Reference) {
        return invalid(format!(
            "'{op}' only applies to strings, and '{path}' is {kind}"
        ));
    }
    let fits = match attr.ty {
        AttrType::String | AttrType::Reference => {
            matches!(value, CompValue::String(_) | CompValue::Number(_))
        }
        AttrType::Binary => matches!(value, CompValue::String(_)),
        AttrType::Boolean => matches!(value, CompValue::Bool(_)),
        AttrType::Integer | AttrType::Decimal => matches!(value, CompValue::Number(_)),
        AttrType::DateTime => match value {
            CompValue::String(s) => {
                if super::eval::parse_date_time(s).is_none() {
                    return invalid(format!(
                        "{value} is not a valid dateTime for '{path}' (expected RFC 3339, e.g. \"2011-05-13T04:42:34Z\")"
                    ));
                }
                true
            }
            _ => false,
        },
        AttrType::Complex => false,
    };
    if fits {
        Ok(())
    } else {
        invalid(format!(
            "'{path}' is {kind} and cannot be compared with {}",
            value_kind(value)
        ))
    }
}

/// Attributes never returned cannot be filtered on: a filter would disclose them.
fn not_secret(path: &AttrPath, attr: &AttrDef) -> Result<(), FilterError> {
    if attr.returned == Returned::Never {
        return Err(FilterError::invalid(
            path,
            format!("'{path}' cannot be used in a filter"),
        ));
    }
    Ok(())
}

fn type_name(ty: AttrType) -> &'static str {
    match ty {
        AttrType::String => "a string",
        AttrType::Boolean => "a boolean",
        AttrType::Decimal => "a decimal",
        AttrType::Integer => "an integer",
        AttrType::DateTime => "a dateTime",
        AttrType::Binary => "binary",
        AttrType::Reference => "a reference",
        AttrType::Complex => "complex",
    }
}

fn value_kind(value: &CompValue) -> String {
    match value {
        CompValue::Null => "null".to_owned(),
        CompValue::Bool(b) => format!("the boolean {b}"),
        CompValue::Number(n) => format!("the number {n}"),
        CompValue::String(_) => format!("the string {value}"),
    }
}
