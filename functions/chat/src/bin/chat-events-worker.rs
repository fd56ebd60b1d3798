fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::events::EVENTS_WORKER)
}
