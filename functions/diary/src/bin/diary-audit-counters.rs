#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&diary::audit::AUDIT_JOB).await
}
