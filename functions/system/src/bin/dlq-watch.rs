#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_job(&system::dlq_watch::DLQ_WATCH).await
}
