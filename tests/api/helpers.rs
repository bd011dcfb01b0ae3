//! The world each test gets: its own database, cloned from a migrated template on the
//! server `DATABASE_URL` names, and the real app on port 0 in front of it.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use scimd::clock::{ManualClock, SharedClock};
use scimd::config::{DatabaseUrl, Settings};
use scimd::provisioning::credentials;
use scimd::store::database::{quote_ident, run_migrations};
use scimd::store::local::{self, LocalCluster};
use scimd::store::locks::TEST_TEMPLATE;
use scimd::Application;

/// The test server. Unless the URL says otherwise, connections skip TLS: with it, the
/// pools that tests leave open at exit race OpenSSL's own exit-time cleanup, and the test
/// process could abort after every test had passed ("double free or corruption").
pub fn server_url() -> DatabaseUrl {
    let mut url = url::Url::parse(server()).expect("DATABASE_URL must be a URL");
    if !url.query_pairs().any(|(k, _)| k == "sslmode") {
        url.query_pairs_mut().append_pair("sslmode", "disable");
    }
    DatabaseUrl::parse(url.as_str()).expect("DATABASE_URL must be a PostgreSQL URL")
}

/// Where the test server is, as `scimd serve` finds it: `DATABASE_URL`; else the default
/// server (`SCIMD_DEFAULT_DATABASE_URL` moves it) if anything answers there; else a
/// PostgreSQL of the tests' own, started from the one installed here in the target
/// folder's `scimd-test-data`. That cluster outlives the test process, and the next run
/// takes it over; `pg_ctl stop -D <target>/tmp/scimd-test-data/postgres` stops it.
fn server() -> &'static str {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(|| {
        if let Ok(raw) = std::env::var("DATABASE_URL") {
            return raw;
        }
        let default = std::env::var("SCIMD_DEFAULT_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let parsed = DatabaseUrl::parse(&default).expect("a PostgreSQL URL");
        if local::answers(&parsed) {
            return default;
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scimd-test-data");
        let cluster = LocalCluster::start(&dir, None, &parsed.server())
            .unwrap_or_else(|e| panic!("no PostgreSQL for the tests: {e}"));
        eprintln!(
            "tests: nothing answers at {}: using PostgreSQL {} in {} ({:?})",
            parsed.server(),
            cluster.version(),
            dir.display(),
            cluster.started
        );
        let url = cluster.url("postgres").expect("the cluster's URL");
        // Kept running for the rest of the process (statics are never dropped).
        static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
        let _ = CLUSTER.set(cluster);
        url.expose().to_owned()
    })
}

fn admin_conn() -> PgConnection {
    let url = server_url().with_database("postgres");
    PgConnection::establish(url.expose())
        .expect("cannot connect to PostgreSQL (is it running at DATABASE_URL?)")
}

/// A name that changes whenever a migration does, so a stale template is never used.
fn template_name() -> String {
    let mut files = Vec::new();
    collect(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .as_path(),
        &mut files,
    );
    files.sort();
    let mut hasher = DefaultHasher::new();
    for f in files {
        f.hash(&mut hasher);
        std::fs::read(&f).unwrap_or_default().hash(&mut hasher);
    }
    format!("scimd_template_{:016x}", hasher.finish())
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Builds the migrated template once per server; an advisory lock makes concurrent test
/// processes wait for the one building it.
fn template() -> &'static str {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let name = template_name();
        let mut conn = admin_conn();
        TEST_TEMPLATE
            .lock_for_session(&mut conn)
            .expect("advisory lock");
        let exists = diesel::sql_query("SELECT 1 AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&name)
            .execute(&mut conn)
            .expect("query pg_database");
        if exists == 0 {
            let building = format!("{name}_building");
            for sql in [
                format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    quote_ident(&building)
                ),
                format!("CREATE DATABASE {}", quote_ident(&building)),
            ] {
                diesel::sql_query(sql)
                    .execute(&mut conn)
                    .expect("create template");
            }
            {
                let url = server_url().with_database(&building);
                let mut tpl = PgConnection::establish(url.expose()).expect("connect to template");
                run_migrations(&mut tpl).expect("migrate template");
            }
            diesel::sql_query(format!(
                "ALTER DATABASE {} RENAME TO {}",
                quote_ident(&building),
                quote_ident(&name)
            ))
            .execute(&mut conn)
            .expect("rename template");
        }
        TEST_TEMPLATE
            .unlock_session(&mut conn)
            .expect("advisory unlock");
        name
    })
}

/// A database of the test's own, dropped when the value is.
pub struct TestDb {
    pub name: String,
    pub url: DatabaseUrl,
}

impl TestDb {
    pub fn new() -> Self {
        let template = template();
        let name = format!("scimd_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin_conn();
        diesel::sql_query(format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(template)
        ))
        .execute(&mut conn)
        .expect("clone the template database");
        let url = server_url().with_database(&name);
        Self { name, url }
    }

    /// A name for a database that does not exist yet (and is dropped afterwards).
    pub fn unborn() -> Self {
        let name = format!("scimd_test_{}", uuid::Uuid::new_v4().simple());
        let url = server_url().with_database(&name);
        Self { name, url }
    }

    pub fn conn(&self) -> PgConnection {
        PgConnection::establish(self.url.expose()).expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Off the async runtime: a plain thread with its own connection.
        let _ = std::thread::spawn(move || {
            let mut conn = admin_conn();
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&name)
            ))
            .execute(&mut conn);
        })
        .join();
    }
}

/// A `scimd` process a test started. If the test ends without stopping it (a failed
/// assertion, say), dropping it kills the process (SIGKILL) and reaps it, so no server is
/// left running after the test.
pub struct Served(Option<std::process::Child>);

impl Served {
    pub fn spawn(cmd: &mut std::process::Command) -> Self {
        Self(Some(cmd.spawn().expect("scimd starts")))
    }

    /// The process, from now on the caller's to stop and reap.
    pub fn into_child(mut self) -> std::process::Child {
        self.0.take().expect("a served process")
    }
}

impl std::ops::Deref for Served {
    type Target = std::process::Child;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref().expect("a served process")
    }
}

impl std::ops::DerefMut for Served {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.0.as_mut().expect("a served process")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    /// The app's own pool (the blocking one).
    pub pool: scimd::store::Db,
    pub admin_key: String,
    pub clock: Arc<ManualClock>,
    pub client: reqwest::Client,
    /// The `application_name` of the node's change listener.
    pub listener: String,
}

/// A SCIM client of a server a test started itself rather than a [`TestApp`]: the
/// server's SCIM base URL (`…/scim/v2`) and a tenant's token.
pub struct ScimClient {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl ScimClient {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            token: token.to_owned(),
        }
    }

    /// `GET` of `path` under the SCIM base, with the token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("request")
    }

    /// `POST` of `body` (as JSON) to `path` under the SCIM base, with the token.
    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("request")
    }
}

/// Runs `cmd` to its end, asserting it succeeds (its stderr the message): its stdout.
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A port free on 127.0.0.1 a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub fn init_logs() {
    static LOGS: Mutex<bool> = Mutex::new(false);
    let mut done = LOGS.lock().unwrap_or_else(|e| e.into_inner());
    if !*done {
        if let Ok(filter) = std::env::var("TEST_LOG") {
            scimd::telemetry::init(
                &filter,
                scimd::config::LogFormat::Pretty,
                scimd::telemetry::Sink::Direct,
            );
        }
        *done = true;
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// An app with the tenant `slug` and a token of it ([`TestApp::tenant_with_token`]).
pub async fn spawn_app_with_tenant(slug: &str) -> (TestApp, String) {
    let app = spawn_app().await;
    let token = app.tenant_with_token(slug).await;
    (app, token)
}

pub async fn spawn_app_with(tune: impl FnOnce(&mut Settings)) -> TestApp {
    let db = TestDb::new();
    spawn_app_on(db, |s| tune(s)).await
}

/// Starts the app against `db`, connecting through `db_url` when given (a proxy, say).
pub async fn spawn_app_on(db: TestDb, tune: impl FnOnce(&mut Settings)) -> TestApp {
    init_logs();
    let mut settings = Settings::new(db.url.clone());
    settings.bind = "127.0.0.1:0".parse().expect("addr");
    settings.pool_size = 8;
    settings.pool_timeout = Duration::from_secs(2);
    settings.shutdown_timeout = Duration::from_secs(1);
    settings.workers = Some(2);
    // Tests that prune call the housekeeping step themselves.
    settings.housekeeping_every = Duration::from_secs(24 * 3600);
    tune(&mut settings);
    let clock = Arc::new(ManualClock::new(Utc::now()));
    let shared: SharedClock = clock.clone();
    let app = Application::build(settings, shared).expect("build app");
    let address = format!("http://{}", app.addr());
    let pool = app.db();
    let listener = app.listener_name().to_owned();
    tokio::spawn(app.run_until_stopped());

    let mut conn = db.conn();
    let admin_key = credentials::issue_admin_key(&mut conn, Some("tests"), None, Utc::now())
        .expect("issue admin key")
        .token;
    TestApp {
        address,
        db,
        pool,
        admin_key,
        clock,
        listener,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            // The server closes a connection idle for 5 s (actix's keep-alive); a request
            // sent on it just then fails (a broken pipe, an incomplete message). Idle
            // connections are dropped here first.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()
            .expect("client"),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A `GET` of `path` without credentials.
    pub async fn anonymous_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }

    /// A `GET` of `path` without credentials, with the header `name: value`.
    pub async fn anonymous_get_with(
        &self,
        path: &str,
        name: &str,
        value: &str,
    ) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(name, value)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .send()
            .await
            .expect("request")
    }

    /// The JSON body of an admin `GET` of `path`.
    pub async fn admin_json(&self, path: &str) -> Value {
        self.json(self.admin_get(path).await).await
    }

    pub async fn admin_post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .send()
            .await
            .expect("request")
    }

    pub async fn admin_patch(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Creates a tenant through the admin API and issues it a token. The tenant's rate
    /// limit is raised out of the way: the test clock does not move by itself, so a
    /// bucket would never refill. Tests of the limit itself use
    /// [`TestApp::tenant_with_default_limit`].
    pub async fn tenant_with_token(&self, slug: &str) -> String {
        let token = self.tenant_with_default_limit(slug).await;
        let heard = self.changes_heard().await;
        let res = self
            .admin_patch(
                &format!("/admin/v1/tenants/{slug}"),
                &serde_json::json!({"rate_limit": {"per_second": 100000, "burst": 1000000}}),
            )
            .await;
        assert_eq!(res.status(), 200, "raise the rate limit of {slug}");
        // The change comes back to this node as a notification, which marks what it
        // cached of the tenant stale: heard before the test goes on, so that a test that
        // starves the pools afterwards finds its token cached, as it expects.
        eventually(Duration::from_secs(2), || async {
            self.changes_heard().await > heard
        })
        .await;
        token
    }

    /// How many change notifications the node has heard (`store::notify`).
    pub async fn changes_heard(&self) -> u64 {
        self.metrics()
            .await
            .lines()
            .find_map(|l| {
                l.strip_prefix("scimd_change_notifications_total ")?
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    /// Creates the tenant `slug` with the default settings (`POST /admin/v1/tenants`).
    pub async fn create_tenant(&self, slug: &str) {
        self.create_tenant_from(&serde_json::json!({"slug": slug}))
            .await;
    }

    /// Creates a tenant from `body` (`POST /admin/v1/tenants`), asserting 201.
    pub async fn create_tenant_from(&self, body: &Value) {
        let res = self.admin_post("/admin/v1/tenants", body).await;
        assert_eq!(res.status(), 201, "create tenant {body}");
    }

    /// Changes the settings of the tenant `slug` (`PATCH /admin/v1/tenants/{slug}`) and
    /// returns the tenant after, asserting 200.
    pub async fn patch_tenant(&self, slug: &str, body: &Value) -> Value {
        let res = self
            .admin_patch(&format!("/admin/v1/tenants/{slug}"), body)
            .await;
        json_with_status(res, 200).await
    }

    /// Saves `body` as the tenant `slug`'s connection (`PUT …/connection`).
    pub async fn put_connection(&self, slug: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(&format!("/admin/v1/tenants/{slug}/connection")))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    /// Starts a sync run of the tenant `slug` (`POST …/sync`, then `query`, such as
    /// `?dry_run=true`) and waits for its end: the run as the admin API shows it.
    pub async fn sync_and_wait(&self, slug: &str, query: &str) -> Value {
        let res = self
            .admin_post(
                &format!("/admin/v1/tenants/{slug}/sync{query}"),
                &serde_json::json!(null),
            )
            .await;
        assert_eq!(res.status(), 202);
        let started: Value = res.json().await.expect("json");
        let id = started["run_id"].as_str().expect("run id").to_owned();
        self.wait_for_run(slug, &id).await
    }

    /// Polls the run `id` of the tenant `slug` until it is neither queued nor running.
    pub async fn wait_for_run(&self, slug: &str, id: &str) -> Value {
        for _ in 0..600 {
            let run: Value = self
                .admin_get(&format!("/admin/v1/tenants/{slug}/sync-runs/{id}"))
                .await
                .json()
                .await
                .expect("json");
            if !matches!(run["status"].as_str(), Some("queued" | "running")) {
                return run;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("run {id} did not end");
    }

    /// Creates a tenant with the default settings and issues it a token.
    pub async fn tenant_with_default_limit(&self, slug: &str) -> String {
        self.create_tenant(slug).await;
        self.issue_token(slug, &serde_json::json!({})).await["token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    pub async fn issue_token(&self, slug: &str, body: &Value) -> Value {
        let res = self
            .admin_post(&format!("/admin/v1/tenants/{slug}/tokens"), body)
            .await;
        assert_eq!(res.status(), 201, "issue token for {slug}");
        res.json().await.expect("json")
    }

    /// Imports `csv` into the tenant `slug` (`POST …/people/import`).
    pub async fn import_csv(&self, slug: &str, csv: &str) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/admin/v1/tenants/{slug}/people/import")))
            .header(AUTHORIZATION, format!("Bearer {}", self.admin_key))
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .expect("request")
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let res = self.anonymous_get("/metrics").await;
        res.text().await.expect("metrics text")
    }

    pub async fn scim_get(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/scim/v2{path}")))
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .expect("request")
    }
}

/// Retries fast enough for tests of the directory connectors: backoff from 10 ms, four
/// attempts a request.
pub fn fast_retries() -> scimd::sync::http::RetryPolicy {
    scimd::sync::http::RetryPolicy {
        max_attempts: 4,
        max_wait: Duration::from_secs(5),
        base_delay: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..scimd::sync::http::RetryPolicy::default()
    }
}

/// Polls `check` until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    pub async fn scim_send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Response {
        self.scim_send_with(method, token, path, body, &[]).await
    }

    /// [`TestApp::scim_send`] with more request headers.
    pub async fn scim_send_with(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(&format!("/scim/v2{path}")))
            .header(AUTHORIZATION, format!("Bearer {token}"));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(body) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        req.send().await.expect("request")
    }

    pub async fn scim_post(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.scim_send(reqwest::Method::POST, token, path, Some(body))
            .await
    }

    pub async fn scim_put(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.scim_send(reqwest::Method::PUT, token, path, Some(body))
            .await
    }

    pub async fn scim_patch(&self, token: &str, path: &str, body: &Value) -> reqwest::Response {
        self.scim_send(reqwest::Method::PATCH, token, path, Some(body))
            .await
    }

    pub async fn scim_delete(&self, token: &str, path: &str) -> reqwest::Response {
        self.scim_send(reqwest::Method::DELETE, token, path, None)
            .await
    }

    /// POSTs a user and returns its JSON, asserting 201.
    pub async fn create_user(&self, token: &str, body: &Value) -> Value {
        json_with_status(self.scim_post(token, "/Users", body).await, 201).await
    }

    /// Creates a user ([`user_body`]) of each user name, in order: their ids.
    pub async fn create_users(
        &self,
        token: &str,
        user_names: impl IntoIterator<Item = String>,
    ) -> Vec<String> {
        let mut ids = Vec::new();
        for name in user_names {
            let user = self.create_user(token, &user_body(&name)).await;
            ids.push(user["id"].as_str().expect("id").to_owned());
        }
        ids
    }

    pub async fn create_group(&self, token: &str, body: &Value) -> Value {
        json_with_status(self.scim_post(token, "/Groups", body).await, 201).await
    }

    /// PATCHes `path` with the operations `ops` and returns the resource after, asserting
    /// 200.
    pub async fn patch_ok(&self, token: &str, path: &str, ops: Value) -> Value {
        json_with_status(self.scim_patch(token, path, &patch_op(ops)).await, 200).await
    }

    pub async fn json(&self, res: reqwest::Response) -> Value {
        res.json().await.expect("json body")
    }
}

/// The JSON body of `res`, asserting its status is `want`.
async fn json_with_status(res: reqwest::Response, want: u16) -> Value {
    let status = res.status();
    let text = res.text().await.expect("body");
    assert_eq!(status, want, "{text}");
    serde_json::from_str(&text).expect("json")
}

/// A group's member ids, sorted (none when it shows no `members`).
pub fn member_ids(group: &Value) -> Vec<String> {
    let mut ids: Vec<String> = group["members"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|m| m["value"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

pub fn patch_op(ops: Value) -> Value {
    serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}

pub fn user_body(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Smith"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    })
}

/// A SCIM group named `display_name` with the users `members`.
pub fn group_body(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members
        .iter()
        .map(|id| serde_json::json!({"value": id}))
        .collect();
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
        "members": members,
    })
}

/// `s` percent-encoded for a query string (every byte but the unreserved ones).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(diesel::QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The `n` of a query such as `SELECT count(*) AS n FROM …` on the app's database.
pub fn count(app: &TestApp, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<N>(&mut app.db.conn())
        .expect("count")
        .n
}

/// How many events the app's database holds, of every tenant.
pub fn events_total(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) AS n FROM events")
}

/// A tenant's kept counts of visible users and groups (`store::counts`) beside a count of
/// its rows.
#[derive(diesel::QueryableByName, Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub slug: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub kept_users: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub users: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub kept_groups: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub groups: i64,
}

/// Every tenant whose kept counts differ from a count of its rows: none when every count
/// is exact.
pub fn count_drift(conn: &mut PgConnection) -> Vec<Drift> {
    diesel::sql_query(
        "SELECT * FROM (SELECT t.slug, \
           (SELECT coalesce(sum(k.users), 0)::bigint FROM visible_counts k WHERE k.tenant_id = t.id) AS kept_users, \
           (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.deprovisioned_at IS NULL) AS users, \
           (SELECT coalesce(sum(k.groups), 0)::bigint FROM visible_counts k WHERE k.tenant_id = t.id) AS kept_groups, \
           (SELECT count(*) FROM groups g WHERE g.tenant_id = t.id) AS groups \
         FROM tenants t) c WHERE kept_users <> users OR kept_groups <> groups ORDER BY slug",
    )
    .load(conn)
    .expect("counts")
}
