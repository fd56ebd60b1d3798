#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&social::blocks::MY_BLOCKS).await
}
