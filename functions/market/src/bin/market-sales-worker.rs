fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::sales::SALES_WORKER)
}
