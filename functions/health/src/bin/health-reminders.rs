fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&health::reminders::REMINDER_JOB)
}
