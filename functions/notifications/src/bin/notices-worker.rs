#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&notifications::notices::NOTICE_WORKER).await
}
