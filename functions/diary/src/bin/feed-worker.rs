#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&diary::feed_worker::FEED_WORKER).await
}
