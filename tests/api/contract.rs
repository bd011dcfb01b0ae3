//! The admin API against its own OpenAPI document (`/admin/v1/openapi.json`): the server
//! answers exactly the documented operations, and every answer these tests get fits the
//! schema the document gives for its operation and status.

use std::collections::BTreeSet;
use std::sync::Mutex;

use reqwest::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, user_body, TestApp};

/// Every method a route could have.
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE",
];

/// The document as served, and the answers checked against it.
pub struct Contract {
    doc: Value,
    /// (method, path template, status) of every answer checked.
    checked: Mutex<BTreeSet<(String, String, u16)>>,
}

impl Contract {
    pub async fn fetch(app: &TestApp) -> Self {
        let res = app
            .client
            .get(app.url("/admin/v1/openapi.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let doc: Value = res.json().await.unwrap();
        assert_eq!(doc["servers"][0]["url"], "/admin/v1");
        Self {
            doc,
            checked: Mutex::default(),
        }
    }

    /// (method, path template) of every documented operation, the method upper-case.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
        out
    }

    /// Follows a `$ref` within the document.
    fn deref<'a>(&'a self, node: &'a Value) -> &'a Value {
        match node["$ref"].as_str() {
            Some(r) => {
                let target = self
                    .doc
                    .pointer(r.strip_prefix('#').unwrap())
                    .unwrap_or_else(|| panic!("dangling $ref {r}"));
                self.deref(target)
            }
            None => node,
        }
    }

    /// The documented response to `status` of `method template` (the `default` one when the
    /// status has none): its media type and schema, or `None` for a response without a body.
    pub fn response(&self, method: &str, template: &str, status: u16) -> Option<(String, Value)> {
        let op = &self.doc["paths"][template][method.to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let responses = &op["responses"];
        let response = responses
            .get(status.to_string())
            .or_else(|| responses.get("default"))
            .unwrap_or_else(|| panic!("{method} {template} does not document a {status}"));
        let content = self.deref(response).get("content")?.as_object()?;
        assert_eq!(
            content.len(),
            1,
            "{method} {template} {status}: one media type"
        );
        let (media_type, media) = content.iter().next()?;
        Some((media_type.clone(), media["schema"].clone()))
    }

    /// Validates `body` against `schema`, whose `$ref`s point into the document: the
    /// document's components are embedded in the root the validator resolves them against.
    /// OpenAPI 3.1 schemas are JSON Schema 2020-12.
    pub fn validate(&self, schema: &Value, body: &Value) -> Result<(), String> {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.doc["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("the schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// Checks an answer of `method template` against the document: the status is
    /// documented, the media type is the documented one and the body fits its schema.
    /// Returns the status and the body (`null` when there is none).
    pub async fn check(
        &self,
        method: &str,
        template: &str,
        res: reqwest::Response,
    ) -> (u16, Value) {
        let status = res.status().as_u16();
        let media = res
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned());
        let text = res.text().await.unwrap();
        let what = format!("{method} {template} answered {status} {text}");
        let body = match self.response(method, template, status) {
            None => {
                assert!(text.is_empty(), "{what}: documented without a body");
                Value::Null
            }
            Some((media_type, schema)) => {
                assert_eq!(media.as_deref(), Some(media_type.as_str()), "{what}");
                let body: Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON: {e}"));
                if let Err(e) = self.validate(&schema, &body) {
                    panic!("{what}: does not fit its schema: {e}");
                }
                body
            }
        };
        self.checked
            .lock()
            .unwrap()
            .insert((method.to_owned(), template.to_owned(), status));
        (status, body)
    }

    /// Checks a problem the guard or a default service answered, outside any operation.
    pub async fn check_problem(&self, res: reqwest::Response, status: u16) -> Value {
        assert_eq!(res.status().as_u16(), status);
        assert_eq!(
            res.headers().get(CONTENT_TYPE).unwrap(),
            "application/problem+json"
        );
        let body: Value = res.json().await.unwrap();
        let schema = json!({"$ref": "#/components/schemas/Problem"});
        if let Err(e) = self.validate(&schema, &body) {
            panic!("{body}: not a problem: {e}");
        }
        body
    }

    /// Every documented operation answered at least one success and, when it documents
    /// errors, one error that was checked.
    pub fn assert_every_operation_checked(&self) {
        let checked = self.checked.lock().unwrap();
        let mut missing = Vec::new();
        for (method, template) in self.operations() {
            let responses = self.doc["paths"][&template][method.to_lowercase()]["responses"]
                .as_object()
                .unwrap();
            let seen: Vec<u16> = checked
                .iter()
                .filter(|(m, t, _)| *m == method && *t == template)
                .map(|(_, _, s)| *s)
                .collect();
            if !seen.iter().any(|s| (200..300).contains(s)) {
                missing.push(format!("{method} {template}: no success"));
            }
            let documents_errors = responses
                .keys()
                .any(|s| s == "default" || s.starts_with('4') || s.starts_with('5'));
            if documents_errors && !seen.iter().any(|s| *s >= 400) {
                missing.push(format!("{method} {template}: no error"));
            }
        }
        assert!(missing.is_empty(), "unchecked: {missing:#?}");
    }
}

/// A path for `template`, each parameter filled in.
fn instantiate(template: &str, slug: &str, id: &str, key_id: &str) -> String {
    format!(
        "/admin/v1{}",
        template
            .replace("{slug}", slug)
            .replace("{id}", id)
            .replace("{key_id}", key_id)
    )
}

/// A request to the app; the future owns all it needs.
fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: bool,
    body: Option<(&str, Vec<u8>)>,
) -> impl std::future::Future<Output = reqwest::Response> {
    let mut req = app.client.request(
        Method::from_bytes(method.as_bytes()).unwrap(),
        app.url(path),
    );
    if auth {
        req = req.header(AUTHORIZATION, format!("Bearer {}", app.admin_key));
    }
    if let Some((content_type, bytes)) = body {
        req = req.header(CONTENT_TYPE, content_type).body(bytes);
    }
    async move { req.send().await.unwrap() }
}

/// The server answers exactly the documented operations: each documented one reaches its
/// handler (401 without a key, which no default answer gives), and every other method of a
/// documented path is 405 with the documented methods in `Allow`.
#[tokio::test]
async fn the_server_answers_exactly_the_documented_operations() {
    let app = spawn_app_with(|_| {}).await;
    let contract = Contract::fetch(&app).await;
    let operations = contract.operations();
    assert!(operations.len() >= 23, "{operations:?}");
    let templates: BTreeSet<&String> = operations.iter().map(|(_, t)| t).collect();
    for template in templates {
        let path = instantiate(
            template,
            "acme",
            "7d4c2e9a-1b3f-4a6e-8c5d-9e0f1a2b3c4d",
            "k1",
        );
        let documented: BTreeSet<String> = operations
            .iter()
            .filter(|(_, t)| t == template)
            .map(|(m, _)| m.clone())
            .collect();
        for method in METHODS {
            let res = send(&app, method, &path, false, None).await;
            if documented.contains(method) {
                let public = template == "/openapi.json";
                assert_eq!(
                    res.status().as_u16(),
                    if public { 200 } else { 401 },
                    "{method} {path}"
                );
                contract.check(method, template, res).await;
            } else {
                let allow: BTreeSet<String> = res
                    .headers()
                    .get(ALLOW)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
                    .split(',')
                    .map(|m| m.trim().to_owned())
                    .collect();
                assert_eq!(allow, documented, "{method} {path}");
                if method == "HEAD" {
                    assert_eq!(res.status(), 405);
                } else {
                    let p = contract.check_problem(res, 405).await;
                    assert_eq!(p["type"], "https://scimd.dev/problems/method-not-allowed");
                }
            }
        }
    }
    for path in [
        "/admin/v1",
        "/admin/v1/",
        "/admin/v1/nope",
        "/admin/v1/tenants/acme/nope",
        "/admin/v1/tenants/acme/people/x/y/z",
        "/admin/v1/tenants/",
    ] {
        let res = send(&app, "GET", path, true, None).await;
        let p = contract.check_problem(res, 404).await;
        assert_eq!(p["type"], "https://scimd.dev/problems/not-found", "{path}");
    }
}

/// Every admin operation, one success and at least one error each, every answer checked
/// against the document.
#[tokio::test]
async fn every_admin_answer_fits_the_documented_schema() {
    let fake = crate::fake_graph::FakeGraph::start(crate::fake_graph::FakeOptions::default()).await;
    let app = spawn_app_with(|s| {
        s.max_body_bytes = 4096;
        s.graph_login_url = Some(fake.url().parse().unwrap());
        s.graph_api_url = Some(fake.url().parse().unwrap());
        s.sync_tick = std::time::Duration::from_millis(200);
        s.keyring = Some(std::sync::Arc::new(scimd::secrets::Keyring::new(
            &[3; 32], None,
        )));
        s.public_url = Some("https://scim.example.test".into());
        s.graph_app = Some(scimd::config::PlatformApp {
            client_id: "platform-app".into(),
            client_secret: scimd::config::Secret::new("platform-secret".into()),
        });
    })
    .await;
    let c = Contract::fetch(&app).await;
    let get = |p: &str| send(&app, "GET", p, true, None);
    let json_body = |v: Value| Some(("application/json", v.to_string().into_bytes()));

    // The document itself.
    let res = send(&app, "GET", "/admin/v1/openapi.json", false, None).await;
    c.check("GET", "/openapi.json", res).await;

    // Tenants.
    let (status, _) = c
        .check(
            "POST",
            "/tenants",
            send(
                &app,
                "POST",
                "/admin/v1/tenants",
                true,
                json_body(json!({"slug": "acme", "name": "Acme"})),
            )
            .await,
        )
        .await;
    assert_eq!(status, 201);
    for (bad, want) in [
        (json!({"slug": "acme"}), 409),
        (json!({"slug": "Not A Slug"}), 400),
        (json!({"slug": "x", "name": "n".repeat(5000)}), 413),
    ] {
        let res = send(&app, "POST", "/admin/v1/tenants", true, json_body(bad)).await;
        assert_eq!(c.check("POST", "/tenants", res).await.0, want);
    }
    assert_eq!(
        c.check("GET", "/tenants", get("/admin/v1/tenants").await)
            .await
            .0,
        200
    );
    assert_eq!(
        c.check("GET", "/tenants", get("/admin/v1/tenants?limit=0").await)
            .await
            .0,
        400
    );
    assert_eq!(
        c.check("GET", "/tenants", get("/admin/v1/tenants?limit=abc").await)
            .await
            .0,
        400
    );
    assert_eq!(
        c.check(
            "GET",
            "/tenants/{slug}",
            get("/admin/v1/tenants/acme").await
        )
        .await
        .0,
        200
    );
    assert_eq!(
        c.check(
            "GET",
            "/tenants/{slug}",
            get("/admin/v1/tenants/nope").await
        )
        .await
        .0,
        404
    );
    for (patch, want) in [
        (
            json!({"rate_limit": {"per_second": 100000, "burst": 1000000}}),
            200,
        ),
        (json!({"source": "ldap"}), 400),
        (json!({"nope": 1}), 400),
    ] {
        let res = send(
            &app,
            "PATCH",
            "/admin/v1/tenants/acme",
            true,
            json_body(patch),
        )
        .await;
        assert_eq!(c.check("PATCH", "/tenants/{slug}", res).await.0, want);
    }

    // Tokens.
    let (status, issued) = c
        .check(
            "POST",
            "/tenants/{slug}/tokens",
            send(
                &app,
                "POST",
                "/admin/v1/tenants/acme/tokens",
                true,
                json_body(json!({"label": "idp", "expires_in": "90d"})),
            )
            .await,
        )
        .await;
    assert_eq!(status, 201);
    let token = issued["token"].as_str().unwrap().to_owned();
    // An empty body is a token without label or expiry.
    let (status, plain) = c
        .check(
            "POST",
            "/tenants/{slug}/tokens",
            send(&app, "POST", "/admin/v1/tenants/acme/tokens", true, None).await,
        )
        .await;
    assert_eq!(status, 201);
    assert!(
        plain["label"].is_null() && plain["expires_at"].is_null(),
        "{plain}"
    );
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants/acme/tokens",
        true,
        json_body(json!({"expires_in": "1d", "expires_at": "2030-01-01T00:00:00Z"})),
    )
    .await;
    assert_eq!(c.check("POST", "/tenants/{slug}/tokens", res).await.0, 400);
    assert_eq!(
        c.check(
            "GET",
            "/tenants/{slug}/tokens",
            get("/admin/v1/tenants/acme/tokens?limit=1").await
        )
        .await
        .0,
        200
    );
    assert_eq!(
        c.check(
            "GET",
            "/tenants/{slug}/tokens",
            get("/admin/v1/tenants/nope/tokens").await
        )
        .await
        .0,
        404
    );
    let key = format!(
        "/admin/v1/tenants/acme/tokens/{}",
        plain["key_id"].as_str().unwrap()
    );
    let res = send(&app, "DELETE", &key, true, None).await;
    assert_eq!(
        c.check("DELETE", "/tenants/{slug}/tokens/{key_id}", res)
            .await
            .0,
        204
    );
    let res = send(
        &app,
        "DELETE",
        "/admin/v1/tenants/acme/tokens/nope",
        true,
        None,
    )
    .await;
    assert_eq!(
        c.check("DELETE", "/tenants/{slug}/tokens/{key_id}", res)
            .await
            .0,
        404
    );

    // People, from SCIM and by hand.
    let ada = app
        .create_user(&token, &user_body("ada@acme.example"))
        .await;
    let ada_id = ada["id"].as_str().unwrap().to_owned();
    let bob = app
        .create_user(&token, &user_body("bob@acme.example"))
        .await;
    let group = app
        .create_group(
            &token,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Contractors",
                "members": [{"value": bob["id"]}],
            }),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let t = "/tenants/{slug}";
    let people = "/admin/v1/tenants/acme/people";

    let res = send(
        &app,
        "POST",
        people,
        true,
        json_body(json!({"email": "cy@acme.example", "given_name": "Cy", "department": "Ops"})),
    )
    .await;
    let (status, cy) = c.check("POST", &format!("{t}/people"), res).await;
    assert_eq!(cy["source"], "manual", "{cy}");
    assert_eq!(status, 201);
    let res = send(
        &app,
        "POST",
        people,
        true,
        json_body(json!({"email": "cy@acme.example"})),
    )
    .await;
    assert_eq!(c.check("POST", &format!("{t}/people"), res).await.0, 409);
    let res = send(
        &app,
        "POST",
        people,
        true,
        json_body(json!({"email": "cy@acme.example", "extra": 1})),
    )
    .await;
    assert_eq!(c.check("POST", &format!("{t}/people"), res).await.0, 400);

    let (status, page) = c
        .check(
            "GET",
            &format!("{t}/people"),
            get(&format!("{people}?state=all&limit=2")).await,
        )
        .await;
    assert_eq!(status, 200);
    assert!(page["next_cursor"].is_string(), "{page}");
    assert_eq!(
        c.check(
            "GET",
            &format!("{t}/people"),
            get(&format!("{people}?state=bogus")).await
        )
        .await
        .0,
        400
    );

    let person = format!("{t}/people/{{id}}");
    let (status, got) = c
        .check("GET", &person, get(&format!("{people}/{ada_id}")).await)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["userName"], "ada@acme.example");
    assert_eq!(
        c.check("GET", &person, get(&format!("{people}/not-a-uuid")).await)
            .await
            .0,
        404
    );

    for (op, want_ok) in [("deactivate", 200), ("reactivate", 200)] {
        let template = format!("{t}/people/{op}");
        let path = format!("{people}/{op}");
        let res = send(
            &app,
            "POST",
            &path,
            true,
            json_body(json!({"ids": [ada_id]})),
        )
        .await;
        assert_eq!(c.check("POST", &template, res).await.0, want_ok);
        let res = send(&app, "POST", &path, true, json_body(json!({"ids": []}))).await;
        assert_eq!(c.check("POST", &template, res).await.0, 400);
        let res = send(
            &app,
            "POST",
            &path,
            true,
            json_body(json!({"ids": [uuid::Uuid::new_v4()]})),
        )
        .await;
        assert_eq!(c.check("POST", &template, res).await.0, 404);
    }

    let groups = "/admin/v1/tenants/acme/groups";
    for op in ["exclude", "include"] {
        let template = format!("{t}/groups/{{id}}/{op}");
        let res = send(&app, "POST", &format!("{groups}/{gid}/{op}"), true, None).await;
        let (status, g) = c.check("POST", &template, res).await;
        assert_eq!(status, 200);
        assert_eq!(g["excluded"], op == "exclude");
        let res = send(
            &app,
            "POST",
            &format!("{groups}/{}/{op}", uuid::Uuid::new_v4()),
            true,
            None,
        )
        .await;
        assert_eq!(c.check("POST", &template, res).await.0, 404);
    }

    let counts = format!("{t}/people/counts");
    assert_eq!(
        c.check("GET", &counts, get(&format!("{people}/counts")).await)
            .await
            .0,
        200
    );
    assert_eq!(
        c.check(
            "GET",
            &counts,
            get("/admin/v1/tenants/nope/people/counts").await
        )
        .await
        .0,
        404
    );

    let history = format!("{t}/people/{{id}}/history");
    let (status, events) = c
        .check(
            "GET",
            &history,
            get(&format!("{people}/{ada_id}/history?limit=1")).await,
        )
        .await;
    assert_eq!(status, 200);
    assert!(events["next_cursor"].is_string(), "{events}");
    assert_eq!(
        c.check(
            "GET",
            &history,
            get(&format!("{people}/{ada_id}/history?cursor=%25%25")).await
        )
        .await
        .0,
        400
    );
    assert_eq!(
        c.check(
            "GET",
            &history,
            get(&format!("{people}/{}/history", uuid::Uuid::new_v4())).await
        )
        .await
        .0,
        404
    );

    // Import: a dry run, a refused file, a file of another type.
    let import = format!("{t}/people/import");
    let csv = |dry_run: bool, content_type: &'static str, file: &str| {
        send(
            &app,
            "POST",
            &format!("{people}/import?dry_run={dry_run}"),
            true,
            Some((content_type, file.as_bytes().to_vec())),
        )
    };
    let header = "email,given_name,family_name,display_name,department,manager_email\n";
    let (status, summary) = c
        .check(
            "POST",
            &import,
            csv(
                true,
                "text/csv",
                &format!("{header}dee@acme.example,Dee,,,,\n"),
            )
            .await,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(summary["created"], 1, "{summary}");
    let (status, summary) = c
        .check(
            "POST",
            &import,
            csv(false, "text/csv", &format!("{header}not an email,,,,,\n")).await,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(summary["errors"][0]["row"], 2, "{summary}");
    assert_eq!(
        c.check("POST", &import, csv(false, "application/json", "{}").await)
            .await
            .0,
        415
    );

    // Delete and restore.
    let res = send(&app, "DELETE", &format!("{people}/{ada_id}"), true, None).await;
    assert_eq!(c.check("DELETE", &person, res).await.0, 204);
    let res = send(
        &app,
        "DELETE",
        &format!("{people}/{}", uuid::Uuid::new_v4()),
        true,
        None,
    )
    .await;
    assert_eq!(c.check("DELETE", &person, res).await.0, 404);
    let restore = format!("{t}/people/{{id}}/restore");
    let res = send(
        &app,
        "POST",
        &format!("{people}/{ada_id}/restore"),
        true,
        None,
    )
    .await;
    let (status, back) = c.check("POST", &restore, res).await;
    assert_eq!(status, 200);
    assert!(back["deprovisioned_at"].is_null(), "{back}");
    let res = send(
        &app,
        "POST",
        &format!("{people}/{}/restore", uuid::Uuid::new_v4()),
        true,
        None,
    )
    .await;
    assert_eq!(c.check("POST", &restore, res).await.0, 404);

    // The feed.
    let feed = format!("{t}/events");
    let (status, page) = c
        .check(
            "GET",
            &feed,
            get("/admin/v1/tenants/acme/events?limit=1000").await,
        )
        .await;
    assert_eq!(status, 200);
    assert!(page["items"].as_array().unwrap().len() > 5, "{page}");
    assert_eq!(
        c.check(
            "GET",
            &feed,
            get("/admin/v1/tenants/acme/events?after=-1").await
        )
        .await
        .0,
        400
    );

    // The connection: created, replaced, refused, read.
    let connection = format!("{t}/connection");
    let graph = json!({
        "provider": "graph",
        "directory_tenant_id": "contoso.onmicrosoft.com",
        "client_id": "3f2a1c9e-5b7d-4e8f-a6c1-0d9b8e7f6a5c",
        "client_secret": "s3cret",
        "scope": {"type": "groups", "group_ids": ["b1e2c3d4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"]},
    });
    let at = "/admin/v1/tenants/acme/connection";
    assert_eq!(c.check("GET", &connection, get(at).await).await.0, 404);
    for want in [201, 200] {
        let res = send(&app, "PUT", at, true, json_body(graph.clone())).await;
        assert_eq!(c.check("PUT", &connection, res).await.0, want);
    }
    let res = send(
        &app,
        "PUT",
        at,
        true,
        json_body(json!({"provider": "graph"})),
    )
    .await;
    assert_eq!(c.check("PUT", &connection, res).await.0, 400);
    let (status, view) = c.check("GET", &connection, get(at).await).await;
    assert_eq!(status, 200);
    assert_eq!(view["has_secret"], true);

    // A Google connection: saved, read back without its key, refused when malformed.
    let google = crate::fake_google::FakeGoogle::start(Default::default()).await;
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants",
        true,
        json_body(json!({"slug": "goog"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let goog = "/admin/v1/tenants/goog/connection";
    let body = json!({"provider": "google", "admin_email": "admin@example.com",
                      "customer": "my_customer", "service_account": google.key_file(),
                      "scope": {"type": "org_units", "paths": ["/Sales"]}});
    let res = send(&app, "PUT", goog, true, json_body(body)).await;
    assert_eq!(c.check("PUT", &connection, res).await.0, 201);
    let (status, view) = c.check("GET", &connection, get(goog).await).await;
    assert_eq!(status, 200);
    assert_eq!(view["provider"], "google");
    assert_eq!(view["has_secret"], true);
    let res = send(
        &app,
        "PUT",
        goog,
        true,
        json_body(json!({"provider": "google", "admin_email": "admin@example.com"})),
    )
    .await;
    assert_eq!(c.check("PUT", &connection, res).await.0, 400);

    // Pull sync, against a Graph fake: a connection test, runs, a plan, a held run and
    // its approval.
    let res = send(&app, "POST", &format!("{at}/test"), true, None).await;
    let (status, tested) = c.check("POST", &format!("{connection}/test"), res).await;
    assert_eq!(status, 200);
    assert_eq!(
        tested["ok"], false,
        "the fake knows no contoso.onmicrosoft.com"
    );
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants/nobody/connection/test",
        true,
        None,
    )
    .await;
    assert_eq!(
        c.check("POST", &format!("{connection}/test"), res).await.0,
        404
    );
    for i in 0..20 {
        fake.add_user(
            &format!("u{i}"),
            json!({"userPrincipalName": format!("u{i}@contoso.example"), "accountEnabled": true}),
        );
    }
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants",
        true,
        json_body(json!({"slug": "pull"})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let o = fake.options();
    let res = send(
        &app,
        "PUT",
        "/admin/v1/tenants/pull/connection",
        true,
        json_body(json!({"provider": "graph", "directory_tenant_id": o.tenant,
                         "client_id": o.client_id, "client_secret": o.client_secret,
                         "scope": {"type": "all"}})),
    )
    .await;
    assert_eq!(res.status(), 201);
    let start = format!("{t}/sync");
    let run_at = format!("{t}/sync-runs/{{id}}");
    let sync = |dry: bool| {
        send(
            &app,
            "POST",
            &format!("/admin/v1/tenants/pull/sync?dry_run={dry}"),
            true,
            None,
        )
    };
    let ended = |id: String| {
        let app = &app;
        async move {
            for _ in 0..400 {
                let run: Value = send(
                    app,
                    "GET",
                    &format!("/admin/v1/tenants/pull/sync-runs/{id}"),
                    true,
                    None,
                )
                .await
                .json()
                .await
                .unwrap();
                if !matches!(run["status"].as_str(), Some("queued" | "running")) {
                    return run;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("run {id} did not end");
        }
    };
    let (status, started) = c.check("POST", &start, sync(true).await).await;
    assert_eq!(status, 202);
    let id = started["run_id"].as_str().unwrap().to_owned();
    assert_eq!(ended(id.clone()).await["status"], "planned");
    let res = send(&app, "POST", "/admin/v1/tenants/nobody/sync", true, None).await;
    assert_eq!(c.check("POST", &start, res).await.0, 404);
    let (status, _) = c.check("POST", &start, sync(false).await).await;
    assert_eq!(status, 202);
    let runs = format!("{t}/sync-runs");
    let (status, page) = c
        .check(
            "GET",
            &runs,
            get("/admin/v1/tenants/pull/sync-runs?limit=1").await,
        )
        .await;
    assert_eq!(status, 200);
    assert!(page["next_cursor"].is_string(), "{page}");
    assert_eq!(
        c.check(
            "GET",
            &runs,
            get("/admin/v1/tenants/pull/sync-runs?cursor=x").await
        )
        .await
        .0,
        400
    );
    let applied = ended(page["items"][0]["id"].as_str().unwrap().to_owned()).await;
    assert_eq!(applied["status"], "succeeded", "{applied}");
    let (status, _) = c
        .check(
            "GET",
            &run_at,
            get(&format!("/admin/v1/tenants/pull/sync-runs/{id}")).await,
        )
        .await;
    assert_eq!(status, 200);
    let unknown = "/admin/v1/tenants/pull/sync-runs/0190f0f0-0000-7000-8000-000000000000";
    assert_eq!(c.check("GET", &run_at, get(unknown).await).await.0, 404);
    let plan = format!("{run_at}/plan");
    let (status, items) = c
        .check(
            "GET",
            &plan,
            get(&format!(
                "/admin/v1/tenants/pull/sync-runs/{id}/plan?action=create&limit=5"
            ))
            .await,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(items["items"].as_array().map(Vec::len), Some(5));
    let res = get(&format!(
        "/admin/v1/tenants/pull/sync-runs/{id}/plan?action=nothing"
    ))
    .await;
    assert_eq!(c.check("GET", &plan, res).await.0, 400);
    for i in 0..15 {
        fake.remove_user(&format!("u{i}"), "deleted");
    }
    let (_, started) = c.check("POST", &start, sync(false).await).await;
    let held = ended(started["run_id"].as_str().unwrap().to_owned()).await;
    assert_eq!(held["status"], "held", "{held}");
    let approve = format!("{run_at}/approve");
    let held_at = format!(
        "/admin/v1/tenants/pull/sync-runs/{}/approve",
        held["id"].as_str().unwrap()
    );
    let (status, approved) = c
        .check(
            "POST",
            &approve,
            send(&app, "POST", &held_at, true, None).await,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(approved["status"], "succeeded");
    let res = send(&app, "POST", &held_at, true, None).await;
    assert_eq!(c.check("POST", &approve, res).await.0, 409);

    // Connect links: made, refused, listed, revoked.
    let links = format!("{t}/connect-links");
    let link = format!("{t}/connect-links/{{id}}");
    let links_at = "/admin/v1/tenants/acme/connect-links";
    let make = |body: Value| send(&app, "POST", links_at, true, json_body(body));
    let (status, made) = c
        .check(
            "POST",
            &links,
            make(json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "1d"})).await,
        )
        .await;
    assert_eq!(status, 201);
    let res =
        make(json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "1m"})).await;
    assert_eq!(c.check("POST", &links, res).await.0, 400);
    let res = make(json!({"provider": "google", "scope": {"type": "all"}})).await;
    assert_eq!(c.check("POST", &links, res).await.0, 409);
    let (status, page) = c.check("GET", &links, get(links_at).await).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"][0]["state"], "pending", "{page}");
    let res = get(&format!("{links_at}?cursor=x")).await;
    assert_eq!(c.check("GET", &links, res).await.0, 400);
    let id = made["id"].as_str().unwrap();
    let res = send(&app, "DELETE", &format!("{links_at}/{id}"), true, None).await;
    assert_eq!(c.check("DELETE", &link, res).await.0, 204);
    let res = send(
        &app,
        "DELETE",
        &format!("{links_at}/{}", uuid::Uuid::new_v4()),
        true,
        None,
    )
    .await;
    assert_eq!(c.check("DELETE", &link, res).await.0, 404);

    // Disconnect, then delete the tenant.
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants/acme/disconnect",
        true,
        json_body(json!({})),
    )
    .await;
    assert_eq!(
        c.check("POST", &format!("{t}/disconnect"), res).await.0,
        400
    );
    let res = send(
        &app,
        "POST",
        "/admin/v1/tenants/acme/disconnect",
        true,
        json_body(json!({"keep_people": true})),
    )
    .await;
    let (status, done) = c.check("POST", &format!("{t}/disconnect"), res).await;
    assert_eq!(status, 200);
    assert_eq!(done["tenant"]["source"], "manual");
    let res = send(&app, "DELETE", "/admin/v1/tenants/acme", true, None).await;
    assert_eq!(c.check("DELETE", t, res).await.0, 204);
    let res = send(&app, "DELETE", "/admin/v1/tenants/acme", true, None).await;
    assert_eq!(c.check("DELETE", t, res).await.0, 404);

    // Errors outside the handlers are problems too: headers too large (the `default`
    // response).
    let res = app
        .client
        .get(app.url("/admin/v1/tenants"))
        .header(AUTHORIZATION, format!("Bearer {}", app.admin_key))
        .header("x-big", "v".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(c.check("GET", "/tenants", res).await.0, 431);

    c.assert_every_operation_checked();
}

/// A field a handler answers that its schema does not have is caught: the document's
/// objects are closed.
#[tokio::test]
async fn an_answer_with_a_field_the_schema_lacks_does_not_fit() {
    let app = spawn_app_with(|_| {}).await;
    let c = Contract::fetch(&app).await;
    let (_, schema) = c.response("GET", "/tenants/{slug}", 200).unwrap();
    let tenant = json!({
        "id": "0b6f8a52-3c1e-4d5a-9a8e-2f0c6b1d7e44",
        "slug": "acme",
        "name": "Acme Corp",
        "source": "manual",
        "on_source_delete": "retain",
        "rate_limit": {"per_second": 100, "burst": 200},
        "sync_interval": "6h",
        "deprovision_brake": {"max_percent": 20, "min_count": 10},
        "erase_deprovisioned_after": null,
        "created_at": "2026-11-22T09:00:00Z",
        "updated_at": "2026-11-23T14:05:12Z",
    });
    c.validate(&schema, &tenant).unwrap();
    let mut extra = tenant.clone();
    extra["secret"] = json!("x");
    assert!(c.validate(&schema, &extra).is_err());
    let mut nested = tenant.clone();
    nested["rate_limit"]["extra"] = json!(1);
    assert!(c.validate(&schema, &nested).is_err());
    let mut missing = tenant.clone();
    missing.as_object_mut().unwrap().remove("updated_at");
    assert!(c.validate(&schema, &missing).is_err());
    let mut wrong = tenant;
    wrong["created_at"] = json!("yesterday");
    assert!(c.validate(&schema, &wrong).is_err());
}
