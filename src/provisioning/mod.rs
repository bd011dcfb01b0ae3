//! The one write path. SCIM pushes, pull syncs, admin actions and CSV imports all change
//! state through here, so they share one set of rules. The rules are functions that take
//! `&mut PgConnection`, so that several compose in one transaction; what the HTTP layer
//! calls are async functions that take the [`crate::store::Db`] and run them there (SCIM
//! push: [`push`]).

pub mod admin;
pub mod connect_links;
pub mod connections;
pub mod console;
pub mod credentials;
pub mod events;
pub mod groups;
pub mod import;
pub mod import_jobs;
pub mod manual;
pub mod people;
pub mod push;
pub mod retention;
pub mod storable;
pub mod sync;
pub mod tenants;
pub mod users;
