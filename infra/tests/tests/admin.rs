//! Administration over HTTP and WebSocket: blocks bite on the next request and arrive live, end
//! on time (the job, with an injected clock), never touch administrators, and every action is in
//! the audit trail.

use std::time::{Duration, Instant};

use integration_tests::ws::{connect, frame_of};
use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::json;

const PW: &str = "walks4ever";

async fn admin(t: &TestStack, email: &str, nickname: &str) -> Session {
    let who = t.user(email, nickname, PW).await;
    identity::admin::promote_to_admin(&t.stack.ctx, email).await.unwrap();
    // The role comes with the next sign-in.
    let r = t.login(email, PW).await;
    Session { access: r.body["accessToken"].as_str().unwrap().to_string(), ..who }
}

async fn write_as(t: &TestStack, who: &Session) -> integration_tests::Reply {
    t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&who.access)).await
}

#[tokio::test]
async fn a_block_bites_on_the_next_request_arrives_live_and_is_in_the_audit_trail() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let other_admin = admin(&t, "ops@example.com", "ops").await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let mut bob_socket = connect(&t, &bob).await;
    assert_eq!(write_as(&t, &bob).await.status, 201);

    let path = format!("/admin/users/{}/block", bob.user_id);
    let started = Instant::now();
    let r = t
        .call(
            Method::PUT,
            &path,
            Some(json!({"type": "TEMPORARY", "seconds": 3600, "reason": "욕설"})),
            Some(&root.access),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let frame = frame_of(&mut bob_socket, "account.blocked").await;
    assert!(started.elapsed() < Duration::from_secs(1), "pushed within a second: {:?}", started.elapsed());
    assert_eq!(frame["reason"], "욕설");
    let until = frame["until"].as_str().unwrap().to_string();
    // The very next write is refused, with the same end; reads go on.
    let refused = write_as(&t, &bob).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (403, Some("ACCOUNT_BLOCKED")));
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(refused.body["until"].as_str().unwrap()).unwrap(),
        chrono::DateTime::parse_from_rfc3339(&until).unwrap()
    );
    assert_eq!(t.call(Method::GET, "/users/me", None, Some(&bob.access)).await.status, 200);

    // Not administrators, not oneself, not by users; bad input is a 400.
    let admins = format!("/admin/users/{}/block", other_admin.user_id);
    let body = json!({"type": "PERMANENT", "reason": "x"});
    let r = t.call(Method::PUT, &admins, Some(body.clone()), Some(&root.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("CANNOT_BLOCK_ADMIN")));
    let me = format!("/admin/users/{}/block", root.user_id);
    let r = t.call(Method::PUT, &me, Some(body.clone()), Some(&root.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("CANNOT_BLOCK_SELF")));
    let cat = t.user("cat@example.com", "cat", PW).await;
    let r = t.call(Method::PUT, &path, Some(body.clone()), Some(&cat.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ADMIN_ONLY")));
    for bad in [
        json!({"type": "TEMPORARY", "seconds": 10, "reason": "x"}),
        json!({"type": "TEMPORARY", "reason": "x"}),
        json!({"type": "PERMANENT", "reason": ""}),
    ] {
        assert_eq!(t.call(Method::PUT, &path, Some(bad), Some(&root.access)).await.status, 400);
    }
    let none = t
        .call(Method::PUT, "/admin/users/01JD3K4Q5R6S7T8V9W0XYZABCD/block", Some(body.clone()), Some(&root.access))
        .await;
    assert_eq!(none.status, 404);

    // Made permanent, then lifted: live both times, and writing works again at once.
    let r = t.call(Method::PUT, &path, Some(body), Some(&root.access)).await;
    assert_eq!((r.body["permanent"].as_bool(), r.body["until"].is_null()), (Some(true), true));
    assert!(frame_of(&mut bob_socket, "account.blocked").await["until"].is_null());
    assert_eq!(write_as(&t, &bob).await.body["until"], serde_json::Value::Null);
    let lifted = t.call(Method::DELETE, &path, None, Some(&root.access)).await;
    assert_eq!((lifted.status, lifted.body["blocked"].as_bool()), (200, Some(false)));
    assert_eq!(frame_of(&mut bob_socket, "account.unblocked").await["auto"], false);
    assert_eq!(write_as(&t, &bob).await.status, 201);
    let again = t.call(Method::DELETE, &path, None, Some(&root.access)).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("NOT_BLOCKED")));

    // The audit trail: every action, who, on whom, before and after, in which request.
    let trail = t.call(Method::GET, &format!("/admin/audit?targetId={}", bob.user_id), None, Some(&root.access)).await;
    let actions: Vec<&str> =
        trail.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["USER_UNBLOCK", "USER_BLOCK", "USER_BLOCK"], "newest first");
    let first = &trail.body["items"][2];
    assert_eq!((first["actorId"].as_str(), first["before"]["until"].is_null()), (Some(root.user_id.as_str()), true));
    assert_eq!(first["after"]["reason"], "욕설");
    assert!(first["requestId"].as_str().is_some_and(|id| !id.is_empty()));
    let by_other =
        t.call(Method::GET, &format!("/admin/audit?actorId={}", other_admin.user_id), None, Some(&root.access)).await;
    assert!(by_other.body["items"].as_array().unwrap().is_empty());
    assert_eq!(t.call(Method::GET, "/admin/audit", None, Some(&cat.access)).await.status, 403);
    assert_eq!(t.call(Method::GET, "/admin/audit", None, None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn a_temporary_block_ends_on_time_even_before_the_job_and_the_job_tells_the_user() {
    let clock = shared::clock::OffsetClock::new();
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.clock = clock.clone();
    let t = TestStack::start_with(opts).await;
    let root = admin(&t, "root@example.com", "root").await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let mut socket = connect(&t, &bob).await;
    let path = format!("/admin/users/{}/block", bob.user_id);
    let r = t
        .call(
            Method::PUT,
            &path,
            Some(json!({"type": "TEMPORARY", "seconds": 120, "reason": "도배"})),
            Some(&root.access),
        )
        .await;
    assert_eq!(r.status, 200);
    frame_of(&mut socket, "account.blocked").await;
    let run = || t.post("/_local/jobs/auto-unblock/run", json!({}), None);
    assert_eq!(run().await.body["result"]["lifted"], 0, "not yet");
    assert_eq!(write_as(&t, &bob).await.status, 403);
    // Past its end the block no longer bites, job or no job.
    clock.advance(chrono::Duration::seconds(121));
    assert_eq!(write_as(&t, &bob).await.status, 201, "never kept blocked past its end");
    assert_eq!(run().await.body["result"]["lifted"], 1);
    assert_eq!(frame_of(&mut socket, "account.unblocked").await["auto"], true);
    assert_eq!(run().await.body["result"]["lifted"], 0, "lifted once");
    t.settle().await;
    let inbox = t.call(Method::GET, "/notifications", None, Some(&bob.access)).await;
    assert!(
        inbox.body["items"].as_array().unwrap().iter().any(|n| n["type"] == "ACCOUNT_UNBLOCKED"),
        "{:?}",
        inbox.body
    );
    let trail = t.call(Method::GET, &format!("/admin/audit?targetId={}", bob.user_id), None, Some(&root.access)).await;
    let newest = &trail.body["items"][0];
    assert_eq!((newest["action"].as_str(), newest["actorId"].as_str()), (Some("USER_AUTO_UNBLOCK"), Some("SYSTEM")));
    // A block extended by an administrator meanwhile is not lifted by a late job.
    t.call(Method::PUT, &path, Some(json!({"type": "TEMPORARY", "seconds": 60, "reason": "재발"})), Some(&root.access))
        .await;
    clock.advance(chrono::Duration::seconds(61));
    t.call(
        Method::PUT,
        &path,
        Some(json!({"type": "TEMPORARY", "seconds": 3600, "reason": "재발"})),
        Some(&root.access),
    )
    .await;
    assert_eq!(run().await.body["result"]["lifted"], 0);
    assert_eq!(write_as(&t, &bob).await.status, 403);
    t.stop().await;
}

/// The nicknames a search of accounts finds, sorted.
async fn find(t: &TestStack, admin: &Session, query: &str) -> Vec<String> {
    let path = format!("/admin/users{query}");
    let r = t.call(Method::GET, &path, None, Some(&admin.access)).await;
    assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    let mut names: Vec<String> =
        r.body["items"].as_array().unwrap().iter().map(|a| a["nickname"].as_str().unwrap().to_string()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn administrators_find_accounts_and_see_their_reports_and_block_history() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let bobby = t.user("bobby@example.com", "bobby", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    assert_eq!(find(&t, &root, "?q=BOB").await, vec!["bob", "bobby"], "a nickname prefix, any case");
    assert_eq!(find(&t, &root, "?q=cat@example.com").await, vec!["cat"], "an email, exactly");
    assert_eq!(find(&t, &root, "?role=ADMIN").await, vec!["root"]);
    assert_eq!(find(&t, &root, "?status=ACTIVE").await, vec!["bob", "bobby", "cat", "root"]);
    assert!(find(&t, &root, "?q=nobody@example.com").await.is_empty());
    let bad = t.call(Method::GET, "/admin/users?status=SLEEPING", None, Some(&root.access)).await;
    assert_eq!(bad.status, 400);

    // One account: counts, the open reports about it, its block history.
    let report = json!({"targetType": "USER", "targetId": bob.user_id, "reason": "욕설"});
    assert_eq!(t.post("/reports", report, Some(&cat.access)).await.status, 201);
    let block = json!({"type": "TEMPORARY", "seconds": 600, "reason": "욕설"});
    let path = format!("/admin/users/{}/block", bob.user_id);
    assert_eq!(t.call(Method::PUT, &path, Some(block), Some(&root.access)).await.status, 200);
    let detail = t.call(Method::GET, &format!("/admin/users/{}", bob.user_id), None, Some(&root.access)).await;
    assert_eq!(detail.status, 200, "{:?}", detail.body);
    assert_eq!(detail.body["account"]["email"], "bob@example.com");
    assert_eq!(detail.body["account"]["blockReason"], "욕설");
    let reports = detail.body["openReports"].as_array().unwrap();
    assert_eq!((reports.len(), reports[0]["reporterId"].as_str()), (1, Some(cat.user_id.as_str())));
    assert_eq!(detail.body["blockHistory"][0]["action"], "USER_BLOCK");
    let clean = t.call(Method::GET, &format!("/admin/users/{}", bobby.user_id), None, Some(&root.access)).await;
    assert!(
        clean.body["openReports"].as_array().unwrap().is_empty()
            && clean.body["blockHistory"].as_array().unwrap().is_empty()
    );
    let none = t.call(Method::GET, "/admin/users/01JD3K4Q5R6S7T8V9W0XYZABCD", None, Some(&root.access)).await;
    assert_eq!(none.status, 404);
    t.stop().await;
}
