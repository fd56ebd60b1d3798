fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::social::OAUTH_LINK)
}
