#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&social::follows::FOLLOW).await
}
