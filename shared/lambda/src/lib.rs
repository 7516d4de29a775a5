//! What every roi-tracker Lambda function's `main` shares.
//!
//! A function starts in three steps, and only the first two run before the runtime asks
//! for its first invocation (`GET /runtime/invocation/next`):
//!
//! 1. [`init`]: JSON logs on standard error and the CloudWatch embedded-metric-format (EMF)
//!    collector on standard output;
//! 2. [`aws_config`](fn@aws_config): the AWS SDK configuration from what Lambda puts in the environment
//!    (credentials and region), without the default chain's profile files, SSO, IMDS or
//!    web-identity providers;
//! 3. on the first invocation, the function builds its SDK clients and services, and reads
//!    the link-signing key with [`form_secret`] (a Secrets Manager call). The result is kept
//!    for the life of the execution environment ([`serve_http`], [`serve_jobs`]).
//!
//! Deferring step 3 keeps the start-up close to a hello-world `lambda_runtime` binary
//! (`cargo bench -p roi-bench --bench startup` measures it).
//!
//! Logs are JSON, one object per line, with the Lambda request id (`requestId`, from
//! `lambda_runtime`'s invocation span) and the `correlation_id` of the request or job that
//! caused them (`roi_app::correlation`). Metrics are counters emitted by `roi-app`
//! (`events_accepted`, `forms_submitted`, `reports_issued`, …) plus `cold_start`, flushed as
//! one EMF document per invocation with the dimension `function`. Neither carries personal
//! data: no e-mail address, user id, metric value or request body is logged or measured.

mod services;

pub use services::Aws;

use aws_config::BehaviorVersion;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use metrics_cloudwatch_embedded::Collector;

pub use aws_config::SdkConfig;
pub use lambda_runtime::Error;

/// The CloudWatch namespace of the metrics unless `ROI_METRICS_NAMESPACE` names another.
pub const DEFAULT_NAMESPACE: &str = "roi-tracker";

/// Why a function could not start or read its configuration.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A required environment variable is missing.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// The metrics collector could not be installed (a second call in one process).
    #[error("metrics: {0}")]
    Metrics(String),
    /// Secrets Manager did not return the signing key.
    #[error("reading the link-signing key from Secrets Manager: {0}")]
    Secret(String),
    /// An environment variable holds what it cannot.
    #[error("{0}")]
    Invalid(String),
}

/// Sets up JSON logs (standard error) and the EMF metrics collector (standard output) for
/// the function `name`, and returns the collector for
/// `metrics_cloudwatch_embedded::lambda::service::run`.
///
/// The log filter is `RUST_LOG` (default `info`). Each EMF document carries the dimension
/// `function` = `name`, the property `request_id`, and a `cold_start` count on the first
/// invocation of an execution environment.
///
/// # Errors
/// [`StartError::Metrics`] when called twice in one process.
pub fn init(name: &'static str) -> Result<&'static Collector, StartError> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .with_writer(std::io::stderr)
        .init();
    let namespace = std::env::var("ROI_METRICS_NAMESPACE").unwrap_or(DEFAULT_NAMESPACE.into());
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace)
        .with_dimension("function", name)
        .lambda_cold_start_metric("cold_start")
        .with_lambda_request_id("request_id")
        .init()
        .map_err(|e| StartError::Metrics(e.to_string()))
}

/// The AWS SDK configuration from the environment only: the credentials and region Lambda
/// sets (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`),
/// plus `AWS_ENDPOINT_URL` for an emulator. Retries and timeouts are the SDK's defaults.
pub async fn aws_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(EnvironmentVariableCredentialsProvider::new())
        .region(EnvironmentVariableRegionProvider::new())
        .load()
        .await
}

/// The configuration [`serve_http`] and [`serve_jobs`] build their services from: loaded
/// once, begun at start-up in a task of its own so the runtime asks for the first
/// invocation without waiting for it (issue 19: start-up), and awaited by the first
/// invocation's `build`.
static CONFIG: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();

async fn shared_config() -> &'static SdkConfig {
    CONFIG.get_or_init(aws_config).await
}

/// The value of the environment variable `name`.
///
/// # Errors
/// [`StartError::Missing`] when it is unset or not Unicode.
pub fn var(name: &'static str) -> Result<String, StartError> {
    std::env::var(name).map_err(|_| StartError::Missing(name))
}

/// The link-signing key: `ROI_FORM_SECRET` when it is set (local runs, tests), otherwise the
/// `SecretString` of the Secrets Manager secret `ROI_FORM_SECRET_ARN` (the stack's
/// `FormSecret`, 64 random characters).
///
/// # Errors
/// [`StartError::Missing`] when neither variable is set; [`StartError::Secret`] when the
/// secret cannot be read or holds no string.
pub async fn form_secret(config: &SdkConfig) -> Result<String, StartError> {
    if let Ok(secret) = std::env::var("ROI_FORM_SECRET") {
        return Ok(secret);
    }
    let arn = var("ROI_FORM_SECRET_ARN")?;
    let out = aws_sdk_secretsmanager::Client::new(config)
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            StartError::Secret(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())
        })?;
    out.secret_string
        .ok_or_else(|| StartError::Secret("the secret holds no SecretString".into()))
}

/// Runs an HTTP API function: [`init`], [`aws_config`](fn@aws_config) begun in the
/// background, then `lambda_http` with the router that `build` makes from the
/// configuration on the first request (kept afterwards).
///
/// # Errors
/// A start-up error; a failed `build` fails that request (API Gateway answers 502) and is
/// tried again on the next one.
pub async fn serve_http<B, F>(name: &'static str, build: B) -> Result<(), Error>
where
    B: Fn(SdkConfig) -> F,
    B: Sync,
    F: Future<Output = Result<axum::Router, Error>> + Send,
{
    use tower::ServiceExt;
    let collector = init(name)?;
    tokio::spawn(shared_config());
    let app = tokio::sync::OnceCell::<axum::Router>::new();
    let (app, build) = (&app, &build);
    let handler = lambda_http::service_fn(move |mut request: lambda_http::Request| async move {
        let router = app
            .get_or_try_init(|| async { build(shared_config().await.clone()).await })
            .await?;
        if let Some(ip) = source_ip(&request) {
            let peer = std::net::SocketAddr::new(ip, 0);
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
        }
        let response = router.clone().oneshot(request).await?;
        Ok::<_, Error>(response)
    });
    metrics_cloudwatch_embedded::lambda::service::run_http(collector, handler).await
}

/// The caller's address as API Gateway saw it (`requestContext.http.sourceIp`), handed to
/// the routers as axum's `ConnectInfo`, as `roi serve` hands them the socket's peer. A
/// client's `X-Forwarded-For` is never trusted for it.
pub fn source_ip(request: &lambda_http::Request) -> Option<std::net::IpAddr> {
    use lambda_http::RequestExt;
    #[allow(unreachable_patterns)] // other variants exist only with other lambda_http features
    match request.request_context_ref()? {
        lambda_http::request::RequestContext::ApiGatewayV2(ctx) => {
            ctx.http.source_ip.as_deref()?.parse().ok()
        }
        _ => None,
    }
}

/// Runs a function invoked with JSON payloads (EventBridge Scheduler, EventBridge events, by
/// hand): [`init`], [`aws_config`](fn@aws_config) begun in the background, then
/// `lambda_runtime` calling `handle` with the services that `build` makes on the first
/// invocation (kept afterwards).
///
/// # Errors
/// A start-up error; a failed `build` or `handle` fails that invocation (retried by Lambda's
/// asynchronous invocation, then sent to the failure queue).
pub async fn serve_jobs<S, B, BF, H, HF>(
    name: &'static str,
    build: B,
    handle: H,
) -> Result<(), Error>
where
    B: Fn(SdkConfig) -> BF,
    BF: Future<Output = Result<S, Error>>,
    H: Fn(std::sync::Arc<S>, serde_json::Value) -> HF,
    HF: Future<Output = Result<serde_json::Value, Error>>,
{
    let collector = init(name)?;
    tokio::spawn(shared_config());
    let services = tokio::sync::OnceCell::<std::sync::Arc<S>>::new();
    let (services, build, handle) = (&services, &build, &handle);
    let handler = lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            let services = services
                .get_or_try_init(|| async {
                    build(shared_config().await.clone())
                        .await
                        .map(std::sync::Arc::new)
                })
                .await?;
            handle(std::sync::Arc::clone(services), event.payload).await
        },
    );
    metrics_cloudwatch_embedded::lambda::service::run(collector, handler).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_ip_is_api_gateways_not_the_callers_header() {
        // GIVEN a form post whose caller claims another address in X-Forwarded-For
        let mut payload: serde_json::Value = serde_json::from_str(include_str!(
            "../../../events/submit-form/post-urlencoded-valid.json"
        ))
        .unwrap_or_default();
        payload["headers"]["x-forwarded-for"] = serde_json::json!("10.0.0.1, 203.0.113.24");
        let request = lambda_http::request::from_str(&payload.to_string());
        // THEN the address used is the one API Gateway saw
        let ip = request.ok().as_ref().and_then(source_ip);
        assert_eq!(ip, "203.0.113.24".parse().ok());
    }
}
