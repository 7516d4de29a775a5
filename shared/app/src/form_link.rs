//! Signed form links (issue 3; ARCHITECTURE.md, Security).
//!
//! A link is `{base_url}/forms/{token}`. The token is
//! `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, claims JSON))`. The claims name
//! one project, one kind of measurement, an optional due date, an expiry (Unix seconds)
//! and a random nonce. Verification checks the signature in constant time before it reads
//! a claim, then the expiry. A token signed for one project can never write another,
//! because the project is a signed claim and never comes from the request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use hmac::{Hmac, Mac};
use roi_domain::{ProjectId, SnapshotKind};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The shortest accepted secret: 32 bytes, the HMAC-SHA256 block's half and the output size.
pub const MIN_SECRET_BYTES: usize = 32;

/// What a form link grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormClaims {
    /// The only project the link may write.
    #[serde(rename = "p")]
    pub project: ProjectId,
    /// Baseline or ongoing.
    #[serde(rename = "k")]
    pub kind: SnapshotKind,
    /// The measurement's due date; when given, it is the snapshot's date.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    /// When the link stops working, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: i64,
    /// Random, 128 bits in hex: tells links apart and keys the idempotency of the HTML form.
    #[serde(rename = "n")]
    pub nonce: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Malformed, or signed with another key, or altered: HTTP 403.
    #[error("this form link is not valid")]
    Tampered,
    /// Genuine but past its expiry: HTTP 410.
    #[error("this form link has expired")]
    Expired,
}

/// Why a signer could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the form-link secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
pub struct WeakSecret(pub usize);

/// Signs and verifies form links with one secret.
#[derive(Clone)]
pub struct FormSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for FormSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormSigner(..)")
    }
}

impl FormSigner {
    /// A signer with `secret` (from configuration, never from the repository).
    ///
    /// # Errors
    /// [`WeakSecret`] when it is shorter than [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8]) -> Result<Self, WeakSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(WeakSecret(secret.len()));
        }
        Ok(Self {
            secret: secret.to_vec(),
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }

    /// Claims for a new link with a fresh random nonce.
    ///
    /// # Errors
    /// When the operating system has no randomness to give.
    pub fn claims(
        project: ProjectId,
        kind: SnapshotKind,
        due: Option<NaiveDate>,
        expires_at: DateTime<Utc>,
    ) -> Result<FormClaims, getrandom::Error> {
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)?;
        Ok(FormClaims {
            project,
            kind,
            due,
            expires_at: expires_at.timestamp(),
            nonce: hex::encode(nonce),
        })
    }

    /// A signer for another kind of link, keyed with HMAC-SHA256(secret, `purpose`), so a
    /// token made for one purpose never verifies for another.
    pub fn for_purpose(&self, purpose: &str) -> Self {
        let mut mac = self.mac();
        mac.update(purpose.as_bytes());
        Self {
            secret: mac.finalize().into_bytes().to_vec(),
        }
    }

    /// The token for any claims: `base64url(JSON) "." base64url(HMAC-SHA256)`.
    pub fn sign_claims<T: Serialize>(&self, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The claims of a token made by [`FormSigner::sign_claims`], once its signature is
    /// checked (in constant time, before anything is read). Expiry is the caller's.
    ///
    /// # Errors
    /// [`LinkError::Tampered`].
    pub fn verify_claims<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<T, LinkError> {
        let (payload, tag) = token.split_once('.').ok_or(LinkError::Tampered)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LinkError::Tampered)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LinkError::Tampered)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| LinkError::Tampered)?;
        serde_json::from_slice(&payload).map_err(|_| LinkError::Tampered)
    }

    /// The token for `claims`.
    pub fn sign(&self, claims: &FormClaims) -> String {
        self.sign_claims(claims)
    }

    /// The claims of `token` if it is genuine and not expired at `now`.
    ///
    /// # Errors
    /// [`LinkError::Tampered`] or [`LinkError::Expired`].
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<FormClaims, LinkError> {
        let claims: FormClaims = self.verify_claims(token)?;
        if now.timestamp() >= claims.expires_at {
            return Err(LinkError::Expired);
        }
        Ok(claims)
    }
}

/// Parses a validity such as `14d`, `36h`, `90m` or `2w`.
///
/// # Errors
/// A message naming the accepted forms.
pub fn parse_validity(text: &str) -> Result<chrono::Duration, String> {
    let bad = || format!("'{text}' is not a duration such as 14d, 36h, 90m or 2w");
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = text.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "m" => chrono::Duration::try_minutes(n),
        "h" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        "w" => chrono::Duration::try_weeks(n),
        _ => None,
    }
    .ok_or_else(bad)?;
    if d <= chrono::Duration::zero() {
        return Err(bad());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        "2025-05-01T00:00:00Z".parse().unwrap()
    }

    fn claims(project: &str) -> FormClaims {
        FormSigner::claims(
            project.parse().unwrap(),
            SnapshotKind::Ongoing,
            None,
            now() + chrono::Duration::days(14),
        )
        .unwrap()
    }

    #[test]
    fn a_signed_token_verifies_to_its_claims() {
        let signer = FormSigner::new(SECRET).unwrap();
        let c = claims("acme-bot");
        assert_eq!(signer.verify(&signer.sign(&c), now()), Ok(c));
    }

    #[test]
    fn any_change_to_the_token_is_tampering() {
        let signer = FormSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims("acme-bot"));
        // a claim swapped for another project's, keeping the signature
        let other = signer.sign(&claims("globex-bot"));
        let forged = format!(
            "{}.{}",
            other.split('.').next().unwrap(),
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(signer.verify(&forged, now()), Err(LinkError::Tampered));
        // a flipped character anywhere
        for i in [0, token.len() / 2, token.len() - 1] {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            assert_eq!(
                signer.verify(&String::from_utf8(bytes).unwrap(), now()),
                Err(LinkError::Tampered),
                "at {i}"
            );
        }
        // another key, garbage, empty
        let stranger = FormSigner::new(b"another-secret-of-at-least-32-bytes!").unwrap();
        assert_eq!(stranger.verify(&token, now()), Err(LinkError::Tampered));
        for junk in ["", ".", "abc", "a.b.c", "%%%.###"] {
            assert_eq!(
                signer.verify(junk, now()),
                Err(LinkError::Tampered),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn a_genuine_token_past_its_expiry_is_expired() {
        let signer = FormSigner::new(SECRET).unwrap();
        let token = signer.sign(&claims("acme-bot"));
        assert_eq!(
            signer.verify(&token, now() + chrono::Duration::days(14)),
            Err(LinkError::Expired)
        );
    }

    #[test]
    fn short_secrets_and_bad_validities_are_refused() {
        assert_eq!(FormSigner::new(b"short").map(|_| ()), Err(WeakSecret(5)));
        assert_eq!(parse_validity("14d"), Ok(chrono::Duration::days(14)));
        assert_eq!(parse_validity("2w"), Ok(chrono::Duration::weeks(2)));
        for bad in ["", "d", "14", "14y", "0d", "-1d"] {
            assert!(parse_validity(bad).is_err(), "{bad:?}");
        }
    }
}
