//! A group of 100,000 members can be created, read and patched, and a PATCH touches only
//! the members it names.

use diesel::RunQueryDsl;
use serde_json::{json, Value};

use crate::helpers::{patch_op, spawn_app};

#[tokio::test]
async fn a_group_of_100000_members_can_be_created_read_and_patched() {
    let app = spawn_app().await;
    let token = app.tenant_with_token("big").await;
    let tenant_id: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct T {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        diesel::sql_query("SELECT id FROM tenants WHERE slug = 'big'")
            .get_result::<T>(&mut app.db.conn())
            .unwrap()
            .id
    };
    // 100,002 people, seeded in SQL for speed (and counted, as rows written around scimd
    // must be); the group is made through SCIM.
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: uuid::Uuid,
    }
    let ids: Vec<uuid::Uuid> = diesel::sql_query(
        "INSERT INTO users (id, tenant_id, user_name, resource)
         SELECT gen_random_uuid(), $1, 'm' || i || '@big.example', jsonb_build_object('userName', 'm' || i || '@big.example')
         FROM generate_series(1, 100002) AS i RETURNING id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant_id)
    .load::<Id>(&mut app.db.conn())
    .unwrap()
    .into_iter()
    .map(|r| r.id)
    .collect();
    diesel::sql_query("SELECT scimd_recount($1)")
        .bind::<diesel::sql_types::Uuid, _>(tenant_id)
        .execute(&mut app.db.conn())
        .unwrap();
    let (members, spare) = ids.split_at(100_000);
    let body = json!({
        "displayName": "Everyone",
        "members": members.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
    });
    // A 5 MB body, 100,000 rows: give the unoptimised test build room on a shared machine.
    let res = app
        .client
        .post(app.url("/scim/v2/Groups"))
        .bearer_auth(&token)
        .timeout(std::time::Duration::from_secs(600))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let group: Value = res.json().await.unwrap();
    let gid = group["id"].as_str().unwrap().to_owned();
    assert_eq!(group["members"].as_array().unwrap().len(), 100_000);

    let read = app
        .json(app.scim_get(&token, &format!("/Groups/{gid}")).await)
        .await;
    assert_eq!(read["members"].as_array().unwrap().len(), 100_000);
    let slim = app
        .json(
            app.scim_get(&token, &format!("/Groups/{gid}?excludedAttributes=members"))
                .await,
        )
        .await;
    assert!(slim.get("members").is_none());

    // Remove one, add one, without a Prefer header (as Entra sends it): the membership
    // moves by exactly those two, and the answer is a 204, not 100,000 members.
    let res = app
        .client
        .patch(app.url(&format!("/scim/v2/Groups/{gid}")))
        .bearer_auth(&token)
        .json(&patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{}\"]", members[0])},
            {"op": "add", "path": "members", "value": [{"value": spare[0]}]}
        ])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let after: Value = app
        .json(app.scim_get(&token, &format!("/Groups/{gid}")).await)
        .await;
    let now: std::collections::HashSet<String> = after["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(now.len(), 100_000);
    assert!(!now.contains(&members[0].to_string()));
    assert!(now.contains(&spare[0].to_string()));
    assert!(now.contains(&members[99_999].to_string()));
}
