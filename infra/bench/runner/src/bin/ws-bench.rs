//! A benchmark of chat over the WebSocket API, printing figures (not a test). It starts an
//! in-memory stack, connects 200 WebSocket clients in rooms of 2, 10 and 100 members, has a few
//! members of each room send a bounded number of messages (each sender at its own pace, spread over
//! the interval, or with `same-tick` all at the same instant), and prints per room size how many
//! deliveries were expected, how many arrived, how many were lost, and the delivery latency from
//! send to receipt (p50/p99), and to each message's first receipt (its commit, before the
//! fan-out to the rest). With `WS_BENCH_TICKS` set it also prints, for each round of sends, the
//! four slowest last deliveries (milliseconds, room size).
//!
//! `cargo run --release -p bench --bin ws-bench [messages-per-sender] [ms-between-sends] [same-tick]`

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench::{call, percentile, user};
use futures::{SinkExt, StreamExt};
use local_stack::{LocalStack, StackOptions};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// (members per room, rooms, senders per room)
const LAYOUT: &[(usize, usize, usize)] = &[(2, 20, 2), (10, 6, 3), (100, 1, 5)];

type Received = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn connect(
    stack: &LocalStack,
    http: &reqwest::Client,
    token: &str,
    received: Received,
) -> tokio::sync::mpsc::UnboundedSender<String> {
    let (_, t) =
        call(http, reqwest::Method::POST, format!("{}/realtime/tickets", stack.http_url), Some(token), Some(json!({})))
            .await;
    let url = format!("{}/?ticket={}", stack.websocket_url, t["ticket"].as_str().expect("a ticket"));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("the WebSocket API accepts the ticket");
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Text(frame.into())).await.is_err() {
                return;
            }
        }
    });
    tokio::spawn(async move {
        while let Some(Ok(m)) = stream.next().await {
            if let Message::Text(t) = m
                && let Ok(v) = serde_json::from_str::<Value>(&t)
            {
                if v["type"] == "chat.message"
                    && let Some(content) = v["message"]["content"].as_str()
                {
                    received.lock().unwrap().entry(content.to_string()).or_default().push(Instant::now());
                } else if v["type"] == "error" {
                    eprintln!("error frame: {v}");
                }
            }
        }
    });
    tx
}

#[tokio::main]
async fn main() {
    let per_sender: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let interval: u64 = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1000);
    // `same-tick`: every sender sends at the same instant, the worst case for a big room.
    let same_tick = std::env::args().nth(3).is_some_and(|a| a == "same-tick");
    let stack = LocalStack::start(StackOptions::bench()).await.expect("the stack starts");
    let http = reqwest::Client::new();
    let clients: usize = LAYOUT.iter().map(|(m, r, _)| m * r).sum();
    eprintln!("creating {clients} users…");
    let mut users = Vec::new();
    for chunk in (0..clients).collect::<Vec<_>>().chunks(8) {
        let made = futures::future::join_all(chunk.iter().map(|n| user(&stack, &http, *n))).await;
        users.extend(made);
    }
    let received: Received = Arc::new(Mutex::new(HashMap::new()));
    let mut next = 0;
    let mut plans = Vec::new(); // (room size, room id, member indexes)
    for &(members, rooms, senders) in LAYOUT {
        for _ in 0..rooms {
            let group: Vec<usize> = (next..next + members).collect();
            next += members;
            let owner = &users[group[0]];
            let others: Vec<&str> = group[1..].iter().map(|i| users[*i].0.as_str()).collect();
            let (s, room) = call(
                &http,
                reqwest::Method::POST,
                format!("{}/chat/rooms", stack.http_url),
                Some(&owner.1),
                Some(json!({"participantIds": others.iter().take(48).collect::<Vec<_>>()})),
            )
            .await;
            assert!(s == 201 || s == 200, "{room}");
            let id = room["id"].as_str().unwrap().to_string();
            for more in others[others.len().min(48)..].chunks(48) {
                let (s, b) = call(
                    &http,
                    reqwest::Method::POST,
                    format!("{}/chat/rooms/{id}/participants", stack.http_url),
                    Some(&owner.1),
                    Some(json!({"userIds": more})),
                )
                .await;
                assert_eq!(s, 201, "{b}");
            }
            plans.push((members, id, group, senders));
        }
    }
    eprintln!("connecting {clients} WebSocket clients…");
    let mut sockets = Vec::new();
    for (_, token) in &users {
        sockets.push(connect(&stack, &http, token, received.clone()).await);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    received.lock().unwrap().clear(); // invitations' system messages are not part of the run
    let sent_at: Arc<Mutex<HashMap<String, (usize, Instant)>>> = Arc::default();
    eprintln!("sending…");
    let (conflicts_before, shapes_before) =
        (stack.faults.in_flight.conflicts.load(Ordering::Relaxed), stack.faults.in_flight.conflicts_by_shape());
    let mut sends = Vec::new();
    for (size, room, group, senders) in &plans {
        for s in 0..*senders {
            let socket = sockets[group[s]].clone();
            let (room, size, sent_at) = (room.clone(), *size, sent_at.clone());
            sends.push(tokio::spawn(async move {
                // Senders are spread over the interval, as people are, unless all are on the same tick.
                if !same_tick {
                    tokio::time::sleep(Duration::from_millis(rand::random::<u64>() % interval.max(1))).await;
                }
                for i in 0..per_sender {
                    let content = format!("{room}/{s}/{i}");
                    sent_at.lock().unwrap().insert(content.clone(), (size, Instant::now()));
                    let frame = json!({"action": "sendMessage", "roomId": room, "clientMessageId": format!("{s}-{i}"), "content": content});
                    let _ = socket.send(frame.to_string());
                    tokio::time::sleep(Duration::from_millis(interval)).await;
                }
            }));
        }
    }
    futures::future::join_all(sends).await;
    // Wait until every delivery arrived, or none arrived for ten seconds (the rest are lost).
    let expected: usize = plans.iter().map(|(size, _, _, senders)| size * senders * per_sender).sum();
    let (mut last, mut still) = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now: usize = received.lock().unwrap().values().map(Vec::len).sum();
        if now >= expected || still.elapsed() > Duration::from_secs(10) {
            break;
        }
        if now != last {
            (last, still) = (now, Instant::now());
        }
    }
    println!(
        "{clients} WebSocket clients, {per_sender} messages per sender, one every {interval} ms per sender, {}, in-memory stack\n",
        if same_tick { "all senders on the same tick" } else { "senders spread over the interval" }
    );
    println!(
        "{:<14} {:>6} {:>9} {:>10} {:>10} {:>6} {:>8} {:>8} {:>9} {:>9}",
        "room size", "rooms", "messages", "expected", "delivered", "lost", "p50 ms", "p99 ms", "first p50", "first p99"
    );
    for &(members, rooms, senders) in LAYOUT {
        let sent = sent_at.lock().unwrap();
        let got = received.lock().unwrap();
        let mine: Vec<(&String, &Instant)> =
            sent.iter().filter(|(_, (size, _))| *size == members).map(|(c, (_, at))| (c, at)).collect();
        let expected = mine.len() * members;
        let mut latencies: Vec<Duration> = Vec::new();
        // Each message's first delivery: the send's own time, before the fan-out to the rest.
        let mut firsts: Vec<Duration> = Vec::new();
        let mut delivered = 0;
        for (content, at) in &mine {
            let times = got.get(*content).map(Vec::as_slice).unwrap_or_default();
            for t in times {
                delivered += 1;
                latencies.push(t.saturating_duration_since(**at));
            }
            if let Some(first) = times.iter().min() {
                firsts.push(first.saturating_duration_since(**at));
            }
        }
        latencies.sort();
        firsts.sort();
        let (first50, first99) =
            if firsts.is_empty() { (0.0, 0.0) } else { (percentile(&firsts, 0.5), percentile(&firsts, 0.99)) };
        let (p50, p99) =
            if latencies.is_empty() { (0.0, 0.0) } else { (percentile(&latencies, 0.5), percentile(&latencies, 0.99)) };
        let _ = senders;
        println!(
            "{:<14} {:>6} {:>9} {:>10} {:>10} {:>6} {:>8.1} {:>8.1} {:>9.1} {:>9.1}",
            format!("{members} members"),
            rooms,
            mine.len(),
            expected,
            delivered,
            expected.saturating_sub(delivered),
            p50,
            p99,
            first50,
            first99
        );
    }
    if std::env::var_os("WS_BENCH_TICKS").is_some() {
        let sent = sent_at.lock().unwrap();
        let got = received.lock().unwrap();
        for tick in 0..per_sender {
            let mut worst: Vec<(f64, usize)> = Vec::new();
            for (content, (size, at)) in sent.iter() {
                if content.ends_with(&format!("/{tick}")) {
                    let last = got.get(content).and_then(|t| t.iter().max().copied());
                    worst.push((last.map_or(0.0, |l| l.saturating_duration_since(*at).as_secs_f64() * 1000.0), *size));
                }
            }
            worst.sort_by(|a, b| b.0.total_cmp(&a.0));
            eprintln!("tick {tick}: slowest last deliveries {:?}", &worst[..worst.len().min(4)]);
        }
    }
    // The transactions the region's conflict emulation cancelled during the run, and on what.
    println!(
        "\nconflicts retried: {} ({})",
        stack.faults.in_flight.conflicts.load(Ordering::Relaxed) - conflicts_before,
        bench::conflicts_since(&stack, &shapes_before).unwrap_or_else(|| "none".into())
    );
    stack.stop().await;
}
