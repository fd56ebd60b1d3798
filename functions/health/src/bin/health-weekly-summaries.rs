fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&health::weekly::SUMMARY_JOB)
}
