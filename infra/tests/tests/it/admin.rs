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
    t.admin(email, nickname, PW).await
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

    // The audit trail: every action, who, on whom, before and after, in which request. It is
    // an index, which lags a moment behind the actions.
    t.indexed().await;
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
    let (t, clock) = TestStack::start_with_clock().await;
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
    t.indexed().await; // the job finds the blocks that end through an index
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
    t.indexed().await; // the account search is an index
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
    t.indexed().await; // reports and block history are read through indexes
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

/// Moves `clock` forward to `at` (Korean time, `YYYY-MM-DDTHH:MM`).
fn set_clock(clock: &shared::clock::OffsetClock, at: &str) {
    use shared::clock::Clock;
    let target = chrono::DateTime::parse_from_rfc3339(&format!("{at}:00+09:00")).unwrap().with_timezone(&chrono::Utc);
    let by = target - clock.now();
    assert!(by > chrono::Duration::zero(), "the clock only moves forward");
    clock.advance(by);
}

#[tokio::test]
async fn sign_up_statistics_match_a_hand_computed_table_in_korean_days_weeks_and_months() {
    let (t, clock) = TestStack::start_with_clock().await;
    // Sign-ups (counted when the account is verified), in Korean time:
    set_clock(&clock, "2027-02-24T10:00"); // a Wednesday: root, ann, bob
    let root = admin(&t, "root@example.com", "root").await;
    t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    set_clock(&clock, "2027-02-26T10:00");
    t.user("cat@example.com", "cat", PW).await;
    set_clock(&clock, "2027-03-01T23:30"); // 14:30 UTC
    t.user("dan@example.com", "dan", PW).await;
    set_clock(&clock, "2027-03-02T00:10"); // still 1 March in UTC, 2 March in Korea
    t.user("eve@example.com", "eve", PW).await;
    set_clock(&clock, "2027-03-15T12:00");
    for (email, nick) in [("fay@example.com", "fay"), ("gus@example.com", "gus"), ("hal@example.com", "hal")] {
        t.user(email, nick, PW).await;
    }
    set_clock(&clock, "2027-04-02T12:00");
    let ivy = t.user("ivy@example.com", "ivy", PW).await;
    // Weeks passed: sessions from February have ended.
    let fresh = |email: &'static str, who: Session| {
        let t = &t;
        async move { Session { access: t.login(email, PW).await.body["accessToken"].as_str().unwrap().into(), ..who } }
    };
    let root = fresh("root@example.com", root).await;
    let bob = fresh("bob@example.com", bob).await;

    let stats = |grain: &'static str| {
        let path = format!("/admin/stats/signups?from=2027-02-20&to=2027-04-05&grain={grain}");
        let token = root.access.clone();
        let t = &t;
        async move {
            let r = t.call(Method::GET, &path, None, Some(&token)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let buckets: Vec<(String, i64)> = r.body["buckets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| (b["start"].as_str().unwrap().to_string(), b["count"].as_i64().unwrap()))
                .collect();
            (buckets, r.body["total"].as_i64().unwrap())
        }
    };
    let owned = |table: &[(&str, i64)]| table.iter().map(|(d, c)| (d.to_string(), *c)).collect::<Vec<_>>();
    let (weeks, total) = stats("week").await;
    assert_eq!(total, 10);
    assert_eq!(
        weeks,
        owned(&[
            ("2027-02-15", 0),
            ("2027-02-22", 4),
            ("2027-03-01", 2),
            ("2027-03-08", 0),
            ("2027-03-15", 3),
            ("2027-03-22", 0),
            ("2027-03-29", 1),
            ("2027-04-05", 0)
        ])
    );
    let (months, _) = stats("month").await;
    assert_eq!(months, owned(&[("2027-02-01", 4), ("2027-03-01", 5), ("2027-04-01", 1)]));
    let (days, total) = stats("day").await;
    assert_eq!((days.len(), total), (45, 10), "every day of the range, empty ones as 0");
    let busy: Vec<(String, i64)> = days.into_iter().filter(|(_, c)| *c > 0).collect();
    assert_eq!(
        busy,
        owned(&[
            ("2027-02-24", 3),
            ("2027-02-26", 1),
            ("2027-03-01", 1),
            ("2027-03-02", 1),
            ("2027-03-15", 3),
            ("2027-04-02", 1)
        ])
    );
    // The default is the last 30 days up to today (in Korea): from 4 March, so mid-March's three
    // and April's one.
    let recent = t.call(Method::GET, "/admin/stats/signups", None, Some(&root.access)).await;
    assert_eq!((recent.body["from"].as_str(), recent.body["to"].as_str()), (Some("2027-03-04"), Some("2027-04-02")));
    assert_eq!(recent.body["total"], 4);
    for bad in ["from=2027-04-05&to=2027-04-01", "from=2027-02-30", "grain=year", "from=2020-01-01&to=2027-01-01"] {
        let r = t.call(Method::GET, &format!("/admin/stats/signups?{bad}"), None, Some(&root.access)).await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
    }

    // The overview counts the day's activity from the same kind of counters.
    let post = t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&ivy.access)).await;
    let post = post.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.post(&format!("/posts/{post}/comments"), json!({"content": "좋아요"}), Some(&bob.access)).await.status,
        201
    );
    let report = t
        .post("/reports", json!({"targetType": "POST", "targetId": post, "category": "SPAM"}), Some(&bob.access))
        .await;
    let report = report.body["id"].as_str().unwrap().to_string();
    let decided =
        t.post(&format!("/admin/reports/{report}/decision"), json!({"result": "DENY"}), Some(&root.access)).await;
    assert_eq!(decided.status, 200, "{:?}", decided.body);
    let room = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&ivy.access)).await;
    let room = room.body["id"].as_str().unwrap().to_string();
    let mut socket = connect(&t, &ivy).await;
    integration_tests::ws::send(
        &mut socket,
        json!({"action": "sendMessage", "roomId": room, "clientMessageId": "1", "content": "안녕"}),
    )
    .await;
    frame_of(&mut socket, "chat.ack").await;
    let r = t.call(Method::GET, "/admin/stats/overview?from=2027-04-01&to=2027-04-03", None, Some(&root.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let days = r.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 3);
    assert_eq!(days[0]["signups"], 0);
    let today = &days[1];
    assert_eq!(today["date"], "2027-04-02");
    for (metric, expected) in [
        ("signups", 1),
        ("posts", 1),
        ("comments", 1),
        ("reportsOpened", 1),
        ("reportsClosed", 1),
        ("chatMessages", 1),
        ("listings", 0),
        ("sales", 0),
        ("salesKrw", 0),
    ] {
        assert_eq!(today[metric], expected, "{metric}: {today:?}");
    }
    assert_eq!(r.body["totals"]["posts"], 1);
    // By week (from Monday 29 March) and by month: the same day's activity in its bucket.
    let r = t
        .call(Method::GET, "/admin/stats/overview?from=2027-03-30&to=2027-04-03&grain=week", None, Some(&root.access))
        .await;
    assert_eq!(r.body["grain"], "week");
    let weeks = r.body["days"].as_array().unwrap();
    assert_eq!((weeks.len(), weeks[0]["date"].as_str(), weeks[0]["posts"].as_i64()), (1, Some("2027-03-29"), Some(1)));
    let r = t
        .call(Method::GET, "/admin/stats/overview?from=2027-03-30&to=2027-04-03&grain=month", None, Some(&root.access))
        .await;
    let months: Vec<(String, i64)> = r.body["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["date"].as_str().unwrap().to_string(), m["signups"].as_i64().unwrap()))
        .collect();
    assert_eq!(months, owned(&[("2027-03-01", 0), ("2027-04-01", 1)]), "March from the 30th only");
    assert_eq!(r.body["totals"]["comments"], 1);
    let bad = t.call(Method::GET, "/admin/stats/overview?grain=year", None, Some(&root.access)).await;
    assert_eq!(bad.status, 400);
    t.stop().await;
}

/// A member signed up through Google (no password to hash: thousands are quick to make).
async fn member(t: &TestStack, n: usize) -> Session {
    let cb = "https://app.example.com/oauth/google";
    let email = format!("member{n}@gmail.com");
    let ip = format!("127.9.{}.{}", n / 250, n % 250 + 1);
    let code = t.provider_code("google", &email, "Member", cb).await;
    let r = t.post_from(&ip, "/auth/oauth/google", json!({"code": code, "redirectUri": cb})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let ticket = r.body["signupTicket"].as_str().unwrap();
    let body = json!({"signupTicket": ticket, "name": "회원", "nickname": format!("member{n}")});
    let r = t.post_from(&ip, "/auth/oauth/signup", body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    Session {
        user_id: r.body["user"]["id"].as_str().unwrap().into(),
        access: r.body["accessToken"].as_str().unwrap().into(),
        refresh: r.body["refreshToken"].as_str().unwrap().into(),
        email,
    }
}

/// The audience: these members with the administrator, about 60 to each of the 16 shards.
const MEMBERS: usize = 1000;

// Two threads: the stack keeps answering while thousands of deliveries run beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_to_1000_users_delivers_exactly_1000_notifications_though_the_worker_fails_half_way() {
    use futures::StreamExt;
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let members: Vec<Session> =
        futures::stream::iter(1..MEMBERS).map(|n| member(&t, n)).buffer_unordered(16).collect().await;
    // One who turned notices off is reached but not told.
    let quiet = t.user("quiet@example.com", "quiet", PW).await;
    let mut settings = t.call(Method::GET, "/notifications/settings", None, Some(&quiet.access)).await.body;
    settings["notice"] = json!(false);
    assert_eq!(t.call(Method::PUT, "/notifications/settings", Some(settings), Some(&quiet.access)).await.status, 200);

    // Part-way through its pages, deliveries fail: the worker's message comes back and goes on.
    let fault = json!({"service": "dynamodb", "operation": "TransactWriteItems", "contains": "NOTIFEVENT#notice-",
                       "error": "TransactionConflict", "share": 0.01, "times": 10});
    assert_eq!(t.post("/_local/faults", fault, None).await.status, 201);
    let r = t
        .post(
            "/admin/notices",
            json!({"title": "서비스 점검 안내", "body": "12월 1일 새벽에 점검합니다.", "audience": "ALL"}),
            Some(&root.access),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let id = r.body["id"].as_str().unwrap().to_string();
    let progress = t
        .eventually(std::time::Duration::from_secs(300), "the notice delivered", || async {
            let p = t.call(Method::GET, &format!("/admin/notices/{id}"), None, Some(&root.access)).await;
            (p.body["done"] == true).then_some(p.body)
        })
        .await;
    let fired = t.get("/_local/faults").await;
    assert!(fired.body["rules"][0]["fired"].as_u64().unwrap() > 0, "the fault fired: {:?}", fired.body);
    // 999 members, the administrator and the quiet one: 1,001 reached, 1,000 told.
    let audience = MEMBERS as i64;
    assert_eq!((progress["targeted"].as_i64(), progress["delivered"].as_i64()), (Some(audience + 1), Some(audience)));
    assert_eq!((progress["shardsDone"].as_u64(), progress["shards"].as_u64()), (Some(16), Some(16)));
    t.settle().await;
    // Every inbox has it exactly once.
    let counts: Vec<usize> = futures::stream::iter(members.iter().chain([&root]))
        .map(|who| async {
            let r = t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await;
            r.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "NOTICE").count()
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(counts.len(), MEMBERS);
    assert!(counts.iter().all(|c| *c == 1), "each once: {:?}", counts.iter().filter(|c| **c != 1).count());
    let quiet_inbox = t.call(Method::GET, "/notifications", None, Some(&quiet.access)).await;
    assert!(!quiet_inbox.body["items"].as_array().unwrap().iter().any(|n| n["type"] == "NOTICE"));
    let listed = t.call(Method::GET, "/admin/notices", None, Some(&root.access)).await;
    assert_eq!(listed.body["items"][0]["title"], "서비스 점검 안내");
    let audit = t.call(Method::GET, &format!("/admin/audit?targetId={id}"), None, Some(&root.access)).await;
    assert_eq!(audit.body["items"][0]["action"], "NOTICE_SEND");
    t.stop().await;
}

#[tokio::test]
async fn administrators_make_administrators_and_take_the_role_back_at_once_in_the_audit_trail() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let role = |who: &Session, of: &str, r: &str| {
        let (path, token, body) = (format!("/admin/users/{of}/role"), who.access.clone(), json!({"role": r}));
        let t = &t;
        async move { t.call(Method::PUT, &path, Some(body), Some(&token)).await }
    };
    assert_eq!(role(&bob, &bob.user_id, "ADMIN").await.status, 403, "users do not promote themselves");
    assert_eq!(role(&root, &root.user_id, "USER").await.body["code"], "CANNOT_CHANGE_OWN_ROLE");
    assert_eq!(role(&root, &bob.user_id, "OWNER").await.status, 400);
    assert_eq!(role(&root, "01JD3K4Q5R6S7T8V9W0XYZABCD", "ADMIN").await.status, 404);
    let r = role(&root, &bob.user_id, "ADMIN").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // The role is in tokens issued from the next sign-in.
    assert_eq!(t.call(Method::GET, "/admin/users", None, Some(&bob.access)).await.status, 403);
    let bob =
        Session { access: t.login("bob@example.com", PW).await.body["accessToken"].as_str().unwrap().into(), ..bob };
    assert_eq!(t.call(Method::GET, "/admin/users", None, Some(&bob.access)).await.status, 200);
    // Taken back: the admin token bob holds stops working on admin routes at once.
    assert_eq!(role(&root, &bob.user_id, "USER").await.status, 200);
    let r = t.call(Method::GET, "/admin/users", None, Some(&bob.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ADMIN_ONLY")));
    // The operator's promotion and both changes are in the trail.
    let of = |id: &str| {
        let path = format!("/admin/audit?targetId={id}");
        let token = root.access.clone();
        let t = &t;
        async move { t.call(Method::GET, &path, None, Some(&token)).await.body["items"].as_array().unwrap().clone() }
    };
    t.indexed().await;
    let bobs = of(&bob.user_id).await;
    let changes: Vec<(&str, &str)> =
        bobs.iter().map(|r| (r["after"]["role"].as_str().unwrap(), r["actorId"].as_str().unwrap())).collect();
    assert_eq!(changes, vec![("USER", root.user_id.as_str()), ("ADMIN", root.user_id.as_str())]);
    let roots = of(&root.user_id).await;
    assert_eq!((roots[0]["action"].as_str(), roots[0]["actorId"].as_str()), (Some("USER_ROLE_CHANGE"), Some("SYSTEM")));
    t.stop().await;
}

#[tokio::test]
async fn an_administrator_renames_promotes_deactivates_and_reactivates_an_account_in_one_audited_edit_each() {
    let t = TestStack::start().await;
    let root = admin(&t, "root@example.com", "root").await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let carol = t.user("carol@example.com", "carol", PW).await;
    let edit = |who: &Session, of: &str, body: serde_json::Value| {
        let (path, token) = (format!("/admin/users/{of}"), who.access.clone());
        let t = &t;
        async move { t.call(Method::PATCH, &path, Some(body), Some(&token)).await }
    };
    // Who may: administrators only, never on their own standing.
    assert_eq!(edit(&bob, &carol.user_id, json!({"active": false})).await.status, 403);
    let own = edit(&root, &root.user_id, json!({"active": false})).await;
    assert_eq!((own.status, own.body["code"].as_str()), (409, Some("CANNOT_CHANGE_OWN_ACCOUNT")));
    assert_eq!(edit(&root, "01JD3K4Q5R6S7T8V9W0XYZABCD", json!({"active": false})).await.status, 404);
    let empty = edit(&root, &bob.user_id, json!({})).await;
    assert_eq!((empty.status, empty.body["code"].as_str()), (400, Some("NOTHING_TO_EDIT")));
    assert_eq!(edit(&root, &bob.user_id, json!({"nickname": "x"})).await.status, 400);
    assert_eq!(edit(&root, &bob.user_id, json!({"role": "ADVERTISER"})).await.status, 400);
    // A nickname someone holds is refused; a free one moves bob's claim.
    let taken = edit(&root, &bob.user_id, json!({"nickname": "Carol"})).await;
    assert_eq!((taken.status, taken.body["code"].as_str()), (409, Some("NICKNAME_TAKEN")));
    let renamed = edit(&root, &bob.user_id, json!({"nickname": "bori_dad", "reason": "부적절한 닉네임"})).await;
    assert_eq!((renamed.status, renamed.body["nickname"].as_str()), (200, Some("bori_dad")), "{:?}", renamed.body);
    let free = t.call(Method::GET, "/auth/availability?nickname=bob", None, None).await;
    assert_eq!(free.body["nicknameAvailable"], true, "{:?}", free.body);
    let held = t.call(Method::GET, "/auth/availability?nickname=bori_dad", None, None).await;
    assert_eq!(held.body["nicknameAvailable"], false, "{:?}", held.body);
    // Deactivated: bob's token stops at once, sign-in and refresh are refused.
    let off = edit(&root, &bob.user_id, json!({"active": false})).await;
    assert_eq!((off.status, off.body["status"].as_str()), (200, Some("DEACTIVATED")), "{:?}", off.body);
    let me = t.call(Method::GET, "/users/me", None, Some(&bob.access)).await;
    assert_eq!((me.status, me.body["code"].as_str()), (401, Some("ACCOUNT_DEACTIVATED")));
    let login = t.login("bob@example.com", PW).await;
    assert_eq!((login.status, login.body["code"].as_str()), (403, Some("ACCOUNT_DEACTIVATED")));
    let refresh = t.post("/auth/refresh", json!({"refreshToken": bob.refresh}), None).await;
    assert_eq!(refresh.status / 100, 4, "{:?}", refresh.body);
    assert_eq!(t.call(Method::GET, &format!("/users/{}", bob.user_id), None, None).await.status, 404);
    let listed = t.call(Method::GET, "/admin/users?status=DEACTIVATED", None, Some(&root.access)).await;
    let ids: Vec<&str> = listed.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![bob.user_id.as_str()]);
    // Reactivated and promoted in one edit: bob signs in as an administrator; his old session stays ended.
    let on = edit(&root, &bob.user_id, json!({"active": true, "role": "ADMIN"})).await;
    assert_eq!((on.status, on.body["status"].as_str(), on.body["role"].as_str()), (200, Some("ACTIVE"), Some("ADMIN")));
    assert_eq!(t.call(Method::GET, "/users/me", None, Some(&bob.access)).await.status, 401);
    let login = t.login("bob@example.com", PW).await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    let token = login.body["accessToken"].as_str().unwrap();
    assert_eq!(t.call(Method::GET, "/admin/users", None, Some(token)).await.status, 200);
    // Nothing left to change is no change and no record.
    assert_eq!(edit(&root, &bob.user_id, json!({"active": true})).await.status, 200);
    // Reactivating what was never deactivated is refused; so is editing a withdrawn account.
    let withdrawn = t.user("dave@example.com", "dave", PW).await;
    let gone = t.call(Method::DELETE, "/users/me", Some(json!({"password": PW})), Some(&withdrawn.access)).await;
    assert_eq!(gone.status, 204);
    let w = edit(&root, &withdrawn.user_id, json!({"nickname": "dave2"})).await;
    assert_eq!((w.status, w.body["code"].as_str()), (409, Some("ACCOUNT_WITHDRAWN")));
    // Each edit is one audit record of what changed, by whom, with the reason.
    t.indexed().await;
    let trail = t.call(Method::GET, &format!("/admin/audit?targetId={}", bob.user_id), None, Some(&root.access)).await;
    let edits: Vec<_> =
        trail.body["items"].as_array().unwrap().iter().filter(|r| r["action"] == "USER_EDIT").cloned().collect();
    assert_eq!(edits.len(), 3, "{:?}", trail.body);
    assert_eq!(edits[0]["after"], json!({"status": "ACTIVE", "role": "ADMIN"}));
    assert_eq!(edits[0]["before"], json!({"status": "DEACTIVATED", "role": "USER"}));
    assert_eq!(edits[1]["after"], json!({"status": "DEACTIVATED"}));
    assert_eq!(edits[2]["after"], json!({"nickname": "bori_dad", "reason": "부적절한 닉네임"}));
    assert_eq!(edits[2]["actorId"], root.user_id.as_str());
    let detail = t.call(Method::GET, &format!("/admin/users/{}", bob.user_id), None, Some(&root.access)).await;
    assert_eq!(detail.body["blockHistory"].as_array().unwrap().len(), 3, "{:?}", detail.body);
    let _ = carol;
    t.stop().await;
}
