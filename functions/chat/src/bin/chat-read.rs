fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::messages::READ)
}
