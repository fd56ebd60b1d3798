//! The social core end to end over HTTP: pets, the diary, likes, comments, follows, blocks,
//! search, trends, reports and notifications — with the races, the paging and the call counts.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn users(t: &TestStack, prefix: &str, n: usize) -> Vec<Session> {
    let mut out = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(10) {
        let batch = chunk.iter().map(|i| t.user_owned(format!("{prefix}{i}@example.com"), format!("{prefix}{i}")));
        out.extend(futures::future::join_all(batch).await);
    }
    out
}

trait Owned {
    fn user_owned(&self, email: String, nick: String) -> impl std::future::Future<Output = Session>;
}
impl Owned for TestStack {
    async fn user_owned(&self, email: String, nick: String) -> Session {
        self.user(&email, &nick, PW).await
    }
}

async fn post(t: &TestStack, who: &Session, content: &str) -> Value {
    let r = t.post("/posts", json!({"content": content}), Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_breed_catalogue() {
    let t = TestStack::start().await;
    let dogs = t.get("/species?kind=DOG").await.body["items"].as_array().unwrap().len();
    let cats = t.get("/species?kind=cat").await.body["items"].as_array().unwrap().len();
    assert!(dogs >= 50 && cats >= 30, "{dogs} dogs, {cats} cats");
    let r = t.get("/species?q=%EB%A7%90%ED%8B%B0").await; // 말티
    assert_eq!(r.body["items"][0]["nameEn"], "Maltese");
    assert_eq!(r.body["items"][0]["size"], "SMALL");
    let r = t.get("/species?q=retriever").await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(t.get("/species?kind=BIRD").await.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn pets_belong_to_their_owner_and_one_is_main() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;

    let r = t.post("/pets", json!({"name": "초코", "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14", "weightKg": 3.2}), Some(&ann.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["isMain"], true);
    assert_eq!(r.body["species"]["nameKo"], "말티즈");
    let choco = r.body["id"].as_str().unwrap().to_string();
    let r =
        t.post("/pets", json!({"name": "초코", "speciesId": "cat-persian", "gender": "MALE"}), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("PET_NAME_TAKEN")));
    let r =
        t.post("/pets", json!({"name": "나비", "speciesId": "cat-persian", "gender": "MALE"}), Some(&ann.access)).await;
    assert_eq!(r.body["isMain"], false);
    let nabi = r.body["id"].as_str().unwrap().to_string();
    // Another owner may use the same name.
    assert_eq!(
        t.post("/pets", json!({"name": "초코", "speciesId": "dog-jindo", "gender": "MALE"}), Some(&bob.access))
            .await
            .status,
        201
    );

    for bad in [
        json!({"name": "x", "speciesId": "dog-unicorn", "gender": "MALE"}),
        json!({"name": "x", "speciesId": "dog-jindo", "gender": "MALE", "birthday": "2999-01-01"}),
        json!({"name": "", "speciesId": "dog-jindo", "gender": "X"}),
    ] {
        assert_eq!(t.post("/pets", bad.clone(), Some(&ann.access)).await.status, 400, "{bad}");
    }
    assert_eq!(
        t.post("/pets", json!({"name": "a", "speciesId": "dog-jindo", "gender": "MALE"}), None).await.status,
        401
    );

    assert_eq!(t.call(Method::GET, "/pets", None, Some(&ann.access)).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(t.get(&format!("/users/{}/pets", ann.user_id)).await.body["items"].as_array().unwrap().len(), 2);
    assert_eq!(t.get(&format!("/pets/{nabi}")).await.body["name"], "나비");

    // Only the owner changes or deletes.
    let r = t.call(Method::PATCH, &format!("/pets/{choco}"), Some(json!({"weightKg": 3.5})), Some(&bob.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("NOT_YOUR_PET")));
    assert_eq!(t.call(Method::DELETE, &format!("/pets/{choco}"), None, Some(&bob.access)).await.status, 403);
    let r = t
        .call(
            Method::PATCH,
            &format!("/pets/{choco}"),
            Some(json!({"weightKg": 3.5, "name": "초코칩"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!((r.status, r.body["weightKg"].as_f64(), r.body["name"].as_str()), (200, Some(3.5), Some("초코칩")));
    // The old name is free again.
    assert_eq!(
        t.post("/pets", json!({"name": "초코", "speciesId": "dog-jindo", "gender": "MALE"}), Some(&ann.access))
            .await
            .status,
        201
    );

    let profile = t.get(&format!("/users/{}", ann.user_id)).await;
    assert_eq!(profile.body["mainPet"]["id"], choco.as_str());
    assert_eq!(profile.body["mainPet"]["name"], "초코칩", "the profile shows the main pet as renamed");

    // Deleting the main pet moves "main" to another pet.
    assert_eq!(t.call(Method::DELETE, &format!("/pets/{choco}"), None, Some(&ann.access)).await.status, 204);
    let main = t.get(&format!("/users/{}", ann.user_id)).await.body["mainPet"]["id"].as_str().unwrap().to_string();
    assert_ne!(main, choco);
    let r = t.call(Method::PUT, "/users/me/main-pet", Some(json!({"petId": nabi})), Some(&ann.access)).await;
    assert_eq!(r.status, 200);
    assert_eq!(t.get(&format!("/users/{}", ann.user_id)).await.body["mainPet"]["name"], "나비");
    let r = t.call(Method::PUT, "/users/me/main-pet", Some(json!({"petId": nabi})), Some(&bob.access)).await;
    assert_eq!(r.status, 403);
    assert_eq!(t.get(&format!("/pets/{choco}")).await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn posts_hashtags_detail_edit_and_delete() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let pet = t
        .post("/pets", json!({"name": "초코", "speciesId": "dog-maltese", "gender": "FEMALE"}), Some(&ann.access))
        .await
        .body["id"]
        .clone();

    let r = t
        .post(
            "/posts",
            json!({"title": "한강", "content": "오늘은 한강에서 산책했어요 #산책 #한강#강아지 #산책", "petId": pet}),
            Some(&ann.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["hashtags"], json!(["산책", "한강", "강아지"]));
    assert_eq!(r.body["pet"]["name"], "초코");
    let id = r.body["id"].as_str().unwrap().to_string();
    let r = t.post("/posts", json!({"content": "x", "petId": pet}), Some(&bob.access)).await;
    assert_eq!(r.status, 400, "someone else's pet");

    let d = t.get(&format!("/posts/{id}")).await.body;
    for field in [
        "id",
        "author",
        "title",
        "content",
        "media",
        "hashtags",
        "likeCount",
        "commentCount",
        "likedByMe",
        "createdAt",
        "updatedAt",
    ] {
        assert!(d.get(field).is_some(), "{field} missing");
    }
    assert_eq!(d["author"]["nickname"], "ann");

    let r =
        t.call(Method::PATCH, &format!("/posts/{id}"), Some(json!({"content": "바꿨어요"})), Some(&bob.access)).await;
    assert_eq!(r.status, 403);
    let r = t
        .call(
            Method::PATCH,
            &format!("/posts/{id}"),
            Some(json!({"content": "공원에서 뛰었어요 #공원"})),
            Some(&ann.access),
        )
        .await;
    assert_eq!((r.status, r.body["hashtags"].clone()), (200, json!(["공원"])));

    assert_eq!(t.get(&format!("/users/{}", ann.user_id)).await.body["postCount"], 1);
    assert_eq!(t.call(Method::DELETE, &format!("/posts/{id}"), None, Some(&bob.access)).await.status, 403);
    assert_eq!(t.call(Method::DELETE, &format!("/posts/{id}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(t.get(&format!("/posts/{id}")).await.status, 404);
    t.indexed().await; // the lists are indexes, which lag
    assert!(ids(&t.get("/posts").await.body).is_empty());
    assert!(ids(&t.get("/search/posts?q=%EA%B3%B5%EC%9B%90&type=CONTENT").await.body).is_empty()); // 공원
    assert_eq!(t.get(&format!("/users/{}", ann.user_id)).await.body["postCount"], 0);
    t.stop().await;
}

#[tokio::test]
async fn paging_while_posting_returns_every_older_post_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut older = Vec::new();
    for i in 0..23 {
        older.push(post(&t, &ann, &format!("post {i}")).await["id"].as_str().unwrap().to_string());
    }
    t.indexed().await; // the list of every post is an index
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut round = 0;
    loop {
        // Someone posts between every page.
        post(&t, &ann, &format!("new {round}")).await;
        round += 1;
        let path = match &cursor {
            Some(c) => format!("/posts?limit=5&cursor={c}"),
            None => "/posts?limit=5".to_string(),
        };
        let page = t.get(&path).await.body;
        seen.extend(ids(&page));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "nothing twice");
    for id in &older {
        assert!(seen.contains(id), "{id} missing");
    }
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "newest first");
    assert_eq!(t.get("/posts?limit=0").await.status, 400);
    assert_eq!(t.get("/posts?cursor=tampered.cursor").await.body["code"], "INVALID_CURSOR");
    t.stop().await;
}

#[tokio::test]
async fn fifty_concurrent_likes_count_fifty_and_one_user_counts_once() {
    let t = TestStack::start().await;
    let author = t.user("author@example.com", "author", PW).await;
    let id = post(&t, &author, "like me").await["id"].as_str().unwrap().to_string();
    let likers = users(&t, "liker", 50).await;
    let like_path = format!("/posts/{id}/like");
    let likes = likers.iter().map(|u| t.call(Method::PUT, &like_path, None, Some(&u.access)));
    let replies = futures::future::join_all(likes).await;
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/posts/{id}")).await.body["likeCount"], 50);
    t.indexed().await; // the list shows the index's copy of the post
    assert_eq!(t.get("/posts").await.body["items"][0]["likeCount"], 50);

    let one = &likers[0];
    let again = (0..20).map(|_| t.call(Method::PUT, &like_path, None, Some(&one.access)));
    futures::future::join_all(again).await;
    t.settle().await;
    assert_eq!(t.get(&format!("/posts/{id}")).await.body["likeCount"], 50);
    let fresh = t.user("fresh@example.com", "fresh", PW).await;
    let twenty = (0..20).map(|_| t.call(Method::PUT, &like_path, None, Some(&fresh.access)));
    let replies = futures::future::join_all(twenty).await;
    assert!(replies.iter().all(|r| r.status == 200 && r.body["liked"] == true));
    t.settle().await;
    assert_eq!(t.get(&format!("/posts/{id}")).await.body["likeCount"], 51);
    assert_eq!(t.call(Method::GET, &format!("/posts/{id}"), None, Some(&fresh.access)).await.body["likedByMe"], true);
    assert_eq!(t.call(Method::GET, &format!("/posts/{id}"), None, Some(&author.access)).await.body["likedByMe"], false);

    let r = t.call(Method::DELETE, &format!("/posts/{id}/like"), None, Some(&fresh.access)).await;
    assert_eq!((r.body["liked"].clone(), r.body["likeCount"].clone()), (json!(false), json!(50)));
    t.settle().await;
    let r = t.call(Method::DELETE, &format!("/posts/{id}/like"), None, Some(&fresh.access)).await;
    assert_eq!(r.body["likeCount"], 50, "unlike is idempotent");
    t.indexed().await; // who liked is an index
    let who = t.get(&format!("/posts/{id}/likes?limit=50")).await.body;
    assert_eq!(who["items"].as_array().unwrap().len(), 50);
    assert!(who["items"][0]["nickname"].as_str().unwrap().starts_with("liker"));
    assert_eq!(t.call(Method::PUT, &format!("/posts/{id}/like"), None, None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn comments_and_replies() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let eve = t.user("eve@example.com", "eve", PW).await;
    let id = post(&t, &ann, "comment here").await["id"].as_str().unwrap().to_string();
    let path = format!("/posts/{id}/comments");

    let first = t.post(&path, json!({"content": "첫 댓글"}), Some(&bob.access)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let first_id = first.body["id"].as_str().unwrap().to_string();
    let second =
        t.post(&path, json!({"content": "두번째"}), Some(&eve.access)).await.body["id"].as_str().unwrap().to_string();
    let reply = t
        .post(&path, json!({"content": "답글", "parentId": first_id, "mentionUserId": bob.user_id}), Some(&ann.access))
        .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body["mention"]["nickname"], "bob");
    let reply_id = reply.body["id"].as_str().unwrap().to_string();
    let r = t.post(&path, json!({"content": "답글의 답글", "parentId": reply_id}), Some(&bob.access)).await;
    assert_eq!(r.status, 400, "one level deep");
    assert_eq!(t.post(&path, json!({"content": ""}), Some(&bob.access)).await.status, 400);
    assert_eq!(t.post(&path, json!({"content": "x".repeat(1001)}), Some(&bob.access)).await.status, 400);

    let list = t.get(&path).await.body;
    assert_eq!(
        ids(&list),
        vec![first_id.clone(), reply_id.clone(), second.clone()],
        "replies under their parent, oldest first"
    );
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/posts/{id}")).await.body["commentCount"], 3);

    // Edit: author only.
    assert_eq!(
        t.call(Method::PATCH, &format!("/comments/{first_id}"), Some(json!({"content": "고침"})), Some(&eve.access))
            .await
            .status,
        403
    );
    let r = t
        .call(Method::PATCH, &format!("/comments/{first_id}"), Some(json!({"content": "고침"})), Some(&bob.access))
        .await;
    assert_eq!((r.status, r.body["content"].as_str()), (200, Some("고침")));

    // Delete: a parent with replies shows as deleted; the post's author may delete others' comments.
    assert_eq!(t.call(Method::DELETE, &format!("/comments/{second}"), None, Some(&bob.access)).await.status, 403);
    assert_eq!(t.call(Method::DELETE, &format!("/comments/{first_id}"), None, Some(&bob.access)).await.status, 204);
    assert_eq!(t.call(Method::DELETE, &format!("/comments/{second}"), None, Some(&ann.access)).await.status, 204);
    let list = t.get(&path).await.body;
    assert_eq!(ids(&list), vec![first_id.clone(), reply_id.clone()]);
    assert_eq!(list["items"][0]["deleted"], true);
    assert_eq!(list["items"][0]["content"], "");
    assert!(list["items"][0]["author"].is_null());
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/posts/{id}")).await.body["commentCount"], 1);
    assert_eq!(t.call(Method::DELETE, &format!("/comments/{first_id}"), None, Some(&bob.access)).await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn follows_counts_and_feeds() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let old = post(&t, &bob, "bob before").await["id"].as_str().unwrap().to_string();

    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&ann.access)).await.status,
        400
    );
    assert_eq!(
        t.call(Method::PUT, "/users/01JD3K4Q5R6S7T8V9W0XYZABCD/follow", None, Some(&ann.access)).await.status,
        404
    );
    for _ in 0..3 {
        let r = t.call(Method::PUT, &format!("/users/{}/follow", bob.user_id), None, Some(&ann.access)).await;
        assert_eq!((r.status, r.body["following"].clone()), (200, json!(true)));
    }
    let s = t.call(Method::GET, &format!("/users/{}/follow-status", bob.user_id), None, Some(&ann.access)).await.body;
    assert_eq!(s, json!({"following": true, "followedBy": false}));
    let p = t.get(&format!("/users/{}", bob.user_id)).await.body;
    assert_eq!((p["followerCount"].clone(), p["followingCount"].clone()), (json!(1), json!(0)));
    assert_eq!(t.get(&format!("/users/{}", ann.user_id)).await.body["followingCount"], 1);
    assert_eq!(t.get(&format!("/users/{}/followers", bob.user_id)).await.body["items"][0]["nickname"], "ann");
    assert_eq!(t.get(&format!("/users/{}/following", ann.user_id)).await.body["items"][0]["nickname"], "bob");

    // The feed: Bob's earlier post (backfilled), his new one, and mine, newest first.
    let new = post(&t, &bob, "bob after").await["id"].as_str().unwrap().to_string();
    let mine = post(&t, &ann, "ann's own").await["id"].as_str().unwrap().to_string();
    let feed_is = |expected: Vec<String>| {
        let (t, token) = (&t, ann.access.clone());
        async move {
            t.eventually(Duration::from_secs(10), "the feed", || async {
                let got = ids(&t.call(Method::GET, "/feed", None, Some(&token)).await.body);
                (got == expected).then_some(())
            })
            .await
        }
    };
    feed_is(vec![mine.clone(), new.clone(), old.clone()]).await;

    // Edits show, deletions vanish, unfollowing removes Bob's posts.
    t.call(Method::PATCH, &format!("/posts/{new}"), Some(json!({"content": "edited"})), Some(&bob.access)).await;
    assert_eq!(t.call(Method::GET, "/feed", None, Some(&ann.access)).await.body["items"][1]["content"], "edited");
    t.call(Method::DELETE, &format!("/posts/{old}"), None, Some(&bob.access)).await;
    feed_is(vec![mine.clone(), new.clone()]).await;
    let r = t.call(Method::DELETE, &format!("/users/{}/follow", bob.user_id), None, Some(&ann.access)).await;
    assert_eq!(r.body["following"], false);
    assert_eq!(ids(&t.call(Method::GET, "/feed", None, Some(&ann.access)).await.body), vec![mine]);
    assert_eq!(t.get(&format!("/users/{}", bob.user_id)).await.body["followerCount"], 0);
    assert_eq!(
        t.call(Method::DELETE, &format!("/users/{}/follow", bob.user_id), None, Some(&ann.access)).await.status,
        200
    );
    assert_eq!(t.get(&format!("/users/{}", bob.user_id)).await.body["followerCount"], 0, "unfollow is idempotent");
    assert_eq!(t.call(Method::GET, "/feed", None, None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn blocks_end_follows_and_hide_content() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    t.call(Method::PUT, &format!("/users/{}/follow", bob.user_id), None, Some(&ann.access)).await;
    t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    let bobs = post(&t, &bob, "밥의 산책 일기 #산책").await["id"].as_str().unwrap().to_string();
    let anns = post(&t, &ann, "앤의 글").await["id"].as_str().unwrap().to_string();
    t.post(&format!("/posts/{anns}/comments"), json!({"content": "bob says hi"}), Some(&bob.access)).await;

    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", ann.user_id), None, Some(&ann.access)).await.status,
        400
    );
    let r = t.call(Method::PUT, &format!("/users/{}/block", bob.user_id), None, Some(&ann.access)).await;
    assert_eq!((r.status, r.body["blocked"].clone()), (200, json!(true)));
    for u in [&ann, &bob] {
        let p = t.get(&format!("/users/{}", u.user_id)).await.body;
        assert_eq!(
            (p["followerCount"].clone(), p["followingCount"].clone()),
            (json!(0), json!(0)),
            "follows ended both ways"
        );
    }
    // Neither can follow, like, comment or mention the other.
    for (who, other) in [(&ann, &bob), (&bob, &ann)] {
        let r = t.call(Method::PUT, &format!("/users/{}/follow", other.user_id), None, Some(&who.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("USER_BLOCKED")));
    }
    let r = t.call(Method::PUT, &format!("/posts/{anns}/like"), None, Some(&bob.access)).await;
    assert!(r.status == 403 || r.status == 404, "{:?}", r.body);
    let r = t.post(&format!("/posts/{anns}/comments"), json!({"content": "hey"}), Some(&bob.access)).await;
    assert!(r.status == 403 || r.status == 404);
    let carol = t.user("carol@example.com", "carol", PW).await;
    let carols = post(&t, &carol, "carol's").await["id"].as_str().unwrap().to_string();
    let r = t
        .post(
            &format!("/posts/{carols}/comments"),
            json!({"content": "@ann", "mentionUserId": ann.user_id}),
            Some(&bob.access),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("USER_BLOCKED")));

    // Ann no longer sees Bob anywhere (his post is indexed: others find it).
    t.settle().await;
    assert!(ids(&t.get("/search/posts?q=%EC%82%B0%EC%B1%85").await.body).contains(&bobs));
    let a = Some(ann.access.as_str());
    assert!(!ids(&t.call(Method::GET, "/posts", None, a).await.body).contains(&bobs));
    assert!(ids(&t.get("/posts").await.body).contains(&bobs), "others still see it");
    assert!(!ids(&t.call(Method::GET, "/feed", None, a).await.body).contains(&bobs));
    assert!(ids(&t.call(Method::GET, "/search/posts?q=%EC%82%B0%EC%B1%85", None, a).await.body).is_empty());
    assert_eq!(
        t.call(Method::GET, &format!("/posts/{anns}/comments"), None, a).await.body["items"].as_array().unwrap().len(),
        0
    );
    assert_eq!(t.call(Method::GET, &format!("/posts/{bobs}"), None, a).await.status, 404);
    assert!(t.call(Method::GET, "/search/users?q=bo", None, a).await.body["items"].as_array().unwrap().is_empty());
    let blocks = t.call(Method::GET, "/users/me/blocks", None, a).await.body;
    assert_eq!(blocks["items"][0]["id"], bob.user_id.as_str());

    // Bob blocks Ann too; Ann's unblock leaves Bob's block standing: still hidden both ways.
    let b = Some(bob.access.as_str());
    assert_eq!(t.call(Method::PUT, &format!("/users/{}/block", ann.user_id), None, b).await.status, 200);
    assert_eq!(t.call(Method::DELETE, &format!("/users/{}/block", bob.user_id), None, a).await.body["blocked"], false);
    assert_eq!(t.call(Method::DELETE, &format!("/users/{}/block", bob.user_id), None, a).await.status, 200, "again");
    assert!(!ids(&t.call(Method::GET, "/posts", None, a).await.body).contains(&bobs));
    assert!(!ids(&t.call(Method::GET, "/posts", None, b).await.body).contains(&anns));
    assert_eq!(t.call(Method::GET, &format!("/posts/{bobs}"), None, a).await.status, 404);
    let r = t.call(Method::PUT, &format!("/users/{}/follow", bob.user_id), None, a).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("USER_BLOCKED")));
    // Bob's unblock ends it.
    assert_eq!(t.call(Method::DELETE, &format!("/users/{}/block", ann.user_id), None, b).await.body["blocked"], false);
    assert!(ids(&t.call(Method::GET, "/posts", None, a).await.body).contains(&bobs));
    assert!(ids(&t.call(Method::GET, "/posts", None, b).await.body).contains(&anns));
    assert_eq!(t.call(Method::GET, &format!("/posts/{bobs}"), None, a).await.status, 200);
    assert_eq!(t.call(Method::PUT, &format!("/users/{}/follow", bob.user_id), None, a).await.status, 200);
    // What each signed-in request reads about whom its caller does not see agrees with the
    // block relations.
    let drift: Vec<_> = local_stack::catalog::audit_all(&t.stack.ctx, false)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|(_, r)| r.drift)
        .filter(|d| d.counter == "blocks between two users")
        .collect();
    assert!(drift.is_empty(), "{drift:?}");
    t.stop().await;
}

#[tokio::test]
async fn search_finds_korean_text_tags_titles_authors_and_users() {
    let t = TestStack::start().await;
    let mina = t.user("mina@example.com", "mina_walks", PW).await;
    let minsu = t.user("minsu@example.com", "minsu", PW).await;
    let walk = t
        .post(
            "/posts",
            json!({"title": "한강 나들이", "content": "오늘은 한강에서 산책했어요 #산책 #Seoul"}),
            Some(&mina.access),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = post(&t, &minsu, "집에서 낮잠을 잤어요 #낮잠").await["id"].as_str().unwrap().to_string();

    let search = |q: &str, kind: &str| {
        let q = q.to_string();
        let kind = kind.to_string();
        let t = &t;
        async move {
            ids(&t
                .send(t.http.get(t.url("/search/posts")).query(&[("q", q.as_str()), ("type", kind.as_str())]))
                .await
                .body)
        }
    };
    t.settle().await; // posts are indexed by the post-index worker
    assert_eq!(search("산책", "CONTENT").await, vec![walk.clone()]);
    assert_eq!(search("한강에서", "CONTENT").await, vec![walk.clone()]);
    assert!(search("산책로", "CONTENT").await.is_empty());
    assert_eq!(search("나들이", "TITLE").await, vec![walk.clone()]);
    assert_eq!(search("#seoul", "HASHTAG").await, vec![walk.clone()]);
    assert_eq!(search("낮잠", "HASHTAG").await, vec![other.clone()]);
    assert_eq!(search("MINSU", "AUTHOR").await, vec![other.clone()]);
    assert_eq!(t.get("/search/posts?q=").await.status, 400);
    assert_eq!(t.get("/search/posts?q=a&type=COLOR").await.status, 400);

    // Edits move a post in the index.
    t.call(Method::PATCH, &format!("/posts/{walk}"), Some(json!({"content": "공원에서 뛰었어요"})), Some(&mina.access))
        .await;
    assert!(search("산책", "CONTENT").await.is_empty(), "what an edit removed is gone at once");
    t.settle().await;
    assert_eq!(search("공원", "CONTENT").await, vec![walk.clone()]);

    let users = t.get("/search/users?q=MIN").await.body;
    let nicks: Vec<&str> = users["items"].as_array().unwrap().iter().map(|u| u["nickname"].as_str().unwrap()).collect();
    assert_eq!(nicks, vec!["mina_walks", "minsu"]);
    assert_eq!(t.get("/search/users?q=minA").await.body["items"].as_array().unwrap().len(), 1);
    t.call(Method::PATCH, "/users/me", Some(json!({"nickname": "zed"})), Some(&minsu.access)).await;
    t.indexed().await; // people are found by nickname through an index
    assert_eq!(t.get("/search/users?q=min").await.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(t.get("/search/users?q=ze").await.body["items"][0]["nickname"], "zed");
    t.stop().await;
}

#[tokio::test]
async fn trending_hashtags_rank_uses_in_the_window() {
    let t = TestStack::start().await;
    let u = t.user("tags@example.com", "tagger", PW).await;
    assert!(t.get("/hashtags/trending").await.body["tags"].as_array().unwrap().is_empty());
    for content in ["#산책 #간식", "#산책", "#산책 #목욕", "#간식"] {
        post(&t, &u, content).await;
    }
    let gone = post(&t, &u, "#목욕 #목욕").await["id"].as_str().unwrap().to_string();
    t.call(Method::DELETE, &format!("/posts/{gone}"), None, Some(&u.access)).await;
    t.settle().await; // hashtag uses are counted by the post-index worker
    assert_eq!(t.post("/_local/jobs/trending-hashtags/run", json!({}), None).await.status, 200);
    let r = t.get("/hashtags/trending?window=24h").await.body;
    assert_eq!(
        r["tags"],
        json!([{"tag": "산책", "count": 3}, {"tag": "간식", "count": 2}, {"tag": "목욕", "count": 1}])
    );
    assert!(r["computedAt"].is_string());
    assert_eq!(t.get("/hashtags/trending?window=7d").await.body["tags"][0]["tag"], "산책");
    assert_eq!(t.get("/hashtags/trending?window=1y").await.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn reports_are_stored_once_per_reporter_and_target() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = post(&t, &bob, "spam spam").await["id"].as_str().unwrap().to_string();
    let body = json!({"targetType": "POST", "targetId": id, "reason": "광고성 게시물입니다"});
    let r = t.post("/reports", body.clone(), Some(&ann.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["reportedUserId"], bob.user_id.as_str());
    assert_eq!(r.body["status"], "OPEN");
    assert_eq!(t.post("/reports", body.clone(), Some(&ann.access)).await.status, 409);
    assert_eq!(t.post("/reports", body.clone(), Some(&bob.access)).await.body["code"], "CANNOT_REPORT_SELF");
    assert_eq!(
        t.post(
            "/reports",
            json!({"targetType": "USER", "targetId": ann.user_id, "reason": "나 자신"}),
            Some(&ann.access)
        )
        .await
        .status,
        400
    );
    assert_eq!(
        t.post(
            "/reports",
            json!({"targetType": "POST", "targetId": "01JD3K4Q5R6S7T8V9W0XYZABCD", "reason": "없는 글이에요"}),
            Some(&ann.access)
        )
        .await
        .status,
        404
    );
    assert_eq!(
        t.post(
            "/reports",
            json!({"targetType": "USER", "targetId": bob.user_id, "reason": "욕설을 했어요"}),
            Some(&ann.access)
        )
        .await
        .status,
        201
    );
    assert_eq!(
        t.post(
            "/reports",
            json!({"targetType": "MARKET_POST", "targetId": "01JD3K4Q5R6S7T8V9W0XYZABCD", "reason": "사기 의심"}),
            Some(&ann.access)
        )
        .await
        .status,
        404,
        "no market listing exists to report yet"
    );
    assert_eq!(
        t.post("/reports", json!({"targetType": "POST", "targetId": id, "reason": "x"}), Some(&bob.access))
            .await
            .status,
        400
    );
    assert_eq!(t.post("/reports", body, None).await.status, 401);
    // The moderators' queue (an index) lists them newest first.
    t.indexed().await;
    let queue = t
        .stack
        .ctx
        .table
        .query_items(&shared::table::Query::partition("REPORTS#OPEN").index(shared::table::Gsi::Gsi1).newest_first())
        .await
        .unwrap();
    assert_eq!(queue.items.len(), 2, "the post and the user; nothing for a listing that does not exist");
    t.stop().await;
}

async fn notifications_of(t: &TestStack, who: &Session, n: usize) -> Value {
    t.eventually(Duration::from_secs(10), "notifications", || async {
        let r = t.call(Method::GET, "/notifications", None, Some(&who.access)).await.body;
        (r["items"].as_array().map(Vec::len) == Some(n)).then_some(r)
    })
    .await
}

#[tokio::test]
async fn notifications_arrive_once_follow_settings_and_can_be_read_and_deleted() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = post(&t, &ann, "notify me").await["id"].as_str().unwrap().to_string();

    t.call(Method::PUT, &format!("/posts/{id}/like"), None, Some(&ann.access)).await; // my own: nothing
    t.call(Method::PUT, &format!("/posts/{id}/like"), None, Some(&bob.access)).await;
    t.post(&format!("/posts/{id}/comments"), json!({"content": "멋져요"}), Some(&bob.access)).await;
    t.call(Method::PUT, &format!("/users/{}/follow", ann.user_id), None, Some(&bob.access)).await;
    let list = notifications_of(&t, &ann, 3).await;
    let types: Vec<&str> = list["items"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["FOLLOW", "COMMENT", "LIKE"], "newest first");
    let like = &list["items"][2];
    assert_eq!(like["actor"]["nickname"], "bob");
    assert_eq!((like["targetType"].as_str(), like["targetId"].as_str()), (Some("POST"), Some(id.as_str())));
    assert_eq!(like["read"], false);
    assert!(list["items"][1]["body"].as_str().unwrap().contains("멋져요"));
    assert_eq!(t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"], 3);

    let like_id = like["id"].as_str().unwrap();
    for _ in 0..2 {
        let r = t.call(Method::PATCH, &format!("/notifications/{like_id}/read"), None, Some(&ann.access)).await;
        assert_eq!((r.status, r.body["read"].clone()), (200, json!(true)));
    }
    assert_eq!(t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"], 2);
    assert_eq!(
        t.call(Method::PATCH, &format!("/notifications/{like_id}/read"), None, Some(&bob.access)).await.status,
        404,
        "not hers"
    );
    assert_eq!(t.post("/notifications/read-all", json!({}), Some(&ann.access)).await.body["changed"], 2);
    assert_eq!(t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"], 0);
    assert_eq!(t.call(Method::DELETE, &format!("/notifications/{like_id}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(
        t.call(Method::GET, "/notifications", None, Some(&ann.access)).await.body["items"].as_array().unwrap().len(),
        2
    );

    // Settings: likes off in the app, comments by email.
    let settings = t.call(Method::GET, "/notifications/settings", None, Some(&ann.access)).await.body;
    assert_eq!((settings["like"].clone(), settings["email"]["comment"].clone()), (json!(true), json!(false)));
    let mut new = settings.clone();
    new["like"] = json!(false);
    new["email"]["comment"] = json!(true);
    assert_eq!(t.call(Method::PUT, "/notifications/settings", Some(new.clone()), Some(&ann.access)).await.body, new);
    assert_eq!(
        t.call(Method::PUT, "/notifications/settings", Some(json!({"like": false})), Some(&ann.access)).await.status,
        400
    );
    let carol = t.user("carol@example.com", "carol", PW).await;
    t.call(Method::PUT, &format!("/posts/{id}/like"), None, Some(&carol.access)).await;
    t.post(&format!("/posts/{id}/comments"), json!({"content": "메일로 와요"}), Some(&carol.access)).await;
    notifications_of(&t, &ann, 3).await;
    let mail = t
        .eventually(Duration::from_secs(10), "the notification email", || async {
            t.mail_to("ann@example.com")
                .await
                .into_iter()
                .find(|m| m["text"].as_str().is_some_and(|x| x.contains("메일로 와요")))
        })
        .await;
    assert!(mail["subject"].as_str().unwrap().contains("새 댓글"));
    t.settle().await;
    assert_eq!(
        t.call(Method::GET, "/notifications", None, Some(&ann.access)).await.body["items"][0]["type"],
        "COMMENT",
        "the like stayed silent"
    );

    // Blocked: nothing crosses.
    t.call(Method::PUT, &format!("/users/{}/block", carol.user_id), None, Some(&ann.access)).await;
    let anns2 = post(&t, &carol, "carol post").await["id"].as_str().unwrap().to_string();
    let _ = anns2;
    assert_eq!(t.call(Method::DELETE, "/notifications", None, Some(&ann.access)).await.body["changed"], 3);
    assert_eq!(t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"], 0);
    assert_eq!(t.call(Method::GET, "/notifications", None, None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_notifies_once_and_poison_ends_in_the_dlq() {
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.visibility_timeout = Some(Duration::from_secs(1));
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let ctx = &t.stack.ctx;
    let url = ctx.config.queue_url(&notifications_contract::NOTIFICATIONS).to_string();
    let event = json!({"eventId": "follow:test:1", "kind": "FOLLOW", "actorId": bob.user_id, "recipientId": ann.user_id, "targetType": "USER", "targetId": bob.user_id}).to_string();
    for body in [event.clone(), event.clone(), "{not json".to_string()] {
        ctx.sqs.send_message().queue_url(&url).message_body(body).send().await.unwrap();
    }
    notifications_of(&t, &ann, 1).await;
    t.eventually(Duration::from_secs(20), "the poison event in the DLQ", || async {
        (t.stack.queues.depth("notifications-dlq").map(|d| d.0) == Some(1)).then_some(())
    })
    .await;
    assert_eq!(
        t.call(Method::GET, "/notifications", None, Some(&ann.access)).await.body["items"].as_array().unwrap().len(),
        1
    );
    assert_eq!(t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"], 1);
    t.stop().await;
}

#[tokio::test]
async fn list_requests_make_the_same_number_of_table_calls_however_many_items_and_authors() {
    let t = TestStack::start().await;
    let viewer = t.user("viewer@example.com", "viewer", PW).await;
    let one = t.user("solo@example.com", "solo", PW).await;
    let pet =
        t.post("/pets", json!({"name": "p", "speciesId": "dog-jindo", "gender": "MALE"}), Some(&one.access)).await.body
            ["id"]
            .clone();
    t.post("/posts", json!({"content": "first", "petId": pet}), Some(&one.access)).await;
    t.call(Method::PUT, &format!("/users/{}/follow", one.user_id), None, Some(&viewer.access)).await;

    let calls = |path: &'static str| {
        let t = &t;
        let token = viewer.access.clone();
        async move {
            // Let the workers finish what earlier requests caused: they share the counter.
            t.settle().await;
            let before = t.stack.ctx.dynamodb_calls.get();
            let r = t.call(Method::GET, path, None, Some(&token)).await;
            assert_eq!(r.status, 200);
            (t.stack.ctx.dynamodb_calls.get() - before, r.body["items"].as_array().unwrap().len())
        }
    };
    let small_list = calls("/posts?limit=50").await;
    let small_feed = calls("/feed?limit=50").await;

    let many = users(&t, "author", 8).await;
    for (i, u) in many.iter().enumerate() {
        let pet = t
            .post("/pets", json!({"name": "p", "speciesId": "cat-munchkin", "gender": "FEMALE"}), Some(&u.access))
            .await
            .body["id"]
            .clone();
        for j in 0..3 {
            t.post("/posts", json!({"content": format!("post {i}-{j}"), "petId": pet}), Some(&u.access)).await;
        }
        t.call(Method::PUT, &format!("/users/{}/follow", u.user_id), None, Some(&viewer.access)).await;
        t.call(
            Method::PUT,
            &format!("/posts/{}/like", ids(&t.get(&format!("/users/{}/posts", u.user_id)).await.body)[0]),
            None,
            Some(&viewer.access),
        )
        .await;
    }
    t.settle().await;
    let big_list = calls("/posts?limit=50").await;
    let big_feed = calls("/feed?limit=50").await;
    assert_eq!((small_list.1, big_list.1), (1, 25));
    assert_eq!((small_feed.1, big_feed.1), (1, 25));
    println!("GET /posts: {} calls for 1 post, {} for 25 posts by 9 authors", small_list.0, big_list.0);
    println!("GET /feed:  {} calls for 1 post, {} for 25 posts by 9 authors", small_feed.0, big_feed.0);
    assert_eq!(small_list.0, big_list.0);
    assert_eq!(small_feed.0, big_feed.0);
    t.stop().await;
}

#[tokio::test]
async fn blocked_accounts_cannot_write_anywhere_in_the_social_core() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let id = post(&t, &bob, "bob's").await["id"].as_str().unwrap().to_string();
    t.stack
        .ctx
        .table
        .write(
            shared::table::Write::update(shared::account::user_key(&ann.user_id), "SET blockedPermanently = :y")
                .value(":y", shared::table::b(true)),
        )
        .await
        .unwrap();
    let a = Some(ann.access.as_str());
    for (method, path, body) in [
        (Method::POST, "/posts".to_string(), Some(json!({"content": "x"}))),
        (Method::PUT, format!("/posts/{id}/like"), None),
        (Method::POST, format!("/posts/{id}/comments"), Some(json!({"content": "x"}))),
        (Method::PUT, format!("/users/{}/follow", bob.user_id), None),
        (Method::PUT, format!("/users/{}/block", bob.user_id), None),
        (Method::POST, "/pets".to_string(), Some(json!({"name": "n", "speciesId": "dog-jindo", "gender": "MALE"}))),
        (
            Method::POST,
            "/reports".to_string(),
            Some(json!({"targetType": "POST", "targetId": id, "reason": "reason here"})),
        ),
        (Method::PUT, "/notifications/settings".to_string(), Some(json!({}))),
    ] {
        let r = t.call(method.clone(), &path, body, a).await;
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ACCOUNT_BLOCKED")), "{method} {path}");
    }
    // Reading still works.
    assert_eq!(t.call(Method::GET, "/feed", None, a).await.status, 200);
    assert_eq!(t.call(Method::GET, "/notifications", None, a).await.status, 200);
    t.stop().await;
}
