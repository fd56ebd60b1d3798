fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&health::tips::LIST)
}
