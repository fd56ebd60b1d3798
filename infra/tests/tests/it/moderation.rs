//! Reports decided, over HTTP and WebSocket: each result on each kind of target has its effect
//! (content gone from every list and count, the reported user blocked), closes every open report
//! on the target, tells the reporters and the author, and is in the audit trail; deciding twice
//! is refused. Moderators' direct removals work the same way.

use integration_tests::ws::{connect, frame_of, send};
use integration_tests::{Reply, Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn admin(t: &TestStack, email: &str, nickname: &str) -> Session {
    t.admin(email, nickname, PW).await
}

async fn report(t: &TestStack, who: &Session, body: Value) -> String {
    let r = t.post("/reports", body, Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn decide(t: &TestStack, admin: &Session, report: &str, body: Value) -> Reply {
    t.post(&format!("/admin/reports/{report}/decision"), body, Some(&admin.access)).await
}

/// A listing with a photo, by `who`.
async fn fake_bag(t: &TestStack, who: &Session) -> String {
    let key = t.png(who, "market").await;
    let body = json!({"title": "짝퉁 가방", "description": "정품 아님", "price": 1000, "category": "OTHER", "imageKeys": [key],
                      "location": {"lat": 37.5, "lng": 127.0, "address": "서울"}});
    let listing = t.post("/market/posts", body, Some(&who.access)).await;
    assert_eq!(listing.status, 201, "{:?}", listing.body);
    listing.body["id"].as_str().unwrap().to_string()
}

async fn inbox(t: &TestStack, who: &Session) -> Vec<Value> {
    let r = t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"].as_array().unwrap().clone()
}

fn of_type<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|n| n["type"] == kind).collect()
}

#[tokio::test]
async fn each_result_on_each_target_has_its_effect_and_closes_every_report_on_it() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;

    // A post, reported twice: once with a category and a short Korean reason, once in words only.
    let post = t.post("/posts", json!({"title": "산책", "content": "나쁜 말이 담긴 글"}), Some(&ann.access)).await;
    let post = post.body["id"].as_str().unwrap().to_string();
    let by_bob =
        report(&t, &bob, json!({"targetType": "POST", "targetId": post, "category": "ABUSE", "detail": "욕설"})).await;
    let by_cat = report(&t, &cat, json!({"targetType": "POST", "targetId": post, "reason": "불쾌한 글이에요"})).await;
    let again = t
        .post("/reports", json!({"targetType": "POST", "targetId": post, "category": "SPAM"}), Some(&bob.access))
        .await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("ALREADY_REPORTED")));

    t.indexed().await; // the moderators' queue is an index
    let open = t.call(Method::GET, "/admin/reports?targetType=POST", None, Some(&root.access)).await;
    assert_eq!(open.status, 200, "{:?}", open.body);
    let ids: Vec<&str> = open.body["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![by_cat.as_str(), by_bob.as_str()], "newest first");
    assert_eq!(open.body["items"][0]["category"], "OTHER", "words only: OTHER");
    assert_eq!(open.body["items"][1]["reason"], "욕설");
    let detail = t.call(Method::GET, &format!("/admin/reports/{by_bob}"), None, Some(&root.access)).await;
    assert_eq!(detail.body["report"]["snapshot"]["text"], "산책\n나쁜 말이 담긴 글");
    assert_eq!(detail.body["report"]["reportedUserId"], ann.user_id.as_str());
    assert_eq!(detail.body["otherReports"][0]["id"], by_cat.as_str());

    let r = decide(&t, &root, &by_bob, json!({"result": "DELETE_CONTENT", "note": "욕설 게시물"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["closed"].as_i64(), r.body["status"].as_str()), (Some(2), Some("DONE")));
    for id in [&by_bob, &by_cat] {
        let r = decide(&t, &root, id, json!({"result": "DENY"})).await;
        assert_eq!((r.status, r.body["code"].as_str()), (409, Some("REPORT_ALREADY_DECIDED")));
    }
    t.settle().await;
    assert_eq!(t.call(Method::GET, &format!("/posts/{post}"), None, Some(&bob.access)).await.status, 404);
    let listed = t.call(Method::GET, &format!("/users/{}/posts", ann.user_id), None, Some(&bob.access)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0, "gone from the author's list");
    let profile = t.get(&format!("/users/{}", ann.user_id)).await;
    assert_eq!(profile.body["postCount"], 0, "and from the count: {:?}", profile.body);
    let told = inbox(&t, &ann).await;
    assert_eq!(of_type(&told, "CONTENT_REMOVED").len(), 1, "{told:?}");
    assert!(of_type(&told, "CONTENT_REMOVED")[0]["body"].as_str().unwrap().contains("욕설 게시물"));
    for reporter in [&bob, &cat] {
        assert_eq!(of_type(&inbox(&t, reporter).await, "REPORT_DECIDED").len(), 1);
    }
    // The snapshot outlives the content.
    let kept = t.call(Method::GET, &format!("/admin/reports/{by_cat}"), None, Some(&root.access)).await;
    assert_eq!(kept.body["report"]["status"], "DONE");
    assert_eq!(kept.body["report"]["snapshot"]["text"], "산책\n나쁜 말이 담긴 글");
    assert_eq!(kept.body["report"]["decision"]["result"], "DELETE_CONTENT");
    t.indexed().await;
    let done = t.call(Method::GET, "/admin/reports?status=DONE", None, Some(&root.access)).await;
    assert_eq!(done.body["items"].as_array().unwrap().len(), 2);

    // A comment: gone from the thread and from its post's count.
    let bobs = t.post("/posts", json!({"title": "공원", "content": "오늘"}), Some(&bob.access)).await;
    let bobs = bobs.body["id"].as_str().unwrap().to_string();
    let comment = t.post(&format!("/posts/{bobs}/comments"), json!({"content": "바보"}), Some(&ann.access)).await;
    let comment = comment.body["id"].as_str().unwrap().to_string();
    let id = report(&t, &bob, json!({"targetType": "COMMENT", "targetId": comment, "category": "ABUSE"})).await;
    assert_eq!(decide(&t, &root, &id, json!({"result": "DELETE_CONTENT"})).await.status, 200);
    t.settle().await;
    let thread = t.call(Method::GET, &format!("/posts/{bobs}/comments"), None, Some(&bob.access)).await;
    assert_eq!(thread.body["items"].as_array().unwrap().len(), 0, "{:?}", thread.body);
    let p = t.call(Method::GET, &format!("/posts/{bobs}"), None, Some(&bob.access)).await;
    assert_eq!(p.body["commentCount"], 0);

    // A listing: gone from its page, the market list and search.
    let listing = fake_bag(&t, &ann).await;
    let id = report(&t, &cat, json!({"targetType": "MARKET_POST", "targetId": listing, "category": "FRAUD"})).await;
    assert_eq!(decide(&t, &root, &id, json!({"result": "DELETE_CONTENT"})).await.status, 200);
    t.settle().await;
    assert_eq!(t.call(Method::GET, &format!("/market/posts/{listing}"), None, Some(&cat.access)).await.status, 404);
    let market = t.call(Method::GET, "/market/posts", None, Some(&cat.access)).await;
    assert!(!market.body["items"].as_array().unwrap().iter().any(|l| l["id"] == listing.as_str()));
    let found = t.call(Method::GET, "/search/market?q=%EC%A7%9D%ED%89%81", None, Some(&cat.access)).await;
    assert_eq!(found.body["items"].as_array().unwrap().len(), 0, "{:?}", found.body);

    // A chat message: only someone in the room may report it; removed, it keeps its place and
    // the room is told at once.
    let room = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&ann.access)).await;
    let room = room.body["id"].as_str().unwrap().to_string();
    let mut ann_s = connect(&t, &ann).await;
    let mut bob_s = connect(&t, &bob).await;
    send(
        &mut ann_s,
        json!({"action": "sendMessage", "roomId": room, "clientMessageId": "a1", "content": "욕설 메시지"}),
    )
    .await;
    let message = frame_of(&mut ann_s, "chat.ack").await["message"]["id"].as_str().unwrap().to_string();
    let outsider = t
        .post(
            "/reports",
            json!({"targetType": "CHAT_MESSAGE", "targetId": message, "roomId": room, "category": "ABUSE"}),
            Some(&cat.access),
        )
        .await;
    assert_eq!(outsider.status, 404, "{:?}", outsider.body);
    let id = report(
        &t,
        &bob,
        json!({"targetType": "CHAT_MESSAGE", "targetId": message, "roomId": room, "category": "ABUSE"}),
    )
    .await;
    assert_eq!(decide(&t, &root, &id, json!({"result": "DELETE_CONTENT"})).await.status, 200);
    let gone = frame_of(&mut bob_s, "chat.messageDeleted").await;
    assert_eq!(gone["messageId"], message.as_str());
    let history = t.call(Method::GET, &format!("/chat/rooms/{room}/messages"), None, Some(&bob.access)).await;
    let m = history.body["items"].as_array().unwrap().iter().find(|m| m["id"] == message.as_str()).cloned().unwrap();
    assert_eq!((m["deleted"].as_bool(), m["content"].as_str()), (Some(true), Some("")));

    // A user: a temporary block bites at once and is pushed; a permanent one too; DENY closes as
    // DENIED; an account cannot be "deleted".
    let id =
        report(&t, &bob, json!({"targetType": "USER", "targetId": ann.user_id, "category": "ABUSE", "detail": "욕설"}))
            .await;
    let r = decide(&t, &root, &id, json!({"result": "DELETE_CONTENT"})).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let r = decide(&t, &root, &id, json!({"result": "TEMPORARY_BLOCK", "blockSeconds": 3600, "note": "욕설"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(frame_of(&mut ann_s, "account.blocked").await["reason"], "욕설");
    let refused = t.post("/posts", json!({"title": "a", "content": "b"}), Some(&ann.access)).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (403, Some("ACCOUNT_BLOCKED")));
    assert_eq!(
        t.call(Method::DELETE, &format!("/admin/users/{}/block", ann.user_id), None, Some(&root.access)).await.status,
        200
    );
    let id = report(&t, &cat, json!({"targetType": "USER", "targetId": ann.user_id, "category": "SPAM"})).await;
    let r = decide(&t, &root, &id, json!({"result": "PERMANENT_BLOCK"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let refused = t.post("/posts", json!({"title": "a", "content": "b"}), Some(&ann.access)).await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["until"].is_null(), "for good: {:?}", refused.body);
    assert_eq!(
        t.call(Method::DELETE, &format!("/admin/users/{}/block", ann.user_id), None, Some(&root.access)).await.status,
        200
    );
    // A block by a report decision is on the user's own trail and block history, as a direct
    // block is: two by reports, two direct unblocks, newest first.
    t.indexed().await;
    let detail = t.call(Method::GET, &format!("/admin/users/{}", ann.user_id), None, Some(&root.access)).await;
    let history: Vec<&str> =
        detail.body["blockHistory"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(history, vec!["USER_UNBLOCK", "USER_BLOCK", "USER_UNBLOCK", "USER_BLOCK"], "{:?}", detail.body);
    assert_eq!(detail.body["blockHistory"][1]["after"]["permanent"], true);
    assert_eq!(detail.body["blockHistory"][3]["after"]["reason"], "욕설");
    let id =
        report(&t, &cat, json!({"targetType": "USER", "targetId": bob.user_id, "category": "OTHER", "detail": "그냥"}))
            .await;
    let r = decide(&t, &root, &id, json!({"result": "DENY", "note": "위반 아님"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("DENIED")));
    assert_eq!(t.post("/posts", json!({"title": "a", "content": "b"}), Some(&bob.access)).await.status, 201);
    t.indexed().await;
    let denied = t.call(Method::GET, "/admin/reports?status=DENIED", None, Some(&root.access)).await;
    assert_eq!(denied.body["items"][0]["id"], id.as_str());

    // Every decision is in the audit trail.
    let audit = t
        .call(Method::GET, &format!("/admin/audit?actorId={}&limit=100", root.user_id), None, Some(&root.access))
        .await;
    let decisions = audit.body["items"].as_array().unwrap().iter().filter(|r| r["action"] == "REPORT_DECISION").count();
    assert_eq!(decisions, 7, "{:?}", audit.body);
    t.stop().await;
}

#[tokio::test]
async fn moderators_remove_content_directly_and_the_author_is_told() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let post = t.post("/posts", json!({"title": "산책", "content": "광고 글"}), Some(&ann.access)).await;
    let post = post.body["id"].as_str().unwrap().to_string();
    let comment = t.post(&format!("/posts/{post}/comments"), json!({"content": "홍보"}), Some(&bob.access)).await;
    let comment = comment.body["id"].as_str().unwrap().to_string();

    let no_reason = t.call(Method::DELETE, &format!("/admin/posts/{post}"), None, Some(&root.access)).await;
    assert_eq!(no_reason.status, 400, "{:?}", no_reason.body);
    let by_user = t.call(Method::DELETE, &format!("/admin/posts/{post}?reason=spam"), None, Some(&bob.access)).await;
    assert_eq!((by_user.status, by_user.body["code"].as_str()), (403, Some("ADMIN_ONLY")));
    let r = t
        .call(Method::DELETE, &format!("/admin/comments/{comment}?reason=%ED%99%8D%EB%B3%B4"), None, Some(&root.access))
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let r = t
        .call(Method::DELETE, &format!("/admin/posts/{post}?reason=%EA%B4%91%EA%B3%A0"), None, Some(&root.access))
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    t.settle().await;
    assert_eq!(t.call(Method::GET, &format!("/posts/{post}"), None, Some(&ann.access)).await.status, 404);
    let again = t.call(Method::DELETE, &format!("/admin/posts/{post}?reason=x"), None, Some(&root.access)).await;
    assert_eq!((again.status, again.body["code"].as_str()), (404, Some("CONTENT_NOT_FOUND")));
    let told = inbox(&t, &ann).await;
    assert!(of_type(&told, "CONTENT_REMOVED")[0]["body"].as_str().unwrap().contains("광고"), "{told:?}");
    assert!(of_type(&inbox(&t, &bob).await, "CONTENT_REMOVED")[0]["body"].as_str().unwrap().contains("홍보"));
    t.indexed().await;
    let audit = t.call(Method::GET, &format!("/admin/audit?targetId={post}"), None, Some(&root.access)).await;
    assert_eq!(audit.body["items"][0]["action"], "CONTENT_DELETE");
    assert_eq!(audit.body["items"][0]["before"]["snapshot"]["text"], "산책\n광고 글");

    // A listing and a board post, the same way: gone for everyone, the author told, once only.
    let listing = fake_bag(&t, &ann).await;
    let board = t
        .post(
            "/community/posts",
            json!({"type": "QUESTION", "title": "공구", "content": "단체 구매 홍보"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(board.status, 201, "{:?}", board.body);
    let board = board.body["id"].as_str().unwrap().to_string();
    for (path, page, kind) in [
        (format!("/admin/market/posts/{listing}"), format!("/market/posts/{listing}"), "MARKET_POST"),
        (format!("/admin/community/posts/{board}"), format!("/community/posts/{board}"), "COMMUNITY_POST"),
    ] {
        let r = t.call(Method::DELETE, &format!("{path}?reason=%ED%99%8D%EB%B3%B4"), None, Some(&root.access)).await;
        assert_eq!((r.status, r.body["targetType"].as_str()), (202, Some(kind)), "{path}: {:?}", r.body);
        t.settle().await;
        assert_eq!(t.call(Method::GET, &page, None, Some(&ann.access)).await.status, 404, "{page}");
        let again = t.call(Method::DELETE, &format!("{path}?reason=x"), None, Some(&root.access)).await;
        assert_eq!((again.status, again.body["code"].as_str()), (404, Some("CONTENT_NOT_FOUND")), "{path}");
    }
    let removed = |items: &[Value]| {
        of_type(items, "CONTENT_REMOVED")
            .iter()
            .filter_map(|n| n["targetType"].as_str().map(str::to_string))
            .collect::<Vec<_>>()
    };
    assert!(removed(&inbox(&t, &ann).await).contains(&"MARKET_POST".to_string()));
    assert!(removed(&inbox(&t, &bob).await).contains(&"COMMUNITY_POST".to_string()));
    t.stop().await;
}

/// The reports on a target are listed by an index, which lags: a decision right after another
/// on the same target still lists the reports that one closed as open. It closes what is open
/// in the table and succeeds.
#[tokio::test]
async fn a_decision_right_after_another_on_the_same_target_is_not_refused_by_the_index() {
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.index_lag = Some(std::time::Duration::from_secs(3));
    let t = TestStack::start_with(opts).await;
    let root = admin(&t, "root@example.com", "root").await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let dan = t.user("dan@example.com", "dan", PW).await;
    let post = t.post("/posts", json!({"title": "산책", "content": "공원에서"}), Some(&ann.access)).await;
    let post = post.body["id"].as_str().unwrap().to_string();
    let by_bob = report(&t, &bob, json!({"targetType": "POST", "targetId": post, "category": "SPAM"})).await;
    report(&t, &cat, json!({"targetType": "POST", "targetId": post, "category": "SPAM"})).await;
    t.indexed().await;

    let r = decide(&t, &root, &by_bob, json!({"result": "DENY"})).await;
    assert_eq!((r.status, r.body["closed"].as_i64()), (200, Some(2)), "{:?}", r.body);
    // Within the index's lag, both still look open there.
    let by_dan = report(&t, &dan, json!({"targetType": "POST", "targetId": post, "category": "ABUSE"})).await;
    let r = decide(&t, &root, &by_dan, json!({"result": "DENY", "note": "위반 아님"})).await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("DENIED")), "{:?}", r.body);
    assert_eq!(r.body["closed"], 1, "only the report still open: {:?}", r.body);
    t.indexed().await;
    let denied = t.call(Method::GET, "/admin/reports?status=DENIED&targetType=POST", None, Some(&root.access)).await;
    assert_eq!(denied.body["items"].as_array().unwrap().len(), 3, "{:?}", denied.body);
    t.stop().await;
}
