fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&identity::uploads::CREATE_UPLOAD)
}
