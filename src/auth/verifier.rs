//! Verifying presented credentials, with an in-memory cache.
//!
//! - A verified credential is cached for `ttl`, keyed by SHA-256 of the whole presented
//!   string, so a different secret under the same key id never hits the cache. After the
//!   TTL the row is read again (revocation, expiry); argon2 runs again only if the stored
//!   hash changed.
//! - Revocation through this node calls [`Verifier::forget_key`], which drops the entry at
//!   once; a generation counter keeps a verification that was in flight during the
//!   revocation from caching the revoked credential.
//! - A change made anywhere else (another node, the command line) reaches this node as a
//!   notification ([`crate::store::notify`]), and [`Verifier::expire_key`] (or
//!   `expire_tenant`, `expire_all`) marks the entries stale: the next request reads the
//!   row again, without argon2 when the hash is unchanged. While notifications cannot be
//!   heard, the TTL is what bounds how long a change takes to be seen here.
//! - An unknown key id is checked against a dummy hash, so timing says nothing.
//! - Concurrent argon2 checks are bounded, so a flood of bad tokens cannot eat the
//!   blocking pool or the memory (each check uses 19 MiB).
//! - Requests presenting the same credential while it is not cached (a restart, or an IdP
//!   opening many connections with a new token) wait for one check: the first runs it,
//!   the others then find it cached. Without that, each ran argon2 (or, for a stale entry,
//!   read the row) itself.
//! - Last use is written at most once a minute per credential, in the background.
//! - A credential the cache cannot answer counts against its client address's failed
//!   sign-in allowance ([`SignInLimiter`]): an address over it gets 429 before any argon2
//!   or database work, and a check takes its slot only once it holds an argon2 permit. A stale entry is renewed without one (it proves the token
//!   was verified here before), and so is a fresh hit, so an address's good tokens keep
//!   working while its bad ones are refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use uuid::Uuid;

use super::failures::{ClientKey, Limited, SignInLimiter};
use super::token::Credential;
use crate::clock::SharedClock;
use crate::error::Error;
use crate::provisioning::credentials::TokenState;
use crate::store::{credentials, Db};

const TOUCH_EVERY: Duration = Duration::from_secs(60);
const MAX_CONCURRENT_CHECKS: usize = 4;
const CACHE_SWEEP_AT: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    ScimToken,
    AdminKey,
}

/// Who a verified credential speaks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub key_id: String,
    /// The tenant of a SCIM token; `None` for an admin key.
    pub tenant: Option<TenantRef>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: String,
}

struct Cached {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    /// The PHC hash this token was verified against: when the entry is stale, a row that
    /// still holds the same hash needs no new argon2 check, only the revocation and expiry
    /// checks.
    secret_hash: String,
    cached_at: Instant,
    /// A change to the credential or its tenant was announced: read the row again.
    stale: bool,
}

enum Hit {
    Fresh(Principal),
    Stale { secret_hash: String },
    Miss,
}

struct Row {
    secret_hash: String,
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    revoked: bool,
}

pub struct Verifier {
    kind: CredentialKind,
    ttl: Duration,
    clock: SharedClock,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    generation: AtomicU64,
    touched: Mutex<HashMap<String, Instant>>,
    checks: Semaphore,
    /// One gate per credential being checked now ([`Verifier::verify`]).
    in_flight: Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>,
    /// argon2 checks run, the dummy ones for unknown key ids included.
    hash_checks: AtomicU64,
    /// Failed sign-ins per client address, shared by every kind of credential.
    failures: Arc<SignInLimiter>,
}

/// A request's place at the gate of one credential ([`Verifier::verify`]). The gate is
/// forgotten when the last request holding it is done, also one whose client went away
/// while it waited.
struct Gate<'a> {
    verifier: &'a Verifier,
    digest: [u8; 32],
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl<'a> Gate<'a> {
    fn enter(verifier: &'a Verifier, digest: [u8; 32]) -> Self {
        let lock = lock(&verifier.in_flight).entry(digest).or_default().clone();
        Self {
            verifier,
            digest,
            lock,
        }
    }
}

impl Drop for Gate<'_> {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.verifier.in_flight);
        // The map's and this one's: nobody else holds it or waits at it.
        if Arc::strong_count(&self.lock) == 2 {
            in_flight.remove(&self.digest);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unauthorized(detail: &str) -> Error {
    Error::Unauthorized(detail.to_owned())
}

fn too_many_failures(Limited(wait): Limited) -> Error {
    Error::too_many_requests(
        "too many failed sign-ins from this address; retry after the time Retry-After gives",
        wait,
    )
}

impl Verifier {
    pub fn new(
        kind: CredentialKind,
        ttl: Duration,
        clock: SharedClock,
        failures: Arc<SignInLimiter>,
    ) -> Self {
        Self {
            failures,
            kind,
            ttl,
            clock,
            cache: Mutex::new(HashMap::new()),
            generation: AtomicU64::new(0),
            touched: Mutex::new(HashMap::new()),
            checks: Semaphore::new(MAX_CONCURRENT_CHECKS),
            in_flight: Mutex::new(HashMap::new()),
            hash_checks: AtomicU64::new(0),
        }
    }

    /// How many argon2 checks this verifier has run.
    pub fn hash_checks(&self) -> u64 {
        self.hash_checks.load(Ordering::Relaxed)
    }

    /// Checks an `Authorization` header value presented from `from`.
    pub async fn verify_header(
        &self,
        db: &Db,
        header: Option<&str>,
        from: ClientKey,
    ) -> Result<Principal, Error> {
        let header = header.ok_or_else(|| unauthorized("missing bearer token"))?;
        let token = header
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
        self.verify(db, token, from).await
    }

    pub async fn verify(
        &self,
        db: &Db,
        presented: &str,
        from: ClientKey,
    ) -> Result<Principal, Error> {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        if let Hit::Fresh(principal) = self.cached(&digest) {
            self.touch(db, &principal.key_id);
            return Ok(principal);
        }
        // One check per credential at a time; whoever waited looks at the cache again.
        let gate = Gate::enter(self, digest);
        let _turn = gate.lock.lock().await;
        self.check(db, presented, digest, from).await
    }

    /// [`Verifier::verify`] past the gate. A credential not cached at all is first refused
    /// if its address has used its allowance; otherwise [`Verifier::check_row`] takes the
    /// slot when the argon2 check is about to run.
    async fn check(
        &self,
        db: &Db,
        presented: &str,
        digest: [u8; 32],
        from: ClientKey,
    ) -> Result<Principal, Error> {
        let generation = self.generation.load(Ordering::Acquire);
        let stale_hash = match self.cached(&digest) {
            Hit::Fresh(principal) => {
                self.touch(db, &principal.key_id);
                return Ok(principal);
            }
            Hit::Stale { secret_hash } => Some(secret_hash),
            Hit::Miss => None,
        };
        let counted = match stale_hash {
            Some(_) => None,
            None => {
                self.failures.admits(from).map_err(too_many_failures)?;
                Some(from)
            }
        };
        self.check_row(db, presented, digest, stale_hash, counted, generation)
            .await
    }

    /// [`Verifier::check`] once the allowance let it through: the row, then argon2. With
    /// `counted`, the check takes a slot of that address's allowance just before the
    /// argon2 work (after the permit, so that only running checks hold slots), and gives
    /// it back when the credential is good.
    async fn check_row(
        &self,
        db: &Db,
        presented: &str,
        digest: [u8; 32],
        stale_hash: Option<String>,
        counted: Option<ClientKey>,
        generation: u64,
    ) -> Result<Principal, Error> {
        let credential = match Credential::parse(presented) {
            Ok(credential) => credential,
            Err(e) => {
                if let Some(from) = counted {
                    // A malformed credential is a failure too, without any work to do.
                    drop(self.failures.begin(from).map_err(too_many_failures)?);
                }
                return Err(unauthorized(&e.to_string()));
            }
        };

        let kind = self.kind;
        let key_id = credential.key_id().as_str().to_owned();
        let row = db.run(move |conn| find(conn, kind, &key_id)).await?;

        // Renewing a stale entry: the same stored hash means this exact token was verified
        // against it already, so only revocation and expiry need checking (no argon2, so
        // an entry expiring under load does not set off a burst of 19 MiB checks).
        if let (Some(row), Some(hash)) = (&row, &stale_hash) {
            if &row.secret_hash == hash {
                return self.accept(db, digest, row, generation);
            }
        }

        let permit = self.checks.acquire().await.map_err(Error::internal)?;
        let attempt = match counted {
            Some(from) => Some(self.failures.begin(from).map_err(too_many_failures)?),
            None => None,
        };
        self.hash_checks.fetch_add(1, Ordering::Relaxed);
        let checked = actix_web::web::block(move || match row {
            Some(row) => {
                let valid = credential.verify(&row.secret_hash);
                (Some(row), valid)
            }
            None => {
                credential.verify_dummy();
                (None, false)
            }
        })
        .await;
        drop(permit);

        let result = match checked {
            Ok((Some(row), true)) => self.accept(db, digest, &row, generation),
            Ok(_) => Err(unauthorized("invalid token")),
            Err(e) => Err(Error::from(e)),
        };
        // Only a refused credential counts; the server's own trouble is not the client's
        // failure.
        if let Some(attempt) = attempt {
            if !matches!(result, Err(Error::Unauthorized(_))) {
                attempt.succeeded();
            }
        }
        result
    }

    /// A verified row: refused when revoked or expired, else cached and accepted.
    fn accept(
        &self,
        db: &Db,
        digest: [u8; 32],
        row: &Row,
        generation: u64,
    ) -> Result<Principal, Error> {
        match TokenState::at(row.revoked, row.expires_at, self.clock.now()) {
            TokenState::Revoked => return Err(unauthorized("the token has been revoked")),
            TokenState::Expired => return Err(unauthorized("the token has expired")),
            TokenState::Live => {}
        }
        self.remember(digest, row, generation);
        self.touch(db, &row.principal.key_id);
        Ok(row.principal.clone())
    }

    fn cached(&self, digest: &[u8; 32]) -> Hit {
        let cache = lock(&self.cache);
        let Some(hit) = cache.get(digest) else {
            return Hit::Miss;
        };
        // A cached entry is never revoked (revoking drops it); it may have expired since.
        if TokenState::at(false, hit.expires_at, self.clock.now()) != TokenState::Live {
            return Hit::Miss;
        }
        if !hit.stale && hit.cached_at.elapsed() < self.ttl {
            Hit::Fresh(hit.principal.clone())
        } else {
            Hit::Stale {
                secret_hash: hit.secret_hash.clone(),
            }
        }
    }

    fn remember(&self, digest: [u8; 32], row: &Row, generation: u64) {
        let mut cache = lock(&self.cache);
        // A revocation landed while this check ran: do not cache what it revoked.
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if cache.len() >= CACHE_SWEEP_AT {
            let ttl = self.ttl;
            cache.retain(|_, c| c.cached_at.elapsed() < ttl);
        }
        cache.insert(
            digest,
            Cached {
                principal: row.principal.clone(),
                expires_at: row.expires_at,
                secret_hash: row.secret_hash.clone(),
                cached_at: Instant::now(),
                stale: false,
            },
        );
    }

    /// Drops every cached entry of this key id, at once.
    pub fn forget_key(&self, key_id: &str) {
        let mut cache = lock(&self.cache);
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.retain(|_, c| c.principal.key_id != key_id);
    }

    /// Drops every cached entry of this tenant (the tenant was deleted).
    pub fn forget_tenant(&self, tenant_id: Uuid) {
        let mut cache = lock(&self.cache);
        self.generation.fetch_add(1, Ordering::AcqRel);
        cache.retain(|_, c| c.principal.tenant.as_ref().map(|t| t.id) != Some(tenant_id));
    }

    /// Marks this key id's entries stale (it changed somewhere): the next request reads
    /// its row again.
    pub fn expire_key(&self, key_id: &str) {
        self.expire(|c| c.principal.key_id == key_id);
    }

    /// Marks the entries of this tenant's tokens stale (the tenant changed or was deleted).
    pub fn expire_tenant(&self, tenant_id: Uuid) {
        self.expire(|c| c.principal.tenant.as_ref().map(|t| t.id) == Some(tenant_id));
    }

    /// Marks every entry stale: changes may have been missed.
    pub fn expire_all(&self) {
        self.expire(|_| true);
    }

    fn expire(&self, which: impl Fn(&Cached) -> bool) {
        let mut cache = lock(&self.cache);
        self.generation.fetch_add(1, Ordering::AcqRel);
        for entry in cache.values_mut().filter(|c| which(c)) {
            entry.stale = true;
        }
    }

    /// Records last use, at most once per `TOUCH_EVERY` per key, without delaying the request.
    fn touch(&self, db: &Db, key_id: &str) {
        {
            let mut touched = lock(&self.touched);
            if touched
                .get(key_id)
                .is_some_and(|at| at.elapsed() < TOUCH_EVERY)
            {
                return;
            }
            touched.insert(key_id.to_owned(), Instant::now());
        }
        let db = db.clone();
        let kind = self.kind;
        let key_id = key_id.to_owned();
        let at = self.clock.now();
        actix_web::rt::spawn(async move {
            let result = db
                .run(move |conn| {
                    Ok(match kind {
                        CredentialKind::ScimToken => credentials::touch_token(conn, &key_id, at),
                        CredentialKind::AdminKey => credentials::touch_admin_key(conn, &key_id, at),
                    }?)
                })
                .await;
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not record credential use");
            }
        });
    }
}

fn find(
    conn: &mut diesel::PgConnection,
    kind: CredentialKind,
    key_id: &str,
) -> Result<Option<Row>, Error> {
    Ok(match kind {
        CredentialKind::ScimToken => credentials::find_token(conn, key_id)?.map(|(t, slug)| Row {
            secret_hash: t.secret_hash,
            expires_at: t.expires_at,
            revoked: t.revoked_at.is_some(),
            principal: Principal {
                key_id: t.key_id,
                tenant: Some(TenantRef {
                    id: t.tenant_id,
                    slug,
                }),
            },
        }),
        CredentialKind::AdminKey => credentials::find_admin_key(conn, key_id)?.map(|k| Row {
            secret_hash: k.secret_hash,
            expires_at: k.expires_at,
            revoked: k.revoked_at.is_some(),
            principal: Principal {
                key_id: k.key_id,
                tenant: None,
            },
        }),
    })
}
