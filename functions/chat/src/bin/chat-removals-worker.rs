#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&chat::moderation::REMOVAL_WORKER).await
}
