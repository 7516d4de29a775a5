//! The [`Mailer`] contract.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use roi_domain::ports::{Email, MailError, Mailer};

/// What the service holds of a sent message, read back from it.
#[derive(Debug, Default)]
pub struct Delivered {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    /// The bodies as the service keeps them (any that it keeps).
    pub bodies: Vec<String>,
}

/// Reads back the message with an id.
pub type ReadBack =
    Box<dyn Fn(String) -> Pin<Box<dyn Future<Output = Delivered> + Send>> + Send + Sync>;

/// What a mail case needs.
pub struct Fixture {
    pub mailer: Arc<dyn Mailer>,
    pub sender: String,
    pub read_back: ReadBack,
    /// Whether the service keeps the text body (moto keeps only the HTML one).
    pub keeps_text_body: bool,
}

pub async fn a_sent_message_arrives_whole(f: &Fixture) {
    // GIVEN a report e-mail with a text and an HTML body to two recipients
    let email = Email {
        from: f.sender.clone(),
        to: vec!["cfo@client.example".into(), "coo@client.example".into()],
        subject: "Monthly ROI report: Support Assistant, April 2025".into(),
        text: "ROI over 12 months: 74.81 %. Open the report: https://example.test/r/abc".into(),
        html: "<p>ROI over 12 months: <strong>74.81 %</strong>.</p><p><a href=\"https://example.test/r/abc\">Open the report</a></p>".into(),
    };
    // WHEN it is sent
    let id = f.mailer.send(&email).await.unwrap();
    assert!(!id.is_empty());
    // THEN the service holds it with its sender, recipients, subject and bodies
    let got = (f.read_back)(id).await;
    assert_eq!(got.from, email.from);
    assert_eq!(got.to, email.to);
    assert_eq!(got.subject, email.subject);
    assert!(
        got.bodies
            .iter()
            .any(|b| b.contains("<strong>74.81 %</strong>")),
        "{:?}",
        got.bodies
    );
    if f.keeps_text_body {
        assert!(
            got.bodies
                .iter()
                .any(|b| b.contains("Open the report: https://example.test/r/abc")),
            "{:?}",
            got.bodies
        );
    }
}

pub async fn a_message_without_recipients_is_rejected(f: &Fixture) {
    let email = Email {
        from: f.sender.clone(),
        to: vec![],
        subject: "s".into(),
        text: "t".into(),
        html: "h".into(),
    };
    assert!(matches!(
        f.mailer.send(&email).await,
        Err(MailError::Rejected(_))
    ));
}
