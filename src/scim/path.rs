//! Attribute paths (RFC 7644 §3.10), PATCH paths (§3.5.2) and the `attributes`,
//! `excludedAttributes` (§3.4.2.5, §3.9) and `sortBy` (§3.4.2.3) parameters.
//!
//! ```text
//! attrPath  = [URI ":"] ATTRNAME *1subAttr      ; RFC 7644 §3.4.2.2
//! PATH      = attrPath / valuePath [subAttr]    ; RFC 7644 §3.5.2
//! valuePath = attrPath "[" valFilter "]"
//! ```
//!
//! The URI is split from the attribute at the last `:` before the attribute name, so
//! `urn:ietf:params:scim:schemas:core:2.0:User:name.givenName` is URI
//! `urn:ietf:params:scim:schemas:core:2.0:User`, attribute `name`, sub-attribute `givenName`.
//! The parsers live with the filter grammar in [`crate::scim::filter`]; syntax errors here
//! carry [`ParseErrorKind::Path`], so they answer `400 invalidPath`.
//!
//! Leniencies (each has a test in `filter/tests.rs`):
//! - `$ref` is accepted as an attribute name, though ATTRNAME starts with ALPHA: RFC 7643
//!   itself names sub-attributes `$ref` (§2.4, `members.$ref`, `manager.$ref`).
//! - In `attributes` lists, empty items and spaces around commas are skipped, and a value
//!   filter (`emails[type eq "work"]`, which Microsoft's reference collection sends) is
//!   checked for syntax and dropped: projection works on whole attributes (§3.9).

use std::fmt;

use crate::scim::error::ParseError;
#[cfg(doc)]
use crate::scim::error::ParseErrorKind;
use crate::scim::filter::{self, FilterError, ValuePath};
use crate::scim::schema::{ResolveError, Resolved, ResourceTypeDef};

/// `attrPath = [URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2). Names are kept as the
/// client wrote them; lookups compare them case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrPath {
    /// The schema URN, without the trailing `:`.
    pub uri: Option<String>,
    pub name: String,
    pub sub_attr: Option<String>,
}

impl AttrPath {
    /// A bare attribute name, e.g. `userName`.
    pub fn new(name: impl Into<String>) -> AttrPath {
        AttrPath {
            uri: None,
            name: name.into(),
            sub_attr: None,
        }
    }

    /// The same path with a sub-attribute, e.g. `name.givenName`.
    pub fn with_sub_attr(self, sub_attr: impl Into<String>) -> AttrPath {
        AttrPath {
            sub_attr: Some(sub_attr.into()),
            ..self
        }
    }

    /// The same path with a schema URN.
    pub fn with_uri(self, uri: impl Into<String>) -> AttrPath {
        AttrPath {
            uri: Some(uri.into()),
            ..self
        }
    }

    /// The path without its sub-attribute: `name.givenName` -> `name`.
    pub fn without_sub_attr(&self) -> AttrPath {
        AttrPath {
            uri: self.uri.clone(),
            name: self.name.clone(),
            sub_attr: None,
        }
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(uri) = &self.uri {
            write!(f, "{uri}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub_attr) = &self.sub_attr {
            write!(f, ".{sub_attr}")?;
        }
        Ok(())
    }
}

/// `PATH = attrPath / valuePath [subAttr]` (RFC 7644 §3.5.2).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// `name.givenName`, `urn:…:enterprise:2.0:User:manager`, `members`.
    Attr(AttrPath),
    /// `emails[type eq "work"]`, `emails[type eq "work"].value`, `members[value eq "…"]`.
    ValuePath {
        value_path: ValuePath,
        sub_attr: Option<String>,
    },
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(path) => path.fmt(f),
            PatchPath::ValuePath {
                value_path,
                sub_attr,
            } => {
                value_path.fmt(f)?;
                match sub_attr {
                    Some(sub_attr) => write!(f, ".{sub_attr}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Parses one attribute path, e.g. `name.givenName` or a `sortBy` value. Syntax errors
/// have [`ParseErrorKind::Path`].
pub fn parse_attr_path(input: &str) -> Result<AttrPath, ParseError> {
    filter::parser::parse_attr_path(input)
}

/// Parses a PATCH operation's `path` (RFC 7644 §3.5.2). Syntax errors, including those
/// inside a value filter, have [`ParseErrorKind::Path`].
pub fn parse_patch_path(input: &str) -> Result<PatchPath, ParseError> {
    filter::parser::parse_patch_path(input)
}

/// Parses an `attributes` or `excludedAttributes` value: comma-separated attribute paths
/// (RFC 7644 §3.4.2.5). An empty input is an empty list.
pub fn parse_attr_list(input: &str) -> Result<Vec<AttrPath>, ParseError> {
    filter::parser::parse_attr_list(input)
}

/// Why a PATCH path does not fit a resource type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PathError {
    #[error(transparent)]
    Syntax(#[from] ParseError),
    /// The path names no attribute of the resource type.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A value filter (`attr[...]`) on an attribute that is not complex.
    #[error("'{attribute}' is not a complex attribute, so it cannot have a value filter")]
    NotComplex { attribute: String },
    /// The value filter itself is wrong, e.g. it names an unknown sub-attribute.
    #[error(transparent)]
    Filter(#[from] FilterError),
}

impl PathError {
    /// `invalidPath`, except for problems inside a value filter, which are `invalidFilter`
    /// (RFC 7644 §3.12, Table 9: "PATCH (Path Filter)").
    pub fn scim_type(&self) -> &'static str {
        match self {
            PathError::Syntax(e) => e.scim_type(),
            PathError::Resolve(_) | PathError::NotComplex { .. } => "invalidPath",
            PathError::Filter(e) => e.scim_type(),
        }
    }

    /// The `detail` text of the error response.
    pub fn detail(&self) -> String {
        self.to_string()
    }
}

/// Resolves a PATCH path against a resource type and checks its value filter.
///
/// Returns the attribute the path targets: for `emails[type eq "work"].value` that is
/// `emails.value` (with `emails` as parent); for `emails[type eq "work"]`, `emails`.
pub fn check_patch_path(path: &PatchPath, rt: &ResourceTypeDef) -> Result<Resolved, PathError> {
    match path {
        PatchPath::Attr(path) => Ok(rt.resolve(path)?),
        PatchPath::ValuePath {
            value_path,
            sub_attr,
        } => {
            let outer = rt.resolve(&value_path.attr)?;
            if !outer.attr.is_complex() {
                return Err(PathError::NotComplex {
                    attribute: value_path.attr.to_string(),
                });
            }
            filter::check_element(&value_path.filter, outer.attr)?;
            match sub_attr {
                None => Ok(outer),
                Some(sub_attr) => Ok(rt.resolve(&value_path.attr.clone().with_sub_attr(sub_attr))?),
            }
        }
    }
}
