//! A pull sync's writes (DESIGN.md, Pull sync): a run's plan of groups and memberships,
//! and the application of a whole plan in one transaction, with the connector's new
//! state. People pulled from a directory follow the same lifecycle, admin decisions and
//! events as pushed people: the plan's items are applied by the same functions SCIM's
//! writes use ([`users::take_over`], [`users::write_update`], [`users::end`]).
//!
//! A sync never lifts an admin decision: none of these writes touches a person's
//! `admin_state` or a group's exclusion.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::{json, Value};
use uuid::Uuid;

use super::events::{Actor, Event};
use super::users;
use crate::domain::{DeletePolicy, PlanAction, RunStatus, RunTrigger, Source};
use crate::error::Error;
use crate::store::events as event_store;
use crate::store::groups::{self, GroupData, NewGroup};
use crate::store::schema::{
    group_members, groups as groups_table, sync_plan_items, sync_staged_groups,
    sync_staged_members, users as users_table,
};
use crate::store::sync::{self as store, PlanItem, RunRow};
use crate::store::tenants::Tenant;
use crate::store::users::{self as user_store, NewUser};
use crate::store::Db;

/// Rows applied per statement.
const CHUNK: i64 = 1000;

/// The events of a run are by `sync:<run id>`.
pub fn actor(run: &RunRow) -> Actor {
    Actor {
        tenant_id: run.tenant_id,
        actor: format!("sync:{}", run.id),
        request_id: None,
    }
}

/// Plans the groups the run staged and their memberships, after the people
/// ([`store::plan_users`]): a group the directory lists and scimd lacks is created, one
/// renamed is updated, one gone (or, in a full run, not listed) is deleted. Members are
/// the run's people: a member scimd does not keep (a guest, a skipped person) is left
/// out, and a person the plan deprovisions leaves every group anyway.
pub fn plan_groups(
    conn: &mut PgConnection,
    run: &RunRow,
    source: Source,
    full: bool,
) -> Result<(), Error> {
    let staged: Vec<(String, Option<String>, Option<String>, bool)> = sync_staged_groups::table
        .filter(sync_staged_groups::tenant_id.eq(run.tenant_id))
        .filter(sync_staged_groups::run_id.eq(run.id))
        .order(sync_staged_groups::source_ref)
        .select((
            sync_staged_groups::source_ref,
            sync_staged_groups::removed,
            sync_staged_groups::display_name,
            sync_staged_groups::members_full,
        ))
        .load(conn)?;
    let existing: Vec<(Uuid, Option<String>, String)> = groups_table::table
        .filter(groups_table::tenant_id.eq(run.tenant_id))
        .filter(groups_table::source.eq(source))
        .filter(groups_table::source_ref.is_not_null())
        .select((
            groups_table::id,
            groups_table::source_ref,
            groups_table::display_name,
        ))
        .load(conn)?;
    let existing: HashMap<String, (Uuid, String)> = existing
        .into_iter()
        .filter_map(|(id, r, name)| r.map(|r| (r, (id, name))))
        .collect();
    // The people after the plan: directory id → (person id if known, userName, email),
    // for those who stay.
    let people: Vec<Staying> = sync_plan_items::table
        .filter(sync_plan_items::tenant_id.eq(run.tenant_id))
        .filter(sync_plan_items::run_id.eq(run.id))
        .filter(sync_plan_items::action.eq_any(STAYING.map(PlanAction::as_str)))
        .select((
            sync_plan_items::source_ref,
            sync_plan_items::person_id,
            sync_plan_items::user_name,
            sync_plan_items::email,
        ))
        .load(conn)?;
    let people: HashMap<String, Staying> = people
        .into_iter()
        .filter_map(|p| p.source_ref.clone().map(|r| (r, p)))
        .collect();

    let mut items = Vec::new();
    let mut seen = HashSet::new();
    for (group_ref, removed, name, members_full) in &staged {
        seen.insert(group_ref.as_str());
        let have = existing.get(group_ref);
        if removed.is_some() {
            if let Some((id, name)) = have {
                items.push(group_item(
                    PlanAction::GroupDelete,
                    *id,
                    group_ref,
                    name,
                    "deleted in the directory",
                ));
            }
            continue;
        }
        let Some(name) = name.clone().filter(|n| !n.trim().is_empty()) else {
            continue;
        };
        match have {
            None => items.push(group_item(
                PlanAction::GroupCreate,
                Uuid::nil(),
                group_ref,
                &name,
                "",
            )),
            Some((id, old)) if *old != name => {
                let mut item = group_item(PlanAction::GroupUpdate, *id, group_ref, &name, "");
                item.changes = Some(json!({"displayName": name}));
                items.push(item);
            }
            Some(_) => {}
        }
        // Members: what the directory says, against what scimd holds.
        let current: HashSet<String> = match have {
            Some((id, _)) => current_member_refs(conn, run.tenant_id, *id)?,
            None => HashSet::new(),
        };
        let listed: Vec<(String, bool)> = sync_staged_members::table
            .filter(sync_staged_members::tenant_id.eq(run.tenant_id))
            .filter(sync_staged_members::run_id.eq(run.id))
            .filter(sync_staged_members::group_ref.eq(group_ref))
            .select((
                sync_staged_members::member_ref,
                sync_staged_members::removed,
            ))
            .load(conn)?;
        let mut add = Vec::new();
        let mut remove = Vec::new();
        if *members_full {
            let wanted: HashSet<&str> = listed
                .iter()
                .filter(|(m, gone)| !gone && people.contains_key(m))
                .map(|(m, _)| m.as_str())
                .collect();
            add.extend(
                wanted
                    .iter()
                    .filter(|m| !current.contains(**m))
                    .map(|m| (*m).to_owned()),
            );
            remove.extend(
                current
                    .iter()
                    .filter(|m| !wanted.contains(m.as_str()))
                    .cloned(),
            );
        } else {
            for (m, gone) in &listed {
                if *gone && current.contains(m) {
                    remove.push(m.clone());
                } else if !gone && !current.contains(m) && people.contains_key(m) {
                    add.push(m.clone());
                }
            }
        }
        add.sort();
        remove.sort();
        for (action, refs) in [
            (PlanAction::MemberAdd, add),
            (PlanAction::MemberRemove, remove),
        ] {
            for m in refs {
                let p = people.get(&m);
                let (person_id, user_name, email) = (
                    p.and_then(|p| p.person_id),
                    p.and_then(|p| p.user_name.clone()),
                    p.and_then(|p| p.email.clone()),
                );
                items.push(PlanItem {
                    tenant_id: run.tenant_id,
                    run_id: run.id,
                    ord: 0,
                    action,
                    person_id,
                    source_ref: Some(m),
                    user_name,
                    email,
                    display_name: None,
                    reason: Some(format!("group {name}")),
                    changes: Some(json!({"group": group_ref, "group_name": name})),
                });
            }
        }
    }
    if full {
        for (group_ref, (id, name)) in &existing {
            if !seen.contains(group_ref.as_str()) {
                items.push(group_item(
                    PlanAction::GroupDelete,
                    *id,
                    group_ref,
                    name,
                    "no longer in the directory",
                ));
            }
        }
    }
    store::add_items(conn, run.key(), &items)?;
    Ok(())
}

/// A person the plan keeps, as a membership item names them.
#[derive(Queryable)]
struct Staying {
    source_ref: Option<String>,
    person_id: Option<Uuid>,
    user_name: Option<String>,
    email: Option<String>,
}

/// The actions after which a person is kept.
const STAYING: [PlanAction; 7] = [
    PlanAction::Create,
    PlanAction::Update,
    PlanAction::Unchanged,
    PlanAction::Deactivate,
    PlanAction::Reactivate,
    PlanAction::Restore,
    PlanAction::Adopt,
];

fn group_item(action: PlanAction, id: Uuid, group_ref: &str, name: &str, reason: &str) -> PlanItem {
    PlanItem {
        tenant_id: Uuid::nil(),
        run_id: Uuid::nil(),
        ord: 0,
        action,
        person_id: (!id.is_nil()).then_some(id),
        source_ref: Some(group_ref.to_owned()),
        user_name: None,
        email: None,
        display_name: Some(name.to_owned()),
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        changes: None,
    }
}

/// The directory ids of a group's user members.
fn current_member_refs(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    group_id: Uuid,
) -> QueryResult<HashSet<String>> {
    let refs: Vec<Option<String>> = group_members::table
        .inner_join(
            users_table::table.on(users_table::tenant_id
                .eq(group_members::tenant_id)
                .and(users_table::id.eq(group_members::member_id))),
        )
        .filter(group_members::tenant_id.eq(tenant_id))
        .filter(group_members::group_id.eq(group_id))
        .select(users_table::source_ref)
        .load(conn)?;
    Ok(refs.into_iter().flatten().collect())
}

/// Why a plan cannot be applied.
fn stale() -> Error {
    Error::Conflict(
        "another sync run was applied after this plan was made; start a new run".to_owned(),
    )
}

/// Applies a run's whole plan in one transaction: people, then groups and memberships,
/// the directory mirror, and the connection's new state (a new generation, due again at
/// `next_run_at`). Refused (409) when another run applied since the plan was made.
/// What was applied, per action.
pub fn apply(
    conn: &mut PgConnection,
    run: &RunRow,
    tenant: &Tenant,
    state_after: &Value,
    now: DateTime<Utc>,
    next_run_at: DateTime<Utc>,
) -> Result<(), Error> {
    let actor = actor(run);
    let source = run.provider;
    store::roomy(conn)?;
    let connection = store::connection_state(conn, run.tenant_id, true)?
        .ok_or_else(|| Error::Conflict("the tenant has no connection any more".to_owned()))?;
    if Some(connection.generation) != run.base_generation {
        return Err(stale());
    }
    let remove = tenant.on_source_delete == DeletePolicy::Remove;
    // Before any write: on a connection's first run it manages no one yet, and unless the
    // run restores or adopts someone, every person the manager pass would look at is a
    // newcomer, created with its manager already.
    let newcomers_only = store::managed(conn, run.tenant_id, source)? == 0 && {
        let counts = store::counts(conn, run.key())?;
        [PlanAction::Restore, PlanAction::Adopt]
            .iter()
            .all(|a| counts.get(a).copied().unwrap_or(0) == 0)
    };
    let mut steps = Steps::start();
    // Leavers first: they free the userNames newcomers may take.
    each(conn, run.key(), PlanAction::Deprovision, |conn, w| {
        let Some(id) = w.person_id else { return Ok(()) };
        if let Some(row) = user_store::find_any_for_update(conn, run.tenant_id, id)? {
            if row.source == source && row.deprovisioned_at.is_none() {
                users::end(conn, &actor, &row, remove, now)?;
            }
        }
        Ok(())
    })?;
    for (action, how) in [
        (PlanAction::Restore, users::Created::Restored),
        (PlanAction::Adopt, users::Created::Adopted),
    ] {
        each(conn, run.key(), action, |conn, w| {
            let (Some(id), Some(resource), Some(source_ref)) =
                (w.person_id, w.resource.clone(), w.source_ref.as_deref())
            else {
                return Ok(());
            };
            let Some(row) = user_store::find_any_for_update(conn, run.tenant_id, id)? else {
                return Ok(());
            };
            let data = users::data_of(resource)?;
            let taken = users::take_over(conn, &actor, &row, data, source, now, how)?;
            user_store::set_source_ref(conn, run.tenant_id, taken.id, source_ref)?;
            Ok(())
        })?;
    }
    steps.done("deprovision_restore_adopt");
    for action in [
        PlanAction::Update,
        PlanAction::Deactivate,
        PlanAction::Reactivate,
    ] {
        each(conn, run.key(), action, |conn, w| {
            let (Some(id), Some(resource)) = (w.person_id, w.resource.clone()) else {
                return Ok(());
            };
            if let Some(row) = user_store::find_for_update(conn, run.tenant_id, id)? {
                users::write_update(conn, &actor, row, resource, now)?;
            }
            Ok(())
        })?;
    }
    steps.done("update");
    let created = create_people(conn, run, &actor, source, &mut steps)?;
    apply_groups(conn, run, &actor, source, &created, now)?;
    steps.done("groups");
    if !newcomers_only {
        set_managers(conn, run, &actor, source, now)?;
    }
    steps.done("managers");
    store::write_mirror(conn, run.key(), run.full)?;
    store::applied(conn, run.tenant_id, state_after, now, next_run_at)?;
    steps.done("mirror");
    tracing::info!(run_id = %run.id, steps = %steps, "sync run applied its plan");
    Ok(())
}

/// How long each step of an apply took, for the log: a step done several times (a chunk
/// at a time) adds up.
struct Steps {
    at: std::time::Instant,
    took: Vec<(&'static str, std::time::Duration)>,
}

impl Steps {
    fn start() -> Self {
        Self {
            at: std::time::Instant::now(),
            took: Vec::new(),
        }
    }

    fn done(&mut self, step: &'static str) {
        let now = std::time::Instant::now();
        let took = now - self.at;
        self.at = now;
        match self.took.iter_mut().find(|(s, _)| *s == step) {
            Some((_, total)) => *total += took,
            None => self.took.push((step, took)),
        }
    }
}

impl std::fmt::Display for Steps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (step, took)) in self.took.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{step}={}ms", took.as_millis())?;
        }
        Ok(())
    }
}

/// The managers the directory names, resolved once every person of the run has an id (a
/// manager the run created included): each live person of the run whose stored manager
/// (the enterprise extension's `manager.value`) is not the one named now gets it (or
/// loses it, when the manager is no person of the connection), with a new version and a
/// `user.updated` event. The staging takes the resource the person's next listing will
/// map to, so that the next run finds the person unchanged. A person whose manager is
/// the same causes no write.
fn set_managers(
    conn: &mut PgConnection,
    run: &RunRow,
    actor: &Actor,
    source: Source,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    // Only Google names managers today: a Graph run has none to resolve.
    if source != Source::Google {
        return Ok(());
    }
    // A chunk at a time: the resources of a whole directory would not fit in memory.
    let mut after = String::new();
    loop {
        let part = store::manager_changes(conn, run.key(), source, &after, CHUNK)?;
        let Some(last) = part.last() else {
            return Ok(());
        };
        after.clone_from(&last.source_ref);
        let mut people = Vec::with_capacity(part.len());
        let mut staged = Vec::with_capacity(part.len());
        let mut events = Vec::with_capacity(part.len());
        for c in &part {
            let mut resource = c.resource.clone();
            crate::sync::engine::with_manager(&mut resource, c.manager);
            let changed = super::events::changed_fields(&c.resource, &resource);
            events.push(actor.record(
                c.id,
                Event::UserUpdated {
                    changed,
                    previous_source: None,
                },
            ));
            people.push((c.id, resource));
            if let Some(mut next) = c.staged.clone() {
                crate::sync::engine::with_manager(&mut next, c.manager);
                let hash = crate::sync::engine::hash(&next);
                staged.push((c.source_ref.clone(), next, hash));
            }
        }
        store::write_managers(conn, run.key(), &people, &staged, now)?;
        event_store::insert_many(conn, &events)?;
    }
}

/// Runs `f` on each of the run's items of `action`, in plan order, a chunk at a time.
fn each(
    conn: &mut PgConnection,
    run: store::RunKey,
    action: PlanAction,
    mut f: impl FnMut(&mut PgConnection, &store::PersonWork) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut after = 0;
    loop {
        let chunk = store::person_work(conn, run, action, after, CHUNK)?;
        for w in &chunk {
            f(conn, w)?;
        }
        match chunk.last() {
            Some(last) if chunk.len() as i64 == CHUNK => after = last.ord,
            _ => return Ok(()),
        }
    }
}

/// The plan's newcomers, a chunk per statement, each with its `user.created` event; the
/// ids they were given, by directory id.
fn create_people(
    conn: &mut PgConnection,
    run: &RunRow,
    actor: &Actor,
    source: Source,
    steps: &mut Steps,
) -> Result<HashMap<String, Uuid>, Error> {
    let mut created = HashMap::new();
    // When the directory names managers, every newcomer gets its id first, so that a
    // newcomer is created with its manager (one the run creates too): a second pass would
    // write each of them twice, with two events.
    let mut ids: HashMap<String, Uuid> = HashMap::new();
    let mut by_name: HashMap<String, Uuid> = HashMap::new();
    let mut by_email: HashMap<String, Uuid> = HashMap::new();
    for n in store::newcomer_names(conn, run.key())? {
        let id = Uuid::now_v7();
        if let Some(name) = n.user_name {
            by_name.entry(name).or_insert(id);
        }
        if let Some(email) = n.email {
            by_email.entry(email).or_insert(id);
        }
        ids.insert(n.source_ref, id);
    }
    let mut after = 0;
    loop {
        let chunk = store::person_work(conn, run.key(), PlanAction::Create, after, CHUNK)?;
        steps.done("create_read");
        let mut refs: Vec<String> = chunk.iter().filter_map(|w| w.manager_ref.clone()).collect();
        refs.sort_unstable();
        refs.dedup();
        // A manager who is a person already, else one this run creates.
        let known = store::people_named(conn, run.tenant_id, source, &refs)?;
        let manager_of = |key: &str| {
            known
                .get(key)
                .or_else(|| by_name.get(key))
                .or_else(|| by_email.get(key))
                .copied()
        };
        let mut new = Vec::with_capacity(chunk.len());
        let mut events = Vec::with_capacity(chunk.len());
        for w in &chunk {
            let Some(mut resource) = w.resource.clone() else {
                continue;
            };
            if let Some(manager) = w.manager_ref.as_deref().and_then(manager_of) {
                crate::sync::engine::with_manager(&mut resource, Some(manager));
            }
            let data = users::data_of(resource)?;
            let id = w
                .source_ref
                .as_ref()
                .and_then(|r| ids.get(r).copied())
                .unwrap_or_else(Uuid::now_v7);
            if let Some(r) = &w.source_ref {
                created.insert(r.clone(), id);
            }
            events.push(actor.record(id, users::created_event(&data, source)));
            new.push(NewUser {
                id,
                tenant_id: run.tenant_id,
                source,
                source_ref: w.source_ref.as_deref(),
                data,
            });
        }
        steps.done("create_map");
        user_store::insert_many(conn, &new)?;
        steps.done("create_users");
        event_store::insert_many(conn, &events)?;
        steps.done("create_events");
        match chunk.last() {
            Some(last) if chunk.len() as i64 == CHUNK => after = last.ord,
            _ => return Ok(created),
        }
    }
}

/// The plan's groups and memberships, after the people: a member is the plan item's
/// person, or the newcomer `created` gave an id. Every id is known here, so no person or
/// group is looked up one by one (a lookup by directory id per group walked the tenant's
/// people without statistics).
fn apply_groups(
    conn: &mut PgConnection,
    run: &RunRow,
    actor: &Actor,
    source: Source,
    created: &HashMap<String, Uuid>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let items: Vec<PlanItem> = sync_plan_items::table
        .filter(sync_plan_items::tenant_id.eq(run.tenant_id))
        .filter(sync_plan_items::run_id.eq(run.id))
        .filter(
            sync_plan_items::action.eq_any(
                [
                    PlanAction::GroupCreate,
                    PlanAction::GroupUpdate,
                    PlanAction::GroupDelete,
                    PlanAction::MemberAdd,
                    PlanAction::MemberRemove,
                ]
                .map(PlanAction::as_str),
            ),
        )
        .order(sync_plan_items::ord)
        .select(PlanItem::as_select())
        .load(conn)?;
    if items.is_empty() {
        return Ok(());
    }
    // Group ids by directory id, as they are and as this run creates them.
    let mut group_ids = sourced_groups(conn, run.tenant_id, source)?;
    let mut new_groups: Vec<(Uuid, &str, &str)> = Vec::new();
    for item in &items {
        let (Some(group_ref), Some(name)) =
            (item.source_ref.as_deref(), item.display_name.as_deref())
        else {
            continue;
        };
        match item.action {
            PlanAction::GroupCreate => {
                let id = Uuid::now_v7();
                new_groups.push((id, group_ref, name));
                group_ids.insert(group_ref.to_owned(), id);
            }
            PlanAction::GroupUpdate => {
                let Some(id) = item.person_id else { continue };
                if let Some(row) = groups::find_for_update(conn, run.tenant_id, id)? {
                    let data = group_data(name);
                    let changed = super::events::changed_fields(&row.resource, &data.resource);
                    if groups::update(conn, run.tenant_id, id, row.version, &data, now)?.is_some() {
                        event_store::insert(
                            conn,
                            &actor.record(id, Event::GroupUpdated { changed }),
                        )?;
                    }
                }
            }
            PlanAction::GroupDelete => {
                let Some(id) = item.person_id else { continue };
                if let Some(row) = groups::find_for_update(conn, run.tenant_id, id)? {
                    groups::delete(conn, run.tenant_id, id)?;
                    let event = Event::GroupDeleted {
                        display_name: &row.display_name,
                    };
                    event_store::insert(conn, &actor.record(id, event))?;
                }
            }
            _ => {}
        }
    }
    // New groups: a statement per thousand, and their events.
    let rows: Vec<NewGroup<'_>> = new_groups
        .iter()
        .map(|&(id, group_ref, name)| NewGroup {
            id,
            tenant_id: run.tenant_id,
            source,
            source_ref: Some(group_ref),
            data: group_data(name),
        })
        .collect();
    groups::insert_many(conn, &rows)?;
    let events: Vec<_> = rows
        .iter()
        .map(|g| {
            let event = Event::GroupCreated {
                display_name: &g.data.display_name,
                external_id: None,
            };
            actor.record(g.id, event)
        })
        .collect();
    event_store::insert_many(conn, &events)?;
    // Memberships, every group at once; an event for each group and direction.
    let mut adds: Vec<groups::Pair> = Vec::new();
    let mut removes: Vec<groups::Pair> = Vec::new();
    for item in &items {
        let group = item
            .changes
            .as_ref()
            .and_then(|c| c.get("group"))
            .and_then(Value::as_str)
            .and_then(|r| group_ids.get(r).copied());
        let member = item.person_id.or_else(|| {
            item.source_ref
                .as_ref()
                .and_then(|r| created.get(r).copied())
        });
        let (Some(group), Some(member)) = (group, member) else {
            continue;
        };
        match item.action {
            PlanAction::MemberAdd => adds.push((group, member)),
            PlanAction::MemberRemove => removes.push((group, member)),
            _ => {}
        }
    }
    let mut touched: Vec<Uuid> = adds.iter().chain(&removes).map(|p| p.0).collect();
    touched.sort_unstable();
    touched.dedup();
    groups::lock_many(conn, run.tenant_id, &touched)?;
    let by_group = |pairs: Vec<groups::Pair>| {
        let mut by: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (group, member) in pairs {
            by.entry(group).or_default().push(member);
        }
        by
    };
    let gone = by_group(groups::remove_pairs(conn, run.tenant_id, &removes)?);
    let added = by_group(groups::add_user_members(conn, run.tenant_id, &adds)?);
    let mut events = Vec::new();
    let mut changed = Vec::new();
    for group in touched {
        if let Some(ids) = gone.get(&group) {
            events.push(actor.record(group, Event::GroupMemberRemoved(ids)));
        }
        if let Some(ids) = added.get(&group) {
            events.push(actor.record(group, Event::GroupMemberAdded(ids)));
        }
        if gone.contains_key(&group) || added.contains_key(&group) {
            changed.push(group);
        }
    }
    event_store::insert_many(conn, &events)?;
    groups::touch_many(conn, run.tenant_id, &changed, now)?;
    Ok(())
}

/// A directory group's SCIM resource.
fn group_data(name: &str) -> GroupData {
    GroupData {
        display_name: name.to_owned(),
        external_id: None,
        resource: json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
        }),
    }
}

/// The tenant's groups of `source`, by directory id.
fn sourced_groups(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    source: Source,
) -> QueryResult<HashMap<String, Uuid>> {
    let rows: Vec<(Uuid, Option<String>)> = groups_table::table
        .filter(groups_table::tenant_id.eq(tenant_id))
        .filter(groups_table::source.eq(source))
        .select((groups_table::id, groups_table::source_ref))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, r)| r.map(|r| (r, id)))
        .collect())
}

/// When an applied connection is due again.
pub fn next_run_at(now: DateTime<Utc>, interval_secs: i32) -> DateTime<Utc> {
    let jitter = rand::random::<u32>() % (u32::try_from(interval_secs / 10).unwrap_or(0) + 1);
    now + chrono::Duration::seconds(i64::from(interval_secs) + i64::from(jitter))
}

/// The tenant a slug names, and its connection's provider: 404 without a tenant, 409
/// without a connection.
fn connected(conn: &mut PgConnection, slug: &str) -> Result<(Tenant, Source), Error> {
    let tenant = super::tenants::get(conn, slug)?;
    let connection = store::connection_state(conn, tenant.id, false)?.ok_or_else(|| {
        Error::Conflict(format!(
            "tenant `{}` has no connection to a directory; save one with PUT \
             /admin/v1/tenants/{}/connection first",
            tenant.slug, tenant.slug
        ))
    })?;
    Ok((tenant, connection.provider))
}

/// Queues a run of the tenant's connection, or gives the run already queued or running.
pub fn queue_in(
    conn: &mut PgConnection,
    slug: &str,
    trigger: RunTrigger,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<RunRow, Error> {
    let (tenant, provider) = connected(conn, slug)?;
    Ok(store::enqueue(conn, tenant.id, provider, trigger, dry_run, now)?.0)
}

/// [`queue_in`], for the admin API.
pub async fn queue(
    db: &Db,
    slug: String,
    trigger: RunTrigger,
    dry_run: bool,
    now: DateTime<Utc>,
) -> Result<RunRow, Error> {
    db.run(move |conn| queue_in(conn, &slug, trigger, dry_run, now))
        .await
}

/// A page of the tenant's runs, newest first.
pub fn runs_in(
    conn: &mut PgConnection,
    slug: &str,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RunRow>, Error> {
    let tenant = super::tenants::get(conn, slug)?;
    Ok(store::runs(conn, tenant.id, after, limit)?)
}

/// [`runs_in`], for the admin API.
pub async fn runs(
    db: &Db,
    slug: String,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<RunRow>, Error> {
    db.run(move |conn| runs_in(conn, &slug, after, limit)).await
}

fn no_run(id: Uuid) -> Error {
    Error::NotFound(format!("no sync run `{id}`"))
}

/// One run of the tenant.
pub fn run_in(conn: &mut PgConnection, slug: &str, id: Uuid) -> Result<RunRow, Error> {
    let tenant = super::tenants::get(conn, slug)?;
    store::run(conn, tenant.id, id)?.ok_or_else(|| no_run(id))
}

/// [`run_in`], for the admin API.
pub async fn run(db: &Db, slug: String, id: Uuid) -> Result<RunRow, Error> {
    db.run(move |conn| run_in(conn, &slug, id)).await
}

/// A page of a run's plan.
pub async fn plan(
    db: &Db,
    slug: String,
    id: Uuid,
    action: Option<PlanAction>,
    after: i64,
    limit: i64,
) -> Result<Vec<PlanItem>, Error> {
    db.run(move |conn| {
        let run = run_in(conn, &slug, id)?;
        Ok(store::items(conn, run.key(), action, after, limit)?)
    })
    .await
}

/// Applies a held run's own plan (an operator approved it): it goes on to `succeeded`,
/// or `failed`. 409 when the run is not held, or when another run applied since its plan
/// was made.
pub async fn approve(
    db: &Db,
    slug: String,
    run_id: Uuid,
    now: DateTime<Utc>,
) -> Result<RunRow, Error> {
    let tenant_slug = slug.clone();
    let applied = db
        .run(move |conn| {
            conn.transaction(|conn| {
                let tenant_id = super::tenants::get(conn, &slug)?.id;
                let run = store::run(conn, tenant_id, run_id)?
                    .ok_or_else(|| Error::NotFound(format!("no sync run `{run_id}`")))?;
                if run.status != RunStatus::Held {
                    return Err(Error::Conflict(format!(
                        "the run is {}, not held; only a held run can be approved",
                        run.status
                    )));
                }
                if !store::has_staging(conn, run.key())? {
                    return Err(Error::Conflict(
                        "the run's staged listing is gone (the database restarted since the \
                         run was planned); start a new run"
                            .to_owned(),
                    ));
                }
                let tenant = super::tenants::by_id(conn, tenant_id)?;
                let state = run.state_after.clone().unwrap_or_else(|| json!({}));
                let next = next_run_at(now, tenant.sync_interval_secs);
                apply(conn, &run, &tenant, &state, now, next)?;
                Ok(store::set_status(
                    conn,
                    run.key(),
                    RunStatus::Succeeded,
                    None,
                    now,
                )?)
            })
        })
        .await;
    match applied {
        // A plan that cannot apply (not the refusals above) fails its run, which says so.
        Err(Error::Internal(cause)) => {
            tracing::error!(run = %run_id, error = ?cause, "an approved sync run failed to apply");
            let error = json!({
                "code": "internal",
                "message": "scimd could not apply the approved plan; see its log",
            });
            db.run(move |conn| {
                let run = store::RunKey {
                    tenant_id: super::tenants::get(conn, &tenant_slug)?.id,
                    id: run_id,
                };
                Ok(store::set_status(
                    conn,
                    run,
                    RunStatus::Failed,
                    Some(error),
                    now,
                )?)
            })
            .await
        }
        other => other,
    }
}

/// Seconds since the last success of the connection that has waited longest, for
/// `/metrics`.
pub async fn oldest_success_age(db: &Db, now: DateTime<Utc>) -> Result<i64, Error> {
    db.run(move |conn| Ok(store::oldest_success_age(conn, now)?))
        .await
}
