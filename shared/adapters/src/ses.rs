//! The AWS [`Mailer`]: SES v2 `SendEmail` with a simple message (subject, text and HTML
//! bodies, UTF-8). The sender must be a verified SES identity.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use roi_domain::ports::{Email, MailError, Mailer};

/// A [`Mailer`] on SES v2.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: Client,
}

impl SesMailer {
    /// Sends through `client`.
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn utf8(text: &str) -> Result<Content, MailError> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| MailError::Rejected(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        if email.to.is_empty() {
            return Err(MailError::Rejected("no recipient".into()));
        }
        let message = Message::builder()
            .subject(utf8(&email.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&email.text)?)
                    .html(utf8(&email.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(
                Destination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match out {
            Ok(out) => Ok(out.message_id.unwrap_or_default()),
            Err(e) => {
                tracing::warn!(error = %DisplayErrorContext(&e), "SES send failed");
                match e.as_service_error() {
                    Some(s)
                        if s.is_message_rejected()
                            || s.is_mail_from_domain_not_verified_exception()
                            || s.is_bad_request_exception() =>
                    {
                        Err(MailError::Rejected(
                            "the mail service rejected the message".into(),
                        ))
                    }
                    _ => Err(MailError::Unavailable(
                        "SES call failed after retries".into(),
                    )),
                }
            }
        }
    }
}
