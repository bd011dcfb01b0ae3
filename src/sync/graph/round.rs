//! One round: the pages of one run, and the state the next run starts from.

use std::collections::{HashSet, VecDeque};

use serde_json::{Map, Value};
use url::Url;

use super::{delta_state, errors, person::user_select, Graph, GraphScope, Reading};
use crate::sync::http::Fetched;
use crate::sync::{DirGroup, DirUser, MemberChange, Page, Removal, SyncError};

/// Page size asked for: Graph's largest. Graph may still send fewer.
const MAX_PAGE: &str = "odata.maxpagesize=999";

/// The pages of one run, read one at a time ([`Round::next_page`]): for scope all, the
/// users delta pages and then the groups delta pages; for chosen groups, each group's
/// members and then the group. Any error means the round is unusable as a whole.
pub struct Round<'g> {
    graph: &'g Graph,
    full: bool,
    /// The next page must tell the engine to discard what it has.
    reset_next: bool,
    resets: u32,
    plan: Plan,
    state: Option<Value>,
}

enum Plan {
    Delta(Delta),
    Groups(Chosen),
}

struct Delta {
    listing: Listing,
    /// Where the groups listing starts (a stored delta link, or the full listing).
    groups_start: Url,
    users_link: Option<String>,
}

enum Listing {
    Users(Url),
    Groups(Url),
    Done,
}

struct Chosen {
    queue: VecDeque<String>,
    current: Option<Open>,
    /// Users already handed over: a user in several chosen groups comes once.
    seen: HashSet<String>,
}

/// The chosen group whose members are being read.
struct Open {
    id: String,
    fields: Map<String, Value>,
    members: Vec<MemberChange>,
    next: Url,
}

impl<'g> Round<'g> {
    pub(super) fn start(graph: &'g Graph, state: &Value) -> Result<Self, SyncError> {
        let plan = match &graph.config.scope {
            GraphScope::All => {
                let links = stored_links(graph, state)?;
                let full = links.is_none();
                let (users, groups) = match links {
                    Some(links) => links,
                    None => initial_links(graph),
                };
                return Ok(Self {
                    graph,
                    full,
                    reset_next: false,
                    resets: 0,
                    plan: Plan::Delta(Delta {
                        listing: Listing::Users(users),
                        groups_start: groups,
                        users_link: None,
                    }),
                    state: None,
                });
            }
            GraphScope::Groups { group_ids } => Plan::Groups(Chosen {
                queue: group_ids.iter().cloned().collect(),
                current: None,
                seen: HashSet::new(),
            }),
        };
        Ok(Self {
            graph,
            full: true,
            reset_next: false,
            resets: 0,
            plan,
            state: None,
        })
    }

    /// The round lists everything (no stored state, chosen groups, or a reset happened):
    /// absence from it means gone. Can turn true during the round, never false.
    pub fn full(&self) -> bool {
        self.full
    }

    /// The state to store once the round is complete: `Some` only after the last page was
    /// read (`next_page` answered `None`).
    pub fn state(&self) -> Option<Value> {
        self.state.clone()
    }

    /// The next page, or `None` when the round is complete.
    pub async fn next_page(&mut self) -> Result<Option<Page>, SyncError> {
        let page = if matches!(self.plan, Plan::Delta(_)) {
            self.next_delta_page().await?
        } else {
            self.next_group_page().await?
        };
        Ok(page.map(|mut p| {
            p.reset = std::mem::take(&mut self.reset_next);
            p
        }))
    }

    async fn next_delta_page(&mut self) -> Result<Option<Page>, SyncError> {
        let graph = self.graph;
        loop {
            let Plan::Delta(delta) = &mut self.plan else {
                return Ok(None);
            };
            let (url, reading) = match &delta.listing {
                Listing::Users(url) => (url.clone(), Reading::Users),
                Listing::Groups(url) => (url.clone(), Reading::Groups),
                Listing::Done => return Ok(None),
            };
            let answer = graph.get(&url, Some(MAX_PAGE)).await?;
            if errors::wants_reset(&answer) {
                self.restart()?;
                continue;
            }
            errors::ensure_ok(&answer, reading)?;
            let body = listing_body(&answer, reading)?;
            let mut page = Page::default();
            for entry in entries(&body, reading)? {
                match reading {
                    Reading::Users => page.users.push(dir_user(entry)?),
                    _ => page.groups.push(dir_group(entry, self.full)?),
                }
            }
            let next = link(&body, "@odata.nextLink");
            let done = link(&body, "@odata.deltaLink");
            delta.listing = match (next, done, reading) {
                (Some(next), _, Reading::Users) => Listing::Users(graph.own_link(next)?),
                (Some(next), _, _) => Listing::Groups(graph.own_link(next)?),
                (None, Some(done), Reading::Users) => {
                    graph.own_link(done)?;
                    delta.users_link = Some(done.to_owned());
                    Listing::Groups(delta.groups_start.clone())
                }
                (None, Some(done), _) => {
                    graph.own_link(done)?;
                    let users = delta.users_link.as_deref().unwrap_or_default();
                    self.state = Some(delta_state(users, done));
                    Listing::Done
                }
                (None, None, _) => return Err(truncated(reading, "a next page or delta link")),
            };
            return Ok(Some(page));
        }
    }

    /// Starts over with a full listing of users and groups. Once per round: a directory
    /// that asks twice is not converging.
    fn restart(&mut self) -> Result<(), SyncError> {
        if self.resets > 0 {
            return Err(SyncError::new(
                "source_error",
                "Microsoft Graph asked twice in one run to start the listing over; the run \
                 stopped and will be tried again later",
            ));
        }
        tracing::info!("Microsoft Graph asked for a full resynchronisation; listing everything");
        let (users, groups) = initial_links(self.graph);
        self.plan = Plan::Delta(Delta {
            listing: Listing::Users(users),
            groups_start: groups,
            users_link: None,
        });
        self.resets += 1;
        self.full = true;
        self.reset_next = true;
        Ok(())
    }

    async fn next_group_page(&mut self) -> Result<Option<Page>, SyncError> {
        let graph = self.graph;
        loop {
            let Plan::Groups(chosen) = &mut self.plan else {
                return Ok(None);
            };
            let Some(current) = chosen.current.as_mut() else {
                let Some(id) = chosen.queue.pop_front() else {
                    // Nothing to carry to the next run: chosen groups are read in full.
                    if self.state.is_none() {
                        self.state = Some(Value::Object(Map::new()));
                    }
                    return Ok(None);
                };
                chosen.current = Some(read_group(graph, id).await?);
                continue;
            };
            let reading = Reading::Members(&current.id);
            let answer = graph.get(&current.next, Some(MAX_PAGE)).await?;
            errors::ensure_ok(&answer, reading)?;
            let body = listing_body(&answer, reading)?;
            let mut page = Page::default();
            for entry in entries(&body, reading)? {
                let user = dir_user(entry)?;
                if !is_user(entry) {
                    continue;
                }
                current.members.push(MemberChange {
                    id: user.id.clone(),
                    removed: false,
                });
                if chosen.seen.insert(user.id.clone()) {
                    page.users.push(user);
                }
            }
            // Not a delta listing: a page without a next link is the last one.
            match link(&body, "@odata.nextLink") {
                Some(next) => current.next = graph.own_link(next)?,
                None => {
                    if let Some(done) = chosen.current.take() {
                        page.groups.push(DirGroup {
                            id: done.id,
                            removed: None,
                            fields: done.fields,
                            members: done.members,
                            members_full: true,
                        });
                    }
                }
            }
            return Ok(Some(page));
        }
    }
}

/// The stored delta links, checked: both or none (anything else starts a full round).
fn stored_links(graph: &Graph, state: &Value) -> Result<Option<(Url, Url)>, SyncError> {
    let users = state.get("users").and_then(Value::as_str);
    let groups = state.get("groups").and_then(Value::as_str);
    match (users, groups) {
        (Some(u), Some(g)) => Ok(Some((graph.own_link(u)?, graph.own_link(g)?))),
        _ => Ok(None),
    }
}

fn initial_links(graph: &Graph) -> (Url, Url) {
    (
        graph.url("/v1.0/users/delta", &[("$select", user_select().as_str())]),
        graph.url(
            "/v1.0/groups/delta",
            &[("$select", "id,displayName,description,members")],
        ),
    )
}

/// Reads a chosen group's own properties; its members come next.
async fn read_group(graph: &Graph, id: String) -> Result<Open, SyncError> {
    let url = graph.url(
        &format!("/v1.0/groups/{id}"),
        &[("$select", "id,displayName,description")],
    );
    let answer = graph.get(&url, None).await?;
    errors::ensure_ok(&answer, Reading::Group(&id))?;
    let body: Value = answer.json().map_err(|_| not_json(Reading::Group(&id)))?;
    let mut fields = body.as_object().cloned().unwrap_or_default();
    fields.retain(|k, _| k != "id" && !k.starts_with("@odata."));
    let next = graph.url(
        &format!("/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user"),
        &[("$select", user_select().as_str()), ("$top", "999")],
    );
    Ok(Open {
        id,
        fields,
        members: Vec::new(),
        next,
    })
}

fn listing_body(answer: &Fetched, reading: Reading<'_>) -> Result<Value, SyncError> {
    answer.json().map_err(|_| not_json(reading))
}

fn entries<'b>(body: &'b Value, reading: Reading<'_>) -> Result<&'b Vec<Value>, SyncError> {
    body.get("value")
        .and_then(Value::as_array)
        .ok_or_else(|| truncated(reading, "its list of entries (`value`)"))
}

fn link<'b>(body: &'b Value, name: &str) -> Option<&'b str> {
    body.get(name).and_then(Value::as_str)
}

fn is_user(entry: &Value) -> bool {
    entry
        .get("@odata.type")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "#microsoft.graph.user")
}

fn what(reading: Reading<'_>) -> String {
    match reading {
        Reading::Users => "users".into(),
        Reading::Groups => "groups".into(),
        Reading::Group(id) => format!("group {id}"),
        Reading::Members(id) => format!("the members of group {id}"),
    }
}

fn truncated(reading: Reading<'_>, missing: &str) -> SyncError {
    SyncError::new(
        "truncated",
        format!(
            "A page of {} from Microsoft Graph came without {missing}; the listing was cut \
             short, so the run changed nothing",
            what(reading)
        ),
    )
}

fn not_json(reading: Reading<'_>) -> SyncError {
    SyncError::new(
        "source_error",
        format!(
            "Microsoft Graph answered a request for {} with something that is not JSON",
            what(reading)
        ),
    )
}

fn id_and_removal(entry: &Value) -> Result<(String, Option<Removal>), SyncError> {
    let id = entry
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| {
            SyncError::new(
                "source_error",
                "Microsoft Graph sent an entry without an id",
            )
        })?;
    Ok((id.to_owned(), removal(entry)))
}

/// `@removed.reason`: `changed` (restorable for a while) or `deleted` (gone for good). An
/// unknown or missing reason is taken as the restorable kind, the less final of the two.
fn removal(entry: &Value) -> Option<Removal> {
    let removed = entry.get("@removed")?;
    match removed.get("reason").and_then(Value::as_str) {
        Some("deleted") => Some(Removal::Deleted),
        _ => Some(Removal::Changed),
    }
}

fn dir_user(entry: &Value) -> Result<DirUser, SyncError> {
    let (id, removed) = id_and_removal(entry)?;
    let mut fields = entry.as_object().cloned().unwrap_or_default();
    fields.retain(|k, _| k != "id" && k != "@removed");
    Ok(DirUser {
        id,
        removed,
        fields,
    })
}

/// A `groups: delta` entry. Only user members count; nested groups, devices and contacts
/// are left out. In a full listing the member list is the group's whole membership, so a
/// member marked removed is simply not in it.
fn dir_group(entry: &Value, full: bool) -> Result<DirGroup, SyncError> {
    let (id, removed) = id_and_removal(entry)?;
    let mut fields = entry.as_object().cloned().unwrap_or_default();
    let delta = fields.remove("members@delta");
    fields.retain(|k, _| k != "id" && k != "@removed");
    let members = delta
        .as_ref()
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|m| m.get("@odata.type").and_then(Value::as_str) == Some("#microsoft.graph.user"))
        .filter_map(|m| {
            let id = m.get("id").and_then(Value::as_str)?;
            let removed = m.get("@removed").is_some();
            (!(full && removed)).then(|| MemberChange {
                id: id.to_owned(),
                removed,
            })
        })
        .collect();
    Ok(DirGroup {
        id,
        removed,
        fields,
        members,
        members_full: full,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_removed_user_keeps_its_reason_and_loses_the_annotation() {
        let u = dir_user(&json!({"id": "u1", "@removed": {"reason": "deleted"}})).unwrap();
        assert_eq!(u.removed, Some(Removal::Deleted));
        assert!(u.fields.is_empty());
        let u = dir_user(&json!({"id": "u1", "@removed": {"reason": "changed"}})).unwrap();
        assert_eq!(u.removed, Some(Removal::Changed));
    }

    #[test]
    fn group_entries_keep_only_user_members() {
        let entry = json!({
            "id": "g1",
            "displayName": "Sales",
            "members@delta": [
                {"@odata.type": "#microsoft.graph.user", "id": "u1"},
                {"@odata.type": "#microsoft.graph.group", "id": "g2"},
                {"@odata.type": "#microsoft.graph.device", "id": "d1"},
                {"@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": {"reason": "deleted"}}
            ]
        });
        let g = dir_group(&entry, false).unwrap();
        assert_eq!(
            g.members,
            [
                MemberChange {
                    id: "u1".into(),
                    removed: false
                },
                MemberChange {
                    id: "u2".into(),
                    removed: true
                },
            ]
        );
        assert!(!g.members_full);
        assert_eq!(g.fields.get("displayName"), Some(&json!("Sales")));
        assert!(!g.fields.contains_key("members@delta"));
        let full = dir_group(&entry, true).unwrap();
        assert_eq!(
            full.members,
            [MemberChange {
                id: "u1".into(),
                removed: false
            }]
        );
        assert!(full.members_full);
    }

    #[test]
    fn an_entry_without_an_id_fails() {
        assert_eq!(
            dir_user(&json!({"displayName": "x"})).unwrap_err().code,
            "source_error"
        );
    }
}
