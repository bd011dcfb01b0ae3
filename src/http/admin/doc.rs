//! `/admin/v1/openapi.json`, generated from the routes as they are registered.
//!
//! Every admin route is registered through `utoipa_actix_web`: `service(handler)` takes a
//! handler that carries both its actix route (`#[get("/tenants")]`) and its
//! `#[utoipa::path]` description, registers the one and documents the other, so the
//! document's paths are the registered routes. The scope is then guarded: a request reaches
//! a handler only when the document has an operation for its method and route; anything
//! else (a route registered around `service`, say) answers 405 or 404. The tests check both
//! directions against the router itself.
//!
//! The guard also checks the admin key of every operation that needs one, before the
//! handler reads anything else: a request with no key or a bad one answers 401 whatever its
//! query, path or body hold.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{HttpServiceFactory, ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, HttpMessage, HttpResponse, ResponseError};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::OpenApiFactory;

use crate::error::{AdminError, Error, Problem, PrunedProblem, PROBLEM_CONTENT_TYPE};
use crate::http::extract::AdminCtx;
use crate::http::middleware::GuardedRoute;

/// Where the admin API is mounted; the document's paths are relative to it.
pub const PREFIX: &str = "/admin/v1";

const DESCRIPTION: &str = "\
Operator API of scimd. Every call needs an admin key: `Authorization: Bearer \
scimd_<key id>_<secret>` (issue one with `scimd admin-key issue`). A call without a valid \
key answers 401 whatever else it holds: the key is checked before its query, path or body.

Lists answer `{\"items\": [...], \"next_cursor\": \"…\" | null}`; pass `cursor` to get the \
next page. The event feed pages by `after` and `next_after` instead of a cursor.

Errors are RFC 9457 problem details (`application/problem+json`): `{\"type\", \"title\", \
\"status\", \"detail\", \"error\"}`. `type` is `https://scimd.dev/problems/` followed by the \
error code with `-` for `_` (`https://scimd.dev/problems/not-found`); `error` is the code \
itself (`not_found`). An unknown id, one that is not a UUID or one of another tenant answers \
404. A method a path does not have answers 405 with `Allow`.

Each tenant's SCIM endpoints (not this API) are rate limited by a token bucket, 100 requests \
a second with bursts of 200 unless the tenant's `rate_limit` says otherwise; beyond it they \
answer 429 with `Retry-After` and a SCIM error body.";

#[derive(OpenApi)]
#[openapi(
    info(title = "scimd admin API", version = "1", description = DESCRIPTION),
    servers((url = "/admin/v1")),
    security(("adminKey" = [])),
    components(
        schemas(Problem, PrunedProblem),
        responses(
            BadRequest,
            Unauthorized,
            NotFound,
            Conflict,
            PayloadTooLarge,
            EventsPruned,
            UnsupportedMediaType,
            Unavailable,
            OtherProblem
        )
    ),
    modifiers(&AdminKey)
)]
struct ApiDoc;

/// The `adminKey` security scheme every operation but the document itself requires.
struct AdminKey;

impl Modify for AdminKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "adminKey",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An admin key, `scimd_<key id>_<secret>`"))
                    .build(),
            ),
        );
    }
}

/// The answers an operation gives by its shape, written here once rather than beside each
/// handler: every operation that needs an admin key, 401 (no or a bad key), 503 (the
/// database is unreachable) and the rest (`default`); one with a request body or query
/// parameters, 400 (malformed); one with a body, 413 (too large); one with path
/// parameters (a tenant, an id), 404 (nothing by that name). A handler lists only the
/// answers of its own (a 409, say).
fn add_common_responses(api: &mut utoipa::openapi::OpenApi) {
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in operations.into_iter().flatten() {
            // `security(())` marks the one operation open to all (the document itself).
            if op.security.is_some() {
                continue;
            }
            let given = |place: ParameterIn| {
                op.parameters
                    .iter()
                    .flatten()
                    .any(|p| p.parameter_in == place)
            };
            let body = op.request_body.is_some();
            let by_shape = [
                (body || given(ParameterIn::Query), "400", "BadRequest"),
                (given(ParameterIn::Path), "404", "NotFound"),
                (body, "413", "PayloadTooLarge"),
                (true, "401", "Unauthorized"),
                (true, "503", "Unavailable"),
                (true, "default", "OtherProblem"),
            ];
            for (_, status, name) in by_shape.into_iter().filter(|(applies, ..)| *applies) {
                op.responses
                    .responses
                    .entry(status.to_owned())
                    .or_insert_with(|| Ref::from_response_name(name).into());
            }
        }
    }
}

/// A response whose body is a [`Problem`].
fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_CONTENT_TYPE,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(Problem::name())))
            .build(),
    )
}

fn retry_after(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(<u64 as utoipa::PartialSchema>::schema())
        .description(Some(description))
        .build()
}

/// The error responses, defined once under `components/responses` and referenced by the
/// operations (`(status = 409, response = Conflict)`, or by [`add_common_responses`]).
macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $build:expr;)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl<'r> utoipa::ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                (stringify!($name), $build.build().into())
            }
        }
    )+};
}

problem_responses! {
    /// 400.
    BadRequest => problem_response(
        "The request is malformed or holds an invalid value (`invalid_syntax`, \
         `invalid_value`, `bad_request`); nothing was changed"
    );
    /// 401.
    Unauthorized => problem_response(
        "No admin key, or one that is unknown, expired or revoked"
    )
    .header(
        "WWW-Authenticate",
        HeaderBuilder::new()
            .schema(<String as utoipa::PartialSchema>::schema())
            .description(Some("`Bearer realm=\"scimd\"`"))
            .build(),
    );
    /// 404.
    NotFound => problem_response(
        "No such tenant, or nothing with that id in the tenant: an unknown id, one that is \
         not a UUID or one of another tenant"
    );
    /// 409.
    Conflict => problem_response(
        "The request clashes with the tenant's people or state (`uniqueness`, `conflict`); \
         nothing was changed"
    );
    /// 410.
    EventsPruned => ResponseBuilder::new()
        .description(
            "Events after the given `after` were pruned (events are kept for \
             `SCIMD_EVENT_RETENTION`): `resume_after` says where the feed goes on, `oldest_id` \
             is the oldest event still kept",
        )
        .content(
            PROBLEM_CONTENT_TYPE,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name(PrunedProblem::name())))
                .build(),
        );
    /// 413.
    PayloadTooLarge => problem_response("The request body is larger than the server takes");
    /// 415.
    UnsupportedMediaType => problem_response("The request body is not of a type this operation reads");
    /// 503.
    Unavailable => problem_response(
        "The database is unreachable, or a concurrent change collided with this one; \
         nothing was applied; retry"
    )
    .header("Retry-After", retry_after("Seconds to wait before retrying"));
    /// Any other status.
    OtherProblem => problem_response(
        "Any other error, as a problem: 431 when the request headers are too large, 500 when \
         the server failed"
    );
}

/// The served document and, for the guard, the methods it has for each route.
pub struct Document {
    json: String,
    /// Each route's operations: the method, and whether it needs an admin key.
    methods: HashMap<String, Vec<(Method, bool)>>,
}

impl Document {
    fn new(api: &utoipa::openapi::OpenApi) -> Self {
        let json = match api.to_pretty_json() {
            Ok(json) => json,
            // The document is made of plain values: it serializes. Should it ever fail, the
            // server still answers, with a document that says so.
            Err(e) => {
                tracing::error!(error = %e, "cannot write the admin OpenAPI document");
                String::from("{}")
            }
        };
        let methods = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| (format!("{PREFIX}{path}"), methods_of(item)))
            .collect();
        Self { json, methods }
    }

    pub fn json(&self) -> &str {
        &self.json
    }
}

fn methods_of(item: &PathItem) -> Vec<(Method, bool)> {
    [
        (&item.get, Method::GET),
        (&item.put, Method::PUT),
        (&item.post, Method::POST),
        (&item.delete, Method::DELETE),
        (&item.options, Method::OPTIONS),
        (&item.head, Method::HEAD),
        (&item.patch, Method::PATCH),
        (&item.trace, Method::TRACE),
    ]
    .into_iter()
    // `security(())` marks the one operation open to all; the rest take the document's
    // `adminKey`.
    .filter_map(|(op, method)| op.as_ref().map(|op| (method, op.security.is_none())))
    .collect()
}

/// Registers the admin routes `configure` gives in a scope at [`PREFIX`], and returns the
/// scope with the document that registering them wrote.
pub(super) fn register(
    configure: fn(&mut ServiceConfig),
) -> (
    utoipa_actix_web::scope::Scope<
        impl ServiceFactory<
                ServiceRequest,
                Config = (),
                Response = ServiceResponse,
                Error = actix_web::Error,
                InitError = (),
                Service: 'static,
            > + 'static,
    >,
    utoipa::openapi::OpenApi,
) {
    // Built from an actix scope, the utoipa scope does not prefix the paths it documents:
    // they stay relative to the document's server URL.
    let scope = utoipa_actix_web::scope(web::scope(PREFIX)).configure(configure);
    let mut api = ApiDoc::openapi();
    // The base document declares no paths: they are only those registration wrote.
    api.paths = scope.paths();
    add_common_responses(&mut api);
    let mut schemas = Vec::new();
    scope.schemas(&mut schemas);
    api.components
        .get_or_insert_with(Default::default)
        .schemas
        .extend(schemas);
    (scope, api)
}

/// The admin scope: the routes `configure` registers, their document (served by the
/// `openapi.json` route through app data) and the guard that lets through only what the
/// document describes.
pub(super) fn service(configure: fn(&mut ServiceConfig)) -> impl HttpServiceFactory {
    let (scope, api) = register(configure);
    let document = Arc::new(Document::new(&api));
    let guard_document = document.clone();
    scope
        .app_data(web::Data::from(document))
        .app_data(web::QueryConfig::default().error_handler(|e, _| {
            AdminError(Error::InvalidValue(format!("invalid query string: {e}"))).into()
        }))
        .default_service(web::to(no_such_endpoint))
        .wrap(from_fn(move |req: ServiceRequest, next: Next<_>| {
            documented_only(guard_document.clone(), req, next)
        }))
}

async fn no_such_endpoint() -> Result<HttpResponse, AdminError> {
    Err(Error::NotFound("no such admin endpoint".into()).into())
}

/// Lets a request through when the document has an operation for its method and route,
/// with the admin key checked first when the operation needs one. The route is the first
/// registered pattern that matches the path, whatever its method, so a path answers 405
/// for the methods its route lacks, as an actix resource does.
async fn documented_only(
    document: Arc<Document>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let route = req.match_pattern();
    let methods = route.as_ref().and_then(|r| document.methods.get(r));
    let operation = methods.and_then(|ms| ms.iter().find(|(m, _)| m == req.method()));
    let refusal = match (operation, methods) {
        (Some(&(_, keyed)), _) => {
            // Checked here rather than beside the handler's other arguments, which actix
            // extracts together: a malformed query would otherwise answer 400 while the key
            // was still being checked.
            let checked = match keyed {
                true => AdminCtx::extract(req.request()).await.map(Some),
                false => Ok(None),
            };
            match checked {
                Err(e) => {
                    if let Some(route) = route {
                        req.extensions_mut().insert(GuardedRoute(route));
                    }
                    e.error_response()
                }
                Ok(admin) => {
                    if let Some(admin) = admin {
                        req.extensions_mut().insert(admin);
                    }
                    return next
                        .call(req)
                        .await
                        .map(ServiceResponse::map_into_left_body);
                }
            }
        }
        (None, Some(methods)) => {
            let allow = methods
                .iter()
                .map(|(m, _)| m.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            let mut res = AdminError(Error::MethodNotAllowed(format!(
                "{} is not a method of this endpoint; it has {allow}",
                req.method()
            )))
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, value);
            }
            res
        }
        (None, None) => {
            if let Some(route) = &route {
                tracing::error!(%route, "refused a request to an admin route the document lacks");
            }
            AdminError(Error::NotFound("no such admin endpoint".into())).error_response()
        }
    };
    Ok(req.into_response(refusal).map_into_right_body())
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Mutex;

    use actix_web::test as web_test;
    use actix_web::App;
    use serde_json::Value;

    use super::*;
    use crate::http::middleware::route_of;

    type Operation = (String, String);

    const UNROUTED: &str = "x-unrouted";

    const METHODS: [Method; 8] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
    ];

    async fn ok() -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    /// (method, route) of every operation of a document.
    fn documented(api: &utoipa::openapi::OpenApi) -> BTreeSet<Operation> {
        api.paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                methods_of(item)
                    .into_iter()
                    .map(move |(m, _)| (m.to_string(), format!("{PREFIX}{path}")))
            })
            .collect()
    }

    /// Every path pattern actix registered, at any depth, as its resource map prints them.
    /// Test-only: actix lists its routes nowhere else.
    fn registered_patterns(resource_map: &str) -> BTreeSet<String> {
        resource_map
            .split("patterns: Single(\"")
            .skip(1)
            .filter_map(|rest| rest.split("\")").next())
            .map(str::to_owned)
            .collect()
    }

    fn fill(pattern: &str) -> String {
        pattern
            .replace("{slug}", "acme")
            .replace("{id}", "7d4c2e9a-1b3f-4a6e-8c5d-9e0f1a2b3c4d")
            .replace("{key_id}", "k1")
    }

    /// (method, route) of every request a handler answered: each pattern actix registered
    /// (and each documented one), under the admin scope, asked with every method, with no
    /// guard in front. The app has no state, so handlers fail, but they answer; a request
    /// no route takes reaches the default service, which marks its answer.
    async fn answered(
        scope: impl HttpServiceFactory + 'static,
        api: &utoipa::openapi::OpenApi,
    ) -> BTreeSet<Operation> {
        let seen: Arc<Mutex<Vec<Operation>>> = Arc::default();
        let routes: Arc<Mutex<String>> = Arc::default();
        let (record, dump) = (seen.clone(), routes.clone());
        let app = web_test::init_service(
            App::new()
                .wrap(from_fn(move |req: ServiceRequest, next: Next<_>| {
                    let (record, dump) = (record.clone(), dump.clone());
                    async move {
                        *dump.lock().unwrap() = format!("{:?}", req.request().resource_map());
                        let res = next.call(req).await?;
                        let route = route_of(res.request());
                        if !res.headers().contains_key(UNROUTED) {
                            record
                                .lock()
                                .unwrap()
                                .push((res.request().method().to_string(), route));
                        }
                        Ok(res)
                    }
                }))
                .service(scope)
                .default_service(web::to(|| async {
                    HttpResponse::NotFound()
                        .insert_header((UNROUTED, "1"))
                        .finish()
                })),
        )
        .await;
        let probe = web_test::TestRequest::get().uri("/").to_request();
        web_test::call_service(&app, probe).await;
        let mut patterns = registered_patterns(&routes.lock().unwrap());
        assert!(patterns.contains("/tenants/{slug}"), "{patterns:?}");
        patterns.extend(
            documented(api)
                .into_iter()
                .map(|(_, route)| route.strip_prefix(PREFIX).unwrap_or(&route).to_owned()),
        );
        for pattern in &patterns {
            for method in METHODS {
                let req = web_test::TestRequest::default()
                    .method(method)
                    .uri(&format!("{PREFIX}{}", fill(pattern)))
                    .to_request();
                web_test::call_service(&app, req).await;
            }
        }
        let seen = seen.lock().unwrap();
        seen.iter().cloned().collect()
    }

    #[actix_web::test]
    async fn the_registered_routes_are_the_documented_ones() {
        let (scope, api) = register(super::super::configure);
        let documented = documented(&api);
        assert!(documented.len() >= 23, "{documented:?}");
        let answered = answered(scope, &api).await;
        let undocumented: Vec<_> = answered.difference(&documented).collect();
        let unanswered: Vec<_> = documented.difference(&answered).collect();
        assert!(
            undocumented.is_empty() && unanswered.is_empty(),
            "routes without documentation: {undocumented:?}; \
             documented operations no route answers: {unanswered:?}"
        );
    }

    /// The walk above sees a route registered around `service` and a documented operation
    /// that has no route.
    #[actix_web::test]
    async fn the_walk_sees_undocumented_routes_and_routeless_documents() {
        let (scope, api) = register(|cfg| {
            super::super::configure(cfg);
            cfg.route("/hidden", web::get().to(ok));
            cfg.map(|c| c.route("/tenants", web::put().to(ok)));
        });
        let extra = answered(scope, &api).await;
        let missing: Vec<_> = extra.difference(&documented(&api)).cloned().collect();
        assert_eq!(
            missing,
            [
                ("GET".to_owned(), format!("{PREFIX}/hidden")),
                ("PUT".to_owned(), format!("{PREFIX}/tenants")),
            ]
        );

        let (scope, mut api) = register(super::super::configure);
        let item = api.paths.paths.get("/tenants").cloned().unwrap();
        api.paths.paths.insert("/ghost".to_owned(), item);
        let answered = answered(scope, &api).await;
        let ghosts: Vec<_> = documented(&api).difference(&answered).cloned().collect();
        assert_eq!(
            ghosts,
            [
                ("GET".to_owned(), format!("{PREFIX}/ghost")),
                ("POST".to_owned(), format!("{PREFIX}/ghost")),
            ]
        );
    }

    /// In the app, a route the document lacks is refused even when it is registered.
    #[actix_web::test]
    async fn the_guard_refuses_what_the_document_lacks() {
        let app = web_test::init_service(App::new().service(service(|cfg| {
            super::super::configure(cfg);
            cfg.route("/hidden", web::get().to(ok));
            cfg.map(|c| c.route("/tenants", web::put().to(ok)));
        })))
        .await;
        let call = |method: Method, path: &str| {
            web_test::TestRequest::default()
                .method(method)
                .uri(&format!("{PREFIX}{path}"))
                .to_request()
        };
        let res = web_test::call_service(&app, call(Method::GET, "/hidden")).await;
        assert_eq!(res.status(), 404);
        let res = web_test::call_service(&app, call(Method::PUT, "/tenants")).await;
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers().get(header::ALLOW).unwrap(), "GET, POST");
        assert_eq!(
            res.headers().get(header::CONTENT_TYPE).unwrap(),
            PROBLEM_CONTENT_TYPE
        );
        let res = web_test::call_service(&app, call(Method::GET, "/openapi.json")).await;
        assert_eq!(res.status(), 200);
        let doc: Value = web_test::read_body_json(res).await;
        assert!(doc["paths"].get("/hidden").is_none());
    }

    fn document() -> Value {
        let (_, api) = register(super::super::configure);
        serde_json::to_value(&api).unwrap()
    }

    /// Names of the component schemas `node` refers to, and those they refer to in turn.
    fn referenced(doc: &Value, node: &Value, out: &mut BTreeSet<String>) {
        match node {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if out.insert(name.to_owned()) {
                        referenced(doc, &doc["components"]["schemas"][name], out);
                    }
                }
                map.values().for_each(|v| referenced(doc, v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| referenced(doc, v, out)),
            _ => {}
        }
    }

    /// Every object schema below `node` (component or inline) closed with
    /// `additionalProperties: false`, but for the named open ones.
    fn assert_closed(name: &str, node: &Value, open: &[&str]) {
        if let Value::Object(map) = node {
            if map.contains_key("properties") && !open.contains(&name) {
                assert_eq!(
                    map.get("additionalProperties"),
                    Some(&Value::Bool(false)),
                    "{name} is not closed: {node}"
                );
            }
            for (key, v) in map {
                assert_closed(&format!("{name}.{key}"), v, open);
            }
        }
    }

    /// Request and response objects are closed, so an unknown field fails validation, and
    /// a response object requires every field it has, since the handlers always write
    /// every field (`null` when empty).
    #[test]
    fn the_documented_objects_are_closed_and_responses_complete() {
        let doc = document();
        // SCIM values a person passes on as the identity source gave them.
        let open = ["Email", "Name"];
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            assert_closed(name, schema, &open);
        }
        let mut answers = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                referenced(&doc, &op["responses"], &mut answers);
            }
        }
        for response in doc["components"]["responses"].as_object().unwrap().values() {
            referenced(&doc, response, &mut answers);
        }
        assert!(
            answers.contains("Tenant") && answers.contains("Problem"),
            "{answers:?}"
        );
        for name in answers.iter().filter(|n| !open.contains(&n.as_str())) {
            let schema = &doc["components"]["schemas"][name];
            let Some(properties) = schema["properties"].as_object() else {
                continue;
            };
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for field in properties.keys() {
                assert!(
                    required.contains(field.as_str()),
                    "{name}.{field} is optional"
                );
            }
        }
    }

    fn refs<'a>(node: &'a Value, out: &mut Vec<&'a str>) {
        match node {
            Value::Object(map) => {
                out.extend(map.get("$ref").and_then(Value::as_str));
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    /// A schema used only by a parameter is not collected with the operations' schemas:
    /// every `$ref` must point at something the document has.
    #[test]
    fn every_reference_resolves() {
        let doc = document();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 40, "{found:?}");
        for r in found {
            let target = r.strip_prefix('#').and_then(|p| doc.pointer(p));
            assert!(target.is_some(), "dangling $ref {r}");
        }
    }

    #[test]
    fn every_operation_is_named_summarised_and_has_its_errors_by_reference() {
        let doc = document();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default();
                assert!(
                    ids.insert(id.to_owned()),
                    "{method} {path}: operationId `{id}`"
                );
                assert!(op["summary"].is_string(), "{method} {path}: no summary");
                let placeholders: BTreeSet<&str> = path
                    .split('{')
                    .skip(1)
                    .filter_map(|s| s.split('}').next())
                    .collect();
                let in_path: BTreeSet<&str> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                assert_eq!(placeholders, in_path, "{method} {path}: path parameters");
                for (status, response) in op["responses"].as_object().unwrap() {
                    if status.starts_with('4') && status != "422" || status.starts_with('5') {
                        assert!(
                            response["$ref"]
                                .as_str()
                                .is_some_and(|r| r.starts_with("#/components/responses/")),
                            "{method} {path} {status}: {response}"
                        );
                    }
                }
                if path != "/openapi.json" {
                    assert_eq!(
                        op["responses"]["401"]["$ref"], "#/components/responses/Unauthorized",
                        "{method} {path}"
                    );
                }
            }
        }
    }
}
