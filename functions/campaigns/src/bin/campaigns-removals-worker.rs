fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&campaigns::moderation::REMOVAL_WORKER)
}
