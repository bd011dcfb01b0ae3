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
    cfg.service(collection::<Users>("/Users"))
        .service(collection::<Users>("/Users/"))
        .service(
            web::resource("/Users/.search")
                .route(web::post().to(resources::search::<Users>))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/Users/{id}")
                .route(web::get().to(resources::get::<Users>))
                .route(web::put().to(resources::replace::<Users>))
                .route(web::patch().to(resources::patch::<Users>))
                .route(web::delete().to(resources::delete::<Users>))
                .default_service(web::to(method_not_allowed)),
        )
        .service(collection::<Groups>("/Groups"))
        .service(collection::<Groups>("/Groups/"))
        .service(
            web::resource("/Groups/.search")
                .route(web::post().to(resources::search::<Groups>))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource("/Groups/{id}")
                .route(web::get().to(resources::get::<Groups>))
                .route(web::put().to(resources::replace::<Groups>))
                .route(web::patch().to(resources::patch::<Groups>))
                .route(web::delete().to(resources::delete::<Groups>))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
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

/// GET (list) and POST (create) on a resource type's collection.
fn collection<R: resources::Resource + 'static>(path: &str) -> actix_web::Resource {
    web::resource(path)
        .route(web::get().to(resources::list::<R>))
        .route(web::post().to(resources::create::<R>))
        .default_service(web::to(method_not_allowed))
}

async fn method_not_allowed(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::MethodNotAllowed(
        "this endpoint does not support that method".into(),
    ))
}

async fn not_found(_ctx: TenantCtx) -> Result<HttpResponse, Error> {
    Err(Error::NotFound("no such SCIM endpoint".into()))
}
