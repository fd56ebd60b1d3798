fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&chat::rooms::PARTICIPANTS)
}
