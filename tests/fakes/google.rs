//! A stateful fake of the Google OAuth 2.0 token endpoint (service accounts) and of the
//! Admin SDK Directory API, served over HTTP on 127.0.0.1, for the connector's tests and
//! for benchmarks.
//!
//! It follows Google's documented wire formats: the token endpoint takes
//! `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and an `assertion` (an RS256
//! JWT whose signature is checked with the service account's public key, with `iss`,
//! `sub`, `aud`, `scope`, `iat` and `exp` checked too) and answers
//! `{"access_token", "expires_in", "token_type": "Bearer"}` or an OAuth error
//! (`unauthorized_client` when the delegation lacks a scope, `invalid_grant` for an unknown
//! user or a bad signature); the Directory API answers its error body `{"error": {"code",
//! "message", "errors": [{"domain", "reason", "message"}]}}`, lists with `kind`,
//! `nextPageToken` and the list left out when empty (`users.list` with `customer`,
//! `maxResults` up to 500, `query=orgUnitPath='…'` including sub-units; `groups.list` and
//! `members.list` up to 200, `includeDerivedMembership`), and reads one user or group.
//!
//! The service account's RSA key pair is made when the fake starts; the key file it hands
//! out ([`FakeGoogle::key_file`]) is for this fake only.
//!
//! Faults: the next N requests to a path (or all of them) can answer a given status, drop
//! the connection mid-body, lose the page's `kind`, or claim an empty last page. Every
//! request is counted by path, and the last query string of each path is kept.
// Each user of the fake (the tests, the benchmark server) uses a part of it; its handlers
// answer errors as ready HTTP responses, which are large and rare.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub use crate::fake_http::Faked;
use crate::fake_http::{self, Traffic};

pub const USER_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
pub const GROUP_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
pub const MEMBER_SCOPE: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
pub const ORGUNIT_SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.orgunit.readonly";

pub const USERS: &str = "/admin/directory/v1/users";
pub const GROUPS: &str = "/admin/directory/v1/groups";
pub const TOKEN: &str = "/token";

/// What the fake starts with.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    pub customer_id: String,
    pub domain: String,
    /// Users that are administrators (the others can sign in, not read the directory).
    pub admins: Vec<String>,
    pub client_email: String,
    pub client_id: String,
    /// The scopes the customer's domain-wide delegation allows the service account.
    pub delegated: Vec<String>,
    pub token_lifetime: u64,
    /// The largest page served, below the API's own caps (500 users, 200 groups/members).
    pub page_cap: usize,
    /// Generated directory: users (`user{i}@domain`), groups, members per group.
    pub users: usize,
    pub groups: usize,
    pub members: usize,
    /// One generated user in `manager_every` reports to a manager (0: none does).
    pub manager_every: usize,
    pub workers: usize,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            customer_id: "C0fake01".into(),
            domain: "example.com".into(),
            admins: vec!["admin@example.com".into()],
            client_email: "scimd-sync@fake-project.iam.gserviceaccount.com".into(),
            client_id: "104857600000000000001".into(),
            delegated: vec![
                USER_SCOPE.into(),
                GROUP_SCOPE.into(),
                MEMBER_SCOPE.into(),
                ORGUNIT_SCOPE.into(),
            ],
            token_lifetime: 3599,
            page_cap: 500,
            users: 0,
            groups: 0,
            members: 0,
            manager_every: 1,
            workers: 1,
        }
    }
}

/// How a fault spoils a page the fake serves.
#[derive(Debug, Clone)]
pub enum Spoil {
    /// Serve the page without its `kind`: a body cut down to something else.
    NoKind,
    /// An empty page that claims to be the last (no list, no `nextPageToken`).
    EmptyPage,
}

/// A canned misbehaviour.
pub type Fault = fake_http::Fault<Spoil>;

impl Fault {
    /// The Directory API's error body with this status, reason and message.
    pub fn google(status: u16, reason: &str, message: &str) -> Self {
        Self::error(status, &google_error(status, reason, message))
    }

    /// 403 with a rate-limit reason (`rateLimitExceeded`, `userRateLimitExceeded`,
    /// `quotaExceeded`).
    pub fn rate_limit(reason: &str) -> Self {
        Self::google(403, reason, "Rate Limit Exceeded")
    }

    /// 429 with `Retry-After: seconds`.
    pub fn throttle(seconds: u64) -> Self {
        Self::retry_after(
            seconds,
            &google_error(429, "rateLimitExceeded", "Too Many Requests"),
        )
    }
}

/// The Directory API's error body.
pub fn google_error(code: u16, reason: &str, message: &str) -> Value {
    json!({"error": {
        "code": code,
        "message": message,
        "errors": [{"domain": "global", "reason": reason, "message": message}]
    }})
}

#[derive(Debug, Clone)]
pub struct UserRec {
    pub id: String,
    pub email: String,
    pub given: String,
    pub family: String,
    pub org_unit: String,
    pub suspended: bool,
    pub archived: bool,
    pub mailbox: bool,
    pub manager: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GroupRec {
    pub id: String,
    pub email: String,
    pub name: String,
    /// Member emails: users or groups.
    pub members: Vec<String>,
}

/// What a token was issued for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub sub: String,
    pub scopes: Vec<String>,
}

struct State {
    options: FakeOptions,
    base: String,
    private_pem: String,
    public_pem: Vec<u8>,
    users: Vec<Option<UserRec>>,
    user_index: HashMap<String, usize>,
    groups: Vec<GroupRec>,
    tokens: HashMap<String, Grant>,
    issued: u64,
    traffic: Traffic<Spoil>,
    queries: HashMap<String, String>,
    /// The claims of every assertion that verified.
    claims: Vec<Value>,
    next_id: u64,
    /// Users changed by [`State::change`].
    changed: HashSet<usize>,
}

/// The running fake. Dropping it does not stop the server; [`FakeGoogle::stop`] does.
#[derive(Clone)]
pub struct FakeGoogle {
    served: fake_http::Served,
    shared: Arc<Mutex<State>>,
}

fn keypair() -> (String, Vec<u8>) {
    let rsa = openssl::rsa::Rsa::generate(2048).expect("cannot make an RSA key");
    let key = openssl::pkey::PKey::from_rsa(rsa).expect("cannot wrap the RSA key");
    let private = key
        .private_key_to_pem_pkcs8()
        .expect("cannot write the key");
    let public = key
        .public_key_to_pem()
        .expect("cannot write the public key");
    (String::from_utf8(private).expect("PEM is text"), public)
}

impl FakeGoogle {
    /// Starts on 127.0.0.1, a free port, within the current tokio runtime.
    pub async fn start(options: FakeOptions) -> Self {
        let (fake, server) = Self::bind(options, "127.0.0.1:0".parse().unwrap())
            .expect("cannot start the fake Google");
        tokio::spawn(server);
        fake
    }

    /// Binds `addr`; the caller runs the returned server.
    pub fn bind(options: FakeOptions, addr: SocketAddr) -> std::io::Result<(Self, Server)> {
        let (listener, base) = fake_http::listen(addr)?;
        let workers = options.workers;
        let (private_pem, public_pem) = keypair();
        let mut state = State {
            options,
            base: base.clone(),
            private_pem,
            public_pem,
            users: Vec::new(),
            user_index: HashMap::new(),
            groups: Vec::new(),
            tokens: HashMap::new(),
            issued: 0,
            traffic: Traffic::default(),
            queries: HashMap::new(),
            claims: Vec::new(),
            next_id: 1,
            changed: HashSet::new(),
        };
        state.generate();
        let shared = Arc::new(Mutex::new(state));
        let data = web::Data::new(Arc::clone(&shared));
        // Bodies of up to actix's default limit.
        let (served, server) = fake_http::serve(listener, base, workers, data, 256 * 1024, handle)?;
        Ok((Self { served, shared }, server))
    }

    pub async fn stop(&self) {
        self.served.stop().await;
    }

    /// `http://127.0.0.1:PORT`: the Directory root.
    pub fn url(&self) -> &str {
        self.served.url()
    }

    /// The token URI.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN}", self.served.url())
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn options(&self) -> FakeOptions {
        self.state().options.clone()
    }

    /// The service account's JSON key file, as Google Cloud gives it out (its `token_uri`
    /// Google's: point `SCIMD_GOOGLE_TOKEN_URL` at [`FakeGoogle::token_url`]). A key of this
    /// fake only.
    pub fn key_file(&self) -> Value {
        let s = self.state();
        json!({
            "type": "service_account",
            "project_id": "fake-project",
            "private_key_id": "0123456789abcdef0123456789abcdef01234567",
            "private_key": s.private_pem,
            "client_email": s.options.client_email,
            "client_id": s.options.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": "https://oauth2.googleapis.com/token",
        })
    }

    /// Another service account's key (a new key pair, another address): the fake knows it
    /// not.
    pub fn foreign_key_file(&self) -> Value {
        let (private, _) = keypair();
        let mut key = self.key_file();
        key["private_key"] = json!(private);
        key
    }

    // --- the directory --------------------------------------------------------------

    /// Adds a user `local@domain` in `org_unit`; its id.
    pub fn add_user(&self, local: &str, org_unit: &str) -> String {
        let mut s = self.state();
        let id = s.new_id();
        let email = format!("{local}@{}", s.options.domain);
        let rec = UserRec {
            id: id.clone(),
            email,
            given: capitalised(local),
            family: "Example".into(),
            org_unit: org_unit.into(),
            suspended: false,
            archived: false,
            mailbox: true,
            manager: None,
        };
        s.insert_user(rec);
        id
    }

    /// Changes a user (by id or address).
    pub fn update_user(&self, key: &str, change: impl FnOnce(&mut UserRec)) {
        let mut s = self.state();
        let i = s.user_at(key).expect("no such user");
        if let Some(u) = s.users[i].as_mut() {
            change(u);
        }
    }

    /// Deletes a user (by id or address).
    pub fn remove_user(&self, key: &str) {
        let mut s = self.state();
        let i = s.user_at(key).expect("no such user");
        s.users[i] = None;
    }

    pub fn user(&self, key: &str) -> Option<UserRec> {
        let s = self.state();
        s.user_at(key).and_then(|i| s.users[i].clone())
    }

    /// Adds a group `local@domain` with these members (addresses of users or groups); its
    /// id.
    pub fn add_group(&self, local: &str, name: &str, members: &[&str]) -> String {
        let mut s = self.state();
        let id = format!("0{}", s.new_id());
        let email = format!("{local}@{}", s.options.domain);
        s.groups.push(GroupRec {
            id: id.clone(),
            email,
            name: name.into(),
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        });
        id
    }

    pub fn remove_group(&self, key: &str) {
        self.state()
            .groups
            .retain(|g| g.id != key && g.email != key);
    }

    pub fn user_ids(&self) -> Vec<String> {
        self.state()
            .users
            .iter()
            .flatten()
            .map(|u| u.id.clone())
            .collect()
    }

    /// Changes the family name of `percent` % of the users (spread evenly); how many.
    pub fn change(&self, percent: f64) -> usize {
        self.state().change(percent)
    }

    /// Deletes `percent` % of the users (spread evenly over those nobody reports to, none
    /// changed by [`FakeGoogle::change`] before); how many.
    pub fn remove(&self, percent: f64) -> usize {
        self.state().remove(percent)
    }

    // --- sign-in ----------------------------------------------------------------------

    pub fn set_delegated(&self, scopes: &[&str]) {
        self.state().options.delegated = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Every token issued so far is refused from now on.
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    pub fn tokens_issued(&self) -> u64 {
        self.state().issued
    }

    /// The claims of every assertion that verified, in order.
    pub fn claims(&self) -> Vec<Value> {
        self.state().claims.clone()
    }

    /// The query string of the last request to `path`, decoded into pairs.
    pub fn last_query(&self, path: &str) -> HashMap<String, String> {
        let s = self.state();
        let q = s.queries.get(path).cloned().unwrap_or_default();
        url::form_urlencoded::parse(q.as_bytes())
            .into_owned()
            .collect()
    }
}

impl Faked for FakeGoogle {
    type Spoil = Spoil;

    fn traffic<R>(&self, f: impl FnOnce(&mut Traffic<Spoil>) -> R) -> R {
        f(&mut self.state().traffic)
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl State {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("1{:020}", 500_000_000 + self.next_id)
    }

    fn insert_user(&mut self, rec: UserRec) {
        self.user_index.insert(rec.id.clone(), self.users.len());
        self.user_index
            .insert(rec.email.to_lowercase(), self.users.len());
        self.users.push(Some(rec));
    }

    fn user_at(&self, key: &str) -> Option<usize> {
        self.user_index.get(&key.to_lowercase()).copied()
    }

    fn generate(&mut self) {
        let n = self.options.users;
        let domain = self.options.domain.clone();
        let every = self.options.manager_every;
        for i in 0..n {
            let manager = (i > 0 && every > 0 && i % every == 0)
                .then(|| format!("user{}@{domain}", (i - 1) / 10));
            let org_unit = match i % 4 {
                0 => "/Sales",
                1 => "/Sales/East",
                2 => "/Engineering",
                _ => "/",
            };
            self.insert_user(UserRec {
                id: format!("1{i:020}"),
                email: format!("user{i}@{domain}"),
                given: format!("Given{i}"),
                family: format!("Family{i}"),
                org_unit: org_unit.into(),
                suspended: i % 50 == 7,
                archived: false,
                mailbox: true,
                manager,
            });
        }
        for g in 0..self.options.groups {
            let members = (0..self.options.members)
                .filter(|_| n > 0)
                .map(|k| format!("user{}@{domain}", (g * self.options.members + k * 7) % n))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            self.groups.push(GroupRec {
                id: format!("0{g:016}"),
                email: format!("group{g}@{domain}"),
                name: format!("Group {g}"),
                members,
            });
        }
    }

    fn live(&self) -> Vec<usize> {
        (0..self.users.len())
            .filter(|&i| self.users[i].is_some())
            .collect()
    }

    fn change(&mut self, percent: f64) -> usize {
        let live = self.live();
        let k = ((live.len() as f64) * percent / 100.0).round() as usize;
        if k == 0 {
            return 0;
        }
        let step = live.len() / k;
        for j in 0..k {
            let i = live[j * step];
            if let Some(u) = self.users[i].as_mut() {
                u.family = format!("{} (changed)", u.family);
                self.changed.insert(i);
            }
        }
        k
    }

    fn remove(&mut self, percent: f64) -> usize {
        let live = self.live();
        let k = ((live.len() as f64) * percent / 100.0).round() as usize;
        if k == 0 {
            return 0;
        }
        // Leaves of the generated reporting line (nobody's manager), none changed before:
        // removing them changes no one else.
        let managers: HashSet<String> = self
            .users
            .iter()
            .flatten()
            .filter_map(|u| u.manager.clone())
            .collect();
        let leaves: Vec<usize> = live
            .into_iter()
            .filter(|&i| {
                self.users[i]
                    .as_ref()
                    .is_some_and(|u| !managers.contains(&u.email) && !self.changed.contains(&i))
            })
            .collect();
        let k = k.min(leaves.len());
        if k == 0 {
            return 0;
        }
        let step = leaves.len() / k;
        for j in 0..k {
            self.users[leaves[j * step + step / 2]] = None;
        }
        k
    }

    fn group_at(&self, key: &str) -> Option<usize> {
        let key = key.to_lowercase();
        self.groups
            .iter()
            .position(|g| g.id == key || g.email.to_lowercase() == key)
    }

    /// A group's members: direct, or with nested groups' members (and the nested groups)
    /// when `derived`. Members that no longer exist are left out.
    fn members_of(&self, g: usize, derived: bool) -> Vec<Value> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![g];
        let mut visited = HashSet::new();
        while let Some(g) = stack.pop() {
            if !visited.insert(g) {
                continue;
            }
            for m in &self.groups[g].members {
                if let Some(u) = self.user_at(m).and_then(|i| self.users[i].as_ref()) {
                    if seen.insert(u.id.clone()) {
                        out.push(json!({"kind": "admin#directory#member", "id": u.id,
                            "email": u.email, "role": "MEMBER", "type": "USER", "status": "ACTIVE"}));
                    }
                } else if let Some(n) = self.group_at(m) {
                    let ng = &self.groups[n];
                    if seen.insert(ng.id.clone()) {
                        out.push(json!({"kind": "admin#directory#member", "id": ng.id,
                            "email": ng.email, "role": "MEMBER", "type": "GROUP"}));
                    }
                    if derived {
                        stack.push(n);
                    }
                }
            }
        }
        out
    }
}

fn user_json(u: &UserRec) -> Value {
    let mut v = json!({
        "kind": "admin#directory#user",
        "id": u.id,
        "etag": "\"fake\"",
        "primaryEmail": u.email,
        "name": {"givenName": u.given, "familyName": u.family,
                 "fullName": format!("{} {}", u.given, u.family)},
        "isAdmin": false,
        "suspended": u.suspended,
        "archived": u.archived,
        "isMailboxSetup": u.mailbox,
        "orgUnitPath": u.org_unit,
        "customerId": "C0fake01",
    });
    if let Some(m) = &u.manager {
        v["relations"] = json!([{"value": m, "type": "manager"}]);
    }
    v
}

fn group_json(g: &GroupRec) -> Value {
    json!({"kind": "admin#directory#group", "id": g.id, "etag": "\"fake\"", "email": g.email,
           "name": g.name, "description": "", "directMembersCount": g.members.len().to_string()})
}

fn json_response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json; charset=UTF-8")
        .body(body.to_string())
}

fn oauth_error(status: u16, error: &str, description: &str) -> HttpResponse {
    json_response(
        status,
        &json!({"error": error, "error_description": description}),
    )
}

fn api_error(status: u16, reason: &str, message: &str) -> HttpResponse {
    json_response(status, &google_error(status, reason, message))
}

async fn handle(
    req: HttpRequest,
    body: Bytes,
    shared: web::Data<Arc<Mutex<State>>>,
) -> HttpResponse {
    let path = req.path().to_owned();
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    s.queries
        .insert(path.clone(), req.query_string().to_owned());
    let spoil = match s.traffic.arrive(
        &path,
        "application/json; charset=UTF-8",
        b"{\"kind\": \"admin#directory#users\", \"users\": [",
    ) {
        Ok(spoil) => spoil,
        Err(answer) => return answer,
    };

    if path.starts_with("/_fake/") {
        return control(&mut s, &req, &path);
    }
    if path == TOKEN {
        return token(&mut s, &body);
    }
    if req.method() != actix_web::http::Method::GET {
        return api_error(405, "httpMethodNotAllowed", "Only GET is served");
    }
    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(grant) = bearer.and_then(|b| s.tokens.get(b)).cloned() else {
        return api_error(401, "authError", "Invalid Credentials");
    };
    if !s
        .options
        .admins
        .iter()
        .any(|a| a.eq_ignore_ascii_case(&grant.sub))
    {
        return api_error(
            403,
            "forbidden",
            "Not Authorized to access this resource/api",
        );
    }
    let query: HashMap<String, String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let answer = directory(&s, &grant, &path, &query);
    match (spoil, answer) {
        (Some(Spoil::NoKind), Ok(mut v)) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("kind");
            }
            json_response(200, &v)
        }
        (Some(Spoil::EmptyPage), Ok(v)) => {
            json_response(200, &json!({"kind": v["kind"], "etag": "\"fake\""}))
        }
        (_, Ok(v)) => json_response(200, &v),
        (_, Err(r)) => r,
    }
}

fn control(s: &mut State, req: &HttpRequest, path: &str) -> HttpResponse {
    let query: HashMap<String, String> = url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    let percent = query
        .get("percent")
        .and_then(|p| p.parse::<f64>().ok())
        .unwrap_or(1.0);
    match path {
        "/_fake/change" => json_response(200, &json!(s.change(percent))),
        "/_fake/remove" => json_response(200, &json!(s.remove(percent))),
        "/_fake/stats" => json_response(200, &json!(s.traffic.counts())),
        _ => api_error(404, "notFound", "no such control endpoint"),
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iss: String,
    #[serde(default)]
    sub: Option<String>,
    scope: String,
    aud: String,
    iat: u64,
    exp: u64,
}

fn token(s: &mut State, body: &Bytes) -> HttpResponse {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    if form.get("grant_type").map(String::as_str)
        != Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    {
        return oauth_error(400, "unsupported_grant_type", "Invalid grant_type: ");
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: assertion",
        );
    };
    let Ok(key) = jsonwebtoken::DecodingKey::from_rsa_pem(&s.public_pem) else {
        return oauth_error(500, "internal_failure", "bad fake key");
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[format!("{}{TOKEN}", s.base)]);
    validation.set_issuer(&[s.options.client_email.as_str()]);
    validation.set_required_spec_claims(&["exp", "iat", "aud", "iss"]);
    validation.leeway = 0;
    let claims = match jsonwebtoken::decode::<Claims>(assertion, &key, &validation) {
        Ok(data) => data.claims,
        Err(e) => {
            use jsonwebtoken::errors::ErrorKind;
            return match e.kind() {
                ErrorKind::InvalidSignature => {
                    oauth_error(400, "invalid_grant", "Invalid JWT Signature.")
                }
                ErrorKind::InvalidIssuer => {
                    oauth_error(401, "invalid_client", "The OAuth client was not found.")
                }
                ErrorKind::InvalidAudience => oauth_error(
                    400,
                    "invalid_grant",
                    "Invalid JWT: Failed audience check. The expected audience is the token endpoint.",
                ),
                _ => oauth_error(400, "invalid_grant", &format!("Invalid JWT: {e}")),
            };
        }
    };
    if claims.exp <= claims.iat || claims.exp - claims.iat > 3600 {
        return oauth_error(
            400,
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
    }
    let Some(sub) = claims.sub.clone().filter(|s| !s.is_empty()) else {
        return oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    };
    let scopes: Vec<String> = claims
        .scope
        .split(' ')
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect();
    let allowed = !scopes.is_empty() && scopes.iter().all(|x| s.options.delegated.contains(x));
    if !allowed {
        return oauth_error(
            401,
            "unauthorized_client",
            "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.",
        );
    }
    if s.user_at(&sub).and_then(|i| s.users[i].as_ref()).is_none()
        && !s
            .options
            .admins
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&sub))
    {
        return oauth_error(400, "invalid_grant", "Invalid email or User ID");
    }
    s.claims
        .push(json!({"iss": claims.iss, "sub": sub, "scope": claims.scope,
        "aud": claims.aud, "iat": claims.iat, "exp": claims.exp}));
    s.issued += 1;
    let access = format!("ya29.fake-{}", s.issued);
    s.tokens.insert(access.clone(), Grant { sub, scopes });
    json_response(
        200,
        &json!({"access_token": access, "expires_in": s.options.token_lifetime, "token_type": "Bearer"}),
    )
}

/// `maxResults`, checked against the API's cap and the fake's.
fn page_size(
    s: &State,
    query: &HashMap<String, String>,
    cap: usize,
) -> Result<usize, HttpResponse> {
    let n = match query.get("maxResults") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=cap).contains(n))
            .ok_or_else(|| api_error(400, "invalid", "Invalid value for: maxResults"))?,
        None => 100,
    };
    Ok(n.min(s.options.page_cap.max(1)))
}

fn offset(query: &HashMap<String, String>, prefix: &str) -> Result<usize, HttpResponse> {
    match query.get("pageToken") {
        None => Ok(0),
        Some(t) => t
            .strip_prefix(prefix)
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| api_error(400, "invalid", "Invalid page token")),
    }
}

fn paged(kind: &str, list: &str, items: Vec<Value>, at: usize, n: usize, prefix: &str) -> Value {
    paged_with(kind, list, items, at, n, prefix, |v| v)
}

/// A page of `items`, only its own items made JSON: a listing of 100,000 users made every
/// user's JSON for each of its 200 pages.
fn paged_with<T>(
    kind: &str,
    list: &str,
    items: Vec<T>,
    at: usize,
    n: usize,
    prefix: &str,
    to_json: impl Fn(T) -> Value,
) -> Value {
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(at).take(n).map(to_json).collect();
    let mut v = json!({"kind": kind, "etag": "\"fake\""});
    if !page.is_empty() {
        v[list] = Value::Array(page);
    }
    if at + n < total {
        v["nextPageToken"] = json!(format!("{prefix}{}", at + n));
    }
    v
}

fn needs(grant: &Grant, scope: &str) -> Result<(), HttpResponse> {
    if grant.scopes.iter().any(|s| s == scope) {
        Ok(())
    } else {
        Err(api_error(
            403,
            "insufficientPermissions",
            "Request had insufficient authentication scopes.",
        ))
    }
}

fn customer_ok(s: &State, query: &HashMap<String, String>) -> Result<(), HttpResponse> {
    match query.get("customer").map(String::as_str) {
        Some("my_customer") => Ok(()),
        Some(c) if c == s.options.customer_id => Ok(()),
        Some(_) => Err(api_error(400, "badRequest", "Bad Request")),
        None => Err(api_error(400, "badRequest", "Bad Request")),
    }
}

fn directory(
    s: &State,
    grant: &Grant,
    path: &str,
    query: &HashMap<String, String>,
) -> Result<Value, HttpResponse> {
    let rest = path.strip_prefix("/admin/directory/v1/");
    let parts: Vec<&str> = rest.map(|r| r.split('/').collect()).unwrap_or_default();
    match parts.as_slice() {
        ["users"] => {
            needs(grant, USER_SCOPE)?;
            customer_ok(s, query)?;
            let n = page_size(s, query, 500)?;
            let at = offset(query, "u")?;
            let unit =
                match query.get("query") {
                    None => None,
                    Some(q) => {
                        let p = q
                            .strip_prefix("orgUnitPath='")
                            .and_then(|p| p.strip_suffix('\''))
                            .ok_or_else(|| api_error(400, "invalid", "Invalid Input: query"))?;
                        let known =
                            s.users.iter().flatten().any(|u| {
                                u.org_unit == p || u.org_unit.starts_with(&format!("{p}/"))
                            }) || p == "/";
                        if !known {
                            return Err(api_error(400, "invalid", "Invalid Input: INVALID_OU_ID"));
                        }
                        Some(p.to_owned())
                    }
                };
            let items: Vec<&UserRec> = s
                .users
                .iter()
                .flatten()
                .filter(|u| match &unit {
                    None => true,
                    Some(p) if p == "/" => true,
                    Some(p) => u.org_unit == *p || u.org_unit.starts_with(&format!("{p}/")),
                })
                .collect();
            Ok(paged_with(
                "admin#directory#users",
                "users",
                items,
                at,
                n,
                "u",
                user_json,
            ))
        }
        ["users", key] => {
            needs(grant, USER_SCOPE)?;
            let key = percent_decode(key);
            s.user_at(&key)
                .and_then(|i| s.users[i].as_ref())
                .map(user_json)
                .ok_or_else(|| api_error(404, "notFound", "Resource Not Found: userKey"))
        }
        ["groups"] => {
            needs(grant, GROUP_SCOPE)?;
            customer_ok(s, query)?;
            let n = page_size(s, query, 200)?;
            let at = offset(query, "g")?;
            let items = s.groups.iter().map(group_json).collect();
            Ok(paged("admin#directory#groups", "groups", items, at, n, "g"))
        }
        ["groups", key] => {
            needs(grant, GROUP_SCOPE)?;
            let key = percent_decode(key);
            s.group_at(&key)
                .map(|g| group_json(&s.groups[g]))
                .ok_or_else(|| api_error(404, "notFound", "Resource Not Found: groupKey"))
        }
        ["groups", key, "members"] => {
            needs(grant, MEMBER_SCOPE)?;
            let key = percent_decode(key);
            let g = s
                .group_at(&key)
                .ok_or_else(|| api_error(404, "notFound", "Resource Not Found: groupKey"))?;
            let n = page_size(s, query, 200)?;
            let at = offset(query, "m")?;
            let derived = query.get("includeDerivedMembership").map(String::as_str) == Some("true");
            let items = s.members_of(g, derived);
            Ok(paged(
                "admin#directory#members",
                "members",
                items,
                at,
                n,
                "m",
            ))
        }
        _ => Err(api_error(404, "notFound", "Not Found")),
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
