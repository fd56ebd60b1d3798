fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::settle::SETTLE_JOB)
}
