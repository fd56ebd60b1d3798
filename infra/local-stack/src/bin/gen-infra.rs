//! Writes `template.yaml`, the nested stacks under `infra/stacks/` and the sample events under
//! `events/` from the route table. Run from the repository root: `cargo run -p local-stack --bin gen-infra`.
//!
//! `gen-infra --prebuilt <artifacts> --out <dir>` instead writes the templates for a fleet that
//! `cargo lambda build` has already built (see `infra/deploy-fleet.sh`).

fn main() {
    let root = std::env::current_dir().expect("a working directory");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => local_stack::infra_gen::write_all(&root),
        [p, artifacts, o, out] if p == "--prebuilt" && o == "--out" => {
            local_stack::infra_gen::write_prebuilt(std::path::Path::new(artifacts), std::path::Path::new(out))
        }
        _ => {
            eprintln!("usage: gen-infra [--prebuilt <artifacts> --out <dir>]");
            std::process::exit(2);
        }
    };
    match result {
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
