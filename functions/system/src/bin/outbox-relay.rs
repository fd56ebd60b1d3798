#[tokio::main]
async fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::run(&system::outbox_relay::OUTBOX_RELAY).await
}
