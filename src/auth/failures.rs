//! Failed sign-ins, limited per client address before any argon2 or database work.
//!
//! Every presented credential that the verifier's cache cannot answer (a SCIM token, an
//! admin key, anything else checked through [`super::Verifier`]) takes a slot from its
//! client address's allowance before it is checked; the slot is given back when the
//! credential turns out good. An address that has used its allowance (by default 20
//! failures a minute) gets 429 with `Retry-After` for such credentials until a slot frees
//! up; its failures age out at the same rate (GCRA: one slot every minute / limit).
//!
//! - The slot is taken just before the check's argon2 work, once the check holds one of
//!   the verifier's few argon2 permits, so concurrent requests from one address cannot
//!   all slip through before the first failure is counted. An address already over its
//!   allowance is refused earlier still, before the credential's row is read
//!   ([`SignInLimiter::admits`]). Slots are never held by checks that merely wait their
//!   turn: a burst of first uses of many good credentials from one address (an IdP
//!   connecting with the tokens of many tenants after a restart) is not mistaken for a
//!   flood.
//! - A success does not reset the count: a client that holds one valid credential cannot
//!   use it to buy more guesses. It does not need to either, because credentials already
//!   verified are answered by the cache without coming here, so a limited address's good
//!   tokens keep working; only a credential this node has never verified waits.
//! - Addresses are counted one by one; IPv6 ones by their /64, which one subscriber
//!   usually holds whole. A flood from many addresses cannot grow the table without
//!   limit: at `capacity` entries, the recovered ones are dropped (at most once a second),
//!   and an address that still finds no room is not counted (the verifier's bound on
//!   concurrent argon2 checks still holds it).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::SharedClock;

/// How many addresses are tracked at most (about 64 bytes each).
pub const DEFAULT_CAPACITY: usize = 100_000;

/// Where a request comes from, as far as sign-in limits are concerned: the client's
/// address (see `http::client`), or none for a connection without one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(Option<IpAddr>);

impl ClientKey {
    pub fn new(addr: Option<IpAddr>) -> Self {
        Self(addr.map(|a| match a.to_canonical() {
            IpAddr::V6(v6) => {
                let [a, b, c, d, ..] = v6.segments();
                IpAddr::V6(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
            v4 => v4,
        }))
    }
}

/// An address that has used its allowance: retry after this long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited(pub Duration);

pub struct SignInLimiter {
    clock: SharedClock,
    /// Failures allowed per window; 0 turns the limit off.
    per_window: u32,
    window: chrono::Duration,
    capacity: usize,
    table: Mutex<Table>,
}

struct Table {
    /// Per address, GCRA's theoretical arrival time: when all of its slots are free.
    entries: HashMap<ClientKey, DateTime<Utc>>,
    /// When the full table was last swept of recovered addresses: at most once a second,
    /// so that a flood of new addresses does not make every request walk the table.
    swept_at: Option<DateTime<Utc>>,
}

/// A slot taken by a check in progress. Unless [`Attempt::succeeded`] is called it counts
/// as a failure, also when the request goes away while its check runs.
#[must_use]
pub struct Attempt {
    limiter: Option<Arc<SignInLimiter>>,
    key: ClientKey,
}

impl Attempt {
    /// The credential was good (or could not be checked for the server's own reasons):
    /// its slot is given back.
    pub fn succeeded(mut self) {
        if let Some(limiter) = self.limiter.take() {
            limiter.give_back(self.key);
        }
    }
}

impl SignInLimiter {
    /// `per_minute` failures a minute per address (0: no limit).
    pub fn new(clock: SharedClock, per_minute: u32) -> Self {
        Self::with_capacity(clock, per_minute, DEFAULT_CAPACITY)
    }

    pub fn with_capacity(clock: SharedClock, per_minute: u32, capacity: usize) -> Self {
        Self {
            clock,
            per_window: per_minute,
            window: chrono::Duration::minutes(1),
            capacity: capacity.max(1),
            table: Mutex::new(Table {
                entries: HashMap::new(),
                swept_at: None,
            }),
        }
    }

    fn interval(&self) -> chrono::Duration {
        self.window / i32::try_from(self.per_window.max(1)).unwrap_or(i32::MAX)
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many addresses are tracked now.
    pub fn tracked(&self) -> usize {
        self.table().entries.len()
    }

    /// Whether `key` has a slot free now, without taking it: the cheap refusal made before
    /// a check reads anything. The slot itself is taken by [`SignInLimiter::begin`] when
    /// the check is about to run.
    pub fn admits(&self, key: ClientKey) -> Result<(), Limited> {
        if self.per_window == 0 {
            return Ok(());
        }
        let now = self.clock.now();
        let table = self.table();
        let Some(tat) = table.entries.get(&key) else {
            return Ok(());
        };
        let over = (*tat).max(now) + self.interval() - now - self.window;
        if over > chrono::Duration::zero() {
            return Err(Limited(over.to_std().unwrap_or(Duration::ZERO)));
        }
        Ok(())
    }

    /// Takes a slot for a check from `key`, or says how long the address must wait.
    pub fn begin(self: &Arc<Self>, key: ClientKey) -> Result<Attempt, Limited> {
        if self.per_window == 0 {
            return Ok(Attempt { limiter: None, key });
        }
        let now = self.clock.now();
        let interval = self.interval();
        let mut table = self.table();
        let Table { entries, swept_at } = &mut *table;
        if !entries.contains_key(&key) && entries.len() >= self.capacity {
            if swept_at.is_none_or(|at| now - at >= chrono::Duration::seconds(1)) {
                entries.retain(|_, tat| *tat > now);
                *swept_at = Some(now);
            }
            if entries.len() >= self.capacity {
                // No room: not counted (see the module doc).
                return Ok(Attempt { limiter: None, key });
            }
        }
        let tat = entries.entry(key).or_insert(now);
        let next = (*tat).max(now) + interval;
        // GCRA: the slot conforms when it ends within one window from now.
        let over = next - now - self.window;
        if over > chrono::Duration::zero() {
            return Err(Limited(over.to_std().unwrap_or(Duration::ZERO)));
        }
        *tat = next;
        Ok(Attempt {
            limiter: Some(Arc::clone(self)),
            key,
        })
    }

    fn give_back(&self, key: ClientKey) {
        let now = self.clock.now();
        let interval = self.interval();
        let entries = &mut self.table().entries;
        if let Some(tat) = entries.get_mut(&key) {
            *tat -= interval;
            if *tat <= now {
                entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
#[expect(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn key(s: &str) -> ClientKey {
        ClientKey::new(s.parse().ok())
    }

    fn setup(per_minute: u32, capacity: usize) -> (Arc<ManualClock>, Arc<SignInLimiter>) {
        let manual = Arc::new(ManualClock::new(Utc::now()));
        let clock: SharedClock = manual.clone();
        let limiter = Arc::new(SignInLimiter::with_capacity(clock, per_minute, capacity));
        (manual, limiter)
    }

    #[test]
    fn an_address_gets_its_allowance_then_waits_and_recovers_at_the_rate() {
        let (clock, limiter) = setup(20, 100);
        let bad = key("192.0.2.7");
        for i in 0..20 {
            assert!(
                limiter.begin(bad).is_ok(),
                "failure {i} is within the allowance"
            );
        }
        let Err(Limited(wait)) = limiter.begin(bad) else {
            panic!("the 21st failure in a minute must be refused");
        };
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        // Another address is untouched.
        assert!(limiter.begin(key("192.0.2.8")).is_ok());
        // One slot frees every 3 seconds (20 a minute).
        clock.advance(chrono::Duration::seconds(3));
        assert!(limiter.admits(bad).is_ok(), "a slot is free again");
        assert!(limiter.begin(bad).is_ok());
        assert!(limiter.admits(bad).is_err());
        assert!(limiter.begin(bad).is_err());
        clock.advance(chrono::Duration::seconds(60));
        for _ in 0..20 {
            assert!(limiter.begin(bad).is_ok());
        }
        assert!(limiter.begin(bad).is_err());
    }

    #[test]
    fn successes_give_their_slot_back_but_do_not_reset_failures() {
        let (_clock, limiter) = setup(5, 100);
        let addr = key("198.51.100.1");
        for _ in 0..100 {
            limiter
                .begin(addr)
                .map(Attempt::succeeded)
                .expect("successes never use the allowance up");
        }
        for _ in 0..4 {
            drop(limiter.begin(addr).expect("a failure"));
        }
        // A success in between: still one failure left, not five.
        limiter.begin(addr).expect("good").succeeded();
        drop(limiter.begin(addr).expect("the fifth failure"));
        assert!(limiter.begin(addr).is_err());
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_v4_as_v4() {
        let (_clock, limiter) = setup(2, 100);
        drop(limiter.begin(key("2001:db8:1:2::1")));
        drop(limiter.begin(key("2001:db8:1:2:ffff::9")));
        assert!(limiter.begin(key("2001:db8:1:2::abcd")).is_err());
        assert!(limiter.begin(key("2001:db8:1:3::1")).is_ok());
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
    }

    #[test]
    fn a_flood_from_many_addresses_never_grows_the_table_past_its_capacity() {
        let (clock, limiter) = setup(20, 1000);
        for i in 0..50_000u32 {
            let addr = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            drop(limiter.begin(ClientKey::new(Some(addr))));
            assert!(limiter.tracked() <= 1000);
        }
        assert_eq!(limiter.tracked(), 1000);
        // No room: an address that finds none is not counted.
        let untracked = key("203.0.113.8");
        for _ in 0..25 {
            drop(limiter.begin(untracked).expect("not counted"));
        }
        // Once the tracked addresses have recovered, new ones are counted again.
        clock.advance(chrono::Duration::seconds(4));
        let newcomer = key("203.0.113.9");
        for _ in 0..20 {
            drop(limiter.begin(newcomer).expect("within the allowance"));
        }
        assert!(limiter.begin(newcomer).is_err());
        assert!(limiter.tracked() <= 1000);
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let (_clock, limiter) = setup(0, 10);
        for _ in 0..1000 {
            drop(limiter.begin(key("192.0.2.1")).expect("no limit"));
        }
        assert_eq!(limiter.tracked(), 0);
    }
}
