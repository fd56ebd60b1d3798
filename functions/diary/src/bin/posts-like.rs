#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&diary::likes::LIKE).await
}
