fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::worker::NOTIFICATION_WORKER)
}
