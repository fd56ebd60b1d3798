//! Refunds over HTTP, against the Toss Payments sandbox: asked by the buyer, accepted by the
//! seller or granted by an administrator, one cancel at Toss however many acceptances race,
//! the seller's points taken back even below zero (then payouts are held), the listing back on
//! sale, and Toss failing settled by asking again.

use std::time::Duration;

use integration_tests::ws::connect;
use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

use crate::payments::{PW, checkout, confirm, listing, order, points, room, sale_status, status_of, toss_payments};

/// `buyer` buys `seller`'s new listing for `price`: the order id.
async fn sold(t: &TestStack, seller: &Session, buyer: &Session, title: &str, price: i64) -> (String, String) {
    let id = listing(t, seller, title, price).await;
    room(t, seller, buyer, &id, true).await;
    let order_id = order(t, buyer, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(t, &order_id, price, "APPROVE").await;
    let paid = confirm(t, buyer, &key, &order_id, price).await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
    (id, order_id)
}

async fn ask(t: &TestStack, buyer: &Session, order_id: &str) -> integration_tests::Reply {
    let body = json!({"reason": "설명과 달리 파손된 상태로 도착했어요."});
    t.post(&format!("/market/orders/{order_id}/refund-requests"), body, Some(&buyer.access)).await
}

async fn decide(t: &TestStack, who: &Session, id: &str, body: Value) -> integration_tests::Reply {
    t.call(Method::PUT, &format!("/market/refund-requests/{id}/decision"), Some(body), Some(&who.access)).await
}

/// The cancel calls Toss received for `payment_key`.
async fn cancels_at_toss(t: &TestStack, payment_key: &str) -> usize {
    let calls = t.get("/_local/toss/calls").await.body.as_array().unwrap().clone();
    calls.iter().filter(|c| c["path"] == format!("/v1/payments/{payment_key}/cancel")).count()
}

fn payment_of(payments: &[Value], order_id: &str) -> Value {
    payments.iter().find(|p| p["orderId"] == order_id).cloned().expect("a payment of the order")
}

async fn refund_notices(t: &TestStack, who: &Session, n: usize) -> Vec<Value> {
    t.eventually(Duration::from_secs(10), "refund notifications", || async {
        let r = t.call(Method::GET, "/notifications", None, Some(&who.access)).await;
        let found: Vec<Value> =
            r.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "REFUND").cloned().collect();
        (found.len() >= n).then_some(found)
    })
    .await
}

#[tokio::test]
async fn a_refund_the_seller_accepts_ten_times_at_once_cancels_once_takes_the_points_back_and_relists() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let (id, order_id) = sold(&t, &ann, &bob, "고양이 캣타워 팝니다", 25_000).await;
    let payment_key = payment_of(&toss_payments(&t).await, &order_id)["paymentKey"].as_str().unwrap().to_string();

    // Only the buyer asks, once, with a reason.
    let theirs = ask(&t, &cat, &order_id).await;
    assert_eq!((theirs.status, theirs.body["code"].as_str()), (404, Some("ORDER_NOT_FOUND")));
    let empty =
        t.post(&format!("/market/orders/{order_id}/refund-requests"), json!({"reason": ""}), Some(&bob.access)).await;
    assert_eq!(empty.status, 400);
    let asked = ask(&t, &bob, &order_id).await;
    assert_eq!(asked.status, 201, "{:?}", asked.body);
    assert_eq!((asked.body["status"].as_str(), asked.body["amount"].as_i64()), (Some("REQUESTED"), Some(25_000)));
    let refund = asked.body["id"].as_str().unwrap().to_string();
    let again = ask(&t, &bob, &order_id).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("REFUND_ALREADY_REQUESTED")));
    let told = refund_notices(&t, &ann, 1).await;
    assert!(told[0]["body"].as_str().unwrap().contains("환불을 요청했습니다"), "{told:?}");

    // Both sides can read it; nobody else learns it exists; only the seller decides.
    let path = format!("/market/refund-requests/{refund}");
    assert_eq!(t.call(Method::GET, &path, None, Some(&ann.access)).await.body["status"], "REQUESTED");
    assert_eq!(t.call(Method::GET, &path, None, Some(&cat.access)).await.status, 404);
    let by_buyer = decide(&t, &bob, &refund, json!({"decision": "ACCEPT"})).await;
    assert_eq!((by_buyer.status, by_buyer.body["code"].as_str()), (403, Some("NOT_YOUR_SALE")));
    t.indexed().await;
    let to_me = t.call(Method::GET, "/users/me/market/refund-requests?as=seller", None, Some(&ann.access)).await;
    assert_eq!(to_me.body["items"][0]["id"], refund.as_str());
    let from_me = t.call(Method::GET, "/users/me/market/refund-requests", None, Some(&bob.access)).await;
    assert_eq!(from_me.body["items"][0]["id"], refund.as_str());

    // Ten acceptances at once: one cancel at Toss, the same answer for all.
    let mut bob_s = connect(&t, &bob).await;
    let answers = futures::future::join_all(
        (0..10).map(|_| decide(&t, &ann, &refund, json!({"decision": "ACCEPT", "relist": true}))),
    )
    .await;
    for a in &answers {
        assert_eq!((a.status, a.body["status"].as_str()), (200, Some("REFUNDED")), "{:?}", a.body);
    }
    assert_eq!(cancels_at_toss(&t, &payment_key).await, 1, "one cancel call");
    let payment = payment_of(&toss_payments(&t).await, &order_id);
    assert_eq!((payment["status"].as_str(), payment["cancels"].as_array().map(Vec::len)), (Some("CANCELED"), Some(1)));

    // The sale is cancelled, the points are back, the listing is for sale again and the rooms hear it.
    let p = points(&t, &ann).await;
    assert_eq!(p["balance"], 0);
    assert_eq!((p["entries"][0]["kind"].as_str(), p["entries"][0]["amount"].as_i64()), (Some("REFUND"), Some(25_000)));
    assert_eq!(status_of(&t, &id).await, "SALE");
    sale_status(&mut bob_s, &id, "SALE").await;
    t.indexed().await;
    let bought = t.call(Method::GET, "/users/me/market/purchases", None, Some(&bob.access)).await;
    assert_eq!(bought.body["items"][0]["transaction"]["status"], "CANCELED");
    assert!(bought.body["items"][0]["transaction"]["canceledAt"].is_string());
    let buyer_told = refund_notices(&t, &bob, 1).await;
    assert!(
        buyer_told.iter().any(|n| n["body"].as_str().unwrap().contains("25000원이 환불되었습니다")),
        "{buyer_told:?}"
    );
    let seller_told = refund_notices(&t, &ann, 2).await;
    assert!(seller_told.iter().any(|n| n["body"].as_str().unwrap().contains("포인트가 차감되었습니다")));

    // Decided is decided; and the listing can be sold again, to someone else.
    let late = decide(&t, &ann, &refund, json!({"decision": "REFUSE", "reason": "마음이 바뀌었어요"})).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("REFUND_DECIDED")));
    room(&t, &ann, &cat, &id, true).await;
    let o = order(&t, &cat, &id).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &o, 25_000, "APPROVE").await;
    assert_eq!(confirm(&t, &cat, &key, &o, 25_000).await.status, 200, "sold again");
    assert_eq!(points(&t, &ann).await["balance"], 25_000);
    let report = market::audit::run(&t.stack.ctx, false).await.unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    t.stop().await;
}

#[tokio::test]
async fn a_refund_the_seller_refuses_goes_to_an_administrator_who_grants_it() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let root = t.admin("root@example.com", "root", PW).await;
    let (id, order_id) = sold(&t, &ann, &bob, "강아지 유모차", 40_000).await;
    let refund = ask(&t, &bob, &order_id).await.body["id"].as_str().unwrap().to_string();

    // Not yet to an administrator: the seller has not answered.
    let escalation = format!("/market/refund-requests/{refund}/escalation");
    let early = t.post(&escalation, json!({}), Some(&bob.access)).await;
    assert_eq!((early.status, early.body["code"].as_str()), (409, Some("REFUND_NOT_ESCALATABLE")));
    let no_reason = decide(&t, &ann, &refund, json!({"decision": "REFUSE"})).await;
    assert_eq!(no_reason.status, 400);
    let refused = decide(&t, &ann, &refund, json!({"decision": "REFUSE", "reason": "사용 흔적이 있어요"})).await;
    assert_eq!((refused.status, refused.body["status"].as_str()), (200, Some("REFUSED")), "{:?}", refused.body);
    assert_eq!(refused.body["sellerReason"], "사용 흔적이 있어요");
    let told = refund_notices(&t, &bob, 1).await;
    assert!(told[0]["body"].as_str().unwrap().contains("거절했습니다"));

    // The buyer sends it on; the seller cannot, nor accept it now.
    let by_seller = t.post(&escalation, json!({}), Some(&ann.access)).await;
    assert_eq!((by_seller.status, by_seller.body["code"].as_str()), (403, Some("NOT_YOUR_PURCHASE")));
    let sent = t.post(&escalation, json!({"note": "도착 당일 사진이 있어요"}), Some(&bob.access)).await;
    assert_eq!((sent.status, sent.body["status"].as_str()), (200, Some("ESCALATED")), "{:?}", sent.body);
    let now_accept = decide(&t, &ann, &refund, json!({"decision": "ACCEPT"})).await;
    assert_eq!((now_accept.status, now_accept.body["code"].as_str()), (409, Some("REFUND_DECIDED")));

    // The administrators' queue shows it with the seller's balance; their grant refunds it.
    t.indexed().await;
    assert_eq!(t.call(Method::GET, "/admin/refund-requests", None, Some(&ann.access)).await.status, 403);
    let queue = t.call(Method::GET, "/admin/refund-requests", None, Some(&root.access)).await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 1, "{:?}", queue.body);
    assert_eq!(
        (queue.body["items"][0]["id"].as_str(), queue.body["items"][0]["sellerBalance"].as_i64()),
        (Some(refund.as_str()), Some(40_000))
    );
    assert_eq!(queue.body["items"][0]["escalationNote"], "도착 당일 사진이 있어요");
    let path = format!("/admin/refund-requests/{refund}/decision");
    let granted = t
        .call(
            Method::PUT,
            &path,
            Some(json!({"decision": "ACCEPT", "reason": "사진 확인", "relist": false})),
            Some(&root.access),
        )
        .await;
    assert_eq!((granted.status, granted.body["status"].as_str()), (200, Some("REFUNDED")), "{:?}", granted.body);
    assert_eq!(payment_of(&toss_payments(&t).await, &order_id)["status"], "CANCELED");
    assert_eq!(points(&t, &ann).await["balance"], 0);
    assert_eq!(status_of(&t, &id).await, "SOLD", "kept sold, as decided");
    refund_notices(&t, &bob, 2).await;
    t.indexed().await;
    let queue = t.call(Method::GET, "/admin/refund-requests", None, Some(&root.access)).await;
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 0);

    // Past 7 days a sale cannot be refunded.
    let (_, late_order) = sold(&t, &ann, &bob, "고양이 모래", 9_000).await;
    clock.advance(chrono::Duration::days(8));
    // Signed in again: the old token ran out with the days.
    let access = t.login("bob@example.com", PW).await.body["accessToken"].as_str().unwrap().to_string();
    let bob = Session { access, ..bob };
    let late = ask(&t, &bob, &late_order).await;
    assert_eq!((late.status, late.body["code"].as_str()), (409, Some("REFUND_WINDOW_CLOSED")), "{:?}", late.body);
    t.stop().await;
}

#[tokio::test]
async fn a_refund_after_a_payout_takes_the_balance_below_zero_and_holds_payouts() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let root = t.admin("root@example.com", "root", PW).await;
    let account = json!({"bankCode": "088", "accountNumber": "110-123-345678", "holderName": "김애나"});
    assert_eq!(t.call(Method::PUT, "/users/me/payout-account", Some(account), Some(&ann.access)).await.status, 200);
    let (_, first) = sold(&t, &ann, &bob, "강아지 하네스", 10_000).await;
    let (_, _second) = sold(&t, &ann, &bob, "고양이 장난감", 3_000).await;

    // 10,000 paid out, 3,000 waiting in the queue.
    let paid_out = t.post("/users/me/payouts", json!({"amount": 10_000}), Some(&ann.access)).await;
    let paid_id = paid_out.body["payout"]["id"].as_str().unwrap().to_string();
    let decision = json!({"decision": "PAID", "reference": "신한 20261207-000123"});
    let path = format!("/admin/payouts/{paid_id}/decision");
    assert_eq!(t.call(Method::PUT, &path, Some(decision.clone()), Some(&root.access)).await.status, 200);
    let waiting = t.post("/users/me/payouts", json!({"amount": 3_000}), Some(&ann.access)).await;
    let waiting_id = waiting.body["payout"]["id"].as_str().unwrap().to_string();
    assert_eq!(points(&t, &ann).await["balance"], 0);

    // The first sale is refunded all the same: the seller owes 10,000.
    let refund = ask(&t, &bob, &first).await.body["id"].as_str().unwrap().to_string();
    let r = decide(&t, &ann, &refund, json!({"decision": "ACCEPT"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("REFUNDED")), "{:?}", r.body);
    let p = points(&t, &ann).await;
    assert_eq!((p["balance"].as_i64(), p["payoutsHeld"].as_bool()), (Some(-10_000), Some(true)));

    // Payouts are held: the waiting one cannot be paid, a new one cannot be asked for.
    t.indexed().await;
    let queue = t.call(Method::GET, "/admin/payouts", None, Some(&root.access)).await;
    let item = &queue.body["items"][0];
    assert_eq!(
        (item["id"].as_str(), item["held"].as_bool(), item["sellerBalance"].as_i64()),
        (Some(waiting_id.as_str()), Some(true), Some(-10_000))
    );
    let path = format!("/admin/payouts/{waiting_id}/decision");
    let held = t.call(Method::PUT, &path, Some(decision), Some(&root.access)).await;
    assert_eq!((held.status, held.body["code"].as_str()), (409, Some("PAYOUTS_HELD")));
    let more = t.post("/users/me/payouts", json!({"amount": 1}), Some(&ann.access)).await;
    assert_eq!((more.status, more.body["code"].as_str()), (409, Some("PAYOUTS_HELD")));
    // Rejecting it gives its points back towards the debt.
    let reject = json!({"decision": "REJECTED", "reason": "환불로 인한 잔액 부족"});
    assert_eq!(t.call(Method::PUT, &path, Some(reject), Some(&root.access)).await.status, 200);
    assert_eq!(points(&t, &ann).await["balance"], -7_000);

    // An acceptance racing a payout request: one refund, and the ledger adds up either way.
    let cat = t.user("cat@example.com", "cat", PW).await;
    let (_, third) = sold(&t, &ann, &cat, "강아지 방석", 20_000).await;
    let refund = ask(&t, &cat, &third).await.body["id"].as_str().unwrap().to_string();
    let (accepted, payout) = futures::join!(
        decide(&t, &ann, &refund, json!({"decision": "ACCEPT"})),
        t.post("/users/me/payouts", json!({"amount": 13_000}), Some(&ann.access)),
    );
    assert_eq!(accepted.body["status"], "REFUNDED", "{:?}", accepted.body);
    let p = points(&t, &ann).await;
    if payout.status == 201 {
        assert_eq!(p["balance"], -20_000, "paid out first, then refunded");
    } else {
        assert_eq!(payout.status, 409, "{:?}", payout.body);
        assert_eq!(p["balance"], -7_000, "refunded first: nothing to pay out");
    }
    let refunds = p["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "REFUND").count();
    assert_eq!(refunds, 2);
    let report = market::audit::run(&t.stack.ctx, false).await.unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    t.stop().await;
}

#[tokio::test]
async fn toss_failing_a_cancel_answers_503_and_the_settling_job_refunds_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let (_, order_id) = sold(&t, &ann, &bob, "강아지 옷", 7_000).await;
    let payment_key = payment_of(&toss_payments(&t).await, &order_id)["paymentKey"].as_str().unwrap().to_string();
    let refund = ask(&t, &bob, &order_id).await.body["id"].as_str().unwrap().to_string();

    let rule =
        json!({"service": "toss", "operation": format!("/v1/payments/{payment_key}/cancel"), "error": "ServerError"});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let r = decide(&t, &ann, &refund, json!({"decision": "ACCEPT"})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("REFUND_PENDING")), "{:?}", r.body);
    assert!(r.header("retry-after").is_some());
    let now = t.call(Method::GET, &format!("/market/refund-requests/{refund}"), None, Some(&bob.access)).await;
    assert_eq!(now.body["status"], "REFUNDING");
    assert_eq!(points(&t, &ann).await["balance"], 7_000, "nothing taken back before Toss cancels");
    assert_eq!(t.call(Method::DELETE, "/_local/faults", None, None).await.status, 204);

    t.indexed().await;
    let run = t.post("/_local/jobs/settle-payments/run", json!({}), None).await;
    assert_eq!(run.body["result"]["refunds"]["settled"], 1, "{:?}", run.body);
    let now = t.call(Method::GET, &format!("/market/refund-requests/{refund}"), None, Some(&bob.access)).await;
    assert_eq!(now.body["status"], "REFUNDED");
    assert_eq!(points(&t, &ann).await["balance"], 0);
    // The seller's retry answers the outcome; Toss cancelled once.
    let again = decide(&t, &ann, &refund, json!({"decision": "ACCEPT"})).await;
    assert_eq!((again.status, again.body["status"].as_str()), (200, Some("REFUNDED")));
    let payment = payment_of(&toss_payments(&t).await, &order_id);
    assert_eq!(payment["cancels"].as_array().map(Vec::len), Some(1));
    t.stop().await;
}

#[tokio::test]
async fn a_payment_cancelled_at_toss_itself_undoes_the_sale_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let (id, order_id) = sold(&t, &ann, &bob, "고양이 숨숨집", 18_000).await;
    let payment_key = payment_of(&toss_payments(&t).await, &order_id)["paymentKey"].as_str().unwrap().to_string();
    assert_eq!(points(&t, &ann).await["balance"], 18_000);

    // The merchant cancels it in Toss's console (the same API): Toss tells the store by webhook.
    let console = reqwest::Client::new()
        .post(format!("{}/toss/v1/payments/{payment_key}/cancel", t.stack.sandbox_url))
        .basic_auth(local_stack::toss_sandbox::SECRET_KEY, None::<&str>)
        .json(&json!({"cancelReason": "고객 요청"}))
        .send()
        .await
        .unwrap();
    assert_eq!(console.status().as_u16(), 200);
    t.eventually(Duration::from_secs(15), "the sale undone", || async {
        (points(&t, &ann).await["balance"] == 0).then_some(())
    })
    .await;
    assert_eq!(status_of(&t, &id).await, "SALE");
    t.indexed().await;
    let bought = t.call(Method::GET, "/users/me/market/purchases", None, Some(&bob.access)).await;
    assert_eq!(bought.body["items"][0]["transaction"]["status"], "CANCELED");
    let told = refund_notices(&t, &bob, 1).await;
    assert!(told[0]["body"].as_str().unwrap().contains("결제가 취소되어"), "{told:?}");
    refund_notices(&t, &ann, 1).await;

    // Every webhook delivered again: undone once.
    for w in t.get("/_local/toss/webhooks").await.body.as_array().unwrap() {
        t.post("/payments/webhooks/toss", w["body"].clone(), None).await;
    }
    t.settle().await;
    let p = points(&t, &ann).await;
    assert_eq!(p["balance"], 0);
    assert_eq!(p["entries"].as_array().unwrap().iter().filter(|e| e["kind"] == "REFUND").count(), 1);
    let report = market::audit::run(&t.stack.ctx, false).await.unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    t.stop().await;
}
