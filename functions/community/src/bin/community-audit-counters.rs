fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&community::audit::AUDIT_JOB)
}
