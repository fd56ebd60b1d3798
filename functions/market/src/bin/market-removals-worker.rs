fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::moderation::REMOVAL_WORKER)
}
