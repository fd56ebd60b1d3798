#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&system::mail_worker::MAIL_WORKER).await
}
