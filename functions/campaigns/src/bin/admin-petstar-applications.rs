fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&campaigns::petstars::ADMIN_LIST)
}
