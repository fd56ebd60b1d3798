fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&campaigns::events::EVENTS_WORKER)
}
