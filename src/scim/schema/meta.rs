//! The schemas of the discovery resources themselves (RFC 7643 §5, §6, §7), as RFC 7643
//! §8.7.2 represents them: ServiceProviderConfig, ResourceType and Schema.
//!
//! They are served at `/Schemas` (RFC 7644 §4) so that clients can read the shape of
//! `/ServiceProviderConfig`, `/ResourceTypes` and `/Schemas`. They are not the schema of
//! any [`ResourceTypeDef`](super::ResourceTypeDef): attribute paths and filters never
//! resolve against them.
//!
//! Every attribute and characteristic is §8.7.2's, including three oddities of that
//! section that are kept on purpose so that the representation is the RFC's:
//! - ServiceProviderConfig has no `etag` attribute, and `authenticationSchemes` has no
//!   `type` or `primary` sub-attribute, although §5 defines all three.
//! - ResourceType's `schemaExtensions` is printed `"multiValued": false` and
//!   `"required": true`, although §6 calls it an OPTIONAL list; this server describes it as
//!   the optional list it sends.
//! - Schema's `description` attribute carries the description of `name`.
//!
//! Where §8.7.2 leaves out `caseExact` or `uniqueness` (booleans, complex attributes), the
//! §2.2 defaults (`false`, `none`) apply, which is what [`AttrDef::to_json`] writes out.

use super::json::{RESOURCE_TYPE_SCHEMA_URN, SCHEMA_SCHEMA_URN};
use super::{AttrDef, AttrType, Mutability, SchemaDef};

/// RFC 7643 §5: the schema of the `/ServiceProviderConfig` resource.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA_URN: &str =
    "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";

/// Every attribute in §8.7.2 is `"mutability": "readOnly"`.
const fn ro(attr: AttrDef) -> AttrDef {
    attr.mutability(Mutability::ReadOnly)
}

const fn integer(name: &'static str, description: &'static str) -> AttrDef {
    AttrDef::string(name, description).of_type(AttrType::Integer)
}

// ---------------------------------------------------------------------------------------
// ServiceProviderConfig (§5, §8.7.2)
// ---------------------------------------------------------------------------------------

const SUPPORTED: AttrDef = ro(AttrDef::boolean(
    "supported",
    "A Boolean value specifying whether or not the operation is supported.",
))
.required();

static SUPPORTED_ONLY_SUB: [AttrDef; 1] = [SUPPORTED];

static BULK_SUB: [AttrDef; 3] = [
    SUPPORTED,
    ro(integer(
        "maxOperations",
        "An integer value specifying the maximum number of operations.",
    ))
    .required(),
    ro(integer(
        "maxPayloadSize",
        "An integer value specifying the maximum payload size in bytes.",
    ))
    .required(),
];

static FILTER_SUB: [AttrDef; 2] = [
    SUPPORTED,
    ro(integer(
        "maxResults",
        "An integer value specifying the maximum number of resources returned in a response.",
    ))
    .required(),
];

static AUTHENTICATION_SCHEMES_SUB: [AttrDef; 4] = [
    ro(AttrDef::string(
        "name",
        "The common authentication scheme name, e.g., HTTP Basic.",
    ))
    .required(),
    ro(AttrDef::string(
        "description",
        "A description of the authentication scheme.",
    ))
    .required(),
    ro(AttrDef::reference(
        "specUri",
        "An HTTP-addressable URL pointing to the authentication scheme's specification.",
        &["external"],
    )),
    ro(AttrDef::reference(
        "documentationUri",
        "An HTTP-addressable URL pointing to the authentication scheme's usage documentation.",
        &["external"],
    )),
];

static SERVICE_PROVIDER_CONFIG_ATTRIBUTES: [AttrDef; 7] = [
    ro(AttrDef::reference(
        "documentationUri",
        "An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.",
        &["external"],
    )),
    ro(AttrDef::complex(
        "patch",
        "A complex type that specifies PATCH configuration options.",
        &SUPPORTED_ONLY_SUB,
    ))
    .required(),
    ro(AttrDef::complex(
        "bulk",
        "A complex type that specifies bulk configuration options.",
        &BULK_SUB,
    ))
    .required(),
    ro(AttrDef::complex(
        "filter",
        "A complex type that specifies FILTER options.",
        &FILTER_SUB,
    ))
    .required(),
    ro(AttrDef::complex(
        "changePassword",
        "A complex type that specifies configuration options related to changing a password.",
        &SUPPORTED_ONLY_SUB,
    ))
    .required(),
    ro(AttrDef::complex(
        "sort",
        "A complex type that specifies sort result options.",
        &SUPPORTED_ONLY_SUB,
    ))
    .required(),
    ro(AttrDef::complex(
        "authenticationSchemes",
        "A complex type that specifies supported authentication scheme properties.",
        &AUTHENTICATION_SCHEMES_SUB,
    ))
    .multi_valued()
    .required(),
];

/// The ServiceProviderConfig schema (RFC 7643 §5, §8.7.2).
pub static SERVICE_PROVIDER_CONFIG_SCHEMA: SchemaDef = SchemaDef {
    id: SERVICE_PROVIDER_CONFIG_SCHEMA_URN,
    // §8.7.2 prints "Service Provider Configuration"; the name is only human-readable
    // (RFC 7643 §7), and clients such as scim2-tester look the schema up by the resource's
    // name, so it is named as the resource is.
    name: "ServiceProviderConfig",
    description: "Schema for representing the service provider's configuration",
    attributes: &SERVICE_PROVIDER_CONFIG_ATTRIBUTES,
};

// ---------------------------------------------------------------------------------------
// ResourceType (§6, §8.7.2)
// ---------------------------------------------------------------------------------------

static SCHEMA_EXTENSIONS_SUB: [AttrDef; 2] = [
    ro(AttrDef::reference(
        "schema",
        "The URI of a schema extension.",
        &["uri"],
    ))
    .required()
    .case_exact(),
    ro(AttrDef::boolean(
        "required",
        "A Boolean value that specifies whether or not the schema extension is required for the resource type.  If true, a resource of this type MUST include this schema extension and also include any attributes declared as required in this schema extension. If false, a resource of this type MAY omit this schema extension.",
    ))
    .required(),
];

static RESOURCE_TYPE_ATTRIBUTES: [AttrDef; 6] = [
    ro(AttrDef::string(
        "id",
        "The resource type's server unique id. May be the same as the 'name' attribute.",
    )),
    ro(AttrDef::string(
        "name",
        "The resource type name.  When applicable, service providers MUST specify the name, e.g., 'User'.",
    ))
    .required(),
    ro(AttrDef::string(
        "description",
        "The resource type's human-readable description.  When applicable, service providers MUST specify the description.",
    )),
    ro(AttrDef::reference(
        "endpoint",
        "The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.",
        &["uri"],
    ))
    .required(),
    ro(AttrDef::reference(
        "schema",
        "The resource type's primary/base schema URI.",
        &["uri"],
    ))
    .required()
    .case_exact(),
    // §8.7.2 prints this single-valued and required; §6 calls it an optional list, and
    // /ResourceTypes sends a list (or nothing, for Group), so it is described as sent.
    ro(AttrDef::complex(
        "schemaExtensions",
        "A list of URIs of the resource type's schema extensions.",
        &SCHEMA_EXTENSIONS_SUB,
    ))
    .multi_valued(),
];

/// The ResourceType schema (RFC 7643 §6, §8.7.2).
pub static RESOURCE_TYPE_SCHEMA: SchemaDef = SchemaDef {
    id: RESOURCE_TYPE_SCHEMA_URN,
    name: "ResourceType",
    description: "Specifies the schema that describes a SCIM resource type",
    attributes: &RESOURCE_TYPE_ATTRIBUTES,
};

// ---------------------------------------------------------------------------------------
// Schema (§7, §8.7.2)
// ---------------------------------------------------------------------------------------

/// The characteristics of an attribute definition (§7 "attributes"), shared by
/// `attributes` and `attributes.subAttributes`; only the former also has `subAttributes`.
macro_rules! attribute_characteristics {
    ($($extra:expr),* $(,)?) => {
        [
            ro(AttrDef::string("name", "The attribute's name."))
                .required()
                .case_exact(),
            ro(AttrDef::string(
                "type",
                "The attribute's data type. Valid values include 'string', 'complex', 'boolean', 'decimal', 'integer', 'dateTime', 'reference'.",
            ))
            .required()
            .canonical_values(&[
                "string",
                "complex",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "reference",
            ]),
            ro(AttrDef::boolean(
                "multiValued",
                "A Boolean value indicating an attribute's plurality.",
            ))
            .required(),
            ro(AttrDef::string(
                "description",
                "A human-readable description of the attribute.",
            ))
            .case_exact(),
            ro(AttrDef::boolean(
                "required",
                "A boolean value indicating whether or not the attribute is required.",
            )),
            ro(AttrDef::string(
                "canonicalValues",
                "A collection of canonical values.  When applicable, service providers MUST specify the canonical types, e.g., 'work', 'home'.",
            ))
            .multi_valued()
            .case_exact(),
            ro(AttrDef::boolean(
                "caseExact",
                "A Boolean value indicating whether or not a string attribute is case sensitive.",
            )),
            ro(AttrDef::string(
                "mutability",
                "Indicates whether or not an attribute is modifiable.",
            ))
            .case_exact()
            .canonical_values(&["readOnly", "readWrite", "immutable", "writeOnly"]),
            ro(AttrDef::string(
                "returned",
                "Indicates when an attribute is returned in a response (e.g., to a query).",
            ))
            .case_exact()
            .canonical_values(&["always", "never", "default", "request"]),
            ro(AttrDef::string(
                "uniqueness",
                "Indicates how unique a value must be.",
            ))
            .case_exact()
            .canonical_values(&["none", "server", "global"]),
            ro(AttrDef::string(
                "referenceTypes",
                "Used only with an attribute of type 'reference'.  Specifies a SCIM resourceType that a reference attribute MAY refer to, e.g., 'User'.",
            ))
            .multi_valued()
            .case_exact(),
            $($extra,)*
        ]
    };
}

static SUB_ATTRIBUTES_SUB: [AttrDef; 11] = attribute_characteristics!();

static ATTRIBUTES_SUB: [AttrDef; 12] = attribute_characteristics!(ro(AttrDef::complex(
    "subAttributes",
    "Used to define the sub-attributes of a complex attribute.",
    &SUB_ATTRIBUTES_SUB,
))
.multi_valued());

static SCHEMA_ATTRIBUTES: [AttrDef; 4] = [
    ro(AttrDef::string(
        "id",
        "The unique URI of the schema. When applicable, service providers MUST specify the URI.",
    ))
    .required(),
    ro(AttrDef::string(
        "name",
        "The schema's human-readable name.  When applicable, service providers MUST specify the name, e.g., 'User'.",
    ))
    .required(),
    // §8.7.2 as published: the text of `name` (see the module docs).
    ro(AttrDef::string(
        "description",
        "The schema's human-readable name.  When applicable, service providers MUST specify the name, e.g., 'User'.",
    )),
    ro(AttrDef::complex(
        "attributes",
        "A complex attribute that includes the attributes of a schema.",
        &ATTRIBUTES_SUB,
    ))
    .multi_valued()
    .required(),
];

/// The Schema schema (RFC 7643 §7, §8.7.2).
pub static SCHEMA_SCHEMA: SchemaDef = SchemaDef {
    id: SCHEMA_SCHEMA_URN,
    name: "Schema",
    description: "Specifies the schema that describes a SCIM schema",
    attributes: &SCHEMA_ATTRIBUTES,
};
