fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&social::audit::AUDIT_JOB)
}
