//! Credentials: SCIM bearer tokens (one tenant each) and operator admin keys.
//!
//! Both have the form `scimd_<key id>_<secret>`. The key id finds the row; the secret is
//! checked against an argon2id PHC hash. [`Verifier`] keeps verified credentials in memory
//! for a short TTL so argon2 runs once per credential per TTL, not once per request.

pub mod failures;
mod token;
mod verifier;

pub use failures::{ClientKey, SignInLimiter};
pub use token::{hash_secret, Credential, KeyId, ParseCredentialError};
pub use verifier::{CredentialKind, Principal, TenantRef, Verifier};
