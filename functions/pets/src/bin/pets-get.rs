fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&pets::pets::GET)
}
