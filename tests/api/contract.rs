//! The admin API against its own OpenAPI document (`/admin/v1/openapi.json`): the server
//! answers exactly the documented operations, and every answer these tests get fits the
//! schema the document gives for its operation and status.

use std::collections::BTreeSet;
use std::sync::Mutex;

use reqwest::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{group_body, spawn_app_with, user_body, TestApp};

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
        let res = app.anonymous_get("/admin/v1/openapi.json").await;
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

/// The admin API as the contract tests call it: with the admin key, each answer checked
/// against the document.
struct Api<'a> {
    app: &'a TestApp,
    contract: &'a Contract,
}

impl Api<'_> {
    /// Sends `method path` (`body` as JSON), checks the answer as one of `template` and
    /// asserts its status is `want`: the answer's body.
    async fn call(
        &self,
        method: &str,
        template: &str,
        path: &str,
        body: Option<Value>,
        want: u16,
    ) -> Value {
        let body = body.map(|v| ("application/json", v.to_string().into_bytes()));
        let res = send(self.app, method, path, true, body).await;
        let (status, answer) = self.contract.check(method, template, res).await;
        assert_eq!(status, want, "{method} {path}: {answer}");
        answer
    }

    /// [`Api::call`] of a `GET`.
    async fn get(&self, template: &str, path: &str, want: u16) -> Value {
        self.call("GET", template, path, None, want).await
    }

    /// [`Api::call`] of a `POST` without a body.
    async fn post(&self, template: &str, path: &str, want: u16) -> Value {
        self.call("POST", template, path, None, want).await
    }

    /// [`Api::call`] of a `DELETE`.
    async fn delete(&self, template: &str, path: &str, want: u16) -> Value {
        self.call("DELETE", template, path, None, want).await
    }
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
    let api = Api {
        app: &app,
        contract: &c,
    };

    // The document itself.
    let res = send(&app, "GET", "/admin/v1/openapi.json", false, None).await;
    c.check("GET", "/openapi.json", res).await;

    // Tenants.
    for (body, want) in [
        (json!({"slug": "acme", "name": "Acme"}), 201),
        (json!({"slug": "acme"}), 409),
        (json!({"slug": "Not A Slug"}), 400),
        (json!({"slug": "x", "name": "n".repeat(5000)}), 413),
    ] {
        api.call("POST", "/tenants", "/admin/v1/tenants", Some(body), want)
            .await;
    }
    api.get("/tenants", "/admin/v1/tenants", 200).await;
    api.get("/tenants", "/admin/v1/tenants?limit=0", 400).await;
    api.get("/tenants", "/admin/v1/tenants?limit=abc", 400)
        .await;
    api.get("/tenants/{slug}", "/admin/v1/tenants/acme", 200)
        .await;
    api.get("/tenants/{slug}", "/admin/v1/tenants/nope", 404)
        .await;
    for (patch, want) in [
        (
            json!({"rate_limit": {"per_second": 100000, "burst": 1000000}}),
            200,
        ),
        (json!({"source": "ldap"}), 400),
        (json!({"nope": 1}), 400),
    ] {
        api.call(
            "PATCH",
            "/tenants/{slug}",
            "/admin/v1/tenants/acme",
            Some(patch),
            want,
        )
        .await;
    }

    // Tokens.
    let issued = api
        .call(
            "POST",
            "/tenants/{slug}/tokens",
            "/admin/v1/tenants/acme/tokens",
            Some(json!({"label": "idp", "expires_in": "90d"})),
            201,
        )
        .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    // An empty body is a token without label or expiry.
    let plain = api
        .post(
            "/tenants/{slug}/tokens",
            "/admin/v1/tenants/acme/tokens",
            201,
        )
        .await;
    assert!(
        plain["label"].is_null() && plain["expires_at"].is_null(),
        "{plain}"
    );
    api.call(
        "POST",
        "/tenants/{slug}/tokens",
        "/admin/v1/tenants/acme/tokens",
        Some(json!({"expires_in": "1d", "expires_at": "2030-01-01T00:00:00Z"})),
        400,
    )
    .await;
    api.get(
        "/tenants/{slug}/tokens",
        "/admin/v1/tenants/acme/tokens?limit=1",
        200,
    )
    .await;
    api.get(
        "/tenants/{slug}/tokens",
        "/admin/v1/tenants/nope/tokens",
        404,
    )
    .await;
    let key = format!(
        "/admin/v1/tenants/acme/tokens/{}",
        plain["key_id"].as_str().unwrap()
    );
    api.delete("/tenants/{slug}/tokens/{key_id}", &key, 204)
        .await;
    api.delete(
        "/tenants/{slug}/tokens/{key_id}",
        "/admin/v1/tenants/acme/tokens/nope",
        404,
    )
    .await;

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
            &group_body("Contractors", &[bob["id"].as_str().unwrap()]),
        )
        .await;
    let gid = group["id"].as_str().unwrap().to_owned();
    let t = "/tenants/{slug}";
    let people = "/admin/v1/tenants/acme/people";

    let cy = api
        .call(
            "POST",
            &format!("{t}/people"),
            people,
            Some(json!({"email": "cy@acme.example", "given_name": "Cy", "department": "Ops"})),
            201,
        )
        .await;
    assert_eq!(cy["source"], "manual", "{cy}");
    api.call(
        "POST",
        &format!("{t}/people"),
        people,
        Some(json!({"email": "cy@acme.example"})),
        409,
    )
    .await;
    api.call(
        "POST",
        &format!("{t}/people"),
        people,
        Some(json!({"email": "cy@acme.example", "extra": 1})),
        400,
    )
    .await;

    let page = api
        .get(
            &format!("{t}/people"),
            &format!("{people}?state=all&limit=2"),
            200,
        )
        .await;
    assert!(page["next_cursor"].is_string(), "{page}");
    api.get(
        &format!("{t}/people"),
        &format!("{people}?state=bogus"),
        400,
    )
    .await;

    // An id of nothing, for the 404s.
    let unknown = uuid::Uuid::new_v4();
    let person = format!("{t}/people/{{id}}");
    let got = api.get(&person, &format!("{people}/{ada_id}"), 200).await;
    assert_eq!(got["userName"], "ada@acme.example");
    api.get(&person, &format!("{people}/not-a-uuid"), 404).await;

    for (op, want_ok) in [("deactivate", 200), ("reactivate", 200)] {
        let template = format!("{t}/people/{op}");
        let path = format!("{people}/{op}");
        api.call(
            "POST",
            &template,
            &path,
            Some(json!({"ids": [ada_id]})),
            want_ok,
        )
        .await;
        api.call("POST", &template, &path, Some(json!({"ids": []})), 400)
            .await;
        api.call(
            "POST",
            &template,
            &path,
            Some(json!({"ids": [unknown]})),
            404,
        )
        .await;
    }

    let groups = "/admin/v1/tenants/acme/groups";
    for op in ["exclude", "include"] {
        let template = format!("{t}/groups/{{id}}/{op}");
        let g = api
            .post(&template, &format!("{groups}/{gid}/{op}"), 200)
            .await;
        assert_eq!(g["excluded"], op == "exclude");
        api.post(&template, &format!("{groups}/{unknown}/{op}"), 404)
            .await;
    }

    let counts = format!("{t}/people/counts");
    api.get(&counts, &format!("{people}/counts"), 200).await;
    api.get(&counts, "/admin/v1/tenants/nope/people/counts", 404)
        .await;

    let history = format!("{t}/people/{{id}}/history");
    let events = api
        .get(&history, &format!("{people}/{ada_id}/history?limit=1"), 200)
        .await;
    assert!(events["next_cursor"].is_string(), "{events}");
    api.get(
        &history,
        &format!("{people}/{ada_id}/history?cursor=%25%25"),
        400,
    )
    .await;
    api.get(&history, &format!("{people}/{unknown}/history"), 404)
        .await;

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
    api.delete(&person, &format!("{people}/{ada_id}"), 204)
        .await;
    api.delete(&person, &format!("{people}/{unknown}"), 404)
        .await;
    let restore = format!("{t}/people/{{id}}/restore");
    let back = api
        .post(&restore, &format!("{people}/{ada_id}/restore"), 200)
        .await;
    assert!(back["deprovisioned_at"].is_null(), "{back}");
    api.post(&restore, &format!("{people}/{unknown}/restore"), 404)
        .await;

    // The feed.
    let feed = format!("{t}/events");
    let page = api
        .get(&feed, "/admin/v1/tenants/acme/events?limit=1000", 200)
        .await;
    assert!(page["items"].as_array().unwrap().len() > 5, "{page}");
    api.get(&feed, "/admin/v1/tenants/acme/events?after=-1", 400)
        .await;

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
    api.get(&connection, at, 404).await;
    for want in [201, 200] {
        api.call("PUT", &connection, at, Some(graph.clone()), want)
            .await;
    }
    api.call(
        "PUT",
        &connection,
        at,
        Some(json!({"provider": "graph"})),
        400,
    )
    .await;
    let view = api.get(&connection, at, 200).await;
    assert_eq!(view["has_secret"], true);

    // A Google connection: saved, read back without its key, refused when malformed.
    let google = crate::fake_google::FakeGoogle::start(Default::default()).await;
    app.create_tenant("goog").await;
    let goog = "/admin/v1/tenants/goog/connection";
    let body = json!({"provider": "google", "admin_email": "admin@example.com",
                      "customer": "my_customer", "service_account": google.key_file(),
                      "scope": {"type": "org_units", "paths": ["/Sales"]}});
    api.call("PUT", &connection, goog, Some(body), 201).await;
    let view = api.get(&connection, goog, 200).await;
    assert_eq!(view["provider"], "google");
    assert_eq!(view["has_secret"], true);
    api.call(
        "PUT",
        &connection,
        goog,
        Some(json!({"provider": "google", "admin_email": "admin@example.com"})),
        400,
    )
    .await;

    // Pull sync, against a Graph fake: a connection test, runs, a plan, a held run and
    // its approval.
    let tested = api
        .post(&format!("{connection}/test"), &format!("{at}/test"), 200)
        .await;
    assert_eq!(
        tested["ok"], false,
        "the fake knows no contoso.onmicrosoft.com"
    );
    api.post(
        &format!("{connection}/test"),
        "/admin/v1/tenants/nobody/connection/test",
        404,
    )
    .await;
    for i in 0..20 {
        fake.add_user(
            &format!("u{i}"),
            json!({"userPrincipalName": format!("u{i}@contoso.example"), "accountEnabled": true}),
        );
    }
    app.create_tenant("pull").await;
    let o = fake.options();
    let pulled = json!({"provider": "graph", "directory_tenant_id": o.tenant,
                        "client_id": o.client_id, "client_secret": o.client_secret,
                        "scope": {"type": "all"}});
    assert_eq!(app.put_connection("pull", &pulled).await.status(), 201);
    let start = format!("{t}/sync");
    let run_at = format!("{t}/sync-runs/{{id}}");
    let sync = |dry: bool| format!("/admin/v1/tenants/pull/sync?dry_run={dry}");
    let started = api.post(&start, &sync(true), 202).await;
    let id = started["run_id"].as_str().unwrap().to_owned();
    assert_eq!(app.wait_for_run("pull", &id).await["status"], "planned");
    api.post(&start, "/admin/v1/tenants/nobody/sync", 404).await;
    api.post(&start, &sync(false), 202).await;
    let runs = format!("{t}/sync-runs");
    let page = api
        .get(&runs, "/admin/v1/tenants/pull/sync-runs?limit=1", 200)
        .await;
    assert!(page["next_cursor"].is_string(), "{page}");
    api.get(&runs, "/admin/v1/tenants/pull/sync-runs?cursor=x", 400)
        .await;
    let applied = app
        .wait_for_run("pull", page["items"][0]["id"].as_str().unwrap())
        .await;
    assert_eq!(applied["status"], "succeeded", "{applied}");
    api.get(
        &run_at,
        &format!("/admin/v1/tenants/pull/sync-runs/{id}"),
        200,
    )
    .await;
    let unknown_run = "/admin/v1/tenants/pull/sync-runs/0190f0f0-0000-7000-8000-000000000000";
    api.get(&run_at, unknown_run, 404).await;
    let not_an_id = api
        .get(&run_at, "/admin/v1/tenants/pull/sync-runs/not-a-uuid", 404)
        .await;
    assert_eq!(
        not_an_id["detail"], "no sync run `not-a-uuid` in this tenant",
        "{not_an_id}"
    );
    let plan = format!("{run_at}/plan");
    let items = api
        .get(
            &plan,
            &format!("/admin/v1/tenants/pull/sync-runs/{id}/plan?action=create&limit=5"),
            200,
        )
        .await;
    assert_eq!(items["items"].as_array().map(Vec::len), Some(5));
    api.get(
        &plan,
        &format!("/admin/v1/tenants/pull/sync-runs/{id}/plan?action=nothing"),
        400,
    )
    .await;
    for i in 0..15 {
        fake.remove_user(&format!("u{i}"), "deleted");
    }
    let (_, started) = c
        .check(
            "POST",
            &start,
            send(&app, "POST", &sync(false), true, None).await,
        )
        .await;
    let held = app
        .wait_for_run("pull", started["run_id"].as_str().unwrap())
        .await;
    assert_eq!(held["status"], "held", "{held}");
    let approve = format!("{run_at}/approve");
    let held_at = format!(
        "/admin/v1/tenants/pull/sync-runs/{}/approve",
        held["id"].as_str().unwrap()
    );
    let approved = api.post(&approve, &held_at, 200).await;
    assert_eq!(approved["status"], "succeeded");
    api.post(&approve, &held_at, 409).await;

    // Connect links: made, refused, listed, revoked.
    let links = format!("{t}/connect-links");
    let link = format!("{t}/connect-links/{{id}}");
    let links_at = "/admin/v1/tenants/acme/connect-links";
    let make = |body: Value, want: u16| api.call("POST", &links, links_at, Some(body), want);
    let made = make(
        json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "1d"}),
        201,
    )
    .await;
    make(
        json!({"provider": "graph", "scope": {"type": "all"}, "expires_in": "1m"}),
        400,
    )
    .await;
    make(json!({"provider": "google", "scope": {"type": "all"}}), 409).await;
    let page = api.get(&links, links_at, 200).await;
    assert_eq!(page["items"][0]["state"], "pending", "{page}");
    api.get(&links, &format!("{links_at}?cursor=x"), 400).await;
    let id = made["id"].as_str().unwrap();
    api.delete(&link, &format!("{links_at}/{id}"), 204).await;
    api.delete(&link, &format!("{links_at}/{unknown}"), 404)
        .await;

    // Disconnect, then delete the tenant.
    api.call(
        "POST",
        &format!("{t}/disconnect"),
        "/admin/v1/tenants/acme/disconnect",
        Some(json!({})),
        400,
    )
    .await;
    let done = api
        .call(
            "POST",
            &format!("{t}/disconnect"),
            "/admin/v1/tenants/acme/disconnect",
            Some(json!({"keep_people": true})),
            200,
        )
        .await;
    assert_eq!(done["tenant"]["source"], "manual");
    api.delete(t, "/admin/v1/tenants/acme", 204).await;
    api.delete(t, "/admin/v1/tenants/acme", 404).await;

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
