//! Attributes every resource has (RFC 7643 §3 and §3.1). They belong to no schema, so they
//! are not listed in `/Schemas` bodies (RFC 7643 §8.7.1 leaves them out too), but filters,
//! paths and projections can name them.

use super::{AttrDef, Mutability, Returned, Uniqueness};

/// `schemas` (RFC 7643 §3): the URIs of the schemas a resource uses. Not a common attribute
/// in the §3.1 sense, but filters may name it (RFC 7644 §3.4.2.2, Figure 2:
/// `schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`). URNs compare
/// case-insensitively (RFC 8141 §3.1 for the prefix; SCIM URIs are matched that way in
/// practice), so `caseExact` is false.
pub static SCHEMAS: AttrDef = AttrDef::string(
    "schemas",
    "The URIs of the schemas used to define the attributes present in the resource.",
)
.multi_valued()
.required()
.mutability(Mutability::ReadOnly)
.returned(Returned::Always);

/// `id` (RFC 7643 §3.1): assigned by the service provider, case-exact, always returned.
pub static ID: AttrDef = AttrDef::string(
    "id",
    "A unique identifier for a SCIM resource as defined by the service provider.",
)
.case_exact()
.mutability(Mutability::ReadOnly)
.returned(Returned::Always)
.uniqueness(Uniqueness::Server);

/// `externalId` (RFC 7643 §3.1): the client's identifier, case-exact.
pub static EXTERNAL_ID: AttrDef = AttrDef::string(
    "externalId",
    "A String that is an identifier for the resource as defined by the provisioning client.",
)
.case_exact();

static META_SUB: [AttrDef; 5] = [
    AttrDef::string("resourceType", "The name of the resource type of the resource.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
    AttrDef::date_time(
        "created",
        "The \"DateTime\" that the resource was added to the service provider.",
    )
    .mutability(Mutability::ReadOnly),
    AttrDef::date_time(
        "lastModified",
        "The most recent DateTime that the details of this resource were updated at the service provider.",
    )
    .mutability(Mutability::ReadOnly),
    AttrDef::reference("location", "The URI of the resource being returned.", &["uri"])
        .case_exact()
        .mutability(Mutability::ReadOnly),
    AttrDef::string("version", "The version of the resource being returned.")
        .case_exact()
        .mutability(Mutability::ReadOnly),
];

/// `meta` (RFC 7643 §3.1): read-only resource metadata.
pub static META: AttrDef = AttrDef::complex(
    "meta",
    "A complex attribute containing resource metadata.",
    &META_SUB,
)
.mutability(Mutability::ReadOnly);

/// `schemas`, `id`, `externalId`, `meta`: looked up before any schema's attributes.
pub static COMMON_ATTRIBUTES: [AttrDef; 4] = [SCHEMAS, ID, EXTERNAL_ID, META];
