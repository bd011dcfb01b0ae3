//! The Microsoft Graph connector against the fake Graph, over HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use url::Url;

use scimd::config::Secret;
use scimd::sync::graph::{Cloud, Graph, GraphConfig, GraphScope, Roots};
use scimd::sync::http::{RetryBudget, RetryPolicy};
use scimd::sync::{DirGroup, DirUser, MemberChange, Page, Removal, SyncError};

use crate::fake_graph::{FakeGraph, FakeOptions, Faked, Fault, Spoil};
use crate::helpers::fast_retries;

const USERS: &str = "/v1.0/users/delta";
const GROUPS: &str = "/v1.0/groups/delta";

fn config(fake: &FakeGraph, scope: GraphScope) -> GraphConfig {
    let o = fake.options();
    GraphConfig {
        directory_tenant_id: o.tenant,
        cloud: Cloud::Global,
        client_id: o.client_id,
        client_secret: Secret::new(o.client_secret),
        scope,
        include_guests: false,
    }
}

fn roots(base: &str) -> Roots {
    Roots {
        login: Some(Url::parse(base).unwrap()),
        api: Some(Url::parse(base).unwrap()),
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn connector_with(config: GraphConfig, base: &str, policy: RetryPolicy) -> Graph {
    Graph::new(config, &roots(base), http(), RetryBudget::new(policy)).unwrap()
}

fn connector(fake: &FakeGraph, scope: GraphScope) -> Graph {
    connector_with(config(fake, scope), fake.url(), fast_retries())
}

/// A fake with `n` users (`u01`…) and the given page size.
async fn fake_with_users(n: usize, page_size: usize) -> FakeGraph {
    let fake = FakeGraph::start(FakeOptions {
        page_size,
        ..FakeOptions::default()
    })
    .await;
    for i in 1..=n {
        fake.add_user(&uid(i), user(i));
    }
    fake
}

fn uid(i: usize) -> String {
    format!("u{i:02}")
}

fn user(i: usize) -> Value {
    json!({
        "userPrincipalName": format!("user{i}@contoso.example"),
        "mail": format!("user{i}@contoso.example"),
        "displayName": format!("User {i}"),
        "accountEnabled": true,
        "department": "Research"
    })
}

/// Every page of a round, and the state it leaves.
async fn read_all(graph: &Graph, state: &Value) -> Result<(Vec<Page>, Value, bool), SyncError> {
    let mut round = graph.round(state).await?;
    let mut pages = Vec::new();
    while let Some(page) = round.next_page().await? {
        pages.push(page);
    }
    let state = round.state().expect("a complete round has a state");
    Ok((pages, state, round.full()))
}

/// A first read fails with `code`, its message naming `names`.
async fn assert_first_read_fails(graph: &Graph, code: &str, names: &str) {
    let err = first_error(graph, &json!({})).await;
    assert_eq!(err.code, code);
    assert!(err.message.contains(names), "{}", err.message);
}

/// A connector of the whole directory that has read it once, and the state to read the
/// changes from.
async fn read_once(fake: &FakeGraph) -> (Graph, Value) {
    let graph = connector(fake, GraphScope::All);
    let (_, state, _) = read_all(&graph, &json!({})).await.unwrap();
    (graph, state)
}

/// The pages of a first read of the whole directory.
async fn first_read(fake: &FakeGraph) -> Vec<Page> {
    let graph = connector(fake, GraphScope::All);
    let (pages, _, _) = read_all(&graph, &json!({})).await.unwrap();
    pages
}

async fn first_error(graph: &Graph, state: &Value) -> SyncError {
    let mut round = graph.round(state).await.unwrap();
    loop {
        match round.next_page().await {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the round completed"),
            Err(e) => {
                assert!(round.state().is_none(), "a failed round leaves no state");
                return e;
            }
        }
    }
}

fn users(pages: &[Page]) -> Vec<&DirUser> {
    pages.iter().flat_map(|p| &p.users).collect()
}

fn groups(pages: &[Page]) -> Vec<&DirGroup> {
    pages.iter().flat_map(|p| &p.groups).collect()
}

fn members_of(pages: &[Page], id: &str) -> BTreeMap<String, bool> {
    groups(pages)
        .into_iter()
        .filter(|g| g.id == id)
        .flat_map(|g| &g.members)
        .map(|m| (m.id.clone(), m.removed))
        .collect()
}

// --- scope all: delta rounds -----------------------------------------------------------

#[tokio::test]
async fn graph_first_round_follows_next_links_to_the_delta_link() {
    let fake = fake_with_users(25, 10).await;
    fake.add_group("g1", json!({"displayName": "Sales"}), &["u01", "u02"]);
    let graph = connector(&fake, GraphScope::All);

    let (pages, state, full) = read_all(&graph, &json!({})).await.unwrap();

    assert!(full);
    let ids: BTreeSet<_> = users(&pages).iter().map(|u| u.id.clone()).collect();
    assert_eq!(ids.len(), 25);
    assert_eq!(users(&pages).len(), 25);
    assert_eq!(fake.requests(USERS), 3, "three pages of ten");
    assert_eq!(fake.requests(GROUPS), 1);
    assert!(pages.iter().all(|p| !p.reset));
    let u = users(&pages).into_iter().find(|u| u.id == "u07").unwrap();
    assert_eq!(u.fields["displayName"], "User 7");
    assert!(!u.fields.contains_key("id"));
    assert!(state["users"].as_str().unwrap().contains("$deltatoken="));
    assert!(state["groups"].as_str().unwrap().contains("$deltatoken="));
    let g = groups(&pages)[0];
    assert!(g.members_full);
    assert_eq!(g.fields["displayName"], "Sales");
    assert_eq!(members_of(&pages, "g1").len(), 2);
}

#[tokio::test]
async fn graph_later_round_returns_only_changes_and_both_removal_reasons() {
    let fake = fake_with_users(6, 999).await;
    let (graph, state) = read_once(&fake).await;

    fake.update_user("u01", json!({"department": "Sales"}));
    fake.remove_user("u02", "changed");
    fake.remove_user("u03", "deleted");
    fake.add_user("u07", user(7));
    let (pages, state2, full) = read_all(&graph, &state).await.unwrap();

    assert!(!full);
    let by_id: BTreeMap<_, _> = users(&pages)
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    assert_eq!(
        by_id.keys().cloned().collect::<Vec<_>>(),
        ["u01", "u02", "u03", "u07"]
    );
    assert_eq!(by_id["u01"].fields["department"], "Sales");
    assert_eq!(by_id["u01"].removed, None);
    assert_eq!(by_id["u02"].removed, Some(Removal::Changed));
    assert_eq!(by_id["u03"].removed, Some(Removal::Deleted));
    assert!(by_id["u03"].fields.is_empty());
    assert_ne!(state2, state);

    fake.restore_user("u02");
    let (pages, _, _) = read_all(&graph, &state2).await.unwrap();
    let restored = users(&pages);
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].id, "u02");
    assert_eq!(restored[0].removed, None);
    assert_eq!(
        restored[0].fields["userPrincipalName"],
        "user2@contoso.example"
    );
}

#[tokio::test]
async fn graph_minimal_delta_entries_are_passed_with_only_the_changed_properties() {
    let fake = fake_with_users(3, 999).await;
    fake.set_minimal_changes(true);
    let (graph, state) = read_once(&fake).await;

    fake.update_user("u02", json!({"jobTitle": "Lead"}));
    let (pages, _, _) = read_all(&graph, &state).await.unwrap();

    let changed = users(&pages);
    assert_eq!(changed.len(), 1);
    assert_eq!(
        changed[0].fields.keys().cloned().collect::<Vec<_>>(),
        ["jobTitle"]
    );
}

#[tokio::test]
async fn graph_an_entry_on_two_pages_is_passed_on_both_times() {
    let fake = fake_with_users(3, 999).await;
    // Graph may list one object twice in a round ("Use delta query…", replays): a first
    // page with u01 whose next link starts the listing again.
    let first = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", fake.url()),
        "@odata.nextLink": format!("{}{USERS}", fake.url()),
        "value": [{"id": "u01", "displayName": "User 1 (earlier)"}]
    });
    fake.fail(
        USERS,
        Some(1),
        Fault::Status {
            status: 200,
            headers: vec![],
            body: first.to_string(),
        },
    );
    let pages = first_read(&fake).await;

    let u01: Vec<_> = users(&pages)
        .into_iter()
        .filter(|u| u.id == "u01")
        .collect();
    assert_eq!(u01.len(), 2);
    assert_eq!(u01[0].fields["displayName"], "User 1 (earlier)");
    assert_eq!(u01[1].fields["displayName"], "User 1");
}

#[tokio::test]
async fn graph_a_group_whose_members_span_pages_comes_as_several_entries() {
    let fake = fake_with_users(25, 10).await;
    let all: Vec<String> = (1..=25).map(uid).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    fake.add_group("big", json!({"displayName": "Everyone"}), &refs);
    let pages = first_read(&fake).await;

    let entries: Vec<_> = groups(&pages)
        .into_iter()
        .filter(|g| g.id == "big")
        .collect();
    assert!(entries.len() >= 3, "{} entries", entries.len());
    assert!(entries.iter().all(|g| g.members_full));
    let members = members_of(&pages, "big");
    assert_eq!(members.len(), 25);
    assert!(members.values().all(|removed| !removed));
}

#[tokio::test]
async fn graph_later_member_changes_are_changes_and_only_users_count() {
    let fake = fake_with_users(4, 999).await;
    fake.add_group("inner", json!({"displayName": "Inner"}), &["u04"]);
    fake.add_group(
        "g1",
        json!({"displayName": "Sales"}),
        &["u01", "u02", "inner", "device-1"],
    );
    let graph = connector(&fake, GraphScope::All);
    let (pages, state, _) = read_all(&graph, &json!({})).await.unwrap();
    assert_eq!(
        members_of(&pages, "g1"),
        BTreeMap::from([("u01".into(), false), ("u02".into(), false)]),
        "nested groups and devices are not members"
    );

    fake.add_member("g1", "u03");
    fake.remove_member("g1", "u01");
    let (pages, _, full) = read_all(&graph, &state).await.unwrap();

    assert!(!full);
    let g1: Vec<_> = groups(&pages)
        .into_iter()
        .filter(|g| g.id == "g1")
        .collect();
    assert!(g1.iter().all(|g| !g.members_full));
    assert_eq!(
        members_of(&pages, "g1"),
        BTreeMap::from([("u01".into(), true), ("u03".into(), false)])
    );
}

#[tokio::test]
async fn graph_gone_delta_link_starts_over_with_a_full_listing_marked_reset() {
    let fake = fake_with_users(5, 2).await;
    let (graph, state) = read_once(&fake).await;
    fake.update_user("u01", json!({"department": "Sales"}));
    fake.expire_delta_links();

    let mut round = graph.round(&state).await.unwrap();
    assert!(!round.full());
    let first = round.next_page().await.unwrap().unwrap();
    assert!(first.reset, "the first page after a 410 says to discard");
    assert!(round.full());
    let mut pages = vec![first];
    while let Some(p) = round.next_page().await.unwrap() {
        assert!(!p.reset, "only the first page after the restart resets");
        pages.push(p);
    }
    assert_eq!(users(&pages).len(), 5, "the full listing");
    let new_state = round.state().unwrap();
    assert_ne!(new_state, state);
    // The new links work.
    let (_, _, full) = read_all(&graph, &new_state).await.unwrap();
    assert!(!full);
}

#[tokio::test]
async fn graph_sync_state_not_found_on_a_delta_link_also_starts_over() {
    let fake = fake_with_users(3, 999).await;
    let (graph, state) = read_once(&fake).await;
    fake.fail(
        USERS,
        Some(1),
        Fault::graph(
            400,
            "syncStateNotFound",
            "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
        ),
    );

    let (pages, _, full) = read_all(&graph, &state).await.unwrap();

    assert!(full);
    assert!(pages[0].reset);
    assert_eq!(users(&pages).len(), 3);
}

#[tokio::test]
async fn graph_asking_twice_to_start_over_fails_the_round() {
    let fake = fake_with_users(3, 999).await;
    let graph = connector(&fake, GraphScope::All);
    fake.fail(
        USERS,
        Some(2),
        Fault::graph(410, "resyncRequired", "Resync required."),
    );
    assert_first_read_fails(&graph, "source_error", "twice").await;
}

#[tokio::test]
async fn graph_a_foreign_next_link_fails_the_round_and_is_never_followed() {
    let fake = fake_with_users(5, 2).await;
    let elsewhere = FakeGraph::start(FakeOptions::default()).await;
    fake.fail(
        USERS,
        Some(1),
        Fault::Spoil(Spoil::ForeignLink(elsewhere.url().to_owned())),
    );
    let graph = connector(&fake, GraphScope::All);

    assert_first_read_fails(&graph, "foreign_link", "127.0.0.1").await;
    assert_eq!(elsewhere.total_requests(), 0);
}

#[tokio::test]
async fn graph_a_stored_link_to_another_host_is_refused() {
    let fake = fake_with_users(1, 999).await;
    let graph = connector(&fake, GraphScope::All);
    let state = json!({
        "users": "https://graph.evil.example/v1.0/users/delta?$deltatoken=1",
        "groups": format!("{}{GROUPS}?$deltatoken=1", fake.url()),
    });
    let err = graph.round(&state).await.err().unwrap();
    assert_eq!(err.code, "foreign_link");
    assert_eq!(fake.total_requests(), 0);
}

#[tokio::test]
async fn graph_a_page_without_value_or_links_is_a_truncated_listing() {
    let fake = fake_with_users(3, 999).await;
    let graph = connector(&fake, GraphScope::All);

    fake.fail(USERS, Some(1), Fault::Spoil(Spoil::NoValue));
    assert_eq!(first_error(&graph, &json!({})).await.code, "truncated");

    fake.fail(GROUPS, Some(1), Fault::Spoil(Spoil::NoLink));
    assert_eq!(first_error(&graph, &json!({})).await.code, "truncated");
}

// --- retries ------------------------------------------------------------------------------

#[tokio::test]
async fn graph_throttled_request_waits_the_retry_after_then_succeeds() {
    let fake = fake_with_users(3, 999).await;
    fake.fail(USERS, Some(1), Fault::throttle(1));
    let graph = connector(&fake, GraphScope::All);

    let started = Instant::now();
    let (pages, _, _) = read_all(&graph, &json!({})).await.unwrap();

    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(users(&pages).len(), 3);
    assert_eq!(fake.requests(USERS), 2);
    assert_eq!(graph.budget().stats().throttled_retries(), 1);
    assert_eq!(graph.budget().retries_used(), 1);
}

#[tokio::test]
async fn graph_a_retry_after_above_the_cap_fails_as_throttled_without_waiting() {
    let fake = fake_with_users(3, 999).await;
    fake.fail(USERS, Some(1), Fault::throttle(3600));
    let graph = connector(&fake, GraphScope::All);

    let started = Instant::now();
    let err = first_error(&graph, &json!({})).await;

    assert_eq!(err.code, "throttled");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn graph_a_persistent_500_fails_after_the_capped_attempts() {
    let fake = fake_with_users(3, 999).await;
    fake.fail(USERS, None, Fault::graph(500, "generalException", "boom"));
    let graph = connector(&fake, GraphScope::All);

    assert_first_read_fails(&graph, "source_error", "HTTP 500").await;
    assert_eq!(fake.requests(USERS), u64::from(fast_retries().max_attempts));
}

#[tokio::test]
async fn graph_the_run_retry_allowance_caps_retries() {
    let fake = fake_with_users(3, 1).await;
    fake.fail(
        USERS,
        None,
        Fault::graph(503, "serviceNotAvailable", "busy"),
    );
    let graph = connector_with(
        config(&fake, GraphScope::All),
        fake.url(),
        RetryPolicy {
            run_retries: 2,
            ..fast_retries()
        },
    );
    assert_first_read_fails(&graph, "throttled", "allowance").await;
    assert_eq!(
        fake.requests(USERS),
        3,
        "two retries, then the budget is spent"
    );
}

#[tokio::test]
async fn graph_a_dropped_connection_is_retried() {
    let fake = fake_with_users(3, 999).await;
    fake.fail(USERS, Some(1), Fault::Drop);
    let graph = connector(&fake, GraphScope::All);

    let (pages, _, _) = read_all(&graph, &json!({})).await.unwrap();

    assert_eq!(users(&pages).len(), 3);
    assert_eq!(graph.budget().retries_used(), 1);
    assert_eq!(graph.budget().stats().throttled_retries(), 0);
}

#[tokio::test]
async fn graph_an_unreachable_host_is_unreachable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let fake = FakeGraph::start(FakeOptions::default()).await;
    let graph = connector_with(config(&fake, GraphScope::All), &base, fast_retries());

    let err = graph
        .round(&json!({}))
        .await
        .unwrap()
        .next_page()
        .await
        .unwrap_err();

    assert_eq!(err.code, "unreachable");
    assert!(err.message.contains("127.0.0.1"), "{}", err.message);
}

// --- tokens and refusals ----------------------------------------------------------------

#[tokio::test]
async fn graph_an_expired_token_is_refreshed_once_mid_round() {
    let fake = fake_with_users(4, 2).await;
    let graph = connector(&fake, GraphScope::All);
    let mut round = graph.round(&json!({})).await.unwrap();
    round.next_page().await.unwrap().unwrap();
    assert_eq!(fake.tokens_issued(), 1, "the token is cached between pages");

    fake.expire_tokens();
    let mut pages = 1;
    while round.next_page().await.unwrap().is_some() {
        pages += 1;
    }

    assert!(pages >= 3);
    assert_eq!(fake.tokens_issued(), 2);
    assert_eq!(fake.requests(&fake.token_path()), 2);
}

#[tokio::test]
async fn graph_a_token_refused_twice_fails_the_run() {
    let fake = fake_with_users(1, 999).await;
    fake.fail(
        USERS,
        Some(2),
        Fault::graph(
            401,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        ),
    );
    let graph = connector(&fake, GraphScope::All);

    let err = first_error(&graph, &json!({})).await;

    assert_eq!(err.code, "token_rejected");
    assert_eq!(fake.tokens_issued(), 2);
}

/// The first error of a round in which Graph refuses every request to `path`.
async fn refusal_of(path: &str) -> SyncError {
    let fake = fake_with_users(1, 999).await;
    fake.fail(path, None, Fault::denied());
    first_error(&connector(&fake, GraphScope::All), &json!({})).await
}

#[tokio::test]
async fn graph_forbidden_users_names_the_missing_permission() {
    let err = refusal_of(USERS).await;
    assert_eq!(err.code, "permission_missing");
    assert!(err.message.contains("User.Read.All"), "{}", err.message);
    assert!(err.message.contains("consent"), "{}", err.message);
}

#[tokio::test]
async fn graph_forbidden_groups_names_group_member_read_all() {
    let err = refusal_of(GROUPS).await;
    assert_eq!(err.code, "permission_missing");
    assert!(
        err.message.contains("GroupMember.Read.All"),
        "{}",
        err.message
    );
}

/// The first error of a round whose connection settings were spoiled by `spoil`.
async fn sign_in_refusal(spoil: impl FnOnce(&mut GraphConfig)) -> SyncError {
    let fake = FakeGraph::start(FakeOptions::default()).await;
    let mut c = config(&fake, GraphScope::All);
    spoil(&mut c);
    let graph = connector_with(c, fake.url(), fast_retries());
    let err = first_error(&graph, &json!({})).await;
    assert_eq!(fake.total_requests(), 1, "a refused sign-in is not retried");
    err
}

#[tokio::test]
async fn graph_a_wrong_secret_is_named() {
    let err = sign_in_refusal(|c| c.client_secret = Secret::new("wrong".into())).await;
    assert_eq!(err.code, "bad_secret");
    assert!(err.message.contains("client secret"), "{}", err.message);
    assert!(err.message.contains("AADSTS7000215"), "{}", err.message);
}

#[tokio::test]
async fn graph_an_unknown_tenant_is_named() {
    let err = sign_in_refusal(|c| c.directory_tenant_id = "fabrikam.example".into()).await;
    assert_eq!(err.code, "tenant_not_found");
    assert!(err.message.contains("fabrikam.example"), "{}", err.message);
    assert!(err.message.contains("AADSTS90002"), "{}", err.message);
}

#[tokio::test]
async fn graph_an_unknown_client_id_is_named() {
    let err =
        sign_in_refusal(|c| c.client_id = "99999999-0000-0000-0000-000000000000".into()).await;
    assert_eq!(err.code, "client_not_found");
    assert!(err.message.contains("AADSTS700016"), "{}", err.message);
}

// --- scope groups ---------------------------------------------------------------------------

#[tokio::test]
async fn graph_chosen_groups_yield_transitive_members_once_and_each_group_in_full() {
    let fake = fake_with_users(5, 2).await;
    fake.add_group("nested", json!({"displayName": "Nested"}), &["u03"]);
    fake.add_group(
        "ga",
        json!({"displayName": "A", "description": "first"}),
        &["u01", "u02", "nested", "device-1"],
    );
    fake.add_group("gb", json!({"displayName": "B"}), &["u02", "u04"]);
    let graph = connector(
        &fake,
        GraphScope::Groups {
            group_ids: vec!["ga".into(), "gb".into()],
        },
    );

    let (pages, state, full) = read_all(&graph, &json!({})).await.unwrap();

    assert!(full);
    assert_eq!(state, json!({}));
    let ids: Vec<_> = users(&pages).iter().map(|u| u.id.clone()).collect();
    let unique: BTreeSet<_> = ids.iter().cloned().collect();
    assert_eq!(ids.len(), unique.len(), "a shared member comes once");
    assert_eq!(
        unique,
        BTreeSet::from(["u01", "u02", "u03", "u04"].map(String::from))
    );
    let ga = groups(&pages).into_iter().find(|g| g.id == "ga").unwrap();
    assert!(ga.members_full);
    assert_eq!(ga.fields["displayName"], "A");
    assert_eq!(ga.fields["description"], "first");
    assert!(!ga.fields.contains_key("@odata.context"));
    let members =
        |g: &DirGroup| -> BTreeSet<String> { g.members.iter().map(|m| m.id.clone()).collect() };
    assert_eq!(
        members(ga),
        BTreeSet::from(["u01", "u02", "u03"].map(String::from))
    );
    let gb = groups(&pages).into_iter().find(|g| g.id == "gb").unwrap();
    assert_eq!(
        gb.members,
        vec![
            MemberChange {
                id: "u02".into(),
                removed: false
            },
            MemberChange {
                id: "u04".into(),
                removed: false
            }
        ]
    );
    assert!(fake.requests("/v1.0/groups/ga/transitiveMembers/microsoft.graph.user") >= 2);
    assert_eq!(
        fake.requests(USERS),
        0,
        "chosen groups never read every user"
    );
}

#[tokio::test]
async fn graph_a_chosen_group_that_does_not_exist_is_named() {
    let fake = fake_with_users(1, 999).await;
    let graph = connector(
        &fake,
        GraphScope::Groups {
            group_ids: vec!["missing-group".into()],
        },
    );
    assert_first_read_fails(&graph, "group_not_found", "missing-group").await;
}

// --- test() ------------------------------------------------------------------------------------

#[tokio::test]
async fn graph_test_reports_a_working_connection_in_plain_words() {
    let fake = fake_with_users(3, 999).await;
    let report = connector(&fake, GraphScope::All).test().await;
    assert!(report.ok, "{}", report.detail);
    assert!(report.detail.starts_with("Connected"), "{}", report.detail);
    assert_eq!(fake.requests(USERS), 1);

    fake.add_group("ga", json!({"displayName": "A"}), &["u01"]);
    let report = connector(
        &fake,
        GraphScope::Groups {
            group_ids: vec!["ga".into()],
        },
    )
    .test()
    .await;
    assert!(report.ok, "{}", report.detail);
    assert!(report.detail.contains("group ga"), "{}", report.detail);
}

#[tokio::test]
async fn graph_test_names_a_wrong_secret_and_a_missing_permission() {
    let fake = fake_with_users(1, 999).await;
    let mut c = config(&fake, GraphScope::All);
    c.client_secret = Secret::new("wrong".into());
    let report = connector_with(c, fake.url(), fast_retries()).test().await;
    assert!(!report.ok);
    assert!(
        report
            .detail
            .starts_with("The client secret is wrong or expired (AADSTS7000215)"),
        "{}",
        report.detail
    );

    fake.fail(USERS, None, Fault::denied());
    let report = connector(&fake, GraphScope::All).test().await;
    assert!(!report.ok);
    assert!(report.detail.contains("User.Read.All"), "{}", report.detail);
}

// --- the fake at scale -------------------------------------------------------------------------

#[tokio::test]
async fn graph_generated_directory_pages_in_999s_and_a_delta_returns_exactly_the_changed() {
    let fake = FakeGraph::start(FakeOptions {
        users: 3000,
        groups: 20,
        members: 50,
        ..FakeOptions::default()
    })
    .await;
    let graph = connector(&fake, GraphScope::All);
    let (pages, state, _) = read_all(&graph, &json!({})).await.unwrap();
    assert_eq!(users(&pages).len(), 3000);
    assert_eq!(fake.requests(USERS), 4);
    let group_ids: BTreeSet<_> = groups(&pages).iter().map(|g| g.id.clone()).collect();
    assert_eq!(group_ids.len(), 20);

    let changed = fake.change_departments(1.0);
    let (pages, _, _) = read_all(&graph, &state).await.unwrap();
    assert_eq!(changed, 30);
    assert_eq!(users(&pages).len(), 30);
    assert!(groups(&pages).is_empty());
}
