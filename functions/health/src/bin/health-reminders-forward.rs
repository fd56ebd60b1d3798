#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&health::reminders::ROLLING_JOB).await
}
