fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&notifications::subscriptions::SUBSCRIBE)
}
