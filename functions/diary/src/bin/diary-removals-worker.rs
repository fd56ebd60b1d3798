#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&diary::moderation::REMOVAL_WORKER).await
}
