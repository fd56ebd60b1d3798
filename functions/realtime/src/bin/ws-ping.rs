fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&realtime::connection::PING)
}
