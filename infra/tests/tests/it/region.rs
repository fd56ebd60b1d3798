//! DynamoDB as it behaves in a region: indexes that lag behind the table, transactions that
//! conflict with writes on the same items, batches left partly undone, and a stream whose
//! failure destination learns only where a record was. The product reads its own writes where
//! a person expects to, never answers 500 for a conflict, finishes or cleanly retries every
//! batch, and loses no outbox message.

use std::time::{Duration, Instant};

use integration_tests::{Session, TestStack};
use local_stack::StackOptions;
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

/// A stack whose indexes show a write only `lag` after it commits.
async fn lagging(lag: Duration) -> TestStack {
    let mut opts = StackOptions::ephemeral();
    opts.index_lag = Some(lag);
    opts.visibility_timeout = Some(Duration::from_secs(1));
    TestStack::start_with(opts).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["id"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

async fn fault(t: &TestStack, rule: Value) {
    let r = t.post("/_local/faults", rule, None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn clear_faults(t: &TestStack) {
    assert_eq!(t.call(Method::DELETE, "/_local/faults", None, None).await.status, 204);
}

async fn post(t: &TestStack, who: &Session, content: &str) -> String {
    let r = t.post("/posts", json!({"content": content}), Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn pet(t: &TestStack, who: &Session, name: &str) -> String {
    let r =
        t.post("/pets", json!({"name": name, "speciesId": "dog-maltese", "gender": "FEMALE"}), Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn index_lag_is_a_switch_of_the_fault_api_and_only_index_queries_lag() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    for bad in [
        json!({"service": "dynamodb", "error": "IndexLag"}),
        json!({"service": "dynamodb", "error": "IndexLag", "lagMs": 600_000}),
        json!({"service": "dynamodb", "error": "ThrottlingException", "lagMs": 10}),
    ] {
        assert_eq!(t.post("/_local/faults", bad, None).await.status, 400);
    }
    fault(&t, json!({"service": "dynamodb", "error": "IndexLag", "lagMs": 1500})).await;
    assert_eq!(t.get("/_local/faults").await.body["indexLagMs"], 1500);
    let before = post(&t, &ann, "스위치 전에 쓴 글").await;
    t.indexed().await;

    let written = Instant::now();
    let id = post(&t, &ann, "인덱스는 늦게 알아요").await;
    // The table has it at once; the index of every post does not, for about the lag.
    assert_eq!(t.call(Method::GET, &format!("/posts/{id}"), None, Some(&ann.access)).await.status, 200);
    let all = t.call(Method::GET, "/posts", None, Some(&ann.access)).await.body;
    assert!(ids(&all).contains(&before), "what the index had before is there: {all}");
    assert!(!ids(&all).contains(&id), "a post a moment old is not in the index yet");
    t.eventually(Duration::from_secs(5), "the post in the index", || async {
        let all = t.call(Method::GET, "/posts", None, Some(&ann.access)).await.body;
        ids(&all).contains(&id).then_some(())
    })
    .await;
    assert!(written.elapsed() >= Duration::from_millis(1400), "it took the lag ({:?})", written.elapsed());

    // Cleared: the indexes are current again.
    clear_faults(&t).await;
    assert_eq!(t.get("/_local/faults").await.body["indexLagMs"], Value::Null);
    let now = post(&t, &ann, "바로 보여요").await;
    assert!(ids(&t.call(Method::GET, "/posts", None, Some(&ann.access)).await.body).contains(&now));
    t.stop().await;
}

#[tokio::test]
async fn what_a_person_just_made_is_in_their_own_lists_at_once() {
    let t = lagging(Duration::from_secs(3)).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    let bori = pet(&t, &ann, "보리").await;
    let mine = t.call(Method::GET, "/pets", None, Some(&ann.access)).await.body;
    assert_eq!(ids(&mine), vec![choco.clone(), bori.clone()], "my pets, oldest first: {mine}");
    let p = post(&t, &ann, "방금 쓴 글").await;
    let of_me = t.call(Method::GET, &format!("/users/{}/posts", ann.user_id), None, Some(&ann.access)).await.body;
    assert_eq!(ids(&of_me), vec![p.clone()], "my posts: {of_me}");
    // A visitor sees them as well: the author's list reads the author's own partition.
    let bob = t.user("bob@example.com", "bob", PW).await;
    let seen = t.call(Method::GET, &format!("/users/{}/posts", ann.user_id), None, Some(&bob.access)).await.body;
    assert_eq!(ids(&seen), vec![p.clone()]);
    let pets = t.call(Method::GET, &format!("/users/{}/pets", ann.user_id), None, None).await.body;
    assert_eq!(ids(&pets).len(), 2, "{pets}");
    // And a deleted post leaves them at once.
    assert_eq!(t.call(Method::DELETE, &format!("/posts/{p}"), None, Some(&ann.access)).await.status, 204);
    let of_me = t.call(Method::GET, &format!("/users/{}/posts", ann.user_id), None, Some(&ann.access)).await.body;
    assert!(ids(&of_me).is_empty(), "{of_me}");
    t.stop().await;
}

#[tokio::test]
async fn deleting_the_main_pet_moves_main_to_a_pet_made_a_moment_before() {
    let t = lagging(Duration::from_secs(3)).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    let bori = pet(&t, &ann, "보리").await;
    assert_eq!(t.call(Method::DELETE, &format!("/pets/{choco}"), None, Some(&ann.access)).await.status, 204);
    let mine = t.call(Method::GET, "/pets", None, Some(&ann.access)).await.body;
    let items = mine["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{mine}");
    assert_eq!((items[0]["id"].as_str(), items[0]["isMain"].as_bool()), (Some(bori.as_str()), Some(true)));
    let me = t.call(Method::GET, &format!("/users/{}", ann.user_id), None, None).await.body;
    assert_eq!(me["mainPet"]["id"].as_str(), Some(bori.as_str()), "the profile's main pet: {me}");
    t.stop().await;
}

#[tokio::test]
async fn a_follow_right_after_a_post_brings_that_post_into_the_feed() {
    let t = lagging(Duration::from_secs(3)).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = post(&t, &ann, "팔로우 직전에 쓴 글").await;
    let r = t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    // The backfill runs well within the lag: it must not read the author's posts from the index.
    t.eventually(Duration::from_secs(2), "the post in the new follower's feed", || async {
        let feed = t.call(Method::GET, "/feed", None, Some(&bob.access)).await.body;
        ids(&feed).contains(&p).then_some(())
    })
    .await;
    // An unfollow right after a post takes that post out of the feed's items too.
    let q = post(&t, &ann, "언팔로우 직전에 쓴 글").await;
    t.eventually(Duration::from_secs(3), "the new post fanned out", || async {
        let feed = t.call(Method::GET, "/feed", None, Some(&bob.access)).await.body;
        ids(&feed).contains(&q).then_some(())
    })
    .await;
    let r = t.call(Method::DELETE, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    t.eventually(Duration::from_secs(2), "the feed entries removed", || async {
        let left = t.stack.ctx.table.get_item(&diary::keys::feed_entry_key(&bob.user_id, &q)).await.unwrap();
        left.is_none().then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn sign_in_failures_and_follows_on_one_account_conflict_and_never_answer_500() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut fans = Vec::new();
    for i in 0..12 {
        fans.push(t.user(&format!("fan{i}@example.com"), &format!("fan{i}"), PW).await);
    }
    // Follows change ann's counters in transactions; failed sign-ins count on the same item
    // with single writes. In a region these collide: retried, never a 500.
    let path = format!("/users/{}/follow", ann.user_id);
    let follows = fans.iter().map(|f| t.call(Method::PUT, &path, None, Some(&f.access)));
    let guesses = (0..12).map(|_| t.login("ann@example.com", "wrong-pass1"));
    let (follows, guesses) = tokio::join!(futures::future::join_all(follows), futures::future::join_all(guesses));
    let statuses: Vec<u16> = follows.iter().chain(guesses.iter()).map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert!(follows.iter().all(|r| r.status == 200), "{statuses:?}");
    assert!(guesses.iter().all(|r| r.status == 401 || r.status == 423), "{statuses:?}");
    assert_eq!(guesses.iter().filter(|r| r.status == 401).count(), 5, "five tries, then the lock: {statuses:?}");
    let conflicts = t.get("/_local/faults").await.body["conflicts"].as_u64().unwrap();
    assert!(conflicts > 0, "the writes met in flight");
    let profile = t.call(Method::GET, &format!("/users/{}", ann.user_id), None, None).await.body;
    assert_eq!(profile["followerCount"], 12, "{profile}");
    t.stop().await;
}

#[tokio::test]
async fn a_users_concurrent_writes_on_one_route_share_its_rate_counter_without_a_500() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    // One of these follows writes the follow in a transaction carrying the route's write
    // counter; the others find it there and write the counter alone: the same item, in flight.
    let path = format!("/users/{}/follow", ann.user_id);
    let replies = futures::future::join_all((0..16).map(|_| t.call(Method::PUT, &path, None, Some(&bob.access)))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // The same user's posts at once: each a transaction on the counter, the user item and the
    // day's statistics.
    let posts = futures::future::join_all(
        (0..8).map(|i| t.post("/posts", json!({"content": format!("동시에 쓴 글 {i}")}), Some(&bob.access))),
    )
    .await;
    let statuses: Vec<u16> = posts.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 503), "{statuses:?}");
    let made = statuses.iter().filter(|s| **s == 201).count();
    assert!(made >= 6, "retried through the conflicts: {statuses:?}");
    let profile = t.call(Method::GET, &format!("/users/{}", bob.user_id), None, None).await.body;
    assert_eq!(profile["postCount"], made, "{profile}");
    assert_eq!(profile["followingCount"], 1);
    assert!(t.get("/_local/faults").await.body["conflicts"].as_u64().unwrap() > 0);
    t.stop().await;
}

#[tokio::test]
async fn partial_batches_are_finished_and_a_batch_that_stays_undone_is_retried_never_half_written() {
    let mut opts = StackOptions::ephemeral();
    opts.visibility_timeout = Some(Duration::from_secs(1));
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut fans = Vec::new();
    for i in 0..30 {
        let f = t.user(&format!("fan{i}@example.com"), &format!("fan{i}"), PW).await;
        let r = t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&f.access)).await;
        assert_eq!(r.status, 200);
        fans.push(f);
    }
    t.settle().await;
    // Half of every batch comes back unprocessed: the fan-out to 30 feeds (two batches of
    // writes) and the feed's batch reads still finish.
    fault(&t, json!({"service": "dynamodb", "error": "UnprocessedItems", "share": 0.5})).await;
    let p = post(&t, &ann, "반만 처리되는 배치").await;
    t.eventually(Duration::from_secs(15), "the post in all 30 feeds", || async {
        let mut all = true;
        for f in &fans {
            let key = diary::keys::feed_entry_key(&f.user_id, &p);
            all &= t.stack.ctx.table.get_item(&key).await.unwrap().is_some();
        }
        all.then_some(())
    })
    .await;
    let feed = t.call(Method::GET, "/feed", None, Some(&fans[0].access)).await;
    assert_eq!(feed.status, 200);
    assert_eq!(ids(&feed.body), vec![p.clone()]);
    let fired = t.get("/_local/faults").await.body["rules"][0]["fired"].as_u64().unwrap();
    assert!(fired >= 3, "batches were cut ({fired})");

    // Nothing of a batch is ever processed. The fan-out's message is retried (nothing of it
    // is written meanwhile) until the batches go through again; a request that reads a batch
    // answers 503 with Retry-After.
    clear_faults(&t).await;
    fault(&t, json!({"service": "dynamodb", "operation": "BatchWriteItem", "error": "UnprocessedItems", "share": 1.0}))
        .await;
    let q = post(&t, &ann, "배치가 전혀 안 되는 동안 쓴 글").await;
    // The fan-out ran and gave up at least once (the table layer tries a batch 8 times).
    t.eventually(Duration::from_secs(20), "the fan-out's batches refused", || async {
        let fired = t.get("/_local/faults").await.body["rules"][0]["fired"].as_u64().unwrap_or(0);
        (fired >= 8).then_some(())
    })
    .await;
    let key = diary::keys::feed_entry_key(&fans[0].user_id, &q);
    assert!(t.stack.ctx.table.get_item(&key).await.unwrap().is_none(), "nothing written while no batch goes through");
    fault(&t, json!({"service": "dynamodb", "operation": "BatchGetItem", "error": "UnprocessedItems", "share": 1.0}))
        .await;
    let feed = t.call(Method::GET, "/feed", None, Some(&fans[0].access)).await;
    assert_eq!((feed.status, feed.body["code"].as_str()), (503, Some("BUSY")), "{:?}", feed.body);
    assert!(feed.header("retry-after").is_some());
    clear_faults(&t).await;
    t.eventually(Duration::from_secs(20), "the retried fan-out in all 30 feeds", || async {
        let mut all = true;
        for f in &fans {
            let key = diary::keys::feed_entry_key(&f.user_id, &q);
            all &= t.stack.ctx.table.get_item(&key).await.unwrap().is_some();
        }
        all.then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn an_outbox_message_the_relay_gave_up_on_arrives_once_after_the_queue_is_back() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    t.settle().await;
    let inbox = || async {
        let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
        r.body["items"].as_array().cloned().unwrap_or_default()
    };
    let outbox_dlq = shared::queues::OUTBOX.dlq_name();
    let noted_before = t.stack.queues.bodies(&outbox_dlq).len();

    // The queues refuse every message for long enough that the relay gives up on the follow's.
    fault(&t, json!({"service": "sqs", "operation": "SendMessage", "error": "InternalError"})).await;
    let r = t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    // It gives up on each of the follow's messages (the notification, the feed backfill) and
    // moves past them.
    t.eventually(Duration::from_secs(90), "the relay giving up on every message", || async {
        (t.stack.queues.bodies(&outbox_dlq).len() > noted_before && t.stack.streams.caught_up()).then_some(())
    })
    .await;
    // As in AWS, the failure destination learns where the record was, not what it said.
    let note: Value = serde_json::from_str(t.stack.queues.bodies(&outbox_dlq).last().unwrap()).unwrap();
    assert_eq!(note["requestContext"]["condition"], "RetryAttemptsExhausted");
    assert!(note["DDBStreamBatchInfo"]["startSequenceNumber"].is_string(), "{note}");
    let text = note.to_string();
    assert!(!text.contains("NewImage") && !text.contains(&bob.user_id), "no record content: {text}");
    clear_faults(&t).await;
    t.settle().await;
    assert!(inbox().await.is_empty(), "not delivered yet");

    // A few minutes on, the re-send job finds the message still pending and sends it.
    clock.advance(chrono::Duration::minutes(6));
    let r = t.post("/_local/jobs/outbox-resend/run", json!({}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["result"]["resent"].as_u64().unwrap() >= 1, "{:?}", r.body);
    t.eventually(Duration::from_secs(10), "the follow notification", || async {
        (inbox().await.len() == 1).then_some(())
    })
    .await;
    // Once: a second run finds nothing left, and the inbox holds one notification.
    let r = t.post("/_local/jobs/outbox-resend/run", json!({}), None).await;
    assert_eq!(r.body["result"]["resent"], 0, "{:?}", r.body);
    t.settle().await;
    let items = inbox().await;
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["type"], "FOLLOW");
    t.stop().await;
}

#[tokio::test]
async fn the_room_list_reads_every_room_past_a_thousand() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let r = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&ann.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let first = r.body["id"].as_str().unwrap().to_string();
    // 1,050 more rooms of ann's, made from the first one's items (the API would take minutes).
    let table = &t.stack.ctx.table;
    let template = [
        chat::keys::room_key(&first),
        chat::keys::member_key(&first, &ann.user_id),
        chat::keys::my_room_key(&ann.user_id, &first),
    ];
    let items: Vec<shared::table::Item> =
        table.batch_get_items(&template).await.unwrap().into_iter().map(Option::unwrap).collect();
    let base = chrono::Utc::now() - chrono::Duration::days(30);
    let mut requests = Vec::new();
    let mut made = vec![first.clone()];
    for i in 0..1050 {
        let at = base + chrono::Duration::seconds(i);
        let id = shared::ids::new_id(at);
        made.push(id.clone());
        for item in &items {
            let mut copy = item.clone();
            for v in copy.values_mut() {
                if let aws_sdk_dynamodb::types::AttributeValue::S(s) = v {
                    *s = s.replace(&first, &id);
                }
            }
            copy.insert("updatedAt".into(), shared::table::time(at));
            requests.push(shared::table::Write::put_item(copy));
        }
    }
    table.batch_write(requests).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/chat/rooms?limit=50&cursor={c}"),
            None => "/chat/rooms?limit=50".to_string(),
        };
        let page = t.call(Method::GET, &path, None, Some(&ann.access)).await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        seen.extend(ids(&page.body));
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1051, "every room once");
    assert_eq!(seen[0], first, "the latest activity first");
    assert_eq!(seen[1050], made[1], "the oldest last");
    let unique: std::collections::HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len());
    t.stop().await;
}

#[tokio::test]
async fn a_push_reaches_a_live_connection_among_a_hundred_stale_ones_and_forgets_them() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let mut socket = integration_tests::ws::connect(&t, &bob).await;
    // 120 connections not yet known to be gone (a phone that dropped off, tabs closed without a
    // goodbye), listed beside the live one: the push must reach the live one all the same.
    let ctx = &t.stack.ctx;
    let live = shared::push::connections_of(ctx, &bob.user_id).await.unwrap();
    assert_eq!(live.len(), 1);
    let stale: Vec<String> = (0..120).map(|i| format!("!stale{i:03}")).collect();
    for c in &stale {
        ctx.table.transact(shared::push::register(ctx, c, &bob.user_id)).await.unwrap();
    }
    assert_eq!(shared::push::connections_of(ctx, &bob.user_id).await.unwrap().len(), 121);
    let r = t.call(Method::PUT, &format!("/users/{}/follow", bob.user_id), None, Some(&ann.access)).await;
    assert_eq!(r.status, 200);
    let frame = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let f = integration_tests::ws::next_frame(&mut socket).await;
            if f["type"] == "notification" {
                return f;
            }
        }
    })
    .await
    .expect("the notification on the live connection");
    assert_eq!(frame["notification"]["type"], "FOLLOW", "{frame}");
    // Each stale one answered 410 Gone and was forgotten, item and listing.
    t.eventually(Duration::from_secs(10), "the stale connections are forgotten", || async {
        (shared::push::connections_of(ctx, &bob.user_id).await.unwrap() == live).then_some(())
    })
    .await;
    for c in &stale[..3] {
        assert_eq!(shared::push::user_of(ctx, c).await.unwrap(), None);
    }
    t.stop().await;
}
