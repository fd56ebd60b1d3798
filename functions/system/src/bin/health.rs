fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&system::health::HEALTH)
}
