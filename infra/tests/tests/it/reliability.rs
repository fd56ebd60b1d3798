//! Failing dependencies and floods, injected: a busy table answers 503 with `Retry-After` (never a
//! 500), a mixed workload under 20% throttling loses nothing it acknowledged and leaves every
//! counter equal to its facts, the counter audit finds and repairs planted drift, and every
//! write has a per-user limit.

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::{Reply, Session, TestStack};
use local_stack::StackOptions;
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn fault(t: &TestStack, rule: Value) {
    let r = t.post("/_local/faults", rule, None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn clear_faults(t: &TestStack) {
    assert_eq!(t.call(Method::DELETE, "/_local/faults", None, None).await.status, 204);
}

async fn post(t: &TestStack, who: &Session, title: &str) -> String {
    let r = t.post("/posts", json!({"title": title, "content": "오늘은 한강에서 산책했어요"}), Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

/// Drift left after an audit (reports only).
async fn drift(t: &TestStack) -> Vec<shared::audit::Drift> {
    local_stack::catalog::audit_all(&t.stack.ctx, false).await.unwrap().into_iter().flat_map(|(_, r)| r.drift).collect()
}

/// A stack whose queues redeliver a failed message after a second (workers meet the faults too).
async fn quick_retries() -> TestStack {
    let mut opts = StackOptions::ephemeral();
    opts.visibility_timeout = Some(Duration::from_secs(1));
    TestStack::start_with(opts).await
}

#[tokio::test]
async fn a_throttled_table_answers_503_with_retry_after_and_never_a_half_done_write() {
    let t = quick_retries().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = post(&t, &ann, "산책").await;
    fault(&t, json!({"service": "dynamodb", "error": "ThrottlingException"})).await;
    for (method, path) in [(Method::GET, "/users/me".to_string()), (Method::PUT, format!("/posts/{p}/like"))] {
        let r = t.call(method, &path, None, Some(&ann.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (503, Some("BUSY")), "{path}: {:?}", r.body);
        assert!(r.header("retry-after").is_some(), "{path}");
    }
    let created = t.post("/posts", json!({"title": "x", "content": "y"}), Some(&ann.access)).await;
    assert_eq!(created.status, 503);
    let fired = t.get("/_local/faults").await.body["injected"].as_u64().unwrap();
    assert!(fired >= 3, "the switch fired ({fired})");
    clear_faults(&t).await;
    // Nothing of the refused writes is there.
    let mine = t.call(Method::GET, &format!("/users/{}/posts", ann.user_id), None, Some(&ann.access)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(t.get(&format!("/posts/{p}")).await.body["likeCount"], 0);
    // A conflicting transaction is retried by the table layer; the like goes through.
    fault(
        &t,
        json!({"service": "dynamodb", "operation": "TransactWriteItems", "error": "TransactionConflict", "times": 2}),
    )
    .await;
    let r = t.call(Method::PUT, &format!("/posts/{p}/like"), None, Some(&ann.access)).await;
    assert!(r.status / 100 == 2, "{:?}", r.body);
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/posts/{p}")).await.body["likeCount"], 1);
    assert!(drift(&t).await.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn a_mixed_workload_under_20_percent_throttling_keeps_what_it_acknowledged_and_every_counter() {
    let t = quick_retries().await;
    let mut users = Vec::new();
    for i in 0..6 {
        users.push(t.user(&format!("u{i}@example.com"), &format!("walker{i}"), PW).await);
    }
    let mut posts = Vec::new();
    for (i, u) in users.iter().enumerate().take(3) {
        posts.push(post(&t, u, &format!("산책 {i}")).await);
    }
    fault(&t, json!({"service": "dynamodb", "error": "ThrottlingException", "share": 0.2})).await;
    // Everyone likes and comments on every post and follows everyone, all at once.
    let mut calls: Vec<(String, Method, String, Option<Value>, &Session)> = Vec::new();
    for u in &users {
        for p in &posts {
            calls.push((format!("like {} {p}", u.user_id), Method::PUT, format!("/posts/{p}/like"), None, u));
            calls.push((
                format!("comment {} {p}", u.user_id),
                Method::POST,
                format!("/posts/{p}/comments"),
                Some(json!({"content": "귀여워요"})),
                u,
            ));
        }
        for other in users.iter().filter(|o| o.user_id != u.user_id) {
            calls.push((
                format!("follow {} {}", u.user_id, other.user_id),
                Method::PUT,
                format!("/users/{}/follow", other.user_id),
                None,
                u,
            ));
        }
    }
    let answers: Vec<Reply> = futures::future::join_all(
        calls.iter().map(|(_, m, path, body, u)| t.call(m.clone(), path, body.clone(), Some(&u.access))),
    )
    .await;
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for a in &answers {
        *statuses.entry(a.status).or_default() += 1;
    }
    let injected = t.get("/_local/faults").await.body["injected"].as_u64().unwrap();
    clear_faults(&t).await;
    println!("{} requests under 20% throttling ({injected} table calls failed): {statuses:?}", answers.len());
    assert!(
        answers.iter().all(|a| a.status / 100 == 2 || (a.status == 503 && a.header("retry-after").is_some())),
        "{statuses:?}"
    );
    assert!(injected > 0);

    // What was acknowledged is there. A 503 says "not known to be done: send it again": sent
    // again (likes and follows are idempotent) it is done once.
    for ((what, m, path, body, u), a) in calls.iter().zip(&answers) {
        if a.status == 503 {
            let again = t.call(m.clone(), path, body.clone(), Some(&u.access)).await;
            assert_eq!(again.status / 100, 2, "{what} sent again: {:?}", again.body);
        }
    }
    for (what, _, _, _, u) in &calls {
        let mut parts = what.split(' ');
        let (kind, _, target) = (parts.next().unwrap(), parts.next(), parts.next().unwrap());
        match kind {
            "like" => {
                let likers = t.get(&format!("/posts/{target}/likes?limit=50")).await;
                let present = likers.body["items"].as_array().unwrap().iter().any(|l| l["id"] == u.user_id.as_str());
                assert!(present, "{what} is lost");
            }
            "follow" => {
                let s = t.call(Method::GET, &format!("/users/{target}/follow-status"), None, Some(&u.access)).await;
                assert_eq!(s.body["following"].as_bool(), Some(true), "{what} is lost");
            }
            _ => {}
        }
    }
    // Every counter equals its facts once the background work is done.
    t.settle().await;
    for p in &posts {
        let post = t.get(&format!("/posts/{p}")).await.body;
        assert_eq!(post["likeCount"], users.len(), "every like counted once");
    }
    let left = drift(&t).await;
    assert!(left.is_empty(), "drift after the faults: {left:?}");
    t.stop().await;
}

#[tokio::test]
async fn the_audit_finds_planted_drift_and_repairs_it() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = post(&t, &ann, "산책").await;
    assert_eq!(t.call(Method::PUT, &format!("/posts/{p}/like"), None, Some(&bob.access)).await.status / 100, 2);
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await.status / 100,
        2
    );
    let room = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&ann.access)).await;
    let room = room.body["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        let m = json!({"clientMessageId": format!("c-{i}"), "content": "안녕하세요!"});
        assert_eq!(t.post(&format!("/chat/rooms/{room}/messages"), m, Some(&ann.access)).await.status, 201);
    }
    t.settle().await;
    assert!(drift(&t).await.is_empty());
    // Three counters knocked off their facts.
    let table = &t.stack.ctx.table;
    let set = |key: shared::table::Key, attr: &str, v: i64| {
        shared::table::Write::update(key, "SET #a = :v").name("#a", attr).value(":v", shared::table::n(v))
    };
    table.write(set(shared::table::Key::new(format!("POST#{p}"), "POST"), "likeCount", 5)).await.unwrap();
    table.write(set(shared::keys::user_key(&ann.user_id), "followerCount", 9)).await.unwrap();
    table.write(set(shared::table::Key::new(format!("ROOM#{room}"), "ROOM"), "count", 7)).await.unwrap();
    let found = drift(&t).await;
    let mut what: Vec<(String, i64, i64)> = found.iter().map(|d| (d.counter.clone(), d.stored, d.actual)).collect();
    what.sort();
    assert_eq!(
        what,
        vec![
            ("followerCount of a user".to_string(), 9, 1),
            ("likeCount of a post".to_string(), 5, 1),
            ("message count of a room".to_string(), 7, 3)
        ]
    );
    let repaired = local_stack::catalog::audit_all(&t.stack.ctx, true).await.unwrap();
    assert_eq!(repaired.iter().flat_map(|(_, r)| &r.drift).filter(|d| d.repaired).count(), 3);
    assert!(drift(&t).await.is_empty());
    assert_eq!(t.get(&format!("/posts/{p}")).await.body["likeCount"], 1);
    // The scheduled job reports the same way.
    let job = t.post("/_local/jobs/diary-audit-counters/run", json!({}), None).await;
    assert_eq!(job.body["result"]["drift"].as_array().map(Vec::len), Some(0), "{:?}", job.body);
    t.stop().await;
}

#[tokio::test]
async fn every_write_has_a_per_user_limit_per_route_with_retry_after() {
    let mut opts = StackOptions::ephemeral();
    opts.env.insert("WRITE_RATE_LIMIT_PER_MINUTE".into(), "3".into());
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    // The three posts and the refused fourth in one minute's window.
    integration_tests::in_one_minute_window(15).await;
    for i in 0..3 {
        post(&t, &ann, &format!("산책 {i}")).await;
    }
    let r = t.post("/posts", json!({"title": "x", "content": "y"}), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (429, Some("RATE_LIMITED")), "{:?}", r.body);
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait));
    // Another route, and another user, are not held back; reads never are.
    let p = post(&t, &bob, "bob").await;
    assert_eq!(t.call(Method::PUT, &format!("/posts/{p}/like"), None, Some(&ann.access)).await.status / 100, 2);
    for _ in 0..5 {
        assert_eq!(t.call(Method::GET, "/users/me", None, Some(&ann.access)).await.status, 200);
    }
    // A like counts in its own transaction: a refused like (a post that is not there) is not
    // counted, and the like past the limit changes nothing.
    let missing = t.call(Method::PUT, "/posts/01JD3K4Q5R6S7T8V9W0XYZABCD/like", None, Some(&ann.access)).await;
    assert_eq!(missing.status, 404);
    let more = [post(&t, &bob, "bob 2").await, post(&t, &bob, "bob 3").await];
    for p in &more {
        assert_eq!(t.call(Method::PUT, &format!("/posts/{p}/like"), None, Some(&ann.access)).await.status / 100, 2);
    }
    let cat = t.user("cat@example.com", "cat", PW).await;
    let last = post(&t, &cat, "cat").await;
    let over = t.call(Method::PUT, &format!("/posts/{last}/like"), None, Some(&ann.access)).await;
    assert_eq!((over.status, over.body["code"].as_str()), (429, Some("RATE_LIMITED")), "{:?}", over.body);
    assert!(over.header("retry-after").is_some());
    let seen = t.call(Method::GET, &format!("/posts/{last}"), None, Some(&ann.access)).await;
    assert_eq!(
        (seen.body["likeCount"].as_i64(), seen.body["likedByMe"].as_bool()),
        (Some(0), Some(false)),
        "{:?}",
        seen.body
    );
    // A write that changes nothing in the table (an upload's signed URL) still counts.
    let upload = json!({"purpose": "profile", "contentType": "image/png", "contentLength": 100});
    for _ in 0..3 {
        assert_eq!(t.post("/uploads", upload.clone(), Some(&cat.access)).await.status / 100, 2);
    }
    let over = t.post("/uploads", upload, Some(&cat.access)).await;
    assert_eq!((over.status, over.body["code"].as_str()), (429, Some("RATE_LIMITED")), "{:?}", over.body);
    assert!(over.body["uploadUrl"].is_null());
    t.stop().await;
}

#[tokio::test]
async fn mail_and_messages_wait_out_a_failing_ses_and_sqs_and_arrive_once() {
    let t = quick_retries().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    // SES refuses the next four sends (the SDK's three tries, then one more): the mail worker's
    // message comes back and the code arrives once.
    fault(&t, json!({"service": "ses", "error": "ServiceUnavailable", "times": 4})).await;
    t.sign_up("bob@example.com", "bob", PW).await;
    let mail = t
        .eventually(Duration::from_secs(20), "the verification mail", || async {
            let m = t.mail_to("bob@example.com").await;
            (!m.is_empty()).then_some(m)
        })
        .await;
    assert_eq!(mail.len(), 1);
    let rules = t.get("/_local/faults").await.body;
    assert_eq!(rules["rules"][0]["fired"], 4, "{rules:?}");
    clear_faults(&t).await;
    // SQS refuses the relay's next sends: the outbox keeps the message until it is taken.
    fault(&t, json!({"service": "sqs", "operation": "SendMessage", "error": "InternalError", "times": 6})).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&cat.access)).await.status / 100,
        2
    );
    let note = t
        .eventually(Duration::from_secs(20), "the follow notification", || async {
            let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
            r.body["items"].as_array().and_then(|a| a.iter().find(|n| n["type"] == "FOLLOW").cloned())
        })
        .await;
    assert_eq!(note["actor"]["nickname"], "cat");
    assert!(t.get("/_local/faults").await.body["rules"][0]["fired"].as_u64().unwrap() >= 1);
    clear_faults(&t).await;
    t.settle().await;
    let inbox = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
    assert_eq!(inbox.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "FOLLOW").count(), 1, "once");
    t.stop().await;
}

#[tokio::test]
async fn a_failing_provider_is_a_503_and_a_lost_answer_is_replayed_by_its_key() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    // Google's token endpoint fails: 503, nothing half made; once it is back, sign-in works.
    let cb = "https://app.example.com/oauth/google";
    let code = t.provider_code("google", "gina@gmail.com", "Gina", cb).await;
    fault(&t, json!({"service": "google", "operation": "/token", "error": "ServerError"})).await;
    let r = t.post("/auth/oauth/google", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("PROVIDER_UNAVAILABLE")), "{:?}", r.body);
    assert!(r.header("retry-after").is_some());
    clear_faults(&t).await;
    let r = t.post("/auth/oauth/google", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    // Kakao's token endpoint does not answer at all: the client gives up in time, 503.
    let kb = "https://app.example.com/oauth/kakao";
    let code = t.provider_code("kakao", "kim@kakao.com", "김", kb).await;
    fault(&t, json!({"service": "kakao", "operation": "/oauth/token", "error": "Timeout", "times": 1})).await;
    let started = std::time::Instant::now();
    let r = t.post("/auth/oauth/kakao", json!({"code": code, "redirectUri": kb}), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (503, Some("PROVIDER_UNAVAILABLE")), "{:?}", r.body);
    assert!(started.elapsed() < Duration::from_secs(14), "the client's own timeout, not the provider's silence");

    // The function creating a post commits, then its answer is lost (API Gateway says 502). The
    // client sends the same request with the same key: it gets the first answer, and there is
    // one post.
    fault(&t, json!({"service": "lambda", "operation": "POST /posts", "error": "CrashAfterCommit", "times": 1})).await;
    let send = || {
        t.send(
            t.http
                .post(t.url("/posts"))
                .bearer_auth(&ann.access)
                .header("Idempotency-Key", "post-1")
                .json(&json!({"title": "산책", "content": "한강"})),
        )
    };
    let lost = send().await;
    assert_eq!(lost.status, 502);
    let again = send().await;
    assert_eq!(again.status, 201, "{:?}", again.body);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let mine = t.get(&format!("/users/{}/posts", ann.user_id)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1, "one post");
    clear_faults(&t).await;
    t.stop().await;
}

/// A post's like count comes from the table's stream, one move per batch: batches delivered
/// again (the consumer's answer lost) count nothing twice, and likes on the same post never
/// write the post in the request.
#[tokio::test]
async fn like_counts_from_the_stream_count_each_like_once_though_batches_come_again() {
    let t = TestStack::start().await;
    let author = t.user("author@example.com", "author", PW).await;
    let p = post(&t, &author, "hot").await;
    let mut fans = Vec::new();
    for i in 0..12 {
        fans.push(t.user(&format!("fan{i}@example.com"), &format!("fan{i}"), PW).await);
    }
    t.settle().await;
    let version = || async {
        let item = t.stack.ctx.table.get_item(&shared::table::Key::new(format!("POST#{p}"), "POST")).await.unwrap();
        item.unwrap().get("likeCountCountedTo").cloned()
    };
    assert_eq!(version().await, None, "no like counted yet");
    t.stack.streams.lose_next_results(6);
    let path = format!("/posts/{p}/like");
    let likes = fans.iter().map(|f| t.call(Method::PUT, &path, None, Some(&f.access)));
    assert!(futures::future::join_all(likes).await.iter().all(|r| r.status == 200));
    for f in &fans[..4] {
        assert_eq!(t.call(Method::DELETE, &path, None, Some(&f.access)).await.status, 200);
    }
    t.settle().await;
    assert_eq!(t.get(&format!("/posts/{p}")).await.body["likeCount"], 8);
    assert!(version().await.is_some(), "the post keeps where its count got to");
    assert!(drift(&t).await.is_empty());
    t.stop().await;
}
