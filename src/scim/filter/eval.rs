//! In-memory evaluation of filters over `serde_json` resources (RFC 7644 §3.4.2.2).

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use serde_json::Value;

use super::ast::{AttrExp, CompValue, CompareOp, Filter, LogExp, LogicalOp, ValuePath};
use super::check::{
    check, check_element, resolve_compare, resolve_target, FilterError, Scope, Target,
};
use crate::scim::schema::{AttrDef, AttrLocation, AttrType, ResourceTypeDef};

/// Does `resource` match `filter`? The filter is [`check`]ed first, so a filter that is
/// invalid for the resource type is an error whatever the resource holds.
///
/// `resource` is a normalised SCIM resource: core and common attributes at the top level,
/// extension attributes inside the object keyed by the extension URN (RFC 7643 §3.3).
/// Attribute names in the resource match case-insensitively.
///
/// Matching, per RFC 7644 §3.4.2.2:
/// - A multi-valued attribute matches when any of its values does ("only one has to
///   match"); `emails.value eq "x"` looks at every email.
/// - `ne` is the negation of `eq`: `x ne v` matches exactly when `x eq v` does not,
///   including when `x` has no value.
/// - `pr` matches a value that is present and not empty: not null, not `""`, not `[]`,
///   and for complex values, at least one sub-attribute that is present.
/// - `eq null` matches when the attribute has no value (`not (x pr)`); `ne null` when it has.
/// - Strings honour `caseExact` (RFC 7643 §2.2): `userName` and `emails.value` compare
///   case-insensitively (Unicode lower case), `id` and `externalId` exactly. `gt`/`lt`
///   compare strings by code point after that folding.
/// - dateTimes compare as instants (RFC 3339), for `eq` as for `gt`; numbers as numbers.
pub fn evaluate(
    filter: &Filter,
    resource: &Value,
    rt: &ResourceTypeDef,
) -> Result<bool, FilterError> {
    check(filter, rt)?;
    Ok(eval(filter, Scope::Resource(rt), resource))
}

/// Does one element of a multi-valued complex attribute match a value filter? This is the
/// `[...]` of a PATCH path (RFC 7644 §3.5.2), e.g. `type eq "work"` against one email,
/// with `parent` the definition of `emails`.
pub fn evaluate_element(
    filter: &Filter,
    element: &Value,
    parent: &'static AttrDef,
) -> Result<bool, FilterError> {
    check_element(filter, parent)?;
    Ok(eval(filter, Scope::Element(parent), element))
}

/// Evaluates a checked filter. `value` is the resource, or the element in an element
/// scope. A name that does not resolve (impossible after `check`) matches nothing.
fn eval(filter: &Filter, scope: Scope<'_>, value: &Value) -> bool {
    match filter {
        Filter::LogExp(LogExp { op, left, right }) => match op {
            LogicalOp::And => eval(left, scope, value) && eval(right, scope, value),
            LogicalOp::Or => eval(left, scope, value) || eval(right, scope, value),
        },
        Filter::Not(inner) => !eval(inner, scope, value),
        Filter::ValuePath(ValuePath { attr, filter }) => {
            let Ok(target) = resolve_target(scope, attr) else {
                return false;
            };
            let inner_scope = Scope::Element(target.top);
            top_values(&target, value).any(|element| eval(filter, inner_scope, element))
        }
        Filter::AttrExp(AttrExp::Present(path)) => match resolve_target(scope, path) {
            Ok(target) => values(&target, value).any(is_present),
            Err(_) => false,
        },
        Filter::AttrExp(AttrExp::Compare {
            path,
            op,
            value: expected,
        }) => {
            let Ok(target) = resolve_compare(scope, path, *op) else {
                return false;
            };
            let leaf = target.leaf();
            let any_eq = |expected: &CompValue| {
                values(&target, value).any(|actual| compare(leaf, CompareOp::Eq, actual, expected))
            };
            match (op, expected) {
                (CompareOp::Eq, CompValue::Null) => !values(&target, value).any(is_present),
                (CompareOp::Ne, CompValue::Null) => values(&target, value).any(is_present),
                (CompareOp::Ne, expected) => !any_eq(expected),
                (op, expected) => {
                    values(&target, value).any(|actual| compare(leaf, *op, actual, expected))
                }
            }
        }
    }
}

/// The values of the target's top attribute: each element of a multi-valued attribute,
/// or the single value.
fn top_values<'v>(target: &Target, value: &'v Value) -> impl Iterator<Item = &'v Value> {
    let container = match target.location {
        AttrLocation::Extension(schema) => get(value, schema.id),
        AttrLocation::Common | AttrLocation::Core => Some(value),
    };
    container
        .and_then(|c| get(c, target.top.name))
        .into_iter()
        .flat_map(elements)
}

/// The values the target names: the top attribute's values, or the named sub-attribute of
/// each of them.
fn values<'v>(target: &Target, value: &'v Value) -> Box<dyn Iterator<Item = &'v Value> + 'v> {
    let top = top_values(target, value);
    match target.sub {
        None => Box::new(top),
        Some(sub) => Box::new(
            top.filter_map(move |element| get(element, sub.name))
                .flat_map(elements),
        ),
    }
}

/// The elements of an array, or the value itself.
fn elements(value: &Value) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Value::Array(items) => Box::new(items.iter()),
        other => Box::new(std::iter::once(other)),
    }
}

/// A member of an object by attribute name: exact first, then case-insensitively
/// (RFC 7643 §2.1).
fn get<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    let obj = value.as_object()?;
    obj.get(name).or_else(|| {
        obj.iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// "present and not empty" (RFC 7644 §3.4.2.2, `pr`).
fn is_present(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => items.iter().any(is_present),
        Value::Object(members) => members.values().any(is_present),
        Value::Bool(_) | Value::Number(_) => true,
    }
}

/// Compares one attribute value with the filter's value, by the attribute's type.
fn compare(attr: &AttrDef, op: CompareOp, actual: &Value, expected: &CompValue) -> bool {
    match attr.ty {
        AttrType::String | AttrType::Reference => {
            let (Some(actual), Some(expected)) = (text(actual), comp_text(expected)) else {
                return false;
            };
            if attr.case_exact {
                compare_str(op, &actual, expected)
            } else if op.is_substring() {
                compare_str(op, &actual.to_lowercase(), &expected.to_lowercase())
            } else {
                ordering_matches(op, cmp_case_insensitive(&actual, expected))
            }
        }
        AttrType::Binary => match (actual, expected) {
            (Value::String(a), CompValue::String(e)) => op == CompareOp::Eq && a == e,
            _ => false,
        },
        AttrType::Boolean => match (actual, expected) {
            (Value::Bool(a), CompValue::Bool(e)) => op == CompareOp::Eq && a == e,
            _ => false,
        },
        AttrType::Integer | AttrType::Decimal => match (actual, expected) {
            (Value::Number(a), CompValue::Number(e)) => {
                let ordering = match (a.as_i64(), e.as_i64()) {
                    (Some(a), Some(e)) => Some(a.cmp(&e)),
                    _ => a.as_f64().and_then(|a| a.partial_cmp(&e.as_f64())),
                };
                ordering.is_some_and(|o| ordering_matches(op, o))
            }
            _ => false,
        },
        AttrType::DateTime => match (actual, expected) {
            (Value::String(a), CompValue::String(e)) => {
                match (parse_date_time(a), parse_date_time(e)) {
                    (Some(a), Some(e)) => ordering_matches(op, a.cmp(&e)),
                    _ => false,
                }
            }
            _ => false,
        },
        AttrType::Complex => false,
    }
}

/// Order of two strings after Unicode lower-casing (caseExact=false), without
/// allocating when both are ASCII, as identifiers and e-mail addresses usually are.
fn cmp_case_insensitive(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        if a.len() == b.len() && a.eq_ignore_ascii_case(b) {
            return Ordering::Equal;
        }
        return a
            .bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()));
    }
    a.to_lowercase().cmp(&b.to_lowercase())
}

fn compare_str(op: CompareOp, actual: &str, expected: &str) -> bool {
    match op {
        CompareOp::Co => actual.contains(expected),
        CompareOp::Sw => actual.starts_with(expected),
        CompareOp::Ew => actual.ends_with(expected),
        op => ordering_matches(op, actual.cmp(expected)),
    }
}

fn ordering_matches(op: CompareOp, ordering: Ordering) -> bool {
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// A string attribute's value as text; numbers stored in string attributes count too.
fn text(value: &Value) -> Option<std::borrow::Cow<'_, str>> {
    match value {
        Value::String(s) => Some(s.as_str().into()),
        Value::Number(n) => Some(n.to_string().into()),
        _ => None,
    }
}

/// The filter value as text: strings, and numbers as written (leniency 6).
fn comp_text(value: &CompValue) -> Option<&str> {
    match value {
        CompValue::String(s) => Some(s),
        CompValue::Number(n) => Some(n.as_str()),
        CompValue::Null | CompValue::Bool(_) => None,
    }
}

/// An RFC 3339 / xsd:dateTime instant (RFC 7643 §2.3.5). Without an offset the time is
/// read as UTC (leniency 7).
pub fn parse_date_time(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        // `%.f` also accepts no fraction at all.
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
            .ok()
            .map(|naive| naive.and_utc().fixed_offset())
    })
}
