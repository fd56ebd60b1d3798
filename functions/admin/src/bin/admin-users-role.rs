fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&admin::roles::SET_ROLE)
}
