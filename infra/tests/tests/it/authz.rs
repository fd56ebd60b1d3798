//! Every endpoint of the route table, driven over HTTP: anonymous callers are refused wherever
//! an account is needed, and a blocked account's writes are refused everywhere.

use integration_tests::TestStack;
use local_stack::catalog;
use reqwest::Method;
use shared::routes::Access;

const SOME_ID: &str = "01JD3K4Q5R6S7T8V9W0XYZABCD";

fn concrete(path: &str) -> String {
    path.split('/').map(|seg| if seg.starts_with('{') { SOME_ID } else { seg }).collect::<Vec<_>>().join("/")
}

#[tokio::test]
async fn anonymous_callers_get_401_wherever_an_account_is_needed() {
    let t = TestStack::start().await;
    let mut checked = 0;
    for route in catalog::routes() {
        if route.access == Access::Public {
            continue;
        }
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let r = t.call(method, &concrete(route.path), Some(serde_json::json!({})), None).await;
        assert_eq!(
            (r.status, r.body["code"].as_str()),
            (401, Some("AUTHENTICATION_REQUIRED")),
            "{}",
            route.route_key()
        );
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} routes need an account?");
    t.stop().await;
}

#[tokio::test]
async fn a_blocked_account_cannot_write_through_any_endpoint() {
    let t = TestStack::start().await;
    let u = t.user("blocked@example.com", "blocked", "walks4ever").await;
    let until = chrono::Utc::now() + chrono::Duration::days(1);
    t.stack
        .ctx
        .table
        .write(
            shared::table::Write::update(shared::account::user_key(&u.user_id), "SET blockedUntil = :u")
                .value(":u", shared::table::s(until.to_rfc3339())),
        )
        .await
        .unwrap();
    let mut checked = 0;
    for route in catalog::routes() {
        if route.access == Access::Public || !route.method.is_write() {
            continue;
        }
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let r = t.call(method, &concrete(route.path), Some(serde_json::json!({})), Some(&u.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ACCOUNT_BLOCKED")), "{}", route.route_key());
        assert!(r.body["until"].is_string());
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} write routes?");
    // Reads still work.
    assert_eq!(t.call(Method::GET, "/users/me", None, Some(&u.access)).await.status, 200);
    t.stop().await;
}
