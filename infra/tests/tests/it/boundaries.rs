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
        // A domain may be a contract alone (moderation: a vocabulary administration implements).
        let dirs: Vec<PathBuf> =
            [dir.join("src"), dir.join("contract/src")].into_iter().filter(|d| d.is_dir()).collect();
        out.insert(name, dirs);
    }
    out
}

/// Every key literal in `code`: a string that starts like a key (`"POST#`,
/// `format!("USER#{id}")`), a string literal among the arguments of `Key::new(…)`, and a
/// string an entity's `pk`/`sk` returns.
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
    for (i, _) in code.match_indices("Key::new(") {
        if let Some(args) = balanced(&code[i + "Key::new".len()..]) {
            for literal in string_literals(args) {
                found.push(format!("Key::new(… \"{literal}\" …)"));
            }
        }
    }
    for head in ["fn pk(&self) -> String", "fn sk(&self) -> String"] {
        for (i, _) in code.match_indices(head) {
            if let Some(body) =
                code[i + head.len()..].find('{').and_then(|b| balanced_braces(&code[i + head.len() + b..]))
            {
                for literal in string_literals(body) {
                    found.push(format!("{head} {{ \"{literal}\" }}"));
                }
            }
        }
    }
    found
}

/// The text inside the parentheses `text` opens with.
fn balanced(text: &str) -> Option<&str> {
    enclosed(text, '(', ')')
}

/// The text inside the braces `text` opens with.
fn balanced_braces(text: &str) -> Option<&str> {
    enclosed(text, '{', '}')
}

fn enclosed(text: &str, open: char, close: char) -> Option<&str> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(&text[1..i]);
            }
        }
    }
    None
}

/// The string literals in `text` (their contents).
fn string_literals(text: &str) -> Vec<&str> {
    text.split('"').skip(1).step_by(2).collect()
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
    // The check itself notices a key built in place, whichever way.
    assert_eq!(
        key_literals(r#"Key::new(format!("POST#{id}"), "POST")"#),
        vec!["\"POST#".to_string(), "Key::new(… \"POST#{id}\" …)".into(), "Key::new(… \"POST\" …)".into()]
    );
    assert_eq!(key_literals(r#"fn sk(&self) -> String { "PROFILE".into() }"#).len(), 1);
    assert!(key_literals(r#"Key::new(keys::post_partition(id), keys::POST)"#).is_empty());
    assert!(key_literals(r##"format!("#c{i} :d{i}")"##).is_empty());
}

/// The domains each domain uses (through their contracts), read from the manifests of its
/// package and of its contract.
fn domain_graph() -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeSet<String> = domains().keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for name in &names {
        let mut uses = BTreeSet::new();
        for manifest in ["Cargo.toml", "contract/Cargo.toml"] {
            let path = root().join("functions").join(name).join(manifest);
            let Ok(text) = std::fs::read_to_string(path) else { continue };
            let manifest: toml::Value = toml::from_str(&text).unwrap();
            let deps = manifest.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
            for dep in deps.keys() {
                let domain = dep.strip_suffix("-contract").unwrap_or(dep);
                if names.contains(domain) && domain != name {
                    uses.insert(domain.to_string());
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A cycle in `graph`, if it has one (as the path that closes it).
fn cycle_in(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

/// The domains every other builds on: they know no content.
const BASE_DOMAINS: [&str; 2] = ["identity", "social"];
/// Domains whose content is the product's (a base domain never depends on one).
const CONTENT_DOMAINS: [&str; 8] = ["pets", "diary", "market", "chat", "community", "campaigns", "instagram", "health"];

#[test]
fn domains_depend_on_each_other_one_way_and_base_domains_on_no_content() {
    let graph = domain_graph();
    assert_eq!(cycle_in(&graph), None, "domains that depend on each other: {graph:?}");
    for base in BASE_DOMAINS {
        let content: Vec<&String> = graph[base].iter().filter(|d| CONTENT_DOMAINS.contains(&d.as_str())).collect();
        assert!(content.is_empty(), "the base domain {base} depends on content domains {content:?}");
    }
    for d in CONTENT_DOMAINS.iter().chain(BASE_DOMAINS.iter()) {
        assert!(graph.contains_key(*d), "no domain {d}");
    }
    // The check itself finds a cycle and none where there is none.
    let g = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(cycle_in(&g(&[("a", "b"), ("b", "c"), ("c", "a")])).map(|c| c.len()), Some(4));
    assert_eq!(cycle_in(&g(&[("a", "b"), ("a", "c"), ("b", "c")])), None);
}

/// Words of the product's domains: the kernel holds mechanisms, never these.
const DOMAIN_WORDS: [&str; 15] = [
    "diary",
    "market",
    "chat",
    "community",
    "campaign",
    "petstar",
    "instagram",
    "toss",
    "kakao",
    "google",
    "clova",
    "advertis",
    "listing",
    "prescription",
    "moderat",
];

/// The kernel holds mechanisms only: no file of `shared/` names a domain or a provider in its
/// code (what a domain knows lives in its crate or contract, registered through the kernel's
/// declarations: topics, queues, settings, upload purposes, roles, reportable types).
#[test]
fn the_kernel_knows_no_domain() {
    let mut files = Vec::new();
    rust_files(&root().join("shared/src"), &mut files);
    let mut knowing = BTreeMap::new();
    for f in files {
        let code = code(&f).to_lowercase();
        let words: Vec<&str> = DOMAIN_WORDS.iter().copied().filter(|w| code.contains(w)).collect();
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        // The API document's title and description name the product.
        if !words.is_empty() && name != "openapi.rs" {
            knowing.insert(name, words);
        }
    }
    assert!(knowing.is_empty(), "kernel files that name domains: {knowing:?} (move what they know to the domain)");
}

/// The kernel's modules depend on each other without a cycle: each can be read (and changed)
/// knowing only the ones below it. Read from each whole file (code after a test module too), so
/// a new `crate::` path that closes a loop fails here.
#[test]
fn the_kernel_modules_form_no_cycle() {
    let src = root().join("shared/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        // A module is its file, or the folder it is in (`table/…` is `table`).
        let rel = f.strip_prefix(&src).unwrap();
        let module = match rel.components().count() {
            1 => rel.file_stem().unwrap().to_string_lossy().to_string(),
            _ => rel.components().next().unwrap().as_os_str().to_string_lossy().to_string(),
        };
        if module == "lib" {
            continue;
        }
        let code = code(&f);
        let uses = graph.entry(module.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let name: String = code[i + 7..].chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
            if !name.is_empty() && name != module {
                uses.insert(name);
            }
        }
    }
    assert_eq!(cycle_in(&graph), None, "an import cycle in the kernel");
    assert!(graph["table"].contains("error") && !graph["table"].contains("http"), "{:?}", graph["table"]);
    // Whole files: a `crate::` path after a test module counts.
    assert!(code_after_tests_is_read());
}

fn code_after_tests_is_read() -> bool {
    let text = "use crate::a;\n#[cfg(test)]\nmod tests { use crate::b; }\nfn f() { crate::c::g() }\n";
    let kept = without_test_modules(text);
    kept.contains("crate::a") && kept.contains("crate::c") && !kept.contains("crate::b")
}

#[test]
fn a_domain_depends_on_other_domains_only_through_their_contracts() {
    let names: BTreeSet<String> = domains().keys().cloned().collect();
    for name in &names {
        let Ok(manifest) = std::fs::read_to_string(root().join("functions").join(name).join("Cargo.toml")) else {
            continue;
        };
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

/// The modules of one crate directory (its top-level files) and the sibling modules each one
/// uses (`crate::<module>`, whole files but their test modules).
fn crate_modules(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    let names: BTreeSet<String> = files.iter().map(|f| f.file_stem().unwrap().to_string_lossy().to_string()).collect();
    let mut graph = BTreeMap::new();
    for f in &files {
        let module = f.file_stem().unwrap().to_string_lossy().to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let code = code(f);
        let mut uses = BTreeSet::new();
        let mut add = |name: &str| {
            if name != module && names.contains(name) {
                uses.insert(name.to_string());
            }
        };
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + 7..];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::C}`: every module the group names.
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for part in group.split(',') {
                    add(part.trim().split("::").next().unwrap_or_default());
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                add(&name);
            }
        }
        graph.insert(module, uses);
    }
    graph
}

/// The groups of modules that import each other in a circle (each group sorted).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<Vec<String>> {
    let reach = |from: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = graph.get(from).into_iter().flatten().cloned().collect();
        while let Some(n) = todo.pop() {
            if seen.insert(n.clone()) {
                todo.extend(graph.get(&n).into_iter().flatten().cloned());
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> = graph.keys().map(|m| (m, reach(m))).collect();
    graph
        .keys()
        .filter(|m| reached[m].contains(*m))
        .map(|m| reached[m].iter().filter(|n| reached[*n].contains(m)).cloned().collect())
        .collect()
}

/// Files you can read one at a time: inside a domain, the modules import each other one way.
#[test]
fn the_modules_inside_a_domain_import_each_other_one_way() {
    let mut found = BTreeSet::new();
    for (domain, dirs) in domains() {
        for dir in dirs {
            for circle in circles(&crate_modules(&dir)) {
                found.insert((domain.clone(), circle));
            }
        }
    }
    // A circle is broken by moving what both sides need (stored types, a shared step) to a
    // file of its own, as `model.rs`, `link.rs` or `delivery.rs` do.
    assert!(found.is_empty(), "modules importing each other in a circle: {found:?}");
    // The check sees a circle: two modules naming each other.
    let sample: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(circles(&sample), BTreeSet::from([vec!["a".to_string(), "b".to_string()]]));
}
