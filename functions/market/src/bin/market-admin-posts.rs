fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::admin::LISTINGS)
}
