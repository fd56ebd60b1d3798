#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_worker(&notifications::worker::NOTIFICATION_WORKER).await
}
