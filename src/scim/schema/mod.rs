//! Attribute definitions (RFC 7643 §2, §7) as `'static` data, and their lookup.
//!
//! The data is the RFC's: core User (§4.1), Enterprise User extension (§4.3), Group (§4.2),
//! the common attributes `id`, `externalId` and `meta` (§3.1), and the schemas of the
//! discovery resources ServiceProviderConfig, ResourceType and Schema (§8.7.2).
//! Characteristics follow the schema representations of §8.7.1 (and §8.7.2 for the
//! extension and the discovery schemas).
//!
//! [`ResourceTypeDef::resolve`] turns an [`AttrPath`] (schema URN optional, attribute,
//! sub-attribute; all case-insensitive, RFC 7644 §3.10) into its [`AttrDef`]. The `/Schemas`
//! and `/ResourceTypes` bodies come from [`SchemaDef::to_json`] and
//! [`ResourceTypeDef::to_json`].

mod common;
mod group;
mod json;
mod meta;
mod user;

pub use common::{COMMON_ATTRIBUTES, EXTERNAL_ID, ID, META, SCHEMAS};
pub use group::{GROUP_RESOURCE, GROUP_SCHEMA, GROUP_SCHEMA_URN};
pub use json::{RESOURCE_TYPE_SCHEMA_URN, SCHEMA_SCHEMA_URN};
pub use meta::{
    RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA,
    SERVICE_PROVIDER_CONFIG_SCHEMA_URN,
};
pub use user::{
    ENTERPRISE_USER_SCHEMA, ENTERPRISE_USER_SCHEMA_URN, USER_RESOURCE, USER_SCHEMA, USER_SCHEMA_URN,
};

use crate::scim::path::AttrPath;

/// Every schema this server describes at `/Schemas` (RFC 7644 §4): the resource schemas,
/// then the schemas of the discovery resources (RFC 7643 §8.7.2). The latter belong to no
/// [`ResourceTypeDef`], so nothing resolves attribute paths against them.
pub static ALL_SCHEMAS: [&SchemaDef; 6] = [
    &USER_SCHEMA,
    &ENTERPRISE_USER_SCHEMA,
    &GROUP_SCHEMA,
    &SERVICE_PROVIDER_CONFIG_SCHEMA,
    &RESOURCE_TYPE_SCHEMA,
    &SCHEMA_SCHEMA,
];

/// Every resource type this server serves, as listed at `/ResourceTypes` (RFC 7644 §4).
pub static ALL_RESOURCE_TYPES: [&ResourceTypeDef; 2] = [&USER_RESOURCE, &GROUP_RESOURCE];

/// The data type of an attribute (RFC 7643 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrType {
    String,
    Boolean,
    Decimal,
    Integer,
    DateTime,
    Binary,
    Reference,
    Complex,
}

impl AttrType {
    /// The name used in schema representations (RFC 7643 §7, "type").
    pub fn as_str(self) -> &'static str {
        match self {
            AttrType::String => "string",
            AttrType::Boolean => "boolean",
            AttrType::Decimal => "decimal",
            AttrType::Integer => "integer",
            AttrType::DateTime => "dateTime",
            AttrType::Binary => "binary",
            AttrType::Reference => "reference",
            AttrType::Complex => "complex",
        }
    }
}

/// Whether and how an attribute can be written (RFC 7643 §7, "mutability").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
    WriteOnly,
}

impl Mutability {
    pub fn as_str(self) -> &'static str {
        match self {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
            Mutability::WriteOnly => "writeOnly",
        }
    }
}

/// When an attribute is returned in a response (RFC 7643 §7, "returned").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Returned {
    Always,
    Never,
    Default,
    Request,
}

impl Returned {
    pub fn as_str(self) -> &'static str {
        match self {
            Returned::Always => "always",
            Returned::Never => "never",
            Returned::Default => "default",
            Returned::Request => "request",
        }
    }
}

/// How unique a value must be (RFC 7643 §7, "uniqueness").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Uniqueness {
    None,
    Server,
    Global,
}

impl Uniqueness {
    pub fn as_str(self) -> &'static str {
        match self {
            Uniqueness::None => "none",
            Uniqueness::Server => "server",
            Uniqueness::Global => "global",
        }
    }
}

/// One attribute definition with all its characteristics (RFC 7643 §2.2, §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttrDef {
    pub name: &'static str,
    pub ty: AttrType,
    pub multi_valued: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub returned: Returned,
    pub uniqueness: Uniqueness,
    pub description: &'static str,
    pub canonical_values: &'static [&'static str],
    pub reference_types: &'static [&'static str],
    pub sub_attributes: &'static [AttrDef],
}

impl AttrDef {
    /// A single-valued, optional, case-insensitive, readWrite string returned by default:
    /// the defaults of RFC 7643 §2.2. The other constructors and the builder methods below
    /// change one characteristic each, so the tables read like §8.7.1.
    pub const fn string(name: &'static str, description: &'static str) -> AttrDef {
        AttrDef {
            name,
            ty: AttrType::String,
            multi_valued: false,
            required: false,
            case_exact: false,
            mutability: Mutability::ReadWrite,
            returned: Returned::Default,
            uniqueness: Uniqueness::None,
            description,
            canonical_values: &[],
            reference_types: &[],
            sub_attributes: &[],
        }
    }

    pub const fn boolean(name: &'static str, description: &'static str) -> AttrDef {
        AttrDef::string(name, description).of_type(AttrType::Boolean)
    }

    pub const fn date_time(name: &'static str, description: &'static str) -> AttrDef {
        AttrDef::string(name, description).of_type(AttrType::DateTime)
    }

    pub const fn binary(name: &'static str, description: &'static str) -> AttrDef {
        AttrDef::string(name, description).of_type(AttrType::Binary)
    }

    pub const fn reference(
        name: &'static str,
        description: &'static str,
        reference_types: &'static [&'static str],
    ) -> AttrDef {
        AttrDef {
            reference_types,
            ..AttrDef::string(name, description).of_type(AttrType::Reference)
        }
    }

    pub const fn complex(
        name: &'static str,
        description: &'static str,
        sub_attributes: &'static [AttrDef],
    ) -> AttrDef {
        AttrDef {
            sub_attributes,
            ..AttrDef::string(name, description).of_type(AttrType::Complex)
        }
    }

    pub const fn of_type(self, ty: AttrType) -> AttrDef {
        AttrDef { ty, ..self }
    }

    pub const fn multi_valued(self) -> AttrDef {
        AttrDef {
            multi_valued: true,
            ..self
        }
    }

    pub const fn required(self) -> AttrDef {
        AttrDef {
            required: true,
            ..self
        }
    }

    pub const fn case_exact(self) -> AttrDef {
        AttrDef {
            case_exact: true,
            ..self
        }
    }

    pub const fn mutability(self, mutability: Mutability) -> AttrDef {
        AttrDef { mutability, ..self }
    }

    pub const fn returned(self, returned: Returned) -> AttrDef {
        AttrDef { returned, ..self }
    }

    pub const fn uniqueness(self, uniqueness: Uniqueness) -> AttrDef {
        AttrDef { uniqueness, ..self }
    }

    pub const fn canonical_values(self, canonical_values: &'static [&'static str]) -> AttrDef {
        AttrDef {
            canonical_values,
            ..self
        }
    }

    /// The sub-attribute called `name` (case-insensitive, RFC 7643 §2.1).
    pub fn sub_attribute(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.sub_attributes, name)
    }

    pub fn is_complex(&self) -> bool {
        self.ty == AttrType::Complex
    }
}

/// A schema (RFC 7643 §7): its URN, name, description and top-level attributes.
#[derive(Debug, PartialEq, Eq)]
pub struct SchemaDef {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attributes: &'static [AttrDef],
}

impl SchemaDef {
    /// The top-level attribute called `name` (case-insensitive).
    pub fn attribute(&self, name: &str) -> Option<&'static AttrDef> {
        find(self.attributes, name)
    }
}

/// A schema extension of a resource type (RFC 7643 §6, "schemaExtensions").
#[derive(Debug, PartialEq, Eq)]
pub struct SchemaExtension {
    pub schema: &'static SchemaDef,
    pub required: bool,
}

/// A resource type (RFC 7643 §6).
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceTypeDef {
    /// Also the resource type's `id`.
    pub name: &'static str,
    /// Relative to the base URL, e.g. `/Users`.
    pub endpoint: &'static str,
    pub description: &'static str,
    pub schema: &'static SchemaDef,
    pub extensions: &'static [SchemaExtension],
}

/// Where a resolved attribute lives in a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrLocation {
    /// `schemas`, `id`, `externalId`, `meta` (RFC 7643 §3, §3.1): top level of every resource.
    Common,
    /// The resource type's core schema: top level of the resource.
    Core,
    /// An extension schema: inside the object keyed by the extension's URN (RFC 7643 §3.3).
    Extension(&'static SchemaDef),
}

/// An attribute path resolved against a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The attribute the path names: the sub-attribute when the path has one.
    pub attr: &'static AttrDef,
    /// The top-level attribute when `attr` is a sub-attribute.
    pub parent: Option<&'static AttrDef>,
    pub location: AttrLocation,
}

impl Resolved {
    /// The top-level attribute: the parent of a sub-attribute, or the attribute itself.
    pub fn top(&self) -> &'static AttrDef {
        self.parent.unwrap_or(self.attr)
    }
}

/// Why an attribute path does not name an attribute of a resource type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// The path's schema URN is not one of the resource type's schemas.
    #[error("unknown schema '{uri}' in attribute '{attribute}'")]
    UnknownSchema { uri: String, attribute: String },
    /// No such attribute; `attribute` is the path as the client wrote it.
    #[error("unknown attribute '{attribute}'")]
    UnknownAttribute { attribute: String },
    /// The parent exists but has no such sub-attribute.
    #[error("'{parent}' has no sub-attribute '{sub_attr}'")]
    UnknownSubAttribute { parent: String, sub_attr: String },
    /// A sub-attribute was asked of an attribute that is not complex.
    #[error("'{attribute}' is not a complex attribute, so it has no sub-attribute '{sub_attr}'")]
    NotComplex { attribute: String, sub_attr: String },
}

impl ResourceTypeDef {
    /// The schema (core or extension) whose URN is `uri`, compared case-insensitively.
    pub fn schema_by_urn(&self, uri: &str) -> Option<(&'static SchemaDef, AttrLocation)> {
        if self.schema.id.eq_ignore_ascii_case(uri) {
            return Some((self.schema, AttrLocation::Core));
        }
        self.extensions
            .iter()
            .find(|ext| ext.schema.id.eq_ignore_ascii_case(uri))
            .map(|ext| (ext.schema, AttrLocation::Extension(ext.schema)))
    }

    /// The schema a whole path names, when the path is just a schema URN, e.g. the attribute
    /// list entry `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`, which the
    /// path grammar reads as URI `…:2.0` and attribute `User`.
    pub fn schema_named_by(&self, path: &AttrPath) -> Option<&'static SchemaDef> {
        let uri = path.uri.as_deref()?;
        if path.sub_attr.is_some() {
            return None;
        }
        let (prefix, name) = self.schema.id.rsplit_once(':')?;
        if prefix.eq_ignore_ascii_case(uri) && name.eq_ignore_ascii_case(&path.name) {
            return Some(self.schema);
        }
        self.extensions.iter().map(|ext| ext.schema).find(|schema| {
            schema.id.rsplit_once(':').is_some_and(|(prefix, name)| {
                prefix.eq_ignore_ascii_case(uri) && name.eq_ignore_ascii_case(&path.name)
            })
        })
    }

    /// Resolves `path` to its attribute definition (RFC 7644 §3.10).
    ///
    /// - With a schema URN, the attribute is looked up in that schema; the core schema's URN
    ///   also reaches the common attributes (`urn:…:core:2.0:User:id`).
    /// - Without one, the common attributes and the core schema are searched first, then the
    ///   extensions. RFC 7644 §3.10 asks for the URN on extension attributes; accepting the
    ///   bare name when no core attribute has it is a leniency for clients that omit it.
    /// - Names compare case-insensitively (RFC 7643 §2.1).
    pub fn resolve(&self, path: &AttrPath) -> Result<Resolved, ResolveError> {
        let (attr, location) = match &path.uri {
            Some(uri) => {
                let (schema, location) =
                    self.schema_by_urn(uri)
                        .ok_or_else(|| ResolveError::UnknownSchema {
                            uri: uri.clone(),
                            attribute: path.to_string(),
                        })?;
                let found = match location {
                    AttrLocation::Core => find(&COMMON_ATTRIBUTES, &path.name)
                        .map(|attr| (attr, AttrLocation::Common))
                        .or_else(|| schema.attribute(&path.name).map(|attr| (attr, location))),
                    _ => schema.attribute(&path.name).map(|attr| (attr, location)),
                };
                found.ok_or_else(|| ResolveError::UnknownAttribute {
                    attribute: path.to_string(),
                })?
            }
            None => {
                self.find_unqualified(&path.name)
                    .ok_or_else(|| ResolveError::UnknownAttribute {
                        attribute: path.to_string(),
                    })?
            }
        };
        match &path.sub_attr {
            None => Ok(Resolved {
                attr,
                parent: None,
                location,
            }),
            Some(sub_attr) => {
                if !attr.is_complex() {
                    return Err(ResolveError::NotComplex {
                        attribute: path.without_sub_attr().to_string(),
                        sub_attr: sub_attr.clone(),
                    });
                }
                let sub = attr.sub_attribute(sub_attr).ok_or_else(|| {
                    ResolveError::UnknownSubAttribute {
                        parent: path.without_sub_attr().to_string(),
                        sub_attr: sub_attr.clone(),
                    }
                })?;
                Ok(Resolved {
                    attr: sub,
                    parent: Some(attr),
                    location,
                })
            }
        }
    }

    fn find_unqualified(&self, name: &str) -> Option<(&'static AttrDef, AttrLocation)> {
        if let Some(attr) = find(&COMMON_ATTRIBUTES, name) {
            return Some((attr, AttrLocation::Common));
        }
        if let Some(attr) = self.schema.attribute(name) {
            return Some((attr, AttrLocation::Core));
        }
        self.extensions.iter().find_map(|ext| {
            ext.schema
                .attribute(name)
                .map(|attr| (attr, AttrLocation::Extension(ext.schema)))
        })
    }
}

fn find(attrs: &'static [AttrDef], name: &str) -> Option<&'static AttrDef> {
    attrs
        .iter()
        .find(|attr| attr.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests;
