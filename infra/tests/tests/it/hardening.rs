//! What a hostile probe found, each reproduced: races and inputs that used to break a rule.

use std::time::Duration;

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn inbox(t: &TestStack, who: &Session) -> Vec<Value> {
    t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn deleting_all_notifications_while_deleting_single_ones_keeps_the_unread_count_exact() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let post = t.post("/posts", json!({"content": "좋아요 실험"}), Some(&ann.access)).await;
    let comments = format!("/posts/{}/comments", post.body["id"].as_str().unwrap());
    let unread = || async {
        t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"].clone()
    };
    for trial in 0..=30 {
        // Four unread notifications (four comments); the counter must say four, whatever the
        // races before left behind (it shows 0 when it drifted below).
        for i in 0..4 {
            assert_eq!(t.post(&comments, json!({"content": format!("댓글 {i}")}), Some(&bob.access)).await.status, 201);
        }
        let items = t
            .eventually(Duration::from_secs(10), "four notifications", || async {
                let items = inbox(&t, &ann).await;
                (items.len() == 4).then_some(items)
            })
            .await;
        assert_eq!(unread().await, 4, "trial {trial}: the counter drifted");
        if trial == 30 {
            break;
        }
        let singles = items.iter().take(3).map(|n| {
            let path = format!("/notifications/{}", n["id"].as_str().unwrap());
            let t = &t;
            let token = ann.access.clone();
            async move { t.call(Method::DELETE, &path, None, Some(&token)).await.status }
        });
        let all = t.call(Method::DELETE, "/notifications", None, Some(&ann.access));
        let (statuses, all) = futures::join!(futures::future::join_all(singles), all);
        assert!(statuses.iter().all(|s| [204, 404, 409].contains(s)), "trial {trial}: {statuses:?}");
        if all.status == 409 {
            t.call(Method::DELETE, "/notifications", None, Some(&ann.access)).await;
        }
        assert!(inbox(&t, &ann).await.is_empty(), "trial {trial}");
    }
    t.stop().await;
}

#[tokio::test]
async fn signed_out_sessions_stop_reading_and_writing_at_once() {
    let t = TestStack::start().await;
    let me = |token: &str| {
        let token = token.to_string();
        let t = &t;
        async move { t.call(Method::GET, "/users/me", None, Some(&token)).await }
    };
    let write = |token: &str| {
        let token = token.to_string();
        let t = &t;
        async move { t.post("/posts", json!({"content": "still here?"}), Some(&token)).await }
    };

    // Sign-out: the access token of that session stops working for reads and writes.
    let a = t.user("out@example.com", "outie", PW).await;
    assert_eq!(me(&a.access).await.status, 200);
    assert_eq!(t.post("/auth/logout", json!({"refreshToken": a.refresh}), None).await.status, 204);
    for r in [me(&a.access).await, write(&a.access).await] {
        assert_eq!((r.status, r.body["code"].as_str()), (401, Some("SESSION_REVOKED")), "{:?}", r.body);
        assert!(r.body["detail"].as_str().unwrap().contains("signed out"), "a 401 says why: {:?}", r.body);
    }

    // A reused refresh token revokes the family: its access tokens stop too.
    let s = t.login("out@example.com", PW).await.body;
    let (access, refresh) = (s["accessToken"].as_str().unwrap(), s["refreshToken"].as_str().unwrap());
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": refresh}), None).await.status, 200);
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": refresh}), None).await.status, 401);
    assert_eq!(me(access).await.body["code"], "SESSION_REVOKED");

    // A password change signs out every other session at once; the one that changed it goes on.
    let one = t.login("out@example.com", PW).await.body["accessToken"].as_str().unwrap().to_string();
    let two = t.login("out@example.com", PW).await.body["accessToken"].as_str().unwrap().to_string();
    let r = t
        .call(
            Method::PUT,
            "/users/me/password",
            Some(json!({"currentPassword": PW, "newPassword": "brandnew9"})),
            Some(&one),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(me(&one).await.status, 200);
    assert_eq!(me(&two).await.body["code"], "SESSION_REVOKED");
    assert_eq!(write(&two).await.status, 401);

    // A withdrawn account's old tokens read nothing private.
    let w = t.user("gone@example.com", "goner", PW).await;
    let other = t.login("gone@example.com", PW).await.body["accessToken"].as_str().unwrap().to_string();
    let r = t.call(Method::DELETE, "/users/me", Some(json!({"password": PW})), Some(&w.access)).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    for path in ["/feed", "/notifications", "/pets", "/users/me/blocks", "/notifications/settings"] {
        let r = t.call(Method::GET, path, None, Some(&other)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (401, Some("ACCOUNT_WITHDRAWN")), "{path}");
    }
    t.stop().await;
}

#[tokio::test]
async fn a_password_change_token_works_once_and_wrong_current_passwords_count_toward_the_lock() {
    let t = TestStack::start().await;
    let u = t.user("temp@example.com", "tempo", PW).await;
    assert_eq!(
        t.post("/auth/password/temporary", json!({"email": "temp@example.com", "name": "테스트"}), None).await.status,
        202
    );
    let temp = t
        .eventually(Duration::from_secs(10), "the temporary password", || async {
            let mails = t.mail_to("temp@example.com").await;
            let text = mails.iter().find_map(|m| m["text"].as_str().filter(|t| t.contains("임시 비밀번호")))?;
            Some(text.lines().next()?.split(": ").nth(1)?.trim().to_string())
        })
        .await;
    let r = t.login("temp@example.com", &temp).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let token = r.body["accessToken"].as_str().unwrap().to_string();
    let change = |pw: &str| {
        let (t, token, pw) = (&t, token.clone(), pw.to_string());
        async move { t.call(Method::PUT, "/users/me/password", Some(json!({"newPassword": pw})), Some(&token)).await }
    };
    assert_eq!(change("firstnew1").await.status, 204);
    let again = change("secondnew2").await;
    assert_eq!((again.status, again.body["code"].as_str()), (401, Some("SESSION_REVOKED")));
    assert_eq!(t.login("temp@example.com", "firstnew1").await.status, 200);

    // Guessing the current password with a signed-in token counts toward the lock.
    let s = t.login("temp@example.com", "firstnew1").await.body["accessToken"].as_str().unwrap().to_string();
    let _ = u;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let body = json!({"currentPassword": format!("guess-{i}x"), "newPassword": "stolen999"});
        statuses.push(t.call(Method::PUT, "/users/me/password", Some(body), Some(&s)).await.status);
    }
    assert_eq!(statuses, vec![403, 403, 403, 403, 403, 423], "the sixth guess finds the lock");
    assert_eq!(t.login("temp@example.com", "firstnew1").await.status, 423, "sign-in is locked too");
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_racing_its_parents_deletion_is_never_orphaned() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let post = t.post("/posts", json!({"content": "댓글 실험"}), Some(&ann.access)).await;
    let post_id = post.body["id"].as_str().unwrap().to_string();
    let comments = format!("/posts/{post_id}/comments");
    let mut replies_made = 0;
    for trial in 0..50 {
        let parent = t.post(&comments, json!({"content": "부모"}), Some(&bob.access)).await;
        assert_eq!(parent.status, 201);
        let parent_id = parent.body["id"].as_str().unwrap().to_string();
        let parent_path = format!("/comments/{parent_id}");
        // Sweep the deletion's start across the reply's window.
        let delete = async {
            tokio::time::sleep(Duration::from_micros(250 * (trial % 25))).await;
            t.call(Method::DELETE, &parent_path, None, Some(&bob.access)).await
        };
        let reply = t.post(&comments, json!({"content": "답글", "parentId": parent_id}), Some(&ann.access));
        let (deleted, reply) = futures::join!(delete, reply);
        assert_eq!(deleted.status, 204, "trial {trial}: {:?}", deleted.body);
        if reply.status == 201 {
            replies_made += 1;
            // The reply has a parent (shown as deleted), and its author can delete it.
            let reply_id = reply.body["id"].as_str().unwrap();
            let r = t.call(Method::DELETE, &format!("/comments/{reply_id}"), None, Some(&ann.access)).await;
            assert_eq!(r.status, 204, "trial {trial}: the reply is not orphaned: {:?}", r.body);
        } else {
            assert_eq!(reply.status, 404, "trial {trial}: {:?}", reply.body);
        }
    }
    println!("{replies_made} of 50 replies landed");
    // Every comment made was deleted: the count and the list agree on zero.
    t.settle().await; // the count follows from the stream
    let list = t.get(&comments).await.body;
    let count = t.get(&format!("/posts/{post_id}")).await.body["commentCount"].clone();
    let visible = list["items"].as_array().unwrap().iter().filter(|c| c["deleted"] != json!(true)).count();
    assert_eq!((count, visible), (json!(0), 0), "{replies_made} replies were made: {list}");
    t.stop().await;
}

async fn new_pet(t: &TestStack, who: &Session, name: &str) -> Value {
    let body = json!({"name": name, "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14"});
    t.post("/pets", body, Some(&who.access)).await.body
}

#[tokio::test]
async fn pets_take_only_sensible_numbers_and_dates_and_at_most_thirty() {
    let t = TestStack::start().await;
    let u = t.user("pets@example.com", "petty", PW).await;
    for (field, value) in [
        ("weightKg", json!(1e-200)),
        ("weightKg", json!(-1)),
        ("weightKg", json!(1e300)),
        ("birthday", json!("-262143-01-01")),
        ("birthday", json!("1850-01-01")),
    ] {
        let mut body = json!({"name": "초코", "speciesId": "dog-maltese", "gender": "FEMALE"});
        body[field] = value.clone();
        let r = t.post("/pets", body, Some(&u.access)).await;
        assert_eq!(r.status, 400, "{field} = {value}: {:?}", r.body);
    }
    for i in 0..30 {
        assert!(new_pet(&t, &u, &format!("pet{i}")).await["id"].is_string(), "pet {i}");
    }
    let r = t
        .post("/pets", json!({"name": "one too many", "speciesId": "dog-maltese", "gender": "MALE"}), Some(&u.access))
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("TOO_MANY_PETS")));
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_the_main_pet_and_another_at_once_leaves_a_main_pet_that_exists() {
    let t = TestStack::start().await;
    let u = t.user("main@example.com", "mainy", PW).await;
    let main_pet =
        || async { t.get(&format!("/users/{}", u.user_id)).await.body["mainPet"]["id"].as_str().map(str::to_string) };
    for trial in 0..50 {
        let a = new_pet(&t, &u, &format!("a{trial}")).await["id"].as_str().unwrap().to_string();
        let b = new_pet(&t, &u, &format!("b{trial}")).await["id"].as_str().unwrap().to_string();
        let c = new_pet(&t, &u, &format!("c{trial}")).await["id"].as_str().unwrap().to_string();
        assert_eq!(main_pet().await.as_deref(), Some(a.as_str()), "trial {trial}: the first pet is main");
        let (pa, pb) = (format!("/pets/{a}"), format!("/pets/{b}"));
        let (ra, rb) = futures::join!(
            t.call(Method::DELETE, &pa, None, Some(&u.access)),
            t.call(Method::DELETE, &pb, None, Some(&u.access))
        );
        assert_eq!((ra.status, rb.status), (204, 204), "trial {trial}");
        assert_eq!(main_pet().await.as_deref(), Some(c.as_str()), "trial {trial}: the one left is main");
        assert_eq!(t.call(Method::DELETE, &format!("/pets/{c}"), None, Some(&u.access)).await.status, 204);
        assert_eq!(main_pet().await, None, "trial {trial}: no pets, no main pet");
    }
    t.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_profile_shows_the_main_pet_as_it_is_whatever_edits_and_choices_race() {
    let t = TestStack::start().await;
    let u = t.user("race@example.com", "racer", PW).await;
    let profile_pet = || async { t.get(&format!("/users/{}", u.user_id)).await.body["mainPet"].clone() };
    let a = new_pet(&t, &u, "a").await["id"].as_str().unwrap().to_string();
    let b = new_pet(&t, &u, "b").await["id"].as_str().unwrap().to_string();
    for trial in 0..20 {
        // B renamed while it becomes the main pet, A renamed while it stops being it.
        let (path_a, path_b) = (format!("/pets/{a}"), format!("/pets/{b}"));
        let (rename_b, choose_b, rename_a) = futures::join!(
            t.call(Method::PATCH, &path_b, Some(json!({"name": format!("b{trial}")})), Some(&u.access)),
            t.call(Method::PUT, "/users/me/main-pet", Some(json!({"petId": b})), Some(&u.access)),
            t.call(Method::PATCH, &path_a, Some(json!({"name": format!("a{trial}")})), Some(&u.access)),
        );
        for r in [&rename_b, &choose_b, &rename_a] {
            assert!(r.status == 200 || r.body["code"] == "CONCURRENT_UPDATE", "trial {trial}: {:?}", r.body);
        }
        let shown = profile_pet().await;
        let id = shown["id"].as_str().unwrap().to_string();
        let pet = t.get(&format!("/pets/{id}")).await.body;
        assert_eq!((shown["name"].clone(), pet["isMain"].clone()), (pet["name"].clone(), json!(true)), "trial {trial}");
        // And back to A for the next trial.
        let r = t.call(Method::PUT, "/users/me/main-pet", Some(json!({"petId": a})), Some(&u.access)).await;
        assert_eq!(r.status, 200);
        assert_eq!(profile_pet().await["name"], t.get(&format!("/pets/{a}")).await.body["name"]);
    }
    t.stop().await;
}

#[tokio::test]
async fn look_alike_nicknames_cannot_pass_for_taken_ones() {
    let t = TestStack::start().await;
    t.sign_up("first@example.com", "산책왕", PW).await;
    t.sign_up("mina@example.com", "mina", PW).await;
    let signup = |email: &str, nickname: &str| {
        let body = json!({"email": email, "password": PW, "name": "테스트", "nickname": nickname});
        let t = &t;
        async move { t.post("/auth/signup", body, None).await }
    };
    // The decomposed (NFD) form of 산책왕 and fullwidth "ｍｉｎａ" are the taken nicknames.
    let nfd = "\u{1109}\u{1161}\u{11AB}\u{110E}\u{1162}\u{11A8}\u{110B}\u{116A}\u{11BC}";
    for (email, nick) in [("nfd@example.com", nfd), ("wide@example.com", "ｍｉｎａ")] {
        let r = signup(email, nick).await;
        assert_eq!((r.status, r.body["code"].as_str()), (409, Some("NICKNAME_TAKEN")), "{nick}: {:?}", r.body);
    }
    // A Cyrillic "а" among Latin letters is refused outright.
    let r = signup("cyr@example.com", "min\u{0430}").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    t.stop().await;
}

#[tokio::test]
async fn text_is_text_and_mentions_respect_the_post_authors_blocks() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let carol = t.user("carol@example.com", "carol", PW).await;
    for content in ["\u{200B}\u{200B}\u{FEFF}", "t\u{0}ag #t\u{0}ag"] {
        let r = t.post("/posts", json!({"content": content}), Some(&ann.access)).await;
        assert_eq!(r.status, 400, "{content:?}: {:?}", r.body);
    }
    let body =
        json!({"email": "x@example.com", "password": PW, "name": "김민아\nhttp://evil.example", "nickname": "xx"});
    assert_eq!(t.post("/auth/signup", body, None).await.status, 400, "a name is one line");

    // Ann blocks Carol; Bob mentions Carol under Ann's post: Carol hears nothing of it.
    assert_eq!(
        t.call(Method::PUT, &format!("/users/{}/block", carol.user_id), None, Some(&ann.access)).await.status,
        200
    );
    let post = t.post("/posts", json!({"content": "앤의 글"}), Some(&ann.access)).await.body;
    let r = t
        .post(
            &format!("/posts/{}/comments", post["id"].as_str().unwrap()),
            json!({"content": "@carol 봐요", "mentionUserId": carol.user_id}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    t.eventually(Duration::from_secs(10), "Ann's comment notification", || async {
        (inbox(&t, &ann).await.len() == 1).then_some(())
    })
    .await;
    t.settle().await; // every notification the comment could cause is done
    assert!(inbox(&t, &carol).await.is_empty(), "no mention across the post author's block");
    t.stop().await;
}

#[tokio::test]
async fn reports_need_a_real_target_and_are_rate_limited() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    for (kind, id) in [
        ("POST", "01JD3K4Q5R6S7T8V9W0XYZABCD"),
        ("MARKET_POST", "01JD3K4Q5R6S7T8V9W0XYZABCD"),
        ("USER", "01JD3K4Q5R6S7T8V9W0XYZABCE"),
    ] {
        let r =
            t.post("/reports", json!({"targetType": kind, "targetId": id, "reason": "욕설"}), Some(&ann.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (404, Some("TARGET_NOT_FOUND")), "{kind}: {:?}", r.body);
    }
    let mut statuses = Vec::new();
    // Only filed reports count (the limit rides in the report's transaction), so the three
    // refused above do not: 20 filed an hour, the 21st refused.
    for i in 0..21 {
        let who = t.user(&format!("u{i}@example.com"), &format!("user{i}"), PW).await;
        let body = json!({"targetType": "USER", "targetId": who.user_id, "reason": "스팸"});
        statuses.push(t.post("/reports", body, Some(&ann.access)).await.status);
    }
    assert_eq!(&statuses[..20], &[201; 20]);
    assert_eq!(statuses[20], 429, "the 21st report within the hour");
    t.stop().await;
}

#[tokio::test]
async fn errors_and_private_answers_are_well_formed() {
    let t = TestStack::start().await;
    let u = t.user("ann@example.com", "ann", PW).await;
    // A body over the gateway's limit: a problem, like every other error.
    let big = "x".repeat(11 * 1024 * 1024);
    let r = t
        .send(t.http.post(t.url("/posts")).bearer_auth(&u.access).header("content-type", "application/json").body(big))
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    // Tokens and my account are never cached; public reads may be.
    let login = t.login("ann@example.com", PW).await;
    assert_eq!(login.header("cache-control"), Some("no-store"));
    let me = t.call(Method::GET, "/users/me", None, Some(&u.access)).await;
    assert_eq!(me.header("cache-control"), Some("no-store"));
    assert_eq!(t.get("/posts").await.header("cache-control"), None);
    // The local mailbox shows one address at a time.
    assert_eq!(t.get("/_local/mail").await.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn like_and_follow_cycles_notify_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let post = t.post("/posts", json!({"content": "좋아요 반복"}), Some(&ann.access)).await;
    let like = format!("/posts/{}/like", post.body["id"].as_str().unwrap());
    let follow = format!("/users/{}/follow", ann.user_id);
    for _ in 0..3 {
        for path in [&like, &follow] {
            assert_eq!(t.call(Method::PUT, path, None, Some(&bob.access)).await.status, 200);
            assert_eq!(t.call(Method::DELETE, path, None, Some(&bob.access)).await.status, 200);
        }
    }
    t.eventually(Duration::from_secs(10), "two notifications", || async {
        (inbox(&t, &ann).await.len() == 2).then_some(())
    })
    .await;
    t.settle().await;
    let kinds: Vec<String> = inbox(&t, &ann).await.iter().map(|n| n["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, vec!["FOLLOW".to_string(), "LIKE".to_string()], "one of each, not one per cycle");
    t.stop().await;
}

#[tokio::test]
async fn an_upload_must_be_what_its_type_says() {
    let t = TestStack::start().await;
    let u = t.user("ann@example.com", "ann", PW).await;
    let upload = |bytes: Vec<u8>| {
        let (t, token) = (&t, u.access.clone());
        async move {
            let r = t
                .post(
                    "/uploads",
                    json!({"purpose": "profile", "contentType": "image/png", "contentLength": bytes.len()}),
                    Some(&token),
                )
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            let put = t
                .http
                .put(r.body["uploadUrl"].as_str().unwrap())
                .header("content-type", "image/png")
                .body(bytes)
                .send()
                .await
                .unwrap();
            assert!(put.status().is_success());
            r.body["key"].as_str().unwrap().to_string()
        }
    };
    let page = b"<html><script>alert(document.cookie)</script></html>".to_vec();
    let key = upload(page).await;
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"profileImageKey": key})), Some(&u.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("INVALID_MEDIA")), "an HTML page is no PNG");

    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain(std::iter::repeat_n(7u8, 100)).collect();
    let key = upload(png).await;
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"profileImageKey": key})), Some(&u.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let url = r.body["profileImageUrl"].as_str().unwrap();
    assert!(url.starts_with(&t.stack.media_url), "media is read through the CDN: {url}");
    let got = t.http.get(url).send().await.unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.headers()["content-type"], "image/png", "served as the type that was checked");
    assert_eq!(got.headers()["x-content-type-options"], "nosniff", "browsers may not guess another type");
    assert!(got.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert_eq!(got.bytes().await.unwrap().len(), 108);
    // The bucket still checks the signature behind the CDN.
    let at = url.find("X-Amz-Signature=").unwrap() + "X-Amz-Signature=".len();
    let flipped = if &url[at..at + 1] == "0" { "1" } else { "0" };
    let forged = format!("{}{flipped}{}", &url[..at], &url[at + 1..]);
    assert_eq!(t.http.get(&forged).send().await.unwrap().status(), 403);
    let other_key = url.replacen(".png", "x.png", 1);
    assert_eq!(t.http.get(&other_key).send().await.unwrap().status(), 403, "a signature covers one key");
    t.stop().await;
}

#[tokio::test]
async fn one_post_cannot_make_hundreds_of_table_calls() {
    let t = TestStack::start().await;
    let u = t.user("tags@example.com", "taggy", PW).await;
    let mut tags = String::new();
    let mut i = 0;
    while tags.len() < 1990 {
        tags.push_str(&format!("#t{i} "));
        i += 1;
    }
    let calls = || t.stack.ctx.dynamodb_calls.get();
    t.settle().await;
    let before = calls();
    let r = t.post("/posts", json!({"content": tags.trim()}), Some(&u.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let create = calls() - before;
    assert_eq!(r.body["hashtags"].as_array().unwrap().len(), 30, "at most 30 hashtags");
    // Random Hangul: every bigram distinct.
    let hangul: String = (0..1990u32).map(|k| char::from_u32(0xAC00 + (k * 7919) % 11172).unwrap()).collect();
    t.settle().await;
    let before = calls();
    let r = t.post("/posts", json!({"content": hangul}), Some(&u.access)).await;
    assert_eq!(r.status, 201);
    let hangul_calls = calls() - before;
    println!("create with {i} hashtags: {create} table calls; 1,990 random Hangul: {hangul_calls}");
    assert!(create <= 60, "{create} calls for one post");
    assert!(hangul_calls <= 40, "{hangul_calls} calls for one post");

    // Posting is limited per user.
    let mut last = 0;
    for k in 0..30 {
        last = t.post("/posts", json!({"content": format!("글 {k}")}), Some(&u.access)).await.status;
        if last == 429 {
            break;
        }
    }
    assert_eq!(last, 429, "30 posts an hour");
    t.stop().await;
}

#[tokio::test]
async fn the_openapi_document_says_what_each_list_holds_and_405s_say_what_is_allowed() {
    let t = TestStack::start().await;
    let doc = t.get("/openapi.json").await.body;
    let ok_schema = |path: &str, method: &str| {
        doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(ok_schema("/posts", "get").ends_with("/PostViewPage"), "{}", ok_schema("/posts", "get"));
    assert!(ok_schema("/users/{id}/followers", "get").ends_with("/PersonPage"));
    assert!(ok_schema("/notifications", "get").ends_with("/NotificationPage"));
    let people = &doc["components"]["schemas"]["PersonPage"]["properties"]["items"]["items"]["$ref"];
    assert!(people.as_str().unwrap().ends_with("/Person"), "a page of people lists people: {people}");
    let limit =
        doc["paths"]["/posts"]["get"]["parameters"].as_array().unwrap().iter().find(|p| p["name"] == "limit").unwrap()
            ["schema"]
            .clone();
    assert_eq!(
        (limit["type"].as_str(), limit["minimum"].as_f64(), limit["maximum"].as_f64()),
        (Some("integer"), Some(1.0), Some(50.0))
    );
    for (path, method) in [("/posts/{id}", "get"), ("/users/{id}/follow", "put"), ("/notifications/{id}", "delete")] {
        assert!(doc["paths"][path][method]["responses"]["404"].is_object(), "{method} {path} declares its 404");
    }
    let r = t.send(t.http.request(Method::PUT, t.url("/posts"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    t.stop().await;
}

#[tokio::test]
async fn a_wrong_sign_in_does_the_same_work_for_known_and_unknown_addresses() {
    let t = TestStack::start().await;
    t.user("known@example.com", "known", PW).await;
    let calls = |email: &'static str| {
        let t = &t;
        async move {
            t.settle().await;
            let before = t.stack.ctx.dynamodb_calls.get();
            let r = t.login(email, "wrong-pass1").await;
            (r.status, r.body["code"].clone(), t.stack.ctx.dynamodb_calls.get() - before)
        }
    };
    let known = calls("known@example.com").await;
    let unknown = calls("unknown@example.com").await;
    assert_eq!(known, unknown, "same answer and the same table calls");
    t.stop().await;
}

#[tokio::test]
async fn recovery_requests_cost_the_same_whether_or_not_the_account_exists() {
    let t = TestStack::start().await;
    t.user("known@example.com", "known", PW).await;
    t.stack.queues.hold("recovery", true);
    let calls = |path: &'static str, body: Value| {
        let t = &t;
        async move {
            t.settle().await;
            let before = t.stack.ctx.dynamodb_calls.get();
            let r = t.post(path, body, None).await;
            (r.status, r.body.clone(), t.stack.ctx.dynamodb_calls.get() - before)
        }
    };
    t.sign_up("pending@example.com", "pending", PW).await;
    for (path, known, unknown) in [
        ("/auth/email/resend", json!({"email": "pending@example.com"}), json!({"email": "ghost@example.com"})),
        ("/auth/password/forgot", json!({"email": "known@example.com"}), json!({"email": "ghost@example.com"})),
        (
            "/auth/password/temporary",
            json!({"email": "known@example.com", "name": "테스트"}),
            json!({"email": "ghost@example.com", "name": "테스트"}),
        ),
    ] {
        assert_eq!(calls(path, known).await, calls(path, unknown).await, "{path}");
    }
    // Released, the worker mails the account that exists, and nobody else.
    t.stack.queues.hold("recovery", false);
    t.code_from_mail("known@example.com", "재설정 코드").await;
    t.eventually(Duration::from_secs(10), "the temporary password", || async {
        t.mail_to("known@example.com")
            .await
            .iter()
            .any(|m| m["subject"].as_str().unwrap().contains("임시"))
            .then_some(())
    })
    .await;
    assert!(t.mail_to("ghost@example.com").await.is_empty());
    t.stop().await;
}

#[tokio::test]
async fn a_presigned_upload_cannot_add_headers_its_signature_does_not_cover() {
    let t = TestStack::start().await;
    let u = t.user("ann@example.com", "ann", PW).await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain(std::iter::repeat_n(1u8, 50)).collect();
    let r = t
        .post(
            "/uploads",
            json!({"purpose": "profile", "contentType": "image/png", "contentLength": png.len()}),
            Some(&u.access),
        )
        .await;
    let url = r.body["uploadUrl"].as_str().unwrap().to_string();
    for (name, value) in [("x-amz-acl", "public-read"), ("x-amz-meta-owner", "someone-else")] {
        let put = t
            .http
            .put(&url)
            .header("content-type", "image/png")
            .header(name, value)
            .body(png.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 403, "{name} was not signed");
    }
    let put = t.http.put(&url).header("content-type", "image/png").body(png).send().await.unwrap();
    assert!(put.status().is_success(), "the upload as signed goes through");
    t.stop().await;
}

#[tokio::test]
async fn a_parameter_that_takes_one_of_some_values_refuses_an_empty_one() {
    let t = TestStack::start().await;
    for path in ["/hashtags/trending?window=", "/species?kind=", "/search/posts?q=산책&type="] {
        assert_eq!(t.get(path).await.status, 400, "{path}");
    }
    assert_eq!(t.get("/hashtags/trending").await.status, 200, "absent means the default");
    t.stop().await;
}

#[tokio::test]
async fn the_local_sqs_takes_only_requests_signed_with_the_stacks_key() {
    let t = TestStack::start().await;
    let call = |auth: Option<&'static str>| {
        let t = &t;
        async move {
            let mut req = t
                .http
                .post(&t.stack.sqs_url)
                .header("content-type", "application/x-amz-json-1.0")
                .header("x-amz-target", "AmazonSQS.ListQueues")
                .header("x-amz-date", "20251121T120000Z")
                .body("{}");
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let r = t.send(req).await;
            (r.status, r.body["__type"].as_str().unwrap_or_default().to_string())
        }
    };
    let (status, kind) = call(None).await;
    assert_eq!(status, 403);
    assert!(kind.ends_with("MissingAuthenticationToken"), "{kind}");
    let other_key = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251121/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
    assert!(call(Some(other_key)).await.1.ends_with("InvalidClientTokenId"));
    let forged = "AWS4-HMAC-SHA256 Credential=local/20251121/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-date, Signature=00";
    assert!(call(Some(forged)).await.1.ends_with("SignatureDoesNotMatch"));
    // The functions' own SDK clients sign correctly: a queue round trip works.
    let url = t.stack.ctx.config.queue_url(&shared::queues::OUTBOX).to_string();
    let sent = t.stack.ctx.sqs.send_message().queue_url(&url).message_body("{}").send().await;
    assert!(sent.is_ok(), "{sent:?}");
    t.stop().await;
}
