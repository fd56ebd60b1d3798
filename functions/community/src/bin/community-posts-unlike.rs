fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&community::likes::UNLIKE)
}
