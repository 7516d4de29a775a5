//! The start-up benchmark's reference: the smallest `lambda_runtime` function, which answers
//! each invocation with its payload. Built with the same release profile as the functions.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<serde_json::Value>| async move { Ok::<_, Error>(event.payload) },
    ))
    .await
}
