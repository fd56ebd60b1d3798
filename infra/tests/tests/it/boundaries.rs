//! Domain boundaries, checked from the source: keys are built in one place per domain, domains
//! know each other only through their contracts, and nobody reads another domain's attributes by
//! name. These are the rules that keep ~150 functions changeable one domain at a time.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its unit-test modules and comments: the whole file, so code after
/// a test module is read too.
fn code(path: &Path) -> String {
    let text = without_test_modules(&std::fs::read_to_string(path).unwrap());
    text.lines()
        .map(|l| match l.trim_start() {
            t if t.starts_with("//") => "",
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without each `#[cfg(test)]` item: from the attribute to the end of the braces it
/// opens (or to its `;`).
fn without_test_modules(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let (mut depth, mut end) = (0usize, after.len());
        for (i, c) in after.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Every domain: its name, and the source folders of its package and of its contract.
fn domains() -> BTreeMap<String, Vec<PathBuf>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("functions")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut dirs = vec![dir.join("src")];
        if dir.join("contract/src").is_dir() {
            dirs.push(dir.join("contract/src"));
        }
        out.insert(name, dirs);
    }
    out
}

/// A string literal that starts like a key (`"POST#`, `format!("USER#{id}")`).
fn key_literals(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let bytes = code.as_bytes();
    for (i, _) in code.match_indices('"') {
        let rest = &code[i + 1..];
        let head: String = rest.chars().take_while(|c| c.is_ascii_uppercase() || *c == '_').collect();
        if !head.is_empty() && rest[head.len()..].starts_with('#') && (i == 0 || bytes[i - 1] != b'\\') {
            found.push(format!("\"{head}#"));
        }
    }
    found
}

#[test]
fn key_strings_are_built_only_in_key_modules() {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    rust_files(&root().join("functions"), &mut files);
    let mut offenders = Vec::new();
    let mut key_modules = 0;
    for f in &files {
        let text = code(f);
        if f.file_name().is_some_and(|n| n == "keys.rs") {
            key_modules += 1;
            continue;
        }
        for k in key_literals(&text) {
            offenders.push(format!("{}: {k}", f.strip_prefix(root()).unwrap().display()));
        }
    }
    assert!(offenders.is_empty(), "key strings outside a keys.rs module:\n{}", offenders.join("\n"));
    assert!(key_modules >= 6, "the kernel and every domain have a key module ({key_modules})");
    // The check itself notices a key built in place.
    assert_eq!(key_literals(r#"Key::new(format!("POST#{id}"), "POST")"#), vec!["\"POST#".to_string()]);
    assert!(key_literals(r##"format!("#c{i} :d{i}")"##).is_empty());
}

#[test]
fn a_domain_depends_on_other_domains_only_through_their_contracts() {
    let names: BTreeSet<String> = domains().keys().cloned().collect();
    for name in &names {
        let manifest = std::fs::read_to_string(root().join("functions").join(name).join("Cargo.toml")).unwrap();
        let manifest: toml::Value = toml::from_str(&manifest).unwrap();
        let deps = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
        for dep in deps.keys() {
            assert!(
                !names.contains(dep) || dep == name,
                "{name} depends on the package {dep}: use {dep}-contract, its public surface"
            );
        }
        let contract = root().join("functions").join(name).join("contract/Cargo.toml");
        if contract.exists() {
            let manifest: toml::Value = toml::from_str(&std::fs::read_to_string(contract).unwrap()).unwrap();
            let deps = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
            for dep in deps.keys() {
                assert!(!names.contains(dep), "{name}-contract depends on the package {dep}");
            }
        }
    }
}

/// The camelCase names of the fields of every struct declared in `dirs`.
fn declared_attributes(dirs: &[PathBuf]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in dirs {
        let mut files = Vec::new();
        rust_files(d, &mut files);
        for f in files {
            for line in code(&f).lines() {
                let t = line.trim().trim_start_matches("pub ").trim_start_matches("pub(crate) ");
                if let Some((field, _)) = t.split_once(": ")
                    && !field.is_empty()
                    && field.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    let mut camel = String::new();
                    let mut up = false;
                    for c in field.chars() {
                        match c {
                            '_' => up = true,
                            c if up => {
                                camel.push(c.to_ascii_uppercase());
                                up = false
                            }
                            c => camel.push(c),
                        }
                    }
                    out.insert(camel);
                }
            }
        }
    }
    out
}

/// Attribute names read off raw items (`item.get("authorId")`).
fn raw_reads(code: &str) -> Vec<String> {
    code.match_indices(".get(\"")
        .filter_map(|(i, m)| {
            let rest = &code[i + m.len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
            rest[name.len()..].starts_with("\")").then_some(name)
        })
        .collect()
}

#[test]
fn a_domain_reads_attributes_by_name_only_of_its_own_items() {
    let domains = domains();
    let mut offenders = Vec::new();
    let mut reads = 0;
    for (name, dirs) in &domains {
        let own = declared_attributes(dirs);
        for d in dirs {
            let mut files = Vec::new();
            rust_files(d, &mut files);
            for f in files {
                let text = code(&f);
                // Query parameters and headers are read by name too; they are not items.
                let text: String = text.lines().filter(|l| !l.contains("params.") && !l.contains("header")).collect();
                for attr in raw_reads(&text) {
                    reads += 1;
                    if !own.contains(&attr) {
                        offenders.push(format!("{name}: {} reads `{attr}`", f.strip_prefix(root()).unwrap().display()));
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "attributes read by name that the domain does not own (read another domain's items through its contract):\n{}",
        offenders.join("\n")
    );
    assert!(reads > 0, "the check sees the raw reads there are");
    assert_eq!(raw_reads(r#"i.get("ownerId").cloned()"#), vec!["ownerId".to_string()]);
}

#[test]
fn every_worker_reads_the_example_message_of_its_contract() {
    for d in local_stack::catalog::DOMAINS {
        for f in d.functions {
            if let Some(w) = f.worker_spec() {
                (w.handler.reads)(w.example).unwrap_or_else(|e| panic!("{}: its example is no message: {e}", f.binary));
                assert!((w.handler.reads)(r#"{"unexpected":true}"#).is_err(), "{} reads anything", f.binary);
            }
        }
    }
}

#[test]
fn the_openapi_document_is_read_off_the_handlers_types() {
    let doc: serde_json::Value = serde_json::from_str(&local_stack::catalog::openapi_json()).unwrap();
    // The name of the schema a `$ref` at `at` points to.
    let named = |at: &serde_json::Value| {
        at["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    };
    let body = |path: &str, method: &str| named(&doc["paths"][path][method]["requestBody"]);
    let answer = |path: &str, method: &str, status: &str| named(&doc["paths"][path][method]["responses"][status]);
    // The argument types: `Json<PetPatch>`, `Json<PostInput>`; none for a handler without a body.
    assert_eq!(body("/pets/{id}", "patch"), "PetPatch");
    assert_eq!(body("/posts", "post"), "PostInput");
    assert!(doc["paths"]["/posts/{id}"]["delete"]["requestBody"].is_null());
    // The return types: `Created<PostView>`, `Okay<Page<PostView>>`, `NoContent`, `Either<…>`.
    assert_eq!(answer("/posts", "post", "201"), "PostView");
    assert_eq!(answer("/posts", "get", "200"), "PostViewPage");
    let deleted = &doc["paths"]["/posts/{id}"]["delete"]["responses"]["204"];
    assert!(deleted.is_object() && deleted["content"].is_null());
    assert_eq!(answer("/auth/oauth/{provider}", "post", "200"), "OAuthOutcome");
    assert_eq!(answer("/auth/oauth/{provider}", "post", "201"), "OAuthOutcome");
    // Every route that takes a JSON body documents it, with the example from its declaration.
    for d in local_stack::catalog::DOMAINS {
        for (f, route) in d.routes() {
            let documented = !doc["paths"][route.path][route.method.as_str().to_lowercase()]["requestBody"].is_null();
            assert_eq!(documented, route.doc.example.is_some(), "{}: body schema and example go together", f.binary);
        }
    }
}
