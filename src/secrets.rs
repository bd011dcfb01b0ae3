//! Secrets at rest (DESIGN.md, Pull sync: connection secrets are encrypted under
//! `SCIMD_SECRET_KEY`).
//!
//! A sealed value is AES-256-GCM under the server's key:
//!
//! ```text
//! version (1 byte, 1) | key fingerprint (4 bytes) | nonce (12 bytes, random) | ciphertext + tag
//! ```
//!
//! The associated data is the version, the fingerprint and the owning tenant's id, so a
//! sealed value copied into another tenant's row, or with its header changed, does not
//! open. The fingerprint (the first bytes of a SHA-256 of the key) says which key sealed
//! it: after a key change, values sealed under `SCIMD_SECRET_KEY_PREVIOUS` still open until
//! `scimd secret-key rotate` seals them again under the current key.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;

/// The env twin of the current key, named in errors.
pub const KEY_VAR: &str = "SCIMD_SECRET_KEY";
/// The env twin of the previous key, named in errors.
pub const PREVIOUS_KEY_VAR: &str = "SCIMD_SECRET_KEY_PREVIOUS";

const VERSION: u8 = 1;
const FINGERPRINT_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + FINGERPRINT_LEN;
/// AES-GCM's tag.
const TAG_LEN: usize = 16;

/// A key given in the environment is not a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("{var} is not standard base64 (generate a key with `scimd secret-key generate`)")]
    Base64 { var: &'static str },
    #[error("{var} must decode to 32 bytes, not {len} (generate a key with `scimd secret-key generate`)")]
    Length { var: &'static str, len: usize },
    #[error("{PREVIOUS_KEY_VAR} is set without {KEY_VAR}: the previous key only opens values while a current key seals them")]
    PreviousWithoutCurrent,
}

/// A sealed value does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("the sealed value is not one this server wrote (too short or an unknown version)")]
    Malformed,
    #[error("the value was sealed under a key that is neither {KEY_VAR} nor {PREVIOUS_KEY_VAR}")]
    UnknownKey,
    #[error("the sealed value does not open: it belongs to another tenant or was altered")]
    Rejected,
}

/// Sealing failed: AES-GCM refuses a plaintext larger than 64 GiB, nothing else.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the value cannot be sealed")]
pub struct SealError;

/// One AES-256 key and its fingerprint.
#[derive(Clone)]
struct Key {
    cipher: Aes256Gcm,
    fingerprint: [u8; FINGERPRINT_LEN],
    /// The key itself, only for deriving keys of other uses from it ([`Keyring::derive`]).
    bytes: [u8; 32],
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Self {
        let digest = Sha256::new()
            .chain_update(b"scimd secret key fingerprint\0")
            .chain_update(bytes)
            .finalize();
        let mut fingerprint = [0; FINGERPRINT_LEN];
        fingerprint.copy_from_slice(&digest[..FINGERPRINT_LEN]);
        Self {
            cipher: Aes256Gcm::new(bytes.into()),
            fingerprint,
            bytes: *bytes,
        }
    }

    fn parse(encoded: &Secret<String>, var: &'static str) -> Result<Self, KeyError> {
        let bytes = STANDARD
            .decode(encoded.expose().trim())
            .map_err(|_| KeyError::Base64 { var })?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| KeyError::Length {
            var,
            len: bytes.len(),
        })?;
        Ok(Self::new(&bytes))
    }
}

/// The associated data of a value: its header and its tenant.
fn aad(header: &[u8], tenant_id: Uuid) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 16);
    aad.extend_from_slice(header);
    aad.extend_from_slice(tenant_id.as_bytes());
    aad
}

/// The keys a server seals and opens with: the current one, and the previous one while a
/// rotation is under way.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Option<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The fingerprints say which keys are loaded without saying anything of them.
        let hex = |k: &Key| k.fingerprint.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("Keyring")
            .field("current", &hex(&self.current) as &String)
            .field(
                "previous",
                &self.previous.as_ref().map(hex) as &Option<String>,
            )
            .finish()
    }
}

impl Keyring {
    /// The keyring of the two settings: none without a current key.
    pub fn from_settings(
        current: Option<&Secret<String>>,
        previous: Option<&Secret<String>>,
    ) -> Result<Option<Self>, KeyError> {
        let previous = previous
            .map(|p| Key::parse(p, PREVIOUS_KEY_VAR))
            .transpose()?;
        match current {
            None if previous.is_some() => Err(KeyError::PreviousWithoutCurrent),
            None => Ok(None),
            Some(current) => Ok(Some(Self {
                current: Key::parse(current, KEY_VAR)?,
                previous,
            })),
        }
    }

    /// A keyring of raw keys (tests, and callers that hold the bytes already).
    pub fn new(current: &[u8; 32], previous: Option<&[u8; 32]>) -> Self {
        Self {
            current: Key::new(current),
            previous: previous.map(Key::new),
        }
    }

    /// Seals `plaintext` for `tenant_id` under the current key, with a fresh nonce.
    pub fn seal(&self, tenant_id: Uuid, plaintext: &str) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.extend_from_slice(&self.current.fingerprint);
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: &aad(&out, tenant_id),
        };
        let sealed = self
            .current
            .cipher
            .encrypt(&nonce, payload)
            .map_err(|_| SealError)?;
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a value sealed for `tenant_id` under the current or the previous key.
    pub fn open(&self, tenant_id: Uuid, sealed: &[u8]) -> Result<Secret<String>, OpenError> {
        if sealed.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(OpenError::Malformed);
        }
        let (header, rest) = sealed.split_at(HEADER_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self.key_of(&header[1..]).ok_or(OpenError::UnknownKey)?;
        let payload = Payload {
            msg: ciphertext,
            aad: &aad(header, tenant_id),
        };
        let plain = key
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| OpenError::Rejected)?;
        String::from_utf8(plain)
            .map(Secret::new)
            .map_err(|_| OpenError::Rejected)
    }

    /// The value sealed again under the current key (it may already be).
    pub fn reseal(&self, tenant_id: Uuid, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        let plain = self.open(tenant_id, sealed)?;
        self.seal(tenant_id, plain.expose())
            .map_err(|_| OpenError::Malformed)
    }

    /// A key for another use than sealing, derived from the current key with HKDF-SHA256
    /// (RFC 5869) under `info`, which names the use: keys of different uses are
    /// independent, and none of them reveals the sealing key.
    pub fn derive(&self, info: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (255 × 32): expand cannot fail.
        let _ =
            hkdf::Hkdf::<Sha256>::new(None, &self.current.bytes).expand(info.as_bytes(), &mut out);
        out
    }

    fn key_of(&self, fingerprint: &[u8]) -> Option<&Key> {
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|k| k.fingerprint == fingerprint)
    }
}

/// A new random key in the form `SCIMD_SECRET_KEY` takes (`scimd secret-key generate`).
pub fn generate_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    STANDARD.encode(bytes)
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    const A: [u8; 32] = [7; 32];
    const B: [u8; 32] = [9; 32];

    fn tenant() -> Uuid {
        Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
    }

    #[test]
    fn secrets_round_trip_and_the_plaintext_is_not_in_the_sealed_bytes() {
        let ring = Keyring::new(&A, None);
        let sealed = ring.seal(tenant(), "hunter2-client-secret").unwrap();
        assert!(!sealed
            .windows(b"hunter2".len())
            .any(|w| w == b"hunter2".as_slice()));
        assert_eq!(
            ring.open(tenant(), &sealed).map(|s| s.expose().clone()),
            Ok("hunter2-client-secret".to_owned())
        );
        // A fresh nonce each time: the same secret seals differently.
        assert_ne!(
            ring.seal(tenant(), "hunter2-client-secret").unwrap(),
            sealed
        );
    }

    #[test]
    fn secrets_sealed_for_one_tenant_do_not_open_for_another() {
        let ring = Keyring::new(&A, None);
        let sealed = ring.seal(tenant(), "s").unwrap();
        assert_eq!(
            ring.open(Uuid::from_u128(1), &sealed).map(|_| ()),
            Err(OpenError::Rejected)
        );
    }

    #[test]
    fn secrets_altered_anywhere_do_not_open() {
        let ring = Keyring::new(&A, None);
        let sealed = ring.seal(tenant(), "a client secret").unwrap();
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert!(ring.open(tenant(), &bad).is_err(), "byte {i}");
        }
        assert_eq!(
            ring.open(tenant(), &sealed[..10]).map(|_| ()),
            Err(OpenError::Malformed)
        );
    }

    #[test]
    fn secrets_sealed_under_the_previous_key_open_and_rotate_to_the_current() {
        let old = Keyring::new(&A, None);
        let sealed = old.seal(tenant(), "s3cret").unwrap();
        let rotated = Keyring::new(&B, Some(&A));
        assert_eq!(
            rotated.open(tenant(), &sealed).map(|s| s.expose().clone()),
            Ok("s3cret".to_owned())
        );
        let resealed = rotated.reseal(tenant(), &sealed).unwrap();
        // Under the current key alone, after the rotation.
        let current_only = Keyring::new(&B, None);
        assert_eq!(
            current_only
                .open(tenant(), &resealed)
                .map(|s| s.expose().clone()),
            Ok("s3cret".to_owned())
        );
        assert_eq!(
            current_only.open(tenant(), &sealed).map(|_| ()),
            Err(OpenError::UnknownKey)
        );
    }

    #[test]
    fn keys_from_the_environment_are_checked_and_named() {
        let key = |s: &str| Secret::new(s.to_owned());
        let good = key(&generate_key());
        assert!(matches!(
            Keyring::from_settings(Some(&good), None),
            Ok(Some(_))
        ));
        assert!(matches!(Keyring::from_settings(None, None), Ok(None)));
        let short = key(&STANDARD.encode([1u8; 16]));
        let err = Keyring::from_settings(Some(&short), None).unwrap_err();
        assert_eq!(
            err,
            KeyError::Length {
                var: KEY_VAR,
                len: 16
            }
        );
        assert!(err
            .to_string()
            .starts_with("SCIMD_SECRET_KEY must decode to 32 bytes"));
        let err = Keyring::from_settings(Some(&good), Some(&key("not base64!"))).unwrap_err();
        assert_eq!(
            err,
            KeyError::Base64 {
                var: PREVIOUS_KEY_VAR
            }
        );
        assert_eq!(
            Keyring::from_settings(None, Some(&good)).unwrap_err(),
            KeyError::PreviousWithoutCurrent
        );
    }

    #[test]
    fn derived_keys_differ_by_use_and_by_key_and_are_not_the_key() {
        let ring = Keyring::new(&A, Some(&B));
        let state = ring.derive("scimd connect-link state");
        assert_eq!(
            state,
            Keyring::new(&A, None).derive("scimd connect-link state")
        );
        assert_ne!(state, ring.derive("another use"));
        assert_ne!(
            state,
            Keyring::new(&B, None).derive("scimd connect-link state")
        );
        assert_ne!(state, A);
    }

    #[test]
    fn a_keyring_never_prints_its_keys() {
        let ring = Keyring::new(&A, Some(&B));
        let shown = format!("{ring:?}");
        assert!(
            !shown.contains("7, 7") && !shown.contains("0707"),
            "{shown}"
        );
        assert!(shown.contains("previous: Some"), "{shown}");
    }
}
