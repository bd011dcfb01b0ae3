//! Integration tests: the real app on a real PostgreSQL, one database per test.
// Tests state their expectations with unwrap/expect/panic; the lints guard the library.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod auth;
mod big_group;
mod cli;
mod entra;
mod filters;
mod helpers;
mod ops;
mod plans;
mod proxy;
mod scim;
