fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::moderation::REMOVAL_WORKER)
}
