fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::audit::AUDIT_JOB)
}
