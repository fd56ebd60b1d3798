//! Paying for a listing over HTTP, against the Toss Payments sandbox: who may order, exactly one
//! sale however many buyers or retries, refusals and timeouts and a failing database settled
//! without keeping anyone's money, and the sale status pushed to every room about the listing.

use std::time::Duration;

use integration_tests::ws::{Socket, connect, frame_of};
use integration_tests::{Reply, Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

pub(crate) const PW: &str = "walks4ever";

pub(crate) async fn listing(t: &TestStack, seller: &Session, title: &str, price: i64) -> String {
    let key = t.png(seller, "market").await;
    let r = t
        .post(
            "/market/posts",
            json!({"title": title, "description": "상태 좋아요", "price": price, "category": "TOY", "imageKeys": [key],
                   "location": {"lat": 37.5665, "lng": 126.978, "address": "서울 중구"}}),
            Some(&seller.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// The buyer's room about the listing, with the seller's approval (or not).
pub(crate) async fn room(t: &TestStack, seller: &Session, buyer: &Session, listing: &str, approved: bool) -> String {
    let r = t.post("/chat/rooms", json!({"marketPostId": listing}), Some(&buyer.access)).await;
    assert!(r.status == 201 || r.status == 200, "{:?}", r.body);
    let room = r.body["id"].as_str().unwrap().to_string();
    let path = format!("/chat/rooms/{room}/purchase-approval");
    let a = t.call(Method::PUT, &path, Some(json!({"approved": approved})), Some(&seller.access)).await;
    assert_eq!(a.status, 200, "{:?}", a.body);
    room
}

pub(crate) async fn order(t: &TestStack, buyer: &Session, listing: &str) -> Reply {
    t.post(&format!("/market/posts/{listing}/orders"), json!({}), Some(&buyer.access)).await
}

/// The buyer pays in the widget (the sandbox's stand-in): a payment key.
pub(crate) async fn checkout(t: &TestStack, order_id: &str, amount: i64, outcome: &str) -> String {
    let r =
        t.post("/_local/toss/checkout", json!({"orderId": order_id, "amount": amount, "outcome": outcome}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["paymentKey"].as_str().unwrap().to_string()
}

pub(crate) async fn confirm(t: &TestStack, buyer: &Session, payment_key: &str, order_id: &str, amount: i64) -> Reply {
    t.post(
        "/payments/confirm",
        json!({"paymentKey": payment_key, "orderId": order_id, "amount": amount}),
        Some(&buyer.access),
    )
    .await
}

/// What the sandbox holds: each payment's status by order id.
pub(crate) async fn toss_payments(t: &TestStack) -> Vec<Value> {
    t.get("/_local/toss/payments").await.body.as_array().unwrap().clone()
}

pub(crate) async fn charged(t: &TestStack) -> Vec<Value> {
    toss_payments(t).await.into_iter().filter(|p| p["status"] == "DONE").collect()
}

pub(crate) async fn status_of(t: &TestStack, listing: &str) -> String {
    t.get(&format!("/market/posts/{listing}")).await.body["status"].as_str().unwrap_or_default().to_string()
}

pub(crate) async fn points(t: &TestStack, who: &Session) -> Value {
    t.call(Method::GET, "/users/me/points", None, Some(&who.access)).await.body
}

/// The sale status frames a socket gets, until `status`.
pub(crate) async fn sale_status(s: &mut Socket, listing: &str, status: &str) {
    loop {
        let f = frame_of(s, "market.saleStatus").await;
        assert_eq!(f["marketPostId"], listing);
        if f["status"] == status {
            return;
        }
    }
}

#[tokio::test]
async fn an_approved_buyer_pays_once_the_seller_earns_and_every_room_hears_of_the_sale() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let id = listing(&t, &ann, "고양이 캣타워 팝니다", 25_000).await;

    // Who may order: not the seller, not a buyer without a room or without approval.
    let own = order(&t, &ann, &id).await;
    assert_eq!((own.status, own.body["code"].as_str()), (403, Some("OWN_LISTING")));
    let stranger = order(&t, &cat, &id).await;
    assert_eq!((stranger.status, stranger.body["code"].as_str()), (403, Some("PURCHASE_NOT_APPROVED")));
    room(&t, &ann, &cat, &id, true).await;
    room(&t, &ann, &cat, &id, false).await;
    let withdrawn = order(&t, &cat, &id).await;
    assert_eq!(
        (withdrawn.status, withdrawn.body["code"].as_str()),
        (403, Some("PURCHASE_NOT_APPROVED")),
        "approval withdrawn"
    );
    let anon = t.post(&format!("/market/posts/{id}/orders"), json!({}), None).await;
    assert_eq!(anon.status, 401);

    room(&t, &ann, &bob, &id, true).await;
    // The sale status goes to every room about the listing, found through an index.
    t.indexed().await;
    let mut ann_s = connect(&t, &ann).await;
    let mut bob_s = connect(&t, &bob).await;
    let mut cat_s = connect(&t, &cat).await;
    let o = order(&t, &bob, &id).await;
    assert_eq!(o.status, 201, "{:?}", o.body);
    assert_eq!((o.body["amount"].as_i64(), o.body["orderName"].as_str()), (Some(25_000), Some("고양이 캣타워 팝니다")));
    assert!(o.body["customerKey"].as_str().is_some_and(|k| !k.contains(&bob.user_id)), "not the user id");
    let order_id = o.body["orderId"].as_str().unwrap().to_string();
    // Nobody else can see or confirm the order.
    let theirs = t.call(Method::GET, &format!("/market/orders/{order_id}"), None, Some(&cat.access)).await;
    assert_eq!(theirs.status, 404);

    // A tampered amount: refused before anything is charged.
    let key = checkout(&t, &order_id, 100, "APPROVE").await;
    let tampered = confirm(&t, &bob, &key, &order_id, 100).await;
    assert_eq!((tampered.status, tampered.body["code"].as_str()), (400, Some("AMOUNT_MISMATCH")));
    assert!(charged(&t).await.is_empty());
    assert_eq!(status_of(&t, &id).await, "SALE");
    let not_his = confirm(&t, &cat, &key, &order_id, 25_000).await;
    assert_eq!(not_his.status, 404, "another user's order");

    let key = checkout(&t, &order_id, 25_000, "APPROVE").await;
    let paid = confirm(&t, &bob, &key, &order_id, 25_000).await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    assert_eq!(paid.body["order"]["status"], "DONE");
    let tx = &paid.body["transaction"];
    assert_eq!(
        (tx["status"].as_str(), tx["amount"].as_i64(), tx["paymentKey"].as_str(), tx["method"].as_str()),
        (Some("COMPLETED"), Some(25_000), Some(key.as_str()), Some("카드"))
    );
    assert!(tx["approvedAt"].is_string());
    assert_eq!(charged(&t).await.len(), 1);
    assert_eq!(status_of(&t, &id).await, "SOLD");

    // Every room about the listing hears of it: the buyer's, and the other buyer's.
    sale_status(&mut bob_s, &id, "SOLD").await;
    sale_status(&mut cat_s, &id, "SOLD").await;
    sale_status(&mut ann_s, &id, "SOLD").await;

    // The seller's points, and the notice "<first 5 characters>…이 판매되었습니다!".
    let p = points(&t, &ann).await;
    assert_eq!(p["balance"], 25_000);
    assert_eq!((p["entries"][0]["kind"].as_str(), p["entries"][0]["amount"].as_i64()), (Some("EARN"), Some(25_000)));
    let notice = t
        .eventually(Duration::from_secs(10), "the seller's TRADE_SOLD notification", || async {
            let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
            r.body["items"]
                .as_array()
                .and_then(|a| a.iter().find(|n| n["type"] == "TRADE_SOLD" || n["kind"] == "TRADE_SOLD").cloned())
        })
        .await;
    assert_eq!(notice["body"], "고양이 캣…이 판매되었습니다!");

    // Sent again: the same answer, one charge.
    let again = confirm(&t, &bob, &key, &order_id, 25_000).await;
    assert_eq!((again.status, &again.body), (200, &paid.body));
    assert_eq!(charged(&t).await.len(), 1);

    // Purchases and sales, with their transactions (indexes: a moment behind the sale).
    t.indexed().await;
    let bought = t.call(Method::GET, "/users/me/market/purchases", None, Some(&bob.access)).await;
    assert_eq!(bought.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(bought.body["items"][0]["transaction"]["orderId"], order_id.as_str());
    assert_eq!(bought.body["items"][0]["counterpart"]["nickname"], "ann");
    assert_eq!(bought.body["items"][0]["marketPost"]["status"], "SOLD");
    let sold = t.call(Method::GET, "/users/me/market/sales", None, Some(&ann.access)).await;
    assert_eq!(sold.body["items"][0]["counterpart"]["nickname"], "bob");
    let none = t.call(Method::GET, "/users/me/market/sales", None, Some(&bob.access)).await;
    assert_eq!(none.body["items"].as_array().unwrap().len(), 0);

    // Sold is sold: no more orders, and it cannot be changed.
    room(&t, &ann, &cat, &id, true).await;
    let late = order(&t, &cat, &id).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("ITEM_NOT_AVAILABLE")));
    let edit =
        t.call(Method::PATCH, &format!("/market/posts/{id}"), Some(json!({"price": 1})), Some(&ann.access)).await;
    assert_eq!(edit.status, 409);
    t.stop().await;
}

#[tokio::test]
async fn twenty_buyers_confirm_at_once_and_exactly_one_buys() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let id = listing(&t, &ann, "한정판 강아지 하네스", 40_000).await;
    let mut buyers = Vec::new();
    for i in 0..20 {
        let b = t.user(&format!("buyer{i}@example.com"), &format!("buyer{i}"), PW).await;
        room(&t, &ann, &b, &id, true).await;
        let o = order(&t, &b, &id).await;
        assert_eq!(o.status, 201, "{:?}", o.body);
        let order_id = o.body["orderId"].as_str().unwrap().to_string();
        let key = checkout(&t, &order_id, 40_000, "APPROVE").await;
        buyers.push((b, order_id, key));
    }
    let answers = futures::future::join_all(buyers.iter().map(|(b, o, k)| confirm(&t, b, k, o, 40_000))).await;
    let won: Vec<&Reply> = answers.iter().filter(|r| r.status == 200).collect();
    let lost = answers.iter().filter(|r| r.status == 409 && r.body["code"] == "ITEM_NOT_AVAILABLE").count();
    assert_eq!(
        (won.len(), lost),
        (1, 19),
        "{:?}",
        answers.iter().map(|r| (r.status, r.body["code"].clone())).collect::<Vec<_>>()
    );
    // One charge; nobody else's payment was taken (theirs were never confirmed).
    let done = charged(&t).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["orderId"], won[0].body["order"]["orderId"]);
    assert_eq!(toss_payments(&t).await.iter().filter(|p| p["status"] == "READY").count(), 19);
    // One sale, one transaction, one EARN entry.
    assert_eq!(status_of(&t, &id).await, "SOLD");
    let p = points(&t, &ann).await;
    assert_eq!((p["balance"].as_i64(), p["entries"].as_array().unwrap().len()), (Some(40_000), 1));
    t.indexed().await;
    let sales = t.call(Method::GET, "/users/me/market/sales", None, Some(&ann.access)).await;
    assert_eq!(sales.body["items"].as_array().unwrap().len(), 1);
    // The other buyers' orders failed: asking again says so, and charges nothing.
    let (b, o, k) = buyers.iter().find(|(_, o, _)| won[0].body["order"]["orderId"] != o.as_str()).unwrap();
    let r = confirm(&t, b, k, o, 40_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("ITEM_NOT_AVAILABLE")));
    let mine = t.call(Method::GET, &format!("/market/orders/{o}"), None, Some(&b.access)).await;
    assert_eq!(mine.body["status"], "FAILED");
    assert_eq!(charged(&t).await.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn the_same_confirm_ten_times_at_once_charges_once_and_answers_alike() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = listing(&t, &ann, "산책 가방", 12_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let o = order(&t, &bob, &id).await;
    let order_id = o.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 12_000, "APPROVE").await;
    let answers = futures::future::join_all((0..10).map(|_| confirm(&t, &bob, &key, &order_id, 12_000))).await;
    for a in &answers {
        assert_eq!((a.status, &a.body), (200, &answers[0].body), "every answer is the first");
    }
    assert_eq!(charged(&t).await.len(), 1);
    assert_eq!(points(&t, &ann).await["entries"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn a_declined_card_puts_the_listing_back_on_sale() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = listing(&t, &ann, "고양이 스크래쳐", 8_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let o = order(&t, &bob, &id).await;
    let order_id = o.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 8_000, "DECLINE").await;
    let r = confirm(&t, &bob, &key, &order_id, 8_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (402, Some("REJECT_CARD_PAYMENT")), "{:?}", r.body);
    assert_eq!(r.body["providerCode"], "REJECT_CARD_PAYMENT");
    assert_eq!(status_of(&t, &id).await, "SALE");
    assert!(charged(&t).await.is_empty());
    // The same confirm again: the same refusal.
    let again = confirm(&t, &bob, &key, &order_id, 8_000).await;
    assert_eq!((again.status, again.body["code"].as_str()), (402, Some("REJECT_CARD_PAYMENT")));
    // Another card on a new order works.
    let o = order(&t, &bob, &id).await;
    let order_id = o.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 8_000, "APPROVE").await;
    assert_eq!(confirm(&t, &bob, &key, &order_id, 8_000).await.status, 200);
    assert_eq!(status_of(&t, &id).await, "SOLD");
    t.stop().await;
}

#[tokio::test]
async fn a_timeout_is_settled_by_asking_toss_on_retry_or_by_the_settling_job() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;

    // Retried by the buyer.
    let id = listing(&t, &ann, "강아지 방석", 15_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let order_id = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 15_000, "TIMEOUT").await;
    let first = confirm(&t, &bob, &key, &order_id, 15_000).await;
    assert_eq!((first.status, first.body["code"].as_str()), (503, Some("PAYMENT_PENDING")), "{:?}", first.body);
    assert!(first.header("retry-after").is_some());
    assert_eq!(status_of(&t, &id).await, "RESERVED", "held while unknown");
    let delete = t.call(Method::DELETE, &format!("/market/posts/{id}"), None, Some(&ann.access)).await;
    assert_eq!((delete.status, delete.body["code"].as_str()), (409, Some("ITEM_NOT_AVAILABLE")), "not while paying");
    let retry = confirm(&t, &bob, &key, &order_id, 15_000).await;
    assert_eq!(retry.status, 200, "{:?}", retry.body);
    assert_eq!(status_of(&t, &id).await, "SOLD");
    assert_eq!(charged(&t).await.len(), 1, "charged once");

    // Left to the settling job.
    let id = listing(&t, &ann, "고양이 장난감", 3_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let order_id = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 3_000, "TIMEOUT").await;
    assert_eq!(confirm(&t, &bob, &key, &order_id, 3_000).await.status, 503);
    let run = t.post("/_local/jobs/settle-payments/run", json!({}), None).await;
    assert_eq!(run.body["result"]["settled"], 1, "{:?}", run.body);
    let o = t.call(Method::GET, &format!("/market/orders/{order_id}"), None, Some(&bob.access)).await;
    assert_eq!(o.body["status"], "DONE");
    assert_eq!(status_of(&t, &id).await, "SOLD");
    assert_eq!(points(&t, &ann).await["balance"], 18_000);
    // The buyer's late retry gets the recorded outcome.
    assert_eq!(confirm(&t, &bob, &key, &order_id, 3_000).await.status, 200);
    assert_eq!(charged(&t).await.len(), 2);
    t.stop().await;
}

#[tokio::test]
async fn a_sale_the_database_cannot_record_is_cancelled_at_toss() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = listing(&t, &ann, "강아지 유모차", 90_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let order_id = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 90_000, "APPROVE").await;
    // The transaction that records the sale (it holds the COMPLETED transaction) fails, every try.
    let rule = t
        .post(
            "/_local/faults",
            json!({"service": "dynamodb", "operation": "TransactWriteItems", "contains": "COMPLETED", "error": "InternalServerError"}),
            None,
        )
        .await;
    assert_eq!(rule.status, 201, "{:?}", rule.body);
    let r = confirm(&t, &bob, &key, &order_id, 90_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (402, Some("PAYMENT_CANCELED")), "{:?}", r.body);
    let faults = t.get("/_local/faults").await;
    assert!(faults.body["rules"][0]["fired"].as_u64().unwrap() >= 1, "the fault fired");
    assert_eq!(t.call(Method::DELETE, "/_local/faults", None, None).await.status, 204);
    // The money went back, the listing is for sale, the seller earned nothing.
    let p = toss_payments(&t).await.into_iter().find(|p| p["paymentKey"] == key.as_str()).unwrap();
    assert_eq!(p["status"], "CANCELED");
    assert!(charged(&t).await.is_empty());
    assert_eq!(status_of(&t, &id).await, "SALE");
    assert_eq!(points(&t, &ann).await["balance"], 0);
    let o = t.call(Method::GET, &format!("/market/orders/{order_id}"), None, Some(&bob.access)).await;
    assert_eq!(
        (o.body["status"].as_str(), o.body["failure"]["code"].as_str()),
        (Some("FAILED"), Some("PAYMENT_CANCELED"))
    );
    t.stop().await;
}

#[tokio::test]
async fn market_titles_are_searchable_in_korean() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let toy = listing(&t, &ann, "강아지 장난감 세트", 5_000).await;
    listing(&t, &ann, "고양이 사료", 5_000).await;
    let found = t.get("/search/market?q=장난").await;
    let ids: Vec<&str> = found.body["items"].as_array().unwrap().iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![toy.as_str()]);
    assert_eq!(t.get("/search/market?q=장난감%20세트").await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(t.get("/search/market?q=자동차").await.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(t.get("/search/market?q=").await.status, 400);
    // A renamed listing is found by its new title only; a deleted one not at all.
    let r = t
        .call(Method::PATCH, &format!("/market/posts/{toy}"), Some(json!({"title": "강아지 공"})), Some(&ann.access))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(t.get("/search/market?q=장난").await.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(t.get("/search/market?q=강아지").await.body["items"].as_array().unwrap().len(), 1);
    // Blocked users' listings are hidden from each other.
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", ann.user_id), None, Some(&bob.access)).await.status / 100,
        2
    );
    let hidden = t.call(Method::GET, "/search/market?q=강아지", None, Some(&bob.access)).await;
    assert_eq!(hidden.body["items"].as_array().unwrap().len(), 0);
    assert_eq!(t.call(Method::DELETE, &format!("/market/posts/{toy}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(t.get("/search/market?q=강아지").await.body["items"].as_array().unwrap().len(), 0);
    t.stop().await;
}

#[tokio::test]
async fn toss_answering_5xx_leaves_the_payment_to_be_asked_about_not_guessed() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = listing(&t, &ann, "강아지 옷", 7_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let order_id = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &order_id, 7_000, "APPROVE").await;
    let rule = json!({"service": "toss", "operation": "/v1/payments/confirm", "error": "ServerError"});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let r = confirm(&t, &bob, &key, &order_id, 7_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("PAYMENT_PENDING")), "{:?}", r.body);
    assert_eq!(status_of(&t, &id).await, "RESERVED");
    assert!(charged(&t).await.is_empty());
    assert_eq!(t.call(Method::DELETE, "/_local/faults", None, None).await.status, 204);
    // Asked again, Toss says the payment was never confirmed: it is confirmed now, once.
    let r = confirm(&t, &bob, &key, &order_id, 7_000).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(charged(&t).await.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn an_order_made_a_moment_before_another_buyers_sale_cannot_be_paid() {
    // The sale fails the listing's other open orders through an index, which may not show an
    // order made a moment before: the listing's own condition must refuse it anyway.
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.index_lag = Some(std::time::Duration::from_secs(3));
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let id = listing(&t, &ann, "원목 캣타워", 30_000).await;
    room(&t, &ann, &bob, &id, true).await;
    room(&t, &ann, &cat, &id, true).await;
    let bobs = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let cats = order(&t, &cat, &id).await.body["orderId"].as_str().unwrap().to_string();
    let cat_key = checkout(&t, &cats, 30_000, "APPROVE").await;
    let bob_key = checkout(&t, &bobs, 30_000, "APPROVE").await;
    assert_eq!(confirm(&t, &bob, &bob_key, &bobs, 30_000).await.status, 200);
    let late = confirm(&t, &cat, &cat_key, &cats, 30_000).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("ITEM_NOT_AVAILABLE")), "{:?}", late.body);
    let done = charged(&t).await;
    assert_eq!(done.len(), 1, "only the sale was charged: {done:?}");
    assert_eq!(done[0]["orderId"], bobs.as_str());
    let cat_order = t.call(Method::GET, &format!("/market/orders/{cats}"), None, Some(&cat.access)).await;
    assert_ne!(cat_order.body["status"], "DONE", "{:?}", cat_order.body);
    assert_eq!(status_of(&t, &id).await, "SOLD");
    let p = points(&t, &ann).await;
    assert_eq!(p["balance"].as_i64(), Some(30_000));
    t.stop().await;
}

#[tokio::test]
async fn after_a_sale_the_other_buyers_open_orders_fail_and_say_why() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let dan = t.user("dan@example.com", "dan", PW).await;
    let id = listing(&t, &ann, "유모차 거의 새것", 90_000).await;
    for buyer in [&bob, &cat, &dan] {
        room(&t, &ann, buyer, &id, true).await;
    }
    let cats = order(&t, &cat, &id).await.body["orderId"].as_str().unwrap().to_string();
    t.indexed().await;
    // Dan orders a moment before the sale: the index the sale's worker reads may not show it.
    let dans = order(&t, &dan, &id).await.body["orderId"].as_str().unwrap().to_string();
    let bobs = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let bob_key = checkout(&t, &bobs, 90_000, "APPROVE").await;
    assert_eq!(confirm(&t, &bob, &bob_key, &bobs, 90_000).await.status, 200);
    // Cat and dan, who had the payment widget open, are told the item went to another buyer,
    // at once (the confirm did not wait to fail their orders).
    for (who, o) in [(&cat, &cats), (&dan, &dans)] {
        let r = t.call(Method::GET, &format!("/market/orders/{o}"), None, Some(&who.access)).await;
        assert_eq!(r.body["status"], "FAILED", "{:?}", r.body);
        assert_eq!(r.body["failure"]["code"], "ITEM_NOT_AVAILABLE", "{:?}", r.body);
        assert_eq!(r.body["failure"]["message"], "Sold to another buyer.");
    }
    // The sale's worker writes cat's failure down.
    let key = market_contract::keys::order_key(&cats);
    t.eventually(Duration::from_secs(10), "cat's stored order fails", || async {
        let item = t.stack.ctx.table.get_item(&key).await.unwrap().unwrap();
        (item.get("status") == Some(&shared::table::s("FAILED"))).then_some(())
    })
    .await;
    // Paying anyway charges nothing; bob's order is untouched.
    for (who, o) in [(&cat, &cats), (&dan, &dans)] {
        let k = checkout(&t, o, 90_000, "APPROVE").await;
        let late = confirm(&t, who, &k, o, 90_000).await;
        assert_eq!((late.status, late.body["code"].as_str()), (409, Some("ITEM_NOT_AVAILABLE")), "{:?}", late.body);
    }
    assert_eq!(charged(&t).await.len(), 1);
    let mine = t.call(Method::GET, &format!("/market/orders/{bobs}"), None, Some(&bob.access)).await;
    assert_eq!(mine.body["status"], "DONE");
    t.stop().await;
}

#[tokio::test]
async fn a_payment_goes_through_only_while_the_approval_the_room_and_no_block_stand() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    // An order each, then what made it possible goes away before the payment.
    let ordered = |id: String| {
        let (t, bob) = (&t, &bob);
        async move {
            let o = order(t, bob, &id).await;
            assert_eq!(o.status, 201, "{:?}", o.body);
            let order_id = o.body["orderId"].as_str().unwrap().to_string();
            let key = checkout(t, &order_id, 20_000, "APPROVE").await;
            (order_id, key)
        }
    };

    // The seller withdraws the approval.
    let withdrawn = listing(&t, &ann, "원목 스크래쳐", 20_000).await;
    let room_w = room(&t, &ann, &bob, &withdrawn, true).await;
    let (o, k) = ordered(withdrawn.clone()).await;
    let path = format!("/chat/rooms/{room_w}/purchase-approval");
    assert_eq!(t.call(Method::PUT, &path, Some(json!({"approved": false})), Some(&ann.access)).await.status, 200);
    let r = confirm(&t, &bob, &k, &o, 20_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("PURCHASE_NOT_APPROVED")), "{:?}", r.body);
    assert_eq!(status_of(&t, &withdrawn).await, "SALE");

    // The buyer leaves the room.
    let left = listing(&t, &ann, "강아지 켄넬", 20_000).await;
    let room_l = room(&t, &ann, &bob, &left, true).await;
    let (o, k) = ordered(left.clone()).await;
    let leave = t.call(Method::DELETE, &format!("/chat/rooms/{room_l}/participants/me"), None, Some(&bob.access)).await;
    assert_eq!(leave.status, 204, "{:?}", leave.body);
    let r = confirm(&t, &bob, &k, &o, 20_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("PURCHASE_NOT_APPROVED")), "{:?}", r.body);
    assert_eq!(status_of(&t, &left).await, "SALE");

    // The seller blocks the buyer.
    let blocked = listing(&t, &ann, "고양이 터널", 20_000).await;
    room(&t, &ann, &bob, &blocked, true).await;
    let (o, k) = ordered(blocked.clone()).await;
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", bob.user_id), None, Some(&ann.access)).await.status,
        200
    );
    let r = confirm(&t, &bob, &k, &o, 20_000).await;
    assert!(
        r.status == 403 && ["USER_BLOCKED", "LISTING_NOT_FOUND"].contains(&r.body["code"].as_str().unwrap_or_default())
            || r.status == 404,
        "{:?}",
        r.body
    );
    assert_eq!(charged(&t).await.len(), 0, "nothing was charged");
    assert_eq!(points(&t, &ann).await["balance"].as_i64(), Some(0));
    t.stop().await;
}

#[tokio::test]
async fn a_withdrawal_racing_the_payment_either_stops_it_or_comes_after_it() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    for i in 0..4 {
        let id = listing(&t, &ann, &format!("경주 {i}"), 10_000).await;
        let room_id = room(&t, &ann, &bob, &id, true).await;
        let o = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
        let k = checkout(&t, &o, 10_000, "APPROVE").await;
        let path = format!("/chat/rooms/{room_id}/purchase-approval");
        let (paid, withdrawn) = tokio::join!(
            confirm(&t, &bob, &k, &o, 10_000),
            t.call(Method::PUT, &path, Some(json!({"approved": false})), Some(&ann.access))
        );
        assert_eq!(withdrawn.status, 200);
        match paid.status {
            200 => assert_eq!(status_of(&t, &id).await, "SOLD"),
            403 => {
                assert_eq!(paid.body["code"], "PURCHASE_NOT_APPROVED");
                assert_eq!(status_of(&t, &id).await, "SALE");
            }
            other => panic!("{other}: {:?}", paid.body),
        }
    }
    // Whatever the order of events, a sale is paid and recorded once, and nothing else is.
    let sold = charged(&t).await.len() as i64;
    assert_eq!(points(&t, &ann).await["balance"].as_i64(), Some(sold * 10_000));
    t.stop().await;
}

#[tokio::test]
async fn an_order_keeps_the_price_it_was_made_at_or_it_cannot_be_paid() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = listing(&t, &ann, "강아지 유모차", 1_000).await;
    room(&t, &ann, &bob, &id, true).await;
    let o = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let k = checkout(&t, &o, 1_000, "APPROVE").await;
    // The seller edits the price and the title after the order.
    let path = format!("/market/posts/{id}");
    let edit = json!({"price": 90_000_000, "title": "프리미엄 유모차"});
    assert_eq!(t.call(Method::PATCH, &path, Some(edit), Some(&ann.access)).await.status, 200);
    let r = confirm(&t, &bob, &k, &o, 1_000).await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("LISTING_CHANGED")), "{:?}", r.body);
    assert_eq!(status_of(&t, &id).await, "SALE");
    assert!(charged(&t).await.is_empty());
    // An edit of what a buyer does not agree to (the description) leaves orders payable.
    let o = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
    let k = checkout(&t, &o, 90_000_000, "APPROVE").await;
    assert_eq!(
        t.call(Method::PATCH, &path, Some(json!({"description": "거의 새것"})), Some(&ann.access)).await.status,
        200
    );
    assert_eq!(confirm(&t, &bob, &k, &o, 90_000_000).await.status, 200);
    assert_eq!(points(&t, &ann).await["balance"].as_i64(), Some(90_000_000));

    // Racing: an edit and a payment at once never both go through.
    for i in 0..4 {
        let id = listing(&t, &ann, &format!("경주 {i}"), 5_000).await;
        room(&t, &ann, &bob, &id, true).await;
        let o = order(&t, &bob, &id).await.body["orderId"].as_str().unwrap().to_string();
        let k = checkout(&t, &o, 5_000, "APPROVE").await;
        let path = format!("/market/posts/{id}");
        let (paid, edited) = tokio::join!(
            confirm(&t, &bob, &k, &o, 5_000),
            t.call(Method::PATCH, &path, Some(json!({"price": 50_000})), Some(&ann.access))
        );
        assert!(
            (paid.status == 200) != (edited.status == 200),
            "one of them: paid {} {:?}, edited {} {:?}",
            paid.status,
            paid.body,
            edited.status,
            edited.body
        );
        if paid.status == 200 {
            assert_eq!(edited.status, 409);
        } else {
            assert_eq!(paid.body["code"], "LISTING_CHANGED");
        }
    }
    t.stop().await;
}
