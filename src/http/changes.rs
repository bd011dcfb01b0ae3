//! What this node does when it hears of a change made elsewhere ([`crate::store::notify`]):
//! it drops what it cached of the changed credential or tenant, so every node acts on a
//! revocation, a deletion or a settings change within a second, whichever node or command
//! made it.

use super::AppState;
use crate::store::notify::{Change, Heard};

pub fn apply(state: &AppState, heard: &Heard) {
    match heard {
        Heard::Change(Change::Token(key_id)) => state.scim_tokens.expire_key(key_id),
        Heard::Change(Change::AdminKey(key_id)) => state.admin_keys.expire_key(key_id),
        Heard::Change(Change::Tenant(id)) => {
            state.scim_tokens.expire_tenant(*id);
            state.rate_limits.expire(*id);
        }
        // Whatever was announced while nobody listened is lost: read everything again.
        Heard::Listening => {
            state.scim_tokens.expire_all();
            state.admin_keys.expire_all();
            state.rate_limits.expire_all();
        }
        // Until it listens again, the caches' TTL bounds how stale they get.
        Heard::Lost => {}
    }
}
