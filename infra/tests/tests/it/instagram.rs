//! Instagram over HTTP against the local stack's Instagram Graph sandbox and Comprehend
//! stand-in: linking through OAuth, the first sync, every analysis figure recomputed here from
//! the sandbox's seeded data (the zero cases with a new account), comment moderation with
//! Comprehend in batches of 25, rate limits, redelivery, poison messages, sealed tokens, the
//! token job, and who may call what.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};
use integration_tests::{Reply, Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

fn ok(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.body);
}

async fn pet(t: &TestStack, owner: &Session, name: &str) -> String {
    let body = json!({"name": name, "speciesId": "dog-maltese", "gender": "FEMALE"});
    let r = t.post("/pets", body, Some(&owner.access)).await;
    ok(&r, 201, "pet");
    r.body["id"].as_str().unwrap().to_string()
}

async fn get(t: &TestStack, path: &str, who: &Session) -> Reply {
    t.call(Method::GET, path, None, Some(&who.access)).await
}

async fn link(t: &TestStack, owner: &Session, pet: &str, account: &str) -> Reply {
    t.link_instagram(owner, pet, account).await
}

async fn synced(t: &TestStack, owner: &Session, pet: &str, after: Option<&str>) -> Value {
    t.eventually(Duration::from_secs(60), "a finished sync", || async {
        let r = get(t, &format!("/pets/{pet}/instagram"), owner).await;
        let at = r.body["lastSyncedAt"].as_str()?;
        (Some(at) != after).then(|| r.body.clone())
    })
    .await
}

async fn sandbox(t: &TestStack, path: &str) -> Value {
    reqwest::get(format!("{}{path}", t.stack.sandbox_url)).await.unwrap().json().await.unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap().with_timezone(&Utc)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn close(a: &Value, b: f64, what: &str) {
    let a = a.as_f64().unwrap_or_else(|| panic!("{what} is a number: {a}"));
    assert!((a - b).abs() < 0.011, "{what}: got {a}, computed {b}");
}

/// Seoul's month `back` months before `now`'s: its first instant and name.
fn seoul_month(now: DateTime<Utc>, back: i32) -> (DateTime<Utc>, String) {
    let kst = FixedOffset::east_opt(9 * 3600).unwrap();
    let local = now.with_timezone(&kst);
    let total = local.year() * 12 + local.month0() as i32 - back;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let start = kst.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap().with_timezone(&Utc);
    (start, format!("{y:04}-{m:02}"))
}

/// The figures of posts in a period, as the product should compute them.
fn period(media: &[&Value]) -> (usize, f64, i64, f64, i64) {
    let n = media.len();
    let sum = |k: &str| media.iter().map(|m| m[k].as_i64().unwrap()).sum::<i64>() as f64;
    let max = |k: &str| media.iter().map(|m| m[k].as_i64().unwrap()).max().unwrap_or(0);
    let avg = |k: &str| if n == 0 { 0.0 } else { sum(k) / n as f64 };
    (n, avg("like_count"), max("like_count"), avg("comments_count"), max("comments_count"))
}

fn change(cur: f64, prev: f64) -> f64 {
    if prev == 0.0 { 100.0 } else { round2((cur - prev) / prev * 100.0) }
}

/// Checks every analysis endpoint of `pet` against the sandbox's data of `account`.
async fn analysis_matches_the_sandbox(t: &TestStack, owner: &Session, pet: &str, account: &str) {
    let raw = sandbox(t, &format!("/_local/instagram/accounts/{account}")).await;
    let now = t.stack.ctx.now();
    let media: Vec<&Value> = raw["media"].as_array().unwrap().iter().collect();
    let at = |m: &Value| time(&m["timestamp"]);
    let day = chrono::Duration::days(1);
    let current: Vec<&Value> = media.iter().copied().filter(|m| at(m) > now - day * 30 && at(m) <= now).collect();
    let previous: Vec<&Value> =
        media.iter().copied().filter(|m| at(m) > now - day * 60 && at(m) <= now - day * 30).collect();

    // The last 30 days against the 30 before.
    let r = get(t, &format!("/pets/{pet}/instagram/analysis/media"), owner).await;
    ok(&r, 200, "media analysis");
    let (cn, cl, ctl, cc, ctc) = period(&current);
    let (pn, pl, ptl, pc, ptc) = period(&previous);
    assert_eq!(r.body["current"]["posts"], cn);
    assert_eq!(r.body["previous"]["posts"], pn);
    close(&r.body["current"]["averageLikes"], round2(cl), "current average likes");
    close(&r.body["previous"]["averageLikes"], round2(pl), "previous average likes");
    assert_eq!(r.body["current"]["topLikes"], ctl);
    assert_eq!(r.body["previous"]["topComments"], ptc);
    close(&r.body["change"]["averageLikes"], change(cl, pl), "likes change");
    close(&r.body["change"]["averageComments"], change(cc, pc), "comments change");
    close(&r.body["change"]["topLikes"], change(ctl as f64, ptl as f64), "top likes change");
    close(&r.body["change"]["topComments"], change(ctc as f64, ptc as f64), "top comments change");

    // The top three of the last 30 days.
    let mut top = current.clone();
    top.sort_by(|a, b| {
        let id = |m: &Value| m["id"].as_str().unwrap().to_string();
        b["like_count"].as_i64().cmp(&a["like_count"].as_i64()).then(at(b).cmp(&at(a))).then(id(b).cmp(&id(a)))
    });
    let expected: Vec<&Value> = top.iter().take(3).map(|m| &m["id"]).collect();
    let r = get(t, &format!("/pets/{pet}/instagram/media/top"), owner).await;
    let got: Vec<&Value> = r.body["items"].as_array().unwrap().iter().map(|m| &m["id"]).collect();
    assert_eq!(got, expected, "top 3 by likes");

    // Six months of insights: Seoul months over the sandbox's days.
    let r = get(t, &format!("/pets/{pet}/instagram/analysis/insights"), owner).await;
    ok(&r, 200, "insights");
    let months = r.body["months"].as_array().unwrap();
    assert_eq!(months.len(), 6);
    for (i, back) in (0..6).rev().enumerate() {
        let (start, name) = seoul_month(now, back);
        let end = if back == 0 { now } else { seoul_month(now, back - 1).0 };
        let mut sums = BTreeMap::<&str, i64>::new();
        for d in raw["daily"].as_array().unwrap() {
            let date: NaiveDate = d["date"].as_str().unwrap().parse().unwrap();
            let midnight = date.and_hms_opt(0, 0, 0).unwrap().and_utc();
            if midnight >= start && midnight < end {
                for k in ["reach", "views", "likes", "comments", "shares"] {
                    *sums.entry(k).or_default() += d[k].as_i64().unwrap();
                }
            }
        }
        let m = &months[i];
        assert_eq!(m["month"], name.as_str());
        for k in ["reach", "views", "likes", "comments", "shares"] {
            assert_eq!(m[k].as_i64().unwrap(), sums.get(k).copied().unwrap_or(0), "{name} {k}");
        }
        let total = (sums.get("likes").copied().unwrap_or(0)
            + sums.get("comments").copied().unwrap_or(0)
            + sums.get("shares").copied().unwrap_or(0)) as f64;
        for k in ["likes", "comments", "shares"] {
            let share = if total == 0.0 { 0.0 } else { round2(sums[k] as f64 / total * 100.0) };
            close(&m["engagement"][k], share, &format!("{name} engagement {k}"));
        }
    }

    // The summary's engagement rate.
    let followers = raw["followers"].as_i64().unwrap();
    let rate = if followers == 0 || current.is_empty() { 0.0 } else { round2((cl + cc) / followers as f64 * 100.0) };
    let account_view = get(t, &format!("/pets/{pet}/instagram"), owner).await;
    close(&account_view.body["engagementRate"], rate, "engagement rate");
    assert_eq!(account_view.body["followersCount"], followers);
    assert_eq!(account_view.body["mediaCount"], media.len());

    // Posts, newest first, paged.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = get(t, &format!("/pets/{pet}/instagram/media?limit=50{cursor}"), owner).await;
        ok(&r, 200, "media");
        seen.extend(r.body["items"].as_array().unwrap().iter().map(|m| m["id"].clone()));
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    let six_months: Vec<Value> = media.iter().filter(|m| at(m) >= now - day * 183).map(|m| m["id"].clone()).collect();
    assert_eq!(seen, six_months, "every post of six months, newest first");

    // Today's follower point.
    let r = get(t, &format!("/pets/{pet}/instagram/followers/history?days=7"), owner).await;
    let points = r.body["points"].as_array().unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!(points[0]["followersCount"], followers);
}

/// Comments on posts of the last 30 days, as seeded.
fn recent_comments(raw: &Value, now: DateTime<Utc>) -> Vec<Value> {
    raw["media"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| time(&m["timestamp"]) >= now - chrono::Duration::days(30))
        .flat_map(|m| m["comments"].as_array().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn a_linked_account_syncs_and_every_figure_matches_the_sandbox() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    let coco = pet(&t, &bob, "코코").await;
    let rival = pet(&t, &bob, "보리").await;

    // Not linked yet.
    let r = get(&t, &format!("/pets/{choco}/instagram"), &ann).await;
    ok(&r, 404, "before linking");
    assert_eq!(r.body["code"], "INSTAGRAM_NOT_CONNECTED");

    let comprehend_before = t.stack.comprehend.batch_calls();
    let linked = link(&t, &ann, &choco, "meongmeong_daily").await;
    ok(&linked, 201, "callback");
    assert_eq!(linked.body["username"], "meongmeong_daily");
    assert!(linked.body["lastSyncedAt"].is_null());
    // The state was used up.
    let again = t.post("/instagram/callback", json!({"code": "AQx", "state": "0".repeat(32)}), Some(&ann.access)).await;
    assert_eq!(again.body["code"], "INVALID_STATE");

    // A sync was just asked for by the link itself.
    let soon = t.post(&format!("/pets/{choco}/instagram/sync"), json!({}), Some(&ann.access)).await;
    ok(&soon, 429, "sync right after linking");
    assert!(soon.header("retry-after").unwrap().parse::<u64>().unwrap() > 500);

    synced(&t, &ann, &choco, None).await;
    t.settle().await;
    analysis_matches_the_sandbox(&t, &ann, &choco, "meongmeong_daily").await;

    // Comments: all of the last 30 days' posts, classified 25 to a Comprehend call.
    let raw = sandbox(&t, "/_local/instagram/accounts/meongmeong_daily").await;
    let comments = recent_comments(&raw, t.stack.ctx.now());
    assert!(comments.len() > 50, "the seeded account has comments to read ({})", comments.len());
    let calls = t.stack.comprehend.batch_calls() - comprehend_before;
    assert_eq!(calls as usize, comments.len().div_ceil(25), "{} comments in {calls} calls", comments.len());
    assert_eq!(t.stack.comprehend.single_calls(), 0);
    let stats = get(&t, &format!("/pets/{choco}/instagram/comments/stats"), &ann).await;
    assert_eq!(stats.body["total"], comments.len());
    assert_eq!(stats.body["deleted"], 0, "auto-delete is off");
    for (tone, key) in [("POSITIVE", "positive"), ("NEGATIVE", "negative"), ("NEUTRAL", "neutral"), ("MIXED", "mixed")]
    {
        let n = comments.iter().filter(|c| c["tone"] == tone).count();
        assert_eq!(stats.body[key], n, "{tone} comments");
        close(&stats.body["ratio"][key], round2(n as f64 / comments.len() as f64 * 100.0), tone);
    }
    let negative = get(&t, &format!("/pets/{choco}/instagram/comments?sentiment=NEGATIVE&limit=50"), &ann).await;
    assert!(negative.body["items"].as_array().unwrap().iter().all(|c| c["sentiment"] == "NEGATIVE"));
    assert_eq!(get(&t, &format!("/pets/{choco}/instagram/comments?sentiment=ANGRY"), &ann).await.status, 400);

    // One account, one pet.
    let taken = link(&t, &bob, &rival, "meongmeong_daily").await;
    ok(&taken, 409, "the same account for another pet");
    assert_eq!(taken.body["code"], "INSTAGRAM_ACCOUNT_LINKED");

    // The zero cases: a new account with no followers, nothing before this month, no insights.
    ok(&link(&t, &bob, &coco, "new_pup_coco").await, 201, "second account");
    synced(&t, &bob, &coco, None).await;
    analysis_matches_the_sandbox(&t, &bob, &coco, "new_pup_coco").await;
    let cmp = get(&t, &format!("/pets/{coco}/instagram/analysis/media"), &bob).await;
    assert_eq!(cmp.body["previous"]["posts"], 0);
    assert_eq!(cmp.body["change"]["averageLikes"], 100.0, "100 when the previous period had nothing");
    let months = get(&t, &format!("/pets/{coco}/instagram/analysis/insights"), &bob).await;
    for m in months.body["months"].as_array().unwrap() {
        assert_eq!(m["engagement"], json!({"likes": 0.0, "comments": 0.0, "shares": 0.0}), "0 when the sum is 0");
    }
    assert_eq!(get(&t, &format!("/pets/{coco}/instagram"), &bob).await.body["engagementRate"], 0.0);
    let empty = get(&t, &format!("/pets/{coco}/instagram/comments/stats"), &bob).await;
    assert_eq!(empty.body["deletionRate"], 0.0);

    // The nightly job queues one sync per linked account (found through an index).
    t.indexed().await;
    let nightly = t.post("/_local/jobs/instagram-nightly/run", json!({}), None).await;
    assert_eq!(nightly.body["result"]["queued"], 2, "{:?}", nightly.body);
    t.settle().await;

    // The PetStar page shows the public summary.
    let portfolio = json!({"introduction": "한강 산책 전문", "strengths": [], "keywords": [], "mediaKeys": []});
    ok(
        &t.call(Method::PUT, &format!("/pets/{choco}/portfolio"), Some(portfolio), Some(&ann.access)).await,
        200,
        "portfolio",
    );
    ok(&t.post(&format!("/pets/{choco}/petstar-application"), json!({}), Some(&ann.access)).await, 201, "apply");
    let path = format!("/admin/petstar-applications/{choco}/decision");
    ok(&t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&root.access)).await, 200, "accept");
    let page = t.get(&format!("/petstars/{choco}")).await;
    ok(&page, 200, "petstar page");
    assert_eq!(page.body["instagram"]["username"], "meongmeong_daily");
    assert_eq!(page.body["instagram"]["followersCount"], raw["followers"]);

    // The stored token is sealed: no token Instagram handed out is readable in the table.
    let tokens: Vec<String> = sandbox(&t, "/_local/instagram/tokens").await["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(tokens.len() >= 4);
    let items = t
        .stack
        .ctx
        .table
        .query_items_all(&shared::table::Query::partition(format!("PET#{choco}")).limit(100), None)
        .await
        .unwrap();
    let dump = format!("{items:?}");
    assert!(dump.contains("v1:"), "the sealed token is stored");
    for token in &tokens {
        assert!(!dump.contains(token.as_str()), "a token is readable in the table");
    }

    // Disconnecting frees the account and deletes what was synced.
    let connection = items
        .iter()
        .find(|i| i.get("SK").and_then(|v| v.as_s().ok()).map(String::as_str) == Some("INSTAGRAM"))
        .and_then(|i| i.get("connectionId"))
        .and_then(|v| v.as_s().ok())
        .unwrap()
        .clone();
    ok(&t.call(Method::DELETE, &format!("/pets/{choco}/instagram"), None, Some(&ann.access)).await, 204, "unlink");
    assert_eq!(get(&t, &format!("/pets/{choco}/instagram/media"), &ann).await.status, 404);
    assert!(t.get(&format!("/petstars/{choco}")).await.body["instagram"].is_null());
    t.settle().await;
    let left = t
        .stack
        .ctx
        .table
        .query_items(&shared::table::Query::partition(format!("IGDATA#{connection}")).limit(10))
        .await
        .unwrap();
    assert!(left.items.is_empty(), "the synced data is purged");
    let token_left =
        t.stack.ctx.table.get_item(&shared::table::Key::new(format!("PET#{choco}"), "INSTAGRAM#TOKEN")).await;
    assert!(token_left.unwrap().is_none(), "the token is deleted");
    ok(&link(&t, &bob, &rival, "meongmeong_daily").await, 201, "the account is free again");
    t.stop().await;
}

#[tokio::test]
async fn auto_delete_removes_negative_and_banned_comments_once() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;

    // Banned words are the owner's, checked like any input.
    let words = format!("/pets/{choco}/instagram/banned-words");
    ok(&t.post(&words, json!({"word": " 광고 "}), Some(&ann.access)).await, 201, "ban");
    ok(&t.post(&words, json!({"word": "광고"}), Some(&ann.access)).await, 409, "ban twice");
    ok(&t.post(&words, json!({"word": ""}), Some(&ann.access)).await, 400, "empty");
    ok(&t.post(&words, json!({"word": "스팸"}), Some(&ann.access)).await, 201, "ban");
    ok(&t.call(Method::DELETE, &format!("{words}?word=스팸"), None, Some(&ann.access)).await, 204, "lift");
    ok(&t.call(Method::DELETE, &format!("{words}?word=스팸"), None, Some(&ann.access)).await, 404, "lift twice");
    assert_eq!(get(&t, &words, &ann).await.body["words"], json!(["광고"]));

    // Auto-delete on before the first sync runs.
    t.stack.queues.hold("sns-sync", true);
    ok(&link(&t, &ann, &choco, "meongmeong_daily").await, 201, "link");
    let on = auto_delete_on(&t, &ann, &choco).await;
    assert_eq!(on.body["autoDelete"], true);
    let before = sandbox(&t, "/_local/instagram/accounts/meongmeong_daily").await;
    let comments = recent_comments(&before, t.stack.ctx.now());
    let comprehend_before = t.stack.comprehend.batch_calls();
    t.stack.queues.hold("sns-sync", false);
    synced(&t, &ann, &choco, None).await;
    t.settle().await;

    // Negative ones and ones with a banned word are gone from Instagram; the rest stay.
    let doomed: HashSet<String> = comments
        .iter()
        .filter(|c| c["tone"] == "NEGATIVE" || c["text"].as_str().unwrap().contains("광고"))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert!(!doomed.is_empty() && doomed.len() < comments.len());
    let after = sandbox(&t, "/_local/instagram/accounts/meongmeong_daily").await;
    let deleted: HashSet<String> =
        after["deleted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(deleted, doomed, "exactly the negative and banned comments were deleted");
    let mixed_kept = comments.iter().filter(|c| c["tone"] == "MIXED").count();
    assert!(mixed_kept > 0, "mixed comments exist and are kept");
    let calls = t.stack.comprehend.batch_calls() - comprehend_before;
    assert_eq!(calls as usize, comments.len().div_ceil(25), "batches of 25, not one call per comment");

    let stats = get(&t, &format!("/pets/{choco}/instagram/comments/stats"), &ann).await;
    assert_eq!(stats.body["total"], comments.len());
    assert_eq!(stats.body["deleted"], doomed.len());
    close(&stats.body["deletionRate"], round2(doomed.len() as f64 / comments.len() as f64 * 100.0), "deletion rate");
    let listed = get(&t, &format!("/pets/{choco}/instagram/comments?sentiment=NEGATIVE&limit=50"), &ann).await;
    for c in listed.body["items"].as_array().unwrap() {
        assert!(c["deletedFor"] == "NEGATIVE" || c["deletedFor"] == "BANNED_WORD", "{c}");
    }

    // A redelivered message stores nothing twice.
    for _ in 0..2 {
        send_order(&t, "SYNC", &choco).await;
    }
    let calls_before = t.stack.comprehend.batch_calls();
    t.settle().await;
    let again = get(&t, &format!("/pets/{choco}/instagram/comments/stats"), &ann).await;
    assert_eq!(again.body, stats.body, "counts unchanged by redelivery");
    assert_eq!(t.stack.comprehend.batch_calls(), calls_before, "no comment classified twice");
    let history = get(&t, &format!("/pets/{choco}/instagram/followers/history"), &ann).await;
    assert_eq!(history.body["points"].as_array().unwrap().len(), 1, "one point per day");

    // Asking for a sync: once per 10 minutes.
    clock.advance(chrono::Duration::minutes(11));
    let last = get(&t, &format!("/pets/{choco}/instagram"), &ann).await.body["lastSyncedAt"].clone();
    ok(&t.post(&format!("/pets/{choco}/instagram/sync"), json!({}), Some(&ann.access)).await, 202, "sync now");
    let too_soon = t.post(&format!("/pets/{choco}/instagram/sync"), json!({}), Some(&ann.access)).await;
    ok(&too_soon, 429, "again at once");
    assert_eq!(too_soon.body["code"], "SYNC_TOO_SOON");
    synced(&t, &ann, &choco, last.as_str()).await;
    t.stop().await;
}

#[tokio::test]
async fn a_rate_limited_sync_waits_and_completes_and_poison_goes_to_the_dead_letter_queue() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    t.stack.queues.hold("sns-sync", true);
    ok(&link(&t, &ann, &choco, "meongmeong_daily").await, 201, "link");
    // Instagram refuses the next three calls with its rate-limit error.
    let r = reqwest::Client::new()
        .post(format!("{}/_local/instagram/rate-limit", t.stack.sandbox_url))
        .json(&json!({"calls": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    let calls_before = t.stack.instagram.graph_calls();
    t.stack.queues.hold("sns-sync", false);
    let account = synced(&t, &ann, &choco, None).await;
    assert_eq!(account["followersCount"], 12_480);
    assert!(t.stack.instagram.graph_calls() - calls_before > 3, "the refused calls were made again");
    t.settle().await;
    assert_eq!(t.stack.queues.depth("sns-sync-dlq"), Some((0, 0)), "waiting out a rate limit is not a failure");

    // A message that can never succeed goes to the dead-letter queue at once.
    let url = t.stack.ctx.config.queue_url(&instagram::link::SNS_SYNC).to_string();
    for poison in [r#"{"kind":"SYNC","petId":"nope"}"#, r#"{"kind":"SYNC","petId":"../x","connectionId":"y"}"#] {
        t.stack.ctx.sqs.send_message().queue_url(&url).message_body(poison).send().await.unwrap();
    }
    t.eventually(Duration::from_secs(10), "poison in the DLQ", || async {
        (t.stack.queues.depth("sns-sync-dlq") == Some((2, 0))).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn tokens_are_refreshed_before_they_expire_and_a_revoked_one_ends_the_link() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    ok(&link(&t, &ann, &choco, "new_pup_coco").await, 201, "link");
    synced(&t, &ann, &choco, None).await;
    t.settle().await;

    // Far from expiry: nothing to do.
    let run = t.post("/_local/jobs/instagram-tokens/run", json!({}), None).await;
    assert_eq!(run.body["result"], json!({"refreshed": 0, "removed": 0, "later": 0}), "{:?}", run.body);
    // Fifty-two days on, the 60-day token is refreshed.
    clock.advance(chrono::Duration::days(52));
    let run = t.post("/_local/jobs/instagram-tokens/run", json!({}), None).await;
    assert_eq!(run.body["result"]["refreshed"], 1, "{:?}", run.body);
    let run = t.post("/_local/jobs/instagram-tokens/run", json!({}), None).await;
    assert_eq!(run.body["result"]["refreshed"], 0, "the fresh token is not due");
    // The refreshed token still works: a sync goes through.
    let ann =
        Session { access: t.login("ann@example.com", PW).await.body["accessToken"].as_str().unwrap().into(), ..ann };
    let last = get(&t, &format!("/pets/{choco}/instagram"), &ann).await.body["lastSyncedAt"].clone();
    ok(&t.post(&format!("/pets/{choco}/instagram/sync"), json!({}), Some(&ann.access)).await, 202, "sync");
    synced(&t, &ann, &choco, last.as_str()).await;

    // Revoked on Instagram's side: the next refresh ends the link.
    let r = reqwest::Client::new()
        .post(format!("{}/_local/instagram/revoke", t.stack.sandbox_url))
        .json(&json!({"username": "new_pup_coco"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    clock.advance(chrono::Duration::days(52));
    let run = t.post("/_local/jobs/instagram-tokens/run", json!({}), None).await;
    assert_eq!(run.body["result"]["removed"], 1, "{:?}", run.body);
    let ann =
        Session { access: t.login("ann@example.com", PW).await.body["accessToken"].as_str().unwrap().into(), ..ann };
    assert_eq!(get(&t, &format!("/pets/{choco}/instagram"), &ann).await.body["code"], "INSTAGRAM_NOT_CONNECTED");
    t.stop().await;
}

#[tokio::test]
async fn only_the_owner_reaches_a_pets_instagram() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let eve = t.user("eve@example.com", "eve", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    ok(&link(&t, &ann, &choco, "meongmeong_daily").await, 201, "link");
    synced(&t, &ann, &choco, None).await;

    let routes = [
        (Method::POST, "/connect", Some(json!({}))),
        (Method::DELETE, "", None),
        (Method::GET, "", None),
        (Method::PUT, "/settings", Some(json!({"autoDelete": true}))),
        (Method::POST, "/sync", Some(json!({}))),
        (Method::GET, "/banned-words", None),
        (Method::POST, "/banned-words", Some(json!({"word": "광고"}))),
        (Method::DELETE, "/banned-words?word=광고", None),
        (Method::GET, "/media", None),
        (Method::GET, "/media/top", None),
        (Method::GET, "/analysis/media", None),
        (Method::GET, "/analysis/insights", None),
        (Method::GET, "/followers/history", None),
        (Method::GET, "/comments", None),
        (Method::GET, "/comments/stats", None),
    ];
    for (method, tail, body) in routes {
        let path = format!("/pets/{choco}/instagram{tail}");
        let other = t.call(method.clone(), &path, body.clone(), Some(&eve.access)).await;
        assert_eq!(other.status, 403, "{method} {path} by another user: {:?}", other.body);
        assert_eq!(other.body["code"], "NOT_YOUR_PET");
        let anonymous = t.call(method.clone(), &path, body, None).await;
        assert_eq!(anonymous.status, 401, "{method} {path} anonymously");
    }
    // Another user's state is not theirs to finish, and their try does not use it up.
    let bori = pet(&t, &ann, "보리").await;
    let start = t.post(&format!("/pets/{bori}/instagram/connect"), json!({}), Some(&ann.access)).await;
    let state = start.body["state"].as_str().unwrap().to_string();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = format!("{}&sandbox_user=new_pup_coco", start.body["authorizeUrl"].as_str().unwrap());
    let location = browser.get(url).send().await.unwrap().headers()["location"].to_str().unwrap().to_string();
    let code = location
        .split('?')
        .nth(1)
        .unwrap()
        .trim_end_matches("#_")
        .split('&')
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_string();
    let finish = |who: &Session| {
        let body = json!({"code": code, "state": state});
        let token = who.access.clone();
        let t = &t;
        async move { t.post("/instagram/callback", body, Some(&token)).await }
    };
    assert_eq!(finish(&eve).await.body["code"], "INVALID_STATE");
    // Its owner finishes it after the pet is gone: no link to a pet that is not there.
    assert_eq!(t.call(Method::DELETE, &format!("/pets/{bori}"), None, Some(&ann.access)).await.status, 204);
    let gone = finish(&ann).await;
    assert_eq!((gone.status, gone.body["code"].as_str()), (404, Some("PET_NOT_FOUND")), "{:?}", gone.body);
    assert_eq!(finish(&ann).await.body["code"], "INVALID_STATE", "a state is good once");
    // The account is still linked and readable by its owner.
    ok(&get(&t, &format!("/pets/{choco}/instagram/analysis/media"), &ann).await, 200, "owner");
    assert_eq!(get(&t, &format!("/pets/{choco}/instagram/followers/history?days=0"), &ann).await.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn the_owner_deletes_and_searches_comments_and_rules_added_later_rejudge_the_stored_ones() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let choco = pet(&t, &ann, "초코").await;
    ok(&link(&t, &ann, &choco, "meongmeong_daily").await, 201, "link");
    synced(&t, &ann, &choco, None).await;
    t.settle().await;
    let raw = sandbox(&t, "/_local/instagram/accounts/meongmeong_daily").await;
    let comments = recent_comments(&raw, t.stack.ctx.now());
    let gone = || async {
        let after = sandbox(&t, "/_local/instagram/accounts/meongmeong_daily").await;
        after["deleted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<HashSet<_>>()
    };
    assert!(gone().await.is_empty(), "auto-delete is off: nothing deleted yet");

    // Search the stored comments by a word of one of them.
    let kept: Vec<&Value> = comments.iter().filter(|c| c["tone"] == "POSITIVE").collect();
    let first = kept[0];
    let word: String =
        first["text"].as_str().unwrap().split_whitespace().find(|w| w.chars().count() >= 2).unwrap().into();
    let found = get(&t, &format!("/pets/{choco}/instagram/comments?q={}&limit=50", urlencoding(&word)), &ann).await;
    ok(&found, 200, "search");
    let items = found.body["items"].as_array().unwrap();
    assert!(items.iter().any(|c| c["id"] == first["id"]), "{word}: {items:?}");
    assert!(items.iter().all(|c| c["text"].as_str().unwrap().to_lowercase().contains(&word.to_lowercase())));

    // The owner deletes one by hand: on Instagram and on record; twice is once.
    let one = first["id"].as_str().unwrap();
    let path = format!("/pets/{choco}/instagram/comments/{one}");
    ok(&t.call(Method::DELETE, &path, None, Some(&ann.access)).await, 204, "delete one");
    ok(&t.call(Method::DELETE, &path, None, Some(&ann.access)).await, 204, "delete again");
    assert_eq!(gone().await, HashSet::from([one.to_string()]));
    let missing =
        t.call(Method::DELETE, &format!("/pets/{choco}/instagram/comments/nosuch123"), None, Some(&ann.access)).await;
    assert_eq!((missing.status, missing.body["code"].as_str()), (404, Some("COMMENT_NOT_FOUND")));

    // Auto-delete turned on: the stored negative comments are judged again and deleted.
    auto_delete_on(&t, &ann, &choco).await;
    t.settle().await;
    let negative: HashSet<String> =
        comments.iter().filter(|c| c["tone"] == "NEGATIVE").map(|c| c["id"].as_str().unwrap().to_string()).collect();
    assert!(!negative.is_empty());
    let mut expected: HashSet<String> = negative.iter().cloned().chain([one.to_string()]).collect();
    assert_eq!(gone().await, expected);

    // A banned word added later removes the stored comments holding it.
    let fold = |s: &str| s.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let other = kept.iter().find(|c| c["id"] != first["id"]).unwrap();
    let banned: String =
        other["text"].as_str().unwrap().split_whitespace().find(|w| w.chars().count() >= 2).unwrap().into();
    let holding: HashSet<String> = comments
        .iter()
        .filter(|c| fold(c["text"].as_str().unwrap()).contains(&fold(&banned)))
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    ok(
        &t.post(&format!("/pets/{choco}/instagram/banned-words"), json!({"word": banned}), Some(&ann.access)).await,
        201,
        "ban",
    );
    t.settle().await;
    expected.extend(holding.iter().cloned());
    assert_eq!(gone().await, expected, "the comments holding '{banned}' went too");

    // Every deletion is on record, with who or what rule and why.
    let mut records = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(&t, &format!("/pets/{choco}/instagram/deletions?limit=50{cursor}"), &ann).await;
        ok(&page, 200, "deletions");
        records.extend(page.body["items"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(c) => cursor = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(records.len(), expected.len(), "{records:?}");
    let by_owner: Vec<&Value> = records.iter().filter(|r| r["by"] == "OWNER").collect();
    assert_eq!((by_owner.len(), by_owner[0]["commentId"].as_str()), (1, Some(one)));
    assert!(
        records
            .iter()
            .filter(|r| r["reason"] == "BANNED_WORD")
            .all(|r| r["word"] == banned.as_str() && r["by"] == "REJUDGE")
    );
    assert!(records.iter().filter(|r| r["reason"] == "NEGATIVE").all(|r| r["by"] == "REJUDGE"));
    let stats = get(&t, &format!("/pets/{choco}/instagram/comments/stats"), &ann).await;
    assert_eq!(stats.body["deleted"], expected.len());

    // Delivered again, a re-judgement deletes nothing twice.
    send_order(&t, "REJUDGE", &choco).await;
    t.settle().await;
    assert_eq!(get(&t, &format!("/pets/{choco}/instagram/comments/stats"), &ann).await.body["deleted"], expected.len());
    t.stop().await;
}

/// Turns auto-delete on for `pet`'s account, as its owner `who`.
async fn auto_delete_on(t: &TestStack, who: &Session, pet: &str) -> Reply {
    let path = format!("/pets/{pet}/instagram/settings");
    let on = t.call(Method::PUT, &path, Some(json!({"autoDelete": true})), Some(&who.access)).await;
    ok(&on, 200, "auto-delete on");
    on
}

/// Puts a sync order of `kind` for `pet`'s linked account on the sync queue, as the outbox would.
async fn send_order(t: &TestStack, kind: &str, pet: &str) {
    let key = shared::table::Key::new(format!("PET#{pet}"), "INSTAGRAM");
    let link_item = t.stack.ctx.table.get_item(&key).await.unwrap().unwrap();
    let connection = link_item["connectionId"].as_s().unwrap().clone();
    let body = json!({"kind": kind, "petId": pet, "connectionId": connection}).to_string();
    let url = t.stack.ctx.config.queue_url(&instagram::link::SNS_SYNC).to_string();
    t.stack.ctx.sqs.send_message().queue_url(&url).message_body(&body).send().await.unwrap();
}

fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}
