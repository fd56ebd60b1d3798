fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&admin::content::DELETE_AD)
}
