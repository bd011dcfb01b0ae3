//! Integration tests: the real app on a real PostgreSQL, one database per test.
// Tests state their expectations with unwrap/expect/panic; the lints guard the library.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod auth;
mod big_group;
mod cli;
mod combined_create;
mod connect_links;
mod connections;
mod console;
mod console_directory;
mod contract;
mod counts;
mod create_path;
mod db_tls;
mod edge;
mod entra;
#[path = "../fakes/google.rs"]
mod fake_google;
#[path = "../fakes/graph.rs"]
mod fake_graph;
#[path = "../fakes/fake_http.rs"]
mod fake_http;
mod fast_path;
mod feed;
mod filters;
mod google;
mod graph;
mod group_members;
mod growth;
mod helpers;
mod import;
mod layers;
mod nodes;
mod ops;
mod own_cluster;
mod own_pg;
mod patch_answers;
mod people;
mod plans;
mod pools;
mod proxy;
mod ratelimit;
mod retention;
mod scim;
mod signins;
mod statements;
mod sync;
mod tenant_keys;
mod together;
