//! Metrics operators chart: a journey through the product (sign-up, a failed sign-in, a post, a
//! chat message, a sale and its refund, a Web Push delivery, the outbox relaying it all) leaves
//! CloudWatch Embedded Metric Format lines for each figure, which `/_local/metrics` reads as
//! CloudWatch would.

use std::time::Duration;

use integration_tests::TestStack;
use reqwest::Method;
use serde_json::{Value, json};

use crate::payments::{PW, checkout, confirm, listing, order, room};

fn total(metrics: &Value, name: &str) -> f64 {
    metrics["totals"][name]["sum"].as_f64().unwrap_or(0.0)
}

#[tokio::test]
async fn a_journey_leaves_an_emf_line_for_every_figure_the_dashboard_charts() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    assert_eq!(t.login("ann@example.com", "not-her-password").await.status, 401);
    let post = t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&ann.access)).await;
    assert_eq!(post.status, 201);
    // A sale of 15,000 won, then its refund.
    let id = listing(&t, &ann, "하네스", 15_000).await;
    let chat = room(&t, &ann, &bob, &id, true).await;
    let said = t
        .post(
            &format!("/chat/rooms/{chat}/messages"),
            json!({"content": "안녕하세요", "clientMessageId": "m-1"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(said.status, 201, "{:?}", said.body);
    let order_id = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 15_000, "APPROVE").await;
    assert_eq!(confirm(&t, &bob, &key, &order_id, 15_000).await.status, 200);
    let asked = t
        .post(
            &format!("/market/orders/{order_id}/refund-requests"),
            json!({"reason": "파손되어 도착했어요"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    let refund = asked.body["id"].as_str().unwrap();
    let decided = t
        .call(
            Method::PUT,
            &format!("/market/refund-requests/{refund}/decision"),
            Some(json!({"decision": "ACCEPT"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    // A push to ann's browser: bob follows her while she has no socket open.
    let mut settings = t.call(Method::GET, "/notifications/settings", None, Some(&ann.access)).await.body;
    for (_, v) in settings["push"].as_object_mut().unwrap() {
        *v = json!(true);
    }
    assert_eq!(t.call(Method::PUT, "/notifications/settings", Some(settings), Some(&ann.access)).await.status, 200);
    let sub = t.post("/_local/push/subscriptions", json!({}), None).await.body;
    assert_eq!(t.post("/notifications/push-subscriptions", sub, Some(&ann.access)).await.status, 201);
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await.status / 100,
        2
    );

    let metrics = t
        .eventually(Duration::from_secs(15), "every figure", || async {
            let m = t.get("/_local/metrics").await.body;
            (total(&m, "PushDeliveries") >= 1.0 && total(&m, "OutboxAgeMs") > 0.0).then_some(m)
        })
        .await;
    assert_eq!(metrics["namespace"], "PetPlatform");
    assert_eq!(total(&metrics, "SignUps"), 2.0);
    assert_eq!(total(&metrics, "SignInsFailed"), 1.0);
    assert_eq!(total(&metrics, "Posts"), 1.0);
    assert_eq!(total(&metrics, "ChatMessages"), 1.0);
    assert_eq!((total(&metrics, "Sales"), total(&metrics, "SalesAmountKrw")), (1.0, 15_000.0));
    assert_eq!((total(&metrics, "Refunds"), total(&metrics, "RefundsAmountKrw")), (1.0, 15_000.0));
    assert!(metrics["totals"]["OutboxAgeMs"]["count"].as_u64().unwrap() >= 5, "{:?}", metrics["totals"]);
    assert!(total(&metrics, "DynamoDBCalls") > 10.0);
    assert!(metrics["totals"]["ConflictsRetried"].is_object(), "conflicts are charted even at zero");
    // The sale's own line, as CloudWatch reads it: the figures at the root, named by a directive.
    let sale = metrics["byFunction"]["POST /payments/confirm"].clone();
    assert_eq!(sale["SalesAmountKrw"]["sum"], 15_000.0, "{sale:?}");
    let documents = metrics["documents"].as_array().unwrap();
    let line = documents.iter().find(|d| d["Sales"] == 1.0).expect("the sale's EMF document");
    assert_eq!(line["Function"], "POST /payments/confirm");
    let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    let named: Vec<&str> =
        directives.iter().flat_map(|d| d["Metrics"].as_array().unwrap()).map(|m| m["Name"].as_str().unwrap()).collect();
    for name in ["Sales", "SalesAmountKrw", "DynamoDBCalls", "ConflictsRetried"] {
        assert!(named.contains(&name), "{name} in {line:?}");
    }
    assert!(line["_aws"]["Timestamp"].as_i64().unwrap() > 1_700_000_000_000);
    assert!(directives.iter().all(|d| d["Namespace"] == "PetPlatform"));
    t.stop().await;
}
