//! What every SCIM handler shares: the base URL, bodies, responses and rendering rows.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::{json, Value};
use uuid::Uuid;

use super::params::{etag, Projection, StringOrList};
use crate::error::{Error, SCIM_CONTENT_TYPE};
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::provisioning::events::Actor;
use crate::scim::resource::{render_group, render_user, Meta};
use crate::store::groups::GroupRow;
use crate::store::users::UserRow;

pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// The SCIM base URL clients use for this server, e.g. `https://scim.example.com/scim/v2`.
pub fn base_url(req: &HttpRequest, state: &AppState) -> String {
    match &state.settings.public_url {
        Some(url) => format!("{}/scim/v2", url.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}/scim/v2", info.scheme(), info.host())
        }
    }
}

/// A JSON object from a request body; anything else is 400 invalidSyntax.
pub fn json_body(bytes: &[u8]) -> Result<Value, Error> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| Error::InvalidSyntax(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(Error::InvalidSyntax(
            "the body must be a JSON object".into(),
        ));
    }
    Ok(value)
}

/// A response body's bytes. serde_json writes straight into the buffer here, where
/// `to_string` would go through `fmt::Write`; a `Value` always serialises.
fn bytes_of(body: &Value) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

pub fn scim(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .body(bytes_of(body))
}

/// A single resource with its `ETag` (RFC 7644 §3.14).
pub fn resource(status: StatusCode, body: &Value, version: i64) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_CONTENT_TYPE)
        .insert_header((header::ETAG, etag(version)))
        .body(bytes_of(body))
}

/// 201 with `Location` (RFC 7644 §3.3).
pub fn created(body: &Value, version: i64, location: &str) -> HttpResponse {
    HttpResponse::Created()
        .content_type(SCIM_CONTENT_TYPE)
        .insert_header((header::ETAG, etag(version)))
        .insert_header((header::LOCATION, location.to_owned()))
        .body(bytes_of(body))
}

/// What a client's RFC 7240 `return` preference asks a write to answer with (§4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Return {
    /// `return=minimal`: no body.
    Minimal,
    /// `return=representation`: the resource.
    Representation,
}

/// The request's `return` preference, if it states one. Only the first `return` counts
/// (RFC 7240 §2); its parameters (after `;`) are ignored, and so is a value other than
/// the two §4.2 defines.
pub fn prefer_return(req: &HttpRequest) -> Option<Return> {
    let value = req
        .headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|pref| pref.split(';').next()?.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("return"))?
        .1
        .trim()
        .trim_matches('"');
    if value.eq_ignore_ascii_case("minimal") {
        Some(Return::Minimal)
    } else if value.eq_ignore_ascii_case("representation") {
        Some(Return::Representation)
    } else {
        None
    }
}

pub fn not_modified(version: i64) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, etag(version)))
        .finish()
}

pub fn user_location(base: &str, id: Uuid) -> String {
    format!("{base}/Users/{id}")
}

pub fn group_location(base: &str, id: Uuid) -> String {
    format!("{base}/Groups/{id}")
}

pub fn user_json(row: &UserRow, base: &str, groups: Option<&[(Uuid, String)]>) -> Value {
    let meta = Meta {
        resource_type: "User",
        created: row.created_at,
        last_modified: row.updated_at,
        location: user_location(base, row.id),
        version: etag(row.version),
    };
    let groups = groups.map(|gs| {
        gs.iter()
            .map(|(id, name)| {
                json!({"value": id, "$ref": group_location(base, *id), "display": name, "type": "direct"})
            })
            .collect()
    });
    render_user(&row.resource, &row.id.to_string(), &meta, groups)
}

/// A group with its members (`None` when not asked for). Members carry `value`, `$ref`,
/// `type`, and `display` when the client sent one (kept as sent, never computed).
pub fn group_json(
    row: &GroupRow,
    base: &str,
    members: Option<&[(Uuid, String, Option<String>)]>,
) -> Value {
    let meta = Meta {
        resource_type: "Group",
        created: row.created_at,
        last_modified: row.updated_at,
        location: group_location(base, row.id),
        version: etag(row.version),
    };
    let members = members.map(|ms| {
        ms.iter()
            .map(|(id, kind, display)| {
                let location = if kind == "Group" {
                    group_location(base, *id)
                } else {
                    user_location(base, *id)
                };
                let mut member = json!({"value": id, "$ref": location, "type": kind});
                if let Some(display) = display {
                    member["display"] = json!(display);
                }
                member
            })
            .collect()
    });
    render_group(&row.resource, &row.id.to_string(), &meta, members)
}

pub fn actor(ctx: &TenantCtx) -> Actor {
    Actor {
        tenant_id: ctx.tenant_id,
        actor: ctx.actor(),
        request_id: Some(ctx.request_id.clone()),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionQuery {
    attributes: Option<StringOrList>,
    excluded_attributes: Option<StringOrList>,
}

impl ProjectionQuery {
    pub fn parse(&self) -> Result<Projection, Error> {
        Projection::parse(self.attributes.as_ref(), self.excluded_attributes.as_ref())
    }

    /// Whether the query names attributes to show or to leave out (RFC 7644 §3.9), so
    /// asks for a resource in the answer.
    pub fn asks_for_attributes(&self) -> bool {
        self.attributes.is_some() || self.excluded_attributes.is_some()
    }
}

/// 204 No Content with the resource's new `ETag` (RFC 7644 §3.14): a write answered
/// without a body.
pub fn no_content(version: i64) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::ETAG, etag(version)))
        .finish()
}

/// The response to a PUT: the resource, or nothing when the client asked for
/// `Prefer: return=minimal`.
pub fn updated(req: &HttpRequest, version: i64, body: &Value) -> HttpResponse {
    if prefer_return(req) == Some(Return::Minimal) {
        return no_content(version);
    }
    resource(StatusCode::OK, body, version)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{prefer_return, Return};

    fn prefer(values: &[&str]) -> Option<Return> {
        let mut req = TestRequest::default();
        for v in values {
            req = req.append_header(("prefer", *v));
        }
        prefer_return(&req.to_http_request())
    }

    #[test]
    fn the_return_preference_is_read_in_any_case_with_parameters_and_quotes() {
        assert_eq!(prefer(&[]), None);
        assert_eq!(prefer(&["return=minimal"]), Some(Return::Minimal));
        assert_eq!(
            prefer(&["Return=Representation"]),
            Some(Return::Representation)
        );
        assert_eq!(
            prefer(&["respond-async, return=\"minimal\"; foo=bar"]),
            Some(Return::Minimal)
        );
        assert_eq!(prefer(&["handling=lenient"]), None);
        assert_eq!(prefer(&["return=everything"]), None);
    }

    #[test]
    fn only_the_first_return_preference_counts() {
        assert_eq!(
            prefer(&["return=representation, return=minimal"]),
            Some(Return::Representation)
        );
        assert_eq!(
            prefer(&["return=minimal", "return=representation"]),
            Some(Return::Minimal)
        );
    }
}
