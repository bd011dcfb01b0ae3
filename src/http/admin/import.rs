//! `POST /admin/v1/tenants/{slug}/people/import?dry_run=`: a CSV file, streamed from the
//! request body into the import on a database thread, never held whole.

use std::io::{self, Read};

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{post, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use super::doc::{Conflict, UnsupportedMediaType};
use super::{Reply, TenantPath};
use crate::error::Error;
use crate::http::extract::{AdminCtx, OnTenant};
use crate::http::AppState;
use crate::provisioning::admin;
use crate::provisioning::import::{self, Outcome, RowNote, Summary};

/// The largest file: 100,000 rows of ordinary people fit in well under half of it.
pub const MAX_CSV_BYTES: usize = 32 * 1024 * 1024;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportQuery {
    /// Check the file and report what would change without changing anything
    #[serde(default)]
    #[param(default = false)]
    dry_run: bool,
}

/// A row the summary tells about
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RowMessage {
    /// The header is row 1
    #[schema(minimum = 1)]
    row: u64,
    message: String,
}

/// What an import did, or what a dry run would do
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ImportSummary {
    dry_run: bool,
    /// Data rows read (blank rows are not counted)
    rows: u64,
    created: usize,
    updated: usize,
    unchanged: usize,
    /// Rows whose person another source manages: left as they are
    skipped: Vec<RowMessage>,
    errors: Vec<RowMessage>,
    /// Errors and skips beyond the first 1,000 of each, counted but not listed
    not_listed: usize,
}

impl From<Summary> for ImportSummary {
    fn from(s: Summary) -> Self {
        let Summary {
            dry_run,
            rows,
            created,
            updated,
            unchanged,
            skipped,
            errors,
            not_listed,
        } = s;
        let rows_of = |notes: Vec<RowNote>| {
            notes
                .into_iter()
                .map(|RowNote { row, message }| RowMessage { row, message })
                .collect()
        };
        Self {
            dry_run,
            rows,
            created,
            updated,
            unchanged,
            skipped: rows_of(skipped),
            errors: rows_of(errors),
            not_listed,
        }
    }
}

/// Why the body stopped before its end.
#[derive(Debug)]
enum BodyFailure {
    TooLarge,
    Broken(String),
}

impl std::fmt::Display for BodyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyFailure::TooLarge => write!(f, "the file is larger than {MAX_CSV_BYTES} bytes"),
            BodyFailure::Broken(e) => write!(f, "the request body broke off: {e}"),
        }
    }
}

impl std::error::Error for BodyFailure {}

fn too_large() -> Error {
    Error::PayloadTooLarge(format!(
        "the file is larger than {} MiB; split it (at most {} rows per file)",
        MAX_CSV_BYTES / (1024 * 1024),
        import::MAX_ROWS
    ))
}

/// The body's chunks, as `Read` for the import's thread. Blocks that thread (a blocking
/// pool thread, never an async worker) until the next chunk arrives.
struct ChannelReader {
    rx: mpsc::Receiver<Result<Bytes, BodyFailure>>,
    buf: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.buf.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(chunk)) => self.buf = chunk,
                Some(Err(failure)) => return Err(io::Error::other(failure)),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

fn failure_of(e: &io::Error) -> Option<Error> {
    match e.get_ref()?.downcast_ref::<BodyFailure>()? {
        BodyFailure::TooLarge => Some(too_large()),
        BodyFailure::Broken(m) => Some(Error::BadRequest(format!(
            "the request body broke off: {m}"
        ))),
    }
}

/// `text/csv`, with no charset or UTF-8.
fn check_content_type(req: &HttpRequest) -> Result<(), Error> {
    let raw = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = raw.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    if essence != "text/csv" {
        return Err(Error::UnsupportedMediaType(format!(
            "send the file as text/csv, not `{}`",
            raw.chars().take(80).collect::<String>()
        )));
    }
    for param in parts {
        if let Some((k, v)) = param.split_once('=') {
            let v = v.trim().trim_matches('"').to_ascii_lowercase();
            if k.trim().eq_ignore_ascii_case("charset") && v != "utf-8" && v != "utf8" {
                return Err(Error::UnsupportedMediaType(format!(
                    "the file must be UTF-8, not {v}; save it as CSV UTF-8"
                )));
            }
        }
    }
    Ok(())
}

/// Create and update people from a CSV file
///
/// UTF-8, with or without a byte order mark, with a header row. Columns: `email`
/// (required), `given_name`, `family_name`, `display_name`, `department`, `manager_email`.
/// At most 100,000 rows and 32 MiB. Row numbers in the answer count the header as row 1. A
/// real import with any row error applies nothing and answers 422 with the same summary; a
/// dry run applies nothing and reports what would happen.
#[utoipa::path(
    operation_id = "importPeople",
    params(TenantPath, ImportQuery),
    request_body(
        content = String,
        content_type = "text/csv",
        example = "email,given_name,family_name,display_name,department,manager_email\nada@acme.example,Ada,Lovelace,Ada Lovelace,Engineering,grace@acme.example\ngrace@acme.example,Grace,Hopper,,Engineering,\n"
    ),
    responses(
        (
            status = 200,
            description = "Imported, or what a dry run would do",
            body = ImportSummary,
            example = json!({
                "dry_run": true, "rows": 2, "created": 2, "updated": 0, "unchanged": 0,
                "skipped": [], "errors": [], "not_listed": 0
            })
        ),
        (status = 409, response = Conflict),
        (status = 415, response = UnsupportedMediaType),
        (
            status = 422,
            description = "A row has an error; nothing was applied",
            body = ImportSummary,
            example = json!({
                "dry_run": false, "rows": 1, "created": 0, "updated": 0, "unchanged": 0,
                "skipped": [], "errors": [{"row": 3, "message": "email is missing"}],
                "not_listed": 0
            })
        ),
    )
)]
#[post("/tenants/{slug}/people/import")]
pub(super) async fn import_people(
    on: OnTenant<AdminCtx>,
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Reply {
    check_content_type(&req)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_CSV_BYTES) {
        return Err(too_large().into());
    }
    let dry_run = query.dry_run;
    let now = state.clock.now();
    let (tx, rx) = mpsc::channel::<Result<Bytes, BodyFailure>>(16);
    let pump = async move {
        let mut total = 0usize;
        while let Some(chunk) = payload.next().await {
            let message = match chunk {
                Ok(bytes) => {
                    total += bytes.len();
                    if total > MAX_CSV_BYTES {
                        Err(BodyFailure::TooLarge)
                    } else {
                        Ok(bytes)
                    }
                }
                Err(e) => Err(BodyFailure::Broken(e.to_string())),
            };
            let last = message.is_err();
            // The import stopped reading (a refused header, say): stop sending.
            if tx.send(message).await.is_err() || last {
                break;
            }
        }
    };
    let reader = ChannelReader {
        rx,
        buf: Bytes::new(),
    };
    let request_id = Some(on.who.request_id).filter(|r| !r.is_empty());
    let run = admin::import_csv(
        &state.db, on.slug, request_id, reader, dry_run, now, failure_of,
    );
    let ((), outcome) = futures_util::future::join(pump, run).await;
    match outcome? {
        Outcome::Done(summary) => Ok(HttpResponse::Ok().json(ImportSummary::from(summary))),
        Outcome::Refused(summary) => {
            Ok(HttpResponse::UnprocessableEntity().json(ImportSummary::from(summary)))
        }
    }
}
