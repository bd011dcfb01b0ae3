//! `POST /Bulk` (RFC 7644 §3.7): operations run in order, each in its own transaction,
//! with `bulkId` references resolved to the ids created earlier in the request, and
//! `failOnErrors` stopping the run after that many errors. `maxOperations` and
//! `maxPayloadSize` are advertised in /ServiceProviderConfig and enforced here.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::common::{actor, base_url, group_location, json_body, scim, user_location};
use super::groups::Groups;
use super::params::etag;
use super::resources::{Input, Resource};
use super::users::Users;
use crate::error::Error;
use crate::http::body::ScimBody;
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::events::Actor;
use crate::provisioning::push::{self, At, Write};
use crate::provisioning::{groups as prov_groups, users as prov_users};
use crate::scim::patch::parse_patch;
use crate::store::Db;

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Users,
    Groups,
}

/// One operation as the client wrote it.
struct Op {
    method: String,
    path: String,
    bulk_id: Option<String>,
    version: Option<String>,
    data: Option<Value>,
}

fn parse_ops(body: &Value, max: usize) -> Result<(Vec<Op>, Option<usize>), Error> {
    let obj = body
        .as_object()
        .ok_or_else(|| Error::InvalidSyntax("the body must be a BulkRequest object".into()))?;
    let schemas_ok = obj
        .get("schemas")
        .and_then(Value::as_array)
        .is_none_or(|s| s.iter().any(|v| v.as_str() == Some(BULK_REQUEST)));
    if !schemas_ok {
        return Err(Error::InvalidSyntax(format!(
            "schemas must contain {BULK_REQUEST}"
        )));
    }
    let fail_on_errors = match obj.get("failOnErrors") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_u64()
                .filter(|n| *n > 0)
                .and_then(|n| usize::try_from(n).ok())
                .ok_or_else(|| {
                    Error::InvalidValue("failOnErrors must be a positive integer".into())
                })?,
        ),
    };
    let raw = obj
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .and_then(|(_, v)| v.as_array())
        .ok_or_else(|| Error::InvalidSyntax("a BulkRequest needs an Operations array".into()))?;
    if raw.len() > max {
        return Err(Error::PayloadTooLarge(format!(
            "the request has {} operations; maxOperations is {max}",
            raw.len()
        )));
    }
    let ops = raw
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let o = op.as_object().ok_or_else(|| {
                Error::InvalidSyntax(format!("operation {}: must be an object", i + 1))
            })?;
            let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
            Ok(Op {
                method: text("method")
                    .ok_or_else(|| {
                        Error::InvalidSyntax(format!("operation {}: method is required", i + 1))
                    })?
                    .to_ascii_uppercase(),
                path: text("path").ok_or_else(|| {
                    Error::InvalidSyntax(format!("operation {}: path is required", i + 1))
                })?,
                bulk_id: text("bulkId"),
                version: text("version"),
                data: o.get("data").cloned(),
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok((ops, fail_on_errors))
}

/// Replaces every string `bulkId:<id>` in `value` with the id created for it.
fn resolve_refs(value: &mut Value, created: &HashMap<String, Uuid>) -> Result<(), Error> {
    match value {
        Value::String(s) => {
            if let Some(id) = s.strip_prefix("bulkId:") {
                let resolved = created.get(id).ok_or_else(|| {
                    Error::InvalidValue(format!(
                        "bulkId `{id}` is not defined by an earlier operation"
                    ))
                })?;
                *s = resolved.to_string();
            }
            Ok(())
        }
        Value::Array(items) => items.iter_mut().try_for_each(|v| resolve_refs(v, created)),
        Value::Object(map) => map.values_mut().try_for_each(|v| resolve_refs(v, created)),
        _ => Ok(()),
    }
}

/// `/Users`, `/Groups`, `/Users/{id}` … into a kind and an optional id.
fn target(path: &str) -> Result<(Kind, Option<&str>), Error> {
    let trimmed = path.trim_matches('/');
    let (kind, rest) = trimmed
        .split_once('/')
        .map_or((trimmed, None), |(k, r)| (k, Some(r)));
    let kind = match kind {
        "Users" => Kind::Users,
        "Groups" => Kind::Groups,
        _ => {
            return Err(Error::InvalidPath(format!(
                "bulk path `{path}` is not /Users or /Groups"
            )))
        }
    };
    Ok((kind, rest.filter(|r| !r.is_empty())))
}

fn version_of(v: &Option<String>) -> Option<i64> {
    v.as_deref().map(|t| {
        t.trim_start_matches("W/")
            .trim_matches('"')
            .parse()
            .unwrap_or(-1)
    })
}

/// The write an operation on a resource of type `R` asks for, and the status it answers
/// with when it succeeds.
fn parse_write<R: Resource>(
    op: &Op,
    id: Option<Uuid>,
    data: Option<Value>,
) -> Result<(Write<Input<R>>, StatusCode), Error> {
    let normalize = R::normalize;
    let data = || data.ok_or_else(|| Error::InvalidSyntax("this operation needs data".into()));
    Ok(match (op.method.as_str(), id) {
        ("POST", None) => (Write::Create(normalize(&data()?)?), StatusCode::CREATED),
        ("PUT", Some(_)) => (Write::Replace(normalize(&data()?)?), StatusCode::OK),
        ("PATCH", Some(_)) => (Write::Patch(parse_patch(&data()?)?), StatusCode::OK),
        ("DELETE", Some(_)) => (Write::Delete, StatusCode::NO_CONTENT),
        ("POST", Some(_)) => {
            return Err(Error::InvalidPath("POST goes to /Users or /Groups".into()))
        }
        ("PUT" | "PATCH" | "DELETE", None) => return Err(R::not_found("bulk")),
        (method, _) => {
            return Err(Error::InvalidSyntax(format!(
                "unsupported bulk method `{method}`"
            )))
        }
    })
}

/// Parses and runs one operation on a resource of type `R`: its status, and the
/// resource's id and version unless it was deleted.
async fn run_one<R: Resource>(
    db: &Db,
    actor: &Actor,
    op: &Op,
    id: Option<Uuid>,
    data: Option<Value>,
    now: DateTime<Utc>,
) -> Result<(StatusCode, Option<(Uuid, i64)>), Error> {
    let (write, status) = parse_write::<R>(op, id, data)?;
    let at = At {
        actor: actor.clone(),
        id: id.unwrap_or_default(),
        if_match: version_of(&op.version),
        now,
    };
    Ok((status, push::bulk::<R::Push>(db, at, write).await?))
}

pub async fn bulk(
    ctx: TenantCtx,
    state: web::Data<AppState>,
    db: web::Data<Db>,
    req: HttpRequest,
    body: ScimBody,
) -> Result<HttpResponse, Error> {
    let settings = &state.settings;
    if body.0.len() > settings.bulk_max_payload {
        return Err(Error::PayloadTooLarge(format!(
            "the bulk request is {} bytes; maxPayloadSize is {}",
            body.0.len(),
            settings.bulk_max_payload
        )));
    }
    let (ops, fail_on_errors) = parse_ops(&json_body(&body.0)?, settings.bulk_max_operations)?;
    let base = base_url(&req, &state);
    let actor = actor(&ctx);
    let mut created: HashMap<String, Uuid> = HashMap::new();
    let mut results = Vec::with_capacity(ops.len());
    let mut errors = 0;
    for op in ops {
        if fail_on_errors.is_some_and(|max| errors >= max) {
            break;
        }
        let mut result = Map::new();
        result.insert("method".into(), json!(op.method));
        if let Some(b) = &op.bulk_id {
            result.insert("bulkId".into(), json!(b));
        }
        let bulk_id = op.bulk_id.clone();
        let now = state.clock.now();
        let outcome = match prepare(&op, &created) {
            Ok((Kind::Users, id, data)) => run_one::<Users>(&db, &actor, &op, id, data, now)
                .await
                .map(|(status, done)| (Kind::Users, status, done)),
            Ok((Kind::Groups, id, data)) => run_one::<Groups>(&db, &actor, &op, id, data, now)
                .await
                .map(|(status, done)| (Kind::Groups, status, done)),
            Err(e) => Err(e),
        };
        match outcome {
            Ok((kind, status, done)) => {
                if let Some((id, version)) = done {
                    let location = match kind {
                        Kind::Users => user_location(&base, id),
                        Kind::Groups => group_location(&base, id),
                    };
                    result.insert("location".into(), json!(location));
                    result.insert("version".into(), json!(etag(version)));
                    if let (Some(b), true) = (&bulk_id, status == StatusCode::CREATED) {
                        created.insert(b.clone(), id);
                    }
                }
                result.insert("status".into(), json!(status.as_u16().to_string()));
            }
            Err(e) => {
                if matches!(e, Error::Unavailable(_) | Error::Internal(_)) {
                    return Err(e);
                }
                errors += 1;
                result.insert("status".into(), json!(e.status().as_u16().to_string()));
                result.insert("response".into(), e.scim_body());
            }
        }
        results.push(Value::Object(result));
    }
    Ok(scim(
        StatusCode::OK,
        &json!({"schemas": [BULK_RESPONSE], "Operations": results}),
    ))
}

/// Resolves the path and data of one operation against the ids created so far.
fn prepare(
    op: &Op,
    created: &HashMap<String, Uuid>,
) -> Result<(Kind, Option<Uuid>, Option<Value>), Error> {
    let (kind, raw_id) = target(&op.path)?;
    let id = match raw_id {
        None => None,
        Some(raw) => {
            let raw = match raw.strip_prefix("bulkId:") {
                Some(b) => created.get(b).map(Uuid::to_string).ok_or_else(|| {
                    Error::InvalidValue(format!(
                        "bulkId `{b}` is not defined by an earlier operation"
                    ))
                })?,
                None => raw.to_owned(),
            };
            Some(Uuid::parse_str(&raw).map_err(|_| match kind {
                Kind::Users => prov_users::not_found(&raw),
                Kind::Groups => prov_groups::not_found(&raw),
            })?)
        }
    };
    if op.method == "POST" && op.bulk_id.is_none() {
        return Err(Error::InvalidValue(
            "a POST operation needs a bulkId (RFC 7644 §3.7)".into(),
        ));
    }
    let mut data = op.data.clone();
    if let Some(d) = data.as_mut() {
        resolve_refs(d, created)?;
    }
    Ok((kind, id, data))
}
