//! No secret in the logs: a journey through every domain (sign-up, verification code, sign-in,
//! refresh, a failed sign-in, an upload with its presigned URLs, a post, a chat message over the
//! WebSocket, an Instagram link and sync, a community post, a report and its decision, a market
//! payment through Toss, a prescription read by CLOVA OCR) runs with every log line captured — the product's own crates at their most detailed level,
//! dependencies at the level deployed functions run with (`RUST_LOG=info`) — and none holds a
//! password, a token, a code, a ticket or a presigned URL's signature.

use std::io::Write;
use std::sync::{Arc, Mutex};

use integration_tests::TestStack;
use integration_tests::ws::{connect, frame_of, send};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    // Every crate of the product at its most detailed level: the kernel, the stack, and each
    // domain's package and contract, read off the folders so that a new domain is in too.
    let mut ours = vec!["shared".to_string(), "local_stack".to_string()];
    let functions = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../functions");
    for entry in std::fs::read_dir(functions).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().replace('-', "_");
        if dir.join("Cargo.toml").exists() {
            ours.push(name.clone());
        }
        if dir.join("contract/Cargo.toml").exists() {
            ours.push(format!("{name}_contract"));
        }
    }
    assert!(ours.len() > 20, "every domain's crates: {ours:?}");
    let filter = ours.iter().fold(String::from("info"), |f, c| format!("{f},{c}=trace"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(move || writer.clone())
        .try_init()
        .expect("this test owns the process's subscriber");

    let t = TestStack::start().await;
    let password = "s3cret-walks-4ever";
    t.sign_up("ann@example.com", "ann", password).await;
    let code = t.code_from_mail("ann@example.com", "인증 코드").await;
    t.verify("ann@example.com").await;
    let login = t.login("ann@example.com", password).await;
    assert_eq!(login.status, 200);
    let access = login.body["accessToken"].as_str().unwrap().to_string();
    let refresh = login.body["refreshToken"].as_str().unwrap().to_string();
    let again = t.post("/auth/refresh", json!({"refreshToken": refresh}), None).await;
    assert_eq!(again.status, 200);
    assert_eq!(t.login("ann@example.com", "wrong-password-1").await.status, 401);
    let ann = integration_tests::Session {
        user_id: login.body["user"]["id"].as_str().unwrap().into(),
        email: "ann@example.com".into(),
        access: access.clone(),
        refresh: refresh.clone(),
    };
    let key = t.png(&ann, "post").await;
    let post = t.post("/posts", json!({"content": "산책", "mediaKeys": [key]}), Some(&access)).await;
    assert_eq!(post.status, 201, "{:?}", post.body);
    let media_url = post.body["media"][0]["url"].as_str().unwrap().to_string();
    let bob = t.user("bob@example.com", "bob", password).await;
    let room = t.post("/chat/rooms", json!({"participantIds": [bob.user_id]}), Some(&access)).await;
    let ticket =
        t.post("/realtime/tickets", json!({}), Some(&access)).await.body["ticket"].as_str().unwrap().to_string();
    let mut s = connect(&t, &ann).await;
    send(
        &mut s,
        json!({"action": "sendMessage", "roomId": room.body["id"], "clientMessageId": "c", "content": "안녕"}),
    )
    .await;
    frame_of(&mut s, "chat.ack").await;
    // An Instagram account linked and synced, and its token refreshed.
    let pet =
        t.post("/pets", json!({"name": "초코", "speciesId": "dog-maltese", "gender": "FEMALE"}), Some(&access)).await;
    let pet = pet.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.link_instagram(&ann, &pet, "meongmeong_daily").await.status, 201);
    t.eventually(std::time::Duration::from_secs(60), "the first sync", || async {
        let r = t.call(reqwest::Method::GET, &format!("/pets/{pet}/instagram"), None, Some(&access)).await;
        r.body["lastSyncedAt"].as_str().map(|_| ())
    })
    .await;
    let instagram_tokens: Vec<String> = reqwest::get(format!("{}/_local/instagram/tokens", t.stack.sandbox_url))
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(instagram_tokens.len() >= 2);

    // A community post, reported, and the report decided by an administrator.
    let board = t
        .post(
            "/community/posts",
            json!({"type": "QUESTION", "title": "질문", "content": "산책 코스"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(board.status, 201, "{:?}", board.body);
    let report = t
        .post(
            "/reports",
            json!({"targetType": "COMMUNITY_POST", "targetId": board.body["id"], "category": "SPAM"}),
            Some(&access),
        )
        .await;
    assert_eq!(report.status, 201, "{:?}", report.body);
    let root = t.admin("root@example.com", "root", password).await;
    let decided = t
        .post(
            &format!("/admin/reports/{}/decision", report.body["id"].as_str().unwrap()),
            json!({"result": "DENY"}),
            Some(&root.access),
        )
        .await;
    assert_eq!(decided.status / 100, 2, "{:?}", decided.body);

    // A market payment through Toss (its secret key goes in every call's Basic auth).
    let image = t.png(&bob, "market").await;
    let listing = t
        .post(
            "/market/posts",
            json!({"title": "캣타워", "description": "상태 좋아요", "price": 25_000, "category": "TOY", "imageKeys": [image],
                   "location": {"lat": 37.5665, "lng": 126.978, "address": "서울 중구"}}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(listing.status, 201, "{:?}", listing.body);
    let listing = listing.body["id"].as_str().unwrap().to_string();
    let about = t.post("/chat/rooms", json!({"marketPostId": listing}), Some(&access)).await;
    let approval = format!("/chat/rooms/{}/purchase-approval", about.body["id"].as_str().unwrap());
    let approved = t.call(reqwest::Method::PUT, &approval, Some(json!({"approved": true})), Some(&bob.access)).await;
    assert_eq!(approved.status, 200, "{:?}", approved.body);
    let order = t.post(&format!("/market/posts/{listing}/orders"), json!({}), Some(&access)).await;
    assert_eq!(order.status, 201, "{:?}", order.body);
    let order_id = order.body["orderId"].as_str().unwrap().to_string();
    let checkout = t
        .post("/_local/toss/checkout", json!({"orderId": order_id, "amount": 25_000, "outcome": "APPROVE"}), None)
        .await;
    let payment_key = checkout.body["paymentKey"].as_str().unwrap().to_string();
    let paid = t
        .post(
            "/payments/confirm",
            json!({"paymentKey": payment_key, "orderId": order_id, "amount": 25_000}),
            Some(&access),
        )
        .await;
    assert_eq!(paid.status, 200, "{:?}", paid.body);

    // A prescription read by CLOVA OCR (its secret goes in every call's header).
    let photo = t
        .upload_png(&ann, "prescription", local_stack::clova_sandbox::fixture_image("envelope-two-drugs").to_vec())
        .await;
    let read = t.post(&format!("/pets/{pet}/prescriptions"), json!({"imageKey": photo}), Some(&access)).await;
    assert_eq!(read.status, 202, "{:?}", read.body);
    let prescription = read.body["id"].as_str().unwrap().to_string();
    t.eventually(std::time::Duration::from_secs(30), "the prescription read", || async {
        let r = t.call(reqwest::Method::GET, &format!("/prescriptions/{prescription}"), None, Some(&access)).await;
        (r.body["status"] == "DONE").then_some(())
    })
    .await;
    t.settle().await;
    t.stop().await;
    // The capture sees what the product logs: a line the search must find.
    tracing::info!(target: "shared", "probe {}", "planted-value-7f3a");

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(logs.len() > 1000, "the journey was logged ({} bytes)", logs.len());
    assert!(logs.contains("planted-value-7f3a"), "the search reads the product's log lines");
    let signature = media_url.split("X-Amz-Signature=").nth(1).unwrap().split('&').next().unwrap().to_string();
    let toss_basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", local_stack::toss_sandbox::SECRET_KEY),
    );
    for (what, secret) in [
        ("Toss's secret key", local_stack::toss_sandbox::SECRET_KEY.to_string()),
        ("Toss's Basic credential", toss_basic),
        ("CLOVA OCR's secret", local_stack::clova_sandbox::SECRET.to_string()),
        ("the Instagram app secret", local_stack::instagram_sandbox::APP_SECRET.to_string()),
        ("the Google client secret", local_stack::oauth_sandbox::GOOGLE_CLIENT_SECRET.to_string()),
        ("the Kakao client secret", local_stack::oauth_sandbox::KAKAO_CLIENT_SECRET.to_string()),
        ("the password", password.to_string()),
        ("the access token", access.clone()),
        ("the refresh token", refresh.clone()),
        ("the new refresh token", again.body["refreshToken"].as_str().unwrap().to_string()),
        ("the verification code", code.clone()),
        ("a connection ticket", ticket.clone()),
        ("a presigned URL's signature", signature),
    ]
    .into_iter()
    .chain(instagram_tokens.into_iter().map(|token| ("an Instagram token", token)))
    {
        if let Some(line) = logs.lines().find(|l| l.contains(&secret)) {
            panic!("{what} appears in the logs: {}", &line[..line.len().min(600)]);
        }
    }
}
