//! SCIM filters (RFC 7644 §3.4.2.2): parser, AST, validation and in-memory evaluation.
//!
//! # Grammar
//!
//! The ABNF of RFC 7644 §3.4.2.2 (Figure 1), with errata 4690/7322 applied to `valFilter`
//! (a value filter cannot contain another value path):
//!
//! ```text
//! FILTER    = attrExp / logExp / valuePath / *1"not" "(" FILTER ")"
//!
//! valuePath = attrPath "[" valFilter "]"
//!             ; FILTER uses sub-attributes of a parent attrPath
//!
//! valFilter = attrExp / logExp / *1"not" "(" valFilter ")"
//!
//! attrExp   = (attrPath SP "pr") /
//!             (attrPath SP compareOp SP compValue)
//!
//! logExp    = FILTER SP ("and" / "or") SP FILTER
//!
//! compValue = false / null / true / number / string
//!             ; rules from JSON (RFC 7159)
//!
//! compareOp = "eq" / "ne" / "co" /
//!                    "sw" / "ew" /
//!                    "gt" / "lt" /
//!                    "ge" / "le"
//!
//! attrPath  = [URI ":"] ATTRNAME *1subAttr
//!             ; SCIM attribute name
//!             ; URI is SCIM "schema" URI
//!
//! ATTRNAME  = ALPHA *(nameChar)
//!
//! nameChar  = "-" / "_" / DIGIT / ALPHA
//!
//! subAttr   = "." ATTRNAME
//!             ; a sub-attribute of a complex attribute
//! ```
//!
//! Precedence is "not" > "and" > "or", and parentheses group (§3.4.2.2, "order of
//! operations"); `logExp` chains associate to the left. Attribute names, operators and
//! `and` / `or` / `not` are case-insensitive.
//!
//! # Leniencies
//!
//! Real clients do not always follow the ABNF. Each leniency below has a test in
//! `tests.rs` (named `lenient_…`).
//!
//! 1. **Bare values.** A value that is not a JSON string, number, `true`, `false` or `null`
//!    is read as a string when it is a run of characters up to whitespace, a control
//!    character or one of `( ) [ ] "`. Microsoft's reference collection sends `userName sw O`,
//!    `name.FamilyName eq Employee`, `emails.Value co example.com` and
//!    `meta.Created gt 2015-10-10T14:38:21.8617979-07:00`.
//! 2. **Whitespace.** Any run of whitespace stands for each `SP`; whitespace may surround the
//!    filter and sit inside parentheses and brackets; none is needed between `not`, `and`
//!    or `or` and a `(`, nor between a quoted string, `)` or `]` and a following `and` /
//!    `or` (`(a pr)and(b pr)`).
//! 3. **`valuePath.subAttr` comparisons.** `emails[type eq "work"].value eq "a@b.c"` (a
//!    PATCH path used as a filter attribute) is read as
//!    `emails[type eq "work" and value eq "a@b.c"]`.
//! 4. **`$ref`.** Attribute names may start with `$`, for `$ref` (RFC 7643 §2.4).
//! 5. **Unqualified extension attributes.** `employeeNumber` finds the Enterprise User
//!    attribute when no core attribute has that name (see
//!    [`ResourceTypeDef::resolve`](crate::scim::schema::ResourceTypeDef::resolve)).
//! 6. **Numbers against strings.** A number compared with a string attribute compares as
//!    the text the client wrote (`employeeNumber eq 701984`).
//! 7. **dateTimes without offset** (`2015-10-10T14:38:21`) are read as UTC.
//!
//! # Limits
//!
//! An input longer than [`MAX_FILTER_LEN`] bytes, or nesting `(`, `not (` and `[` deeper
//! than [`MAX_DEPTH`], is a [`ParseError`] like any other: never a stack overflow or a
//! panic. The length limit also bounds the number of clauses (the shortest, `a pr`, takes
//! 8 bytes with its ` or `), and so the depth of the left-leaning `and`/`or` chains that
//! `Display`, `check` and `evaluate` recurse through: about 1 000 levels at most.
//!
//! # Semantics
//!
//! See [`check`] for what is rejected as `invalidFilter` and [`evaluate`] for how
//! resources match.

pub mod ast;
mod check;
mod eval;
pub(crate) mod parser;

pub use ast::{AttrExp, CompValue, CompareOp, Filter, JsonNumber, LogExp, LogicalOp, ValuePath};
pub use check::{
    check, check_element, resolve_compare, resolve_target, FilterError, Scope, Target,
};
pub use eval::{evaluate, evaluate_element, parse_date_time};

use crate::scim::error::ParseError;

/// The longest filter (or path, or attribute list) accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// The deepest nesting of `(`, `not (` and `[` accepted.
pub const MAX_DEPTH: usize = 32;

/// Parses a filter (RFC 7644 §3.4.2.2). Errors have
/// [`ParseErrorKind::Filter`](crate::scim::error::ParseErrorKind::Filter), so they answer
/// `400 invalidFilter`.
pub fn parse_filter(input: &str) -> Result<Filter, ParseError> {
    parser::parse_filter(input)
}

/// Parses `input` and checks it against `rt` ([`check`]): the one call a handler needs
/// before compiling a filter to SQL.
pub fn parse_and_check(
    input: &str,
    rt: &crate::scim::schema::ResourceTypeDef,
) -> Result<Filter, FilterError> {
    let filter = parse_filter(input)?;
    check(&filter, rt)?;
    Ok(filter)
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests;
