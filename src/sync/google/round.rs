//! One round: a full listing of the connection's scope, page by page.

use std::collections::{HashSet, VecDeque};
use std::future::Future;

use futures_util::stream::{self, StreamExt};
use serde_json::{Map, Value};

use super::errors::{self, Reading};
use super::{key, org_unit_query, Google, GROUPS_PAGE, USERS_PAGE, USER_FIELDS};
use crate::domain::GoogleScope;
use crate::sync::http::Fetched;
use crate::sync::{DirGroup, DirUser, MemberChange, Page, Removal, SyncError};

/// Groups whose members are read at once.
const CONCURRENT_READS: usize = 8;
/// Groups handed to the engine in one page.
const GROUPS_PER_PAGE: usize = 50;
/// Users read one by one (chosen groups' members) handed over in one page.
const USERS_PER_PAGE: usize = 200;

/// The pages of one run. Any error makes the round unusable as a whole: the engine then
/// applies nothing.
pub struct Round<'g> {
    google: &'g Google,
    steps: VecDeque<Step>,
    /// Users already handed over: one in two chosen units or groups comes once.
    seen: HashSet<String>,
    /// Groups listed whose members are still to be read: (id, fields).
    groups: VecDeque<(String, Map<String, Value>)>,
    /// Members of chosen groups whose details are still to be read.
    pending: VecDeque<String>,
    state: Option<Value>,
}

enum Step {
    /// `users.list`, for the customer or (`path`) one organisational unit.
    Users {
        path: Option<String>,
        token: Option<String>,
    },
    /// `groups.list`, queueing the groups.
    ListGroups { token: Option<String> },
    /// The members of the queued groups, a batch a page.
    Members,
    /// The chosen groups, one a page, queueing their members.
    Chosen(VecDeque<String>),
    /// The chosen groups' members' details, a batch a page.
    Details,
}

impl<'g> Round<'g> {
    pub(super) fn start(google: &'g Google) -> Self {
        let mut steps = VecDeque::new();
        match &google.config.scope {
            GoogleScope::All {} => {
                steps.push_back(Step::Users {
                    path: None,
                    token: None,
                });
            }
            GoogleScope::OrgUnits { paths } => {
                steps.extend(paths.iter().map(|p| Step::Users {
                    path: Some(p.clone()),
                    token: None,
                }));
            }
            GoogleScope::Groups { group_emails } => {
                steps.push_back(Step::Chosen(group_emails.iter().cloned().collect()));
                steps.push_back(Step::Details);
            }
        }
        if !matches!(google.config.scope, GoogleScope::Groups { .. }) {
            steps.push_back(Step::ListGroups { token: None });
            steps.push_back(Step::Members);
        }
        Self {
            google,
            steps,
            seen: HashSet::new(),
            groups: VecDeque::new(),
            pending: VecDeque::new(),
            state: None,
        }
    }

    /// Always: Google has no delta, so every round lists the whole scope.
    pub fn full(&self) -> bool {
        true
    }

    /// `Some` (nothing to carry over) once the last page was read.
    pub fn state(&self) -> Option<Value> {
        self.state.clone()
    }

    /// The next page, or `None` when the round is complete.
    pub async fn next_page(&mut self) -> Result<Option<Page>, SyncError> {
        loop {
            let Some(step) = self.steps.front_mut() else {
                if self.state.is_none() {
                    self.state = Some(Value::Object(Map::new()));
                }
                return Ok(None);
            };
            match step {
                Step::Users { path, token } => {
                    let (page, next) =
                        users_page(self.google, path.as_deref(), token.as_deref()).await?;
                    if advance(token, next)? {
                        self.steps.pop_front();
                    }
                    let users = page
                        .into_iter()
                        .filter(|u| self.seen.insert(u.id.clone()))
                        .collect();
                    return Ok(Some(Page {
                        users,
                        ..Page::default()
                    }));
                }
                Step::ListGroups { token } => {
                    let (groups, next) = groups_page(self.google, token.as_deref()).await?;
                    self.groups.extend(groups);
                    if advance(token, next)? {
                        self.steps.pop_front();
                    }
                }
                Step::Members => {
                    if self.groups.is_empty() {
                        self.steps.pop_front();
                        continue;
                    }
                    let google = self.google;
                    let read = read_front(
                        &mut self.groups,
                        GROUPS_PER_PAGE,
                        |(id, fields)| async move {
                            let members = members(google, &id, false).await?;
                            Ok(members.map(|members| DirGroup {
                                id,
                                removed: None,
                                fields,
                                members,
                                members_full: true,
                            }))
                        },
                    )
                    .await?;
                    return Ok(Some(Page {
                        groups: read.into_iter().flatten().collect(),
                        ..Page::default()
                    }));
                }
                Step::Chosen(emails) => {
                    let Some(email) = emails.pop_front() else {
                        self.steps.pop_front();
                        continue;
                    };
                    let (id, fields) = group(self.google, &email).await?;
                    let list = members(self.google, &email, true)
                        .await?
                        .unwrap_or_default();
                    for m in &list {
                        if self.seen.insert(m.id.clone()) {
                            self.pending.push_back(m.id.clone());
                        }
                    }
                    return Ok(Some(Page {
                        groups: vec![DirGroup {
                            id,
                            removed: None,
                            fields,
                            members: list,
                            members_full: true,
                        }],
                        ..Page::default()
                    }));
                }
                Step::Details => {
                    if self.pending.is_empty() {
                        self.steps.pop_front();
                        continue;
                    }
                    let google = self.google;
                    let users =
                        read_front(&mut self.pending, USERS_PER_PAGE, |id| user(google, id))
                            .await?;
                    return Ok(Some(Page {
                        users,
                        ..Page::default()
                    }));
                }
            }
        }
    }
}

/// Takes up to `most` entries off the front of `queue` and reads each with `read`,
/// [`CONCURRENT_READS`] at a time: what was read, in queue order, or the first failure.
async fn read_front<T, U, F, Fut>(
    queue: &mut VecDeque<T>,
    most: usize,
    read: F,
) -> Result<Vec<U>, SyncError>
where
    F: FnMut(T) -> Fut,
    Fut: Future<Output = Result<U, SyncError>>,
{
    let n = queue.len().min(most);
    let batch: Vec<T> = queue.drain(..n).collect();
    let read: Vec<Result<U, SyncError>> = stream::iter(batch)
        .map(read)
        .buffered(CONCURRENT_READS)
        .collect()
        .await;
    read.into_iter().collect()
}

/// Moves a paged step on to its next page; `true` after its last. A page token that comes
/// back unchanged would loop for ever.
fn advance(token: &mut Option<String>, next: Option<String>) -> Result<bool, SyncError> {
    match next {
        Some(next) if token.as_deref() == Some(next.as_str()) => Err(SyncError::new(
            "source_error",
            "Google returned the same page token twice; the listing would never end, so the \
             run stopped",
        )),
        Some(next) => {
            *token = Some(next);
            Ok(false)
        }
        None => Ok(true),
    }
}

/// The page's body, checked: a listing answer is a JSON object of its `kind`. One that is
/// not (cut off, or without its kind) means the listing was cut short.
fn listing(answer: &Fetched, kind: &str, reading: Reading<'_>) -> Result<Value, SyncError> {
    let body: Value = answer.json().map_err(|_| truncated(reading))?;
    if body.get("kind").and_then(Value::as_str) != Some(kind) {
        return Err(truncated(reading));
    }
    Ok(body)
}

fn truncated(reading: Reading<'_>) -> SyncError {
    SyncError::new(
        "truncated",
        format!(
            "A page from Google came back incomplete (while trying to {}); the listing was cut \
             short, so the run changed nothing",
            reading.what()
        ),
    )
}

fn next_token(body: &Value) -> Option<String> {
    body.get("nextPageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn entries<'b>(body: &'b Value, name: &str) -> impl Iterator<Item = &'b Value> {
    // Google leaves the list out of a page that has none.
    body.get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// An entry's id and its other properties.
fn split(entry: &Value) -> Result<(String, Map<String, Value>), SyncError> {
    let mut fields = entry.as_object().cloned().unwrap_or_default();
    let id = fields
        .remove("id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .filter(|id| !id.is_empty())
        .ok_or_else(|| SyncError::new("source_error", "Google sent an entry without an id"))?;
    fields.retain(|k, _| k != "kind" && k != "etag");
    Ok((id, fields))
}

async fn users_page(
    google: &Google,
    path: Option<&str>,
    token: Option<&str>,
) -> Result<(Vec<DirUser>, Option<String>), SyncError> {
    let mut params = vec![
        ("customer", google.config.customer.clone()),
        ("maxResults", USERS_PAGE.to_owned()),
        ("fields", format!("kind,nextPageToken,users({USER_FIELDS})")),
    ];
    if let Some(p) = path {
        params.push(("query", org_unit_query(p)));
    }
    if let Some(t) = token {
        params.push(("pageToken", t.to_owned()));
    }
    let reading = path.map_or(Reading::Users, Reading::OrgUnit);
    let answer = google
        .get(&google.url("/admin/directory/v1/users", &params))
        .await?;
    errors::ensure_ok(google, &answer, reading)?;
    let body = listing(&answer, "admin#directory#users", reading)?;
    let users = entries(&body, "users")
        .map(|u| {
            split(u).map(|(id, fields)| DirUser {
                id,
                removed: None,
                fields,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok((users, next_token(&body)))
}

type Listed = Vec<(String, Map<String, Value>)>;

async fn groups_page(
    google: &Google,
    token: Option<&str>,
) -> Result<(Listed, Option<String>), SyncError> {
    let mut params = vec![
        ("customer", google.config.customer.clone()),
        ("maxResults", GROUPS_PAGE.to_owned()),
        (
            "fields",
            "kind,nextPageToken,groups(id,email,name,description)".to_owned(),
        ),
    ];
    if let Some(t) = token {
        params.push(("pageToken", t.to_owned()));
    }
    let answer = google
        .get(&google.url("/admin/directory/v1/groups", &params))
        .await?;
    errors::ensure_ok(google, &answer, Reading::Groups)?;
    let body = listing(&answer, "admin#directory#groups", Reading::Groups)?;
    let groups = entries(&body, "groups")
        .map(|g| split(g).map(|(id, fields)| (id, group_fields(fields))))
        .collect::<Result<_, _>>()?;
    Ok((groups, next_token(&body)))
}

/// A group's properties, its name as `displayName` (what the engine names groups by).
fn group_fields(mut fields: Map<String, Value>) -> Map<String, Value> {
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .or_else(|| fields.get("email").and_then(Value::as_str))
        .map(|n| Value::String(n.to_owned()));
    if let Some(name) = name {
        fields.insert("displayName".into(), name);
    }
    fields
}

/// A chosen group, by its address.
async fn group(google: &Google, email: &str) -> Result<(String, Map<String, Value>), SyncError> {
    let url = google.url(
        &format!("/admin/directory/v1/groups/{}", key(email)),
        &[("fields", "kind,id,email,name,description".to_owned())],
    );
    let answer = google.get(&url).await?;
    errors::ensure_ok(google, &answer, Reading::Group(email))?;
    let body = listing(&answer, "admin#directory#group", Reading::Group(email))?;
    let (id, fields) = split(&body)?;
    Ok((id, group_fields(fields)))
}

/// Every user member of a group, nested membership included. `None` when the group was
/// deleted while the run read it (a listed group); a chosen group that is gone fails the
/// run (`chosen`).
async fn members(
    google: &Google,
    group: &str,
    chosen: bool,
) -> Result<Option<Vec<MemberChange>>, SyncError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut params = vec![
            ("maxResults", GROUPS_PAGE.to_owned()),
            ("includeDerivedMembership", "true".to_owned()),
            (
                "fields",
                "kind,nextPageToken,members(id,email,type,status)".to_owned(),
            ),
        ];
        if let Some(t) = &token {
            params.push(("pageToken", t.clone()));
        }
        let url = google.url(
            &format!("/admin/directory/v1/groups/{}/members", key(group)),
            &params,
        );
        let answer = google.get(&url).await?;
        if !chosen && errors::gone(&answer) {
            tracing::info!(
                group,
                "a Google group was deleted while the run read it; skipped"
            );
            return Ok(None);
        }
        errors::ensure_ok(google, &answer, Reading::Members(group))?;
        let body = listing(&answer, "admin#directory#members", Reading::Members(group))?;
        for m in entries(&body, "members") {
            if m.get("type").and_then(Value::as_str) != Some("USER") {
                continue;
            }
            if let Some(id) = m.get("id").and_then(Value::as_str) {
                out.push(MemberChange {
                    id: id.to_owned(),
                    removed: false,
                });
            }
        }
        if advance(&mut token, next_token(&body))? {
            return Ok(Some(out));
        }
    }
}

/// One user's details. A user deleted since its group listed it (404, or 412) is handed
/// over as deleted, with the reason logged, and the run goes on.
async fn user(google: &Google, id: String) -> Result<DirUser, SyncError> {
    let url = google.url(
        &format!("/admin/directory/v1/users/{}", key(&id)),
        &[("fields", format!("kind,{USER_FIELDS}"))],
    );
    let answer = google.get(&url).await?;
    if errors::gone(&answer) {
        tracing::info!(
            user = %id,
            status = answer.status.as_u16(),
            "a Google user was deleted while the run read it; handed over as deleted"
        );
        return Ok(DirUser {
            id,
            removed: Some(Removal::Deleted),
            fields: Map::new(),
        });
    }
    errors::ensure_ok(google, &answer, Reading::User(&id))?;
    let body = listing(&answer, "admin#directory#user", Reading::User(&id))?;
    let (got, fields) = split(&body)?;
    Ok(DirUser {
        id: got,
        removed: None,
        fields,
    })
}
