#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&identity::advertisers::ADMIN_LIST).await
}
