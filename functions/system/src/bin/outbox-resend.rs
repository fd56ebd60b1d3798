fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&system::outbox_resend::OUTBOX_RESEND)
}
