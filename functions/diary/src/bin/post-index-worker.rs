#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&diary::index::POST_INDEX_WORKER).await
}
