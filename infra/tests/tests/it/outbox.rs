//! The transactional outbox: messages committed with their facts reach their queues through the
//! table's stream, exactly once in effect, even when the relay is down or dies after sending.

use std::sync::atomic::Ordering;
use std::time::Duration;

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn notifications(t: &TestStack, who: &Session) -> Vec<Value> {
    let r = t.call(Method::GET, "/notifications", None, Some(&who.access)).await;
    r.body["items"].as_array().cloned().unwrap_or_default()
}

fn feed_ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

/// Pauses the stream mapping and waits until it has seen the pause: nothing committed after
/// this returns is relayed until it resumes.
async fn stop_the_relay(t: &TestStack) {
    t.stack.streams.pause();
    t.eventually(Duration::from_secs(5), "the relay to stop", || async { t.stack.streams.stopped().then_some(()) })
        .await;
}

#[tokio::test]
async fn a_relay_killed_between_commit_and_delivery_still_delivers_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let r = t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    t.eventually(Duration::from_secs(10), "the follow notification", || async {
        (notifications(&t, &ann).await.len() == 1).then_some(())
    })
    .await;

    // The relay is down: the post and its comment commit, their messages wait in the stream.
    stop_the_relay(&t).await;
    let post = t.post("/posts", json!({"content": "산책 다녀왔어요"}), Some(&ann.access)).await;
    assert_eq!(post.status, 201);
    let post_id = post.body["id"].as_str().unwrap().to_string();
    let r = t.post(&format!("/posts/{post_id}/comments"), json!({"content": "좋아요!"}), Some(&bob.access)).await;
    assert_eq!(r.status, 201);
    let bobs_feed = t.call(Method::GET, "/feed", None, Some(&bob.access)).await.body;
    assert!(!feed_ids(&bobs_feed).contains(&post_id), "nothing is relayed while the relay is down");
    assert_eq!(notifications(&t, &ann).await.len(), 1);

    // It comes back and dies after sending, before reporting: the batch is delivered again.
    let delivered_before = t.stack.streams.records_delivered.load(Ordering::SeqCst);
    t.stack.streams.lose_next_results(1);
    t.stack.streams.resume();
    t.eventually(Duration::from_secs(10), "the post in the follower's feed", || async {
        let feed = t.call(Method::GET, "/feed", None, Some(&bob.access)).await.body;
        feed_ids(&feed).contains(&post_id).then_some(())
    })
    .await;
    t.eventually(Duration::from_secs(10), "the comment notification", || async {
        (notifications(&t, &ann).await.len() == 2).then_some(())
    })
    .await;
    let invocations = t.stack.streams.records_delivered.load(Ordering::SeqCst) - delivered_before;
    assert!(invocations >= 2 * 3, "the batch was delivered twice ({invocations} records)");
    // Once in effect: one feed entry, one comment notification, however often it was relayed.
    t.settle().await;
    let feed = t.call(Method::GET, "/feed", None, Some(&bob.access)).await.body;
    assert_eq!(feed_ids(&feed).iter().filter(|id| **id == post_id).count(), 1);
    let kinds: Vec<String> =
        notifications(&t, &ann).await.iter().map(|n| n["type"].as_str().unwrap_or_default().to_string()).collect();
    assert_eq!(kinds, vec!["COMMENT".to_string(), "FOLLOW".to_string()]);
    t.stop().await;
}

#[tokio::test]
async fn a_notification_email_survives_a_failing_mail_queue() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let mut settings = t.call(Method::GET, "/notifications/settings", None, Some(&ann.access)).await.body;
    settings["email"]["like"] = json!(true);
    assert_eq!(t.call(Method::PUT, "/notifications/settings", Some(settings), Some(&ann.access)).await.status, 200);
    let post = t.post("/posts", json!({"content": "좋아요 눌러주세요"}), Some(&ann.access)).await;
    let post_id = post.body["id"].as_str().unwrap().to_string();
    let mails_before = t.mail_to("ann@example.com").await.len();

    // Every send to the mail queue fails for a while (the SDK's own retries included).
    t.stack.queues.fail_next_sends("mail", 12);
    let r = t.call(Method::PUT, &format!("/posts/{post_id}/like"), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    t.eventually(Duration::from_secs(10), "the like notification", || async {
        (notifications(&t, &ann).await.len() == 1).then_some(())
    })
    .await;
    let mails = t
        .eventually(Duration::from_secs(20), "the like email", || async {
            let mails = t.mail_to("ann@example.com").await;
            (mails.len() > mails_before).then_some(mails)
        })
        .await;
    assert!(mails[0]["subject"].as_str().unwrap().contains("좋아요"), "{:?}", mails[0]);
    t.settle().await;
    assert_eq!(t.mail_to("ann@example.com").await.len(), mails_before + 1, "sent once");
    t.stop().await;
}

#[tokio::test]
async fn the_index_follows_posts_whatever_order_the_messages_come_in() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let search = |q: &'static str| {
        let t = &t;
        async move {
            let r = t.send(t.http.get(t.url("/search/posts")).query(&[("q", q)])).await;
            feed_ids(&r.body)
        }
    };
    // Created and edited while the relay is down, then the messages come (twice): the index
    // holds the post as it is now, once.
    stop_the_relay(&t).await;
    let post = t.post("/posts", json!({"content": "한강 산책 #산책"}), Some(&ann.access)).await.body;
    let id = post["id"].as_str().unwrap().to_string();
    let r = t
        .call(Method::PATCH, &format!("/posts/{id}"), Some(json!({"content": "공원 나들이 #공원"})), Some(&ann.access))
        .await;
    assert_eq!(r.status, 200);
    t.stack.streams.lose_next_results(1);
    t.stack.streams.resume();
    t.settle().await;
    assert!(search("산책").await.is_empty());
    assert_eq!(search("나들이").await, vec![id.clone()]);
    assert_eq!(t.post("/_local/jobs/trending-hashtags/run", json!({}), None).await.status, 200);
    let tags = t.get("/hashtags/trending").await.body["tags"].clone();
    assert_eq!(tags, json!([{"tag": "공원", "count": 1}]), "counted once, for the post as it is");
    // Deleted: out of the index and the counts.
    assert_eq!(t.call(Method::DELETE, &format!("/posts/{id}"), None, Some(&ann.access)).await.status, 204);
    t.settle().await;
    assert_eq!(t.post("/_local/jobs/trending-hashtags/run", json!({}), None).await.status, 200);
    assert_eq!(t.get("/hashtags/trending").await.body["tags"], json!([]));
    t.stop().await;
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_creates_nothing_new() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let create = |key: &'static str, content: &'static str| {
        let (t, token) = (&t, ann.access.clone());
        async move {
            t.send(
                t.http
                    .post(t.url("/posts"))
                    .bearer_auth(token)
                    .header("idempotency-key", key)
                    .json(&json!({"content": content})),
            )
            .await
        }
    };
    let first = create("post-1", "한 번만 올라가요").await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let again = create("post-1", "한 번만 올라가요").await;
    assert_eq!((again.status, &again.body), (201, &first.body), "the first answer, again");
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    let other_body = create("post-1", "다른 글").await;
    assert_eq!((other_body.status, other_body.body["code"].as_str()), (422, Some("IDEMPOTENCY_KEY_REUSED")));
    // The same key on another resource is another request too: refused, never that
    // resource's answer replayed.
    let p1 = first.body["id"].as_str().unwrap().to_string();
    let on = |path: String| {
        let (t, token) = (&t, ann.access.clone());
        async move {
            t.send(
                t.http
                    .post(t.url(&path))
                    .bearer_auth(token)
                    .header("idempotency-key", "c-1")
                    .json(&json!({"content": "댓글"})),
            )
            .await
        }
    };
    let p2 = t.post("/posts", json!({"content": "두 번째 글"}), Some(&ann.access)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c1 = on(format!("/posts/{p1}/comments")).await;
    assert_eq!(c1.status, 201, "{:?}", c1.body);
    let c2 = on(format!("/posts/{p2}/comments")).await;
    assert_eq!((c2.status, c2.body["code"].as_str()), (422, Some("IDEMPOTENCY_KEY_REUSED")), "{:?}", c2.body);
    let comments = t.get(&format!("/posts/{p2}/comments")).await.body;
    assert!(comments["items"].as_array().unwrap().is_empty(), "nothing made on the other post: {comments}");

    // Ten at once with one key: one post; the others get it again or are told to retry.
    let replies = futures::future::join_all((0..10).map(|_| create("post-2", "동시에 열 번"))).await;
    let created: std::collections::BTreeSet<String> =
        replies.iter().filter(|r| r.status == 201).map(|r| r.body["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(created.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 201 || (r.status == 409 && r.body["code"] == "IDEMPOTENCY_KEY_IN_USE")));
    let mine = t.get(&format!("/users/{}/posts", ann.user_id)).await.body;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3, "two posts for two keys, and one without");
    // Keys are the caller's own: another user's same key is another request.
    let bob = t.user("bob@example.com", "bob", PW).await;
    let r = t
        .send(
            t.http
                .post(t.url("/posts"))
                .bearer_auth(&bob.access)
                .header("idempotency-key", "post-1")
                .json(&json!({"content": "한 번만 올라가요"})),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_ne!(r.body["id"], first.body["id"]);
    let doc = t.get("/openapi.json").await.body;
    let params = doc["paths"]["/posts"]["post"]["parameters"].as_array().unwrap();
    assert!(params.iter().any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"), "documented");
    t.stop().await;
}

#[tokio::test]
async fn answers_that_hold_tokens_are_never_stored_for_a_key() {
    let t = TestStack::start().await;
    t.user("ann@example.com", "ann", PW).await;
    let login = || {
        let t = &t;
        async move {
            t.send(
                t.http
                    .post(t.url("/auth/login"))
                    .header("idempotency-key", "same")
                    .json(&json!({"email": "ann@example.com", "password": PW})),
            )
            .await
        }
    };
    let (a, b) = (login().await, login().await);
    assert_eq!((a.status, b.status), (200, 200));
    assert_ne!(a.body["refreshToken"], b.body["refreshToken"], "each sign-in is its own session");
    assert_eq!(b.header("idempotent-replayed"), None);
    t.stop().await;
}

#[tokio::test]
async fn a_message_that_can_never_succeed_goes_to_the_dead_letter_queue_at_once() {
    let t = TestStack::start().await;
    let ctx = &t.stack.ctx;
    let url = ctx.config.queue_url(&diary_contract::FEED).to_string();
    ctx.sqs.send_message().queue_url(&url).message_body("{not json").send().await.unwrap();
    // The feed queue redelivers after 60 s and dead-letters after 5 receives: arriving within
    // seconds shows it was refused on the first delivery.
    t.eventually(Duration::from_secs(10), "the dead letter", || async {
        (t.stack.queues.depth("feed-dlq") == Some((1, 0))).then_some(())
    })
    .await;
    let dlq = ctx.config.dlq_url(&diary_contract::FEED).to_string();
    let got = ctx.sqs.receive_message().queue_url(&dlq).message_attribute_names("All").send().await.unwrap();
    let m = &got.messages()[0];
    assert_eq!(m.body(), Some("{not json"));
    t.settle().await;
    assert_eq!(t.stack.queues.depth("feed"), Some((0, 0)), "gone from the source queue");
    t.stop().await;
}
