fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&community::search::INDEX_WORKER)
}
