fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::socket::SEND_MESSAGE)
}
