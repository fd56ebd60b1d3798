fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&system::mail_worker::MAIL_WORKER)
}
