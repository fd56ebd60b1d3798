//! The foundation, end to end: the HTTP API and the local AWS stand-ins, reached through the real
//! SDK clients exactly as the functions reach them.

use std::collections::HashSet;
use std::time::Duration;

use integration_tests::TestStack;
use local_stack::StackOptions;
use serde::{Deserialize, Serialize};
use shared::ApiError;
use shared::table::{Entity, Gsi, Key, Query, Write};

/// A small entity for exercising the table layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Note {
    owner: String,
    id: String,
    text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires: Option<i64>,
}

impl Entity for Note {
    const TYPE: &'static str = "Note";
    fn pk(&self) -> String {
        format!("OWNER#{}", self.owner)
    }
    fn sk(&self) -> String {
        format!("NOTE#{}", self.id)
    }
    fn index_keys(&self) -> Vec<(Gsi, String, String)> {
        vec![(Gsi::Gsi1, "NOTES".into(), format!("NOTE#{}", self.id))]
    }
    fn expires_at(&self) -> Option<i64> {
        self.expires
    }
}

fn note(owner: &str, id: &str) -> Note {
    Note { owner: owner.into(), id: id.into(), text: format!("note {id}"), expires: None }
}

#[tokio::test]
async fn health_answers_with_the_table_reachable() {
    let t = TestStack::start().await;
    let r = t.get("/health").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["table"]["reachable"], true);
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert!(r.header("x-request-id").is_some_and(|v| !v.is_empty()));
    t.stop().await;
}

/// `cargo lambda watch --env-file` reads the stack's `lambda.env` as a dotenv file, whose
/// parser refuses quotes, braces and `$` in an unquoted value: every value stays plain.
#[tokio::test]
async fn the_function_environment_file_is_plain_dotenv() {
    let t = TestStack::start().await;
    let text = t.stack.env_file();
    assert!(text.lines().any(|l| l.starts_with("TOPIC_SUBSCRIBERS=") && l.contains("social.follows:")), "{text}");
    for line in text.lines() {
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("not KEY=value: {line}"));
        assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'), "{line}");
        let plain = |c: char| c.is_ascii_alphanumeric() || "-_.:/,;@+=%~".contains(c);
        assert!(value.chars().all(plain), "{key} holds a character a dotenv parser refuses unquoted");
    }
    t.stop().await;
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let t = TestStack::start().await;
    let r = t.get("/no/such/thing").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("application/problem+json"));
    assert_eq!(r.body["code"], "ROUTE_NOT_FOUND");
    let r = t.send(t.http.delete(t.url("/health"))).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["code"], "METHOD_NOT_ALLOWED");
    assert_eq!(r.header("allow"), Some("GET"));
    // Where a static path also fits an `{id}` route, `Allow` names the static path's methods.
    for (method, path, allow) in [
        (reqwest::Method::PUT, "/market/posts/nearby", "GET"),
        (reqwest::Method::PUT, "/notifications/unread-count", "GET"),
        (reqwest::Method::GET, "/notifications/read-all", "POST"),
        (reqwest::Method::POST, "/notifications/settings", "GET, PUT"),
    ] {
        let r = t.send(t.http.request(method.clone(), t.url(path))).await;
        assert_eq!((r.status, r.header("allow")), (405, Some(allow)), "{method} {path}");
    }
    t.stop().await;
}

#[tokio::test]
async fn openapi_describes_the_api() {
    let t = TestStack::start().await;
    let r = t.get("/openapi.json").await;
    assert_eq!(r.status, 200);
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let health = &r.body["paths"]["/health"]["get"];
    assert_eq!(health["operationId"], "health");
    assert!(
        health["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("/Health")
    );
    assert!(r.body["components"]["schemas"]["Health"].is_object());
    assert!(r.body["components"]["schemas"]["Problem"].is_object());
    // Every route of the table is in the document.
    for route in local_stack::catalog::routes() {
        let m = route.method.as_str().to_ascii_lowercase();
        assert!(r.body["paths"][route.path][&m].is_object(), "{} is missing", route.route_key());
    }
    // What the reference page teaches: every tag described, every error response's codes listed.
    let described: std::collections::BTreeMap<&str, &str> = r.body["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap(), t["description"].as_str().unwrap_or_default()))
        .collect();
    let mut uncoded = std::collections::BTreeSet::new();
    for (path, item) in r.body["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for tag in op["tags"].as_array().unwrap() {
                let tag = tag.as_str().unwrap();
                assert!(
                    described.get(tag).is_some_and(|d| d.len() > 20),
                    "{method} {path}: tag {tag} is not described"
                );
            }
            for (status, answer) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let text = answer["description"].as_str().unwrap();
                    if !text.contains("`code` is one of") {
                        uncoded.insert(format!("{status} {method} {path}"));
                    }
                }
            }
        }
    }
    assert!(uncoded.is_empty(), "error responses without their codes: {uncoded:?}");
    let tip = &r.body["paths"]["/pets/{id}/tips"]["post"]["responses"];
    assert!(tip["429"]["description"].as_str().unwrap().contains("`RATE_LIMITED`"));
    assert!(tip["404"]["description"].as_str().unwrap().contains("`PET_NOT_FOUND`"), "{:?}", tip["404"]);
    t.stop().await;
}

#[tokio::test]
async fn cors_follows_the_configuration() {
    let t = TestStack::start().await;
    let cors = local_stack::cors::Cors::from_config_file();
    let allowed = cors.allow_origins[0].clone();

    let pre = t
        .send(
            t.http
                .request(reqwest::Method::OPTIONS, t.url("/health"))
                .header("origin", &allowed)
                .header("access-control-request-method", "GET"),
        )
        .await;
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some(allowed.as_str()));
    assert!(pre.header("access-control-allow-methods").unwrap().contains("PATCH"));

    let ok = t.send(t.http.get(t.url("/health")).header("origin", &allowed)).await;
    assert_eq!(ok.header("access-control-allow-origin"), Some(allowed.as_str()));
    assert!(ok.header("access-control-expose-headers").unwrap().contains("x-request-id"));
    let evil_preflight = t
        .send(
            t.http
                .request(reqwest::Method::OPTIONS, t.url("/health"))
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "GET"),
        )
        .await;
    assert_eq!(evil_preflight.header("access-control-allow-origin"), None);

    let evil = t.send(t.http.get(t.url("/health")).header("origin", "https://evil.example")).await;
    assert_eq!(evil.status, 200);
    assert_eq!(evil.header("access-control-allow-origin"), None);
    t.stop().await;
}

#[tokio::test]
async fn a_failed_condition_is_a_409_conflict() {
    let t = TestStack::start().await;
    let table = t.stack.ctx.table.clone();
    let taken = || ApiError::conflict("NOTE_TAKEN", "That note exists.");

    // Twenty concurrent creations of one key: exactly one wins, the others get the domain error.
    let attempts = (0..20).map(|_| {
        let table = table.clone();
        async move { table.write(Write::put(&note("ann", "1")).unwrap().if_absent(taken())).await }
    });
    let results = futures::future::join_all(attempts).await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for e in results.into_iter().filter_map(Result::err) {
        assert_eq!(e.status().as_u16(), 409);
        assert_eq!(e.to_problem().code, "NOTE_TAKEN");
    }

    // In a transaction, the error is that of the write whose condition failed.
    let err = table
        .transact(vec![
            Write::put(&note("ann", "2")).unwrap().if_absent(ApiError::conflict("FIRST", "first")),
            Write::put(&note("ann", "1")).unwrap().if_absent(ApiError::conflict("SECOND", "second")),
        ])
        .await
        .unwrap_err();
    assert_eq!(err.code(), "SECOND");
    assert_eq!(err.status().as_u16(), 409);
    // ... and nothing of it was written.
    assert!(table.get::<Note>(&Key::new("OWNER#ann", "NOTE#2")).await.unwrap().is_none());

    // Counters go through atomic updates.
    let bumps = (0..25).map(|_| {
        let table = table.clone();
        async move {
            table
                .write(
                    Write::update(Key::new("OWNER#ann", "NOTE#1"), "ADD #c :one")
                        .name("#c", "count")
                        .value(":one", shared::table::n(1)),
                )
                .await
        }
    });
    assert!(futures::future::join_all(bumps).await.iter().all(Result::is_ok));
    let item = table.get_item(&Key::new("OWNER#ann", "NOTE#1")).await.unwrap().unwrap();
    assert_eq!(item["count"].as_n().unwrap(), "25");
    t.stop().await;
}

#[tokio::test]
async fn pages_return_every_item_exactly_once_and_cursors_are_tamper_evident() {
    let t = TestStack::start().await;
    let table = &t.stack.ctx.table;
    let ids: Vec<String> = (0..53).map(|i| format!("{i:03}")).collect();
    for chunk in ids.chunks(25) {
        table.transact(chunk.iter().map(|id| Write::put(&note("bob", id)).unwrap()).collect()).await.unwrap();
    }
    // Someone else's notes share the index partition but not the table partition.
    table.write(Write::put(&note("eve", "999")).unwrap()).await.unwrap();
    t.indexed().await;

    for (query, expected) in [
        (Query::partition("OWNER#bob").begins_with("NOTE#").limit(10), ids.clone()),
        (Query::partition("OWNER#bob").newest_first().limit(7), ids.iter().rev().cloned().collect()),
        (
            Query::partition("NOTES").index(Gsi::Gsi1).limit(10),
            ids.iter().cloned().chain(["999".to_string()]).collect(),
        ),
    ] {
        let mut seen = Vec::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let page = table.query::<Note>(&query.clone().cursor(cursor)).await.unwrap();
            assert!(page.items.len() <= query.limit);
            seen.extend(page.items.into_iter().map(|n| n.id));
            pages += 1;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, expected, "every item once, in key order");
        assert_eq!(pages, expected.len().div_ceil(query.limit), "no empty trailing page");
    }

    // A cursor that was altered, forged, or belongs to another list is a 400.
    let q = Query::partition("OWNER#bob").limit(5);
    let cursor = table.query::<Note>(&q).await.unwrap().next_cursor.unwrap();
    let mut flipped = cursor.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    for bad in [String::from_utf8(flipped).unwrap(), "forged.cursor".to_string(), format!("{cursor}x")] {
        let err = table.query::<Note>(&q.clone().cursor(Some(bad))).await.unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(err.code(), "INVALID_CURSOR");
    }
    let other_list = Query::partition("OWNER#eve").limit(5).cursor(Some(cursor));
    assert_eq!(table.query::<Note>(&other_list).await.unwrap_err().code(), "INVALID_CURSOR");
    t.stop().await;
}

#[tokio::test]
async fn expired_items_are_hidden_before_ttl_deletes_them() {
    let t = TestStack::start().await;
    let table = &t.stack.ctx.table;
    let now = chrono::Utc::now().timestamp();
    let mut old = note("cat", "1");
    old.expires = Some(now - 10);
    let mut fresh = note("cat", "2");
    fresh.expires = Some(now + 600);
    for n in [&old, &fresh] {
        table.write(Write::put(n).unwrap()).await.unwrap();
    }
    let page = table.query::<Note>(&Query::partition("OWNER#cat").hide_expired(now)).await.unwrap();
    assert_eq!(page.items, vec![fresh]);
    t.stop().await;
}

#[tokio::test]
async fn batch_get_keeps_the_order_asked() {
    let t = TestStack::start().await;
    let table = &t.stack.ctx.table;
    for id in ["a", "b", "c"] {
        table.write(Write::put(&note("dan", id)).unwrap()).await.unwrap();
    }
    let keys: Vec<Key> =
        ["c", "missing", "a", "c"].iter().map(|id| Key::new("OWNER#dan", format!("NOTE#{id}"))).collect();
    let got: Vec<Option<String>> =
        table.batch_get::<Note>(&keys).await.unwrap().into_iter().map(|n| n.map(|n| n.id)).collect();
    assert_eq!(got, vec![Some("c".into()), None, Some("a".into()), Some("c".into())]);
    t.stop().await;
}

#[tokio::test]
async fn presigned_put_then_get_returns_the_same_bytes() {
    let t = TestStack::start().await;
    let ctx = &t.stack.ctx;
    let presign = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(300)).unwrap();
    let key = "users/u1/post/photo.png";
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();

    let put = ctx
        .s3
        .put_object()
        .bucket(&ctx.config.media_bucket)
        .key(key)
        .content_type("image/png")
        .presigned(presign.clone())
        .await
        .unwrap();
    let res = t.http.put(put.uri()).header("content-type", "image/png").body(bytes.clone()).send().await.unwrap();
    assert!(res.status().is_success(), "PUT {}", res.status());

    let get = ctx.s3.get_object().bucket(&ctx.config.media_bucket).key(key).presigned(presign).await.unwrap();
    let res = t.http.get(get.uri()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.bytes().await.unwrap().to_vec(), bytes);

    // A browser may upload from an allowed origin, as the real bucket's CORS rule allows.
    let origin = local_stack::cors::Cors::from_config_file().allow_origins[0].clone();
    let pre = t
        .http
        .request(reqwest::Method::OPTIONS, put.uri())
        .header("origin", &origin)
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()), Some(origin.as_str()));
    let evil = t.http.get(get.uri()).header("origin", "https://evil.example").send().await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none());

    // The signature is checked: an altered URL is refused.
    let tampered = get.uri().replace("photo.png", "other.png");
    assert_eq!(t.http.get(tampered).send().await.unwrap().status().as_u16(), 403);
    t.stop().await;
}

#[tokio::test]
async fn a_queued_email_lands_in_the_mailbox() {
    let t = TestStack::start().await;
    let email = shared::mail::Email {
        to: "Mina@Example.com".into(),
        subject: "인증 코드".into(),
        text: "코드: 123456".into(),
        dedup_key: "verify:mina:1".into(),
    };
    shared::mail::enqueue(&t.stack.ctx, &email).await.unwrap();
    let mails = t
        .eventually(Duration::from_secs(10), "the email", || async {
            Some(t.mail_to("mina@example.com").await).filter(|m| !m.is_empty())
        })
        .await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0]["subject"], "인증 코드");
    assert_eq!(mails[0]["text"], "코드: 123456");
    assert_eq!(mails[0]["from"], local_stack::MAIL_FROM);
    assert!(mails[0]["sentAt"].as_str().is_some());

    // The same email queued again (a redelivery, a retried producer) is sent once.
    shared::mail::enqueue(&t.stack.ctx, &email).await.unwrap();
    t.eventually(Duration::from_secs(10), "the queue to drain", || async {
        (t.stack.queues.depth("mail") == Some((0, 0))).then_some(())
    })
    .await;
    assert_eq!(t.mail_to("mina@example.com").await.len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn only_failed_messages_are_redelivered_and_poison_ends_in_the_dlq() {
    let mut opts = StackOptions::ephemeral();
    opts.visibility_timeout = Some(Duration::from_secs(1));
    let t = TestStack::start_with(opts).await;
    let ctx = &t.stack.ctx;
    let mail_url = ctx.config.queue_url(&shared::queues::MAIL).to_string();
    let dlq_url = ctx.config.dlq_url(&shared::queues::MAIL).to_string();

    let good = |n: u32| {
        serde_json::json!({"to": format!("user{n}@example.com"), "subject": "hi", "text": "hello", "dedupKey": format!("batch:{n}")}).to_string()
    };
    // Never deliverable (not an address): refused for good on its first delivery.
    let poison = r#"{"to": "not an address", "subject": "x", "text": "x", "dedupKey": "poison"}"#;
    // Not deliverable now (another worker holds its key): retried up to the queue's limit.
    assert_eq!(shared::idempotency::claim(ctx, "mail", "held").await.unwrap(), shared::idempotency::Claim::Acquired);
    let held = r#"{"to": "held@example.com", "subject": "x", "text": "x", "dedupKey": "held"}"#;
    let entries = [good(1), poison.to_string(), held.to_string(), good(2)]
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(format!("m{i}"))
                .message_body(body)
                .build()
                .unwrap()
        })
        .collect::<Vec<_>>();
    let sent = ctx.sqs.send_message_batch().queue_url(&mail_url).set_entries(Some(entries)).send().await.unwrap();
    let ids: Vec<String> = sent.successful().iter().map(|s| s.message_id().to_string()).collect();
    let (good1, poison_id, held_id, good2) = (&ids[0], &ids[1], &ids[2], &ids[3]);

    let deliveries = |id: &String| -> Vec<u32> {
        t.stack
            .queues
            .invocations()
            .iter()
            .flat_map(|i| i.messages.clone())
            .filter(|(m, _)| m == id)
            .map(|(_, c)| c)
            .collect()
    };
    // Both end in the dead-letter queue: the poison at once, the held one after its third try.
    t.eventually(Duration::from_secs(20), "both in the DLQ", || async {
        let attrs = ctx
            .sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        let n =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages].clone();
        (n == "2" && deliveries(held_id).len() == 3).then_some(())
    })
    .await;

    let invocations = t.stack.queues.invocations();
    // The first batch held all four; only the held one failed (the poison one was moved, not failed).
    assert_eq!(invocations[0].messages.len(), 4);
    assert_eq!(invocations[0].failures, vec![held_id.clone()]);
    assert_eq!(deliveries(good1), vec![1]);
    assert_eq!(deliveries(good2), vec![1]);
    assert_eq!(deliveries(poison_id), vec![1], "refused for good on its first delivery");
    assert_eq!(deliveries(held_id), vec![1, 2, 3], "retried up to the limit");
    assert_eq!(t.mail_to("user1@example.com").await.len(), 1);
    assert_eq!(t.mail_to("user2@example.com").await.len(), 1);

    // The dead-letter watch alerts the operators, once a day per queue.
    for _ in 0..2 {
        let r = t.send(t.http.post(t.url("/_local/jobs/dlq-watch/run"))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let alerts = t
        .eventually(Duration::from_secs(10), "the DLQ alert", || async {
            Some(t.mail_to(local_stack::OPS_EMAIL).await).filter(|m| !m.is_empty())
        })
        .await;
    assert!(alerts[0]["subject"].as_str().unwrap().contains("mail-dlq"));
    t.settle().await;
    assert_eq!(t.mail_to(local_stack::OPS_EMAIL).await.len(), 1);
    // What the DLQ holds is the messages themselves; the refused one says why.
    let dead = ctx
        .sqs
        .receive_message()
        .queue_url(&dlq_url)
        .max_number_of_messages(10)
        .message_attribute_names("All")
        .send()
        .await
        .unwrap();
    let mut bodies: Vec<&str> = dead.messages().iter().filter_map(|m| m.body()).collect();
    bodies.sort();
    let mut expected = vec![poison, held];
    expected.sort();
    assert_eq!(bodies, expected);

    let r = t.send(t.http.post(t.url("/_local/jobs/no-such-job/run"))).await;
    assert_eq!(r.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn unverified_senders_are_rejected_by_ses() {
    let t = TestStack::start().await;
    let ctx = &t.stack.ctx;
    use aws_sdk_ses::types::{Body, Content, Destination, Message};
    let err = ctx
        .ses
        .send_email()
        .source("someone-else@example.com")
        .destination(Destination::builder().to_addresses("x@example.com").build())
        .message(
            Message::builder()
                .subject(Content::builder().data("s").build().unwrap())
                .body(Body::builder().text(Content::builder().data("t").build().unwrap()).build())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.into_service_error().meta().code(), Some("MessageRejected"));
    t.stop().await;
}

#[tokio::test]
async fn a_restarted_file_backed_stack_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = StackOptions::persistent(dir.path());
    for port in [
        &mut opts.http_port,
        &mut opts.dynamodb_port,
        &mut opts.s3_port,
        &mut opts.sqs_port,
        &mut opts.ses_port,
        &mut opts.sandbox_port,
    ] {
        *port = 0;
    }
    opts.run_schedules = false;

    let first = TestStack::start_with(opts.clone()).await;
    first.stack.ctx.table.write(Write::put(&note("keep", "1")).unwrap()).await.unwrap();
    let token_secret = first.stack.env["JWT_SECRET"].clone();
    first.stop().await;

    let second = TestStack::start_with(opts).await;
    let kept: Option<Note> = second.stack.ctx.table.get(&Key::new("OWNER#keep", "NOTE#1")).await.unwrap();
    assert_eq!(kept, Some(note("keep", "1")));
    assert_eq!(second.stack.env["JWT_SECRET"], token_secret, "tokens stay valid across restarts");
    assert_eq!(second.get("/health").await.status, 200);
    second.stop().await;
}

#[tokio::test]
async fn ids_are_unique_under_load() {
    let now = chrono::Utc::now();
    let ids: HashSet<String> = (0..10_000).map(|_| shared::ids::new_id(now)).collect();
    assert_eq!(ids.len(), 10_000);
}
