fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&market::audit::AUDIT_JOB)
}
