fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&campaigns::applications::CANCEL)
}
