fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&diary::feed_worker::FEED_WORKER)
}
