//! The [`Mailer`] port: e-mail with a text and an HTML body.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One e-mail with a text and an HTML body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// Sender address (a verified SES identity on AWS).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// What went wrong in a [`Mailer`] call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The message cannot be sent as given (no recipient, bad address, unverified sender).
    #[error("message rejected: {0}")]
    Rejected(String),
    /// The mail service could not be reached after retries; nothing was sent.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

/// Sends e-mail. Every adapter must deliver the subject, both bodies and every recipient
/// (the conformance suite reads each message back) and return the message id.
///
/// # Errors
/// [`MailError::Rejected`] for a message that cannot be sent, [`MailError::Unavailable`]
/// when the service cannot be reached.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `email`; returns the service's message id.
    async fn send(&self, email: &Email) -> Result<String, MailError>;
}
