#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&admin::content::DELETE_COMMUNITY_COMMENT).await
}
