//! Group (RFC 7643 §4.2, representation §8.7.1).

use super::{AttrDef, Mutability, ResourceTypeDef, SchemaDef};

pub const GROUP_SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// `value`, `$ref` and `type` as in §8.7.1 (immutable: a member is added or removed, never
/// edited in place). `display` is not in §8.7.1 but is one of the default sub-attributes
/// of a multi-valued attribute (RFC 7643 §2.4), and Okta sends it.
static MEMBERS_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "Identifier of the member of this Group.")
        .mutability(Mutability::Immutable),
    AttrDef::reference(
        "$ref",
        "The URI corresponding to a SCIM resource that is a member of this Group.",
        &["User", "Group"],
    )
    .mutability(Mutability::Immutable),
    AttrDef::string(
        "display",
        "A human-readable name, primarily used for display purposes.",
    )
    .mutability(Mutability::Immutable),
    AttrDef::string(
        "type",
        "A label indicating the type of resource, e.g., 'User' or 'Group'.",
    )
    .canonical_values(&["User", "Group"])
    .mutability(Mutability::Immutable),
];

/// §8.7.1 marks `displayName` `"required": false` although §4.2 says "REQUIRED". This
/// server requires it (a group without a name cannot be matched by Entra's displayName
/// lookup), and says so in /Schemas so that clients reading it send one.
static GROUP_ATTRIBUTES: [AttrDef; 2] = [
    AttrDef::string(
        "displayName",
        "A human-readable name for the Group.  REQUIRED.",
    )
    .required(),
    AttrDef::complex("members", "A list of members of the Group.", &MEMBERS_SUB).multi_valued(),
];

/// The Group schema (RFC 7643 §4.2, §8.7.1).
pub static GROUP_SCHEMA: SchemaDef = SchemaDef {
    id: GROUP_SCHEMA_URN,
    name: "Group",
    description: "Group",
    attributes: &GROUP_ATTRIBUTES,
};

/// The Group resource type (RFC 7643 §6, example in §8.6).
pub static GROUP_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "Group",
    endpoint: "/Groups",
    description: "Group",
    schema: &GROUP_SCHEMA,
    extensions: &[],
};
