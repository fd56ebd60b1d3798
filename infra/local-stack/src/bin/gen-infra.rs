//! Writes `template.yaml`, the nested stacks under `infra/stacks/` and the sample events under
//! `events/` from the route table. Run from the repository root: `cargo run -p local-stack --bin gen-infra`.

fn main() {
    let root = std::env::current_dir().expect("a working directory");
    match local_stack::infra_gen::write_all(&root) {
        Ok(files) => {
            for f in files {
                println!("wrote {f}");
            }
        }
        Err(e) => {
            eprintln!("gen-infra: {e}");
            std::process::exit(1);
        }
    }
}
