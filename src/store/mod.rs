//! PostgreSQL through diesel: store functions, and [`Db`], the one way to reach them.
//!
//! Store functions take `&mut PgConnection` and return diesel's `QueryResult`, so
//! `provisioning` composes several in one transaction inside [`Db::run`]. Reads that run
//! alone are [`Db`]'s own async functions, which choose the pool and driver themselves
//! (see [`db`]).

pub mod connect_links;
pub mod connections;
pub mod console;
pub mod counts;
pub mod credentials;
pub mod database;
pub mod db;
pub mod events;
pub mod fast;
pub mod filter;
pub mod groups;
pub mod imports;
pub mod local;
pub mod locks;
pub mod notify;
pub mod people;
pub mod plans;
pub mod retention;
pub mod rows;
pub mod schema;
pub mod search;
pub mod sql;
pub mod sync;
pub mod tenants;
pub mod tls;
pub mod together;
pub mod users;

pub use db::{Db, Page, PageSpec, PoolState, PoolStates, Probe};
