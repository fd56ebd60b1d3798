fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::profile::CHANGE_PASSWORD)
}
