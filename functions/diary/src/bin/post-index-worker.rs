fn main() -> Result<(), shared::runtime::Error> {
    shared::runtime::main(&diary::index::POST_INDEX_WORKER)
}
