//! Virtual accounts and Toss's webhooks: a sale that waits for the buyer's deposit and
//! completes on Toss's callback (told once however often it comes), an account whose due date
//! passes releasing the listing, and webhook bodies that are never believed.

use std::time::Duration;

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

use crate::payments::{PW, checkout, confirm, listing, order, points, room, status_of, toss_payments};

/// `buyer` orders `seller`'s new listing and pays by virtual account: (listing, order, payment key).
async fn by_virtual_account(
    t: &TestStack,
    seller: &Session,
    buyer: &Session,
    title: &str,
    price: i64,
) -> (String, String, String) {
    let id = listing(t, seller, title, price).await;
    room(t, seller, buyer, &id, true).await;
    let order_id = order(t, buyer, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(t, &order_id, price, "VIRTUAL_ACCOUNT").await;
    let r = confirm(t, buyer, &key, &order_id, price).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["order"]["status"], "WAITING_FOR_DEPOSIT");
    assert!(r.body["transaction"].is_null(), "no sale before the deposit");
    let va = &r.body["order"]["virtualAccount"];
    assert!(va["accountNumber"].as_str().is_some_and(|n| !n.is_empty()), "{va:?}");
    assert!(va["dueDate"].is_string());
    (id, order_id, key)
}

async fn order_status(t: &TestStack, buyer: &Session, order_id: &str) -> Value {
    t.call(Method::GET, &format!("/market/orders/{order_id}"), None, Some(&buyer.access)).await.body
}

async fn webhook(t: &TestStack, body: Value) -> u16 {
    t.post("/payments/webhooks/toss", body, None).await.status
}

/// The lookups Toss received for `payment_key`.
async fn lookups_at_toss(t: &TestStack, payment_key: &str) -> usize {
    let calls = t.get("/_local/toss/calls").await.body.as_array().unwrap().clone();
    calls.iter().filter(|c| c["method"] == "GET" && c["path"] == format!("/v1/payments/{payment_key}")).count()
}

#[tokio::test]
async fn a_virtual_account_sale_completes_on_the_deposit_callback_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let (id, order_id, key) = by_virtual_account(&t, &ann, &bob, "강아지 켄넬", 30_000).await;
    assert_eq!(status_of(&t, &id).await, "RESERVED", "held for the deposit");
    // The confirm sent again answers the same; the order shows where to pay.
    let again = confirm(&t, &bob, &key, &order_id, 30_000).await;
    assert_eq!((again.status, again.body["order"]["status"].as_str()), (200, Some("WAITING_FOR_DEPOSIT")));
    assert_eq!(order_status(&t, &bob, &order_id).await["virtualAccount"]["bankCode"], "88");
    assert_eq!(points(&t, &ann).await["balance"], 0);

    // The buyer deposits: Toss calls back, and the sale completes.
    assert_eq!(t.post("/_local/toss/deposit", json!({"orderId": order_id}), None).await.status, 200);
    t.eventually(Duration::from_secs(15), "the sale completed by the deposit", || async {
        (order_status(&t, &bob, &order_id).await["status"] == "DONE").then_some(())
    })
    .await;
    assert_eq!(status_of(&t, &id).await, "SOLD");
    assert_eq!(points(&t, &ann).await["balance"], 30_000);
    let notice = t
        .eventually(Duration::from_secs(10), "the seller's TRADE_SOLD notification", || async {
            let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
            r.body["items"].as_array().and_then(|a| a.iter().find(|n| n["type"] == "TRADE_SOLD").cloned())
        })
        .await;
    assert!(notice["body"].as_str().unwrap().contains("판매되었습니다"));
    let sent = t.get("/_local/toss/webhooks").await.body;
    let callback = sent.as_array().unwrap().iter().find(|w| w["body"]["secret"].is_string()).cloned().unwrap();
    assert_eq!(callback["answered"], 200);

    // Delivered again, and late status events: nothing changes twice.
    assert_eq!(webhook(&t, callback["body"].clone()).await, 200);
    for w in sent.as_array().unwrap() {
        assert_eq!(webhook(&t, w["body"].clone()).await, 200);
    }
    t.settle().await;
    assert_eq!(points(&t, &ann).await["balance"], 30_000, "earned once");
    t.indexed().await;
    let sold = t.call(Method::GET, "/users/me/market/sales", None, Some(&ann.access)).await;
    assert_eq!(sold.body["items"].as_array().unwrap().len(), 1, "one sale");
    assert_eq!(sold.body["items"][0]["transaction"]["method"], "가상계좌");
    t.stop().await;
}

#[tokio::test]
async fn a_virtual_account_past_its_due_date_is_closed_and_the_listing_is_for_sale_again() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let (id, order_id, key) = by_virtual_account(&t, &ann, &bob, "고양이 스크래처", 12_000).await;

    // Before the due date the job leaves it waiting.
    t.indexed().await;
    let run = t.post("/_local/jobs/settle-payments/run", json!({}), None).await;
    assert_eq!(run.body["result"]["deposits"]["expired"], 0, "{:?}", run.body);
    assert_eq!(status_of(&t, &id).await, "RESERVED");

    clock.advance(chrono::Duration::days(8));
    let run = t.post("/_local/jobs/settle-payments/run", json!({}), None).await;
    assert_eq!(run.body["result"]["deposits"]["expired"], 1, "{:?}", run.body);
    assert_eq!(status_of(&t, &id).await, "SALE");
    let access = t.login("bob@example.com", PW).await.body["accessToken"].as_str().unwrap().to_string();
    let bob = Session { access, ..bob };
    let o = order_status(&t, &bob, &order_id).await;
    assert_eq!(
        (o["status"].as_str(), o["failure"]["code"].as_str()),
        (Some("FAILED"), Some("DEPOSIT_EXPIRED")),
        "{o:?}"
    );
    let payment = toss_payments(&t).await.into_iter().find(|p| p["paymentKey"] == key.as_str()).unwrap();
    assert_eq!(payment["status"], "CANCELED", "the account is closed at Toss");
    // A deposit after that finds no account to pay into.
    assert_eq!(t.post("/_local/toss/deposit", json!({"orderId": order_id}), None).await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn a_forged_webhook_changes_nothing_because_toss_is_asked() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let (id, order_id, key) = by_virtual_account(&t, &ann, &bob, "강아지 계단", 50_000).await;
    let before = lookups_at_toss(&t, &key).await;

    // "The payment is DONE", says a body nobody signed: Toss is asked, and says otherwise.
    let forged = json!({"eventType": "PAYMENT_STATUS_CHANGED", "createdAt": "2026-12-07T12:00:00.000",
                        "data": {"paymentKey": key, "orderId": order_id, "status": "DONE", "totalAmount": 50_000}});
    assert_eq!(webhook(&t, forged).await, 200);
    t.eventually(Duration::from_secs(10), "Toss asked about the payment", || async {
        (lookups_at_toss(&t, &key).await > before).then_some(())
    })
    .await;
    t.settle().await;
    assert_eq!(order_status(&t, &bob, &order_id).await["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(status_of(&t, &id).await, "RESERVED");
    assert_eq!(points(&t, &ann).await["balance"], 0);

    // A deposit callback without the payment's secret is dropped, without asking Toss.
    let asked = lookups_at_toss(&t, &key).await;
    let wrong = json!({"createdAt": "2026-12-07T12:00:00.000", "secret": "ps_guessed", "status": "DONE",
                       "transactionKey": "x", "orderId": order_id});
    assert_eq!(webhook(&t, wrong).await, 200);
    t.settle().await;
    assert_eq!(order_status(&t, &bob, &order_id).await["status"], "WAITING_FOR_DEPOSIT");
    assert_eq!(lookups_at_toss(&t, &key).await, asked);

    // Malformed bodies are refused; other event types are acknowledged and ignored.
    assert_eq!(
        webhook(&t, json!({"eventType": "PAYMENT_STATUS_CHANGED", "data": {"paymentKey": "../../x"}})).await,
        400
    );
    assert_eq!(webhook(&t, json!({"eventType": "payout.changed", "data": {}})).await, 200);
    let r = t.send(t.http.post(t.url("/payments/webhooks/toss")).body("not json")).await;
    assert_eq!(r.status, 400);
    t.stop().await;
}
