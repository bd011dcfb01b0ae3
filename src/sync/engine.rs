//! One run (DESIGN.md, Pull sync): read the whole listing (or delta round) into staging,
//! plan, then apply the whole plan in one transaction, or stop before writing: a dry run,
//! the deprovision brake, or any failure. A run either happened completely or not at all.

use std::collections::HashMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use diesel::Connection;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::{DirGroup, DirUser, Page, Person, SyncError};
use crate::domain::{PlanAction, RunStatus, Source};
use crate::error::Error;
use crate::provisioning::sync as writes;
use crate::store::sync::{self as store, ObjectKind, Outcome, RunRow, StagedGroup, StagedUser};
use crate::store::Db;

/// A round of reading a directory: its pages, then the state the next run starts from.
pub trait Round: Send {
    /// The round lists the whole directory (or the whole scope), so absence means gone.
    fn full(&self) -> bool;
    /// The next page; `None` after the last.
    fn next_page(&mut self) -> impl Future<Output = Result<Option<Page>, SyncError>> + Send;
    /// The state to store when the run applies; `Some` once the last page was read.
    fn state(&self) -> Option<Value>;
}

/// A directory scimd reads people from.
pub trait Connector: Send + Sync {
    type Round<'a>: Round
    where
        Self: 'a;
    /// Which source the people it reads have.
    fn source(&self) -> Source;
    /// Starts a round from the stored state (`{}`: from nothing, a full listing).
    fn round(
        &self,
        state: &Value,
    ) -> impl Future<Output = Result<Self::Round<'_>, SyncError>> + Send;
    /// What scimd keeps of a (merged) directory user.
    fn person(&self, fields: &Map<String, Value>) -> Person;
    /// Why a person a full round does not list is deprovisioned, in plain words.
    fn sweep_reason(&self) -> &'static str;
}

/// What a run needs besides its connector.
#[derive(Clone)]
pub struct RunContext {
    pub db: Db,
    /// The node holding the run's lease.
    pub owner: String,
    pub include_guests: bool,
}

/// The enterprise extension's schema: where SCIM keeps `department` and `manager`.
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The SCIM resource scimd keeps for a directory person, with its manager's scimd id when
/// the directory names a manager that is a person of the same connection.
pub fn resource(p: &Person, manager: Option<uuid::Uuid>) -> Value {
    /// Sets `key` when the directory gave a value.
    fn put(m: &mut Map<String, Value>, key: &str, value: Option<&String>) {
        if let Some(v) = value {
            m.insert(key.into(), json!(v));
        }
    }
    let mut r = Map::new();
    r.insert(
        "schemas".into(),
        json!([
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ]),
    );
    r.insert("userName".into(), json!(p.user_name));
    r.insert("active".into(), json!(p.active));
    put(&mut r, "displayName", p.display_name.as_ref());
    let mut name = Map::new();
    put(&mut name, "givenName", p.given_name.as_ref());
    put(&mut name, "familyName", p.family_name.as_ref());
    if !name.is_empty() {
        r.insert("name".into(), Value::Object(name));
    }
    if let Some(e) = &p.email {
        r.insert(
            "emails".into(),
            json!([{"value": e, "type": "work", "primary": true}]),
        );
    }
    put(&mut r, "title", p.title.as_ref());
    let mut enterprise = Map::new();
    put(&mut enterprise, "department", p.department.as_ref());
    put(&mut enterprise, "employeeNumber", p.employee_id.as_ref());
    r.insert(ENTERPRISE.into(), Value::Object(enterprise));
    let mut r = Value::Object(r);
    with_manager(&mut r, manager);
    r
}

/// Sets (or, with `None`, clears) the manager of a SCIM user resource: the enterprise
/// extension's `manager.value`, as SCIM keeps it.
pub fn with_manager(resource: &mut Value, manager: Option<uuid::Uuid>) {
    let Some(r) = resource.as_object_mut() else {
        return;
    };
    let ext = r
        .entry(ENTERPRISE)
        .or_insert_with(|| Value::Object(Map::new()));
    if let Some(ext) = ext.as_object_mut() {
        match manager {
            Some(id) => {
                ext.insert("manager".into(), json!({"value": id.to_string()}));
            }
            None => {
                ext.remove("manager");
            }
        }
    }
}

/// A content hash of what scimd keeps of an object: equal hashes, nothing to write.
pub fn hash(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// `fields` over `base`: a delta entry carries only what changed.
fn merged(base: Option<&Value>, fields: &Map<String, Value>) -> Map<String, Value> {
    let mut out = match base {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    for (k, v) in fields {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// Adds `entry`, of id `id`, to `entries`; when an entry of that id is there already,
/// `merge` makes the two one (the first and the new entry), in the first one's place. `at`
/// is where each id stands in `entries`.
fn add_or_merge<T>(
    entries: &mut Vec<T>,
    at: &mut HashMap<String, usize>,
    id: String,
    entry: T,
    merge: impl FnOnce(&T, T) -> T,
) {
    match at.get(&id) {
        Some(&i) => entries[i] = merge(&entries[i], entry),
        None => {
            at.insert(id, entries.len());
            entries.push(entry);
        }
    }
}

/// What a run decided.
#[derive(Debug, Clone)]
pub struct Finished {
    pub run: RunRow,
}

fn sync_error(e: &SyncError) -> Value {
    json!({"code": e.code, "message": e.message})
}

fn internal(e: &Error) -> Value {
    match e {
        Error::Conflict(m) => json!({"code": "conflict", "message": m}),
        other => {
            tracing::error!(error = ?other, "sync run failed");
            json!({"code": "internal", "message": "scimd could not apply the run; see its log"})
        }
    }
}

/// Counts per action, every key present.
pub fn counts_json(counts: &HashMap<PlanAction, i64>) -> Value {
    let mut m = Map::new();
    for a in PlanAction::ALL {
        m.insert(
            a.as_str().into(),
            json!(counts.get(a).copied().unwrap_or(0)),
        );
    }
    Value::Object(m)
}

/// Executes a claimed run to its end, and records the end. Never returns an error: a
/// failure is the run's `failed` status, and nothing of a failed run was applied.
pub async fn execute<C: Connector>(
    ctx: &RunContext,
    run: RunRow,
    connector: &C,
    clock: &crate::clock::SharedClock,
) -> Result<RunRow, Error> {
    let read = read_and_plan(ctx, &run, connector).await;
    let now = clock.now();
    let db = &ctx.db;
    match read {
        Err(Failure::Source(e)) => fail(db, &run, sync_error(&e), now).await,
        Err(Failure::Store(e)) => fail(db, &run, internal(&e), now).await,
        Ok(plan) => finish_planned(ctx, run, plan, clock).await,
    }
}

enum Failure {
    Source(SyncError),
    Store(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Store(e)
    }
}

impl From<SyncError> for Failure {
    fn from(e: SyncError) -> Self {
        Self::Source(e)
    }
}

/// A computed plan.
struct Planned {
    full: bool,
    state: Value,
    base_generation: i64,
    first: bool,
    counts: HashMap<PlanAction, i64>,
    managed: i64,
}

async fn read_and_plan<C: Connector>(
    ctx: &RunContext,
    run: &RunRow,
    connector: &C,
) -> Result<Planned, Failure> {
    let db = &ctx.db;
    let (run_id, tenant_id, key) = (run.id, run.tenant_id, run.key());
    let connection = db
        .run(move |conn| {
            store::clear_staging(conn, key)?;
            store::clear_plan(conn, key)?;
            Ok(store::connection_state(conn, tenant_id, false)?)
        })
        .await?
        .ok_or_else(|| SyncError::new("not_connected", "the tenant has no connection"))?;
    let reading = std::time::Instant::now();
    let mut round = connector.round(&connection.state).await?;
    // The next page is fetched while this one is staged.
    let mut next = round.next_page().await?;
    let mut staging = std::time::Duration::ZERO;
    while let Some(page) = next {
        let full = round.full();
        let timed = async {
            let at = std::time::Instant::now();
            let staged = stage(ctx, run, connector, page, full).await;
            (staged, at.elapsed())
        };
        let (fetched, (staged, took)) = tokio::join!(round.next_page(), timed);
        staging += took;
        staged?;
        next = fetched?;
    }
    let state = round.state().ok_or_else(|| {
        SyncError::new(
            "truncated",
            "the directory's listing ended without the link the next run starts from",
        )
    })?;
    let full = round.full();
    let source = connector.source();
    let sweep = connector.sweep_reason();
    tracing::info!(
        run = %run_id,
        seconds = reading.elapsed().as_secs_f64(),
        staging_seconds = staging.as_secs_f64(),
        "sync run read and staged its directory"
    );
    let planning = std::time::Instant::now();
    let planned = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let (staged, managed) = store::staged_and_managed(conn, key, source)?;
                if full && staged == 0 && managed > 0 {
                    return Ok(Err(SyncError::new(
                        "empty_listing",
                        format!(
                            "the directory listed nobody while this connection manages {managed} \
                             people; that is never read as everyone leaving, so nothing was changed"
                        ),
                    )));
                }
                let run = store::run(conn, tenant_id, run_id)?
                    .ok_or_else(|| Error::internal("the run vanished"))?;
                store::roomy(conn)?;
                store::plan_users(conn, key, source, full, sweep)?;
                writes::plan_groups(conn, &run, source, full)?;
                let counts = store::counts(conn, key)?;
                Ok(Ok((counts, managed)))
            })
        })
        .await?;
    let (counts, managed) = planned?;
    tracing::info!(run = %run_id, seconds = planning.elapsed().as_secs_f64(), "sync run planned");
    Ok(Planned {
        full,
        state,
        base_generation: connection.generation,
        first: connection.activated_at.is_none(),
        counts,
        managed,
    })
}

/// Stages one page: each entry merged over what was known of it, mapped, hashed.
async fn stage<C: Connector>(
    ctx: &RunContext,
    run: &RunRow,
    connector: &C,
    page: Page,
    full: bool,
) -> Result<(), Failure> {
    let (tenant_id, key) = (run.tenant_id, run.key());
    let include_guests = ctx.include_guests;
    if page.reset {
        ctx.db
            .run(move |conn| Ok(store::clear_staging(conn, key)?))
            .await?;
    }
    // One entry per id and page, the last: an id that comes twice in a page is merged.
    let mut users: Vec<DirUser> = Vec::with_capacity(page.users.len());
    let mut at: HashMap<String, usize> = HashMap::new();
    for u in page.users {
        add_or_merge(&mut users, &mut at, u.id.clone(), u, |first, u| DirUser {
            fields: merged(Some(&Value::Object(first.fields.clone())), &u.fields),
            ..u
        });
    }
    let groups: Vec<DirGroup> = page.groups;
    // A user of a full round is a whole object: one listed again on a later page (Graph
    // warns it may be) replaces the earlier entry, so nothing is looked up to merge it
    // with. A delta entry merges with what the run or the mirror holds.
    let refs: Vec<String> = if full {
        Vec::new()
    } else {
        users.iter().map(|u| u.id.clone()).collect()
    };
    let group_refs: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
    let (bases, group_bases) = ctx
        .db
        .run(move |conn| {
            Ok((
                store::base_objects(conn, key, ObjectKind::User, &refs, !full)?,
                store::base_objects(conn, key, ObjectKind::Group, &group_refs, !full)?,
            ))
        })
        .await?;
    // The people, mapped; the managers they name that are people already, by id. A
    // manager who is no person yet (one this run creates) is resolved at apply; until
    // then the person keeps the manager it has, so that it is not written twice.
    let people: Vec<(Map<String, Value>, Option<Person>)> = users
        .iter()
        .map(|u| {
            let raw = merged(bases.get(&u.id), &u.fields);
            let person = u.removed.is_none().then(|| connector.person(&raw));
            (raw, person)
        })
        .collect();
    let asks: Vec<(String, String)> = users
        .iter()
        .zip(&people)
        .filter_map(|(u, (_, p))| Some((u.id.clone(), p.as_ref()?.manager.clone()?)))
        .collect();
    let source = connector.source();
    let (managers, kept) = if asks.is_empty() {
        (HashMap::new(), HashMap::new())
    } else {
        ctx.db
            .run(move |conn| Ok(store::managers_named(conn, tenant_id, source, &asks)?))
            .await?
    };
    let staged_users: Vec<StagedUser> = users
        .iter()
        .zip(people)
        .map(|(u, (raw, person))| {
            let Some(person) = person else {
                return StagedUser {
                    source_ref: u.id.clone(),
                    removed: u.removed.map(|r| r.as_str().to_owned()),
                    raw: Value::Object(raw),
                    hash: None,
                    user_name: None,
                    email: None,
                    display_name: None,
                    active: false,
                    skip: None,
                    resource: None,
                    manager_ref: None,
                };
            };
            let skip = if person.guest && !include_guests {
                Some("a guest of the directory (the connection leaves guests out)".to_owned())
            } else if person
                .user_name
                .as_deref()
                .is_none_or(|n| n.trim().is_empty())
            {
                Some("no userName in the directory".to_owned())
            } else {
                None
            };
            let manager = person
                .manager
                .as_ref()
                .and_then(|m| managers.get(m).or_else(|| kept.get(&u.id)))
                .copied();
            let res = resource(&person, manager);
            StagedUser {
                source_ref: u.id.clone(),
                removed: None,
                hash: Some(hash(&res)),
                raw: Value::Object(raw),
                user_name: person.user_name.clone(),
                email: person.email.as_ref().map(|e| e.to_lowercase()),
                display_name: person.display_name.clone(),
                active: person.active,
                skip,
                resource: Some(res),
                manager_ref: person.manager.clone(),
            }
        })
        .collect();
    // Groups: entries of one id add their members up; the last entry's fields win.
    let mut staged_groups: Vec<StagedGroup> = Vec::new();
    let mut group_at: HashMap<String, usize> = HashMap::new();
    let mut members: HashMap<(String, String), bool> = HashMap::new();
    for g in groups {
        let raw = merged(group_bases.get(&g.id), &g.fields);
        let display_name = raw
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let entry = StagedGroup {
            source_ref: g.id.clone(),
            removed: g.removed.map(|r| r.as_str().to_owned()),
            hash: Some(hash(&json!({"displayName": display_name}))),
            raw: Value::Object(raw),
            display_name,
            members_full: g.members_full,
        };
        add_or_merge(
            &mut staged_groups,
            &mut group_at,
            g.id.clone(),
            entry,
            |first, entry| StagedGroup {
                members_full: first.members_full || entry.members_full,
                ..entry
            },
        );
        for m in g.members {
            members.insert((g.id.clone(), m.id), m.removed);
        }
    }
    let members: Vec<(String, String, bool)> =
        members.into_iter().map(|((g, m), r)| (g, m, r)).collect();
    ctx.db
        .run(move |conn| {
            store::stage_users(conn, key, &staged_users)?;
            store::stage_groups(conn, key, &staged_groups, &members)?;
            Ok(())
        })
        .await?;
    Ok(())
}

/// The brake's limit: more deprovisions than this hold the run.
pub fn brake_limit(managed: i64, max_percent: i32, min_count: i32) -> i64 {
    let share = (managed * i64::from(max_percent)) / 100;
    share.max(i64::from(min_count))
}

async fn finish_planned(
    ctx: &RunContext,
    run: RunRow,
    plan: Planned,
    clock: &crate::clock::SharedClock,
) -> Result<RunRow, Error> {
    let db = &ctx.db;
    let owner = ctx.owner.clone();
    let counts = counts_json(&plan.counts);
    let deprovisions = plan
        .counts
        .get(&PlanAction::Deprovision)
        .copied()
        .unwrap_or(0);
    let now = clock.now();
    let run_id = run.id;
    let tenant_id = run.tenant_id;
    let key = run.key();
    let outcome = |status| Outcome {
        status,
        full: plan.full,
        counts: counts.clone(),
        error: None,
        base_generation: Some(plan.base_generation),
        state_after: Some(plan.state.clone()),
    };
    if run.dry_run {
        let o = outcome(RunStatus::Planned);
        let run = db
            .run(move |conn| {
                let run = store::finish(conn, key, &o, now)?;
                store::not_applied(conn, tenant_id, None, now, None)?;
                Ok(run)
            })
            .await?;
        forget_staging(db, key).await;
        return Ok(run);
    }
    let held = db
        .run(move |conn| crate::provisioning::tenants::by_id(conn, tenant_id))
        .await?;
    let limit = brake_limit(plan.managed, held.brake_max_percent, held.brake_min_count);
    if !plan.first && deprovisions > limit {
        let mut o = outcome(RunStatus::Held);
        o.error = Some(json!({
            "code": "brake",
            "message": format!(
                "this run would deprovision {deprovisions} of the {} people the connection \
                 manages, more than the brake allows ({limit}); approve it to apply its plan",
                plan.managed
            ),
        }));
        return db
            .run(move |conn| {
                let run = store::finish(conn, key, &o, now)?;
                store::not_applied(conn, tenant_id, None, now, None)?;
                Ok(run)
            })
            .await;
    }
    let o = outcome(RunStatus::Succeeded);
    let state = plan.state.clone();
    let next = writes::next_run_at(now, held.sync_interval_secs);
    let applying = std::time::Instant::now();
    // The run ends when its apply does, not when it began.
    let ended = clock.clone();
    let applied = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let run = store::lock_own(conn, key, &owner)?.ok_or_else(|| {
                    Error::Conflict("the run's lease was lost; nothing was applied".to_owned())
                })?;
                let run = RunRow {
                    full: o.full,
                    base_generation: o.base_generation,
                    ..run
                };
                writes::apply(conn, &run, &held, &state, now, next)?;
                Ok(store::finish(conn, key, &o, ended.now())?)
            })
        })
        .await;
    tracing::info!(run = %run_id, seconds = applying.elapsed().as_secs_f64(), "sync run applied");
    match applied {
        Ok(run) => {
            forget_staging(db, key).await;
            Ok(run)
        }
        Err(e) => fail(db, &run, internal(&e), clock.now()).await,
    }
}

/// Drops what an ended run staged: only a held run's plan is applied later, from its
/// staging. The run's end is recorded already, so a failure here is only logged.
async fn forget_staging(db: &Db, key: store::RunKey) {
    if let Err(e) = db
        .run(move |conn| Ok(store::clear_staging(conn, key)?))
        .await
    {
        tracing::warn!(run = %key.id, error = %e, "could not drop a sync run's staging");
    }
}

/// Records a run as failed: nothing of it was applied.
pub async fn fail(
    db: &Db,
    run: &RunRow,
    error: Value,
    now: DateTime<Utc>,
) -> Result<RunRow, Error> {
    let (tenant_id, key) = (run.tenant_id, run.key());
    let full = run.full;
    db.run(move |conn| {
        let o = Outcome {
            status: RunStatus::Failed,
            full,
            counts: json!({}),
            error: Some(error.clone()),
            base_generation: None,
            state_after: None,
        };
        let run = store::finish(conn, key, &o, now)?;
        store::clear_staging(conn, key)?;
        store::not_applied(conn, tenant_id, Some(&error), now, None)?;
        Ok(run)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manager_is_the_enterprise_extensions_manager_value_and_hashes_with_it() {
        let p = Person {
            user_name: Some("ann@example.com".into()),
            manager: Some("boss@example.com".into()),
            ..Person::default()
        };
        let id = uuid::Uuid::from_u128(7);
        let with = resource(&p, Some(id));
        assert_eq!(
            with[ENTERPRISE]["manager"],
            json!({"value": "00000000-0000-0000-0000-000000000007"})
        );
        let without = resource(&p, None);
        assert!(without[ENTERPRISE].get("manager").is_none());
        assert_ne!(hash(&with), hash(&without));
        // Set afterwards, it is the same resource (and hash) as built with it.
        let mut later = without.clone();
        with_manager(&mut later, Some(id));
        assert_eq!(hash(&later), hash(&with));
        with_manager(&mut later, None);
        assert_eq!(later, without);
    }
}
