//! The AWS [`SecretStore`]: AWS Secrets Manager. A put is `PutSecretValue` on an existing
//! secret, else `CreateSecret`; a get is `GetSecretValue` of the current version. Secrets
//! are encrypted with the account's AWS-managed Secrets Manager key.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;
use roi_domain::ports::{SecretError, SecretStore, secret_name_allowed};

/// A [`SecretStore`] on Secrets Manager.
#[derive(Debug, Clone)]
pub struct SecretsManagerStore {
    client: Client,
}

impl SecretsManagerStore {
    /// Keeps secrets through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn check(name: &str) -> Result<(), SecretError> {
    if secret_name_allowed(name) {
        Ok(())
    } else {
        Err(SecretError::Rejected(format!(
            "'{name}' is not a secret name (1 to 512 of A-Z a-z 0-9 / _ + = . @ -)"
        )))
    }
}

fn unavailable<E: std::error::Error + 'static>(what: &str, e: E) -> SecretError {
    tracing::warn!(error = %DisplayErrorContext(&e), what, "Secrets Manager call failed");
    SecretError::Unavailable(format!("Secrets Manager {what} failed"))
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn put(&self, name: &str, value: &str) -> Result<(), SecretError> {
        check(name)?;
        if value.is_empty() {
            return Err(SecretError::Rejected("an empty secret".into()));
        }
        let replaced = self
            .client
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await;
        match replaced {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                self.client
                    .create_secret()
                    .name(name)
                    .description("roi-tracker: a client's webhook signing secret")
                    .secret_string(value)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| unavailable("CreateSecret", e))
            }
            Err(e) => Err(unavailable("PutSecretValue", e)),
        }
    }

    async fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        check(name)?;
        match self.client.get_secret_value().secret_id(name).send().await {
            Ok(out) => Ok(out.secret_string),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_not_found_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(unavailable("GetSecretValue", e)),
        }
    }
}
