fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::audit::AUDIT_JOB)
}
