//! The community board over HTTP: posts by type, exact comment counts with one level of
//! replies, Korean search kept by a worker, notifications to authors and never across a block,
//! soft deletes gone from lists and search, and moderation through reports and admin removal.

use std::time::Duration;

use integration_tests::{Reply, Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

fn ok(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.body);
}

async fn post(t: &TestStack, who: &Session, kind: &str, title: &str, content: &str) -> String {
    let r =
        t.post("/community/posts", json!({"type": kind, "title": title, "content": content}), Some(&who.access)).await;
    ok(&r, 201, "community post");
    r.body["id"].as_str().unwrap().to_string()
}

async fn comment(t: &TestStack, who: &Session, post: &str, content: &str, parent: Option<&str>) -> Reply {
    let body = json!({"content": content, "parentId": parent});
    t.post(&format!("/community/posts/{post}/comments"), body, Some(&who.access)).await
}

async fn get(t: &TestStack, path: &str, who: Option<&Session>) -> Reply {
    t.call(Method::GET, path, None, who.map(|w| w.access.as_str())).await
}

fn ids(r: &Reply) -> Vec<String> {
    r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
}

async fn search(t: &TestStack, q: &str, kind: Option<&str>) -> Vec<String> {
    let mut path = format!("/search/community?q={}", urlencode(q));
    if let Some(k) = kind {
        path.push_str(&format!("&type={k}"));
    }
    let r = get(t, &path, None).await;
    ok(&r, 200, "search");
    ids(&r)
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

async fn inbox(t: &TestStack, who: &Session) -> Vec<Value> {
    get(t, "/notifications?limit=50", Some(who)).await.body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn posts_comments_and_search_work_like_a_board_should() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;

    let info =
        post(&t, &ann, "INFORMATION", "한강 산책 코스 추천", "오늘은 한강에서 산책했어요. 강아지가 좋아해요").await;
    let question = post(&t, &bob, "QUESTION", "사료 추천해 주세요", "말티즈가 먹을 사료를 찾고 있어요").await;
    let bad =
        t.post("/community/posts", json!({"type": "NEWS", "title": "x", "content": "y"}), Some(&ann.access)).await;
    assert_eq!(bad.status, 400);
    let long = t
        .post(
            "/community/posts",
            json!({"type": "QUESTION", "title": "가".repeat(101), "content": "y"}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(long.body["errors"][0]["field"], "title");

    // Lists: newest first, by type (indexes, a moment behind), mine (at once).
    t.indexed().await;
    assert_eq!(ids(&get(&t, "/community/posts", None).await), vec![question.clone(), info.clone()]);
    assert_eq!(ids(&get(&t, "/community/posts?type=INFORMATION", None).await), vec![info.clone()]);
    assert_eq!(ids(&get(&t, "/users/me/community/posts", Some(&bob)).await), vec![question.clone()]);

    // Each read counts a view.
    get(&t, &format!("/community/posts/{info}"), None).await;
    let r = get(&t, &format!("/community/posts/{info}"), Some(&bob)).await;
    assert_eq!((r.body["viewCount"].as_i64(), r.body["type"].as_str()), (Some(2), Some("INFORMATION")));

    // Comments: oldest first, each reply after its parent; the count is exact.
    let c1 = comment(&t, &bob, &info, "좋은 정보 감사해요", None).await;
    ok(&c1, 201, "comment");
    let c1 = c1.body["id"].as_str().unwrap().to_string();
    let c2 = comment(&t, &ann, &info, "저도 가볼게요", None).await.body["id"].as_str().unwrap().to_string();
    let reply = comment(&t, &ann, &info, "네 감사합니다!", Some(&c1)).await;
    ok(&reply, 201, "reply");
    let reply = reply.body["id"].as_str().unwrap().to_string();
    let deep = comment(&t, &bob, &info, "답글의 답글", Some(&reply)).await;
    assert_eq!(deep.body["errors"][0]["code"], "TOO_DEEP");
    let listed = get(&t, &format!("/community/posts/{info}/comments"), None).await;
    assert_eq!(ids(&listed), vec![c1.clone(), reply.clone(), c2.clone()]);
    t.settle().await; // the count follows from the stream
    assert_eq!(get(&t, &format!("/community/posts/{info}"), None).await.body["commentCount"], 3);

    // Only authors edit; a deleted comment with a reply shows as deleted above it.
    let path = format!("/community/comments/{c1}");
    let r = t.call(Method::PATCH, &path, Some(json!({"content": "수정"})), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("NOT_YOUR_COMMENT")));
    ok(&t.call(Method::PATCH, &path, Some(json!({"content": "정말 감사해요"})), Some(&bob.access)).await, 200, "edit");
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&bob.access)).await.status, 204);
    let listed = get(&t, &format!("/community/posts/{info}/comments"), None).await;
    assert_eq!(ids(&listed), vec![c1.clone(), reply.clone(), c2.clone()]);
    assert_eq!(
        (listed.body["items"][0]["deleted"].as_bool(), listed.body["items"][0]["content"].as_str()),
        (Some(true), Some(""))
    );
    assert!(listed.body["items"][0]["author"].is_null());
    assert_eq!(t.call(Method::DELETE, &format!("/community/comments/{c2}"), None, Some(&ann.access)).await.status, 204);
    t.settle().await; // the count follows from the stream
    assert_eq!(get(&t, &format!("/community/posts/{info}"), None).await.body["commentCount"], 1);

    // Korean search: 산책 finds 산책했어요; by type; the whole query must be there.
    t.settle().await;
    assert_eq!(search(&t, "산책", None).await, vec![info.clone()]);
    assert_eq!(search(&t, "산책했", None).await, vec![info.clone()]);
    assert_eq!(search(&t, "사료", Some("QUESTION")).await, vec![question.clone()]);
    assert!(search(&t, "사료", Some("INFORMATION")).await.is_empty());
    assert!(search(&t, "산책 사료", None).await.is_empty());
    // An edit is searched as it is now.
    let r = t
        .call(
            Method::PATCH,
            &format!("/community/posts/{question}"),
            Some(json!({"content": "고양이 간식도 궁금해요"})),
            Some(&bob.access),
        )
        .await;
    ok(&r, 200, "edit post");
    let r = t
        .call(Method::PATCH, &format!("/community/posts/{question}"), Some(json!({"title": "x"})), Some(&ann.access))
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("NOT_YOUR_POST")));
    t.settle().await;
    assert_eq!(search(&t, "간식", None).await, vec![question.clone()]);
    assert_eq!(search(&t, "말티즈", None).await, Vec::<String>::new());

    // A soft delete: gone from lists, search and reads; its comments cannot grow.
    assert_eq!(t.call(Method::DELETE, &format!("/community/posts/{info}"), None, Some(&bob.access)).await.status, 403);
    assert_eq!(t.call(Method::DELETE, &format!("/community/posts/{info}"), None, Some(&ann.access)).await.status, 204);
    t.indexed().await;
    assert_eq!(ids(&get(&t, "/community/posts", None).await), vec![question.clone()]);
    assert_eq!(get(&t, &format!("/community/posts/{info}"), None).await.status, 404);
    assert_eq!(comment(&t, &bob, &info, "늦은 댓글", None).await.status, 404);
    t.settle().await;
    assert!(search(&t, "산책", None).await.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn authors_are_told_of_comments_and_replies_never_their_own_and_never_across_a_block() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let p = post(&t, &ann, "QUESTION", "산책 몇 번?", "하루 몇 번 하세요?").await;
    let c = comment(&t, &bob, &p, "두 번이요", None).await.body["id"].as_str().unwrap().to_string();
    ok(&comment(&t, &ann, &p, "감사해요", Some(&c)).await, 201, "reply");
    ok(&comment(&t, &ann, &p, "제 글에 제가", None).await, 201, "own");
    t.settle().await;
    let anns = inbox(&t, &ann).await;
    assert_eq!(anns.len(), 1, "{anns:?}");
    assert_eq!((anns[0]["type"].as_str(), anns[0]["targetId"].as_str()), (Some("COMMUNITY"), Some(p.as_str())));
    assert!(anns[0]["body"].as_str().unwrap().contains("두 번이요"));
    let bobs = inbox(&t, &bob).await;
    assert_eq!(bobs.len(), 1, "the reply: {bobs:?}");

    // Blocks hide both ways and refuse comments across them.
    ok(&t.call(Method::PUT, &format!("/users/{}/block", cat.user_id), None, Some(&ann.access)).await, 200, "block");
    let r = comment(&t, &cat, &p, "안녕하세요", None).await;
    assert!(r.status == 403 || r.status == 404, "{:?}", r.body);
    assert!(!ids(&get(&t, "/community/posts", Some(&cat)).await).contains(&p));
    let cats = post(&t, &cat, "INFORMATION", "고양이 정보", "고양이 이야기").await;
    t.indexed().await;
    assert!(!ids(&get(&t, "/community/posts", Some(&ann)).await).contains(&cats));
    assert!(ids(&get(&t, "/community/posts", Some(&bob)).await).contains(&cats));
    t.settle().await;
    assert_eq!(inbox(&t, &ann).await.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn reported_and_removed_community_content_leaves_the_board_and_its_author_is_told() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let spam = post(&t, &ann, "INFORMATION", "광고 산책 용품 할인", "지금 구매하세요").await;
    let keep = post(&t, &bob, "QUESTION", "산책 질문", "산책 시간은?").await;
    let rude = comment(&t, &ann, &keep, "욕설 댓글", None).await.body["id"].as_str().unwrap().to_string();
    t.settle().await; // the count follows from the stream
    assert_eq!(get(&t, &format!("/community/posts/{keep}"), None).await.body["commentCount"], 1);

    // A report on a community post, decided DELETE_CONTENT: gone, and the author told.
    let r = t
        .post(
            "/reports",
            json!({"targetType": "COMMUNITY_POST", "targetId": spam, "category": "SPAM"}),
            Some(&bob.access),
        )
        .await;
    ok(&r, 201, "report");
    assert_eq!(r.body["snapshot"]["text"], "광고 산책 용품 할인\n지금 구매하세요");
    let report = r.body["id"].as_str().unwrap().to_string();
    let d = t
        .post(&format!("/admin/reports/{report}/decision"), json!({"result": "DELETE_CONTENT"}), Some(&root.access))
        .await;
    ok(&d, 200, "decision");
    t.eventually(Duration::from_secs(10), "the post removed", || async {
        (get(&t, &format!("/community/posts/{spam}"), None).await.status == 404).then_some(())
    })
    .await;
    // A moderator removes a comment directly (with a reason): gone, counted, told.
    let path = format!("/admin/community/comments/{rude}?reason=%EC%9A%95%EC%84%A4");
    ok(&t.call(Method::DELETE, &path, None, Some(&root.access)).await, 202, "removal");
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&bob.access)).await.status, 403);
    t.settle().await;
    assert!(ids(&get(&t, &format!("/community/posts/{keep}/comments"), None).await).is_empty());
    t.settle().await; // the count follows from the stream
    assert_eq!(get(&t, &format!("/community/posts/{keep}"), None).await.body["commentCount"], 0);
    let told: Vec<String> = inbox(&t, &ann)
        .await
        .iter()
        .filter(|n| n["type"] == "CONTENT_REMOVED")
        .map(|n| n["targetType"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told.contains(&"COMMUNITY_POST".to_string()) && told.contains(&"COMMUNITY_COMMENT".to_string()));
    assert!(search(&t, "광고", None).await.is_empty());
    t.indexed().await; // the audit trail is an index
    let trail = get(&t, &format!("/admin/audit?targetId={rude}"), Some(&root)).await;
    assert_eq!(trail.body["items"][0]["action"], "CONTENT_DELETE");
    // Removing what is gone: 404.
    let again =
        t.call(Method::DELETE, &format!("/admin/community/posts/{spam}?reason=x"), None, Some(&root.access)).await;
    assert_eq!(again.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn twenty_racing_likes_count_once_per_user_and_the_author_hears_once_from_each() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut likers = Vec::new();
    for i in 0..10 {
        likers.push(t.user(&format!("fan{i}@example.com"), &format!("fan{i}"), PW).await);
    }
    let id = post(&t, &ann, "INFORMATION", "강아지 간식 추천", "고구마 말랭이가 좋아요").await;
    let path = format!("/community/posts/{id}/like");

    // Every liker twice, all at once: 20 racing requests, one like each.
    let answers =
        futures::future::join_all((0..20).map(|i| t.call(Method::PUT, &path, None, Some(&likers[i / 2].access)))).await;
    for a in &answers {
        assert_eq!((a.status, a.body["liked"].as_bool()), (200, Some(true)), "{:?}", a.body);
    }
    let counted = t
        .eventually(Duration::from_secs(10), "the likes counted on the post", || async {
            let p = get(&t, &format!("/community/posts/{id}"), None).await;
            (p.body["likeCount"] == 10).then_some(p)
        })
        .await;
    assert_eq!(counted.body["likedByMe"], false, "nobody signed in");
    assert_eq!(get(&t, &format!("/community/posts/{id}"), Some(&likers[3])).await.body["likedByMe"], true);
    assert_eq!(get(&t, &format!("/community/posts/{id}"), Some(&ann)).await.body["likedByMe"], false);
    t.indexed().await;
    let listed = get(&t, "/community/posts", Some(&likers[0])).await;
    assert_eq!(
        (listed.body["items"][0]["likeCount"].as_i64(), listed.body["items"][0]["likedByMe"].as_bool()),
        (Some(10), Some(true))
    );

    // Unliking twice at once is unliking once; liking again is not told again.
    let (a, b) = futures::join!(
        t.call(Method::DELETE, &path, None, Some(&likers[0].access)),
        t.call(Method::DELETE, &path, None, Some(&likers[0].access)),
    );
    assert_eq!((a.status, b.status, a.body["liked"].as_bool()), (200, 200, Some(false)));
    t.eventually(Duration::from_secs(10), "the unlike counted", || async {
        (get(&t, &format!("/community/posts/{id}"), None).await.body["likeCount"] == 9).then_some(())
    })
    .await;
    assert_eq!(t.call(Method::PUT, &path, None, Some(&likers[0].access)).await.status, 200);
    t.settle().await;
    let told: Vec<Value> = inbox(&t, &ann)
        .await
        .into_iter()
        .filter(|n| n["type"] == "LIKE" && n["targetType"] == "COMMUNITY_POST")
        .collect();
    assert_eq!(told.len(), 10, "once from each liker: {told:?}");

    // Across a block the post is not there to like.
    let eve = t.user("eve@example.com", "eve", PW).await;
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", eve.user_id), None, Some(&ann.access)).await.status,
        200
    );
    let blocked = t.call(Method::PUT, &path, None, Some(&eve.access)).await;
    assert_eq!((blocked.status, blocked.body["code"].as_str()), (404, Some("POST_NOT_FOUND")));
    assert_eq!(t.call(Method::PUT, &path, None, None).await.status, 401);
    t.settle().await;
    let report = community::audit::run(&t.stack.ctx, false).await.unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    assert!(report.checked >= 2);
    t.stop().await;
}
