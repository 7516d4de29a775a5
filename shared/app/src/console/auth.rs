//! Operator sign-in: an e-mailed link, HMAC-signed, single-use, valid
//! [`SIGN_IN_MINUTES`]; it opens a session named by a signed cookie; every state-changing
//! request carries a CSRF token derived from the session. The operators are named in the
//! deployment's configuration (`ROI_OPERATORS`, comma-separated e-mail addresses).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::form_link::{FormSigner, LinkError};
use crate::store::{SessionRecord, Store, StoreError};

/// How long a sign-in link works, minutes (issue 15).
pub const SIGN_IN_MINUTES: i64 = 15;
/// How long a session lasts, hours: a working day.
pub const SESSION_HOURS: i64 = 12;
/// The session cookie's name.
pub const COOKIE: &str = "roi_session";

/// What an operator may see and do (issue 20, "operator roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Every client.
    Admin,
    /// Only the clients whose settings name them as account manager
    /// (`account_manager_email`).
    AccountManager,
}

impl Role {
    /// `admin` or `account_manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::AccountManager => "account_manager",
        }
    }
}

/// The operators allowed in, by e-mail address (compared without case), each with a role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Operators(Vec<(String, Role)>);

impl Operators {
    /// Reads a comma- or whitespace-separated list of `address` or `address:role` entries
    /// (`role` is `admin` or `account_manager`; an entry without one is an account
    /// manager, the least access), e.g. `ops@consultancy.example:admin, ana@consultancy.example`.
    ///
    /// # Errors
    /// The first entry that is not an e-mail address or names an unknown role.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut out = Vec::new();
        for e in list
            .split([',', ' ', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let (address, role) = match e.rsplit_once(':') {
                Some((a, "admin")) => (a, Role::Admin),
                Some((a, "account_manager")) => (a, Role::AccountManager),
                Some((_, other)) => {
                    return Err(format!(
                        "'{other}' is not a role (admin or account_manager) in '{e}'"
                    ));
                }
                None => (e, Role::AccountManager),
            };
            if !address.contains('@') || address.len() > 254 {
                return Err(format!("'{address}' is not an operator's e-mail address"));
            }
            out.push((address.to_ascii_lowercase(), role));
        }
        Ok(Self(out))
    }

    /// The operator with this address (in the configured spelling) and their role.
    pub fn find(&self, email: &str) -> Option<(&str, Role)> {
        let email = email.trim().to_ascii_lowercase();
        self.0
            .iter()
            .find(|(o, _)| *o == email)
            .map(|(o, r)| (o.as_str(), *r))
    }

    /// The first operator (the local one `roi serve` signs in).
    pub fn first(&self) -> Option<&str> {
        self.0.first().map(|(o, _)| o.as_str())
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SignInClaims {
    #[serde(rename = "o")]
    operator: String,
    #[serde(rename = "n")]
    nonce: String,
    #[serde(rename = "e")]
    expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionClaims {
    #[serde(rename = "s")]
    session_id: String,
    #[serde(rename = "e")]
    expires_at: i64,
}

/// Why a sign-in link did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Altered, signed with another key, or for someone no longer an operator: 403.
    #[error("this sign-in link is not valid")]
    Invalid,
    /// Past its 15 minutes: 410.
    #[error("this sign-in link has expired; ask for a new one")]
    Expired,
    /// Used already: 410.
    #[error("this sign-in link has been used; ask for a new one")]
    Used,
    /// No randomness for the session id.
    #[error("no randomness: {0}")]
    Random(String),
    /// Storage failed: 503.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed-in operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// E-mail address.
    pub email: String,
    /// What they may see, from the configuration in force (a change applies to open
    /// sessions at once).
    pub role: Role,
    /// The session.
    pub session_id: String,
    /// The CSRF token every form of the session carries.
    pub csrf: String,
}

/// Signs sign-in links, session cookies and CSRF tokens, each with its own key derived
/// from the deployment's link secret.
#[derive(Debug, Clone)]
pub struct ConsoleAuth {
    sign_in: FormSigner,
    session: FormSigner,
    csrf: FormSigner,
    /// The operators.
    pub operators: Operators,
    /// Where the console is served, e.g. `https://api.example.com`.
    pub base_url: String,
}

fn random_hex() -> Result<String, SignInError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| SignInError::Random(e.to_string()))?;
    Ok(hex::encode(b))
}

impl ConsoleAuth {
    /// Auth for `operators`, with keys derived from `signer`'s secret.
    pub fn new(signer: &FormSigner, operators: Operators, base_url: &str) -> Self {
        Self {
            sign_in: signer.for_purpose("console-sign-in/v1"),
            session: signer.for_purpose("console-session/v1"),
            csrf: signer.for_purpose("console-csrf/v1"),
            operators,
            base_url: base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// A sign-in link for `operator`, valid [`SIGN_IN_MINUTES`] from `now`; `None` when
    /// the address is not an operator's.
    ///
    /// # Errors
    /// [`SignInError::Random`].
    pub fn sign_in_link(
        &self,
        operator: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, SignInError> {
        let Some((operator, _)) = self.operators.find(operator) else {
            return Ok(None);
        };
        let claims = SignInClaims {
            operator: operator.to_owned(),
            nonce: random_hex()?,
            expires_at: (now + Duration::minutes(SIGN_IN_MINUTES)).timestamp(),
        };
        Ok(Some(format!(
            "{}/console/sign-in/{}",
            self.base_url,
            self.sign_in.sign_claims(&claims)
        )))
    }

    /// Who a sign-in token is for, without using it (the page that asks to confirm).
    ///
    /// # Errors
    /// [`SignInError::Invalid`] or [`SignInError::Expired`].
    pub fn peek(&self, token: &str, now: DateTime<Utc>) -> Result<String, SignInError> {
        let claims = self.sign_in_claims(token, now)?;
        Ok(claims.operator)
    }

    fn sign_in_claims(&self, token: &str, now: DateTime<Utc>) -> Result<SignInClaims, SignInError> {
        let claims: SignInClaims = self
            .sign_in
            .verify_claims(token)
            .map_err(|_| SignInError::Invalid)?;
        if now.timestamp() >= claims.expires_at {
            return Err(SignInError::Expired);
        }
        if self.operators.find(&claims.operator).is_none() {
            return Err(SignInError::Invalid);
        }
        Ok(claims)
    }

    /// Uses a sign-in token: claims its nonce (a second use is [`SignInError::Used`]),
    /// stores a session of [`SESSION_HOURS`], and returns the operator and the cookie
    /// value.
    ///
    /// # Errors
    /// [`SignInError`].
    pub async fn redeem(
        &self,
        store: &Store,
        token: &str,
    ) -> Result<(Operator, String), SignInError> {
        let now = store.clock().now();
        let claims = self.sign_in_claims(token, now)?;
        let expiry = DateTime::from_timestamp(claims.expires_at, 0).unwrap_or(now);
        if !store.claim_sign_in(&claims.nonce, expiry).await? {
            return Err(SignInError::Used);
        }
        let session = SessionRecord {
            session_id: random_hex()?,
            operator: claims.operator,
            created_at: now,
            ends_at: now + Duration::hours(SESSION_HOURS),
        };
        store.put_session(&session).await?;
        let cookie = self.session.sign_claims(&SessionClaims {
            session_id: session.session_id.clone(),
            expires_at: session.ends_at.timestamp(),
        });
        let operator = self.operator(&session).ok_or(SignInError::Invalid)?;
        Ok((operator, cookie))
    }

    fn operator(&self, session: &SessionRecord) -> Option<Operator> {
        let (_, role) = self.operators.find(&session.operator)?;
        Some(Operator {
            email: session.operator.clone(),
            role,
            csrf: self.csrf.sign_claims(&session.session_id),
            session_id: session.session_id.clone(),
        })
    }

    /// The operator a session cookie names: genuine, unexpired, not signed out, and still
    /// an operator. `Ok(None)` otherwise.
    ///
    /// # Errors
    /// [`StoreError`] when the session cannot be read.
    pub async fn session(
        &self,
        store: &Store,
        cookie: &str,
    ) -> Result<Option<Operator>, StoreError> {
        let now = store.clock().now();
        let claims: SessionClaims = match self.session.verify_claims(cookie) {
            Ok(c) => c,
            Err(LinkError::Tampered | LinkError::Expired) => return Ok(None),
        };
        if now.timestamp() >= claims.expires_at {
            return Ok(None);
        }
        Ok(store
            .session(&claims.session_id)
            .await?
            .filter(|s| s.ends_at > now)
            .and_then(|s| self.operator(&s)))
    }

    /// Whether `operator` may see and act on `client`: an admin always; an account manager
    /// when the client's settings name them (`account_manager_email`).
    ///
    /// # Errors
    /// [`StoreError`] when the settings cannot be read.
    pub async fn may_see(
        &self,
        store: &Store,
        operator: &Operator,
        client: &roi_domain::ClientId,
    ) -> Result<bool, StoreError> {
        if operator.role == Role::Admin {
            return Ok(true);
        }
        Ok(store
            .settings(client)
            .await?
            .account_manager_email
            .is_some_and(|am| am.eq_ignore_ascii_case(&operator.email)))
    }

    /// Whether `token` is the CSRF token of `operator`'s session.
    pub fn csrf_ok(&self, operator: &Operator, token: &str) -> bool {
        self.csrf
            .verify_claims::<String>(token)
            .is_ok_and(|id| id == operator.session_id)
    }
}
