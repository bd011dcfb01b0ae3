use serde_json::json;

use super::*;
use crate::scim::resource::normalize_user;
use crate::scim::schema::ENTERPRISE_USER_SCHEMA_URN as ENT;

const ID: &str = "2819c223-7f76-453a-919d-413861904646";

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": ops})
}

fn base_user() -> Value {
    normalize_user(&json!({
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "active": true,
        ENT: {"department": "Tour Operations", "manager": {"value": "m1", "displayName": "Boss"}},
    }))
    .unwrap()
    .resource
}

fn patch_user(ops: Value) -> Result<Patched, ResourceError> {
    let req = parse_patch(&body(ops))?;
    apply_user_patch(&base_user(), ID, &req)
}

fn user_ok(ops: Value) -> Value {
    patch_user(ops).unwrap().resource
}

fn user_err(ops: Value) -> ResourceError {
    patch_user(ops).unwrap_err()
}

fn base_group() -> Value {
    json!({"displayName": "Tour Guides", "externalId": "E1"})
}

fn patch_group(ops: Value) -> Result<Patched, ResourceError> {
    let req = parse_patch(&body(ops))?;
    apply_group_patch(&base_group(), ID, &req)
}

fn members_of(ops: Value) -> Vec<MemberChange> {
    let p = patch_group(ops).unwrap();
    assert_eq!(p.resource, base_group());
    p.members
}

fn m(v: &str) -> MemberRef {
    MemberRef {
        value: v.to_owned(),
        display: None,
    }
}

// ---- parsing ---------------------------------------------------------------------------

#[test]
fn empty_operations_is_a_no_op() {
    let p = patch_user(json!([])).unwrap();
    assert_eq!(p.resource, base_user());
    assert!(p.members.is_empty());
    assert_eq!(p.password, None);
}

#[test]
fn missing_schemas_is_accepted() {
    let req =
        parse_patch(&json!({"Operations": [{"op": "replace", "path": "nickName", "value": "B"}]}))
            .unwrap();
    let p = apply_user_patch(&base_user(), ID, &req).unwrap();
    assert_eq!(p.resource["nickName"], json!("B"));
}

#[test]
fn operations_key_is_case_insensitive() {
    let req = parse_patch(
        &json!({"schemas": [PATCH_OP_URN], "operations": [{"op": "remove", "path": "nickName"}]}),
    )
    .unwrap();
    assert_eq!(req.operations.len(), 1);
}

#[test]
fn capitalised_op_names_are_accepted() {
    let got = user_ok(json!([
        {"op": "Add", "path": "nickName", "value": "Babs"},
        {"op": "REPLACE", "path": "title", "value": "Tour Guide"},
        {"op": "Remove", "path": "name.familyName"},
    ]));
    assert_eq!(got["nickName"], json!("Babs"));
    assert_eq!(got["title"], json!("Tour Guide"));
    assert_eq!(got["name"], json!({"givenName": "Barbara"}));
}

#[test]
fn unknown_keys_in_op_and_body_are_ignored() {
    let req = parse_patch(&json!({
        "schemas": [PATCH_OP_URN],
        "id": "whatever",
        "Operations": [{"name": "addMember", "op": "add", "path": "members", "value": [{"value": "u1"}]}],
    }))
    .unwrap();
    let p = apply_group_patch(&base_group(), ID, &req).unwrap();
    assert_eq!(p.members, vec![MemberChange::Add(vec![m("u1")])]);
}

#[test]
fn unknown_op_is_invalid_syntax() {
    let e = user_err(json!([{"op": "merge", "path": "nickName", "value": "x"}]));
    assert_eq!(e.scim_type(), "invalidSyntax");
    assert!(e.detail().contains("merge"));
    assert_eq!(
        user_err(json!([{"path": "nickName"}])).scim_type(),
        "invalidSyntax"
    );
    assert_eq!(user_err(json!([{"op": 1}])).scim_type(), "invalidSyntax");
    assert_eq!(user_err(json!(["add"])).scim_type(), "invalidSyntax");
}

#[test]
fn bad_bodies_are_invalid_syntax() {
    for b in [
        json!([]),
        json!("x"),
        json!({"schemas": [PATCH_OP_URN]}),
        json!({"Operations": "add"}),
    ] {
        assert_eq!(
            parse_patch(&b).unwrap_err().scim_type(),
            "invalidSyntax",
            "{b}"
        );
    }
}

#[test]
fn path_syntax_error_is_invalid_path() {
    let e = user_err(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]));
    assert_eq!(e.scim_type(), "invalidPath");
    let e = user_err(json!([{"op": "replace", "path": 5, "value": "x"}]));
    assert_eq!(e.scim_type(), "invalidPath");
}

#[test]
fn unknown_attribute_in_path_is_invalid_path() {
    let e = user_err(json!([{"op": "replace", "path": "adreses", "value": "x"}]));
    assert_eq!(e.scim_type(), "invalidPath");
    assert!(e.detail().contains("adreses"));
    let e = user_err(json!([{"op": "replace", "path": "name.nick", "value": "x"}]));
    assert_eq!(e.scim_type(), "invalidPath");
}

#[test]
fn unknown_sub_attribute_in_value_filter_is_invalid_filter() {
    let e = user_err(
        json!([{"op": "replace", "path": "emails[kind eq \"work\"].value", "value": "x"}]),
    );
    assert_eq!(e.scim_type(), "invalidFilter");
}

#[test]
fn remove_without_path_is_no_target() {
    let e = user_err(json!([{"op": "remove"}]));
    assert_eq!(e.scim_type(), "noTarget");
}

#[test]
fn add_or_replace_without_value_is_invalid_value() {
    assert_eq!(
        user_err(json!([{"op": "add", "path": "nickName"}])).scim_type(),
        "invalidValue"
    );
    assert_eq!(
        user_err(json!([{"op": "replace"}])).scim_type(),
        "invalidValue"
    );
}

#[test]
fn more_than_the_operation_limit_is_invalid_value() {
    let ops: Vec<Value> = (0..=MAX_PATCH_OPERATIONS)
        .map(|_| json!({"op": "replace", "path": "nickName", "value": "x"}))
        .collect();
    let e = parse_patch(&body(Value::Array(ops))).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
    let ops: Vec<Value> = (0..MAX_PATCH_OPERATIONS)
        .map(|_| json!({"op": "replace", "path": "nickName", "value": "x"}))
        .collect();
    assert!(parse_patch(&body(Value::Array(ops))).is_ok());
}

#[test]
fn huge_nesting_in_value_never_panics() {
    let deep = crate::scim::resource::tests::deep_value();
    let e = user_err(json!([{"op": "replace", "path": "nickName", "value": deep.clone()}]));
    assert_eq!(e.scim_type(), "invalidSyntax");
    let got = user_ok(json!([{"op": "add", "value": {"unknown": deep.clone(), "nickName": "N"}}]));
    assert_eq!(got["nickName"], json!("N"));
    // The element's unknown sub-attribute `a` is ignored: only the filter's clause remains.
    let got =
        user_ok(json!([{"op": "add", "path": "emails[type eq \"x\"]", "value": deep.clone()}]));
    assert_eq!(got["emails"][2], json!({"type": "x"}));
    let e = user_err(json!([{"op": "add", "path": "emails[type eq \"x\"].value", "value": deep}]));
    assert_eq!(e.scim_type(), "invalidSyntax");
}

#[test]
fn wrong_value_types_are_invalid_syntax() {
    let e = user_err(json!([{"op": "replace", "path": "displayName", "value": {"a": 1}}]));
    assert_eq!(e.scim_type(), "invalidSyntax");
    assert!(e.detail().contains("displayName"), "{e}");
    let e = user_err(json!([{"op": "replace", "path": "active", "value": "maybe"}]));
    assert_eq!(e.scim_type(), "invalidSyntax");
    let e = user_err(json!([{"op": "replace", "value": "not an object"}]));
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn failing_operation_applies_nothing_and_names_the_operation() {
    let e = user_err(json!([
        {"op": "replace", "path": "nickName", "value": "ok"},
        {"op": "replace", "path": "active", "value": 3},
    ]));
    assert!(e.detail().starts_with("operation 2:"), "{e}");
}

// ---- add / replace with a path ---------------------------------------------------------

#[test]
fn replace_simple_attribute() {
    assert_eq!(
        user_ok(json!([{"op": "replace", "path": "userName", "value": "new"}]))["userName"],
        json!("new")
    );
}

#[test]
fn replace_sub_attribute() {
    let got = user_ok(json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]));
    assert_eq!(
        got["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
}

#[test]
fn add_sub_attribute_creates_parent() {
    let stored = json!({"userName": "a"});
    let req = parse_patch(&body(
        json!([{"op": "add", "path": "name.givenName", "value": "G"}]),
    ))
    .unwrap();
    let got = apply_user_patch(&stored, ID, &req).unwrap().resource;
    assert_eq!(got, json!({"userName": "a", "name": {"givenName": "G"}}));
}

#[test]
fn urn_qualified_extension_paths() {
    let got = user_ok(json!([
        {"op": "replace", "path": format!("{ENT}:employeeNumber"), "value": "701984"},
        {"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": "m2"}},
    ]));
    assert_eq!(got[ENT]["employeeNumber"], json!("701984"));
    // A different manager: the old displayName is not kept.
    assert_eq!(got[ENT]["manager"], json!({"value": "m2"}));
}

#[test]
fn replace_complex_merges_sub_attributes() {
    // RFC 7644 §3.5.2.3: "Sub-attributes that are not specified ... are left unchanged."
    let got = user_ok(json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]));
    assert_eq!(
        got["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
    let got = user_ok(
        json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": "m1", "$ref": "../Users/m1"}}]),
    );
    assert_eq!(
        got[ENT]["manager"],
        json!({"value": "m1", "$ref": "../Users/m1", "displayName": "Boss"})
    );
}

#[test]
fn urn_qualified_core_path() {
    let got = user_ok(json!([
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:name.familyName", "value": "J"}
    ]));
    assert_eq!(got["name"]["familyName"], json!("J"));
}

#[test]
fn add_complex_merges_sub_attributes() {
    let got = user_ok(json!([{"op": "add", "path": "name", "value": {"middleName": "Jane"}}]));
    assert_eq!(
        got["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen", "middleName": "Jane"})
    );
}

#[test]
fn add_multi_valued_appends_and_skips_exact_duplicates() {
    let got = user_ok(json!([{"op": "add", "path": "emails", "value": [
        {"value": "babs@jensen.org", "type": "home"},
        {"value": "new@x.y", "type": "other"},
    ]}]));
    assert_eq!(got["emails"].as_array().unwrap().len(), 3);
    assert_eq!(
        got["emails"][2],
        json!({"value": "new@x.y", "type": "other"})
    );
}

#[test]
fn add_multi_valued_single_object_is_wrapped() {
    let got = user_ok(
        json!([{"op": "add", "path": "phoneNumbers", "value": {"value": "555", "type": "work"}}]),
    );
    assert_eq!(
        got["phoneNumbers"],
        json!([{"value": "555", "type": "work"}])
    );
}

#[test]
fn replace_multi_valued_replaces_whole_array() {
    let got =
        user_ok(json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.y"}]}]));
    assert_eq!(got["emails"], json!([{"value": "only@x.y"}]));
}

#[test]
fn patch_result_is_renormalised_so_second_primary_is_rejected() {
    let e = user_err(
        json!([{"op": "add", "path": "emails", "value": [{"value": "p@x.y", "primary": true}]}]),
    );
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn patch_cannot_remove_user_name() {
    let e = user_err(json!([{"op": "remove", "path": "userName"}]));
    assert_eq!(
        e,
        ResourceError::InvalidValue("userName is required".to_owned())
    );
}

#[test]
fn value_path_replace_sub_attribute_of_matching_element() {
    let got = user_ok(
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@example.com"}]),
    );
    assert_eq!(
        got["emails"][0],
        json!({"value": "new@example.com", "type": "work", "primary": true})
    );
    assert_eq!(
        got["emails"][1],
        json!({"value": "babs@jensen.org", "type": "home"})
    );
}

#[test]
fn value_path_replace_whole_matching_element() {
    let got = user_ok(
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "h2@x.y", "type": "home"}}]),
    );
    assert_eq!(got["emails"][1], json!({"value": "h2@x.y", "type": "home"}));
}

#[test]
fn entra_value_filtered_path_creates_missing_element() {
    let got = user_ok(json!([
        {"op": "replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
        {"op": "add", "path": "addresses[type eq \"work\"].locality", "value": "Hollywood"},
        {"op": "Add", "path": "emails[type eq \"other\" and primary eq false].value", "value": "o@x.y"},
    ]));
    assert_eq!(
        got["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555"}])
    );
    assert_eq!(
        got["addresses"],
        json!([{"type": "work", "locality": "Hollywood"}])
    );
    assert_eq!(
        got["emails"][2],
        json!({"type": "other", "primary": false, "value": "o@x.y"})
    );
}

#[test]
fn value_filter_without_eq_clauses_matching_nothing_is_no_target() {
    let e = user_err(
        json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}]),
    );
    assert_eq!(e.scim_type(), "noTarget");
}

#[test]
fn value_path_matching_is_case_insensitive_per_schema() {
    let got = user_ok(
        json!([{"op": "replace", "path": "emails[TYPE eq \"WORK\"].value", "value": "w@x.y"}]),
    );
    assert_eq!(got["emails"][0]["value"], json!("w@x.y"));
    assert_eq!(got["emails"].as_array().unwrap().len(), 2);
}

#[test]
fn active_accepts_true_false_strings() {
    assert_eq!(
        user_ok(json!([{"op": "Replace", "path": "active", "value": "False"}]))["active"],
        json!(false)
    );
    assert_eq!(
        user_ok(json!([{"op": "Replace", "path": "active", "value": "True"}]))["active"],
        json!(true)
    );
    assert_eq!(
        user_ok(json!([{"op": "Replace", "path": "active", "value": false}]))["active"],
        json!(false)
    );
}

#[test]
fn manager_in_patch_accepts_string_object_or_array() {
    let path = format!("{ENT}:manager");
    for v in [
        json!("m9"),
        json!({"value": "m9"}),
        json!([{"value": "m9"}]),
    ] {
        let got = user_ok(
            json!([{"op": "remove", "path": path}, {"op": "replace", "path": path, "value": v}]),
        );
        assert_eq!(got[ENT]["manager"], json!({"value": "m9"}), "{v}");
    }
    // Path-less, as Entra ID sends it.
    let got = user_ok(json!([{"op": "Add", "value": {format!("{ENT}:manager"): "m9"}}]));
    assert_eq!(got[ENT]["manager"], json!({"value": "m9"}));
}

#[test]
fn manager_empty_or_null_clears_it() {
    let path = format!("{ENT}:manager");
    for v in [json!(""), json!(null)] {
        let got = user_ok(json!([{"op": "replace", "path": path, "value": v}]));
        assert_eq!(got[ENT], json!({"department": "Tour Operations"}), "{v}");
    }
    let got = user_ok(json!([{"op": "replace", "value": {format!("{ENT}:manager"): ""}}]));
    assert!(got[ENT].get("manager").is_none());
}

// ---- path-less add / replace -----------------------------------------------------------

#[test]
fn okta_deactivation_pathless_replace() {
    let got = user_ok(json!([{"op": "replace", "value": {"active": false}}]));
    assert_eq!(got["active"], json!(false));
}

#[test]
fn pathless_value_with_dotted_and_urn_keys() {
    let got = user_ok(json!([{"op": "Add", "value": {
        "displayName": "Babs",
        "name.givenName": "B",
        "NAME.middleName": "J",
        format!("{ENT}:employeeNumber"): "42",
        "urn:ietf:params:scim:schemas:core:2.0:User:nickName": "Bj",
    }}]));
    assert_eq!(got["displayName"], json!("Babs"));
    assert_eq!(
        got["name"],
        json!({"givenName": "B", "familyName": "Jensen", "middleName": "J"})
    );
    assert_eq!(got[ENT]["employeeNumber"], json!("42"));
    assert_eq!(got["nickName"], json!("Bj"));
}

#[test]
fn pathless_value_with_extension_object() {
    let got = user_ok(
        json!([{"op": "replace", "value": {ENT: {"schemas": [ENT], "Department": "New", "costCenter": "7"}}}]),
    );
    assert_eq!(got[ENT]["department"], json!("New"));
    assert_eq!(got[ENT]["costCenter"], json!("7"));
    assert_eq!(
        got[ENT]["manager"],
        json!({"value": "m1", "displayName": "Boss"})
    );
}

#[test]
fn pathless_value_ignores_read_only_and_unknown_keys() {
    let got = user_ok(json!([{"op": "replace", "value": {
        "id": ID, "meta": {"version": "x"}, "groups": [{"value": "g"}], "schemas": ["x"],
        "adreses": "x", "http://example.com/ext": {"a": 1}, "nickName": "N",
    }}]));
    let mut expected = base_user();
    expected["nickName"] = json!("N");
    assert_eq!(got, expected);
}

#[test]
fn okta_rename_with_same_id_is_accepted() {
    let p = patch_group(json!([{"op": "replace", "value": {"id": ID, "displayName": "Renamed"}}]))
        .unwrap();
    assert_eq!(
        p.resource,
        json!({"displayName": "Renamed", "externalId": "E1"})
    );
}

#[test]
fn okta_rename_with_other_id_is_mutability() {
    let e =
        patch_group(json!([{"op": "replace", "value": {"id": "other", "displayName": "Renamed"}}]))
            .unwrap_err();
    assert_eq!(e.scim_type(), "mutability");
}

// ---- remove ----------------------------------------------------------------------------

#[test]
fn remove_attribute_and_sub_attribute() {
    let got = user_ok(
        json!([{"op": "remove", "path": "name"}, {"op": "remove", "path": format!("{ENT}:department")}]),
    );
    assert!(got.get("name").is_none());
    assert_eq!(
        got[ENT],
        json!({"manager": {"value": "m1", "displayName": "Boss"}})
    );
    let got = user_ok(
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"}]),
    );
    assert!(got.get("name").is_none(), "empty complex is not stored");
}

#[test]
fn remove_value_path_removes_matching_elements() {
    let got = user_ok(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]));
    assert_eq!(
        got["emails"],
        json!([{"value": "babs@jensen.org", "type": "home"}])
    );
    let got = user_ok(json!([{"op": "remove", "path": "emails[type eq \"nope\"]"}]));
    assert_eq!(got, base_user(), "no match is fine");
    let got = user_ok(json!([{"op": "remove", "path": "emails[value pr]"}]));
    assert!(got.get("emails").is_none());
}

#[test]
fn remove_value_path_with_sub_attribute() {
    let got = user_ok(json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]));
    assert_eq!(
        got["emails"][0],
        json!({"value": "bjensen@example.com", "type": "work"})
    );
}

#[test]
fn remove_or_change_id_or_meta_is_mutability() {
    for op in [
        json!({"op": "remove", "path": "id"}),
        json!({"op": "replace", "path": "id", "value": "x"}),
        json!({"op": "add", "path": "id", "value": "x"}),
        json!({"op": "remove", "path": "meta"}),
        json!({"op": "replace", "path": "meta.lastModified", "value": "2011-05-13T04:42:34Z"}),
        json!({"op": "add", "path": "groups", "value": [{"value": "g"}]}),
    ] {
        assert_eq!(user_err(json!([op])).scim_type(), "mutability", "{op}");
    }
}

// ---- password --------------------------------------------------------------------------

#[test]
fn password_in_patch_is_returned_separately() {
    let p = patch_user(json!([{"op": "replace", "path": "password", "value": "s3cret"}])).unwrap();
    assert_eq!(p.password.as_deref(), Some("s3cret"));
    assert_eq!(p.resource, base_user());
    let p = patch_user(json!([{"op": "replace", "value": {"password": "other"}}])).unwrap();
    assert_eq!(p.password.as_deref(), Some("other"));
    assert_eq!(p.resource, base_user());
}

// ---- group members ---------------------------------------------------------------------

#[test]
fn add_members_with_path() {
    assert_eq!(
        members_of(
            json!([{"op": "add", "path": "members", "value": [{"value": "u1", "$ref": null}, {"value": "u2", "display": "x"}]}])
        ),
        vec![MemberChange::Add(vec![
            m("u1"),
            MemberRef {
                display: Some("x".into()),
                ..m("u2")
            }
        ])]
    );
}

#[test]
fn pathless_add_and_replace_with_members_key() {
    assert_eq!(
        members_of(json!([
            {"op": "add", "value": {"members": [{"value": "u1"}]}},
            {"op": "replace", "value": {"members": [{"value": "u2"}]}},
        ])),
        vec![
            MemberChange::Add(vec![m("u1")]),
            MemberChange::Replace(vec![m("u2")])
        ]
    );
}

#[test]
fn replace_members_with_path() {
    assert_eq!(
        members_of(json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}]}])),
        vec![MemberChange::Replace(vec![m("u3")])]
    );
    assert_eq!(
        members_of(json!([{"op": "replace", "path": "members", "value": []}])),
        vec![MemberChange::Replace(vec![])]
    );
}

#[test]
fn remove_members_without_value_removes_all() {
    assert_eq!(
        members_of(json!([{"op": "remove", "path": "members"}])),
        vec![MemberChange::RemoveAll]
    );
}

#[test]
fn patch_remove_members_with_value_array_removes_only_listed() {
    assert_eq!(
        members_of(
            json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]}])
        ),
        vec![MemberChange::Remove(vec!["u1".into(), "u2".into()])]
    );
}

#[test]
fn remove_members_by_value_filter() {
    assert_eq!(
        members_of(json!([{"op": "remove", "path": "members[value eq \"u1\"]"}])),
        vec![MemberChange::Remove(vec!["u1".into()])]
    );
    assert_eq!(
        members_of(json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}])),
        vec![MemberChange::Remove(vec!["a".into(), "b".into()])]
    );
}

#[test]
fn other_member_filters_are_invalid_filter() {
    for path in [
        "members[display eq \"x\"]",
        "members[value ne \"x\"]",
        "members[value eq \"a\" and type eq \"User\"]",
    ] {
        let e = patch_group(json!([{"op": "remove", "path": path}])).unwrap_err();
        assert_eq!(e.scim_type(), "invalidFilter", "{path}");
        assert!(e.detail().contains("value eq"), "{e}");
    }
}

#[test]
fn member_changes_keep_request_order() {
    assert_eq!(
        members_of(json!([
            {"op": "remove", "path": "members"},
            {"op": "add", "path": "members", "value": [{"value": "u1"}]},
            {"op": "remove", "path": "members[value eq \"u1\"]"},
        ])),
        vec![
            MemberChange::RemoveAll,
            MemberChange::Add(vec![m("u1")]),
            MemberChange::Remove(vec!["u1".into()])
        ]
    );
}

#[test]
fn add_members_bare_string_is_invalid_value() {
    let e = patch_group(json!([{"op": "add", "path": "members", "value": "u1"}])).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
    let e =
        patch_group(json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}]))
            .unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
}

#[test]
fn members_on_user_is_invalid_path() {
    let e = user_err(json!([{"op": "add", "path": "members", "value": [{"value": "u1"}]}]));
    assert_eq!(e.scim_type(), "invalidPath");
}

#[test]
fn group_patch_replace_display_name_and_external_id() {
    let p = patch_group(json!([
        {"op": "replace", "path": "displayName", "value": "New"},
        {"op": "remove", "path": "externalId"},
    ]))
    .unwrap();
    assert_eq!(p.resource, json!({"displayName": "New"}));
    let e = patch_group(json!([{"op": "remove", "path": "displayName"}])).unwrap_err();
    assert_eq!(e.scim_type(), "invalidValue");
}

// ---- robustness ------------------------------------------------------------------------

mod prop {
    use proptest::prelude::*;
    use serde_json::{json, Value};

    use super::super::*;

    fn op_name() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!("add")),
            Just(json!("Replace")),
            Just(json!("REMOVE")),
            Just(json!("move")),
            Just(json!(null)),
            Just(json!(3)),
        ]
    }

    fn path() -> impl Strategy<Value = Option<Value>> {
        prop::option::of(prop_oneof![
            Just(json!("members")),
            Just(json!("members[value eq \"u1\"]")),
            Just(json!("members[display eq \"u1\"]")),
            Just(json!("emails[type eq \"work\"].value")),
            Just(json!("emails[type eq \"work\"]")),
            Just(json!("emails")),
            Just(json!("name.givenName")),
            Just(json!("displayName")),
            Just(json!("id")),
            Just(json!("meta.version")),
            Just(json!("active")),
            Just(json!("password")),
            Just(json!(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
            )),
            Just(json!(
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
            )),
            Just(json!("emails[")),
            Just(json!("")),
            Just(json!(7)),
            "[a-zA-Z.\\[\\]\" =:]{0,30}".prop_map(Value::String),
        ])
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-zA-Z@.]{0,8}".prop_map(Value::String),
            Just(json!("True")),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop_oneof![
                            Just("value".to_owned()),
                            Just("type".to_owned()),
                            Just("primary".to_owned()),
                            Just("members".to_owned()),
                            Just("displayName".to_owned()),
                            Just("givenName".to_owned()),
                            Just("name.givenName".to_owned()),
                            Just("emails".to_owned()),
                            Just("id".to_owned()),
                            Just("active".to_owned()),
                            Just(
                                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
                                    .to_owned()
                            ),
                            "[a-z]{1,6}",
                        ],
                        inner,
                    ),
                    0..4
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    fn operation() -> impl Strategy<Value = Value> {
        (op_name(), path(), prop::option::of(value())).prop_map(|(op, path, value)| {
            let mut m = serde_json::Map::new();
            m.insert("op".into(), op);
            if let Some(p) = path {
                m.insert("path".into(), p);
            }
            if let Some(v) = value {
                m.insert("value".into(), v);
            }
            Value::Object(m)
        })
    }

    proptest! {
        #[test]
        fn patching_never_panics_and_results_renormalise(ops in prop::collection::vec(operation(), 0..6)) {
            let body = json!({"Operations": ops});
            if let Ok(req) = parse_patch(&body) {
                if let Ok(p) = apply_user_patch(&super::base_user(), super::ID, &req) {
                    // Whatever a PATCH stores, a POST would have stored the same.
                    let again = crate::scim::resource::normalize_user(&p.resource).unwrap();
                    prop_assert_eq!(again.resource, p.resource);
                }
                if let Ok(p) = apply_group_patch(&super::base_group(), super::ID, &req) {
                    let again = crate::scim::resource::normalize_group(&p.resource).unwrap();
                    prop_assert_eq!(again.resource, p.resource);
                }
            }
        }

        #[test]
        fn normalising_never_panics_and_is_idempotent(body in value()) {
            if let Ok(u) = crate::scim::resource::normalize_user(&body) {
                let again = crate::scim::resource::normalize_user(&u.resource).unwrap();
                prop_assert_eq!(again.resource, u.resource);
            }
            if let Ok(g) = crate::scim::resource::normalize_group(&body) {
                let again = crate::scim::resource::normalize_group(&g.resource).unwrap();
                prop_assert_eq!(again.resource, g.resource);
            }
        }
    }
}

#[test]
fn path_naming_the_extension_urn_adds_replaces_and_removes_the_whole_extension() {
    let added = user_ok(
        json!([{"op": "add", "path": ENT, "value": {"department": "Ops", "schemas": [ENT]}}]),
    );
    assert_eq!(added[ENT]["department"], "Ops");
    let replaced = user_ok(json!([{"op": "replace", "path": ENT, "value": {"costCenter": "42"}}]));
    assert_eq!(replaced[ENT], json!({"costCenter": "42"}));
    let removed = user_ok(json!([{"op": "remove", "path": ENT}]));
    assert!(removed.get(ENT).is_none());
}
