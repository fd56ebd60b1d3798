#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&system::dlq_watch::DLQ_WATCH).await
}
