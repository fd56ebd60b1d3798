fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::profile::UPDATE_ME)
}
