//! Small rows that raw SQL statements read by column name (`QueryableByName`), declared
//! once for every store module that reads one.

use diesel::sql_types::{BigInt, Bool};
use diesel::QueryableByName;
use uuid::Uuid;

/// A uuid column named `id`.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub id: Uuid,
}

impl IdRow {
    /// The ids of `rows`, in their order.
    pub fn ids(rows: Vec<IdRow>) -> Vec<Uuid> {
        rows.into_iter().map(|r| r.id).collect()
    }
}

/// A bigint column named `n`: a count.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// A boolean column named `exists`.
#[derive(QueryableByName, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exists {
    #[diesel(sql_type = Bool)]
    pub exists: bool,
}
