fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&diary::counts::COUNTER)
}
