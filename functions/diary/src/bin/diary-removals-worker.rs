fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&diary::moderation::REMOVAL_WORKER)
}
