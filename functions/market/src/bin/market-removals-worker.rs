#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&market::moderation::REMOVAL_WORKER).await
}
