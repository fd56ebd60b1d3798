fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&pets::species::LIST)
}
