#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&community::moderation::REMOVAL_WORKER).await
}
