#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_http(&identity::profile::GET_USER).await
}
