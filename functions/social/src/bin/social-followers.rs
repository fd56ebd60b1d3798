fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&social::follows::FOLLOWERS)
}
