//! The route table is the single source of truth: the binaries, `template.yaml`, the nested
//! stacks and `events/` must agree with it, and the template must stay within CloudFormation's
//! limits as the product grows.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use local_stack::catalog;
use local_stack::infra_gen::{MAX_FUNCTIONS_PER_STACK, deployed_resource_count, render};
use shared::routes::{Domain, Method, Route};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

#[test]
fn generated_files_match_the_route_table() {
    let root = repo_root();
    let files = render(catalog::DOMAINS);
    let mut stale = Vec::new();
    for (rel, text) in &files {
        let on_disk = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
        if &on_disk != text {
            stale.push(rel.display().to_string());
        }
    }
    for dir in ["events", "infra/stacks"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let rel = entry.unwrap().path().strip_prefix(&root).unwrap().to_path_buf();
            if !files.contains_key(&rel) {
                stale.push(format!("{} (not in the route table)", rel.display()));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "out of date: {stale:?}\nrun `cargo run -p local-stack --bin gen-infra` and commit the result"
    );
}

#[test]
fn the_readme_lists_every_function() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let current = local_stack::infra_gen::with_tables(&readme, catalog::DOMAINS).expect("README has the table markers");
    assert!(current == readme, "README.md tables are out of date: run `cargo run -p local-stack --bin gen-infra`");
}

#[test]
fn every_function_is_a_binary_and_every_binary_a_function() {
    let root = repo_root();
    let mut expected = BTreeSet::new();
    let mut route_keys = HashSet::new();
    let mut names = HashSet::new();
    let mut check = |package: &str, binary: &str, entry: &str| {
        assert!(names.insert(binary.to_string()), "binary {binary} is declared twice");
        let path = root.join(format!("functions/{package}/src/bin/{binary}.rs"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
        assert!(text.contains(entry), "{} must call shared::runtime::{entry}", path.display());
        let manifest = std::fs::read_to_string(root.join(format!("functions/{package}/Cargo.toml"))).unwrap();
        let decl = format!("name = \"{binary}\"\npath = \"src/bin/{binary}.rs\"\ntest = false");
        assert!(
            manifest.contains(&decl),
            "functions/{package}/Cargo.toml must declare [[bin]] {binary} with test = false"
        );
        expected.insert(path);
    };
    for r in catalog::routes() {
        assert!(route_keys.insert(r.route_key()), "{} is declared twice", r.route_key());
        check(r.package, r.binary, "run_http");
    }
    for w in catalog::workers() {
        check(w.package, w.binary, "run_worker");
    }
    for j in catalog::jobs() {
        check(j.package, j.binary, "run_job");
    }
    for c in catalog::streams() {
        check(c.package, c.binary, "run_stream");
    }
    let mut found = BTreeSet::new();
    for pkg in std::fs::read_dir(root.join("functions")).unwrap() {
        let bin = pkg.unwrap().path().join("src/bin");
        if let Ok(entries) = std::fs::read_dir(&bin) {
            for e in entries {
                found.insert(e.unwrap().path());
            }
        }
    }
    let orphans: Vec<_> = found.difference(&expected).collect();
    assert!(orphans.is_empty(), "binaries without a route-table entry: {orphans:?}");
}

#[test]
fn no_stack_nears_the_resource_limit_at_150_endpoints() {
    // The real product plus 150 more endpoints, all in one domain: the worst case for a stack.
    let handler = system::health::HEALTH.handler;
    let synthetic: Vec<&'static Route> = (0..150)
        .map(|i| {
            let r: &'static Route = Box::leak(Box::new(Route {
                method: Method::Post,
                path: Box::leak(format!("/synthetic/{i}/{{id}}").into_boxed_str()),
                binary: Box::leak(format!("synthetic-{i}").into_boxed_str()),
                package: "synthetic",
                access: shared::routes::Access::User,
                permissions: &[shared::routes::Permission::TableRead, shared::routes::Permission::TableWrite],
                max_body: 1024,
                handler,
                doc: system::health::HEALTH.doc,
            }));
            r
        })
        .collect();
    let big = Domain {
        name: "synthetic",
        routes: Box::leak(synthetic.into_boxed_slice()),
        workers: &[],
        jobs: &[],
        streams: &[],
    };
    let mut domains = catalog::DOMAINS.to_vec();
    domains.push(big);
    let files = render(&domains);
    let mut worst = 0;
    for (rel, text) in &files {
        if rel.extension().is_some_and(|e| e == "yaml") {
            let template: serde_json::Value = serde_yaml::from_str(text).unwrap();
            let count = deployed_resource_count(&template);
            println!("{:<40} {count:>4} resources", rel.display());
            assert!(count <= 500, "{} has {count} resources", rel.display());
            worst = worst.max(count);
        }
    }
    let synthetic_stacks = files.keys().filter(|p| p.to_string_lossy().contains("stacks/synthetic")).count();
    assert_eq!(synthetic_stacks, 150usize.div_ceil(MAX_FUNCTIONS_PER_STACK));
    println!("largest stack: {worst} of 500 resources");
}
