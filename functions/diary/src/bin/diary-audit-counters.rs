fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&diary::audit::AUDIT_JOB)
}
