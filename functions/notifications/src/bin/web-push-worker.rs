fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::push_worker::PUSH_WORKER)
}
