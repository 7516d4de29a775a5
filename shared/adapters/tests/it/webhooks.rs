//! The HTTP webhook adapter against a receiver on loopback: signed, retried on 503, not
//! retried on 400, reported undeliverable when nobody listens.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use roi_adapters::backoff::Backoff;
use roi_adapters::webhook::{HttpWebhooks, verify_signature};
use roi_domain::ports::{WebhookDelivery, WebhookError, Webhooks};

/// One request as received: its headers and body.
type Received = (HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<Received>>>,
    /// Statuses to answer, in order; then 200.
    script: Arc<Mutex<Vec<u16>>>,
}

async fn serve(receiver: Receiver) -> String {
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |axum::extract::State(r): axum::extract::State<Receiver>,
                 headers: HeaderMap,
                 body: axum::body::Bytes| async move {
                    r.seen.lock().unwrap().push((headers, body.to_vec()));
                    let mut script = r.script.lock().unwrap();
                    let status = if script.is_empty() {
                        200
                    } else {
                        script.remove(0)
                    };
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn delivery(url: &str) -> WebhookDelivery {
    WebhookDelivery {
        url: url.into(),
        secret: "whsec-0123456789abcdef".into(),
        event: "alert_triggered".into(),
        delivery_id: "d-1".into(),
        body: br#"{"rule":"error_rate"}"#.to_vec(),
    }
}

#[tokio::test]
async fn a_webhook_is_signed_and_retried_until_the_receiver_takes_it() {
    // GIVEN a receiver that answers 503 twice, then 200
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().extend([503, 503]);
    let url = serve(receiver.clone()).await;
    // WHEN one webhook is delivered
    let result = HttpWebhooks::new(Backoff::immediate(3))
        .allowing_loopback()
        .deliver(&delivery(&url))
        .await;
    // THEN it arrives on the third attempt, each attempt signed
    assert_eq!(result, Ok(()));
    let seen = receiver.seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (headers, body) in seen.iter() {
        let header = |n: &str| headers[n].to_str().unwrap().to_owned();
        assert_eq!(header("x-roi-event"), "alert_triggered");
        assert_eq!(header("x-roi-delivery"), "d-1");
        assert_eq!(header("content-type"), "application/json");
        let timestamp: i64 = header("x-roi-timestamp").parse().unwrap();
        assert!(verify_signature(
            "whsec-0123456789abcdef",
            timestamp,
            body,
            &header("x-roi-signature")
        ));
        assert_eq!(body, br#"{"rule":"error_rate"}"#);
    }
}

#[tokio::test]
async fn a_refusal_is_not_retried_and_silence_is_reported_undeliverable() {
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().push(400);
    let url = serve(receiver.clone()).await;
    let hooks = HttpWebhooks::new(Backoff::immediate(3)).allowing_loopback();
    let refused = hooks.deliver(&delivery(&url)).await;
    assert!(
        matches!(refused, Err(WebhookError::Rejected(ref why)) if why.contains("400")),
        "{refused:?}"
    );
    assert_eq!(receiver.seen.lock().unwrap().len(), 1);
    // nobody listens on port 9 of loopback
    let silent = hooks.deliver(&delivery("http://127.0.0.1:9/hook")).await;
    assert!(
        matches!(silent, Err(WebhookError::Unavailable(_))),
        "{silent:?}"
    );
    // and a plain-http URL off loopback is refused before any attempt
    let insecure = hooks
        .deliver(&delivery("http://hooks.example.com/roi"))
        .await;
    assert!(
        matches!(insecure, Err(WebhookError::Rejected(_))),
        "{insecure:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_a_refusal_and_is_not_followed() {
    // GIVEN a receiver that answers 307 (a redirect to anywhere)
    let receiver = Receiver::default();
    receiver.script.lock().unwrap().push(307);
    let url = serve(receiver.clone()).await;
    // WHEN a webhook is delivered THEN it is refused after one request, never followed
    let result = HttpWebhooks::new(Backoff::immediate(3))
        .allowing_loopback()
        .deliver(&delivery(&url))
        .await;
    assert!(
        matches!(result, Err(WebhookError::Rejected(ref why)) if why.contains("not followed")),
        "{result:?}"
    );
    assert_eq!(receiver.seen.lock().unwrap().len(), 1);
}
