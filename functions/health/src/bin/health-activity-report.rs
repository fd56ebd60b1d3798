fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&health::weekly::GET)
}
