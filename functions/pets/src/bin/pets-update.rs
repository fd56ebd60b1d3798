#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&pets::pets::UPDATE).await
}
