//! A small stand-in for the AWS Lambda Runtime API (`/2018-06-01/runtime/…`) on loopback,
//! to run a function's real binary as Lambda would: set `AWS_LAMBDA_RUNTIME_API` to
//! [`RuntimeApi::host`], queue invocations, and read what the function answered.
//!
//! It records when the first `GET /runtime/invocation/next` arrived, which is when a
//! function has finished starting (the start-up benchmark's measure).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Notify;

/// What the function answered to one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `POST /invocation/{id}/response`, the body as JSON.
    Response(serde_json::Value),
    /// `POST /invocation/{id}/error`, the error document.
    Error(serde_json::Value),
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<(String, serde_json::Value)>,
    first_next: Option<Instant>,
    answers: HashMap<String, Answer>,
    init_error: Option<serde_json::Value>,
}

#[derive(Default)]
struct Shared {
    inner: Mutex<Inner>,
    queued: Notify,
    changed: Notify,
}

/// The running stand-in; it stops when dropped.
pub struct RuntimeApi {
    host: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    /// Starts it on a free loopback port.
    ///
    /// # Panics
    /// When no port can be bound.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let host = listener.local_addr().expect("bound").to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            host,
            shared,
            server,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Queues an invocation with `payload` under the request id `request_id`.
    pub fn invoke(&self, request_id: &str, payload: serde_json::Value) {
        let mut inner = self.shared.inner.lock().expect("not poisoned");
        inner.queue.push_back((request_id.to_owned(), payload));
        drop(inner);
        self.shared.queued.notify_waiters();
    }

    /// When the first `GET /invocation/next` arrived.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.inner.lock().expect("not poisoned").first_next
    }

    /// Waits until the first `GET /invocation/next`, at most `limit`.
    pub async fn wait_ready(&self, limit: Duration) -> Option<Instant> {
        tokio::time::timeout(limit, async {
            loop {
                let changed = self.shared.changed.notified();
                if let Some(at) = self.first_next() {
                    return at;
                }
                changed.await;
            }
        })
        .await
        .ok()
    }

    /// Waits for the answer to `request_id`, at most `limit`.
    ///
    /// # Panics
    /// When none comes in time, or the function reported an initialization error.
    pub async fn answer(&self, request_id: &str, limit: Duration) -> Answer {
        tokio::time::timeout(limit, async {
            loop {
                let changed = self.shared.changed.notified();
                {
                    let inner = self.shared.inner.lock().expect("not poisoned");
                    if let Some(e) = &inner.init_error {
                        panic!("the function failed to start: {e}");
                    }
                    if let Some(a) = inner.answers.get(request_id) {
                        return a.clone();
                    }
                }
                changed.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("no answer to {request_id} within {limit:?}"))
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    {
        let mut inner = shared.inner.lock().expect("not poisoned");
        inner.first_next.get_or_insert_with(Instant::now);
    }
    shared.changed.notify_waiters();
    loop {
        let queued = shared.queued.notified();
        let popped = shared.inner.lock().expect("not poisoned").queue.pop_front();
        if let Some((id, payload)) = popped {
            let mut headers = HeaderMap::new();
            let deadline = std::time::SystemTime::now() + Duration::from_secs(300);
            let ms = deadline
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis();
            for (name, value) in [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", ms.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:000000000000:function:under-test".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-674f0000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0"
                        .to_owned(),
                ),
            ] {
                headers.insert(name, HeaderValue::from_str(&value).expect("ascii"));
            }
            return (StatusCode::OK, headers, payload.to_string()).into_response();
        }
        queued.await;
    }
}

fn record(shared: &Shared, id: String, answer: Answer) -> StatusCode {
    shared
        .inner
        .lock()
        .expect("not poisoned")
        .answers
        .insert(id, answer);
    shared.changed.notify_waiters();
    StatusCode::ACCEPTED
}

fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Answer::Response(json(&body)))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> StatusCode {
    record(&shared, id, Answer::Error(json(&body)))
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    shared.inner.lock().expect("not poisoned").init_error = Some(json(&body));
    shared.changed.notify_waiters();
    StatusCode::ACCEPTED
}

/// What a function's binary printed and answered in [`run_binary`].
pub struct BinaryRun {
    /// The answers, in the order of the invocations.
    pub answers: Vec<Answer>,
    /// Standard output: CloudWatch EMF documents, one JSON object per line.
    pub stdout: String,
    /// Standard error: the JSON log lines.
    pub stderr: String,
    /// The binary's peak resident memory (KiB, `VmHWM` of `/proc/{pid}/status`) read after
    /// the last answer; `None` where `/proc` has no such line.
    pub peak_rss_kib: Option<u64>,
}

impl BinaryRun {
    /// The lines of `text` that are JSON objects.
    pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(serde_json::Value::is_object)
            .collect()
    }
}

/// Runs the function binary `binary` as Lambda would, with the environment `env` (plus the
/// Runtime API's address), gives it each `(request id, payload)` in turn, waits for every
/// answer (at most 60 s each), stops it and returns what it printed.
///
/// # Panics
/// When the binary does not start or an answer does not come.
pub async fn run_binary(
    binary: &str,
    env: &[(&str, &str)],
    invocations: Vec<(String, serde_json::Value)>,
) -> BinaryRun {
    run_binary_within(binary, env, invocations, Duration::from_secs(60)).await
}

/// [`run_binary`], waiting at most `limit` for each answer.
///
/// # Panics
/// As [`run_binary`].
pub async fn run_binary_within(
    binary: &str,
    env: &[(&str, &str)],
    invocations: Vec<(String, serde_json::Value)>,
    limit: Duration,
) -> BinaryRun {
    use tokio::io::AsyncReadExt;
    let api = RuntimeApi::start().await;
    let mut command = tokio::process::Command::new(binary);
    command
        .env("AWS_LAMBDA_RUNTIME_API", api.host())
        .env("AWS_LAMBDA_FUNCTION_NAME", "under-test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("the function binary starts");
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let reading = tokio::spawn(async move {
        let (mut o, mut e) = (String::new(), String::new());
        let _ = tokio::join!(out.read_to_string(&mut o), err.read_to_string(&mut e));
        (o, e)
    });
    let mut answers = Vec::new();
    for (id, payload) in invocations {
        api.invoke(&id, payload);
        answers.push(api.answer(&id, limit).await);
    }
    // The EMF document of the last invocation is flushed after its answer is sent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peak_rss_kib = child.id().and_then(peak_rss_kib);
    let _ = child.kill().await;
    let (stdout, stderr) = reading.await.expect("the output");
    BinaryRun {
        answers,
        stdout,
        stderr,
        peak_rss_kib,
    }
}

/// The peak resident memory of process `pid` so far, KiB (`VmHWM` of `/proc/{pid}/status`);
/// `None` where `/proc` has no such line (or the process is gone).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
