fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&admin::counts::COUNTER)
}
