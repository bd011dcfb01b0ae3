//! Request bodies, read with a size limit so an oversized one is refused with the right
//! error shape (SCIM or admin) before it is held in memory.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;

use super::AppState;
use crate::error::{AdminError, Error};

pub(crate) async fn read(req: HttpRequest, mut payload: Payload) -> Result<Bytes, Error> {
    let limit = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.settings.max_body_bytes)
        .unwrap_or(1024 * 1024);
    let too_large =
        || Error::PayloadTooLarge(format!("the request body is larger than {limit} bytes"));
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| Error::InvalidSyntax(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A SCIM request body.
pub struct ScimBody(pub Bytes);

impl FromRequest for ScimBody {
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read(req.clone(), payload.take());
        Box::pin(async move { Ok(ScimBody(fut.await?)) })
    }
}

/// An admin API request body.
pub struct AdminBody(pub Bytes);

impl FromRequest for AdminBody {
    type Error = AdminError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AdminError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let fut = read(req.clone(), payload.take());
        Box::pin(async move { Ok(AdminBody(fut.await?)) })
    }
}
