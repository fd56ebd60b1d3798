//! The cold-start benchmark's baseline: the least a Rust function on `lambda_runtime` can be.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(json!({"statusCode": 200, "body": format!("hello {}", event.context.request_id)}))
    }))
    .await
}
