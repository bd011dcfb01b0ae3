//! The credential format and its hashing.

use std::fmt;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

const PREFIX: &str = "scimd_";
const KEY_ID_LEN: usize = 16;
const SECRET_LEN: usize = 40;
const KEY_ID_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A credential's public half: 16 characters of `[a-z0-9]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == KEY_ID_LEN && s.bytes().all(|b| KEY_ID_ALPHABET.contains(&b)))
            .then(|| Self(s.to_owned()))
    }

    fn generate() -> Self {
        let mut rng = rand::thread_rng();
        Self(
            (0..KEY_ID_LEN)
                .map(|_| char::from(KEY_ID_ALPHABET[rng.gen_range(0..KEY_ID_ALPHABET.len())]))
                .collect(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseCredentialError {
    #[error("the token does not have the form scimd_<key id>_<secret>")]
    Malformed,
}

/// A parsed `scimd_<key id>_<secret>` credential. `Debug` hides the secret.
#[derive(Clone)]
pub struct Credential {
    key_id: KeyId,
    secret: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Credential {
    pub fn parse(s: &str) -> Result<Self, ParseCredentialError> {
        let rest = s
            .strip_prefix(PREFIX)
            .ok_or(ParseCredentialError::Malformed)?;
        let (key, secret) = rest
            .split_once('_')
            .ok_or(ParseCredentialError::Malformed)?;
        let key_id = KeyId::parse(key).ok_or(ParseCredentialError::Malformed)?;
        if secret.len() != SECRET_LEN || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ParseCredentialError::Malformed);
        }
        Ok(Self {
            key_id,
            secret: secret.to_owned(),
        })
    }

    /// A fresh random credential (82 bits of key id, 238 bits of secret).
    pub fn generate() -> Self {
        Self {
            key_id: KeyId::generate(),
            secret: Alphanumeric.sample_string(&mut rand::thread_rng(), SECRET_LEN),
        }
    }

    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The plaintext, to show once at issue.
    pub fn reveal(&self) -> String {
        format!("{PREFIX}{}_{}", self.key_id, self.secret)
    }

    pub fn verify(&self, phc: &str) -> bool {
        verify_secret(&self.secret, phc)
    }

    /// Spends the same time as a real check, for an unknown key id.
    pub fn verify_dummy(&self) {
        let _ = verify_secret(&self.secret, dummy_hash());
    }

    pub fn hash(&self) -> Result<String, argon2::password_hash::Error> {
        hash_secret(&self.secret)
    }
}

/// argon2id (the crate's defaults: v19, m=19 MiB, t=2, p=1) in PHC string form.
pub fn hash_secret(secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

fn verify_secret(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(secret.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random secret nobody knows, made once per process, with the same
/// parameters as real hashes so that checking it costs the same.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let secret = Alphanumeric.sample_string(&mut rand::thread_rng(), SECRET_LEN);
        hash_secret(&secret).unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_parse_back() {
        let cred = Credential::generate();
        let text = cred.reveal();
        assert!(text.starts_with("scimd_"));
        let parsed = Credential::parse(&text).map(|c| c.reveal());
        assert_eq!(parsed, Ok(text));
    }

    #[test]
    fn malformed_credentials_are_rejected() {
        let good = Credential::generate().reveal();
        let cases = [
            String::new(),
            "scimd_".into(),
            good.replacen("scimd_", "scim_", 1),
            good[..good.len() - 1].to_owned(),
            format!("{good}x"),
            good.replacen('_', "-", 2),
            format!("scimd_{}_{}", "A".repeat(16), "a".repeat(40)),
            format!("scimd_{}_{}", "a".repeat(16), "é".repeat(20)),
        ];
        for case in cases {
            assert_eq!(
                Credential::parse(&case).err(),
                Some(ParseCredentialError::Malformed),
                "{case}"
            );
        }
    }

    #[test]
    fn secrets_verify_against_their_hash_only() {
        let cred = Credential::generate();
        let hash = cred.hash().unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(cred.verify(&hash));
        assert!(!Credential::generate().verify(&hash));
        assert!(!cred.verify("not a phc string"));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let cred = Credential::generate();
        let shown = format!("{cred:?}");
        assert!(!shown.contains(&cred.secret));
    }
}
