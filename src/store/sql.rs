//! Raw SQL built by hand: text with `$n` placeholders and the values bound to them, run
//! through diesel as a [`Statement`]. For what diesel's query builder does not write: SCIM
//! filters compiled to SQL (`store::filter`), listings (`store::search`) and the combined
//! create (`store::users`).

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
        let text = self.sql.text.as_str();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            let digits = rest[at + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if digits == 0 {
                out.push_sql(&rest[..=at]);
                rest = &rest[at + 1..];
                continue;
            }
            out.push_sql(&rest[..at]);
            let n: usize = rest[at + 1..at + 1 + digits].parse().unwrap_or(0);
            let bind = n
                .checked_sub(1)
                .and_then(|i| self.sql.binds.get(i))
                .ok_or_else(|| {
                    diesel::result::Error::QueryBuilderError(
                        format!("placeholder ${n} has no bind").into(),
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
            rest = &rest[at + 1 + digits..];
        }
        out.push_sql(rest);
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
