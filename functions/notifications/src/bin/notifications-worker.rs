#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&notifications::worker::NOTIFICATION_WORKER).await
}
