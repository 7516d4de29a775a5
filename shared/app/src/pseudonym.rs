//! Keyed pseudonyms of end users (issue 20): what is stored instead of a user id.
//!
//! pseudonym = `u_` + first 64 bits, hex, of HMAC-SHA256(key, legacy hash), where the legacy hash
//! is what earlier releases stored: 16 hex digits of SHA-256(client NUL user id). Without
//! the per-deployment key (Secrets Manager on AWS, a generated file of mode 0600 under the
//! data directory locally) no dictionary of user ids or e-mail addresses leads back to a
//! person; with it, the mapping is stable, so DAU/WAU/MAU and retention stay continuous.
//! Because the HMAC is taken over the legacy hash, a stored legacy hash is migrated in place
//! by [`PseudonymKey::rekey`], without knowing the user id it came from
//! ([`crate::privacy::migrate_pseudonyms`]).

use std::sync::Arc;

use tokio::sync::OnceCell;

use hmac::{Hmac, Mac};
use roi_domain::ClientId;
use roi_domain::ports::{SecretError, SecretStore};
use sha2::{Digest, Sha256};

/// The secret's name locally (under the data directory's `secrets/`); on AWS the stack's
/// secret named by `ROI_PSEUDONYM_SECRET`.
pub const LOCAL_SECRET_NAME: &str = "pseudonym-key";

/// The per-deployment pseudonym key: 32 bytes, with its HMAC state keyed once (every
/// stored event with a user takes a pseudonym).
#[derive(Clone)]
pub struct PseudonymKey {
    key: [u8; 32],
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PseudonymKey(…)")
    }
}

impl PseudonymKey {
    /// The key a stored secret names: SHA-256 of its text (any length of at least 32
    /// characters; a generated one is 64 hex digits).
    ///
    /// # Errors
    /// [`SecretError::Rejected`] for a secret under 32 characters.
    pub fn from_secret(secret: &str) -> Result<Self, SecretError> {
        let secret = secret.trim();
        if secret.chars().count() < 32 {
            return Err(SecretError::Rejected(
                "a pseudonym key has at least 32 characters".into(),
            ));
        }
        Ok(Self::new(Sha256::digest(secret.as_bytes()).into()))
    }

    /// A fresh random key.
    ///
    /// # Errors
    /// The system's random source failed.
    pub fn random() -> Result<Self, getrandom::Error> {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k)?;
        Ok(Self::new(k))
    }

    fn new(key: [u8; 32]) -> Self {
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Self { key, mac }
    }

    /// The pseudonym of `user` at `client` (module docs).
    pub fn pseudonym(&self, client: &ClientId, user: &str) -> String {
        self.rekey(&legacy_hash(client, user))
    }

    /// The pseudonym of a stored legacy hash (module docs).
    pub fn rekey(&self, legacy: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(legacy.as_bytes());
        format!("{PREFIX}{}", hex::encode(&mac.finalize().into_bytes()[..8]))
    }
}

/// What starts every keyed pseudonym, so a legacy hash (16 bare hex digits) is told apart.
pub const PREFIX: &str = "u_";

/// Whether `stored` is a legacy hash (16 hex digits), to be rekeyed.
pub fn is_legacy(stored: &str) -> bool {
    stored.len() == 16 && stored.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What earlier releases stored: 16 hex digits of SHA-256(client NUL user). A dictionary of
/// ids reverses it; never stored any more, only the HMAC over it.
pub fn legacy_hash(client: &ClientId, user: &str) -> String {
    let mut h = Sha256::new();
    h.update(client.as_str().as_bytes());
    h.update([0u8]);
    h.update(user.as_bytes());
    hex::encode(&h.finalize()[..8])
}

/// Where a store's pseudonym key comes from, read once, when first needed.
pub struct Pseudonyms {
    source: Source,
    /// Set once; concurrent first uses wait for one read (or creation) of the secret.
    key: OnceCell<PseudonymKey>,
}

enum Source {
    Fixed,
    Missing(String),
    Secret {
        secrets: Arc<dyn SecretStore>,
        name: String,
        create: bool,
    },
}

impl std::fmt::Debug for Pseudonyms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonyms").finish_non_exhaustive()
    }
}

impl Pseudonyms {
    /// A fixed key (tests, and a store whose key is known at start).
    pub fn fixed(key: PseudonymKey) -> Self {
        Self {
            source: Source::Fixed,
            key: OnceCell::new_with(Some(key)),
        }
    }

    /// No key configured: every use fails with `why` (what to set), so that events are
    /// never stored under a key that changes from run to run.
    pub fn missing(why: impl Into<String>) -> Self {
        Self {
            source: Source::Missing(why.into()),
            key: OnceCell::new(),
        }
    }

    /// The secret `name` of `secrets`; with `create`, a random key is generated and stored
    /// when there is none (locally: the first command run makes it).
    pub fn secret(secrets: Arc<dyn SecretStore>, name: impl Into<String>, create: bool) -> Self {
        Self {
            source: Source::Secret {
                secrets,
                name: name.into(),
                create,
            },
            key: OnceCell::new(),
        }
    }

    /// The key, read from its secret the first time.
    ///
    /// # Errors
    /// [`SecretError`]: the secret store failed, or the secret is missing (and not to be
    /// created) or too short.
    pub async fn key(&self) -> Result<&PseudonymKey, SecretError> {
        self.key.get_or_try_init(|| self.load()).await
    }

    async fn load(&self) -> Result<PseudonymKey, SecretError> {
        let (secrets, name, create) = match &self.source {
            Source::Secret {
                secrets,
                name,
                create,
            } => (secrets, name, create),
            Source::Missing(why) => return Err(SecretError::Unavailable(why.clone())),
            Source::Fixed => return Err(SecretError::Unavailable("no pseudonym key".into())),
        };
        let text = match secrets.get(name).await? {
            Some(t) => t,
            None if *create => {
                let fresh = PseudonymKey::random()
                    .map_err(|e| SecretError::Unavailable(format!("no random source: {e}")))?;
                let text = hex::encode(fresh.key);
                secrets.put(name, &text).await?;
                // read back: a concurrent first run may have stored its own
                secrets.get(name).await?.unwrap_or(text)
            }
            None => {
                return Err(SecretError::Unavailable(format!(
                    "the pseudonym key secret '{name}' does not exist"
                )));
            }
        };
        PseudonymKey::from_secret(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pseudonym_is_the_keyed_rehash_of_the_legacy_hash() {
        let key = PseudonymKey::from_secret(&"k".repeat(40)).unwrap();
        let other = PseudonymKey::from_secret(&"j".repeat(40)).unwrap();
        let client: ClientId = "acme".parse().unwrap();
        let p = key.pseudonym(&client, "ana@example.com");
        assert_eq!(p.len(), 18);
        assert!(p.starts_with(PREFIX) && !is_legacy(&p));
        assert!(is_legacy(&legacy_hash(&client, "ana@example.com")));
        assert_eq!(p, key.rekey(&legacy_hash(&client, "ana@example.com")));
        assert_ne!(p, legacy_hash(&client, "ana@example.com"));
        assert_ne!(p, other.pseudonym(&client, "ana@example.com"));
        assert!(PseudonymKey::from_secret("short").is_err());
    }
}
