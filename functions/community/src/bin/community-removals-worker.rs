fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&community::moderation::REMOVAL_WORKER)
}
