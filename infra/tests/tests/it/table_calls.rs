//! What a request costs in DynamoDB calls must not grow with what is on the page: a list of one
//! item by one person and a list of many by many people cost the same number of calls. (The
//! post list, the feed, the room list and the nearby search have their own such tests.)

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::json;

const PW: &str = "walks4ever";

/// A post's detail for a signed-in reader: the session (with whom the reader does not see, and
/// the post, which the route reads with it), and one batch of its author, its pet and the
/// reader's like.
const DETAIL_CALLS: u64 = 2;
/// The post list for a signed-in reader: the session, the page, and one batch of the authors,
/// their pets and the reader's likes.
const LIST_CALLS: u64 = 3;

async fn calls(t: &TestStack, path: &str, who: &Session) -> (u64, usize) {
    // Workers share the counter with requests: let them finish first.
    t.settle().await;
    let before = t.stack.ctx.dynamodb_calls.get();
    let r = t.call(Method::GET, path, None, Some(&who.access)).await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    (t.stack.ctx.dynamodb_calls.get() - before, r.body["items"].as_array().map_or(0, Vec::len))
}

/// Everything `who` does to `owner` and `post`: a comment, a like, a follow and a community post.
async fn engage(t: &TestStack, who: &Session, owner: &Session, post: &str, n: usize) {
    let ok = |s: u16| assert!((200..300).contains(&s), "{s}");
    ok(t.post(&format!("/posts/{post}/comments"), json!({"content": format!("comment {n}")}), Some(&who.access))
        .await
        .status);
    ok(t.call(Method::PUT, &format!("/posts/{post}/like"), None, Some(&who.access)).await.status);
    ok(t.call(Method::PUT, &format!("/users/{}/follow", owner.user_id), None, Some(&who.access)).await.status);
    ok(t.post(
        "/community/posts",
        json!({"type": "QUESTION", "title": format!("t{n}"), "content": "c"}),
        Some(&who.access),
    )
    .await
    .status);
}

#[tokio::test]
async fn lists_cost_the_same_calls_for_one_person_as_for_many() {
    let t = TestStack::start().await;
    let owner = t.user("owner@example.com", "owner", PW).await;
    let viewer = t.user("viewer@example.com", "viewer", PW).await;
    let post = t.post("/posts", json!({"content": "산책했어요"}), Some(&owner.access)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = t.user("first@example.com", "first", PW).await;
    engage(&t, &first, &owner, &post, 0).await;

    let lists = [
        (format!("/posts/{post}/comments?limit=50"), &viewer),
        (format!("/posts/{post}/likes?limit=50"), &viewer),
        (format!("/users/{}/followers?limit=50", owner.user_id), &viewer),
        ("/notifications?limit=50".to_string(), &owner),
        ("/community/posts?limit=50".to_string(), &viewer),
    ];
    let mut small = Vec::new();
    for (path, who) in &lists {
        small.push(calls(&t, path, who).await);
    }

    for n in 1..=12 {
        let who = t.user(&format!("fan{n}@example.com"), &format!("fan{n}"), PW).await;
        engage(&t, &who, &owner, &post, n).await;
    }
    for ((path, who), (one_calls, one_items)) in lists.iter().zip(small) {
        let (many_calls, many_items) = calls(&t, path, who).await;
        println!("{path}: {one_calls} calls for {one_items} items, {many_calls} for {many_items} by 13 people");
        assert!(many_items > one_items, "{path}: the list grew ({one_items} → {many_items})");
        assert_eq!(one_calls, many_calls, "{path}: calls grew with the page");
    }
    t.stop().await;
}

#[tokio::test]
async fn a_like_is_two_calls_says_the_count_and_stops_at_a_block() {
    let t = TestStack::start().await;
    let owner = t.user("owner@example.com", "owner", PW).await;
    let fans = [t.user("a@example.com", "fana", PW).await, t.user("b@example.com", "fanb", PW).await];
    let post =
        t.post("/posts", json!({"content": "hi"}), Some(&owner.access)).await.body["id"].as_str().unwrap().to_string();
    // The request's own calls, from the stack's ledger: the workers a like sets off count apart.
    let like_calls = || {
        let ledger = t.stack.ctx.call_ledger.as_ref().expect("the local stack keeps a ledger").snapshot();
        ledger.get("PUT /posts/{id}/like").map_or(0, |e| e.time.calls)
    };
    for (i, fan) in fans.iter().enumerate() {
        let before = like_calls();
        let r = t.call(Method::PUT, &format!("/posts/{post}/like"), None, Some(&fan.access)).await;
        let calls = like_calls() - before;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, json!({"liked": true, "likeCount": i + 1}));
        assert_eq!(
            calls, 2,
            "the session with the post, one transaction with the block checks and the write-rate counter"
        );
        // The post's count follows from the stream; once it has, a like again changes nothing.
        t.settle().await;
        let again = t.call(Method::PUT, &format!("/posts/{post}/like"), None, Some(&fan.access)).await;
        assert_eq!(again.body, json!({"liked": true, "likeCount": i + 1}));
    }
    let r = t.call(Method::DELETE, &format!("/posts/{post}/like"), None, Some(&fans[0].access)).await;
    assert_eq!(r.body, json!({"liked": false, "likeCount": 1}));
    t.settle().await;
    let r = t.call(Method::DELETE, &format!("/posts/{post}/like"), None, Some(&fans[0].access)).await;
    assert_eq!(r.body, json!({"liked": false, "likeCount": 1}));
    assert_eq!(t.get(&format!("/posts/{post}")).await.body["likeCount"], 1);

    // The block checks ride in the transaction: across a block, either way, a like or an unlike
    // is a 404 and changes nothing.
    let blocked = t.call(Method::PUT, &format!("/users/{}/block", fans[0].user_id), None, Some(&owner.access)).await;
    assert_eq!(blocked.status, 200);
    let r = t.call(Method::PUT, &format!("/users/{}/block", owner.user_id), None, Some(&fans[1].access)).await;
    assert_eq!(r.status, 200);
    for fan in &fans {
        for method in [Method::PUT, Method::DELETE] {
            let r = t.call(method.clone(), &format!("/posts/{post}/like"), None, Some(&fan.access)).await;
            assert_eq!((r.status, r.body["code"].as_str()), (404, Some("POST_NOT_FOUND")), "{method} by a blocked fan");
        }
    }
    t.settle().await;
    assert_eq!(t.get(&format!("/posts/{post}")).await.body["likeCount"], 1, "the remaining like stays");
    t.stop().await;
}

/// A comment is two calls: the session read brings the post and the author's account, then one
/// transaction holds the block checks and the write-rate counter. Across a block nothing is written: the post is hidden
/// (404) from someone its author blocks; a reply to, or a mention of, someone on the other side
/// of a block is refused (403) — on the diary and on the community board.
#[tokio::test]
async fn a_comment_is_two_calls_and_stops_at_a_block() {
    let t = TestStack::start().await;
    let owner = t.user("owner@example.com", "owner", PW).await;
    let carol = t.user("carol@example.com", "carol", PW).await;
    let fan = t.user("fan@example.com", "fan", PW).await;
    let post =
        t.post("/posts", json!({"content": "hi"}), Some(&owner.access)).await.body["id"].as_str().unwrap().to_string();
    let board = t
        .post("/community/posts", json!({"type": "QUESTION", "title": "t", "content": "c"}), Some(&owner.access))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut carols = Vec::new();
    for (path, route) in [
        (format!("/posts/{post}/comments"), "POST /posts/{id}/comments"),
        (format!("/community/posts/{board}/comments"), "POST /community/posts/{id}/comments"),
    ] {
        let r = t.post(&path, json!({"content": "carol was here"}), Some(&carol.access)).await;
        assert_eq!(r.status, 201, "{path}: {:?}", r.body);
        // The request's own calls, from the stack's ledger (workers that the comment sets off
        // count apart there).
        let ledger = t.stack.ctx.call_ledger.as_ref().expect("the local stack keeps a ledger").snapshot();
        let entry = &ledger[route];
        assert_eq!(entry.successes, 1, "{route}");
        assert_eq!(
            entry.max, 2,
            "{route}: the session with the post and the author's account, one transaction (with the write-rate counter); made {:?}",
            entry.costliest.by_operation
        );
        carols.push(r.body["id"].as_str().unwrap().to_string());
    }

    // Carol blocks the fan: the fan may neither reply to her nor mention her.
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", fan.user_id), None, Some(&carol.access)).await.status,
        200
    );
    let refused = [
        (format!("/posts/{post}/comments"), json!({"content": "re", "parentId": carols[0]})),
        (format!("/posts/{post}/comments"), json!({"content": "@carol", "mentionUserId": carol.user_id})),
        (format!("/community/posts/{board}/comments"), json!({"content": "re", "parentId": carols[1]})),
    ];
    for (path, body) in &refused {
        let r = t.post(path, body.clone(), Some(&fan.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("USER_BLOCKED")), "{path} {body}");
    }
    // The owner blocks the fan: the owner's posts are gone for the fan.
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", fan.user_id), None, Some(&owner.access)).await.status,
        200
    );
    for path in [format!("/posts/{post}/comments"), format!("/community/posts/{board}/comments")] {
        let r = t.post(&path, json!({"content": "hello?"}), Some(&fan.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("POST_NOT_FOUND")), "{path}");
    }
    // Nothing was written: each post still has carol's comment alone.
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/posts/{post}")).await.body["commentCount"], 1);
    assert_eq!(t.get(&format!("/community/posts/{board}")).await.body["commentCount"], 1);
    for (path, carol_s) in
        [(format!("/posts/{post}/comments"), &carols[0]), (format!("/community/posts/{board}/comments"), &carols[1])]
    {
        let listed = t.get(&path).await.body;
        let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec![carol_s.as_str()], "{path}");
    }
    t.stop().await;
}

/// Whom the caller does not see comes with the session (one batch read of account, session and
/// hidden-people item): reading someone's post, or a list, costs no block lookup of its own —
/// the same calls before and after the caller blocks someone, and the blocked author is hidden.
#[tokio::test]
async fn a_signed_in_read_learns_whom_its_caller_does_not_see_with_the_session() {
    let t = TestStack::start().await;
    let viewer = t.user("viewer@example.com", "viewer", PW).await;
    let author = t.user("author@example.com", "author", PW).await;
    let other = t.user("other@example.com", "other", PW).await;
    let post =
        t.post("/posts", json!({"content": "hi"}), Some(&author.access)).await.body["id"].as_str().unwrap().to_string();
    t.post("/posts", json!({"content": "hidden soon"}), Some(&other.access)).await;
    t.indexed().await; // the list of every post is an index
    let detail = format!("/posts/{post}");
    let before = [calls(&t, &detail, &viewer).await, calls(&t, "/posts?limit=20", &viewer).await];
    let blocked = t.call(Method::PUT, &format!("/users/{}/block", other.user_id), None, Some(&viewer.access)).await;
    assert_eq!(blocked.status, 200);
    let after = [calls(&t, &detail, &viewer).await, calls(&t, "/posts?limit=20", &viewer).await];
    println!("detail and list calls before the block {before:?}, after {after:?}");
    assert_eq!((before[1].1, after[1].1), (2, 1), "the blocked author's post is left out");
    assert_eq!((before[0].0, before[1].0), (DETAIL_CALLS, LIST_CALLS));
    assert_eq!((after[0].0, after[1].0), (DETAIL_CALLS, LIST_CALLS), "no block lookup of their own");
    t.stop().await;
}

/// A post: the session, one transaction (the post with its counters, the feed entry, the
/// search indexing message, the write-rate counter and the hourly posting limit), and the
/// answer's batch read. Only posts made count toward the 30 an hour.
#[tokio::test]
async fn a_post_is_three_calls_and_only_posts_made_count_toward_the_hourly_limit() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let refused = t.post("/posts", json!({"content": "x", "mediaKeys": ["not-an-upload"]}), Some(&ann.access)).await;
    assert_eq!(refused.status / 100, 4, "{:?}", refused.body);
    for i in 0..30 {
        let r = t.post("/posts", json!({"content": format!("산책 {i}")}), Some(&ann.access)).await;
        assert_eq!(r.status, 201, "post {i}: {:?}", r.body);
    }
    // Each request's own calls, from the stack's ledger (the workers a post sets off count
    // apart there).
    let ledger = t.stack.ctx.call_ledger.as_ref().expect("the local stack keeps a ledger").snapshot();
    let entry = &ledger["POST /posts"];
    assert_eq!(entry.successes, 30);
    assert_eq!(
        (entry.min, entry.max),
        (3, 3),
        "session, transaction, the answer's batch read; made {:?}",
        entry.costliest.by_operation
    );
    let over = t.post("/posts", json!({"content": "one too many"}), Some(&ann.access)).await;
    assert_eq!((over.status, over.body["code"].as_str()), (429, Some("RATE_LIMITED")), "{:?}", over.body);
    assert!(over.header("retry-after").is_some());
    let mine = t.get(&format!("/users/{}/posts?limit=50", ann.user_id)).await.body;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(30), "the refused posts left nothing");
    t.stop().await;
}
