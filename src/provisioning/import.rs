//! CSV import of manual people (`POST /admin/v1/tenants/{slug}/people/import`).
//!
//! The file is read as a stream, record by record, and applied in batches inside one
//! transaction: a real import with any row error applies nothing, and a dry run is the same
//! import rolled back, so its plan is exactly what the real one would do. Only the emails
//! seen so far are kept (for duplicates within the file and for managers), never the file.
//!
//! A row's person is matched by email against the tenant's people (email or userName,
//! case-insensitively): a manual person is updated when the row changes them, a
//! deprovisioned one is restored, one that another source manages is skipped (their
//! source owns their data), and anyone else is created. Re-importing a file changes
//! nothing.

use std::collections::HashMap;
use std::io::Read;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::events::{changed_fields, Actor, Event, TakeOver};
use super::manual::{check_email, ManualPerson, RawPerson};
use super::people::new_manual;
use super::users::data_of;
use crate::domain::Source;
use crate::error::Error;
use crate::store::events::{self, NewEvent};
use crate::store::people;
use crate::store::users::{self, NewUser, UserRow};

/// The most data rows one file may hold.
pub const MAX_ROWS: u64 = 100_000;
/// The most row errors (and skips) listed; the rest are counted.
pub const MAX_LISTED: usize = 1000;
const BATCH: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Email,
    GivenName,
    FamilyName,
    DisplayName,
    Department,
    ManagerEmail,
}

impl Column {
    const ALL: [(&'static str, Column); 6] = [
        ("email", Column::Email),
        ("given_name", Column::GivenName),
        ("family_name", Column::FamilyName),
        ("display_name", Column::DisplayName),
        ("department", Column::Department),
        ("manager_email", Column::ManagerEmail),
    ];

    fn parse(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowNote {
    pub row: u64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct Summary {
    pub dry_run: bool,
    pub rows: u64,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Rows whose person another source manages: left as they are.
    pub skipped: Vec<RowNote>,
    pub errors: Vec<RowNote>,
    /// Errors and skips beyond the first [`MAX_LISTED`] of each, counted only.
    pub not_listed: usize,
}

impl Summary {
    fn error(&mut self, row: u64, message: String) {
        if self.errors.len() < MAX_LISTED {
            self.errors.push(RowNote { row, message });
        } else {
            self.not_listed += 1;
        }
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Applied (or, for a dry run, planned): no row error.
    Done(Summary),
    /// Some row of a real import failed; nothing was applied.
    Refused(Summary),
}

enum Abort {
    Rollback(Summary),
    Fail(Error),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Fail(e.into())
    }
}

/// A unique index refused a write: someone else created the same person while the import
/// ran (the rows were matched under lock, so the file itself cannot cause it).
fn clash(e: diesel::result::Error) -> Abort {
    match e {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        ) => Abort::Fail(Error::Conflict(
            "a person in this file was created or renamed elsewhere while the import ran; \
             nothing was applied; run the import again"
                .into(),
        )),
        other => other.into(),
    }
}

impl From<Error> for Abort {
    fn from(e: Error) -> Self {
        Abort::Fail(e)
    }
}

/// A row that passed its checks, waiting for its batch.
struct Pending {
    row: u64,
    person: ManualPerson,
    manager: Option<String>,
}

/// A person whose manager comes later in the file: set once the whole file is in.
struct Deferred {
    row: u64,
    id: Uuid,
    manager: String,
    person: ManualPerson,
}

struct Run<'a> {
    actor: &'a Actor,
    /// Told the rows read so far each time a batch of them is applied.
    progress: &'a dyn Fn(u64),
    now: DateTime<Utc>,
    summary: Summary,
    /// Every email of the file so far (lower case): its row, and its person once applied.
    seen: HashMap<String, (u64, Option<Uuid>)>,
    /// Every existing person a row matched, and that row: two rows may not match one person.
    claimed: HashMap<Uuid, u64>,
    deferred: Vec<Deferred>,
}

/// Reads and applies a CSV file. `read_failure` turns an I/O error of `input` into the
/// error to answer (a body over the limit, say). `progress` is told how many rows have been
/// read, checked and applied (inside the transaction) after each batch; the last call
/// gives the file's rows ([`Summary::rows`]).
pub fn import<R: Read>(
    conn: &mut PgConnection,
    actor: &Actor,
    input: R,
    dry_run: bool,
    now: DateTime<Utc>,
    read_failure: impl Fn(&std::io::Error) -> Option<Error>,
    progress: &dyn Fn(u64),
) -> Result<Outcome, Error> {
    let result = conn.transaction::<Summary, Abort, _>(|conn| {
        let mut run = Run {
            actor,
            progress,
            now,
            summary: Summary {
                dry_run,
                ..Summary::default()
            },
            seen: HashMap::new(),
            claimed: HashMap::new(),
            deferred: Vec::new(),
        };
        run.read(conn, input, &read_failure)?;
        run.resolve_deferred(conn)?;
        if dry_run || run.summary.failed() {
            Err(Abort::Rollback(run.summary))
        } else {
            Ok(run.summary)
        }
    });
    match result {
        Ok(summary) => Ok(Outcome::Done(summary)),
        // A dry run's plan is an answer in itself, errors and all.
        Err(Abort::Rollback(summary)) if summary.failed() && !summary.dry_run => {
            Ok(Outcome::Refused(summary))
        }
        Err(Abort::Rollback(summary)) => Ok(Outcome::Done(summary)),
        Err(Abort::Fail(e)) => Err(e),
    }
}

fn csv_error(e: csv::Error, read_failure: &impl Fn(&std::io::Error) -> Option<Error>) -> Error {
    if let csv::ErrorKind::Io(io) = e.kind() {
        if let Some(err) = read_failure(io) {
            return err;
        }
    }
    Error::InvalidSyntax(format!("the CSV file cannot be read: {e}"))
}

fn reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
}

/// The first record, read as the header row ([`columns`]).
fn header<R: Read>(
    records: &mut csv::ByteRecordsIter<'_, R>,
    read_failure: &impl Fn(&std::io::Error) -> Option<Error>,
) -> Result<Vec<Column>, Error> {
    match records.next() {
        None => Err(Error::InvalidValue(
            "the file is empty; it needs a header row".into(),
        )),
        Some(r) => columns(&r.map_err(|e| csv_error(e, read_failure))?),
    }
}

/// A record of nothing but blanks: not a row.
fn blank(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

fn too_many_rows() -> Error {
    Error::PayloadTooLarge(format!("the file has more than {MAX_ROWS} rows; split it"))
}

/// The data rows of a whole file in memory, as [`import`] counts them (records, not lines:
/// a quoted field may hold a newline; blank records are not rows), without the database.
/// A file [`import`] would refuse before its first row (no header, an unknown column, more
/// than [`MAX_ROWS`] rows, a record the CSV reader cannot read) is refused here the same
/// way.
pub fn count_rows(csv: &[u8]) -> Result<u64, Error> {
    let no_io = |_: &std::io::Error| -> Option<Error> { None };
    let mut reader = reader(csv);
    let mut records = reader.byte_records();
    header(&mut records, &no_io)?;
    let mut rows = 0;
    for record in records {
        if !blank(&record.map_err(|e| csv_error(e, &no_io))?) {
            rows += 1;
            if rows > MAX_ROWS {
                return Err(too_many_rows());
            }
        }
    }
    Ok(rows)
}

/// The header row: which column is which. Unknown or repeated columns, or no `email`
/// column, refuse the file.
fn columns(header: &csv::ByteRecord) -> Result<Vec<Column>, Error> {
    let mut out = Vec::with_capacity(header.len());
    for (i, raw) in header.iter().enumerate() {
        let raw = if i == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        if raw.starts_with(b"\xFF\xFE") || raw.starts_with(b"\xFE\xFF") || raw.contains(&0) {
            return Err(Error::UnsupportedMediaType(
                "the file is UTF-16; save it as CSV UTF-8".into(),
            ));
        }
        let name = std::str::from_utf8(raw).map_err(|_| {
            Error::UnsupportedMediaType(
                "the header row is not UTF-8; save the file as CSV UTF-8".into(),
            )
        })?;
        let column = Column::parse(name).ok_or_else(|| {
            Error::InvalidValue(format!(
                "unknown column `{}` in the header row; the columns are {}",
                name.chars().take(40).collect::<String>(),
                Column::ALL.map(|(n, _)| n).join(", ")
            ))
        })?;
        if out.contains(&column) {
            return Err(Error::InvalidValue(format!(
                "column `{}` appears twice in the header row",
                name.trim()
            )));
        }
        out.push(column);
    }
    if !out.contains(&Column::Email) {
        return Err(Error::InvalidValue(
            "the header row has no `email` column".into(),
        ));
    }
    Ok(out)
}

impl Run<'_> {
    fn read<R: Read>(
        &mut self,
        conn: &mut PgConnection,
        input: R,
        read_failure: &impl Fn(&std::io::Error) -> Option<Error>,
    ) -> Result<(), Abort> {
        let mut reader = reader(input);
        let mut records = reader.byte_records();
        let columns = header(&mut records, read_failure)?;
        let mut batch: Vec<Pending> = Vec::with_capacity(BATCH);
        let mut row: u64 = 1;
        for record in records {
            let record = record.map_err(|e| csv_error(e, read_failure))?;
            row += 1;
            if blank(&record) {
                continue;
            }
            self.summary.rows += 1;
            if self.summary.rows > MAX_ROWS {
                return Err(too_many_rows().into());
            }
            match self.check_row(row, &columns, &record) {
                Ok(p) => batch.push(p),
                Err(message) => self.summary.error(row, message),
            }
            if batch.len() == BATCH {
                self.apply(conn, std::mem::take(&mut batch))?;
                (self.progress)(self.summary.rows);
            }
        }
        self.apply(conn, batch)?;
        (self.progress)(self.summary.rows);
        Ok(())
    }

    fn check_row(
        &mut self,
        row: u64,
        columns: &[Column],
        record: &csv::ByteRecord,
    ) -> Result<Pending, String> {
        if record.len() != columns.len() {
            return Err(format!(
                "has {} fields; the header row has {}",
                record.len(),
                columns.len()
            ));
        }
        let mut raw = RawPerson::default();
        let mut manager = None;
        for (column, field) in columns.iter().zip(record.iter()) {
            let text = std::str::from_utf8(field)
                .map_err(|_| "is not valid UTF-8; save the file as CSV UTF-8".to_owned())?
                .to_owned();
            match column {
                Column::Email => raw.email = Some(text),
                Column::GivenName => raw.given_name = Some(text),
                Column::FamilyName => raw.family_name = Some(text),
                Column::DisplayName => raw.display_name = Some(text),
                Column::Department => raw.department = Some(text),
                Column::ManagerEmail => manager = Some(text),
            }
        }
        let person = ManualPerson::check(&raw)?;
        let manager = match manager.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
            None => None,
            Some(m) => Some(check_email(m, "manager_email")?.to_lowercase()),
        };
        let key = person.key();
        if manager.as_deref() == Some(key.as_str()) {
            return Err("manager_email is the person's own email".into());
        }
        if let Some((first, _)) = self.seen.get(&key) {
            return Err(format!(
                "email `{}` already appears on row {first}",
                person.email
            ));
        }
        self.seen.insert(key, (row, None));
        Ok(Pending {
            row,
            person,
            manager,
        })
    }

    /// Applies one batch: one query finds the people its emails and managers match, new
    /// people go in one multi-row insert, changed ones are updated one by one.
    fn apply(&mut self, conn: &mut PgConnection, batch: Vec<Pending>) -> Result<(), Abort> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut keys: Vec<String> = batch.iter().map(|p| p.person.key()).collect();
        keys.extend(batch.iter().filter_map(|p| {
            p.manager
                .clone()
                .filter(|m| !matches!(self.seen.get(m), Some((_, Some(_)))))
        }));
        let found = people::find_by_emails(conn, self.actor.tenant_id, &keys)?;
        // Live people first (the query's order), so the first match per key wins.
        let mut by_key: HashMap<String, &UserRow> = HashMap::with_capacity(found.len() * 2);
        for u in &found {
            by_key.entry(u.user_name.to_lowercase()).or_insert(u);
            if let Some(email) = &u.email {
                by_key.entry(email.clone()).or_insert(u);
            }
        }
        let mut inserts: Vec<NewUser<'static>> = Vec::new();
        let mut new_events: Vec<NewEvent> = Vec::new();
        for p in batch {
            let key = p.person.key();
            let manager = match &p.manager {
                None => None,
                Some(m) => match self.seen.get(m) {
                    Some((_, Some(id))) => Some(*id),
                    _ => by_key
                        .get(m)
                        .filter(|u| u.deprovisioned_at.is_none())
                        .map(|u| u.id),
                },
            };
            let matched = by_key.get(&key).copied();
            if let Some(existing) = matched {
                // One person matched by two emails of the file (one as their email, the
                // other as their userName, say): which row wins would be a guess.
                if let Some(first) = self.claimed.insert(existing.id, p.row) {
                    self.claimed.insert(existing.id, first);
                    self.summary.error(
                        p.row,
                        format!(
                            "`{}` is the same person as row {first} matched (id {})",
                            p.person.email, existing.id
                        ),
                    );
                    continue;
                }
            }
            let id = match matched {
                Some(existing)
                    if existing.deprovisioned_at.is_none() && existing.source != Source::Manual =>
                {
                    self.skip(
                        p.row,
                        format!(
                            "`{}` is managed by source `{}`; change them there",
                            p.person.email, existing.source
                        ),
                    );
                    existing.id
                }
                Some(existing) => {
                    self.update(conn, existing, &p.person, manager)?;
                    existing.id
                }
                None => {
                    let id = Uuid::now_v7();
                    let new = new_manual(self.actor.tenant_id, id, &p.person, manager)?;
                    new_events.push(self.actor.record(
                        id,
                        Event::UserCreated {
                            user_name: &new.data.user_name,
                            external_id: new.data.external_id.as_deref(),
                            source: Source::Manual,
                            active: new.data.active,
                        },
                    ));
                    inserts.push(new);
                    self.summary.created += 1;
                    id
                }
            };
            if let Some(m) = p.manager.clone() {
                if manager.is_none() {
                    self.deferred.push(Deferred {
                        row: p.row,
                        id,
                        manager: m,
                        person: p.person.clone(),
                    });
                }
            }
            self.seen.insert(key, (p.row, Some(id)));
        }
        for chunk in inserts.chunks(BATCH) {
            users::insert_many(conn, chunk).map_err(clash)?;
        }
        events::insert_many(conn, &new_events)?;
        Ok(())
    }

    fn skip(&mut self, row: u64, message: String) {
        if self.summary.skipped.len() < MAX_LISTED {
            self.summary.skipped.push(RowNote { row, message });
        } else {
            self.summary.not_listed += 1;
        }
    }

    /// Updates (or restores) a manual or deprovisioned person when the row changes them.
    fn update(
        &mut self,
        conn: &mut PgConnection,
        existing: &UserRow,
        person: &ManualPerson,
        manager: Option<Uuid>,
    ) -> Result<(), Abort> {
        let resource = person.resource(manager, Some(&existing.resource));
        let restoring = existing.deprovisioned_at.is_some();
        if !restoring && resource == existing.resource {
            self.summary.unchanged += 1;
            return Ok(());
        }
        // The data first: while the person is still deprovisioned their new userName
        // cannot clash with the unique index, which covers live people only.
        let mut updated = users::update(
            conn,
            self.actor.tenant_id,
            existing.id,
            existing.version,
            &data_of(resource)?,
            self.now,
        )
        .map_err(clash)?
        .ok_or_else(|| Error::internal("row changed under its lock"))?;
        if restoring {
            updated = users::set_lifecycle(
                conn,
                existing.tenant_id,
                existing.id,
                Source::Manual,
                None,
                self.now,
            )
            .map_err(clash)?;
        }
        let changed = changed_fields(&existing.resource, &updated.resource);
        let event = if restoring {
            Event::UserRestored(TakeOver {
                user_name: &updated.user_name,
                source: updated.source,
                previous_source: existing.source,
                changed,
            })
        } else {
            Event::UserUpdated {
                changed,
                previous_source: None,
            }
        };
        events::insert(conn, &self.actor.record(existing.id, event))?;
        self.summary.updated += 1;
        Ok(())
    }

    /// Sets the managers that came later in the file than their reports. A manager who is
    /// neither in the file nor a live person of the tenant is an error of the report's row.
    fn resolve_deferred(&mut self, conn: &mut PgConnection) -> Result<(), Abort> {
        let deferred = std::mem::take(&mut self.deferred);
        for d in deferred {
            let manager = match self.seen.get(&d.manager) {
                Some((_, Some(id))) => *id,
                _ => {
                    self.summary.error(
                        d.row,
                        format!(
                            "manager_email `{}` is neither in the file nor a person of this tenant",
                            d.manager
                        ),
                    );
                    continue;
                }
            };
            let Some(row) = users::find_any_for_update(conn, self.actor.tenant_id, d.id)? else {
                continue;
            };
            if row.source != Source::Manual {
                continue;
            }
            let resource = d.person.resource(Some(manager), Some(&row.resource));
            if resource == row.resource {
                continue;
            }
            users::update(
                conn,
                self.actor.tenant_id,
                row.id,
                row.version,
                &data_of(resource)?,
                self.now,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_columns_are_named_case_insensitively_in_any_order() {
        let header = csv::ByteRecord::from(vec!["\u{feff}Email", " Department ", "given_name"]);
        assert_eq!(
            columns(&header).ok(),
            Some(vec![Column::Email, Column::Department, Column::GivenName])
        );
    }

    #[test]
    fn rows_are_counted_as_records_not_lines() {
        let csv = "email,display_name\n\
                   a@x.example,\"Two\nlines\"\n\
                   \n  ,  \n\
                   b@x.example,\"a \"\"quoted\"\"\r\nname\"\r\n\
                   c@x.example,C";
        assert_eq!(count_rows(csv.as_bytes()).ok(), Some(3));
        assert_eq!(count_rows(b"email\n").ok(), Some(0));
        assert!(matches!(count_rows(b""), Err(Error::InvalidValue(_))));
        assert!(matches!(
            count_rows(b"name\nann\n"),
            Err(Error::InvalidValue(_))
        ));
        let mut big = String::from("email\n");
        for i in 0..=MAX_ROWS {
            big.push_str(&format!("p{i}@x.example\n"));
        }
        assert!(matches!(
            count_rows(big.as_bytes()),
            Err(Error::PayloadTooLarge(_))
        ));
    }

    #[test]
    fn bad_headers_refuse_the_file() {
        for header in [
            vec!["given_name"],
            vec!["email", "email"],
            vec!["email", "phone"],
        ] {
            assert!(
                columns(&csv::ByteRecord::from(header.clone())).is_err(),
                "{header:?}"
            );
        }
        let utf16 = csv::ByteRecord::from(vec![&b"\xFF\xFEe\x00m\x00"[..]]);
        assert!(matches!(
            columns(&utf16),
            Err(Error::UnsupportedMediaType(_))
        ));
        let latin1 = csv::ByteRecord::from(vec![&b"e\xE9mail"[..]]);
        assert!(matches!(
            columns(&latin1),
            Err(Error::UnsupportedMediaType(_))
        ));
    }
}
