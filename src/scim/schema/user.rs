//! Core User (RFC 7643 §4.1, representation §8.7.1) and the Enterprise User extension
//! (§4.3, representation §8.7.2).

use super::{
    AttrDef, Mutability, ResourceTypeDef, Returned, SchemaDef, SchemaExtension, Uniqueness,
};

pub const USER_SCHEMA_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE_USER_SCHEMA_URN: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const DISPLAY_DESC: &str =
    "A human-readable name, primarily used for display purposes.  READ-ONLY.";

static NAME_SUB: [AttrDef; 6] = [
    AttrDef::string(
        "formatted",
        "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III').",
    ),
    AttrDef::string(
        "familyName",
        "The family name of the User, or last name in most Western languages (e.g., 'Jensen' given the full name 'Ms. Barbara J Jensen, III').",
    ),
    AttrDef::string(
        "givenName",
        "The given name of the User, or first name in most Western languages (e.g., 'Barbara' given the full name 'Ms. Barbara J Jensen, III').",
    ),
    AttrDef::string(
        "middleName",
        "The middle name(s) of the User (e.g., 'Jane' given the full name 'Ms. Barbara J Jensen, III').",
    ),
    AttrDef::string(
        "honorificPrefix",
        "The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' given the full name 'Ms. Barbara J Jensen, III').",
    ),
    AttrDef::string(
        "honorificSuffix",
        "The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' given the full name 'Ms. Barbara J Jensen, III').",
    ),
];

static EMAILS_SUB: [AttrDef; 4] = [
    AttrDef::string(
        "value",
        "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', and 'other'.",
    ),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, e.g., 'work' or 'home'.",
    )
    .canonical_values(&["work", "home", "other"]),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static PHONE_NUMBERS_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "Phone number of the User."),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
    )
    .canonical_values(&["work", "home", "mobile", "fax", "pager", "other"]),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred phone number or primary phone number.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static IMS_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "Instant messaging address for the User."),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
    )
    .canonical_values(&["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred messenger or primary messenger.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static PHOTOS_SUB: [AttrDef; 4] = [
    AttrDef::reference("value", "URL of a photo of the User.", &["external"]),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
    )
    .canonical_values(&["photo", "thumbnail"]),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred photo or thumbnail.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

/// §8.7.1 lists seven sub-attributes; `primary` comes from §4.1.2 ("addresses" … "primary").
static ADDRESSES_SUB: [AttrDef; 8] = [
    AttrDef::string(
        "formatted",
        "The full mailing address, formatted for display or use with a mailing label.  This attribute MAY contain newlines.",
    ),
    AttrDef::string(
        "streetAddress",
        "The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information.  This attribute MAY contain newlines.",
    ),
    AttrDef::string("locality", "The city or locality component."),
    AttrDef::string("region", "The state or region component."),
    AttrDef::string("postalCode", "The zip code or postal code component."),
    AttrDef::string("country", "The country name component."),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, e.g., 'work' or 'home'.",
    )
    .canonical_values(&["work", "home", "other"]),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static GROUPS_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "The identifier of the User's group.")
        .mutability(Mutability::ReadOnly),
    AttrDef::reference(
        "$ref",
        "The URI of the corresponding 'Group' resource to which the user belongs.",
        &["User", "Group"],
    )
    .mutability(Mutability::ReadOnly),
    AttrDef::string("display", DISPLAY_DESC).mutability(Mutability::ReadOnly),
    AttrDef::string(
        "type",
        "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.",
    )
    .canonical_values(&["direct", "indirect"])
    .mutability(Mutability::ReadOnly),
];

static ENTITLEMENTS_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "The value of an entitlement."),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string("type", "A label indicating the attribute's function."),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static ROLES_SUB: [AttrDef; 4] = [
    AttrDef::string("value", "The value of a role."),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string("type", "A label indicating the attribute's function."),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static X509_CERTIFICATES_SUB: [AttrDef; 4] = [
    AttrDef::binary("value", "The value of an X.509 certificate."),
    AttrDef::string("display", DISPLAY_DESC),
    AttrDef::string("type", "A label indicating the attribute's function."),
    AttrDef::boolean(
        "primary",
        "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.  The primary attribute value 'true' MUST appear no more than once.",
    ),
];

static USER_ATTRIBUTES: [AttrDef; 21] = [
    AttrDef::string(
        "userName",
        "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.  Each User MUST include a non-empty userName value.  This identifier MUST be unique across the service provider's entire set of Users.  REQUIRED.",
    )
    .required()
    .uniqueness(Uniqueness::Server),
    AttrDef::complex(
        "name",
        "The components of the user's real name.  Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both.  If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.",
        &NAME_SUB,
    ),
    AttrDef::string(
        "displayName",
        "The name of the User, suitable for display to end-users.  The name SHOULD be the full name of the User being described, if known.",
    ),
    AttrDef::string(
        "nickName",
        "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'.  This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge').",
    ),
    AttrDef::reference(
        "profileUrl",
        "A fully qualified URL pointing to a page representing the User's online profile.",
        &["external"],
    ),
    AttrDef::string("title", "The user's title, such as \"Vice President.\""),
    AttrDef::string(
        "userType",
        "Used to identify the relationship between the organization and the user.  Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used.",
    ),
    AttrDef::string(
        "preferredLanguage",
        "Indicates the User's preferred written or spoken language.  Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US.",
    ),
    AttrDef::string(
        "locale",
        "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations.",
    ),
    AttrDef::string(
        "timezone",
        "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'.",
    ),
    AttrDef::boolean(
        "active",
        "A Boolean value indicating the User's administrative status.",
    ),
    AttrDef::string(
        "password",
        "The User's cleartext password.  This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.",
    )
    .mutability(Mutability::WriteOnly)
    .returned(Returned::Never),
    AttrDef::complex(
        "emails",
        "Email addresses for the user.  The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'.  Canonical type values of 'work', 'home', and 'other'.",
        &EMAILS_SUB,
    )
    .multi_valued(),
    AttrDef::complex(
        "phoneNumbers",
        "Phone numbers for the User.  The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'.  Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.",
        &PHONE_NUMBERS_SUB,
    )
    .multi_valued(),
    AttrDef::complex(
        "ims",
        "Instant messaging addresses for the User.",
        &IMS_SUB,
    )
    .multi_valued(),
    AttrDef::complex("photos", "URLs of photos of the User.", &PHOTOS_SUB).multi_valued(),
    AttrDef::complex(
        "addresses",
        "A physical mailing address for this User.  Canonical type values of 'work', 'home', and 'other'.  This attribute is a complex type with the following sub-attributes.",
        &ADDRESSES_SUB,
    )
    .multi_valued(),
    AttrDef::complex(
        "groups",
        "A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.",
        &GROUPS_SUB,
    )
    .multi_valued()
    .mutability(Mutability::ReadOnly),
    AttrDef::complex(
        "entitlements",
        "A list of entitlements for the User that represent a thing the User has.",
        &ENTITLEMENTS_SUB,
    )
    .multi_valued(),
    AttrDef::complex(
        "roles",
        "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
        &ROLES_SUB,
    )
    .multi_valued(),
    AttrDef::complex(
        "x509Certificates",
        "A list of certificates issued to the User.",
        &X509_CERTIFICATES_SUB,
    )
    .multi_valued(),
];

/// The core User schema (RFC 7643 §4.1, §8.7.1).
pub static USER_SCHEMA: SchemaDef = SchemaDef {
    id: USER_SCHEMA_URN,
    name: "User",
    description: "User Account",
    attributes: &USER_ATTRIBUTES,
};

static MANAGER_SUB: [AttrDef; 3] = [
    AttrDef::string(
        "value",
        "The id of the SCIM resource representing the User's manager.  REQUIRED.",
    ),
    AttrDef::reference(
        "$ref",
        "The URI of the SCIM resource representing the User's manager.  REQUIRED.",
        &["User"],
    ),
    AttrDef::string(
        "displayName",
        "The displayName of the User's manager.  OPTIONAL and READ-ONLY.",
    )
    .mutability(Mutability::ReadOnly),
];

static ENTERPRISE_USER_ATTRIBUTES: [AttrDef; 6] = [
    AttrDef::string(
        "employeeNumber",
        "Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.",
    ),
    AttrDef::string("costCenter", "Identifies the name of a cost center."),
    AttrDef::string("organization", "Identifies the name of an organization."),
    AttrDef::string("division", "Identifies the name of a division."),
    AttrDef::string("department", "Identifies the name of a department."),
    AttrDef::complex(
        "manager",
        "The User's manager.  A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.",
        &MANAGER_SUB,
    ),
];

/// The Enterprise User extension (RFC 7643 §4.3, §8.7.2).
pub static ENTERPRISE_USER_SCHEMA: SchemaDef = SchemaDef {
    id: ENTERPRISE_USER_SCHEMA_URN,
    name: "EnterpriseUser",
    description: "Enterprise User",
    attributes: &ENTERPRISE_USER_ATTRIBUTES,
};

/// The User resource type (RFC 7643 §6, example in §8.6). The extension is optional: Entra
/// ID and Okta send it only when an enterprise attribute is mapped.
pub static USER_RESOURCE: ResourceTypeDef = ResourceTypeDef {
    name: "User",
    endpoint: "/Users",
    description: "User Account",
    schema: &USER_SCHEMA,
    extensions: &[SchemaExtension {
        schema: &ENTERPRISE_USER_SCHEMA,
        required: false,
    }],
};
