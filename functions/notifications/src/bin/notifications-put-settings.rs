#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&notifications::inbox::PUT_SETTINGS).await
}
