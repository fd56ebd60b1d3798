//! Web Push over HTTP, against the local push service (which plays the browser too): a closed app
//! gets what cannot wait, encrypted for its browser alone and signed with the product's VAPID
//! key; subscriptions are their owner's, at most ten, never on a private network; a push
//! service that says "gone" removes the subscription, one that says "later" is tried again.

use std::time::Duration;

use integration_tests::ws::{connect, frame_of};
use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};
use shared::clock::Clock as _;

const PW: &str = "walks4ever";

/// A subscription made by the local push service as a browser makes one.
async fn browser_subscription(t: &TestStack) -> Value {
    let r = t.post("/_local/push/subscriptions", json!({}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

async fn register(t: &TestStack, who: &Session, sub: &Value) -> integration_tests::Reply {
    t.post("/notifications/push-subscriptions", sub.clone(), Some(&who.access)).await
}

async fn arrived(t: &TestStack, endpoint: &str) -> Vec<Value> {
    let r = t.get(&format!("/_local/push/messages?endpoint={}", urlencode(endpoint))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.as_array().unwrap().clone()
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The first push of `kind` accepted at `endpoint`, waiting for it.
async fn push_of(t: &TestStack, endpoint: &str, kind: &str) -> Value {
    t.eventually(Duration::from_secs(15), &format!("a {kind} push"), || async {
        arrived(t, endpoint).await.into_iter().find(|m| m["status"] == 201 && m["payload"]["type"] == kind)
    })
    .await
}

async fn accepted(t: &TestStack, endpoint: &str) -> usize {
    arrived(t, endpoint).await.iter().filter(|m| m["status"] == 201).count()
}

/// Every type pushed, for `who`.
async fn push_everything(t: &TestStack, who: &Session) {
    let mut s = t.call(Method::GET, "/notifications/settings", None, Some(&who.access)).await.body;
    for (_, v) in s["push"].as_object_mut().unwrap() {
        *v = json!(true);
    }
    let r = t.call(Method::PUT, "/notifications/settings", Some(s), Some(&who.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// `seller` sells a listing to `buyer` through the Toss sandbox.
async fn sell(t: &TestStack, seller: &Session, buyer: &Session, title: &str) {
    let key = t.png(seller, "market").await;
    let r = t
        .post(
            "/market/posts",
            json!({"title": title, "description": "상태 좋아요", "price": 25_000, "category": "TOY", "imageKeys": [key],
                   "location": {"lat": 37.5665, "lng": 126.978, "address": "서울 중구"}}),
            Some(&seller.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let listing = r.body["id"].as_str().unwrap().to_string();
    let room = t.post("/chat/rooms", json!({"marketPostId": listing}), Some(&buyer.access)).await;
    let room = room.body["id"].as_str().unwrap().to_string();
    let path = format!("/chat/rooms/{room}/purchase-approval");
    assert_eq!(t.call(Method::PUT, &path, Some(json!({"approved": true})), Some(&seller.access)).await.status, 200);
    let o = t.post(&format!("/market/posts/{listing}/orders"), json!({}), Some(&buyer.access)).await;
    assert_eq!(o.status, 201, "{:?}", o.body);
    let order = o.body["orderId"].as_str().unwrap().to_string();
    let c =
        t.post("/_local/toss/checkout", json!({"orderId": order, "amount": 25_000, "outcome": "APPROVE"}), None).await;
    let payment_key = c.body["paymentKey"].as_str().unwrap().to_string();
    let paid = t
        .post(
            "/payments/confirm",
            json!({"paymentKey": payment_key, "orderId": order, "amount": 25_000}),
            Some(&buyer.access),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);
}

#[tokio::test]
async fn a_closed_app_gets_its_sales_and_reminders_by_web_push_encrypted_and_signed() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;

    // The key to subscribe with: anyone may read it; an uncompressed P-256 point.
    let key = t.get("/notifications/push-key").await;
    assert_eq!(key.status, 200, "{:?}", key.body);
    let public_key = key.body["publicKey"].as_str().unwrap().to_string();
    use base64::Engine;
    let point = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&public_key).unwrap();
    assert_eq!((point.len(), point[0]), (65, 4));

    let sub = browser_subscription(&t).await;
    let endpoint = sub["endpoint"].as_str().unwrap().to_string();
    let made = register(&t, &ann, &sub).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    assert_eq!(made.body["endpoint"], endpoint.as_str());
    assert!(made.body.get("keys").is_none(), "the keys stay in the table");
    let again = register(&t, &ann, &sub).await;
    assert_eq!((again.status, &again.body["id"]), (200, &made.body["id"]), "the same subscription");

    // Ann's app is closed (no connection): her sale reaches her browser.
    sell(&t, &ann, &bob, "고양이 캣타워 팝니다").await;
    let sold = push_of(&t, &endpoint, "TRADE_SOLD").await;
    assert_eq!(sold["decrypted"], true);
    assert_eq!(sold["payload"]["title"], "판매 완료");
    assert_eq!(sold["payload"]["body"], "고양이 캣…이 판매되었습니다!");
    assert!(sold["payload"]["notificationId"].is_string());
    assert_eq!((sold["ttl"].as_u64(), sold["urgency"].as_str()), (Some(86_400), Some("high")));
    let vapid = &sold["vapid"];
    assert_eq!(vapid["verified"], true, "{vapid}");
    let origin = t.stack.sandbox_url.trim_end_matches('/');
    assert_eq!((vapid["aud"].as_str(), vapid["keyMatches"].as_bool()), (Some(origin), Some(true)));
    let now = t.stack.ctx.now().timestamp();
    let exp = vapid["exp"].as_i64().unwrap();
    assert!(exp > now && exp <= now + 24 * 3600, "exp {exp} against {now}");
    assert!(vapid["sub"].as_str().unwrap().starts_with("mailto:"));

    // A reminder, when it is due (the stack's clock moved to 08:00 Seoul tomorrow).
    let pet = t
        .post(
            "/pets",
            json!({"name": "콩이", "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14"}),
            Some(&ann.access),
        )
        .await;
    let pet = pet.body["id"].as_str().unwrap().to_string();
    let tomorrow = (t.stack.ctx.now() + chrono::Duration::hours(9)).date_naive() + chrono::Duration::days(1);
    let walk = json!({"title": "산책", "type": "CARE", "subType": "WALK", "startDate": tomorrow.to_string(), "times": ["08:00"],
                      "reminderDaysBefore": 0, "alarmEnabled": true});
    assert_eq!(t.post(&format!("/pets/{pet}/schedules"), walk, Some(&ann.access)).await.status, 201);
    let due = tomorrow.and_hms_opt(8, 0, 1).unwrap().and_utc() - chrono::Duration::hours(9);
    clock.advance(due - t.stack.ctx.now());
    let ran = t.post("/_local/jobs/health-reminders/run", json!({}), None).await;
    assert_eq!(ran.body["result"]["sent"], 1, "{:?}", ran.body);
    let reminder = push_of(&t, &endpoint, "HEALTH_REMINDER").await;
    assert_eq!(reminder["payload"]["body"], "지금 08:00 산책 시간입니다");
    assert_eq!((reminder["ttl"].as_u64(), reminder["urgency"].as_str()), (Some(3600), Some("high")));
    assert_eq!(reminder["vapid"]["verified"], true, "signed at the stack's time");

    // Likes are not pushed until asked for.
    let post = t.post("/posts", json!({"content": "산책 다녀왔어요"}), Some(&ann.access)).await;
    let post = post.body["id"].as_str().unwrap().to_string();
    t.call(Method::PUT, &format!("/posts/{post}/like"), None, Some(&bob.access)).await;
    t.eventually(Duration::from_secs(10), "the like in the inbox", || async {
        let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
        r.body["items"].as_array().unwrap().iter().any(|n| n["type"] == "LIKE").then_some(())
    })
    .await;
    t.settle().await;
    assert_eq!(accepted(&t, &endpoint).await, 2, "no push for the like");

    // With everything pushed, while her app is open: the connection gets it, the browser not.
    push_everything(&t, &ann).await;
    let mut socket = connect(&t, &ann).await;
    t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    let live = frame_of(&mut socket, "notification").await;
    assert_eq!(live["notification"]["type"], "FOLLOW");
    t.settle().await;
    assert_eq!(accepted(&t, &endpoint).await, 2, "a live connection had it");
    t.stop().await;
}

#[tokio::test]
async fn push_subscriptions_are_their_owners_at_most_ten_and_never_on_a_private_network() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let sub = browser_subscription(&t).await;
    let sandbox_port = reqwest::Url::parse(&t.stack.sandbox_url).unwrap().port().unwrap();

    // Where the server would send requests: https to public addresses only.
    for (endpoint, code) in [
        ("https://10.0.0.1/push/abc".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://192.168.0.10/push".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://172.20.1.1/push".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://169.254.169.254/latest/meta-data/".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://[fd00:ec2::254]/latest".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://[::1]/push".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("https://[::ffff:10.0.0.1]/push".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        // A name that resolves to loopback.
        ("https://localhost/push".to_string(), "PUSH_ENDPOINT_NOT_PUBLIC"),
        (format!("https://127.0.0.1:{sandbox_port}/push/send/x"), "PUSH_ENDPOINT_NOT_PUBLIC"),
        ("http://push.example.com/abc".to_string(), "PUSH_ENDPOINT_NOT_HTTPS"),
        // Loopback over http, but not the local push service's origin.
        ("http://127.0.0.1:1/push/send/x".to_string(), "PUSH_ENDPOINT_NOT_HTTPS"),
        ("https://user:pw@push.example.com/abc".to_string(), "PUSH_ENDPOINT_INVALID"),
        ("file:///etc/passwd".to_string(), "PUSH_ENDPOINT_NOT_HTTPS"),
    ] {
        let mut bad = sub.clone();
        bad["endpoint"] = json!(endpoint);
        let r = register(&t, &ann, &bad).await;
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some(code)), "{endpoint}: {:?}", r.body);
    }
    let mut bad = sub.clone();
    bad["keys"]["p256dh"] = json!("BAAA");
    assert_eq!(register(&t, &ann, &bad).await.body["code"], "PUSH_KEYS_INVALID");
    let mut bad = sub.clone();
    bad["keys"]["auth"] = json!("c2hvcnQ");
    assert_eq!(register(&t, &ann, &bad).await.body["code"], "PUSH_KEYS_INVALID");
    let mut bad = sub.clone();
    bad["expirationTime"] = json!(1_000_000_000_000i64);
    assert_eq!(register(&t, &ann, &bad).await.body["code"], "PUSH_SUBSCRIPTION_EXPIRED");
    let mut bad = sub.clone();
    bad["extra"] = json!(1);
    assert_eq!(register(&t, &ann, &bad).await.status, 400);
    assert_eq!(t.post("/notifications/push-subscriptions", sub.clone(), None).await.status, 401);
    assert_eq!(
        t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&ann.access)).await.body["count"],
        0,
        "nothing refused was stored"
    );

    // Twelve browsers at once: exactly ten are registered.
    let mut subs = Vec::new();
    for _ in 0..12 {
        subs.push(browser_subscription(&t).await);
    }
    let tries = futures::future::join_all(subs.iter().map(|s| register(&t, &ann, s))).await;
    let made = tries.iter().filter(|r| r.status == 201).count();
    let full = tries.iter().filter(|r| r.body["code"] == "TOO_MANY_PUSH_SUBSCRIPTIONS").count();
    assert_eq!(
        (made, full),
        (10, 2),
        "{:?}",
        tries.iter().map(|r| (r.status, r.body["code"].clone())).collect::<Vec<_>>()
    );
    let mine = t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&ann.access)).await.body;
    assert_eq!(mine["count"], 10);
    let ids: Vec<String> =
        mine["items"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect();

    // Another account cannot see or remove them.
    let theirs = format!("/notifications/push-subscriptions/{}", ids[0]);
    assert_eq!(t.call(Method::DELETE, &theirs, None, Some(&bob.access)).await.status, 404);
    assert_eq!(t.call(Method::DELETE, &theirs, None, None).await.status, 401);
    assert_eq!(
        t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&bob.access)).await.body["count"],
        0
    );

    // Bob signs in on one of Ann's browsers: the endpoint is his now.
    let shared_browser = mine["items"][0]["endpoint"].as_str().unwrap();
    let browser = subs.iter().find(|s| s["endpoint"] == shared_browser).unwrap();
    assert_eq!(register(&t, &bob, browser).await.status, 201);
    assert_eq!(
        t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&ann.access)).await.body["count"],
        9
    );
    assert_eq!(
        t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&bob.access)).await.body["count"],
        1
    );
    assert_eq!(t.call(Method::DELETE, &theirs, None, Some(&ann.access)).await.status, 404, "moved to Bob");
    // Room for one more: ann registers another.
    assert_eq!(register(&t, &ann, &browser_subscription(&t).await).await.status, 201);

    let one = format!("/notifications/push-subscriptions/{}", ids[1]);
    assert_eq!(t.call(Method::DELETE, &one, None, Some(&ann.access)).await.status, 204);
    assert_eq!(t.call(Method::DELETE, &one, None, Some(&ann.access)).await.status, 404);
    assert_eq!(
        t.call(Method::DELETE, "/notifications/push-subscriptions/zz", None, Some(&ann.access)).await.status,
        404
    );
    let all = t.call(Method::DELETE, "/notifications/push-subscriptions", None, Some(&ann.access)).await;
    assert_eq!(all.body["removed"], 9);
    assert_eq!(
        t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&ann.access)).await.body["count"],
        0
    );
    // And the count went down with them: ten fit again.
    for _ in 0..10 {
        assert_eq!(register(&t, &ann, &browser_subscription(&t).await).await.status, 201);
    }
    t.stop().await;
}

#[tokio::test]
async fn a_gone_subscription_is_removed_and_a_busy_push_service_is_tried_again() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    push_everything(&t, &ann).await;
    let (gone, busy) = (browser_subscription(&t).await, browser_subscription(&t).await);
    assert_eq!(register(&t, &ann, &gone).await.status, 201);
    assert_eq!(register(&t, &ann, &busy).await.status, 201);
    let gone_endpoint = gone["endpoint"].as_str().unwrap().to_string();
    let busy_endpoint = busy["endpoint"].as_str().unwrap().to_string();

    // The browser unsubscribed on its side: its endpoint answers 410 from now on.
    let r = t
        .call(Method::DELETE, &format!("/_local/push/subscriptions?endpoint={}", urlencode(&gone_endpoint)), None, None)
        .await;
    assert_eq!(r.status, 204);
    // The other's push service is busy for one push.
    let fault =
        t.post("/_local/faults", json!({"service": "push", "error": "TooManyRequests", "times": 1}), None).await;
    assert_eq!(fault.status, 201, "{:?}", fault.body);

    t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    let follow = push_of(&t, &busy_endpoint, "FOLLOW").await;
    assert_eq!((follow["ttl"].as_u64(), follow["urgency"].as_str()), (Some(86_400), Some("low")));
    t.eventually(Duration::from_secs(15), "the gone subscription removed", || async {
        let mine = t.call(Method::GET, "/notifications/push-subscriptions", None, Some(&ann.access)).await.body;
        (mine["count"] == 1 && mine["items"][0]["endpoint"] == busy_endpoint.as_str()).then_some(())
    })
    .await;
    t.settle().await;
    let faults = t.get("/_local/faults").await.body;
    let rule = faults["rules"].as_array().unwrap().iter().find(|r| r["service"] == "push").unwrap();
    assert_eq!(rule["fired"], 1, "the busy answer was given: {faults}");
    assert_eq!(accepted(&t, &busy_endpoint).await, 1, "delivered once, the retry skipping what it reached");
    assert!(arrived(&t, &gone_endpoint).await.is_empty(), "410 before anything was stored");

    // Administrators' notices too, for whoever turned notices on for push.
    let root = t.admin("root@example.com", "root", PW).await;
    let notice = json!({"title": "서비스 점검 안내", "body": "12월 1일 새벽에 점검합니다.", "audience": "ALL"});
    assert_eq!(t.post("/admin/notices", notice, Some(&root.access)).await.status, 202);
    let pushed = push_of(&t, &busy_endpoint, "NOTICE").await;
    assert_eq!(
        (pushed["payload"]["title"].as_str(), pushed["urgency"].as_str()),
        (Some("서비스 점검 안내"), Some("normal"))
    );
    t.stop().await;
}

async fn chat_items(t: &TestStack, who: &Session) -> Vec<Value> {
    let r = t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await;
    r.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "CHAT").cloned().collect()
}

async fn unread(t: &TestStack, who: &Session) -> i64 {
    t.call(Method::GET, "/notifications/unread-count", None, Some(&who.access)).await.body["count"].as_i64().unwrap()
}

async fn say(t: &TestStack, who: &Session, room: &str, n: usize, text: &str) -> Value {
    let r = t
        .post(
            &format!("/chat/rooms/{room}/messages"),
            json!({"clientMessageId": format!("{text}-{n}"), "content": format!("{text} {n}")}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["message"].clone()
}

#[tokio::test]
async fn chat_messages_to_an_absent_member_collapse_into_one_item_pushed_once_per_half_minute() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let sub = browser_subscription(&t).await;
    let endpoint = sub["endpoint"].as_str().unwrap().to_string();
    assert_eq!(register(&t, &bob, &sub).await.status, 201);
    let r = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&ann.access)).await;
    let room = r.body["id"].as_str().unwrap().to_string();

    // Twenty messages while Bob's app is closed: one CHAT item, counting twenty; one push. They
    // are sent at the start of a half-minute window, so all in one: the worker that changes the
    // item is handed them once (each message's event waits two seconds, and sees a later one).
    let into_window = clock.now().timestamp().rem_euclid(30);
    clock.advance(chrono::Duration::seconds(30 - into_window));
    let handed = |t: &TestStack| -> usize {
        let runs = t.stack.queues.invocations();
        runs.iter().filter(|i| i.worker == "notifications").map(|i| i.messages.len()).sum()
    };
    let before = handed(&t);
    for i in 1..=20 {
        say(&t, &ann, &room, i, "메시지").await;
    }
    let item = t
        .eventually(Duration::from_secs(20), "one CHAT item counting 20", || async {
            let items = chat_items(&t, &bob).await;
            (items.len() == 1 && items[0]["count"] == 20).then(|| items[0].clone())
        })
        .await;
    assert_eq!((item["body"].as_str(), item["targetId"].as_str()), (Some("ann: 메시지 20"), Some(room.as_str())));
    assert_eq!(item["actor"]["id"], ann.user_id.as_str());
    t.settle().await;
    assert_eq!(handed(&t) - before, 1, "twenty messages of one window are one change of Bob's item");
    assert_eq!(chat_items(&t, &bob).await.len(), 1, "still one");
    assert_eq!(unread(&t, &bob).await, 1);
    let pushes: Vec<Value> =
        arrived(&t, &endpoint).await.into_iter().filter(|m| m["payload"]["type"] == "CHAT").collect();
    assert_eq!(pushes.len(), 1, "at most one push per room in 30 s: {pushes:?}");
    assert_eq!((pushes[0]["urgency"].as_str(), pushes[0]["vapid"]["verified"].as_bool()), (Some("high"), Some(true)));
    assert!(pushes[0]["topic"].as_str().is_some_and(|t| t.starts_with("chat-") && t.len() <= 32));

    // Half a minute on, the next message is pushed again.
    clock.advance(chrono::Duration::seconds(31));
    let last = say(&t, &ann, &room, 21, "메시지").await;
    t.eventually(Duration::from_secs(10), "a second CHAT push", || async {
        let n = arrived(&t, &endpoint).await.iter().filter(|m| m["payload"]["type"] == "CHAT").count();
        (n == 2).then_some(())
    })
    .await;
    let items = chat_items(&t, &bob).await;
    assert_eq!((items.len(), items[0]["count"].as_i64()), (1, Some(21)));

    // Reading the room clears it.
    let read = t
        .call(
            Method::PUT,
            &format!("/chat/rooms/{room}/read"),
            Some(json!({"messageId": last["id"]})),
            Some(&bob.access),
        )
        .await;
    assert_eq!(read.status, 204, "{:?}", read.body);
    t.eventually(Duration::from_secs(10), "the CHAT item cleared", || async {
        chat_items(&t, &bob).await.is_empty().then_some(())
    })
    .await;
    assert_eq!(unread(&t, &bob).await, 0);

    // In the room (a connection has it open): nothing in the inbox.
    let mut socket = integration_tests::ws::connect(&t, &bob).await;
    integration_tests::ws::send(&mut socket, json!({"action": "enterRoom", "roomId": room})).await;
    frame_of(&mut socket, "chat.presence").await;
    say(&t, &ann, &room, 22, "메시지").await;
    frame_of(&mut socket, "chat.message").await;
    t.settle().await;
    assert!(chat_items(&t, &bob).await.is_empty(), "Bob was in the room");
    t.stop().await;
}

#[tokio::test]
async fn chat_notifications_follow_the_chat_switch_and_blocks() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let dan = t.user("dan@example.com", "dan", PW).await;
    // Cat turned chat notifications off; Dan blocked Ann.
    let mut s = t.call(Method::GET, "/notifications/settings", None, Some(&cat.access)).await.body;
    s["chat"] = json!(false);
    assert_eq!(t.call(Method::PUT, "/notifications/settings", Some(s), Some(&cat.access)).await.status, 200);
    let r = t
        .post(
            "/chat/rooms",
            json!({"participantIds": [bob.user_id, cat.user_id, dan.user_id], "name": "산책 모임"}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let group = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", ann.user_id), None, Some(&dan.access)).await.status,
        200
    );
    say(&t, &ann, &group, 1, "모임").await;
    t.eventually(Duration::from_secs(10), "Bob's CHAT item", || async {
        chat_items(&t, &bob).await.first().map(|i| i["count"] == 1).filter(|ok| *ok)
    })
    .await;
    t.settle().await;
    assert!(chat_items(&t, &cat).await.is_empty(), "chat switched off");
    assert!(chat_items(&t, &dan).await.is_empty(), "across a block");
    assert!(chat_items(&t, &ann).await.is_empty(), "not for one's own message");
    // Bob's message notifies Dan (he blocked Ann, not Bob), and Ann.
    say(&t, &bob, &group, 2, "답장").await;
    t.eventually(Duration::from_secs(10), "Dan's and Ann's CHAT items", || async {
        let (d, a) = (chat_items(&t, &dan).await, chat_items(&t, &ann).await);
        (d.len() == 1 && a.len() == 1).then_some(())
    })
    .await;
    t.stop().await;
}
