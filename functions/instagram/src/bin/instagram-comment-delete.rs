fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&instagram::comments::DELETE)
}
