fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::inbox::DELETE_ALL)
}
