//! Filter parsing (and evaluation) speed: Entra ID's matching filter and a 20-clause
//! filter. Run with `cargo bench --bench filter`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use scimd::scim::filter::{check, evaluate, parse_filter};
use scimd::scim::schema::USER_RESOURCE;

/// What Entra ID sends to find a user before creating it.
const ENTRA_MATCH: &str = r#"userName eq "ryan@contoso.com""#;

/// Twenty comparisons with every kind of node: and/or chains, not, groups, value paths,
/// URN-qualified names, escapes, numbers and booleans.
const TWENTY_CLAUSES: &str = concat!(
    r#"userName eq "ryan@contoso.com" or externalId eq "5f1c0e6e-77e1-4d52-a5bd-7c4cb84e2b53" "#,
    r#"or (displayName sw "Ryan" and active eq true) "#,
    r#"or emails[type eq "work" and value ew "@contoso.com"] "#,
    r#"or not (userType eq "Contractor" or userType eq "Intern") "#,
    r#"and name.givenName eq "Ry\u0061n" and name.familyName ne "Smith" "#,
    r#"or urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984" "#,
    r#"and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department sw "Eng" "#,
    r#"or meta.lastModified gt "2024-01-01T00:00:00Z" and meta.created le "2025-06-30T12:00:00+02:00" "#,
    r#"or phoneNumbers[type eq "mobile"] and addresses.country eq "US" "#,
    r#"or locale pr and preferredLanguage eq "en-US" and nickName pr"#
);

fn benches(c: &mut Criterion) {
    assert_eq!(
        TWENTY_CLAUSES.matches(" eq ").count()
            + TWENTY_CLAUSES.matches(" ne ").count()
            + TWENTY_CLAUSES.matches(" sw ").count()
            + TWENTY_CLAUSES.matches(" co ").count()
            + TWENTY_CLAUSES.matches(" ew ").count()
            + TWENTY_CLAUSES.matches(" gt ").count()
            + TWENTY_CLAUSES.matches(" le ").count()
            + TWENTY_CLAUSES.matches(" pr").count(),
        20
    );
    let mut group = c.benchmark_group("parse");
    group.bench_function("entra_match", |b| {
        b.iter(|| parse_filter(black_box(ENTRA_MATCH)))
    });
    group.bench_function("twenty_clauses", |b| {
        b.iter(|| parse_filter(black_box(TWENTY_CLAUSES)))
    });
    group.finish();

    let mut group = c.benchmark_group("parse_check");
    for (name, input) in [
        ("entra_match", ENTRA_MATCH),
        ("twenty_clauses", TWENTY_CLAUSES),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let filter = parse_filter(black_box(input));
                filter.map(|f| check(&f, &USER_RESOURCE).is_ok())
            })
        });
    }
    group.finish();

    let user = serde_json::json!({
        "userName": "Ryan@Contoso.com",
        "externalId": "x",
        "active": true,
        "emails": [{"value": "ryan@contoso.com", "type": "work"}],
        "meta": {"created": "2024-02-01T00:00:00Z", "lastModified": "2025-01-01T00:00:00Z"}
    });
    let mut group = c.benchmark_group("evaluate");
    for (name, input) in [
        ("entra_match", ENTRA_MATCH),
        ("twenty_clauses", TWENTY_CLAUSES),
    ] {
        let Ok(filter) = parse_filter(input) else {
            return;
        };
        group.bench_function(name, |b| {
            b.iter(|| evaluate(black_box(&filter), black_box(&user), &USER_RESOURCE))
        });
    }
    group.finish();
}

criterion_group!(filter_benches, benches);
criterion_main!(filter_benches);
