//! The [`SecretStore`] port: named secrets (Secrets Manager on AWS, files locally).

use async_trait::async_trait;

/// What went wrong in a [`SecretStore`] call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The name or value cannot be stored as given (a name outside `[A-Za-z0-9/_+=.@-]`,
    /// over 512 bytes, with an empty or `..` segment; an empty value).
    #[error("secret refused: {0}")]
    Rejected(String),
    /// The secret store could not be reached after retries, or refused access.
    #[error("secret store unavailable: {0}")]
    Unavailable(String),
}

/// Whether `name` is a secret name every [`SecretStore`] takes: 1 to 512 bytes of
/// `A-Z a-z 0-9 / _ + = . @ -` (Secrets Manager's alphabet), no empty segment between
/// slashes, no `.` or `..` segment.
pub fn secret_name_allowed(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
        && name
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// Keeps secrets (the clients' webhook signing secrets) out of the table. Every adapter
/// must read back the latest value put under a name, answer `None` for a name never put,
/// and refuse a name [`secret_name_allowed`] refuses or an empty value. A put replaces the
/// value.
///
/// # Errors
/// [`SecretError`].
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Stores `value` under `name`, creating or replacing it.
    async fn put(&self, name: &str, value: &str) -> Result<(), SecretError>;
    /// The value under `name`, or `None` when there is none.
    async fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
}
