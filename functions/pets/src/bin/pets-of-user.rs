#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&pets::pets::OF_USER).await
}
