use chrono::{TimeZone, Utc};
use serde_json::{json, Value};

use super::*;
use crate::scim::path::{parse_attr_list, AttrPath};
use crate::scim::schema::{AttrDef, ENTERPRISE_USER_SCHEMA_URN, GROUP_RESOURCE, USER_RESOURCE};

const ENT: &str = ENTERPRISE_USER_SCHEMA_URN;

fn user(body: Value) -> Value {
    normalize_user(&body).unwrap().resource
}

fn user_err(body: Value) -> ResourceError {
    normalize_user(&body).unwrap_err()
}

// ---- normalisation: names -------------------------------------------------------------

#[test]
fn keys_match_case_insensitively_and_come_out_canonical() {
    let got = user(json!({
        "UserName": "bjensen",
        "NAME": {"GivenName": "Barbara", "familyname": "Jensen"},
        "Emails": [{"Value": "b@example.com", "Type": "work", "Primary": true}],
        ENT: {"Department": "Tour Operations", "Manager": {"Value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
    }));
    assert_eq!(
        got,
        json!({
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work", "primary": true}],
            ENT: {"department": "Tour Operations", "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d"}},
        })
    );
}

#[test]
fn extension_urn_key_matches_case_insensitively() {
    let got = user(json!({
        "userName": "a",
        "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"employeeNumber": "1"},
    }));
    assert_eq!(got, json!({"userName": "a", ENT: {"employeeNumber": "1"}}));
}

// ---- normalisation: ignored input ------------------------------------------------------

#[test]
fn id_meta_schemas_and_groups_are_ignored() {
    let got = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "abc",
        "meta": {"resourceType": "User"},
        "groups": [{"value": "g1"}],
        "userName": "a",
    }));
    assert_eq!(got, json!({"userName": "a"}));
}

#[test]
fn unknown_attributes_and_sub_attributes_are_ignored() {
    let got = user(json!({
        "userName": "a",
        "adreses": [{"street": "x"}],
        "name": {"givenName": "B", "nickname": "x"},
        "emails": [{"value": "a@b.c", "displayName": "x"}],
    }));
    assert_eq!(
        got,
        json!({"userName": "a", "name": {"givenName": "B"}, "emails": [{"value": "a@b.c"}]})
    );
}

#[test]
fn unknown_urn_keyed_objects_are_ignored() {
    let got = normalize_group(&json!({
        "displayName": "G",
        "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group": {"description": "x"},
        "urn:example:unknown:2.0:Thing": {"a": 1},
    }))
    .unwrap();
    assert_eq!(got.resource, json!({"displayName": "G"}));
    assert_eq!(got.members, None);
}

#[test]
fn nulls_empty_strings_and_empty_arrays_are_not_stored() {
    let got = user(json!({
        "userName": "a",
        "displayName": null,
        "nickName": "",
        "roles": [],
        "emails": [null],
        "name": {"givenName": null},
        ENT: {"department": null},
    }));
    assert_eq!(got, json!({"userName": "a"}));
}

#[test]
fn extension_schemas_key_is_ignored() {
    let got = user(json!({
        "userName": "a",
        ENT: {"schemas": [ENT], "costCenter": "4130"},
    }));
    assert_eq!(got, json!({"userName": "a", ENT: {"costCenter": "4130"}}));
}

#[test]
fn read_only_sub_attributes_of_manager_are_stored_as_sent() {
    let got = user(json!({
        "userName": "a",
        ENT: {"manager": {"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"}},
    }));
    assert_eq!(
        got[ENT]["manager"],
        json!({"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"})
    );
}

// ---- normalisation: types --------------------------------------------------------------

#[test]
fn wrong_json_type_is_invalid_syntax_naming_the_attribute() {
    let e = user_err(json!({"userName": "a", "displayName": 5}));
    assert_eq!(e.scim_type(), "invalidSyntax");
    assert!(e.detail().contains("displayName"), "{e}");
    let e = user_err(json!({"userName": "a", "name": "Barbara"}));
    assert_eq!(e.scim_type(), "invalidSyntax");
    assert!(e.detail().contains("'name'"), "{e}");
    let e = user_err(json!({"userName": "a", "emails": [{"value": 7}]}));
    assert!(e.detail().contains("emails.value"), "{e}");
    let e = user_err(json!({"userName": "a", "active": "yes"}));
    assert_eq!(e.scim_type(), "invalidSyntax");
    assert!(e.detail().contains("active"), "{e}");
    let e = user_err(json!({"userName": "a", ENT: "x"}));
    assert_eq!(e.scim_type(), "invalidSyntax");
}

#[test]
fn booleans_accept_true_false_strings_in_any_case() {
    assert_eq!(
        user(json!({"userName": "a", "active": "True"}))["active"],
        json!(true)
    );
    assert_eq!(
        user(json!({"userName": "a", "active": "FALSE"}))["active"],
        json!(false)
    );
    assert_eq!(
        user(json!({"userName": "a", "active": false}))["active"],
        json!(false)
    );
    let got = user(json!({"userName": "a", "emails": [{"value": "x", "primary": "true"}]}));
    assert_eq!(got["emails"][0]["primary"], json!(true));
}

#[test]
fn single_value_for_multi_valued_attribute_is_wrapped() {
    let got = user(json!({"userName": "a", "emails": {"value": "a@b.c"}}));
    assert_eq!(got["emails"], json!([{"value": "a@b.c"}]));
}

#[test]
fn one_element_array_for_single_valued_attribute_is_unwrapped() {
    let got =
        user(json!({"userName": "a", "displayName": ["D"], ENT: {"manager": [{"value": "m"}]}}));
    assert_eq!(got["displayName"], json!("D"));
    assert_eq!(got[ENT]["manager"], json!({"value": "m"}));
    let e = user_err(json!({"userName": "a", "displayName": ["D", "E"]}));
    assert_eq!(e.scim_type(), "invalidSyntax");
}

#[test]
fn strings_are_not_format_validated() {
    let got = user(json!({
        "userName": "a",
        "emails": [{"value": "emailName357"}],
        "locale": "3d4e1b1c-6a7f-4b0a-8f4e-2b8d2c1a9e11",
        "timezone": "7c0c7d3e-1d2a-4d53-9a54-5e1f8d0d6e0b",
        "profileUrl": "not a url",
        "x509Certificates": [{"value": "not base64!"}],
    }));
    assert_eq!(got["emails"][0]["value"], json!("emailName357"));
    assert_eq!(got["locale"], json!("3d4e1b1c-6a7f-4b0a-8f4e-2b8d2c1a9e11"));
}

#[test]
fn date_time_values_must_be_rfc3339() {
    let def: &'static AttrDef = &crate::scim::schema::META.sub_attributes[1];
    assert_eq!(
        normalize_value(def, &json!("2011-08-01T18:29:49.793Z"), "meta.created").unwrap(),
        Some(json!("2011-08-01T18:29:49.793Z"))
    );
    let e = normalize_value(def, &json!("yesterday"), "meta.created").unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn manager_accepts_bare_string_object_or_one_element_array() {
    for m in [
        json!("m1"),
        json!({"value": "m1"}),
        json!([{"value": "m1"}]),
        json!(["m1"]),
    ] {
        let got = user(json!({"userName": "a", ENT: {"manager": m}}));
        assert_eq!(got[ENT]["manager"], json!({"value": "m1"}), "{m}");
    }
}

#[test]
fn manager_empty_string_or_null_clears_it() {
    for m in [json!(""), json!(null), json!([])] {
        let got = user(json!({"userName": "a", ENT: {"manager": m, "department": "D"}}));
        assert_eq!(got, json!({"userName": "a", ENT: {"department": "D"}}));
    }
    let got = user(json!({"userName": "a", ENT: {"manager": ""}}));
    assert_eq!(got, json!({"userName": "a"}));
}

#[test]
fn values_are_kept_exactly_as_sent() {
    let got = user(json!({
        "userName": "BJensen@Example.COM",
        "emails": [{"value": "BJensen@Example.COM", "type": "Work"}, {"value": "x@y.z"}],
    }));
    assert_eq!(
        got,
        json!({
            "userName": "BJensen@Example.COM",
            "emails": [{"value": "BJensen@Example.COM", "type": "Work"}, {"value": "x@y.z"}],
        })
    );
}

// ---- normalisation: required and semantic rules ----------------------------------------

#[test]
fn user_name_is_required() {
    for body in [
        json!({}),
        json!({"userName": ""}),
        json!({"userName": null}),
        json!({"displayName": "x"}),
    ] {
        let e = user_err(body);
        assert_eq!(
            e,
            ResourceError::InvalidValue("userName is required".to_owned())
        );
        assert_eq!(e.scim_type(), "invalidValue");
    }
}

#[test]
fn group_display_name_is_required() {
    let e = normalize_group(&json!({"members": []})).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
    assert!(e.detail().contains("displayName"));
    assert!(normalize_group(&json!({"displayName": ""})).is_err());
}

#[test]
fn password_is_returned_separately_never_in_resource() {
    let got = normalize_user(&json!({"userName": "a", "Password": "t1meMa$heen"})).unwrap();
    assert_eq!(got.password.as_deref(), Some("t1meMa$heen"));
    assert_eq!(got.resource, json!({"userName": "a"}));
    let e = user_err(json!({"userName": "a", "password": 5}));
    assert_eq!(e.scim_type(), "invalidSyntax");
}

#[test]
fn more_than_one_primary_is_invalid_value() {
    let e = user_err(json!({
        "userName": "a",
        "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": "True"}],
    }));
    assert_eq!(e.scim_type(), "invalidValue");
    assert!(e.detail().contains("emails"));
    // One primary and any number of non-primaries is fine.
    user(
        json!({"userName": "a", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": false}]}),
    );
}

#[test]
fn body_must_be_an_object() {
    assert_eq!(user_err(json!([1])).scim_type(), "invalidSyntax");
    assert_eq!(
        normalize_group(&json!("x")).unwrap_err().scim_type(),
        "invalidSyntax"
    );
}

/// As deep as `serde_json` parses (its recursion limit is 128).
pub(crate) fn deep_value() -> Value {
    let text = format!("{}\"x\"{}", "{\"a\":[".repeat(60), "]}".repeat(60));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn huge_nesting_is_ignored_or_rejected_without_panicking() {
    let deep = deep_value();
    // Unknown attribute: ignored.
    assert_eq!(
        user(json!({"userName": "a", "unknown": deep.clone()})),
        json!({"userName": "a"})
    );
    // Known string attribute: type error.
    assert_eq!(
        user_err(json!({"userName": "a", "nickName": deep.clone()})).scim_type(),
        "invalidSyntax"
    );
    // Known complex attribute: its unknown sub-attribute `a` is ignored.
    assert_eq!(
        user(json!({"userName": "a", "name": deep.clone()})),
        json!({"userName": "a"})
    );
    // Multi-valued complex attribute: each element's unknown sub-attribute is ignored.
    assert_eq!(
        user(json!({"userName": "a", "emails": deep})),
        json!({"userName": "a"})
    );
}

// ---- groups ----------------------------------------------------------------------------

#[test]
fn group_members_keep_only_value() {
    let got = normalize_group(&json!({
        "displayName": "G",
        "members": [
            {"value": "u1", "$ref": null, "display": "U One", "type": "User"},
            {"Value": "g2", "displayName": "nested", "$ref": "https://x/Groups/g2"},
        ],
    }))
    .unwrap();
    assert_eq!(got.resource, json!({"displayName": "G"}));
    assert_eq!(
        got.members,
        Some(vec![
            MemberRef {
                value: "u1".into(),
                display: Some("U One".into())
            },
            MemberRef {
                value: "g2".into(),
                display: None
            }
        ])
    );
}

#[test]
fn group_members_empty_array_is_some_empty() {
    let got = normalize_group(&json!({"displayName": "G", "members": []})).unwrap();
    assert_eq!(got.members, Some(vec![]));
    let got = normalize_group(&json!({"displayName": "G", "members": null})).unwrap();
    assert_eq!(got.members, Some(vec![]));
}

#[test]
fn group_member_without_value_is_invalid_value() {
    let e =
        normalize_group(&json!({"displayName": "G", "members": [{"display": "x"}]})).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
    let e = normalize_group(&json!({"displayName": "G", "members": ["u1"]})).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn group_external_id_is_kept() {
    let got = normalize_group(&json!({"displayName": "G", "externalId": "E1", "id": "x"})).unwrap();
    assert_eq!(
        got.resource,
        json!({"displayName": "G", "externalId": "E1"})
    );
}

// ---- columns ---------------------------------------------------------------------------

#[test]
fn user_columns_from_canonical_form() {
    let stored = user(json!({
        "userName": "bjensen",
        "externalId": "E1",
        "displayName": "Babs",
        "emails": [
            {"value": "home@example.com", "type": "home"},
            {"value": "BJensen@Example.com", "type": "work"},
        ],
        ENT: {"department": "Ops"},
    }));
    assert_eq!(
        user_columns(&stored),
        UserColumns {
            user_name: "bjensen".into(),
            external_id: Some("E1".into()),
            display_name: Some("Babs".into()),
            active: true,
            email: Some("bjensen@example.com".into()),
            department: Some("Ops".into()),
            emails: vec!["home@example.com".into(), "bjensen@example.com".into()],
        }
    );
}

#[test]
fn user_columns_email_prefers_primary_then_work_then_first() {
    let email = |emails: Value| user_columns(&json!({"userName": "a", "emails": emails})).email;
    assert_eq!(
        email(json!([{"value": "w@x.y", "type": "work"}, {"value": "P@x.y", "primary": true}])),
        Some("p@x.y".into())
    );
    assert_eq!(
        email(json!([{"value": "h@x.y", "type": "home"}, {"value": "w@x.y", "type": "work"}])),
        Some("w@x.y".into())
    );
    assert_eq!(
        email(json!([{"value": "f@x.y"}, {"value": "g@x.y"}])),
        Some("f@x.y".into())
    );
    assert_eq!(email(json!([{"value": "emailName357"}])), None);
    assert_eq!(email(json!([{"value": "@x.y"}])), None);
    assert_eq!(email(json!([{"value": "a@"}])), None);
    assert_eq!(user_columns(&json!({"userName": "a"})).email, None);
}

#[test]
fn user_columns_active_defaults_to_true() {
    assert!(user_columns(&json!({"userName": "a"})).active);
    assert!(!user_columns(&json!({"userName": "a", "active": false})).active);
}

#[test]
fn group_columns_from_canonical_form() {
    assert_eq!(
        group_columns(&json!({"displayName": "G", "externalId": "e"})),
        GroupColumns {
            display_name: "G".into(),
            external_id: Some("e".into())
        }
    );
}

// ---- rendering -------------------------------------------------------------------------

fn meta(rt: &'static str, location: &str) -> Meta {
    Meta {
        resource_type: rt,
        created: Utc.with_ymd_and_hms(2010, 1, 23, 4, 56, 22).unwrap(),
        last_modified: Utc.with_ymd_and_hms(2011, 5, 13, 4, 42, 34).unwrap()
            + chrono::Duration::milliseconds(250),
        location: location.to_owned(),
        version: "W/\"3694e05e9dff590\"".to_owned(),
    }
}

#[test]
fn render_user_exact_json() {
    let stored = json!({"userName": "bjensen", "active": true});
    let got = render_user(
        &stored,
        "2819c223",
        &meta("User", "https://x/Users/2819c223"),
        None,
    );
    assert_eq!(
        got,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223",
            "userName": "bjensen",
            "active": true,
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34.250Z",
                "location": "https://x/Users/2819c223",
                "version": "W/\"3694e05e9dff590\"",
            },
        })
    );
}

#[test]
fn render_user_with_extension_and_groups() {
    let stored = json!({"userName": "a", ENT: {"department": "D"}});
    let groups = vec![
        json!({"value": "g1", "$ref": "https://x/Groups/g1", "display": "G", "type": "direct"}),
    ];
    let got = render_user(
        &stored,
        "u1",
        &meta("User", "https://x/Users/u1"),
        Some(groups.clone()),
    );
    assert_eq!(
        got["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT])
    );
    assert_eq!(got["groups"], Value::Array(groups));
    assert_eq!(got[ENT], json!({"department": "D"}));
    // Empty groups are omitted.
    let got = render_user(&stored, "u1", &meta("User", "l"), Some(vec![]));
    assert!(got.get("groups").is_none());
}

#[test]
fn render_group_exact_json() {
    let stored = json!({"displayName": "Tour Guides"});
    let members = vec![
        json!({"value": "u1", "$ref": "https://x/Users/u1", "display": "Babs", "type": "User"}),
    ];
    let got = render_group(
        &stored,
        "e9e3",
        &meta("Group", "https://x/Groups/e9e3"),
        Some(members),
    );
    assert_eq!(
        got,
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e3",
            "displayName": "Tour Guides",
            "members": [{"value": "u1", "$ref": "https://x/Users/u1", "display": "Babs", "type": "User"}],
            "meta": {
                "resourceType": "Group",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34.250Z",
                "location": "https://x/Groups/e9e3",
                "version": "W/\"3694e05e9dff590\"",
            },
        })
    );
}

#[test]
fn render_group_members_empty_list_or_omitted() {
    let stored = json!({"displayName": "G"});
    let got = render_group(&stored, "g", &meta("Group", "l"), Some(vec![]));
    assert_eq!(got["members"], json!([]));
    let got = render_group(&stored, "g", &meta("Group", "l"), None);
    assert!(got.get("members").is_none());
}

// ---- projection ------------------------------------------------------------------------

fn full_user() -> Value {
    let stored = json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x.y", "type": "work"}, {"value": "h@x.y", "type": "home"}],
        "active": true,
        ENT: {"department": "D", "employeeNumber": "701984"},
    });
    let mut u = render_user(
        &stored,
        "u1",
        &meta("User", "l"),
        Some(vec![json!({"value": "g1"})]),
    );
    // As if a password had slipped through: projection must still remove it.
    u["password"] = json!("secret");
    u
}

fn attrs(list: &str) -> Vec<AttrPath> {
    parse_attr_list(list).unwrap()
}

fn proj(attributes: &str, excluded: &str) -> Value {
    project(
        full_user(),
        &USER_RESOURCE,
        &attrs(attributes),
        &attrs(excluded),
    )
}

#[test]
fn project_without_parameters_removes_only_never_returned() {
    let mut expected = full_user();
    expected.as_object_mut().unwrap().remove("password");
    assert_eq!(proj("", ""), expected);
}

#[test]
fn project_attributes_keeps_listed_and_always_returned() {
    assert_eq!(
        proj("userName", ""),
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "bjensen"})
    );
}

#[test]
fn project_attributes_sub_attribute_keeps_only_that_sub_attribute() {
    let got = proj("name.givenName,emails.value", "");
    assert_eq!(got["name"], json!({"givenName": "Barbara"}));
    assert_eq!(
        got["emails"],
        json!([{"value": "b@x.y"}, {"value": "h@x.y"}])
    );
    assert!(got.get("userName").is_none());
    assert!(got.get("meta").is_none());
}

#[test]
fn project_attributes_are_case_insensitive() {
    assert_eq!(proj("USERNAME", "")["userName"], json!("bjensen"));
}

#[test]
fn project_extension_attribute_by_urn_or_bare_name() {
    let expected = json!({"employeeNumber": "701984"});
    assert_eq!(proj(&format!("{ENT}:employeeNumber"), "")[ENT], expected);
    let got = proj("employeeNumber", "");
    assert_eq!(got[ENT], expected);
    assert_eq!(
        got["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT])
    );
}

#[test]
fn project_bare_extension_urn_means_whole_extension() {
    let got = proj(ENT, "");
    assert_eq!(
        got[ENT],
        json!({"department": "D", "employeeNumber": "701984"})
    );
    let got = proj("", ENT);
    assert!(got.get(ENT).is_none());
    assert_eq!(
        got["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn project_excluded_removes_but_never_always_returned() {
    let got = proj("", "id,schemas,emails,name.familyName,groups,meta");
    assert_eq!(got["id"], json!("u1"));
    assert!(got.get("schemas").is_some());
    assert!(got.get("emails").is_none());
    assert!(got.get("groups").is_none());
    assert!(got.get("meta").is_none());
    assert_eq!(got["name"], json!({"givenName": "Barbara"}));
    assert_eq!(got["userName"], json!("bjensen"));
}

#[test]
fn project_core_urn_means_all_core_attributes() {
    let got = proj("urn:ietf:params:scim:schemas:core:2.0:User", "");
    assert_eq!(got["userName"], json!("bjensen"));
    assert_eq!(got["emails"].as_array().unwrap().len(), 2);
    assert!(got.get(ENT).is_none());
    assert!(got.get("password").is_none());
    assert!(wants(
        &GROUP_RESOURCE,
        &attrs("urn:ietf:params:scim:schemas:core:2.0:Group"),
        &[],
        "members"
    ));
}

#[test]
fn project_never_returns_password_even_when_asked() {
    assert!(proj("password", "").get("password").is_none());
}

#[test]
fn project_drops_extension_urn_from_schemas_when_extension_not_selected() {
    let got = proj("userName", "");
    assert_eq!(
        got["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
    );
}

#[test]
fn project_unknown_attribute_names_are_ignored() {
    let got = proj("userName,nosuch", "alsonot");
    assert_eq!(got["userName"], json!("bjensen"));
}

#[test]
fn project_group_members_excluded() {
    let g = render_group(
        &json!({"displayName": "G"}),
        "g",
        &meta("Group", "l"),
        Some(vec![json!({"value": "u"})]),
    );
    let got = project(g, &GROUP_RESOURCE, &[], &attrs("members"));
    assert!(got.get("members").is_none());
    assert_eq!(got["displayName"], json!("G"));
}

#[test]
fn wants_members_and_groups() {
    let g = &GROUP_RESOURCE;
    assert!(wants(g, &[], &[], "members"));
    assert!(!wants(g, &[], &attrs("members"), "members"));
    assert!(wants(g, &[], &attrs("members.display"), "members"));
    assert!(!wants(g, &attrs("displayName"), &[], "members"));
    assert!(wants(g, &attrs("members.value"), &[], "members"));
    assert!(wants(g, &attrs("Members"), &[], "members"));
    assert!(wants(&USER_RESOURCE, &[], &[], "groups"));
    assert!(!wants(&USER_RESOURCE, &attrs("userName"), &[], "groups"));
    assert!(wants(&USER_RESOURCE, &attrs("userName"), &[], "id"));
    assert!(!wants(&USER_RESOURCE, &[], &[], "password"));
    assert!(!wants(&USER_RESOURCE, &[], &[], "nosuch"));
}

// ---- errors ----------------------------------------------------------------------------

#[test]
fn error_scim_types_and_details() {
    let cases = [
        (ResourceError::InvalidSyntax("a".into()), "invalidSyntax"),
        (ResourceError::InvalidValue("a".into()), "invalidValue"),
        (ResourceError::InvalidPath("a".into()), "invalidPath"),
        (ResourceError::NoTarget("a".into()), "noTarget"),
        (ResourceError::Mutability("a".into()), "mutability"),
        (ResourceError::InvalidFilter("a".into()), "invalidFilter"),
    ];
    for (e, t) in cases {
        assert_eq!(e.scim_type(), t);
        assert_eq!(e.detail(), "a");
    }
}
