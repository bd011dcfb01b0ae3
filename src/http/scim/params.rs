//! Query parameters and headers shared by the SCIM handlers: listing (RFC 7644 §3.4.2),
//! projection (§3.4.2.5), cursors (RFC 9865) and versions (§3.14).

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::Error;
use crate::scim::error::ParseError;
use crate::scim::filter::{parse_filter, Filter};
use crate::scim::path::{parse_attr_list, parse_attr_path, AttrPath};
use crate::store::search::Start;
use crate::store::PageSpec;

/// The largest `count` honoured unless configured otherwise (RFC 7644 §3.4.2.4 lets the
/// server cap it).
pub const DEFAULT_COUNT: i64 = 100;

/// The raw parameters, as GET query or POST /.search body (RFC 7644 §3.4.3).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawList {
    pub filter: Option<String>,
    pub attributes: Option<StringOrList>,
    pub excluded_attributes: Option<StringOrList>,
    pub sort_by: Option<String>,
    pub sort_order: Option<String>,
    pub start_index: Option<serde_json::Value>,
    pub count: Option<serde_json::Value>,
    pub cursor: Option<String>,
}

/// `attributes` is a comma-separated string in a query, and an array in a /.search body.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StringOrList {
    One(String),
    Many(Vec<String>),
}

impl StringOrList {
    fn joined(&self) -> String {
        match self {
            StringOrList::One(s) => s.clone(),
            StringOrList::Many(v) => v.join(","),
        }
    }
}

#[derive(Debug, Default)]
pub struct Projection {
    pub attributes: Vec<AttrPath>,
    pub excluded: Vec<AttrPath>,
}

#[derive(Debug)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub projection: Projection,
    pub sort_by: Option<AttrPath>,
    pub descending: bool,
    pub start: Start,
    /// 1-based, as answered in `startIndex`; with a cursor, 1.
    pub start_index: i64,
    pub count: i64,
    /// RFC 9865: the client asked for cursor paging.
    pub cursor: bool,
}

pub fn parse_error(e: ParseError) -> Error {
    match e.scim_type() {
        "invalidPath" => Error::InvalidPath(e.detail()),
        _ => Error::InvalidFilter(e.detail()),
    }
}

/// A number given as a JSON number or a numeric string.
fn int(value: &serde_json::Value, name: &str) -> Result<i64, Error> {
    let parsed = match value {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| Error::InvalidValue(format!("{name} must be an integer")))
}

impl Projection {
    pub fn parse(
        attributes: Option<&StringOrList>,
        excluded: Option<&StringOrList>,
    ) -> Result<Self, Error> {
        let list = |v: Option<&StringOrList>| -> Result<Vec<AttrPath>, Error> {
            match v {
                None => Ok(Vec::new()),
                Some(v) => {
                    parse_attr_list(&v.joined()).map_err(|e| Error::InvalidValue(e.detail()))
                }
            }
        };
        Ok(Self {
            attributes: list(attributes)?,
            excluded: list(excluded)?,
        })
    }
}

/// Does any value in the filter hold U+0000? PostgreSQL text cannot, so such a filter
/// could only fail in the database.
fn has_nul(filter: &Filter) -> bool {
    use crate::scim::filter::{AttrExp, CompValue, LogExp, ValuePath};
    match filter {
        Filter::AttrExp(AttrExp::Compare {
            value: CompValue::String(s),
            ..
        }) => s.contains('\0'),
        Filter::AttrExp(_) => false,
        Filter::LogExp(LogExp { left, right, .. }) => has_nul(left) || has_nul(right),
        Filter::ValuePath(ValuePath { filter, .. }) | Filter::Not(filter) => has_nul(filter),
    }
}

impl ListParams {
    pub fn parse(raw: &RawList, max_count: i64) -> Result<Self, Error> {
        let filter = raw
            .filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(parse_filter)
            .transpose()
            .map_err(parse_error)?;
        if filter.as_ref().is_some_and(has_nul) {
            return Err(Error::InvalidFilter(
                "a filter value contains a NUL character (U+0000)".into(),
            ));
        }
        let projection =
            Projection::parse(raw.attributes.as_ref(), raw.excluded_attributes.as_ref())?;
        let sort_by = raw
            .sort_by
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_attr_path(s.trim()))
            .transpose()
            .map_err(|e| Error::InvalidValue(format!("sortBy: {}", e.detail())))?;
        // RFC 7644 §3.4.2.3: "ascending" by default; anything else is a client error.
        let descending = match raw
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("") | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(Error::InvalidValue(format!(
                    "sortOrder must be `ascending` or `descending`, not `{other}`"
                )))
            }
        };
        // RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a negative count as 0.
        let count = match &raw.count {
            None => DEFAULT_COUNT.min(max_count),
            Some(v) => int(v, "count")?.clamp(0, max_count),
        };
        let (start, start_index, cursor) = match (&raw.cursor, &raw.start_index) {
            (Some(_), Some(_)) => {
                return Err(Error::InvalidValue(
                    "give cursor or startIndex, not both".into(),
                ))
            }
            (Some(c), None) => {
                if sort_by.is_some() {
                    return Err(Error::InvalidValue(
                        "cursor paging follows the default order; it cannot be combined with sortBy".into(),
                    ));
                }
                let start = if c.is_empty() {
                    Start::Offset(0)
                } else {
                    decode_cursor(c)?
                };
                (start, 1, true)
            }
            (None, Some(v)) => {
                let i = int(v, "startIndex")?.max(1);
                (Start::Offset(i - 1), i, false)
            }
            (None, None) => (Start::Offset(0), 1, false),
        };
        Ok(Self {
            filter,
            projection,
            sort_by,
            descending,
            start,
            start_index,
            count,
            cursor,
        })
    }
}

impl ListParams {
    /// What the store reads for the page; the rest (projection, `startIndex`) is how it
    /// is answered.
    pub fn page_spec(&self) -> PageSpec {
        PageSpec {
            filter: self.filter.clone(),
            sort_by: self.sort_by.clone(),
            descending: self.descending,
            start: self.start,
            count: self.count,
            cursor: self.cursor,
        }
    }
}

/// RFC 9865 cursors are opaque: the last row's `(created_at, id)`.
pub fn encode_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{}", at.timestamp_micros(), id.simple()))
}

fn decode_cursor(c: &str) -> Result<Start, Error> {
    let bad = || {
        Error::InvalidValue(
            "the cursor is not one this server gave (RFC 9865 invalidCursor)".into(),
        )
    };
    let text = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let at = micros
        .parse()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    let id = Uuid::parse_str(id).map_err(|_| bad())?;
    Ok(Start::After(at, id))
}

/// The version an `If-Match` asks for (RFC 7644 §3.14): `None` for no header or `*`.
/// A tag that is no version of ours never matches.
pub fn if_match(req: &HttpRequest) -> Option<i64> {
    let value = req.headers().get(header::IF_MATCH)?.to_str().ok()?.trim();
    if value == "*" {
        return None;
    }
    Some(parse_etag(value).unwrap_or(-1))
}

/// Does `If-None-Match` name the current version (or `*`)?
pub fn if_none_match(req: &HttpRequest, version: i64) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(str::trim)
                .any(|t| t == "*" || parse_etag(t) == Some(version))
        })
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn parse_etag(tag: &str) -> Option<i64> {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').parse().ok()
}

/// A path id: a UUID, or else no such resource (a non-UUID id is a 404, not a 400).
pub fn resource_id(raw: &str, not_found: fn(&str) -> Error) -> Result<Uuid, Error> {
    Uuid::parse_str(raw).map_err(|_| not_found(raw))
}
