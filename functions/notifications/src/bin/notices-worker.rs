fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::notices::NOTICE_WORKER)
}
