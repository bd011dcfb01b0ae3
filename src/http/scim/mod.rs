//! The SCIM 2.0 surface under `/scim/v2` (RFC 7644). Every response is
//! `application/scim+json`; errors are RFC 7644 §3.12 bodies.

mod bulk;
mod common;
mod discovery;
mod groups;
pub mod params;
mod resources;
mod root_search;
mod users;

use actix_web::{web, HttpResponse};

use groups::Groups;
use users::Users;

use crate::error::Error;
use crate::http::extract::TenantCtx;

/// The hot routes first: actix tries a request's path against each route in turn, and a
/// route with a `{id}` segment, or with several paths, is a regex, run for every request
/// that reaches it. A resource type's collection is so two plain routes, with and without
/// the trailing slash.
pub fn configure(cfg: &mut web::ServiceConfig) {
    resource_type::<Users>(cfg, "/Users");
    resource_type::<Groups>(cfg, "/Groups");
    cfg.service(
        web::resource("/Bulk")
            .route(web::post().to(bulk::bulk))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/.search")
            .route(web::post().to(root_search::search))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ServiceProviderConfig")
            .route(web::get().to(discovery::config))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(["/ResourceTypes", "/ResourceTypes/"])
            .route(web::get().to(discovery::resource_types))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/ResourceTypes/{id}")
            .route(web::get().to(discovery::resource_type))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(["/Schemas", "/Schemas/"])
            .route(web::get().to(discovery::schemas))
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource("/Schemas/{id}")
            .route(web::get().to(discovery::schema))
            .default_service(web::to(method_not_allowed)),
    )
    .default_service(web::to(not_found));
}

/// A resource type's endpoints under `base` (RFC 7644 §3.2): its collection (list and
/// create), `.search`, and each resource (read, replace, patch, delete).
fn resource_type<R: resources::Resource + 'static>(cfg: &mut web::ServiceConfig, base: &str) {
    let collection = |path: String| {
        web::resource(path)
            .route(web::get().to(resources::list::<R>))
            .route(web::post().to(resources::create::<R>))
            .default_service(web::to(method_not_allowed))
    };
    cfg.service(collection(base.to_owned()))
        .service(collection(format!("{base}/")))
        .service(
            web::resource(format!("{base}/.search"))
                .route(web::post().to(resources::search::<R>))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(format!("{base}/{{id}}"))
                .route(web::get().to(resources::get::<R>))
                .route(web::put().to(resources::replace::<R>))
                .route(web::patch().to(resources::patch::<R>))
                .route(web::delete().to(resources::delete::<R>))
                .default_service(web::to(method_not_allowed)),
        );
}

async fn method_not_allowed(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed(
        "this endpoint does not support that method".into(),
    ))
}

async fn not_found(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::NotFound("no such SCIM endpoint".into()))
}
