//! The product through its clients, against an in-process stack: the API reference in a real
//! browser (Debian's Chromium driven by playwright-core, `clients/web/tests/browser.mjs`; the
//! screenshots land in `target/screenshots/`), and the TypeScript client's example journey
//! (`clients/typescript/examples/journey.ts`). They need `chromium`, Node.js and `npm ci` in
//! `clients/web` and `clients/typescript` (CI installs them).

use std::process::Command;

use integration_tests::TestStack;

const PW: &str = "walks4ever";

fn web_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/web")
}

fn screenshots() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("screenshots")
}

/// Runs one scenario of the browser script; its output on failure.
async fn scenario(name: &str, env: &[(&str, &str)]) {
    let mut cmd = tokio::process::Command::new("node");
    cmd.current_dir(web_dir()).arg("tests/browser.mjs").arg(name).env("SCREENSHOT_DIR", screenshots());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("node runs (Node.js is installed)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "browser scenario {name} failed:\n{stdout}\n{stderr}");
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_renders_offline_and_its_bearer_scheme_tries_a_call() {
    assert!(
        Command::new("test").arg("-x").arg("/usr/bin/chromium").status().is_ok_and(|s| s.success()),
        "Debian's chromium is not installed (apt-get install chromium)"
    );
    assert!(
        web_dir().join("node_modules/playwright-core").exists(),
        "the browser tests' packages are not installed (npm ci --prefix clients/web)"
    );
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    scenario("docs", &[("BASE_URL", &t.stack.http_url), ("ACCESS_TOKEN", &ann.access), ("EMAIL", &ann.email)]).await;
    assert!(screenshots().join("docs.png").exists());
    t.stop().await;
}

fn typescript_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../clients/typescript")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_clients_example_signs_up_posts_likes_and_hears_it_live() {
    assert!(
        typescript_dir().join("node_modules/openapi-fetch").exists(),
        "the TypeScript client's packages are not installed (npm ci --prefix clients/typescript)"
    );
    let t = TestStack::start().await;
    let out = tokio::process::Command::new("npx")
        .current_dir(typescript_dir())
        .args(["tsx", "examples/journey.ts"])
        .env("BASE_URL", &t.stack.http_url)
        .env("WS_URL", &t.stack.websocket_url)
        .output()
        .await
        .expect("npx runs (Node.js is installed)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the example failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("mina heard it live: LIKE"), "{stdout}");
    assert!(stdout.contains("mina's account: mina-"), "{stdout}");
    println!("{stdout}");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_in_two_browsers_chat_live_and_one_buys_the_others_listing_in_the_demo() {
    assert!(web_dir().join("node_modules/playwright-core").exists(), "npm ci --prefix clients/web");
    let t = TestStack::start().await;
    scenario("demo", &[("BASE_URL", &t.stack.http_url)]).await;
    for shot in ["demo-seller.png", "demo-buyer.png"] {
        assert!(screenshots().join(shot).exists(), "{shot}");
    }
    t.stop().await;
}
