use super::*;
use crate::scim::path::parse_attr_path;

fn resolve(rt: &ResourceTypeDef, path: &str) -> Result<Resolved, ResolveError> {
    rt.resolve(&parse_attr_path(path).unwrap())
}

#[test]
fn user_schema_json() {
    insta::assert_json_snapshot!(
        "user_schema",
        USER_SCHEMA.to_json("https://scim.example.com/scim/v2/")
    );
}

#[test]
fn enterprise_user_schema_json() {
    insta::assert_json_snapshot!(
        "enterprise_user_schema",
        ENTERPRISE_USER_SCHEMA.to_json("https://scim.example.com/scim/v2")
    );
}

#[test]
fn group_schema_json() {
    insta::assert_json_snapshot!(
        "group_schema",
        GROUP_SCHEMA.to_json("https://scim.example.com/scim/v2")
    );
}

#[test]
fn resource_types_json() {
    let all: Vec<_> = ALL_RESOURCE_TYPES
        .iter()
        .map(|rt| rt.to_json("https://scim.example.com/scim/v2"))
        .collect();
    insta::assert_json_snapshot!("resource_types", all);
}

#[test]
fn user_has_every_rfc_7643_attribute() {
    let names: Vec<_> = USER_SCHEMA.attributes.iter().map(|a| a.name).collect();
    assert_eq!(
        names,
        [
            "userName",
            "name",
            "displayName",
            "nickName",
            "profileUrl",
            "title",
            "userType",
            "preferredLanguage",
            "locale",
            "timezone",
            "active",
            "password",
            "emails",
            "phoneNumbers",
            "ims",
            "photos",
            "addresses",
            "groups",
            "entitlements",
            "roles",
            "x509Certificates"
        ]
    );
}

#[test]
fn characteristics_the_rest_of_the_server_relies_on() {
    let user_name = resolve(&USER_RESOURCE, "userName").unwrap().attr;
    assert!(!user_name.case_exact && user_name.required);
    assert_eq!(user_name.uniqueness, Uniqueness::Server);
    let email = resolve(&USER_RESOURCE, "emails.value").unwrap().attr;
    assert!(!email.case_exact);
    let id = resolve(&USER_RESOURCE, "id").unwrap().attr;
    assert!(id.case_exact);
    assert_eq!(
        (id.mutability, id.returned),
        (Mutability::ReadOnly, Returned::Always)
    );
    let external_id = resolve(&GROUP_RESOURCE, "externalId").unwrap().attr;
    assert!(external_id.case_exact);
    assert_eq!(external_id.mutability, Mutability::ReadWrite);
    let password = resolve(&USER_RESOURCE, "password").unwrap().attr;
    assert_eq!(
        (password.mutability, password.returned),
        (Mutability::WriteOnly, Returned::Never)
    );
    let groups = resolve(&USER_RESOURCE, "groups").unwrap().attr;
    assert_eq!(groups.mutability, Mutability::ReadOnly);
    assert!(groups.multi_valued);
    let meta = resolve(&USER_RESOURCE, "meta").unwrap();
    assert_eq!(meta.attr.mutability, Mutability::ReadOnly);
    assert_eq!(meta.location, AttrLocation::Common);
    let manager = resolve(
        &USER_RESOURCE,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
    )
    .unwrap()
    .attr;
    let subs: Vec<_> = manager.sub_attributes.iter().map(|a| a.name).collect();
    assert_eq!(subs, ["value", "$ref", "displayName"]);
    let members = resolve(&GROUP_RESOURCE, "members").unwrap().attr;
    let subs: Vec<_> = members.sub_attributes.iter().map(|a| a.name).collect();
    assert_eq!(subs, ["value", "$ref", "display", "type"]);
}

#[test]
fn resolve_is_case_insensitive_and_reports_where_the_attribute_lives() {
    let r = resolve(&USER_RESOURCE, "NAME.GIVENNAME").unwrap();
    assert_eq!(r.attr.name, "givenName");
    assert_eq!(r.parent.map(|p| p.name), Some("name"));
    assert_eq!(r.location, AttrLocation::Core);
    assert_eq!(r.top().name, "name");

    let r = resolve(
        &USER_RESOURCE,
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Manager.DisplayName",
    )
    .unwrap();
    assert_eq!(r.attr.name, "displayName");
    assert_eq!(r.location, AttrLocation::Extension(&ENTERPRISE_USER_SCHEMA));

    let r = resolve(
        &USER_RESOURCE,
        "urn:ietf:params:scim:schemas:core:2.0:User:id",
    )
    .unwrap();
    assert_eq!((r.attr.name, r.location), ("id", AttrLocation::Common));

    let r = resolve(&USER_RESOURCE, "department").unwrap();
    assert_eq!(r.location, AttrLocation::Extension(&ENTERPRISE_USER_SCHEMA));
}

#[test]
fn resolve_errors_name_the_attribute_as_written() {
    let cases = [
        ("userNme", "unknown attribute 'userNme'"),
        ("name.middle", "'name' has no sub-attribute 'middle'"),
        (
            "userName.value",
            "'userName' is not a complex attribute, so it has no sub-attribute 'value'",
        ),
        (
            "urn:example:Foo:userName",
            "unknown schema 'urn:example:Foo' in attribute 'urn:example:Foo:userName'",
        ),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber",
            "unknown attribute 'urn:ietf:params:scim:schemas:core:2.0:User:employeeNumber'",
        ),
    ];
    for (path, message) in cases {
        assert_eq!(
            resolve(&USER_RESOURCE, path).unwrap_err().to_string(),
            message
        );
    }
    assert!(resolve(&GROUP_RESOURCE, "userName").is_err());
    assert!(resolve(&GROUP_RESOURCE, "employeeNumber").is_err());
}

#[test]
fn service_provider_config_schema_json() {
    insta::assert_json_snapshot!(
        "service_provider_config_schema",
        SERVICE_PROVIDER_CONFIG_SCHEMA.to_json("https://scim.example.com/scim/v2")
    );
}

#[test]
fn resource_type_schema_json() {
    insta::assert_json_snapshot!(
        "resource_type_schema",
        RESOURCE_TYPE_SCHEMA.to_json("https://scim.example.com/scim/v2")
    );
}

#[test]
fn schema_schema_json() {
    insta::assert_json_snapshot!(
        "schema_schema",
        SCHEMA_SCHEMA.to_json("https://scim.example.com/scim/v2")
    );
}

#[test]
fn all_schemas_have_unique_ids_and_resource_schemas_come_first() {
    let ids: Vec<_> = ALL_SCHEMAS.iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            USER_SCHEMA_URN,
            ENTERPRISE_USER_SCHEMA_URN,
            GROUP_SCHEMA_URN,
            "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig",
            "urn:ietf:params:scim:schemas:core:2.0:ResourceType",
            "urn:ietf:params:scim:schemas:core:2.0:Schema",
        ]
    );
    let mut lowered: Vec<_> = ids.iter().map(|id| id.to_ascii_lowercase()).collect();
    lowered.sort();
    lowered.dedup();
    assert_eq!(lowered.len(), ids.len(), "duplicate schema id in {ids:?}");
}

#[test]
fn discovery_schemas_are_served_as_schema_resources() {
    for schema in [
        &SERVICE_PROVIDER_CONFIG_SCHEMA,
        &RESOURCE_TYPE_SCHEMA,
        &SCHEMA_SCHEMA,
    ] {
        let json = schema.to_json("https://scim.example.com/scim/v2/");
        assert_eq!(json["schemas"], serde_json::json!([SCHEMA_SCHEMA_URN]));
        assert_eq!(json["id"], schema.id);
        assert_eq!(json["meta"]["resourceType"], "Schema");
        assert_eq!(
            json["meta"]["location"],
            format!("https://scim.example.com/scim/v2/Schemas/{}", schema.id)
        );
        // RFC 7643 §8.7.2: every attribute of a discovery resource is read-only.
        fn all_read_only(attrs: &[AttrDef]) -> bool {
            attrs
                .iter()
                .all(|a| a.mutability == Mutability::ReadOnly && all_read_only(a.sub_attributes))
        }
        assert!(all_read_only(schema.attributes), "{}", schema.id);
    }
}

#[test]
fn discovery_schemas_are_not_resolvable_from_resources() {
    for rt in ALL_RESOURCE_TYPES {
        for urn in [
            SERVICE_PROVIDER_CONFIG_SCHEMA_URN,
            RESOURCE_TYPE_SCHEMA_URN,
            SCHEMA_SCHEMA_URN,
        ] {
            assert!(rt.schema_by_urn(urn).is_none());
            assert!(matches!(
                resolve(rt, &format!("{urn}:attributes")),
                Err(ResolveError::UnknownSchema { .. })
            ));
        }
        // Attribute names that exist only in the discovery schemas stay unknown.
        for name in ["authenticationSchemes", "schemaExtensions", "endpoint"] {
            assert!(resolve(rt, name).is_err(), "{name}");
        }
    }
}
