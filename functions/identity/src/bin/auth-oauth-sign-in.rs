fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::social::OAUTH_SIGN_IN)
}
