//! The cold-start benchmark's second baseline: what a function would be if it linked nothing but
//! `lambda_runtime` and the DynamoDB client — no kernel, no other AWS clients, no HTTP client,
//! no schemas. It does what `GET /health` does (one `GetItem` of a key that need not exist), so
//! the gap between it and `health` is what the shared kernel costs, and the gap between it and
//! the bare baseline is what the AWS SDK itself costs.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    // Region, credentials and `AWS_ENDPOINT_URL_DYNAMODB` from the environment, as Lambda sets them.
    let setup = std::env::var("SDK_SETUP").unwrap_or_default();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if setup == "env-credentials" || setup == "light" {
        loader = loader.credentials_provider(aws_config::environment::EnvironmentVariableCredentialsProvider::new());
    }
    if setup == "aws-roots" || setup == "light" {
        loader = loader.http_client(shared::context::aws_https_client());
    }
    let sdk = loader.load().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = std::env::var("TABLE_NAME")?;
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| {
        let (client, table) = (client.clone(), table.clone());
        async move {
            let started = std::time::Instant::now();
            let read = client
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S("HEALTH".into()))
                .key("SK", AttributeValue::S("PROBE".into()))
                .send()
                .await;
            let reachable = read.is_ok();
            let body = json!({"status": if reachable { "ok" } else { "degraded" },
                              "table": {"reachable": reachable, "latencyMs": started.elapsed().as_secs_f64() * 1000.0}});
            Ok::<_, Error>(json!({"statusCode": if reachable { 200 } else { 503 },
                                  "headers": {"content-type": "application/json"}, "body": body.to_string()}))
        }
    }))
    .await
}
