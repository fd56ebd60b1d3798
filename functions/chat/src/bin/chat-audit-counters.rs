#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&chat::audit::AUDIT_JOB).await
}
