fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&system::dlq_watch::DLQ_WATCH)
}
