//! The filter compiled to SQL and the in-memory evaluator agree: a corpus of filters over
//! the same seeded people must select the same ids both ways. Lookups (an `eq` on an
//! indexed attribute) are read through both of the store's paths, the blocking pool and
//! the async connections, which must return the same rows.

use std::collections::BTreeSet;

use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use scimd::domain::Source;
use scimd::scim::filter::{check, evaluate, parse_filter};
use scimd::scim::resource::{render_user, user_columns, Meta};
use scimd::scim::schema::USER_RESOURCE;
use scimd::store::groups::{self, GroupData, Member, MemberKind, NewGroup};
use scimd::store::search::{is_lookup, ListQuery, Start};
use scimd::store::users::{self, NewUser, UserData, UserRow};
use scimd::store::{Db, PageSpec};

use crate::helpers::TestDb;

const BASE: &str = "https://scim.example.test/scim/v2";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A small deterministic generator, so the corpus is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() as usize) % items.len()]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const GIVEN: &[&str] = &["Ann", "Bob", "Émile", "carol", "Dave", "eve", "Zoë"];
const FAMILY: &[&str] = &["Smith", "O'Malley", "jones", "Employee", "Ng", "van Dyke"];
const TITLES: &[&str] = &["Engineer", "engineer", "Manager", "Tech Lead", "CEO"];
const DEPTS: &[&str] = &["Sales", "sales", "R&D", "Finance"];
const DOMAINS: &[&str] = &["example.com", "Example.org", "contoso.com"];
const COUNTRIES: &[&str] = &["DE", "US", "Germany"];

fn person(rng: &mut Lcg, i: usize) -> Value {
    let given = *rng.pick(GIVEN);
    let family = *rng.pick(FAMILY);
    let domain = *rng.pick(DOMAINS);
    let mut user = json!({
        "userName": format!("{}.{}{}@{}", given, family.replace(' ', ""), i, domain),
        "name": {"givenName": given, "familyName": family},
        "active": rng.chance(80),
    });
    let obj = user.as_object_mut().expect("object");
    if rng.chance(70) {
        obj.insert("externalId".into(), json!(format!("ext-{:03}", i)));
    }
    if rng.chance(60) {
        obj.insert("displayName".into(), json!(format!("{given} {family}")));
    }
    if rng.chance(50) {
        obj.insert("title".into(), json!(*rng.pick(TITLES)));
    }
    if rng.chance(30) {
        obj.insert("nickName".into(), json!(""));
    }
    let mut emails = Vec::new();
    if rng.chance(85) {
        emails.push(json!({"value": format!("{}{}@{}", given.to_lowercase(), i, domain), "type": "work", "primary": rng.chance(50)}));
    }
    if rng.chance(40) {
        emails.push(json!({"value": format!("HOME{}@{}", i, *rng.pick(DOMAINS)), "type": "home"}));
    }
    if !emails.is_empty() {
        obj.insert("emails".into(), Value::Array(emails));
    }
    if rng.chance(40) {
        obj.insert(
            "phoneNumbers".into(),
            json!([{"value": format!("+49 30 {:04}", i), "type": "work"}]),
        );
    }
    if rng.chance(40) {
        obj.insert(
            "addresses".into(),
            json!([{"country": *rng.pick(COUNTRIES), "type": "work"}]),
        );
    }
    if rng.chance(60) {
        let mut ext =
            json!({"department": *rng.pick(DEPTS), "employeeNumber": format!("{}", 1000 + i)});
        if rng.chance(40) {
            ext["manager"] = json!({"value": format!("mgr-{}", i % 5)});
        }
        obj.insert(ENTERPRISE.into(), ext);
    }
    user
}

fn data(resource: Value) -> UserData {
    let c = user_columns(&resource);
    UserData {
        user_name: c.user_name,
        external_id: c.external_id,
        display_name: c.display_name,
        active: c.active,
        email: c.email,
        department: c.department,
        emails: c.emails.into(),
        resource,
    }
}

struct World {
    rows: Vec<UserRow>,
    groups_of: std::collections::HashMap<Uuid, Vec<(Uuid, String)>>,
}

fn seed(conn: &mut PgConnection, tenant_id: Uuid) -> World {
    let mut rng = Lcg(7);
    let mut rows = Vec::new();
    for i in 0..60 {
        let row = users::insert(
            conn,
            &NewUser {
                id: Uuid::now_v7(),
                tenant_id,
                source: Source::Scim,
                source_ref: None,
                data: data(person(&mut rng, i)),
            },
        )
        .expect("insert user");
        rows.push(row);
    }
    let mut groups_of: std::collections::HashMap<Uuid, Vec<(Uuid, String)>> = Default::default();
    for (g, name) in ["Sales Team", "engineering"].iter().enumerate() {
        let group = groups::insert(
            conn,
            &NewGroup {
                id: Uuid::now_v7(),
                tenant_id,
                source: Source::Scim,
                source_ref: None,
                data: GroupData {
                    display_name: (*name).into(),
                    external_id: None,
                    resource: json!({"displayName": name}),
                },
            },
        )
        .expect("insert group");
        let members: Vec<Member> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| i % (g + 2) == 0)
            .map(|(_, r)| Member {
                id: r.id,
                kind: MemberKind::User,
                display: None,
            })
            .collect();
        groups::add_members(conn, tenant_id, group.id, &members).expect("members");
        for m in members {
            groups_of
                .entry(m.id)
                .or_default()
                .push((group.id, (*name).to_owned()));
        }
    }
    for list in groups_of.values_mut() {
        list.sort_by(|a, b| a.1.cmp(&b.1));
    }
    World { rows, groups_of }
}

fn rendered(world: &World, row: &UserRow) -> Value {
    let meta = Meta {
        resource_type: "User",
        created: row.created_at,
        last_modified: row.updated_at,
        location: format!("{BASE}/Users/{}", row.id),
        version: format!("W/\"{}\"", row.version),
    };
    let groups = world.groups_of.get(&row.id).map(|gs| {
        gs.iter()
            .map(|(id, name)| json!({"value": id, "$ref": format!("{BASE}/Groups/{id}"), "display": name, "type": "direct"}))
            .collect()
    });
    render_user(&row.resource, &row.id.to_string(), &meta, groups)
}

/// Filters built from the seeded values: every operator on every kind of attribute.
fn corpus(world: &World) -> Vec<String> {
    let first = &world.rows[0];
    let second = &world.rows[7];
    let group_id = world
        .groups_of
        .values()
        .flatten()
        .next()
        .map(|g| g.0.to_string())
        .unwrap_or_default();
    let created = first.created_at.to_rfc3339();
    let strings: Vec<(&str, Vec<String>)> = vec![
        (
            "userName",
            vec![
                first.user_name.clone(),
                first.user_name.to_uppercase(),
                "ann".into(),
                "@example.com".into(),
                "O".into(),
            ],
        ),
        (
            "displayName",
            vec!["Ann Smith".into(), "ann".into(), "Zoë".into()],
        ),
        (
            "title",
            vec![
                "engineer".into(),
                "Engineer".into(),
                "Lead".into(),
                "M".into(),
            ],
        ),
        (
            "name.givenName",
            vec!["carol".into(), "CAROL".into(), "É".into(), "e".into()],
        ),
        (
            "name.familyName",
            vec!["Employee".into(), "o'malley".into(), "Dyke".into()],
        ),
        (
            "emails.value",
            vec![
                first.resource["emails"][0]["value"]
                    .as_str()
                    .unwrap_or("x")
                    .to_uppercase(),
                "example.org".into(),
                "home".into(),
            ],
        ),
        (
            "emails.type",
            vec!["work".into(), "WORK".into(), "home".into()],
        ),
        ("emails", vec!["example.com".into(), "contoso".into()]),
        (
            "externalId",
            vec![
                "ext-001".into(),
                "EXT-001".into(),
                "ext-0".into(),
                "ext-05".into(),
            ],
        ),
        (
            "id",
            vec![
                first.id.to_string(),
                first.id.to_string().to_uppercase(),
                second.id.to_string()[..8].to_owned(),
            ],
        ),
        (
            ENTERPRISE_DEPT,
            vec!["sales".into(), "R&D".into(), "S".into()],
        ),
        ("employeeNumber", vec!["1005".into(), "10".into()]),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            vec!["mgr-1".into(), "MGR-1".into()],
        ),
        (
            "phoneNumbers.value",
            vec!["+49 30 0003".into(), "30".into()],
        ),
        ("addresses.country", vec!["de".into(), "Germany".into()]),
        ("groups.value", vec![group_id.clone()]),
        ("groups.display", vec!["sales team".into(), "eng".into()]),
        ("meta.resourceType", vec!["User".into(), "user".into()]),
        (
            "schemas",
            vec![
                ENTERPRISE.into(),
                "urn:ietf:params:scim:schemas:core:2.0:User".into(),
            ],
        ),
        ("nickName", vec!["".into(), "x".into()]),
    ];
    let mut out = Vec::new();
    for (attr, values) in &strings {
        out.push(format!("{attr} pr"));
        for v in values {
            let v = serde_json::to_string(v).unwrap_or_default();
            for op in ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"] {
                out.push(format!("{attr} {op} {v}"));
            }
        }
    }
    for op in ["eq", "ne"] {
        for b in ["true", "false"] {
            out.push(format!("active {op} {b}"));
            out.push(format!("emails.primary {op} {b}"));
        }
    }
    out.push("emails.primary pr".into());
    for op in ["eq", "gt", "ge", "lt", "le", "ne"] {
        out.push(format!("meta.created {op} \"{created}\""));
        out.push(format!(
            "meta.lastModified {op} \"2015-10-10T14:38:21.8617979-07:00\""
        ));
    }
    out.push(r#"userName eq "nobody@example.com""#.into());
    out.push(r#"id eq "not-a-uuid""#.into());
    out.push("title eq null".into());
    out.push("title ne null".into());
    out.push("externalId eq null".into());
    // Value paths, logic, precedence, not.
    out.extend(
        [
            r#"emails[type eq "work" and value co "example.com"]"#,
            r#"emails[type eq "home" or primary eq true]"#,
            r#"emails[not (type eq "work")]"#,
            r#"emails[value ew ".org"]"#,
            r#"addresses[country eq "DE"]"#,
            r#"groups[display sw "Sales"]"#,
            r#"name.familyName eq "Employee" and (emails.value co "example.com" or emails.value co "example.org")"#,
            r#"userName sw "a" or title eq "CEO" and active eq true"#,
            r#"(userName sw "a" or title eq "CEO") and active eq true"#,
            r#"not (active eq true) and title pr"#,
            r#"not (emails pr)"#,
            r#"not (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department pr) or title sw "T""#,
            r#"displayName pr and not (displayName co " ")"#,
            r#"emails[type eq "work"].value co "contoso""#,
            r#"meta.created le "2999-01-01T00:00:00Z" and meta.created ge "2000-01-01T00:00:00Z""#,
            r#"name pr"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager pr"#,
            r#"phoneNumbers[type eq "work" and value sw "+49"]"#,
        ]
        .map(str::to_owned),
    );
    out
}

const ENTERPRISE_DEPT: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

#[tokio::test]
async fn sql_and_evaluator_select_the_same_people_for_every_filter_in_the_corpus() {
    let db = TestDb::new();
    let mut conn = db.conn();
    let timeout = std::time::Duration::from_secs(2);
    // Every statement on the blocking pool; and a worker's async connections, whose own
    // blocking pool of one connection is held throughout, so that a lookup that fell back
    // to it would fail rather than pass unseen.
    let blocking = Db::new(&db.url, 2, timeout);
    let fast = Db::serving(&db.url, 1, timeout, 1, None).for_worker();
    let _held = fast.get().expect("the async Db's blocking connection");
    let tenant = scimd::provisioning::tenants::create(
        &mut conn,
        &scimd::provisioning::tenants::TenantSlug::parse("diff").expect("slug"),
        None,
    )
    .expect("tenant");
    let world = seed(&mut conn, tenant.id);
    let resources: Vec<(Uuid, Value)> = world
        .rows
        .iter()
        .map(|r| (r.id, rendered(&world, r)))
        .collect();

    let mut checked = 0;
    let mut lookups = 0;
    let mut matched_some = 0;
    let mut failures = Vec::new();
    for text in corpus(&world) {
        let filter = parse_filter(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        if check(&filter, &USER_RESOURCE).is_err() {
            continue; // a comparison the RFC forbids (e.g. `active gt true`): both refuse it
        }
        let expected: BTreeSet<Uuid> = resources
            .iter()
            .filter(|(_, r)| evaluate(&filter, r, &USER_RESOURCE).unwrap_or(false))
            .map(|(id, _)| *id)
            .collect();
        let spec = PageSpec {
            filter: Some(filter.clone()),
            sort_by: None,
            descending: false,
            start: Start::Offset(0),
            count: 10_000,
            cursor: false,
        };
        let page = blocking
            .users_page(tenant.id, spec.clone(), BASE.into(), true)
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let got: BTreeSet<Uuid> = page.rows.iter().map(|r| r.user.id).collect();
        assert_eq!(page.total, got.len() as i64, "{text}");
        let q = ListQuery {
            filter: Some(&filter),
            sort_by: None,
            descending: false,
            start: Start::Offset(0),
            count: 10_000,
            total: None,
        };
        if is_lookup(&q) {
            let on_async = fast
                .users_page(tenant.id, spec, BASE.into(), true)
                .await
                .unwrap_or_else(|e| panic!("{text} (async): {e}"));
            // Groups come in no particular order from either path; `groups()` sorts them.
            let seen = |rows: &[scimd::store::users::UserView]| {
                rows.iter()
                    .map(|r| (r.user.clone(), r.groups()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                seen(&on_async.rows),
                seen(&page.rows),
                "{text}: the paths differ"
            );
            assert_eq!(on_async.total, page.total, "{text}");
            lookups += 1;
        }
        if got != expected {
            failures.push(format!(
                "{text}\n  sql only: {:?}\n  eval only: {:?}",
                got.difference(&expected).collect::<Vec<_>>(),
                expected.difference(&got).collect::<Vec<_>>()
            ));
        }
        checked += 1;
        if !expected.is_empty() && expected.len() < resources.len() {
            matched_some += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} filters disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 200, "only {checked} filters in the corpus");
    assert!(
        lookups >= 10,
        "only {lookups} lookups went through both paths"
    );
    // The corpus discriminates: most filters select some people but not all.
    assert!(
        matched_some >= checked / 3,
        "{matched_some} of {checked} filters were selective"
    );
}
