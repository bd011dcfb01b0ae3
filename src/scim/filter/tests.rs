use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::scim::error::ParseErrorKind;
use crate::scim::path::{parse_attr_list, parse_attr_path, parse_patch_path, AttrPath, PatchPath};
use crate::scim::schema::{AttrDef, GROUP_RESOURCE, USER_RESOURCE};

// ---------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------

fn parse(input: &str) -> Filter {
    match parse_filter(input) {
        Ok(filter) => filter,
        Err(e) => unreachable!("{input:?} should parse, got: {e}"),
    }
}

/// Parses, checks the canonical form round-trips, and returns the canonical form.
fn canonical(input: &str) -> String {
    let filter = parse(input);
    let shown = filter.to_string();
    assert_eq!(
        parse(&shown),
        filter,
        "round trip of {input:?} via {shown:?}"
    );
    shown
}

fn parse_err(input: &str) -> crate::scim::error::ParseError {
    match parse_filter(input) {
        Ok(filter) => unreachable!("{input:?} should not parse, got: {filter}"),
        Err(e) => e,
    }
}

fn path(name: &str) -> AttrPath {
    match name.split_once('.') {
        Some((name, sub)) => AttrPath::new(name).with_sub_attr(sub),
        None => AttrPath::new(name),
    }
}

fn string(s: &str) -> CompValue {
    CompValue::String(s.to_owned())
}

fn eq(attr: &str, value: &str) -> Filter {
    Filter::compare(path(attr), CompareOp::Eq, string(value))
}

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "Bjensen-EXT",
        "userName": "Bjensen@Example.com",
        "name": {"formatted": "Ms. Barbara J Jensen III", "familyName": "Jensen", "givenName": "Barbara"},
        "displayName": "Babs Jensen",
        "title": "Tour Guide",
        "userType": "Employee",
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "phoneNumbers": [],
        "nickName": "",
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff590\""
        },
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "701984",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Tour Guides",
        "members": [
            {"value": "2819c223-7f76-453a-919d-413861904646", "display": "Babs Jensen", "type": "User"},
            {"value": "902c246b-6245-4190-8e05-00816be7344a", "display": "Mandy Pepperidge"}
        ]
    })
}

fn matches_user(filter: &str) -> bool {
    match evaluate(&parse(filter), &user(), &USER_RESOURCE) {
        Ok(b) => b,
        Err(e) => unreachable!("{filter:?} should be valid for User, got: {e}"),
    }
}

fn matches_group(filter: &str) -> bool {
    match evaluate(&parse(filter), &group(), &GROUP_RESOURCE) {
        Ok(b) => b,
        Err(e) => unreachable!("{filter:?} should be valid for Group, got: {e}"),
    }
}

fn user_check_err(filter: &str) -> FilterError {
    match check(&parse(filter), &USER_RESOURCE) {
        Ok(()) => unreachable!("{filter:?} should be rejected"),
        Err(e) => e,
    }
}

/// `input` then its parse result (AST, Debug-printed) or error, for snapshots.
fn describe(inputs: &[&str]) -> String {
    let mut out = String::new();
    for input in inputs {
        out.push_str(&format!("{input}\n"));
        match parse_filter(input) {
            Ok(filter) => out.push_str(&format!("=> {filter}\n{filter:#?}\n\n")),
            Err(e) => out.push_str(&format!("!! {}\n\n", e.detail())),
        }
    }
    out
}

/// `input`, a caret under the error column, and the detail, for error snapshots.
fn describe_errors(
    inputs: &[&str],
    parse: impl Fn(&str) -> Result<String, crate::scim::error::ParseError>,
) -> String {
    let mut out = String::new();
    for input in inputs {
        match parse(input) {
            Ok(ok) => out.push_str(&format!("{input}\n  unexpectedly parsed: {ok}\n\n")),
            Err(e) => {
                let caret = " ".repeat(e.column - 1);
                out.push_str(&format!(
                    "{input}\n{caret}^\n{} (offset {}): {}\n\n",
                    e.scim_type(),
                    e.offset,
                    e.detail()
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// RFC 7644 §3.4.2.2 examples (Figure 2 and the surrounding text)
// ---------------------------------------------------------------------------------------

const RFC_EXAMPLES: &[&str] = &[
    r#"userName eq "bjensen""#,
    r#"name.familyName co "O'Malley""#,
    r#"userName sw "J""#,
    r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
    r#"title pr"#,
    r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
    r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
    r#"title pr and userType eq "Employee""#,
    r#"title pr or userType eq "Intern""#,
    r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
    r#"userType eq "Employee" and (emails.type eq "work")"#,
    r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
    r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
];

#[test]
fn rfc_examples_parse_to_the_expected_trees() {
    insta::assert_snapshot!("rfc_examples", describe(RFC_EXAMPLES));
}

#[test]
fn rfc_examples_round_trip_and_are_valid_for_users() {
    for input in RFC_EXAMPLES {
        canonical(input);
        assert_eq!(check(&parse(input), &USER_RESOURCE), Ok(()), "{input}");
    }
}

#[test]
fn rfc_examples_evaluate_against_babs_jensen() {
    let expected = [
        false, // userName eq "bjensen"
        false, // name.familyName co "O'Malley"
        false, // userName sw "J"
        false, // urn…:userName sw "J"
        true,  // title pr
        false, // meta.lastModified gt (equal instant)
        true,  // ge
        false, // lt
        true,  // le
        true,  // title pr and userType eq "Employee"
        true,  // title pr or …
        true,  // schemas eq enterprise
        true,  // emails co "example.com" (value sub-attribute)
        false, // not (…) is false because emails co "example.com"
        true,  // emails.type eq "work"
        true,  // emails[type eq "work" and value co "@example.com"]
        true,  // … or ims[…]
    ];
    for (input, expected) in RFC_EXAMPLES.iter().zip(expected) {
        assert_eq!(matches_user(input), expected, "{input}");
    }
    assert!(matches_user(r#"userName sw "B""#));
    assert!(matches_user(r#"name.familyName co "ENS""#));
}

#[test]
fn rfc_example_with_the_and_or_chain_has_the_rfc_shape() {
    let filter = parse(
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
    );
    let expected = Filter::and(
        eq("userType", "Employee"),
        Filter::or(
            Filter::compare(path("emails"), CompareOp::Co, string("example.com")),
            Filter::compare(path("emails.value"), CompareOp::Co, string("example.org")),
        ),
    );
    assert_eq!(filter, expected);
}

// ---------------------------------------------------------------------------------------
// Entra ID, Okta and Microsoft's reference collection
// ---------------------------------------------------------------------------------------

#[test]
fn entra_and_okta_filters_parse_check_and_evaluate() {
    let user_filters = [
        (r#"userName eq "bjensen@example.com""#, true),
        (r#"userName eq "BJENSEN@EXAMPLE.COM""#, true),
        (r#"externalId eq "Bjensen-EXT""#, true),
        (r#"externalId eq "bjensen-ext""#, false),
        (r#"displayName eq "Babs Jensen""#, true),
        (r#"id eq "2819c223-7f76-453a-919d-413861904646""#, true),
        (r#"id eq "2819C223-7F76-453A-919D-413861904646""#, false),
        (r#"emails.value eq "BJensen@example.com""#, true),
        (
            r#"emails[type eq "work"].value eq "bjensen@example.com""#,
            true,
        ),
        (
            r#"emails[type eq "home"].value eq "bjensen@example.com""#,
            false,
        ),
        (r#"emails[type eq "work" and primary eq true]"#, true),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984""#,
            true,
        ),
        (
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#,
            true,
        ),
        (r#"active eq true"#, true),
        (r#"active eq false"#, false),
    ];
    for (input, expected) in user_filters {
        canonical(input);
        assert_eq!(matches_user(input), expected, "{input}");
    }
    let group_filters = [
        (r#"displayName eq "Tour Guides""#, true),
        (r#"displayName eq "tour guides""#, true),
        (r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a""#, true),
        (
            r#"members[value eq "902c246b-6245-4190-8e05-00816be7344a"]"#,
            true,
        ),
        (
            r#"id eq "e9e30dba-f08f-4109-8486-d5c6a331660a" and members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            true,
        ),
        (r#"members[value eq "nobody"]"#, false),
        (
            r#"members.value eq "2819c223-7f76-453a-919d-413861904646""#,
            true,
        ),
    ];
    for (input, expected) in group_filters {
        canonical(input);
        assert_eq!(matches_group(input), expected, "{input}");
    }
}

/// Every `filter=` in `shared/conformance/microsoft-scim-reference.postman_collection.json`.
const POSTMAN_FILTERS: &[&str] = &[
    r#"DisplayName eq "BobIsAmazing""#,
    r#"meta.Created gt 2015-10-10T14:38:21.8617979-07:00"#,
    r#"name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)"#,
    r#"userName sw O"#,
];

#[test]
fn postman_collection_filters() {
    insta::assert_snapshot!("postman_filters", describe(POSTMAN_FILTERS));
    for input in POSTMAN_FILTERS {
        canonical(input);
        assert_eq!(check(&parse(input), &USER_RESOURCE), Ok(()), "{input}");
    }
    assert!(!matches_user(POSTMAN_FILTERS[0]));
    assert!(!matches_user(POSTMAN_FILTERS[1])); // created 2010
    assert!(!matches_user(POSTMAN_FILTERS[2]));
    assert!(!matches_user(POSTMAN_FILTERS[3]));
    assert!(matches_user(
        r#"name.FamilyName eq JENSEN and (emails.Value co example.com or emails.Value co example.org)"#
    ));
    assert!(matches_user(
        "meta.Created gt 2009-10-10T14:38:21.8617979-07:00"
    ));
}

// ---------------------------------------------------------------------------------------
// Grammar: precedence, case, values
// ---------------------------------------------------------------------------------------

#[test]
fn and_binds_tighter_than_or() {
    let filter = parse("a eq 1 or b eq 2 and c eq 3");
    let n = |s: &str| CompValue::Number(JsonNumber::parse(s).unwrap());
    let expected = Filter::or(
        Filter::compare(path("a"), CompareOp::Eq, n("1")),
        Filter::and(
            Filter::compare(path("b"), CompareOp::Eq, n("2")),
            Filter::compare(path("c"), CompareOp::Eq, n("3")),
        ),
    );
    assert_eq!(filter, expected);
    assert_eq!(
        canonical("a eq 1 or b eq 2 and c eq 3"),
        "a eq 1 or b eq 2 and c eq 3"
    );
}

#[test]
fn precedence_shapes() {
    let cases = [
        ("a pr and b pr or c pr", "a pr and b pr or c pr"),
        ("a pr or b pr or c pr", "a pr or b pr or c pr"),
        ("a pr or (b pr or c pr)", "a pr or (b pr or c pr)"),
        ("(a pr or b pr) and c pr", "(a pr or b pr) and c pr"),
        ("a pr and (b pr and c pr)", "a pr and (b pr and c pr)"),
        ("((a pr))", "a pr"),
        ("not (a pr) and b pr", "not (a pr) and b pr"),
        ("not (a pr and b pr) or c pr", "not (a pr and b pr) or c pr"),
        ("a pr and not (b pr or c pr)", "a pr and not (b pr or c pr)"),
        ("not (not (a pr))", "not (not (a pr))"),
    ];
    for (input, shown) in cases {
        assert_eq!(canonical(input), shown, "{input}");
    }
    insta::assert_snapshot!(
        "precedence",
        describe(&["a pr and b pr or c pr", "not (a pr) and b pr or not (c pr)"])
    );
}

#[test]
fn names_operators_and_keywords_are_case_insensitive() {
    let cases = [
        (r#"USERNAME EQ "x""#, r#"USERNAME eq "x""#),
        (
            r#"userName Eq "x" AnD title PR"#,
            r#"userName eq "x" and title pr"#,
        ),
        (
            r#"NOT (title pr) OR userName sW "a""#,
            r#"not (title pr) or userName sw "a""#,
        ),
        (r#"EMAILS[TYPE EQ "work"]"#, r#"EMAILS[TYPE eq "work"]"#),
    ];
    for (input, shown) in cases {
        assert_eq!(canonical(input), shown);
    }
    assert!(matches_user(r#"USERNAME EQ "bjensen@example.com""#));
    assert!(matches_user(r#"EMAILS[TYPE EQ "work"]"#));
}

#[test]
fn every_operator() {
    for op in CompareOp::ALL {
        let filter = parse(&format!(r#"title {} "x""#, op.as_str().to_uppercase()));
        assert_eq!(filter, Filter::compare(path("title"), op, string("x")));
    }
    assert_eq!(parse("title pr"), Filter::present(path("title")));
}

#[test]
fn json_values() {
    let cases = [
        ("x eq true", CompValue::Bool(true)),
        ("x eq false", CompValue::Bool(false)),
        ("x eq null", CompValue::Null),
        ("x eq 0", CompValue::Number(JsonNumber::parse("0").unwrap())),
        (
            "x eq -12",
            CompValue::Number(JsonNumber::parse("-12").unwrap()),
        ),
        (
            "x eq 3.25",
            CompValue::Number(JsonNumber::parse("3.25").unwrap()),
        ),
        (
            "x eq 1e10",
            CompValue::Number(JsonNumber::parse("1e10").unwrap()),
        ),
        (
            "x eq -1.5E-3",
            CompValue::Number(JsonNumber::parse("-1.5E-3").unwrap()),
        ),
        (
            "x eq 2.0e+2",
            CompValue::Number(JsonNumber::parse("2.0e+2").unwrap()),
        ),
        (r#"x eq """#, string("")),
    ];
    for (input, value) in cases {
        assert_eq!(
            parse(input),
            Filter::compare(path("x"), CompareOp::Eq, value),
            "{input}"
        );
        // Numbers keep the client's spelling.
        assert_eq!(canonical(input), input);
    }
}

#[test]
fn json_number_grammar() {
    for ok in ["0", "-0", "1", "10", "1.5", "1e5", "1E+5", "1e-5", "-0.0e0"] {
        assert!(JsonNumber::parse(ok).is_some(), "{ok}");
    }
    for bad in [
        "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x10", "1.5.5", "NaN",
    ] {
        assert!(JsonNumber::parse(bad).is_none(), "{bad}");
    }
    // Not numbers, so bare words (leniency 1).
    assert_eq!(parse("x eq 01"), eq("x", "01"));
    assert_eq!(parse("x eq 1.2.3"), eq("x", "1.2.3"));
}

#[test]
fn string_escapes() {
    let cases = [
        (r#"x eq "a\"b""#, "a\"b"),
        (r#"x eq "a\\b""#, "a\\b"),
        (r#"x eq "a\/b""#, "a/b"),
        (r#"x eq "\b\f\n\r\t""#, "\u{8}\u{c}\n\r\t"),
        (r#"x eq "caf\u00e9""#, "café"),
        (r#"x eq "caf\u00E9""#, "café"),
        (r#"x eq "\u0000""#, "\u{0}"),
        (r#"x eq "\uD83D\uDE00""#, "😀"),
        (r#"x eq "\ud83d\ude00!""#, "😀!"),
        (r#"x eq "😀 ünïcödé""#, "😀 ünïcödé"),
        (r#"x eq "a]b)c(d[e""#, "a]b)c(d[e"),
        (r#"x eq "and or not pr""#, "and or not pr"),
    ];
    for (input, value) in cases {
        assert_eq!(parse(input), eq("x", value), "{input}");
        canonical(input);
    }
}

#[test]
fn attribute_paths_with_schema_urns() {
    let filter = parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#);
    let expected = Filter::compare(
        AttrPath::new("name")
            .with_sub_attr("givenName")
            .with_uri("urn:ietf:params:scim:schemas:core:2.0:User"),
        CompareOp::Eq,
        string("Barbara"),
    );
    assert_eq!(filter, expected);
    assert!(matches_user(
        r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "Barbara""#
    ));
    assert!(matches_user(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "tour""#
    ));
}

// ---------------------------------------------------------------------------------------
// Leniencies (module docs, "Leniencies")
// ---------------------------------------------------------------------------------------

#[test]
fn lenient_bare_values_are_strings() {
    assert_eq!(
        parse("userName sw O"),
        Filter::compare(path("userName"), CompareOp::Sw, string("O"))
    );
    assert_eq!(
        parse("name.FamilyName eq Employee"),
        eq("name.FamilyName", "Employee")
    );
    assert_eq!(
        parse("meta.Created gt 2015-10-10T14:38:21.8617979-07:00"),
        Filter::compare(
            path("meta.Created"),
            CompareOp::Gt,
            string("2015-10-10T14:38:21.8617979-07:00")
        )
    );
    // A bare word ends at whitespace and at brackets.
    assert_eq!(
        parse("(emails.Value co example.org)"),
        Filter::compare(path("emails.Value"), CompareOp::Co, string("example.org"))
    );
    assert_eq!(
        parse("emails[type eq work]"),
        Filter::value_path(path("emails"), eq("type", "work"))
    );
    // Literals and numbers are still literals and numbers.
    assert_eq!(
        parse("active eq true"),
        Filter::compare(path("active"), CompareOp::Eq, CompValue::Bool(true))
    );
    assert!(matches_user("userName sw bjensen@"));
    assert!(matches_user("userName eq bjensen@example.com"));
}

#[test]
fn lenient_whitespace() {
    let strict = parse(r#"title pr and not (userName eq "x")"#);
    for input in [
        "  title pr and not (userName eq \"x\")  ",
        "title   pr\tand\n not(userName  eq   \"x\")",
        "title pr and not ( userName eq \"x\" )",
    ] {
        assert_eq!(parse(input), strict, "{input:?}");
    }
    assert_eq!(
        parse("title pr and(userName pr)"),
        parse("title pr and (userName pr)")
    );
    assert_eq!(
        parse("(title pr)and(userName pr)"),
        parse("title pr and userName pr")
    );
    assert_eq!(
        parse(r#"title eq "a"or title eq "b""#),
        parse(r#"title eq "a" or title eq "b""#)
    );
    assert_eq!(
        parse("emails[ type eq \"work\" ]"),
        parse("emails[type eq \"work\"]")
    );
}

#[test]
fn lenient_value_path_sub_attribute_comparison() {
    let filter = parse(r#"emails[type eq "work"].value eq "bjensen@example.com""#);
    assert_eq!(
        filter,
        Filter::value_path(
            path("emails"),
            Filter::and(eq("type", "work"), eq("value", "bjensen@example.com"))
        )
    );
    assert_eq!(
        filter.to_string(),
        r#"emails[type eq "work" and value eq "bjensen@example.com"]"#
    );
    assert_eq!(
        parse(r#"emails[type eq "work" or primary eq true].value pr"#).to_string(),
        r#"emails[(type eq "work" or primary eq true) and value pr]"#
    );
    assert!(matches_user(r#"emails[type eq "work"].value pr"#));
    assert!(!matches_user(r#"emails[type eq "other"].value pr"#));
}

#[test]
fn lenient_dollar_ref_names() {
    assert_eq!(
        parse_attr_path("members.$ref").unwrap(),
        path("members.$ref")
    );
    assert!(check(&parse(r#"members.$ref pr"#), &GROUP_RESOURCE).is_ok());
}

#[test]
fn lenient_unqualified_extension_attribute() {
    assert!(matches_user(r#"employeeNumber eq "701984""#));
    assert!(matches_user(r#"manager.displayName eq "john smith""#));
}

#[test]
fn lenient_number_against_string_attribute() {
    assert_eq!(
        check(&parse("employeeNumber eq 701984"), &USER_RESOURCE),
        Ok(())
    );
    assert!(matches_user("employeeNumber eq 701984"));
    assert!(matches_user("employeeNumber sw 70"));
}

#[test]
fn lenient_date_time_without_offset_is_utc() {
    assert!(matches_user(
        r#"meta.lastModified eq "2011-05-13T04:42:34""#
    ));
    assert!(matches_user(
        r#"meta.lastModified eq "2011-05-13T04:42:34.000""#
    ));
    assert!(matches_user(
        r#"meta.lastModified gt "2011-05-13T04:42:33.5""#
    ));
}

#[test]
fn lenient_attribute_lists() {
    let list = parse_attr_list(r#"emails[type eq "work"]"#).unwrap();
    assert_eq!(list, vec![path("emails")]);
    let list = parse_attr_list(" userName , emails,, name.givenName ,").unwrap();
    assert_eq!(
        list,
        vec![path("userName"), path("emails"), path("name.givenName")]
    );
    assert_eq!(parse_attr_list("").unwrap(), vec![]);
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

const BAD_FILTERS: &[&str] = &[
    "",
    "   ",
    "userName",
    "userName ",
    "userName eq",
    "userName eq ",
    r#"userName regex "x""#,
    r#"userName eqq "x""#,
    r#"userName "x""#,
    r#"userName eq "x" xor title pr"#,
    r#"userName eq "x" and"#,
    r#"(userName eq "x" and)"#,
    r#"userName eq "x" andrew eq "y""#,
    r#"userName eq "x" and or title pr"#,
    r#"(userName eq "x""#,
    r#"userName eq "x")"#,
    r#"not userName eq "x""#,
    r#"emails[type eq "work""#,
    r#"emails[type eq "work"] ]"#,
    r#"emails[type eq "work" and value[x pr]]"#,
    r#"emails[]"#,
    r#"userName eq "unterminated"#,
    r#"userName eq "bad \q escape""#,
    r#"userName eq "\u12""#,
    r#"userName eq "\uD83D""#,
    r#"userName eq "\uDE00x""#,
    "userName eq \"tab\there\"",
    r#"1userName eq "x""#,
    r#"name.given.name eq "x""#,
    r#"name. eq "x""#,
    r#":userName eq "x""#,
    r#"urn:foo: eq "x""#,
    r#"user-name!x eq "x""#,
    r#"é eq "x""#,
    r#"displayName eq "Zoë" and é pr"#,
    r#"userName eq "x" and ((title pr)"#,
    r#"title pr and (emails[type eq "work"] or (x pr)"#,
];

#[test]
fn error_messages() {
    insta::assert_snapshot!(
        "filter_errors",
        describe_errors(BAD_FILTERS, |s| parse_filter(s).map(|f| f.to_string()))
    );
    for input in BAD_FILTERS {
        let e = parse_err(input);
        assert_eq!(e.kind, ParseErrorKind::Filter);
        assert_eq!(e.scim_type(), "invalidFilter");
        assert!(e.offset <= input.len() && input.is_char_boundary(e.offset));
        assert_eq!(e.column, input[..e.offset].chars().count() + 1);
        assert!(
            e.detail().ends_with(&format!(" at column {}", e.column)),
            "{}",
            e.detail()
        );
    }
}

#[test]
fn bare_words_stop_at_control_characters() {
    let e = parse_err("userName eq bare\u{0}nul");
    assert_eq!(e.offset, 16);
    assert_eq!(
        e.detail(),
        "expected 'and', 'or' or the end of the filter, found the control character U+0000 at column 17"
    );
}

#[test]
fn column_counts_characters_not_bytes() {
    let e = parse_err(r#"displayName eq "日本語" and é pr"#);
    // "é" starts at byte 31 but is the 26th character.
    assert_eq!((e.offset, e.column), (31, 26));
}

#[test]
fn nesting_deeper_than_the_limit_is_an_error() {
    let ok = format!("{}title pr{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(parse(&ok), Filter::present(path("title")));
    let too_deep = format!(
        "{}title pr{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let e = parse_err(&too_deep);
    assert_eq!(e.offset, MAX_DEPTH);
    insta::assert_snapshot!("too_deep", e.detail());

    let nots = format!(
        "{}title pr{}",
        "not (".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert!(parse_filter(&nots).is_ok(), "'not (' counts as one level");
    let nots = format!(
        "{}title pr{}",
        "not (".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    assert!(parse_err(&nots).message.contains("nested too deeply"));
    // Far past the limit: an error, not a stack overflow.
    let huge = "(".repeat(MAX_FILTER_LEN);
    assert!(parse_err(&huge).message.contains("nested too deeply"));
    let huge_not = "not(".repeat(MAX_FILTER_LEN / 4);
    assert!(parse_err(&huge_not).message.contains("nested too deeply"));
}

#[test]
fn inputs_longer_than_the_limit_are_an_error() {
    let clause = r#"userName eq "x" or "#;
    let mut long = clause.repeat(MAX_FILTER_LEN / clause.len() + 1);
    long.push_str("title pr");
    let e = parse_err(&long);
    assert_eq!(e.offset, MAX_FILTER_LEN);
    insta::assert_snapshot!("too_long", e.message);
    // Just under the limit parses, and the long left-deep chain is fine to display,
    // check, evaluate and drop.
    let fits = format!(
        "{}title pr",
        clause.repeat((MAX_FILTER_LEN - 8) / clause.len())
    );
    let filter = parse(&fits);
    assert_eq!(parse(&filter.to_string()), filter);
    assert!(matches_user(&fits));
}

// ---------------------------------------------------------------------------------------
// check: semantic errors
// ---------------------------------------------------------------------------------------

#[test]
fn check_rejects_what_the_rfc_forbids() {
    let cases = [
        r#"nosuch eq "x""#,
        r#"NoSuch.thing eq "x""#,
        r#"name.nosuch eq "x""#,
        r#"userName.sub eq "x""#,
        r#"urn:example:unknown:User:userName eq "x""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:userName eq "x""#,
        r#"active gt true"#,
        r#"active lt false"#,
        r#"active eq "true""#,
        r#"active co "t""#,
        r#"x509Certificates.value gt "MII""#,
        r#"x509Certificates.value sw "MII""#,
        r#"name gt "x""#,
        r#"name eq "x""#,
        r#"meta.created co "2011""#,
        r#"meta.created eq "yesterday""#,
        r#"meta.created gt 5"#,
        r#"userName eq true"#,
        r#"userName gt null"#,
        r#"password eq "secret""#,
        r#"password pr"#,
        r#"userName[value eq "x"]"#,
        r#"name.givenName[value eq "x"]"#,
        r#"emails[nosuch eq "x"]"#,
        r#"emails[emails.type eq "work"]"#,
        r#"emails[type gt true]"#,
    ];
    let mut out = String::new();
    for input in cases {
        let e = user_check_err(input);
        assert_eq!(e.scim_type(), "invalidFilter");
        out.push_str(&format!("{input}\n  {}\n", e.detail()));
    }
    insta::assert_snapshot!("check_errors", out);
    // The same rules make `evaluate` fail.
    assert!(evaluate(&parse("active gt true"), &user(), &USER_RESOURCE).is_err());
}

#[test]
fn unknown_attribute_is_named_as_written() {
    let e = user_check_err(r#"Name.FamilyNme eq "x""#);
    assert_eq!(e.to_string(), "'Name' has no sub-attribute 'FamilyNme'");
    let e = user_check_err(r#"userNme eq "x""#);
    assert_eq!(
        e,
        FilterError::Attribute(crate::scim::schema::ResolveError::UnknownAttribute {
            attribute: "userNme".into()
        })
    );
}

#[test]
fn check_accepts_what_the_rfc_allows() {
    for input in [
        "active eq true",
        "active ne false",
        "active pr",
        "name pr",
        "emails pr",
        r#"emails eq "bjensen@example.com""#,
        r#"meta.created lt "2020-01-01T00:00:00Z""#,
        r#"meta.created eq "2010-01-23T04:56:22+00:00""#,
        r#"userName gt "a""#,
        "title eq null",
        "title ne null",
        r#"x509Certificates.value eq "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx""#,
        r#"groups.display eq "Tour Guides""#,
        r#"profileUrl sw "https://""#,
    ] {
        assert_eq!(check(&parse(input), &USER_RESOURCE), Ok(()), "{input}");
    }
}

// ---------------------------------------------------------------------------------------
// evaluate: semantics
// ---------------------------------------------------------------------------------------

#[test]
fn case_exactness_follows_the_schema() {
    assert!(matches_user(r#"userName eq "BJENSEN@example.COM""#));
    assert!(matches_user(r#"emails.value eq "BABS@JENSEN.ORG""#));
    assert!(matches_user(r#"emails.value ew "JENSEN.ORG""#));
    assert!(!matches_user(
        r#"id eq "2819C223-7F76-453A-919D-413861904646""#
    ));
    assert!(matches_user(r#"externalId eq "Bjensen-EXT""#));
    assert!(!matches_user(r#"externalId eq "BJENSEN-EXT""#));
    assert!(!matches_user(r#"externalId sw "bjensen""#));
    let emile = json!({"userName": "Émile.Zoë@example.com"});
    let f = |s: &str| evaluate(&parse(s), &emile, &USER_RESOURCE).unwrap();
    assert!(f(r#"userName eq "émile.zoë@EXAMPLE.com""#));
    assert!(f(r#"userName sw "ÉMILE""#));
    assert!(f(r#"userName gt "émile""#));
    assert!(!f(r#"userName eq "emile.zoe@example.com""#));
    assert!(matches_user(r#"meta.resourceType eq "User""#));
    assert!(!matches_user(r#"meta.resourceType eq "user""#));
}

#[test]
fn multi_valued_attributes_match_when_any_value_matches() {
    assert!(matches_user(r#"emails.type eq "home""#));
    assert!(matches_user(r#"emails.type eq "work""#));
    assert!(!matches_user(r#"emails.type eq "other""#));
    // `ne` is `not eq`: some email is "work", so `ne "work"` does not match.
    assert!(!matches_user(r#"emails.type ne "work""#));
    assert!(matches_user(r#"emails.type ne "other""#));
    assert!(matches_user(
        r#"schemas eq "URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER""#
    ));
    // A value path needs one element to match all of it.
    assert!(!matches_user(
        r#"emails[type eq "home" and value co "example.com"]"#
    ));
    assert!(matches_user(
        r#"emails[type eq "home" or value co "example.com"]"#
    ));
    assert!(matches_user(r#"emails[not (type eq "work")]"#));
}

#[test]
fn present_means_present_and_not_empty() {
    assert!(matches_user("userName pr"));
    assert!(matches_user("active pr"));
    assert!(matches_user("name pr"));
    assert!(matches_user("name.givenName pr"));
    assert!(!matches_user("name.middleName pr"));
    assert!(!matches_user("nickName pr")); // ""
    assert!(!matches_user("phoneNumbers pr")); // []
    assert!(!matches_user("addresses pr")); // absent
    assert!(matches_user("emails.primary pr"));
    assert!(matches_user("manager pr"));
    assert!(matches_user("nickName eq null"));
    assert!(matches_user("phoneNumbers eq null"));
    assert!(!matches_user("userName eq null"));
    assert!(matches_user("userName ne null"));
    let empty = json!({"name": {"givenName": "", "familyName": null}, "emails": [{}]});
    let f = |s: &str| evaluate(&parse(s), &empty, &USER_RESOURCE).unwrap();
    assert!(!f("name pr"));
    assert!(!f("emails pr"));
}

#[test]
fn ordering_on_strings_and_date_times() {
    assert!(matches_user(r#"userName gt "a""#));
    assert!(matches_user(r#"userName gt "A""#)); // case-insensitive attribute
    assert!(!matches_user(r#"userName lt "b""#));
    assert!(matches_user(r#"userName le "bjensen@example.com""#));
    assert!(matches_user(r#"userName ge "BJENSEN@EXAMPLE.COM""#));
    // dateTimes compare as instants, whatever the offset.
    assert!(matches_user(
        r#"meta.lastModified eq "2011-05-13T06:42:34+02:00""#
    ));
    assert!(matches_user(
        r#"meta.lastModified gt "2011-05-13T06:42:33+02:00""#
    ));
    assert!(matches_user(
        r#"meta.lastModified lt "2011-05-13T00:42:35-04:00""#
    ));
    assert!(matches_user(
        r#"meta.lastModified ge "2011-05-13T04:42:34.000Z""#
    ));
    assert!(!matches_user(
        r#"meta.lastModified ne "2011-05-13T04:42:34.000Z""#
    ));
    assert!(matches_user(
        r#"not (meta.created gt "2010-01-23T04:56:22Z")"#
    ));
}

#[test]
fn attribute_names_in_resources_match_case_insensitively() {
    let odd = json!({"USERNAME": "Alice", "Emails": [{"Value": "a@x.org", "TYPE": "work"}]});
    let f = |s: &str| evaluate(&parse(s), &odd, &USER_RESOURCE).unwrap();
    assert!(f(r#"userName eq "alice""#));
    assert!(f(r#"emails[type eq "work"].value eq "A@X.ORG""#));
}

/// A complex attribute with integer, decimal and boolean sub-attributes, for the number
/// comparisons (no core attribute is numeric).
static NUMBERS: AttrDef = AttrDef::complex(
    "numbers",
    "test",
    &[
        AttrDef::string("count", "").of_type(crate::scim::schema::AttrType::Integer),
        AttrDef::string("ratio", "").of_type(crate::scim::schema::AttrType::Decimal),
        AttrDef::boolean("flag", ""),
    ],
)
.multi_valued();

#[test]
fn numbers_compare_as_numbers() {
    let element = json!({"count": 42, "ratio": 0.5, "flag": false});
    let f = |s: &str| evaluate_element(&parse(s), &element, &NUMBERS).unwrap();
    assert!(f("count eq 42"));
    assert!(f("count eq 42.0"));
    assert!(f("count eq 4.2e1"));
    assert!(f("count gt 41"));
    assert!(f("count ge 42"));
    assert!(!f("count lt 42"));
    assert!(f("count le 1e2"));
    assert!(f("ratio lt 1"));
    assert!(f("ratio eq 5e-1"));
    assert!(f("ratio gt -0.5"));
    assert!(f("flag eq false"));
    assert!(f("flag ne true"));
    let err = |s: &str| {
        evaluate_element(&parse(s), &element, &NUMBERS)
            .unwrap_err()
            .detail()
    };
    assert_eq!(
        err(r#"count co "4""#),
        "'co' only applies to strings, and 'count' is an integer"
    );
    assert_eq!(
        err(r#"count eq "42""#),
        "'count' is an integer and cannot be compared with the string \"42\""
    );
    assert_eq!(
        err("flag ge true"),
        "'ge' is not allowed on 'flag', which is a boolean (RFC 7644 §3.4.2.2)"
    );
}

#[test]
fn evaluate_element_for_patch_value_filters() {
    let emails = USER_RESOURCE.resolve(&path("emails")).unwrap().attr;
    let work = json!({"value": "bjensen@example.com", "type": "work", "primary": true});
    let home = json!({"value": "babs@jensen.org", "type": "home"});
    let filter = parse(r#"type eq "work""#);
    assert!(evaluate_element(&filter, &work, emails).unwrap());
    assert!(!evaluate_element(&filter, &home, emails).unwrap());
    let filter = parse(r#"value ew "JENSEN.ORG" and not (primary eq true)"#);
    assert!(evaluate_element(&filter, &home, emails).unwrap());

    let members = GROUP_RESOURCE.resolve(&path("members")).unwrap().attr;
    let member = json!({"value": "2819c223-7f76-453a-919d-413861904646"});
    let filter = parse(r#"value eq "2819c223-7f76-453a-919d-413861904646""#);
    assert!(evaluate_element(&filter, &member, members).unwrap());
    let e = evaluate_element(&parse(r#"displayName eq "x""#), &member, members).unwrap_err();
    assert_eq!(e.detail(), "'members' has no sub-attribute 'displayName'");
}

// ---------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------

#[test]
fn attr_paths() {
    assert_eq!(parse_attr_path("userName").unwrap(), path("userName"));
    assert_eq!(
        parse_attr_path("name.givenName").unwrap(),
        path("name.givenName")
    );
    assert_eq!(
        parse_attr_path(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
        )
        .unwrap(),
        AttrPath::new("employeeNumber")
            .with_uri("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(
        parse_attr_path("urn:ietf:params:scim:schemas:core:2.0:User:name.givenName").unwrap(),
        AttrPath::new("name")
            .with_sub_attr("givenName")
            .with_uri("urn:ietf:params:scim:schemas:core:2.0:User")
    );
    // A bare schema URN reads as URI + name; the resource type recognises it.
    let whole =
        parse_attr_path("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User").unwrap();
    assert_eq!(
        USER_RESOURCE.schema_named_by(&whole).map(|s| s.name),
        Some("EnterpriseUser")
    );
}

#[test]
fn patch_paths() {
    let cases = [
        "members",
        "name.givenName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        r#"emails[type eq "work"]"#,
        r#"emails[type eq "work"].value"#,
        r#"addresses[type eq "work"].streetAddress"#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq "work" and primary eq true].value"#,
    ];
    let mut out = String::new();
    for input in cases {
        let parsed = parse_patch_path(input).unwrap();
        assert_eq!(parse_patch_path(&parsed.to_string()).unwrap(), parsed);
        out.push_str(&format!("{input}\n{parsed:#?}\n\n"));
    }
    insta::assert_snapshot!("patch_paths", out);

    let parsed = parse_patch_path(r#"emails[type eq "work"].value"#).unwrap();
    let resolved = crate::scim::path::check_patch_path(&parsed, &USER_RESOURCE).unwrap();
    assert_eq!(resolved.attr.name, "value");
    assert_eq!(resolved.parent.map(|p| p.name), Some("emails"));
    assert!(matches!(parsed, PatchPath::ValuePath { .. }));
}

#[test]
fn patch_path_errors() {
    let bad = [
        "",
        "emails[",
        r#"emails[type eq "work""#,
        r#"emails[type eq "work"]value"#,
        r#"emails[type eq "work"]."#,
        r#"emails[type eq "work"].value.x"#,
        r#"emails[type eq "work"] extra"#,
        "name.givenName.x",
        "name givenName",
        "9lives",
    ];
    insta::assert_snapshot!(
        "patch_path_errors",
        describe_errors(&bad, |s| parse_patch_path(s).map(|p| p.to_string()))
    );
    for input in bad {
        let e = parse_patch_path(input).unwrap_err();
        assert_eq!(e.scim_type(), "invalidPath", "{input}");
    }
    let semantic = [
        ("nosuch", "invalidPath"),
        (r#"userName[value eq "x"]"#, "invalidPath"),
        (r#"emails[nosuch eq "x"]"#, "invalidFilter"),
        (r#"emails[type eq "work"].nosuch"#, "invalidPath"),
        (r#"emails[type gt true]"#, "invalidFilter"),
    ];
    for (input, scim_type) in semantic {
        let parsed = parse_patch_path(input).unwrap();
        let e = crate::scim::path::check_patch_path(&parsed, &USER_RESOURCE).unwrap_err();
        assert_eq!(e.scim_type(), scim_type, "{input}: {e}");
    }
}

#[test]
fn attr_list_errors_are_invalid_path() {
    for bad in [
        "userName emails",
        "userName,,9x",
        "emails[type eq]",
        "a.b.c",
    ] {
        let e = parse_attr_list(bad).unwrap_err();
        assert_eq!(e.scim_type(), "invalidPath", "{bad}");
    }
}

#[test]
fn parse_and_check_returns_one_error_type() {
    assert!(parse_and_check(r#"userName eq "x""#, &USER_RESOURCE).is_ok());
    let e = parse_and_check("userName eq", &USER_RESOURCE).unwrap_err();
    assert_eq!(e.scim_type(), "invalidFilter");
    assert!(e.detail().ends_with("at column 12"), "{}", e.detail());
    let e = parse_and_check(r#"members[value eq "x"]"#, &USER_RESOURCE).unwrap_err();
    assert_eq!(e.detail(), "unknown attribute 'members'");
}

// ---------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------

fn arb_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("userName".to_owned()),
        Just("emails".to_owned()),
        Just("not".to_owned()),
        Just("and".to_owned()),
        Just("pr".to_owned()),
        Just("$ref".to_owned()),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn arb_attr_path() -> impl Strategy<Value = AttrPath> {
    (
        prop::option::of(prop_oneof![
            Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
            Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
            "[a-z]{1,5}(:[a-z0-9.]{1,5}){0,3}",
        ]),
        arb_name(),
        prop::option::of(arb_name()),
    )
        .prop_map(|(uri, name, sub_attr)| AttrPath {
            uri,
            name,
            sub_attr,
        })
}

fn arb_comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?"
            .prop_map(|s| CompValue::Number(JsonNumber::parse(&s).unwrap())),
        any::<String>().prop_map(CompValue::String),
        "[ -~]{0,12}".prop_map(CompValue::String),
    ]
}

fn arb_attr_exp() -> impl Strategy<Value = Filter> {
    prop_oneof![
        arb_attr_path().prop_map(Filter::present),
        (
            arb_attr_path(),
            prop::sample::select(CompareOp::ALL.to_vec()),
            arb_comp_value()
        )
            .prop_map(|(path, op, value)| Filter::compare(path, op, value)),
    ]
}

/// Filters without value paths (what may appear inside brackets).
fn arb_val_filter() -> impl Strategy<Value = Filter> {
    arb_attr_exp().prop_recursive(4, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::or(a, b)),
            inner.prop_map(Filter::not),
        ]
    })
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    let leaf = prop_oneof![
        3 => arb_attr_exp(),
        1 => (arb_attr_path(), arb_val_filter()).prop_map(|(p, f)| Filter::value_path(p, f)),
    ];
    leaf.prop_recursive(6, 32, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::and(a, b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::or(a, b)),
            inner.prop_map(Filter::not),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn display_then_parse_gives_the_same_ast(filter in arb_filter()) {
        let shown = filter.to_string();
        prop_assert_eq!(parse_filter(&shown), Ok(filter), "{}", shown);
    }

    #[test]
    fn parsing_never_panics_and_errors_are_in_range(input in "[ -~é😀\\t]{0,64}") {
        if let Err(e) = parse_filter(&input) {
            prop_assert!(e.offset <= input.len() && input.is_char_boundary(e.offset));
            prop_assert_eq!(e.column, input[..e.offset].chars().count() + 1);
            // Every error carries one of the parser's own messages, never nom's fallback.
            prop_assert!(!e.message.contains("unexpected input"), "{}", e.message);
        }
        let _ = parse_patch_path(&input);
        let _ = parse_attr_list(&input);
    }

    #[test]
    fn token_soup_never_panics(tokens in prop::collection::vec(prop::sample::select(vec![
        "userName", "emails", "[", "]", "(", ")", "not", "and", "or", "eq", "pr", "gt",
        "\"x\"", "1", "true", "null", ".value", "urn:a:b:", " ", "\"\\u", "\\", "\"",
    ]), 0..24)) {
        let input: String = tokens.concat();
        match parse_filter(&input) {
            Ok(filter) => {
                prop_assert_eq!(parse_filter(&filter.to_string()), Ok(filter.clone()));
                let _ = evaluate(&filter, &user(), &USER_RESOURCE);
            }
            Err(e) => {
                prop_assert!(e.offset <= input.len());
                prop_assert!(!e.message.contains("unexpected input"), "{}", e.message);
            }
        }
    }
}
