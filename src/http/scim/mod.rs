//! The SCIM 2.0 surface under `/scim/v2` (RFC 7644).

use std::sync::LazyLock;

use actix_web::{web, HttpResponse};
use serde_json::json;

use super::extract::TenantCtx;
use crate::error::{Error, SCIM_CONTENT_TYPE};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/ServiceProviderConfig")
            .route(web::get().to(service_provider_config))
            .default_service(web::to(method_not_allowed)),
    )
    .default_service(web::to(not_found));
}

/// RFC 7643 §5. A fixed body for now: it advertises nothing beyond what is served.
async fn service_provider_config(_ctx: TenantCtx) -> HttpResponse {
    static BODY: LazyLock<String> = LazyLock::new(service_provider_config_body);
    HttpResponse::Ok()
        .content_type(SCIM_CONTENT_TYPE)
        .body(BODY.as_str())
}

fn service_provider_config_body() -> String {
    json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
            "patch": {"supported": false},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": false, "maxResults": 0},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with a per-tenant bearer token (scimd_<key id>_<secret>)",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig"}
        })
        .to_string()
}

async fn method_not_allowed(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed(
        "this endpoint does not support that method".into(),
    ))
}

async fn not_found(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::NotFound("no such SCIM endpoint".into()))
}
