fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&campaigns::report::REPORT)
}
