//! A service account's JSON key, as Google Cloud gives it out ("Create and delete service
//! account keys": `type`, `project_id`, `private_key_id`, `private_key`, `client_email`,
//! `client_id`, `token_uri`, …).

use serde::Deserialize;
use url::Url;

use crate::config::Secret;
use crate::sync::SyncError;

/// The longest key file taken (Google's are about 2.3 KB).
const MAX_KEY_BYTES: usize = 16 * 1024;

#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    client_email: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    private_key: String,
    #[serde(default)]
    private_key_id: Option<String>,
    #[serde(default)]
    token_uri: Option<String>,
}

/// A parsed key: who the account is, and the private key it signs with.
#[derive(Clone)]
pub struct ServiceAccount {
    client_email: String,
    client_id: String,
    key_id: Option<String>,
    token_uri: Option<String>,
    key: jsonwebtoken::EncodingKey,
    /// The key file as given: what is sealed and stored.
    json: Secret<String>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads a key file; what is wrong with it, in plain words, otherwise.
    pub fn parse(json: &str) -> Result<Self, String> {
        if json.len() > MAX_KEY_BYTES {
            return Err(format!(
                "the service account key is longer than {MAX_KEY_BYTES} bytes; give the JSON \
                 key file Google Cloud created"
            ));
        }
        let file: KeyFile = serde_json::from_str(json)
            .map_err(|e| format!("the service account key is not a JSON key file ({e})"))?;
        if file.kind != "service_account" {
            return Err(format!(
                "the key's `type` is {:?}, not \"service_account\": give a service account's \
                 JSON key",
                file.kind
            ));
        }
        if !crate::domain::is_email(&file.client_email) {
            return Err("the service account key has no `client_email`".into());
        }
        let key =
            jsonwebtoken::EncodingKey::from_rsa_pem(file.private_key.as_bytes()).map_err(|_| {
                "the service account key's `private_key` is not an RSA private key in PEM form"
                    .to_owned()
            })?;
        if let Some(uri) = &file.token_uri {
            let ok = Url::parse(uri).is_ok_and(|u| u.scheme() == "https" && u.host().is_some());
            if !ok {
                return Err(format!(
                    "the service account key's `token_uri` {uri:?} is not an https URL"
                ));
            }
        }
        Ok(Self {
            client_email: file.client_email,
            client_id: file.client_id,
            key_id: file.private_key_id.filter(|k| !k.is_empty()),
            token_uri: file.token_uri,
            key,
            json: Secret::new(json.to_owned()),
        })
    }

    /// The account's address: the JWT's issuer.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The account's numeric client id: what a Workspace administrator enters for
    /// domain-wide delegation.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    pub(super) fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    pub(super) fn signing_key(&self) -> &jsonwebtoken::EncodingKey {
        &self.key
    }

    /// The key file as given, to seal.
    pub fn json(&self) -> &Secret<String> {
        &self.json
    }

    /// Where tokens are asked for: the key's `token_uri`, else Google's.
    pub(super) fn token_uri(&self) -> Result<Url, SyncError> {
        let uri = self.token_uri.as_deref().unwrap_or(super::TOKEN_URI);
        Url::parse(uri).map_err(|e| SyncError::new("bad_config", format!("{uri}: {e}")))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A key file around a fresh RSA key (made here, used nowhere else).
    fn key_file(token_uri: &str) -> serde_json::Value {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pem = openssl::pkey::PKey::from_rsa(rsa)
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        serde_json::json!({
            "type": "service_account",
            "private_key_id": "k1",
            "private_key": String::from_utf8(pem).unwrap(),
            "client_email": "sync@project.iam.gserviceaccount.com",
            "client_id": "1234",
            "token_uri": token_uri,
        })
    }

    #[test]
    fn a_key_file_reads_and_keeps_its_text_to_seal() {
        let file = key_file("https://oauth2.googleapis.com/token");
        let account = ServiceAccount::parse(&file.to_string()).unwrap();
        assert_eq!(
            account.client_email(),
            "sync@project.iam.gserviceaccount.com"
        );
        assert_eq!(account.client_id(), "1234");
        assert_eq!(account.json().expose(), &file.to_string());
        assert_eq!(
            account.token_uri().unwrap().as_str(),
            "https://oauth2.googleapis.com/token"
        );
        assert!(!format!("{account:?}").contains("PRIVATE"));
    }

    #[test]
    fn what_is_not_a_service_account_key_is_refused_in_words() {
        let plain_http = key_file("http://oauth2.example/token").to_string();
        assert!(ServiceAccount::parse(&plain_http)
            .unwrap_err()
            .contains("token_uri"));
        let mut user = key_file("https://oauth2.googleapis.com/token");
        user["type"] = "authorized_user".into();
        assert!(ServiceAccount::parse(&user.to_string())
            .unwrap_err()
            .contains("service_account"));
        let mut bad = key_file("https://oauth2.googleapis.com/token");
        bad["private_key"] = "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----".into();
        assert!(ServiceAccount::parse(&bad.to_string())
            .unwrap_err()
            .contains("private_key"));
        assert!(ServiceAccount::parse("{").unwrap_err().contains("JSON"));
    }
}
