//! The console's static files, compiled into the binary: no CDN, no build step.
//!
//! `htmx-2.0.11.min.js` is htmx 2.0.11, `dist/htmx.min.js` of the npm package
//! `htmx.org@2.0.11` (`npm pack htmx.org@2.0.11`; SHA-256 of the file
//! d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717), unchanged. The page
//! sets htmx's configuration in a `<meta>` so it neither injects inline styles nor
//! evaluates code, which the Content-Security-Policy would refuse.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::error::{ConsoleError, Error};

pub const HTMX: &str = "htmx-2.0.11.min.js";

const FILES: [(&str, &str, &str); 3] = [
    (
        HTMX,
        "text/javascript; charset=utf-8",
        include_str!("assets/htmx-2.0.11.min.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_str!("assets/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_str!("assets/console.css"),
    ),
];

pub async fn serve(name: web::Path<String>) -> Result<HttpResponse, ConsoleError> {
    let name = name.into_inner();
    let (_, kind, body) = FILES
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| Error::NotFound(format!("no console asset `{name}`")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, *kind))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*body))
}
