//! No secret in the logs: a full journey (sign-up, verification code, sign-in, refresh, an
//! upload with its presigned URLs, a post, a chat message over the WebSocket, a failed sign-in)
//! runs with every log line captured — the product's own crates at their most detailed level,
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
    let ours = [
        "shared",
        "system",
        "identity",
        "social",
        "pets",
        "diary",
        "notifications",
        "realtime",
        "chat",
        "market",
        "instagram",
        "campaigns",
        "local_stack",
    ];
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
    t.settle().await;
    t.stop().await;
    // The capture sees what the product logs: a line the search must find.
    tracing::info!(target: "shared", "probe {}", "planted-value-7f3a");

    let logs = String::from_utf8_lossy(&captured.0.lock().unwrap()).to_string();
    assert!(logs.len() > 1000, "the journey was logged ({} bytes)", logs.len());
    assert!(logs.contains("planted-value-7f3a"), "the search reads the product's log lines");
    let signature = media_url.split("X-Amz-Signature=").nth(1).unwrap().split('&').next().unwrap().to_string();
    for (what, secret) in [
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
