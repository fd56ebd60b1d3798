fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::payments::ORDER_GET)
}
