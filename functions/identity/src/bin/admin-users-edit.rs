fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::admin::EDIT)
}
