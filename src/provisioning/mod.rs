//! The one write path. SCIM pushes, pull syncs, admin actions and CSV imports all change
//! state through here, so they share one set of rules. Functions take `&mut PgConnection`
//! and run synchronously; the HTTP layer calls them through `Db::run`.

pub mod credentials;
pub mod events;
pub mod groups;
pub mod import;
pub mod manual;
pub mod people;
pub mod storable;
pub mod tenants;
pub mod users;
