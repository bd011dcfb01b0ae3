//! A stateful fake of Microsoft Graph and of the Microsoft Entra token endpoint, served
//! over HTTP on 127.0.0.1, for the connector's tests and for benchmarks.
//!
//! It follows Microsoft's documented wire formats: the client-credentials token endpoint
//! (success `token_type`/`expires_in`/`access_token`; refusals with `error`,
//! `error_description` starting with the AADSTS code, `error_codes`), Graph's error body
//! `{"error": {"code", "message"}}`, `users: delta` and `groups: delta` (`@odata.nextLink`
//! with `$skiptoken`, `@odata.deltaLink` with `$deltatoken`, `@removed` with a reason,
//! `members@delta`, a group whose members span pages coming as several entries), 410 Gone
//! with a `Location` for an expired delta link, `transitiveMembers/microsoft.graph.user`.
//!
//! The directory is a change log: every change stamps the object with a sequence number;
//! a delta link remembers the number its round started at, and the next delta round
//! returns the objects stamped later (whole, or only the changed properties when
//! `minimal_changes` is set). Generated users and groups are derived from a seed and
//! their index, so 100,000 users cost little more than their ids.
//!
//! Faults: the next N requests to a path (or all of them) can answer a given status,
//! drop the connection, point their next link at another host, or lose `value` or their
//! links. Every request is counted by path.
// Each user of the fake (the tests, the benchmark server) uses a part of it; its handlers
// answer errors as ready HTTP responses, which are large and rare.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

pub use crate::fake_http::Faked;
use crate::fake_http::{self, Traffic};

/// What the fake starts with.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// Seconds a token lives (`expires_in`).
    pub token_lifetime: u64,
    /// Objects per page (users; for groups, a group and each member count one).
    pub page_size: usize,
    /// A delta round returns only the changed properties of a changed user.
    pub minimal_changes: bool,
    /// Generated directory: users, groups and average members per group.
    pub users: usize,
    pub groups: usize,
    pub members: usize,
    pub seed: u64,
    pub workers: usize,
}

impl Default for FakeOptions {
    fn default() -> Self {
        Self {
            tenant: "contoso.example".into(),
            client_id: "00000000-0000-4000-a000-00000000c11e".into(),
            client_secret: "right-secret".into(),
            token_lifetime: 3599,
            page_size: 999,
            minimal_changes: false,
            users: 0,
            groups: 0,
            members: 0,
            seed: 1,
            workers: 1,
        }
    }
}

/// How a fault spoils a page the fake serves.
#[derive(Debug, Clone)]
pub enum Spoil {
    /// Serve the page, but its next (or delta) link points at this base URL.
    ForeignLink(String),
    /// Serve the page without `value`.
    NoValue,
    /// Serve the page without its next or delta link.
    NoLink,
    /// An empty page that claims to be the last (`value: []` and a delta link).
    EmptyPage,
}

/// A canned misbehaviour.
pub type Fault = fake_http::Fault<Spoil>;

impl Fault {
    /// A Graph error body with this status and code.
    pub fn graph(status: u16, code: &str, message: &str) -> Self {
        Self::error(status, &graph_error(code, message))
    }

    /// 403 as Graph answers an app without the permission (or without consent).
    pub fn denied() -> Self {
        Self::graph(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    /// 429 with `Retry-After: seconds`.
    pub fn throttle(seconds: u64) -> Self {
        Self::retry_after(
            seconds,
            &graph_error("activityLimitReached", "The request has been throttled"),
        )
    }
}

/// The running fake. Dropping it does not stop the server; [`FakeGraph::stop`] does.
#[derive(Clone)]
pub struct FakeGraph {
    served: fake_http::Served,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
}

impl FakeGraph {
    /// Starts on 127.0.0.1, a free port, within the current tokio runtime.
    pub async fn start(options: FakeOptions) -> Self {
        let (fake, server) =
            Self::bind(options, "127.0.0.1:0".parse().unwrap()).expect("cannot start fake Graph");
        tokio::spawn(server);
        fake
    }

    /// Binds `addr`; the caller runs the returned server.
    pub fn bind(options: FakeOptions, addr: SocketAddr) -> std::io::Result<(Self, Server)> {
        let (listener, base) = fake_http::listen(addr)?;
        let workers = options.workers;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::new(options, base.clone())),
        });
        let data = web::Data::from(shared.clone());
        let (served, server) = fake_http::serve(listener, base, workers, data, 1 << 20, handle)?;
        Ok((Self { served, shared }, server))
    }

    pub async fn stop(&self) {
        self.served.stop().await;
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> &str {
        self.served.url()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn options(&self) -> FakeOptions {
        self.state().options.clone()
    }

    pub fn set_page_size(&self, n: usize) {
        self.state().options.page_size = n.max(1);
    }

    pub fn set_minimal_changes(&self, on: bool) {
        self.state().options.minimal_changes = on;
    }

    // --- the directory --------------------------------------------------------------

    /// Adds (or recreates) a user with these properties.
    pub fn add_user(&self, id: &str, props: Value) {
        let mut s = self.state();
        let seq = s.bump();
        let props = props.as_object().cloned().unwrap_or_default();
        match s.user_index.get(id).copied() {
            Some(i) => {
                let u = &mut s.users[i];
                u.props = Some(Box::new(props));
                u.gen = None;
                u.removed = None;
                u.created = seq;
                u.seq = seq;
            }
            None => {
                let i = s.users.len();
                s.users.push(UserRec {
                    id: id.to_owned(),
                    gen: None,
                    props: Some(Box::new(props)),
                    created: seq,
                    seq,
                    removed: None,
                    changes: Vec::new(),
                });
                s.user_index.insert(id.to_owned(), i);
            }
        }
    }

    /// Changes some of a user's properties (a `null` clears one).
    pub fn update_user(&self, id: &str, change: Value) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.user_index[id];
        let seed = s.options.seed;
        let u = &mut s.users[i];
        let mut props = u.effective(seed);
        for (k, v) in change.as_object().cloned().unwrap_or_default() {
            u.changes.push((seq, k.clone()));
            props.insert(k, v);
        }
        u.props = Some(Box::new(props));
        u.gen = None;
        u.seq = seq;
    }

    /// Deletes a user: `changed` (soft, restorable) or `deleted` (for good).
    pub fn remove_user(&self, id: &str, reason: &'static str) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.user_index[id];
        let u = &mut s.users[i];
        u.removed = Some(reason);
        u.seq = seq;
    }

    /// Restores a soft-deleted user: the next delta round returns it whole.
    pub fn restore_user(&self, id: &str) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.user_index[id];
        let u = &mut s.users[i];
        u.removed = None;
        u.created = seq;
        u.seq = seq;
    }

    /// Adds a group with these properties and members (users, groups or other ids).
    pub fn add_group(&self, id: &str, props: Value, members: &[&str]) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.groups.len();
        s.groups.push(GroupRec {
            id: id.to_owned(),
            props: props.as_object().cloned().unwrap_or_default(),
            created: seq,
            seq,
            removed: None,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
            changes: members
                .iter()
                .map(|m| (seq, (*m).to_owned(), false))
                .collect(),
        });
        s.group_index.insert(id.to_owned(), i);
    }

    pub fn add_member(&self, group: &str, member: &str) {
        self.change_member(group, member, false);
    }

    pub fn remove_member(&self, group: &str, member: &str) {
        self.change_member(group, member, true);
    }

    fn change_member(&self, group: &str, member: &str, removed: bool) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.group_index[group];
        let g = &mut s.groups[i];
        g.members.retain(|m| m != member);
        if !removed {
            g.members.push(member.to_owned());
        }
        g.changes.push((seq, member.to_owned(), removed));
        g.seq = seq;
    }

    pub fn remove_group(&self, id: &str, reason: &'static str) {
        let mut s = self.state();
        let seq = s.bump();
        let i = s.group_index[id];
        s.groups[i].removed = Some(reason);
        s.groups[i].seq = seq;
    }

    /// Changes the department of `percent` % of the live users (spread evenly); the next
    /// delta round returns exactly those. Answers how many changed.
    pub fn change_departments(&self, percent: f64) -> usize {
        self.state().change_departments(percent)
    }

    /// Every delta link issued so far answers 410 Gone from now on.
    pub fn expire_delta_links(&self) {
        let mut s = self.state();
        s.min_delta = s.seq + 1;
        s.bump();
    }

    /// Every token issued so far is refused from now on (as if it had expired early).
    pub fn expire_tokens(&self) {
        self.state().tokens.clear();
    }

    pub fn user_ids(&self) -> Vec<String> {
        self.state().users.iter().map(|u| u.id.clone()).collect()
    }

    pub fn group_ids(&self) -> Vec<String> {
        self.state().groups.iter().map(|g| g.id.clone()).collect()
    }

    /// The token endpoint's path for the configured tenant.
    pub fn token_path(&self) -> String {
        format!("/{}/oauth2/v2.0/token", self.state().options.tenant)
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.state().issued
    }
}

impl Faked for FakeGraph {
    type Spoil = Spoil;

    fn traffic<R>(&self, f: impl FnOnce(&mut Traffic<Spoil>) -> R) -> R {
        f(&mut self.state().traffic)
    }
}

// --- state ---------------------------------------------------------------------------

struct UserRec {
    id: String,
    /// Generated from the seed and this index, unless replaced.
    gen: Option<u32>,
    props: Option<Box<Map<String, Value>>>,
    created: u64,
    seq: u64,
    removed: Option<&'static str>,
    /// (sequence, property) of each change, for minimal delta entries.
    changes: Vec<(u64, String)>,
}

impl UserRec {
    fn effective(&self, seed: u64) -> Map<String, Value> {
        let mut props = match self.gen {
            Some(i) => generated_user(seed, i),
            None => Map::new(),
        };
        if let Some(over) = &self.props {
            props.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        props
    }
}

struct GroupRec {
    id: String,
    props: Map<String, Value>,
    created: u64,
    seq: u64,
    removed: Option<&'static str>,
    members: Vec<String>,
    /// (sequence, member, removed) of each membership change.
    changes: Vec<(u64, String, bool)>,
}

struct State {
    options: FakeOptions,
    base: String,
    seq: u64,
    /// Delta links issued before this sequence number are gone.
    min_delta: u64,
    users: Vec<UserRec>,
    user_index: HashMap<String, usize>,
    groups: Vec<GroupRec>,
    group_index: HashMap<String, usize>,
    tokens: HashMap<String, Instant>,
    issued: u64,
    traffic: Traffic<Spoil>,
    department_round: u64,
}

impl State {
    fn new(options: FakeOptions, base: String) -> Self {
        let seed = options.seed;
        let mut users = Vec::with_capacity(options.users);
        let mut user_index = HashMap::with_capacity(options.users);
        for i in 0..options.users {
            let index = u32::try_from(i).unwrap();
            let id = user_id(seed, index);
            user_index.insert(id.clone(), i);
            users.push(UserRec {
                id,
                gen: Some(index),
                props: None,
                created: 0,
                seq: 0,
                removed: None,
                changes: Vec::new(),
            });
        }
        let mut groups = Vec::with_capacity(options.groups);
        let mut group_index = HashMap::with_capacity(options.groups);
        for j in 0..options.groups {
            let id = format!("{:08x}-0000-4000-9000-{:012x}", seed as u32, j);
            let mut members = Vec::new();
            if !users.is_empty() {
                let mut seen = HashSet::new();
                let count = options.members.min(users.len());
                let start = mix(seed ^ (j as u64) << 20) as usize % users.len();
                for k in 0..count {
                    let at = (start + k * 7919) % users.len();
                    if seen.insert(at) {
                        members.push(users[at].id.clone());
                    }
                }
            }
            group_index.insert(id.clone(), j);
            groups.push(GroupRec {
                id,
                props: json!({
                    "displayName": format!("Group {j}"),
                    "description": format!("Generated group {j}")
                })
                .as_object()
                .cloned()
                .unwrap_or_default(),
                created: 0,
                seq: 0,
                removed: None,
                members,
                changes: Vec::new(),
            });
        }
        Self {
            options,
            base,
            seq: 1,
            min_delta: 0,
            users,
            user_index,
            groups,
            group_index,
            tokens: HashMap::new(),
            issued: 0,
            traffic: Traffic::default(),
            department_round: 0,
        }
    }

    fn bump(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn change_departments(&mut self, percent: f64) -> usize {
        let live: Vec<usize> = (0..self.users.len())
            .filter(|&i| self.users[i].removed.is_none())
            .collect();
        let want = ((live.len() as f64) * percent / 100.0).round() as usize;
        if want == 0 {
            return 0;
        }
        self.department_round += 1;
        let round = self.department_round;
        let seq = self.bump();
        let seed = self.options.seed;
        let stride = live.len() as f64 / want as f64;
        for n in 0..want {
            let i = live[((n as f64) * stride) as usize];
            let u = &mut self.users[i];
            // A generated user keeps only its overrides; any other keeps everything.
            let mut over = if u.gen.is_some() {
                u.props.take().map(|b| *b).unwrap_or_default()
            } else {
                u.effective(seed)
            };
            over.insert("department".into(), json!(format!("Moved {round}")));
            u.props = Some(Box::new(over));
            u.changes.push((seq, "department".into()));
            u.seq = seq;
        }
        want
    }

    fn kind_of(&self, id: &str) -> &'static str {
        if self.user_index.contains_key(id) {
            "#microsoft.graph.user"
        } else if self.group_index.contains_key(id) {
            "#microsoft.graph.group"
        } else {
            "#microsoft.graph.device"
        }
    }

    fn live_user(&self, id: &str) -> bool {
        self.user_index
            .get(id)
            .is_some_and(|&i| self.users[i].removed.is_none())
    }

    /// A user as a delta round shows it, or `None` when it is not part of the round.
    fn user_entry(&self, i: usize, since: Option<u64>) -> Option<Value> {
        let u = &self.users[i];
        let mut entry = match since {
            None if u.removed.is_some() => return None,
            None => u.effective(self.options.seed),
            Some(t) if u.seq <= t => return None,
            Some(_) if u.removed.is_some() => {
                let mut m = Map::new();
                m.insert(
                    "@removed".into(),
                    json!({ "reason": u.removed.unwrap_or("changed") }),
                );
                m
            }
            Some(t) if self.options.minimal_changes && u.created <= t => {
                let all = u.effective(self.options.seed);
                let keys: HashSet<&str> = u
                    .changes
                    .iter()
                    .filter(|(s, _)| *s > t)
                    .map(|(_, k)| k.as_str())
                    .collect();
                all.into_iter()
                    .filter(|(k, _)| keys.contains(k.as_str()))
                    .collect()
            }
            Some(_) => u.effective(self.options.seed),
        };
        entry.insert("id".into(), json!(u.id));
        Some(Value::Object(entry))
    }

    /// A group's member entries for a round: all live members, or the net changes.
    fn member_entries(&self, g: &GroupRec, since: Option<u64>) -> Vec<Value> {
        let entry = |id: &str, removed: bool| {
            let mut e = json!({ "@odata.type": self.kind_of(id), "id": id });
            if removed {
                e["@removed"] = json!({ "reason": "deleted" });
            }
            e
        };
        match since {
            None => g
                .members
                .iter()
                .filter(|m| !self.user_index.contains_key(m.as_str()) || self.live_user(m))
                .map(|m| entry(m, false))
                .collect(),
            Some(t) => {
                let mut order = Vec::new();
                let mut last: HashMap<&str, bool> = HashMap::new();
                for (s, m, removed) in &g.changes {
                    if *s > t && last.insert(m.as_str(), *removed).is_none() {
                        order.push(m.as_str());
                    }
                }
                order.into_iter().map(|m| entry(m, last[m])).collect()
            }
        }
    }

    fn transitive_users(&self, group: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen_users = HashSet::new();
        let mut seen_groups = HashSet::new();
        let mut stack = vec![group];
        while let Some(g) = stack.pop() {
            if !seen_groups.insert(g) {
                continue;
            }
            for m in &self.groups[g].members {
                if let Some(&u) = self.user_index.get(m) {
                    if self.users[u].removed.is_none() && seen_users.insert(u) {
                        out.push(u);
                    }
                } else if let Some(&sub) = self.group_index.get(m) {
                    stack.push(sub);
                }
            }
        }
        out
    }
}

// --- generated directory -------------------------------------------------------------

fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn user_id(seed: u64, i: u32) -> String {
    format!("{:08x}-0000-4000-8000-{:012x}", seed as u32, i)
}

/// User `i` of the generated directory: most have a mailbox; one in twenty has only a
/// primary proxy address, one in twenty none; one in fifty is disabled, one in forty a
/// guest.
fn generated_user(seed: u64, i: u32) -> Map<String, Value> {
    let h = mix(seed ^ (u64::from(i) << 16));
    let upn = format!("user{i:06}@contoso.example");
    let (mail, proxies) = match h % 20 {
        0 => (Value::Null, json!([format!("SMTP:u{i}@contoso.example")])),
        1 => (
            Value::Null,
            json!([format!("smtp:alias{i}@contoso.example")]),
        ),
        _ => (json!(upn), json!([format!("SMTP:{upn}")])),
    };
    let props = json!({
        "userPrincipalName": upn,
        "displayName": format!("Given{i} Surname{i}"),
        "givenName": format!("Given{i}"),
        "surname": format!("Surname{i}"),
        "mail": mail,
        "proxyAddresses": proxies,
        "accountEnabled": h % 50 != 7,
        "userType": if h % 40 == 3 { "Guest" } else { "Member" },
        "department": format!("Department {}", (h >> 8) % 25),
        "jobTitle": format!("Title {}", (h >> 16) % 10),
        "employeeId": format!("E{i:06}"),
    });
    props.as_object().cloned().unwrap_or_default()
}

// --- HTTP ------------------------------------------------------------------------------

fn graph_error(code: &str, message: &str) -> Value {
    json!({ "error": { "code": code, "message": message,
        "innerError": { "date": "2026-01-01T00:00:00", "request-id": "fake" } } })
}

fn json_response(status: u16, body: &Value) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::OK))
        .content_type("application/json")
        .body(body.to_string())
}

fn aadsts(status: u16, error: &str, code: u64, text: &str) -> HttpResponse {
    json_response(
        status,
        &json!({
            "error": error,
            "error_description": format!(
                "AADSTS{code}: {text}\r\nTrace ID: 0000 Correlation ID: 0000 Timestamp: 2026-01-01 00:00:00Z"),
            "error_codes": [code],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "0000",
            "correlation_id": "0000",
            "error_uri": format!("https://login.microsoftonline.com/error?code={code}")
        }),
    )
}

/// The query as Graph reads it: `$`-names decoded.
fn query(req: &HttpRequest) -> HashMap<String, String> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// Page size: the fake's, lowered by `Prefer: odata.maxpagesize` or `$top`.
fn page_size(req: &HttpRequest, q: &HashMap<String, String>, own: usize) -> usize {
    let prefer = req
        .headers()
        .get("Prefer")
        .and_then(|v| v.to_str().ok())
        .and_then(|p| {
            p.split(',')
                .find_map(|part| part.trim().strip_prefix("odata.maxpagesize="))
                .and_then(|n| n.trim().parse::<usize>().ok())
        });
    let top = q.get("$top").and_then(|t| t.parse::<usize>().ok());
    [Some(own), prefer, top]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(own)
        .max(1)
}

fn encode(parts: &[u64]) -> String {
    parts
        .iter()
        .map(|p| format!("{p:x}"))
        .collect::<Vec<_>>()
        .join("Z")
}

fn decode(token: &str) -> Option<Vec<u64>> {
    token
        .split('Z')
        .map(|p| u64::from_str_radix(p, 16).ok())
        .collect()
}

async fn handle(req: HttpRequest, body: Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let path = req.path().to_owned();
    let mut s = shared.state.lock().unwrap_or_else(|e| e.into_inner());
    let spoil = match s
        .traffic
        .arrive(&path, "application/json", b"{\"value\": [")
    {
        Ok(spoil) => spoil,
        Err(answer) => return answer,
    };

    if path.starts_with("/_fake/") {
        return control(&mut s, &req, &path);
    }
    if path.ends_with("/oauth2/v2.0/token") {
        return token(&mut s, &req, &path, &body);
    }
    if req.method() != actix_web::http::Method::GET {
        return json_response(
            405,
            &graph_error("Request_BadRequest", "Only GET is served"),
        );
    }
    // Bearer token check, as Graph does before anything else.
    let bearer = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = bearer
        .and_then(|t| s.tokens.get(t))
        .is_some_and(|exp| *exp > Instant::now());
    if !valid {
        return json_response(
            401,
            &graph_error(
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
        );
    }
    let q = query(&req);
    let answer = match path.as_str() {
        "/v1.0/users/delta" => users_delta(&mut s, &req, &q),
        "/v1.0/groups/delta" => groups_delta(&mut s, &req, &q),
        p => match p.strip_prefix("/v1.0/groups/") {
            Some(rest) => match rest.split_once('/') {
                None => group(&s, rest),
                Some((id, "transitiveMembers/microsoft.graph.user")) => {
                    transitive(&s, &req, &q, id)
                }
                Some(_) => Err(json_response(
                    400,
                    &graph_error("Request_BadRequest", "Unsupported segment"),
                )),
            },
            None => Err(json_response(
                404,
                &graph_error("Request_ResourceNotFound", "Unknown path"),
            )),
        },
    };
    match answer {
        Err(response) => response,
        Ok(mut page) => {
            if let Some(how) = spoil {
                spoil_page(&mut page, how);
            }
            json_response(200, &page)
        }
    }
}

fn spoil_page(page: &mut Value, how: Spoil) {
    let Some(obj) = page.as_object_mut() else {
        return;
    };
    match how {
        Spoil::ForeignLink(other) => {
            for key in ["@odata.nextLink", "@odata.deltaLink"] {
                if let Some(Value::String(link)) = obj.get_mut(key) {
                    if let Ok(mut u) = url::Url::parse(link) {
                        if let Ok(o) = url::Url::parse(&other) {
                            let _ = u.set_scheme(o.scheme());
                            let _ = u.set_host(o.host_str());
                            let _ = u.set_port(o.port());
                        }
                        *link = u.to_string();
                    }
                }
            }
        }
        Spoil::NoValue => {
            obj.remove("value");
        }
        Spoil::NoLink => {
            obj.remove("@odata.nextLink");
            obj.remove("@odata.deltaLink");
        }
        Spoil::EmptyPage => {
            obj.insert("value".into(), json!([]));
            if let Some(next) = obj.remove("@odata.nextLink") {
                obj.insert("@odata.deltaLink".into(), next);
            }
        }
    }
}

fn control(s: &mut State, req: &HttpRequest, path: &str) -> HttpResponse {
    let q = query(req);
    match path {
        "/_fake/change" => {
            let percent = q.get("percent").and_then(|p| p.parse().ok()).unwrap_or(1.0);
            let changed = s.change_departments(percent);
            json_response(200, &json!({ "changed": changed }))
        }
        "/_fake/expire-delta" => {
            s.min_delta = s.seq + 1;
            s.bump();
            HttpResponse::NoContent().finish()
        }
        "/_fake/stats" => json_response(
            200,
            &json!({ "requests": s.traffic.counts(), "tokens_issued": s.issued }),
        ),
        _ => HttpResponse::NotFound().finish(),
    }
}

fn token(s: &mut State, req: &HttpRequest, path: &str, body: &Bytes) -> HttpResponse {
    if req.method() != actix_web::http::Method::POST {
        return aadsts(
            405,
            "invalid_request",
            900561,
            "The endpoint only accepts POST requests.",
        );
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let tenant = path
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default();
    if tenant != s.options.tenant {
        return aadsts(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."),
        );
    }
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return aadsts(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let client = form.get("client_id").cloned().unwrap_or_default();
    if client != s.options.client_id {
        return aadsts(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."),
        );
    }
    if form.get("client_secret") != Some(&s.options.client_secret) {
        return aadsts(
            401,
            "invalid_client",
            7000215,
            &format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client}'."),
        );
    }
    if !form
        .get("scope")
        .is_some_and(|sc| sc.ends_with("/.default"))
    {
        return aadsts(400, "invalid_scope", 1002012, "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.");
    }
    s.issued += 1;
    let token = format!("fake-token-{}-{:x}", s.issued, mix(s.issued));
    let lifetime = s.options.token_lifetime;
    s.tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime),
    );
    json_response(
        200,
        &json!({ "token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token }),
    )
}

fn bad_token(kind: &str) -> HttpResponse {
    json_response(
        400,
        &graph_error("Request_BadRequest", &format!("Invalid {kind} token")),
    )
}

/// Where a delta listing is: `(since, upto, position, member position)`. `since` is the
/// sequence the previous round ended at (0: a full listing).
fn delta_position(
    s: &mut State,
    q: &HashMap<String, String>,
    path: &str,
) -> Result<(Option<u64>, u64, usize, usize), HttpResponse> {
    if let Some(token) = q.get("$skiptoken") {
        let parts = decode(token)
            .filter(|p| p.len() == 4)
            .ok_or_else(|| bad_token("skip"))?;
        let since = (parts[0] > 0).then_some(parts[0]);
        return Ok((since, parts[1], parts[2] as usize, parts[3] as usize));
    }
    if let Some(token) = q.get("$deltatoken") {
        let parts = decode(token)
            .filter(|p| p.len() == 1)
            .ok_or_else(|| bad_token("delta"))?;
        if parts[0] < s.min_delta {
            let base = &s.base;
            return Err(HttpResponse::Gone()
                .content_type("application/json")
                .insert_header(("Location", format!("{base}{path}?$deltatoken=")))
                .body(
                    graph_error(
                        "resyncRequired",
                        "Resync required. The delta token is no longer valid.",
                    )
                    .to_string(),
                ));
        }
        return Ok((Some(parts[0].max(1)), s.seq, 0, 0));
    }
    Ok((None, s.seq, 0, 0))
}

fn links(
    s: &State,
    path: &str,
    since: Option<u64>,
    upto: u64,
    next: Option<(usize, usize)>,
) -> (String, String) {
    match next {
        Some((pos, mpos)) => (
            "@odata.nextLink".into(),
            format!(
                "{}{path}?$skiptoken={}",
                s.base,
                encode(&[since.unwrap_or(0), upto, pos as u64, mpos as u64])
            ),
        ),
        None => (
            "@odata.deltaLink".into(),
            format!("{}{path}?$deltatoken={}", s.base, encode(&[upto])),
        ),
    }
}

fn users_delta(
    s: &mut State,
    req: &HttpRequest,
    q: &HashMap<String, String>,
) -> Result<Value, HttpResponse> {
    let path = "/v1.0/users/delta";
    let (since, upto, mut pos, _) = delta_position(s, q, path)?;
    let size = page_size(req, q, s.options.page_size);
    let mut value = Vec::new();
    while pos < s.users.len() && value.len() < size {
        if let Some(e) = s.user_entry(pos, since) {
            value.push(e);
        }
        pos += 1;
    }
    let next = (pos < s.users.len()).then_some((pos, 0));
    let (key, link) = links(s, path, since, upto, next);
    Ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", s.base),
        key: link,
        "value": value,
    }))
}

fn groups_delta(
    s: &mut State,
    req: &HttpRequest,
    q: &HashMap<String, String>,
) -> Result<Value, HttpResponse> {
    let path = "/v1.0/groups/delta";
    let (since, upto, mut pos, mut mpos) = delta_position(s, q, path)?;
    let mut room = page_size(req, q, s.options.page_size);
    let mut value = Vec::new();
    while pos < s.groups.len() && room > 0 {
        let g = &s.groups[pos];
        let included = match since {
            None => g.removed.is_none(),
            Some(t) => g.seq > t,
        };
        if !included {
            pos += 1;
            mpos = 0;
            continue;
        }
        let mut entry = Map::new();
        if since.is_some() && g.removed.is_some() {
            entry.insert("id".into(), json!(g.id));
            entry.insert(
                "@removed".into(),
                json!({ "reason": g.removed.unwrap_or("changed") }),
            );
            value.push(Value::Object(entry));
            room -= 1;
            pos += 1;
            mpos = 0;
            continue;
        }
        let members = s.member_entries(g, since);
        let left = members.len().saturating_sub(mpos);
        if left > 0 && room < 2 && !value.is_empty() {
            break;
        }
        let take = left.min(room.max(2) - 1);
        entry.extend(g.props.iter().map(|(k, v)| (k.clone(), v.clone())));
        entry.insert("id".into(), json!(g.id));
        if take > 0 {
            entry.insert(
                "members@delta".into(),
                Value::Array(members[mpos..mpos + take].to_vec()),
            );
        }
        value.push(Value::Object(entry));
        room = room.saturating_sub(1 + take);
        mpos += take;
        if mpos >= members.len() {
            pos += 1;
            mpos = 0;
        }
    }
    let next = (pos < s.groups.len()).then_some((pos, mpos));
    let (key, link) = links(s, path, since, upto, next);
    Ok(json!({
        "@odata.context": format!("{}/v1.0/$metadata#groups", s.base),
        key: link,
        "value": value,
    }))
}

fn not_found(id: &str) -> HttpResponse {
    json_response(
        404,
        &graph_error(
            "Request_ResourceNotFound",
            &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
        ),
    )
}

fn group(s: &State, id: &str) -> Result<Value, HttpResponse> {
    let g = s
        .group_index
        .get(id)
        .map(|&i| &s.groups[i])
        .filter(|g| g.removed.is_none())
        .ok_or_else(|| not_found(id))?;
    let mut out = g.props.clone();
    out.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#groups/$entity", s.base)),
    );
    out.insert("id".into(), json!(g.id));
    Ok(Value::Object(out))
}

fn transitive(
    s: &State,
    req: &HttpRequest,
    q: &HashMap<String, String>,
    id: &str,
) -> Result<Value, HttpResponse> {
    let gi = s
        .group_index
        .get(id)
        .copied()
        .filter(|&i| s.groups[i].removed.is_none())
        .ok_or_else(|| not_found(id))?;
    let size = page_size(req, q, s.options.page_size);
    let from = q
        .get("$skiptoken")
        .and_then(|t| decode(t))
        .and_then(|p| p.first().copied())
        .unwrap_or(0) as usize;
    let all = s.transitive_users(gi);
    let end = (from + size).min(all.len());
    let value: Vec<Value> = all[from.min(end)..end]
        .iter()
        .map(|&u| {
            let mut e = s.users[u].effective(s.options.seed);
            e.insert("@odata.type".into(), json!("#microsoft.graph.user"));
            e.insert("id".into(), json!(s.users[u].id));
            Value::Object(e)
        })
        .collect();
    let mut page = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", s.base),
        "value": value,
    });
    if end < all.len() {
        let mut next = url::Url::parse(&format!("{}{}", s.base, req.path())).unwrap();
        next.query_pairs_mut()
            .append_pair("$top", &size.to_string())
            .append_pair("$skiptoken", &encode(&[end as u64]));
        page["@odata.nextLink"] = json!(next.to_string());
    }
    Ok(page)
}
