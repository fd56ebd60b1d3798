fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&system::outbox_relay::OUTBOX_RELAY)
}
