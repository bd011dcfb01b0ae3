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
//! identifier (`"C"`), which are text. Escape strings (`E'…'`), dollar-quoted strings,
//! comments and unquoted identifiers with a `$` in them (`a$1`) are not recognised, so the
//! builder must not write them: a quote inside one would be taken for the start or end of
//! a literal, and `a$1` for `a` and a placeholder. The one scanner serves both running a
//! statement and renumbering a fragment, so the two never disagree.
//!
//! # Composing
//!
//! [`Sql::bind`] writes the next placeholder of the text being built. A fragment built on
//! its own (a `WHERE` clause, say) numbers its placeholders from `$1`; [`Sql::append`]
//! renumbers them to follow the receiver's binds, so fragments compose without any caller
//! counting placeholders or replacing binds.

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
    /// A timestamp that may be NULL.
    OptTimestamp(Option<DateTime<Utc>>),
    /// Arrays, one element per row of a many-row statement (`unnest`).
    UuidArray(Vec<Uuid>),
    OptUuidArray(Vec<Option<Uuid>>),
    OptTextArray(Vec<Option<String>>),
    BoolArray(Vec<bool>),
    JsonArray(Vec<serde_json::Value>),
}

/// SQL text with `$n` placeholders and the values they stand for.
///
/// The text and the binds change only together, through the methods below, so that
/// every placeholder keeps standing for its own value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn new() -> Self {
        Self::default()
    }

    /// A fragment written with its own placeholders: `$1` is the first of `binds`, and a
    /// placeholder may come more than once and in any order.
    pub fn fragment(text: impl Into<String>, binds: Vec<Bind>) -> Self {
        Self {
            text: text.into(),
            binds,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn binds(&self) -> &[Bind] {
        &self.binds
    }

    /// Appends `text` as it is. A `$n` in it is this `Sql`'s own n-th bind (one handed
    /// out by [`Sql::param`]); text with placeholders of its own goes in by
    /// [`Sql::append`].
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub fn bind(&mut self, value: Bind) -> &mut Self {
        let placeholder = self.param(value);
        self.text.push_str(&placeholder);
        self
    }

    /// Appends a placeholder for each of `values`, separated by commas (a VALUES row).
    pub fn bind_all(&mut self, values: impl IntoIterator<Item = Bind>) -> &mut Self {
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self
    }

    /// Adds `value` to the binds and returns its placeholder without writing it, for an
    /// expression assembled apart and pushed into this same `Sql` later, as often as it
    /// is needed.
    pub fn param(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// Appends `fragment`, its placeholders renumbered to follow this `Sql`'s binds (with
    /// k binds here, its `$1` becomes `$k+1`) and its binds added after these. The rest of
    /// its text is copied as it is, string literals and quoted identifiers included.
    pub fn append(&mut self, fragment: Sql) -> &mut Self {
        let shift = self.binds.len();
        if shift == 0 {
            self.text.push_str(&fragment.text);
        } else {
            for piece in pieces(&fragment.text) {
                match piece {
                    Piece::Placeholder { n: Some(n), .. } => {
                        self.text.push('$');
                        self.text.push_str(&(n.saturating_add(shift)).to_string());
                    }
                    // `$0`, or a number too large: it has no bind here either, which
                    // the statement reports when it runs.
                    Piece::Placeholder { raw, n: None } | Piece::Text(raw) => {
                        self.text.push_str(raw);
                    }
                }
            }
        }
        self.binds.extend(fragment.binds);
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
        // Outside quotes, only a quote or a `$` can end the stretch; inside a literal or
        // identifier, only the quote that opened it (a doubled quote closes and at once
        // reopens it, which reads it right). Each search skips to the next such byte:
        // statements are built on every request, and diesel walks each more than once.
        let mut at = start;
        loop {
            let Some(off) = memchr::memchr3(b'\'', b'"', b'$', &bytes[at..]) else {
                at = bytes.len();
                break;
            };
            at += off;
            let b = bytes[at];
            if b == b'$' {
                if placeholder_len(&bytes[at..]).is_some() {
                    break;
                }
                at += 1;
                continue;
            }
            match memchr::memchr(b, &bytes[at + 1..]) {
                Some(close) => at += close + 2,
                None => {
                    at = bytes.len();
                    break;
                }
            }
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
                Bind::OptTimestamp(v) => out.push_bind_param::<Nullable<Timestamptz>, _>(v)?,
                Bind::UuidArray(v) => {
                    out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(v)?;
                }
                Bind::OptUuidArray(v) => {
                    out.push_bind_param::<Array<Nullable<diesel::sql_types::Uuid>>, _>(v)?;
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
    use proptest::prelude::*;

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

    fn big(i: i64) -> Bind {
        Bind::BigInt(i)
    }

    /// The bind each placeholder of `sql` stands for, in text order (`None` for one
    /// without a bind).
    fn resolved(sql: &Sql) -> Vec<Option<Bind>> {
        pieces(sql.text())
            .filter_map(|p| match p {
                Piece::Placeholder { n, .. } => Some(
                    n.and_then(|n| n.checked_sub(1))
                        .and_then(|i| sql.binds().get(i))
                        .cloned(),
                ),
                Piece::Text(_) => None,
            })
            .collect()
    }

    #[test]
    fn bind_writes_the_next_placeholder() {
        let mut sql = Sql::new();
        sql.push("a = ").bind(big(1)).push(" AND b = ").bind(big(2));
        assert_eq!(sql.text(), "a = $1 AND b = $2");
        assert_eq!(sql.binds(), [big(1), big(2)]);
    }

    #[test]
    fn appending_renumbers_the_fragment_after_the_receivers_binds() {
        let mut sql = Sql::new();
        sql.push("SELECT ").bind(big(1)).push(", ").bind(big(2));
        sql.push(" WHERE ").append(Sql::fragment(
            "x = $1 AND y = $2 OR x = $1",
            vec![big(3), big(4)],
        ));
        assert_eq!(
            sql.text(),
            "SELECT $1, $2 WHERE x = $3 AND y = $4 OR x = $3"
        );
        assert_eq!(sql.binds(), [big(1), big(2), big(3), big(4)]);
    }

    #[test]
    fn appending_onto_no_binds_keeps_the_text() {
        let body = Sql::fragment(" FROM users u WHERE u.tenant_id = $1", vec![big(1)]);
        let mut sql = Sql::new();
        sql.push("SELECT count(*)").append(body.clone());
        assert_eq!(sql.text(), format!("SELECT count(*){}", body.text()));
        assert_eq!(sql.binds(), body.binds());
    }

    #[test]
    fn appending_renumbers_every_digit_of_a_placeholder() {
        let binds: Vec<Bind> = (1..=12).map(big).collect();
        let mut sql = Sql::fragment("$1, $2, $3", vec![big(-1), big(-2), big(-3)]);
        sql.push(" / ")
            .append(Sql::fragment("$1, $10, $12, $2, $1", binds));
        assert_eq!(sql.text(), "$1, $2, $3 / $4, $13, $15, $5, $4");
        assert_eq!(
            resolved(&sql),
            [-1, -2, -3, 1, 10, 12, 2, 1].map(|i| Some(big(i)))
        );
    }

    #[test]
    fn appending_keeps_the_casts_after_placeholders() {
        let mut sql = Sql::fragment("$1::uuid, ", vec![big(0)]);
        sql.append(Sql::fragment(
            "unnest($1::uuid[], $2::text[]), $3::jsonb[]",
            vec![big(1), big(2), big(3)],
        ));
        assert_eq!(
            sql.text(),
            "$1::uuid, unnest($2::uuid[], $3::text[]), $4::jsonb[]"
        );
    }

    #[test]
    fn appending_leaves_literals_and_quoted_identifiers_alone() {
        let mut sql = Sql::fragment("$1", vec![big(0)]);
        sql.append(Sql::fragment(
            r#"'$1' || 'it''s $2' || "$1" || "a""$2" || $1 || e.v->'$ref' || '' || $2"#,
            vec![big(1), big(2)],
        ));
        assert_eq!(
            sql.text(),
            r#"$1'$1' || 'it''s $2' || "$1" || "a""$2" || $2 || e.v->'$ref' || '' || $3"#
        );
        assert_eq!(resolved(&sql), [0, 1, 2].map(|i| Some(big(i))));
    }

    #[test]
    fn appending_leaves_a_bare_dollar_and_dollar_zero_alone() {
        let mut sql = Sql::fragment("$1", vec![big(0)]);
        sql.append(Sql::fragment("$ $x $0 $1", vec![big(1)]));
        assert_eq!(sql.text(), "$1$ $x $0 $2");
        assert_eq!(resolved(&sql), [Some(big(0)), None, Some(big(1))]);
    }

    #[test]
    fn param_hands_out_a_placeholder_for_later() {
        let mut sql = Sql::new();
        sql.push("a = ").bind(big(1));
        let base = sql.param(big(2));
        sql.push(" AND b = ").push(&base).push(" || ").push(&base);
        assert_eq!(sql.text(), "a = $1 AND b = $2 || $2");
        let mut outer = Sql::fragment("$1, ", vec![big(0)]);
        outer.append(sql);
        assert_eq!(outer.text(), "$1, a = $2 AND b = $3 || $3");
        assert_eq!(resolved(&outer), [0, 1, 2, 2].map(|i| Some(big(i))));
    }

    /// A stretch of a fragment: text that may hold quoted `$n`, or a placeholder.
    #[derive(Debug, Clone)]
    enum Chunk {
        Text(String),
        /// The placeholder of the fragment's i-th bind (0-based), then a cast.
        Ref(usize, &'static str),
    }

    fn chunk(binds: usize) -> impl Strategy<Value = Chunk> {
        let text = prop_oneof![
            "[a-z0-9 ,()=<>.:|-]{0,6}",
            Just("'$1'".to_owned()),
            Just("'it''s $2'".to_owned()),
            Just("\"$3\"".to_owned()),
            Just("'$ref'".to_owned()),
            Just("$ ".to_owned()),
        ]
        .prop_map(Chunk::Text);
        if binds == 0 {
            return text.boxed();
        }
        let cast = prop_oneof![Just(""), Just("::uuid[]"), Just("::text"), Just(" ")];
        prop_oneof![text, (0..binds, cast).prop_map(|(i, c)| Chunk::Ref(i, c))].boxed()
    }

    /// A fragment of `binds` binds and the chunks of its text.
    fn fragment() -> impl Strategy<Value = (usize, Vec<Chunk>)> {
        (0usize..13)
            .prop_flat_map(|binds| (Just(binds), prop::collection::vec(chunk(binds), 0..12)))
    }

    /// Builds fragment number `f`: its binds are `BigInt(f * 100 + i)`. Returns it and the
    /// binds its placeholders stand for, in text order.
    fn build(f: usize, binds: usize, chunks: &[Chunk]) -> (Sql, Vec<Bind>) {
        let value = |i: usize| big(i64::try_from(f * 100 + i).unwrap_or(i64::MAX));
        let mut written = String::new();
        let mut refs = Vec::new();
        for c in chunks {
            match c {
                // A text chunk after a placeholder must not lengthen its number.
                Chunk::Text(t) => {
                    written.push(' ');
                    written.push_str(t);
                }
                Chunk::Ref(i, cast) => {
                    written.push_str(&format!(" ${}{cast}", i + 1));
                    refs.push(value(*i));
                }
            }
        }
        let sql = Sql::fragment(written, (0..binds).map(value).collect());
        (sql, refs)
    }

    /// The text with each placeholder replaced by `?`.
    fn shape(sql: &Sql) -> String {
        pieces(sql.text())
            .map(|p| match p {
                Piece::Text(t) => t,
                Piece::Placeholder { .. } => "?",
            })
            .collect()
    }

    proptest! {
        /// However fragments are appended, each placeholder still stands for the value it
        /// stood for in its own fragment, and nothing but placeholder numbers changes.
        #[test]
        fn appended_fragments_keep_their_values(
            fragments in prop::collection::vec(fragment(), 1..6),
        ) {
            let mut all = Sql::new();
            let mut expected = Vec::new();
            let mut expected_shape = String::new();
            for (f, (binds, chunks)) in fragments.iter().enumerate() {
                let (sql, refs) = build(f, *binds, chunks);
                expected_shape.push_str(&shape(&sql));
                expected.extend(refs.into_iter().map(Some));
                all.append(sql);
            }
            prop_assert_eq!(resolved(&all), expected);
            prop_assert_eq!(shape(&all), expected_shape);
            let total: usize = fragments.iter().map(|(binds, _)| binds).sum();
            prop_assert_eq!(all.binds().len(), total);
        }

        /// Appending a fragment is the same as writing its pieces straight after the
        /// receiver's with `bind`.
        #[test]
        fn appending_equals_binding_in_place(
            head in prop::collection::vec(("[a-z ]{0,4}", any::<i64>()), 0..15),
            tail in prop::collection::vec(("[a-z ]{0,4}", any::<i64>()), 0..15),
        ) {
            let mut direct = Sql::new();
            for (t, v) in head.iter().chain(&tail) {
                direct.push(t).bind(big(*v));
            }
            let mut composed = Sql::new();
            for (t, v) in &head {
                composed.push(t).bind(big(*v));
            }
            let mut fragment = Sql::new();
            for (t, v) in &tail {
                fragment.push(t).bind(big(*v));
            }
            composed.append(fragment);
            prop_assert_eq!(composed, direct);
        }

        /// The scanner that skips to the next quote or `$` reads any text as reading it
        /// a byte at a time does.
        #[test]
        fn skipping_reads_as_byte_by_byte(text in "[a-z0-9 $'\"]{0,40}") {
            prop_assert_eq!(split(&text), byte_by_byte(&text));
        }
    }

    /// The module doc's reading, one byte at a time: the reference for [`pieces`].
    fn byte_by_byte(text: &str) -> Vec<Piece<'_>> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut start = 0;
        while start < bytes.len() {
            if let Some(len) = placeholder_len(&bytes[start..]) {
                out.push(placeholder(&text[start..start + len]));
                start += len;
                continue;
            }
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
            out.push(Piece::Text(&text[start..at]));
            start = at;
        }
        out
    }
}
