//! The route table is the single source of truth: the binaries, `template.yaml`, the nested
//! stacks and `events/` must agree with it, and the template must stay within CloudFormation's
//! limits as the product grows.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use local_stack::catalog;
use local_stack::infra_gen::{MAX_FUNCTIONS_PER_STACK, deployed_resource_count, render};
use shared::routes::{Domain, Function, Method};

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

#[derive(serde::Deserialize)]
struct Manifest {
    #[serde(default)]
    bin: Vec<BinTarget>,
}

#[derive(serde::Deserialize)]
struct BinTarget {
    name: String,
    path: String,
    test: Option<bool>,
}

#[test]
fn every_function_is_a_binary_and_every_binary_a_function() {
    let root = repo_root();
    let mut route_keys = HashSet::new();
    let mut names = HashSet::new();
    let mut declared: BTreeSet<(String, String)> = BTreeSet::new();
    for f in catalog::functions() {
        assert!(names.insert(f.binary), "binary {} is declared twice", f.binary);
        if let Some(r) = f.route() {
            assert!(route_keys.insert(r.route_key()), "{} is declared twice", r.route_key());
        }
        let path = root.join(format!("functions/{}/src/bin/{}.rs", f.package, f.binary));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} is missing", path.display()));
        assert!(text.contains("shared::runtime::main("), "{} must call shared::runtime::main", path.display());
        declared.insert((f.package.to_string(), f.binary.to_string()));
    }
    // The manifests, read as TOML: each [[bin]] is a declared function, at its path, without tests
    // (so a test run does not link every endpoint).
    let mut in_manifests = BTreeSet::new();
    let mut files = BTreeSet::new();
    for pkg in std::fs::read_dir(root.join("functions")).unwrap() {
        let dir = pkg.unwrap().path();
        let package = dir.file_name().unwrap().to_string_lossy().to_string();
        // A domain that is a contract alone (moderation) has no functions of its own.
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let manifest: Manifest = toml::from_str(&manifest).unwrap();
        for b in manifest.bin {
            assert_eq!(b.path, format!("src/bin/{}.rs", b.name), "functions/{package}: [[bin]] {}", b.name);
            assert_eq!(b.test, Some(false), "functions/{package}: [[bin]] {} needs test = false", b.name);
            in_manifests.insert((package.clone(), b.name));
        }
        if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
            for e in entries {
                let name = e.unwrap().path().file_stem().unwrap().to_string_lossy().to_string();
                files.insert((package.clone(), name));
            }
        }
    }
    assert_eq!(in_manifests, declared, "[[bin]] entries and declared functions differ");
    assert_eq!(files, declared, "src/bin files and declared functions differ");
}

#[test]
fn a_function_receives_only_its_own_secrets() {
    let files = render(catalog::DOMAINS);
    let mut env_of = std::collections::HashMap::new();
    for (rel, text) in &files {
        if rel.starts_with("infra/stacks") {
            let stack: serde_json::Value = serde_yaml::from_str(text).unwrap();
            for (_, res) in stack["Resources"].as_object().unwrap() {
                if res["Type"] == "AWS::Serverless::Function" {
                    let binary = res["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap().to_string();
                    let vars = res["Properties"]["Environment"]["Variables"].as_object().cloned().unwrap_or_default();
                    env_of.insert(binary, vars.keys().cloned().collect::<BTreeSet<String>>());
                }
            }
            assert!(
                !stack["Globals"]["Function"]["Environment"]["Variables"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| { k.contains("SECRET") }),
                "no secret in a stack's globals"
            );
        }
    }
    let set = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<BTreeSet<String>>();
    assert_eq!(env_of["mail-worker"], set(&[]), "a worker that signs nothing gets no secret");
    assert_eq!(env_of["outbox-relay"], set(&[]));
    assert_eq!(env_of["posts-create"], set(&["CURSOR_SECRET", "JWT_SECRET"]));
    assert_eq!(
        env_of["auth-oauth-sign-in"],
        set(&["CURSOR_SECRET", "GOOGLE_CLIENT_SECRET", "JWT_SECRET", "KAKAO_CLIENT_SECRET"])
    );
    let with_oauth: Vec<_> =
        env_of.iter().filter(|(_, vars)| vars.contains("GOOGLE_CLIENT_SECRET")).map(|(b, _)| b.clone()).collect();
    assert_eq!(with_oauth, vec!["auth-oauth-sign-in".to_string()], "only sign-in sees the OAuth secrets");
}

#[test]
fn no_stack_nears_the_resource_limit_at_150_endpoints() {
    // The real product plus 150 more endpoints, all in one domain: the worst case for a stack.
    let handler = system::health::HEALTH.route().expect("health is an HTTP function").endpoint;
    let synthetic: Vec<&'static Function> = (0..150)
        .map(|i| {
            let f: &'static Function = Box::leak(Box::new(
                Function::http(
                    Method::Post,
                    Box::leak(format!("/synthetic/{i}/{{id}}").into_boxed_str()),
                    Box::leak(format!("synthetic-{i}").into_boxed_str()),
                    "synthetic",
                    shared::routes::Access::User,
                    handler,
                )
                .permissions(&[shared::routes::Permission::TableRead, shared::routes::Permission::TableWrite])
                .doc("synthetic", "A synthetic endpoint"),
            ));
            f
        })
        .collect();
    let big = Domain {
        name: "synthetic",
        uploads: &[],
        tags: &[],
        errors: &[],
        functions: Box::leak(synthetic.into_boxed_slice()),
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

#[test]
fn the_template_protects_the_data_and_alarms_on_trouble() {
    let template: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap();
    let res = &template["Resources"];
    let table = &res["Table"];
    assert_eq!(table["DeletionPolicy"], "Retain");
    let props = &table["Properties"];
    assert_eq!(props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    assert_eq!(props["DeletionProtectionEnabled"], true);
    assert_eq!(props["SSESpecification"]["SSEEnabled"], true);
    let bucket = &res["MediaBucket"];
    assert_eq!(bucket["DeletionPolicy"], "Retain");
    assert_eq!(bucket["Properties"]["VersioningConfiguration"]["Status"], "Enabled");
    let block = &bucket["Properties"]["PublicAccessBlockConfiguration"];
    for k in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(block[k], true, "{k}");
    }
    assert!(bucket["Properties"]["BucketEncryption"].is_object());
    let alarms: Vec<(&String, &serde_json::Value)> =
        res.as_object().unwrap().iter().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm").collect();
    let metric = |m: &str| alarms.iter().filter(|(_, a)| a["Properties"]["MetricName"] == m).count();
    assert_eq!(
        metric("ApproximateNumberOfMessagesVisible"),
        local_stack::catalog::queues().len() + 1,
        "one alarm per dead-letter queue, and one on the job-failures queue"
    );
    assert_eq!((metric("5xx"), metric("ThrottledRequests"), metric("Errors")), (1, 1, 1));
    for (name, a) in &alarms {
        assert!(a["Properties"]["AlarmActions"].as_array().is_some_and(|x| !x.is_empty()), "{name} tells someone");
    }
}

#[test]
fn every_function_is_traced_logged_with_retention_and_the_unseen_ones_are_isolated_and_alarmed() {
    let root: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap();
    let reserved_default = root["Parameters"]["ReservedConcurrency"]["Default"].as_u64().unwrap();
    for stage in ["HttpApiStage", "WebSocketStage"] {
        assert!(root["Resources"][stage]["Properties"]["AccessLogSettings"]["DestinationArn"].is_object(), "{stage}");
    }
    let lifecycle = &root["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]["Rules"][0];
    assert_eq!(lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"], 30);
    assert_eq!(lifecycle["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"], 1);
    let mut seen = 0;
    for entry in std::fs::read_dir(repo_root().join("infra/stacks")).unwrap() {
        let path = entry.unwrap().path();
        let stack: serde_json::Value = serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let globals = &stack["Globals"]["Function"];
        assert_eq!(globals["Tracing"], "Active", "{}", path.display());
        assert!(globals["KmsKeyArn"].is_object(), "environments encrypted with the stack's key");
        let res = stack["Resources"].as_object().unwrap();
        for (id, f) in res.iter().filter(|(_, r)| r["Type"] == "AWS::Serverless::Function") {
            seen += 1;
            let name = id.trim_end_matches("Function");
            let group = &res[&format!("{name}LogGroup")]["Properties"];
            assert!(group["RetentionInDays"].is_object() && group["KmsKeyId"].is_object(), "{id}: its log group");
            let props = &f["Properties"];
            let events = props["Events"].as_object();
            let Some(event) = events.and_then(|e| e.values().next()) else {
                // HTTP and WebSocket functions: throttled per route by their stage.
                assert!(props["ReservedConcurrentExecutions"].is_null(), "{id}");
                continue;
            };
            assert_eq!(
                props["ReservedConcurrentExecutions"]["Ref"], "ReservedConcurrency",
                "{id}: reserved concurrency"
            );
            let alarm = &res[&format!("{name}ErrorsAlarm")]["Properties"];
            assert_eq!(
                (alarm["MetricName"].as_str(), alarm["Dimensions"][0]["Value"]["Ref"].as_str()),
                (Some("Errors"), Some(id.as_str()))
            );
            match event["Type"].as_str().unwrap() {
                "SQS" => {
                    let max = event["Properties"]["ScalingConfig"]["MaximumConcurrency"].as_u64().unwrap();
                    assert!((2..=reserved_default).contains(&max), "{id}: at most its reserved concurrency");
                }
                "DynamoDB" => {
                    let pattern: serde_json::Value = serde_json::from_str(
                        event["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"].as_str().unwrap(),
                    )
                    .unwrap();
                    // The consumer's own filter: inserts of one entity type, or inserts and
                    // removals of counted facts, never every write of the table.
                    let declared: Vec<serde_json::Value> =
                        local_stack::catalog::streams().iter().map(|c| c.filter.pattern()).collect();
                    assert!(declared.contains(&pattern), "{id}: {pattern}");
                    let events = &pattern["eventName"];
                    assert!(
                        *events == serde_json::json!(["INSERT"]) || *events == serde_json::json!(["INSERT", "REMOVE"]),
                        "{id}: {events}"
                    );
                }
                "Schedule" => {
                    let to = &props["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"];
                    assert_eq!(to["Ref"], "JobFailuresQueueArn", "{id}: failed runs are kept");
                    assert_eq!(event["Properties"]["DeadLetterConfig"]["Arn"]["Ref"], "JobFailuresQueueArn", "{id}");
                }
                other => panic!("{id}: an event of type {other}"),
            }
        }
    }
    assert_eq!(seen, catalog::functions().len());
}

#[test]
fn a_function_that_answers_no_body_signs_no_media_urls() {
    // `s3:GetObject` is for presigning the URLs an answer shows; an answer without a body has none.
    let mut holding = Vec::new();
    for f in catalog::functions() {
        let Some(route) = f.route() else { continue };
        let replies = (route.endpoint.replies)(&mut Vec::new());
        let bodiless = replies.iter().filter(|r| (200..300).contains(&r.status)).all(|r| r.body.is_none());
        if bodiless && f.permissions.contains(&shared::routes::Permission::MediaRead) {
            holding.push(f.binary);
        }
    }
    assert!(holding.is_empty(), "answer no body but may read media: {holding:?}");
}

#[test]
fn a_function_that_may_read_media_answers_a_url_or_takes_an_uploaded_file() {
    // `s3:GetObject` is for the media URLs an answer shows (a person's picture, a pet's photo, …)
    // and for checking an uploaded file a request names by its key (`media::verify` reads its
    // first bytes): an HTTP function holding it must do one of the two.
    let doc: serde_json::Value = serde_json::from_str(&catalog::openapi_json()).unwrap();
    let schemas = &doc["components"]["schemas"];
    /// Whether a schema has a property whose name `names` accepts, anywhere in it.
    fn holds(
        v: &serde_json::Value,
        schemas: &serde_json::Value,
        names: &dyn Fn(&str) -> bool,
        seen: &mut HashSet<String>,
    ) -> bool {
        match v {
            serde_json::Value::Object(o) => o.iter().any(|(k, v)| {
                if k == "$ref" {
                    let name = v.as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
                    return seen.insert(name.clone()) && holds(&schemas[&name], schemas, names, seen);
                }
                if k == "properties"
                    && let Some(props) = v.as_object()
                    && props.keys().any(|p| names(&p.to_ascii_lowercase()))
                {
                    return true;
                }
                holds(v, schemas, names, seen)
            }),
            serde_json::Value::Array(a) => a.iter().any(|v| holds(v, schemas, names, seen)),
            _ => false,
        }
    }
    let url = |p: &str| p.ends_with("url") || p.ends_with("urls");
    // An uploaded file is named by its media key (`imageKey`, `mediaKeys`, `fileKey`, …).
    let file = |p: &str| (p.ends_with("key") || p.ends_with("keys")) && p != "paymentkey";
    let mut without = Vec::new();
    for f in catalog::functions() {
        let Some(route) = f.route() else { continue };
        if !f.permissions.contains(&shared::routes::Permission::MediaRead) {
            continue;
        }
        let op = &doc["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        let answers: Vec<&serde_json::Value> = op["responses"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .map(|(_, r)| r)
            .collect();
        let answers_url = answers.iter().any(|r| holds(r, schemas, &url, &mut HashSet::new()));
        let takes_file = holds(&op["requestBody"], schemas, &file, &mut HashSet::new());
        if !answers_url && !takes_file {
            without.push(f.binary);
        }
    }
    assert!(without.is_empty(), "may read media but answer no URL and take no file: {without:?}");
}

/// A DynamoDB stream serves at most two readers a shard at once (more are throttled): the table
/// has two consumers, the outbox relay and the one that keeps every counter.
#[test]
fn the_tables_stream_has_at_most_two_readers() {
    let readers: Vec<&str> = local_stack::catalog::streams().iter().map(|c| c.name).collect();
    assert!(readers.len() <= 2, "{readers:?}");
}
