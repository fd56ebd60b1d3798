#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&pets::pets::SET_MAIN).await
}
