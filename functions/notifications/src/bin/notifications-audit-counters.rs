#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&notifications::audit::AUDIT_JOB).await
}
