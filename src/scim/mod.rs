//! The SCIM 2.0 protocol, pure: no I/O, no database, no HTTP.
//!
//! - [`schema`]: attribute definitions for the core User, the Enterprise User extension and
//!   Group (RFC 7643), their lookup, and their `/Schemas` and `/ResourceTypes` bodies.
//! - [`path`]: attribute paths (RFC 7644 §3.10), PATCH paths (§3.5.2) and the
//!   `attributes` / `excludedAttributes` / `sortBy` parameters (§3.4.2.3, §3.9).
//! - [`filter`]: the filter grammar of RFC 7644 §3.4.2.2, its AST, validation against a
//!   resource type and an in-memory evaluator.
//! - [`resource`]: normalising User and Group bodies into their canonical stored form,
//!   their indexed columns, rendering and `attributes` projection (RFC 7643, RFC 7644 §3.9).
//! - [`patch`]: PATCH requests (RFC 7644 §3.5.2), parsed and applied to the stored form.
//! - [`error`]: the syntax error shared by filters and paths.

pub mod error;
pub mod filter;
pub mod patch;
pub mod path;
pub mod resource;
pub mod schema;
