fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::accounts::AVAILABILITY)
}
