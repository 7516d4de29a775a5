//! The embedded [`Mailer`]: each message is written as an RFC 5322 `.eml` file
//! (multipart/alternative, text and HTML) into an outbox directory, where a person opens it
//! in any mail program. The message is built by `lettre`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, header::MessageId};
use roi_domain::ports::{Clock, Email, MailError, Mailer};
use sha2::{Digest, Sha256};

/// Writes mail to `{dir}/{time}-{id}.eml`.
#[derive(Clone)]
pub struct OutboxMailer {
    dir: PathBuf,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OutboxMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxMailer")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn mailbox(address: &str) -> Result<Mailbox, MailError> {
    address
        .parse()
        .map_err(|e| MailError::Rejected(format!("'{address}': {e}")))
}

impl OutboxMailer {
    /// An outbox in `dir` (created on first send).
    pub fn new(dir: impl Into<PathBuf>, clock: Arc<dyn Clock>) -> Self {
        Self {
            dir: dir.into(),
            clock,
        }
    }

    /// The `.eml` files in the outbox, oldest first.
    ///
    /// # Errors
    /// The I/O error reading the directory (an absent outbox is empty, not an error).
    pub fn messages(&self) -> std::io::Result<Vec<PathBuf>> {
        let mut files = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect::<Vec<_>>(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        files.sort();
        Ok(files)
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        if email.to.is_empty() {
            return Err(MailError::Rejected("no recipient".into()));
        }
        let now = self.clock.now();
        let digest = Sha256::digest(
            serde_json::to_vec(&(email, now.timestamp_nanos_opt())).unwrap_or_default(),
        );
        let id = hex::encode(&digest[..8]);
        let mut builder = Message::builder()
            .from(mailbox(&email.from)?)
            .subject(&email.subject)
            .date(now.into())
            .header(MessageId::from(format!("<{id}@roi-tracker.local>")));
        for to in &email.to {
            builder = builder.to(mailbox(to)?);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| MailError::Rejected(e.to_string()))?;
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| MailError::Unavailable(format!("outbox: {e}")))?;
        let name = format!("{}-{id}.eml", now.format("%Y%m%dT%H%M%S%.3fZ"));
        tokio::fs::write(self.dir.join(name), message.formatted())
            .await
            .map_err(|e| MailError::Unavailable(format!("outbox: {e}")))?;
        Ok(id)
    }
}
