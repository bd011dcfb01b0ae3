//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`,
//! describing exactly what this server supports. GET only.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::common::{base_url, scim, LIST_RESPONSE};
use super::params::DEFAULT_COUNT;
use std::sync::PoisonError;

use crate::error::{Error, SCIM_CONTENT_TYPE};
use crate::http::extract::TenantCtx;
use crate::http::AppState;
use crate::scim::schema::{ALL_RESOURCE_TYPES, ALL_SCHEMAS};

type Reply = Result<HttpResponse, Error>;

/// RFC 7643 §5, with RFC 9865's `pagination`.
pub fn service_provider_config(state: &AppState, base: &str) -> Value {
    let s = &state.settings;
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": s.bulk_max_operations,
            "maxPayloadSize": s.bulk_max_payload,
        },
        "filter": {"supported": true, "maxResults": s.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": DEFAULT_COUNT.min(s.max_results),
            "maxPageSize": s.max_results,
        },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A per-tenant bearer token: Authorization: Bearer scimd_<key id>_<secret>",
            "specUri": "https://datatracker.ietf.org/doc/html/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

pub async fn config(_ctx: TenantCtx, state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let base = base_url(&req, &state);
    // The body only changes with the base URL: built once per base, then served as is.
    let cached = {
        let cache = state
            .spc_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        cache
            .as_ref()
            .filter(|(b, _)| *b == base)
            .map(|(_, body)| body.clone())
    };
    let body = match cached {
        Some(body) => body,
        None => {
            let body = service_provider_config(&state, &base).to_string();
            let mut cache = state
                .spc_cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            *cache = Some((base, body.clone()));
            body
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(SCIM_CONTENT_TYPE)
        .body(body))
}

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": resources.len(),
        "itemsPerPage": resources.len(),
        "startIndex": 1,
        "Resources": resources,
    })
}

pub async fn resource_types(
    _ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Reply {
    let base = base_url(&req, &state);
    Ok(scim(
        StatusCode::OK,
        &list(
            ALL_RESOURCE_TYPES
                .iter()
                .map(|rt| rt.to_json(&base))
                .collect(),
        ),
    ))
}

pub async fn resource_type(
    _ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Reply {
    let base = base_url(&req, &state);
    ALL_RESOURCE_TYPES
        .iter()
        .find(|rt| rt.name.eq_ignore_ascii_case(&id))
        .map(|rt| scim(StatusCode::OK, &rt.to_json(&base)))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no resource type `{}`",
                id.chars().take(64).collect::<String>()
            ))
        })
}

pub async fn schemas(_ctx: TenantCtx, state: web::Data<AppState>, req: HttpRequest) -> Reply {
    let base = base_url(&req, &state);
    Ok(scim(
        StatusCode::OK,
        &list(ALL_SCHEMAS.iter().map(|s| s.to_json(&base)).collect()),
    ))
}

pub async fn schema(
    _ctx: TenantCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Reply {
    let base = base_url(&req, &state);
    ALL_SCHEMAS
        .iter()
        .find(|s| s.id.eq_ignore_ascii_case(&id))
        .map(|s| scim(StatusCode::OK, &s.to_json(&base)))
        .ok_or_else(|| {
            Error::NotFound(format!(
                "no schema `{}`",
                id.chars().take(200).collect::<String>()
            ))
        })
}
