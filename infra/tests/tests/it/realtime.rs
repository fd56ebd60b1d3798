//! Real time over real WebSockets: tickets, the handshake, frames and errors, pushes to every
//! connection of a user, connections that vanish, API Gateway's limits, and live notifications.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use integration_tests::TestStack;
use integration_tests::ws::{connect, connect_with, frame_of, next_frame, send, ticket};
use local_stack::StackOptions;
use serde_json::json;

const PW: &str = "walks4ever";
use shared::clock::OffsetClock;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[tokio::test]
async fn a_ticket_opens_one_connection_once() {
    let clock = OffsetClock::new();
    let mut opts = StackOptions::ephemeral();
    opts.clock = clock.clone();
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;

    // Only a signed-in user gets a ticket; the token never goes in the URL.
    assert_eq!(t.post("/realtime/tickets", json!({}), None).await.status, 401);
    let once = ticket(&t, &ann).await;
    let mut socket = connect_with(&t, &once).await.expect("a fresh ticket connects");
    assert_eq!(connect_with(&t, &once).await.err(), Some(401), "a ticket works once");
    assert_eq!(connect_with(&t, "forged-ticket").await.err(), Some(401));
    assert_eq!(connect_with(&t, "").await.err(), Some(401));
    let late = ticket(&t, &ann).await;
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(connect_with(&t, &late).await.err(), Some(401), "a ticket lasts a minute");

    // The open connection works: ping is answered on it.
    send(&mut socket, json!({"action": "ping"})).await;
    assert_eq!(next_frame(&mut socket).await["type"], "pong");
    t.stop().await;
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_socket_stays() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut s = connect(&t, &ann).await;
    for (frame, code) in [
        ("not json".to_string(), "MALFORMED_FRAME"),
        ("[1,2]".to_string(), "MALFORMED_FRAME"),
        (json!({"action": "dance"}).to_string(), "UNKNOWN_ACTION"),
        (json!({"hello": "there"}).to_string(), "UNKNOWN_ACTION"),
    ] {
        s.send(Message::Text(frame.clone().into())).await.unwrap();
        let f = next_frame(&mut s).await;
        assert_eq!((f["type"].as_str(), f["code"].as_str()), (Some("error"), Some(code)), "{frame}: {f}");
        assert!(f["detail"].as_str().is_some_and(|d| !d.is_empty()));
    }
    send(&mut s, json!({"action": "ping"})).await;
    assert_eq!(next_frame(&mut s).await["type"], "pong", "still connected");
    t.stop().await;
}

#[tokio::test]
async fn api_gateway_limits_apply_locally() {
    let mut opts = StackOptions::ephemeral();
    opts.websocket_limits.idle = Duration::from_millis(800);
    opts.websocket_limits.max_age = Duration::from_millis(1500);
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;

    let mut s = connect(&t, &ann).await;
    s.send(Message::Text("x".repeat(129 * 1024).into())).await.unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| f.code), Some(CloseCode::Size), "a message over 128 KB closes with 1009");
    let mut framed = connect(&t, &ann).await;
    framed.send(Message::Text("y".repeat(40 * 1024).into())).await.unwrap();
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), framed.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| f.code), Some(CloseCode::Size), "a frame over 32 KB closes with 1009");

    let mut idle = connect(&t, &ann).await;
    let closed = loop {
        match tokio::time::timeout(Duration::from_secs(5), idle.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| f.code), Some(CloseCode::Away), "an idle connection is closed");
    // A busy connection still ends at the maximum age.
    let mut busy = connect(&t, &ann).await;
    let started = std::time::Instant::now();
    let closed = loop {
        send(&mut busy, json!({"action": "ping"})).await;
        match tokio::time::timeout(Duration::from_millis(300), busy.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame,
            Ok(Some(Ok(_))) | Err(_) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(closed.map(|f| f.code), Some(CloseCode::Away));
    assert!(started.elapsed() >= Duration::from_millis(1200), "closed by age, not idleness");
    t.eventually(Duration::from_secs(5), "all disconnected", || async {
        (t.stack.websocket.as_ref().unwrap().open_connections() == 0).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn every_connection_of_a_user_gets_the_push_and_a_vanished_one_is_forgotten() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let mut phone = connect(&t, &ann).await;
    let mut laptop = connect(&t, &ann).await;
    let stale = connect(&t, &ann).await;

    // A connection that vanished without `$disconnect` (its items remain).
    let ctx = &t.stack.ctx;
    let mut connections = shared::push::connections_of(ctx, &ann.user_id).await.unwrap();
    assert_eq!(connections.len(), 3);
    drop(stale);
    // Find the one that closed, make it look vanished: API Gateway forgot it, the table did not.
    let ws = t.stack.websocket.as_ref().unwrap();
    t.eventually(Duration::from_secs(5), "the stale socket is closed", || async {
        (ws.open_connections() == 2).then_some(())
    })
    .await;
    let live = shared::push::connections_of(ctx, &ann.user_id).await.unwrap();
    let gone: Vec<String> = connections.iter().filter(|c| !live.contains(c)).cloned().collect();
    assert_eq!(gone.len(), 1, "$disconnect forgot the closed one");
    // Put the forgotten one back, as if its $disconnect had never come.
    ctx.table.transact(shared::push::register(ctx, &gone[0], &ann.user_id)).await.unwrap();
    connections = shared::push::connections_of(ctx, &ann.user_id).await.unwrap();
    assert_eq!(connections.len(), 3);

    // Bob likes Ann's post: both of Ann's open connections get the notification.
    let post = t.post("/posts", json!({"content": "산책 #한강"}), Some(&ann.access)).await;
    let id = post.body["id"].as_str().unwrap().to_string();
    let r = t.call(reqwest::Method::PUT, &format!("/posts/{id}/like"), None, Some(&bob.access)).await;
    assert_eq!(r.status, 200);
    for socket in [&mut phone, &mut laptop] {
        let f = frame_of(socket, "notification").await;
        assert_eq!(f["notification"]["type"], "LIKE");
        assert_eq!(f["notification"]["targetId"], id.as_str());
        assert_eq!(f["notification"]["actor"]["id"], bob.user_id.as_str());
        assert_eq!(f["unreadCount"], 1);
    }
    // The push that found the vanished connection gone (410) forgot it.
    t.eventually(Duration::from_secs(5), "the vanished connection is forgotten", || async {
        (shared::push::connections_of(ctx, &ann.user_id).await.unwrap().len() == 2).then_some(())
    })
    .await;
    t.stop().await;
}

#[tokio::test]
async fn connections_are_managed_through_the_real_sdk_client() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let mut s = connect(&t, &ann).await;
    let ctx = &t.stack.ctx;
    let id = shared::push::connections_of(ctx, &ann.user_id).await.unwrap().remove(0);
    let client = ctx.connections.as_ref().expect("the stack's functions may push");
    let info = client.get_connection().connection_id(&id).send().await.unwrap();
    assert!(info.connected_at().is_some() && info.identity().is_some());
    client
        .post_to_connection()
        .connection_id(&id)
        .data(aws_sdk_apigatewaymanagement::primitives::Blob::new(br#"{"type":"hello"}"#.to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(next_frame(&mut s).await["type"], "hello");
    client.delete_connection().connection_id(&id).send().await.unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(5), s.next()).await.unwrap();
    assert!(matches!(closed, Some(Ok(Message::Close(_))) | None), "{closed:?}");
    let err = client.get_connection().connection_id(&id).send().await.unwrap_err();
    assert!(err.into_service_error().is_gone_exception(), "a closed connection is gone (410)");
    // An unsigned call is refused, as AWS refuses it.
    let raw = reqwest::Client::new()
        .post(format!("{}/@connections/{}", t.stack.websocket_url.replacen("ws://", "http://", 1), "abc"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 403);
    t.stop().await;
}
