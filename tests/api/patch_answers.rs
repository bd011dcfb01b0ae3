//! What a PATCH answers (RFC 7644 §3.5.2: 200 with the resource, or 204): a group PATCH
//! answers 204 unless the client asks for the group (`attributes`, `excludedAttributes`,
//! RFC 7240 `Prefer: return=representation`); a user PATCH answers the user;
//! `Prefer: return=minimal` answers 204 for both.

use reqwest::header::ETAG;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{member_ids, patch_op, spawn_app, TestApp};

/// A tenant with four users and a group "Staff" holding the first two.
struct Staff {
    app: TestApp,
    token: String,
    users: Vec<String>,
    group: String,
}

impl Staff {
    async fn new() -> Self {
        let app = spawn_app().await;
        let token = app.tenant_with_token("contoso").await;
        let users = app
            .create_users(&token, (0..4).map(|i| format!("u{i}@contoso.com")))
            .await;
        let members = json!([{"value": users[0]}, {"value": users[1]}]);
        let group = app
            .create_group(&token, &json!({"displayName": "Staff", "members": members}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            app,
            token,
            users,
            group,
        }
    }

    /// PATCH `path` (with its query), with `Prefer: <prefer>` when given.
    async fn patch(&self, path: &str, body: &Value, prefer: Option<&str>) -> reqwest::Response {
        let headers: Vec<(&str, &str)> = prefer.map(|p| ("prefer", p)).into_iter().collect();
        self.app
            .scim_send_with(Method::PATCH, &self.token, path, Some(body), &headers)
            .await
    }

    /// Entra ID's membership change on the group: `Remove` with the path `members` and a
    /// value array (user 0), then `Add` with the path `members` (user 2), in one request,
    /// capitalised as Entra sends them; `query` after the group's path.
    async fn swap(&self, query: &str, prefer: Option<&str>) -> reqwest::Response {
        let body = patch_op(json!([
            {"op": "Remove", "path": "members", "value": [{"value": self.users[0]}]},
            {"op": "Add", "path": "members", "value": [{"value": self.users[2]}]}
        ]));
        self.patch(&format!("/Groups/{}{query}", self.group), &body, prefer)
            .await
    }

    /// `res` carries the group after [`Staff::swap`], at the version its `ETag` says.
    async fn assert_swapped(&self, res: reqwest::Response, etag: &str) {
        assert_eq!(etag_of(&res), etag);
        let group = self.app.json(res).await;
        assert_eq!(group["meta"]["version"], etag);
        let mut swapped = vec![self.users[1].clone(), self.users[2].clone()];
        swapped.sort();
        assert_eq!(member_ids(&group), swapped);
    }
}

fn etag_of(res: &reqwest::Response) -> String {
    res.headers()
        .get(ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_entra_group_patch_answers_204_with_the_etag_a_get_then_shows() {
    let s = Staff::new().await;
    let path = format!("/Groups/{}", s.group);
    let before = etag_of(&s.app.scim_get(&s.token, &path).await);
    let res = s.swap("", None).await;
    assert_eq!(res.status(), 204);
    let etag = etag_of(&res);
    assert!(res.bytes().await.unwrap().is_empty(), "a 204 has no body");
    assert_ne!(etag, before, "the membership changed, so did the version");

    s.assert_swapped(s.app.scim_get(&s.token, &path).await, &etag)
        .await;
}

#[tokio::test]
async fn a_group_patch_naming_attributes_answers_200_with_the_group_so_projected() {
    let s = Staff::new().await;
    for query in ["?excludedAttributes=members", "?attributes=displayName"] {
        let res = s.swap(query, None).await;
        assert_eq!(res.status(), 200, "{query}");
        let version = etag_of(&res);
        let group = s.app.json(res).await;
        assert_eq!(group["id"], s.group.as_str(), "{query}");
        assert_eq!(group["displayName"], "Staff", "{query}");
        assert!(group.get("members").is_none(), "{query}: {group}");
        let read = s
            .app
            .scim_get(&s.token, &format!("/Groups/{}", s.group))
            .await;
        assert_eq!(etag_of(&read), version, "{query}");
    }
}

#[tokio::test]
async fn a_group_patch_preferring_the_representation_answers_200_with_the_members() {
    let s = Staff::new().await;
    let res = s.swap("", Some("return=representation")).await;
    assert_eq!(res.status(), 200);
    let etag = etag_of(&res);
    s.assert_swapped(res, &etag).await;
}

#[tokio::test]
async fn a_minimal_preference_answers_204_even_when_attributes_are_named() {
    let s = Staff::new().await;
    let res = s.swap("?attributes=members", Some("return=minimal")).await;
    assert_eq!(res.status(), 204);
    assert!(res.headers().contains_key(ETAG));
    let title = patch_op(json!([{"op": "Replace", "path": "title", "value": "Lead"}]));
    let path = format!("/Users/{}?attributes=title", s.users[3]);
    let res = s.patch(&path, &title, Some("return=minimal")).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn a_user_patch_still_answers_200_with_the_user() {
    let s = Staff::new().await;
    let title = patch_op(json!([{"op": "Replace", "path": "title", "value": "Lead"}]));
    let res = s
        .patch(&format!("/Users/{}", s.users[0]), &title, None)
        .await;
    assert_eq!(res.status(), 200);
    let etag = etag_of(&res);
    let user = s.app.json(res).await;
    assert_eq!(user["id"], s.users[0].as_str());
    assert_eq!(user["title"], "Lead");
    assert_eq!(user["meta"]["version"], etag.as_str());
    assert_eq!(user["groups"][0]["value"], s.group.as_str());
}
