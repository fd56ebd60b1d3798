#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run_job(&diary::search::TRENDING_JOB).await
}
