fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&health::reminders::ROLLING_JOB)
}
