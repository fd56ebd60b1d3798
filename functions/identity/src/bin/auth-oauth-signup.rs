#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&identity::social::OAUTH_SIGNUP).await
}
