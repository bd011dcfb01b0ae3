//! Raw SQL built by hand: text with `$n` placeholders and the values bound to them, run
//! through diesel as a [`Statement`]. For what diesel's query builder does not write: SCIM
//! filters compiled to SQL (`store::filter`), listings (`store::search`) and the combined
//! create (`store::users`).
//!
//! # Placeholders
//!
//! `$n` in an [`Sql`]'s text stands for its n-th bind. Text is read for placeholders the
//! way PostgreSQL's lexer reads it, for everything this builder writes: `$` followed by
//! digits is a placeholder (`$1::uuid[]` is `$1` and a cast; `$10` is never `$1` and a
//! `0`), except inside a string literal (`'$ref'`, a quote in it doubled) or a quoted
//! identifier (`"C"`), which are text. Escape strings (`E'…'`), dollar-quoted strings and
//! comments are not recognised, so the builder must not write them: a quote inside one
//! would be taken for the start or end of a literal.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::query_dsl::RunQueryDsl;
use diesel::result::QueryResult;
use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz, Untyped};
use uuid::Uuid;

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Bind {
    Text(String),
    /// A text that may be NULL.
    OptText(Option<String>),
    Json(serde_json::Value),
    TextArray(Vec<String>),
    Uuid(Uuid),
    Bool(bool),
    BigInt(i64),
    Timestamp(DateTime<Utc>),
    /// Arrays, one element per row of a many-row statement (`unnest`).
    UuidArray(Vec<Uuid>),
    OptTextArray(Vec<Option<String>>),
    BoolArray(Vec<bool>),
    JsonArray(Vec<serde_json::Value>),
}

/// SQL text with `$n` placeholders and the values they stand for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        self.binds.push(value);
        let n = self.binds.len();
        self.text.push('$');
        self.text.push_str(&n.to_string());
        self
    }

    /// Hands the text and binds to diesel, planned afresh on every run.
    pub fn into_query(self) -> Statement {
        Statement {
            sql: self,
            cache: false,
        }
    }

    /// Hands the text and binds to diesel as a statement the connection prepares once and
    /// keeps. Only for texts drawn from a small, fixed set: every distinct text stays
    /// prepared on each pooled connection (and in its server process) for good.
    pub fn into_cached_query(self) -> Statement {
        Statement {
            sql: self,
            cache: true,
        }
    }
}

/// A stretch of SQL text, as [`pieces`] splits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    /// Text without placeholders (string literals and quoted identifiers included).
    Text(&'a str),
    /// `$` and its digits; `n` is `None` when they name no bind (`$0`, or a number past
    /// `usize`).
    Placeholder { raw: &'a str, n: Option<usize> },
}

/// `text` split into text and placeholders, as the module doc says it is read.
fn pieces(text: &str) -> Pieces<'_> {
    Pieces { text, at: 0 }
}

struct Pieces<'a> {
    text: &'a str,
    at: usize,
}

/// The length of the placeholder at the start of `bytes`, if one is there.
fn placeholder_len(bytes: &[u8]) -> Option<usize> {
    let digits = match bytes {
        [b'$', rest @ ..] => rest.iter().take_while(|b| b.is_ascii_digit()).count(),
        _ => 0,
    };
    (digits > 0).then_some(1 + digits)
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        // Every byte compared here is ASCII, so each cut falls between characters.
        let bytes = self.text.as_bytes();
        let start = self.at;
        if start >= bytes.len() {
            return None;
        }
        if let Some(len) = placeholder_len(&bytes[start..]) {
            self.at = start + len;
            let raw = &self.text[start..self.at];
            let n = raw[1..].parse::<usize>().ok().filter(|&n| n > 0);
            return Some(Piece::Placeholder { raw, n });
        }
        // Inside a literal or identifier, the quote that opened it; a doubled quote
        // closes and at once reopens it, which reads it right.
        let mut quote = None;
        let mut at = start;
        while at < bytes.len() {
            let b = bytes[at];
            match quote {
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if b == b'\'' || b == b'"' => quote = Some(b),
                None if placeholder_len(&bytes[at..]).is_some() => break,
                None => {}
            }
            at += 1;
        }
        self.at = at;
        Some(Piece::Text(&self.text[start..at]))
    }
}

/// [`Sql`] as a diesel query, for rows that implement `QueryableByName`.
///
/// diesel's own `sql_query` is never prepared and kept, which costs a parse and a plan on
/// every run; this one can be. Each `$n` placeholder of the text is handed to diesel as a
/// bind of its own, so the text may use a placeholder more than once, in any order.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: Sql,
    cache: bool,
}

impl QueryFragment<Pg> for Statement {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        if !self.cache {
            out.unsafe_to_cache_prepared();
        }
        for piece in pieces(&self.sql.text) {
            let (raw, n) = match piece {
                Piece::Text(text) => {
                    out.push_sql(text);
                    continue;
                }
                Piece::Placeholder { raw, n } => (raw, n),
            };
            let bind = n
                .and_then(|n| n.checked_sub(1))
                .and_then(|i| self.sql.binds.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("placeholder {raw} has no bind").into(),
                    )
                })?;
            match bind {
                Bind::Text(v) => out.push_bind_param::<Text, _>(v)?,
                Bind::OptText(v) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Bind::Json(v) => out.push_bind_param::<Jsonb, _>(v)?,
                Bind::TextArray(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Bind::Uuid(v) => out.push_bind_param::<diesel::sql_types::Uuid, _>(v)?,
                Bind::Bool(v) => out.push_bind_param::<Bool, _>(v)?,
                Bind::BigInt(v) => out.push_bind_param::<BigInt, _>(v)?,
                Bind::Timestamp(v) => out.push_bind_param::<Timestamptz, _>(v)?,
                Bind::UuidArray(v) => {
                    out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(v)?;
                }
                Bind::OptTextArray(v) => out.push_bind_param::<Array<Nullable<Text>>, _>(v)?,
                Bind::BoolArray(v) => out.push_bind_param::<Array<Bool>, _>(v)?,
                Bind::JsonArray(v) => out.push_bind_param::<Array<Jsonb>, _>(v)?,
            }
        }
        Ok(())
    }
}

impl QueryId for Statement {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Statement {
    type SqlType = Untyped;
}

impl<Conn: diesel::Connection<Backend = Pg>> RunQueryDsl<Conn> for Statement {}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<Piece<'_>> {
        pieces(text).collect()
    }

    fn placeholder(raw: &str) -> Piece<'_> {
        Piece::Placeholder {
            raw,
            n: raw[1..].parse().ok().filter(|&n| n > 0),
        }
    }

    #[test]
    fn a_placeholder_is_a_dollar_and_all_its_digits() {
        assert_eq!(
            split("a = $1 OR b = $10::uuid[] OR c IN ($2,$3)"),
            [
                Piece::Text("a = "),
                placeholder("$1"),
                Piece::Text(" OR b = "),
                placeholder("$10"),
                Piece::Text("::uuid[] OR c IN ("),
                placeholder("$2"),
                Piece::Text(","),
                placeholder("$3"),
                Piece::Text(")"),
            ]
        );
    }

    #[test]
    fn literals_and_quoted_identifiers_are_text() {
        let text = r#"'$1' || 'it''s $2' || "$3" || "a""$4" || e.v->'$ref' || '' || $5"#;
        let (before, last) = text.split_at(text.len() - 2);
        assert_eq!(split(text), [Piece::Text(before), placeholder(last)]);
        // A quote of the other kind inside a literal or identifier.
        assert_eq!(
            split(r#"'W/"' || $1 || '"' || "it's" || $2"#),
            [
                Piece::Text(r#"'W/"' || "#),
                placeholder("$1"),
                Piece::Text(r#" || '"' || "it's" || "#),
                placeholder("$2"),
            ]
        );
    }

    #[test]
    fn a_dollar_without_digits_is_text_and_dollar_zero_names_no_bind() {
        assert_eq!(split("$ $x"), [Piece::Text("$ $x")]);
        assert_eq!(
            split("$0 $99999999999999999999999999"),
            [
                Piece::Placeholder { raw: "$0", n: None },
                Piece::Text(" "),
                Piece::Placeholder {
                    raw: "$99999999999999999999999999",
                    n: None
                },
            ]
        );
        assert!(split("").is_empty());
    }
}
