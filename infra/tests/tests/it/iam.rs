//! IAM, locally: each function signs as itself and every stand-in holds its calls to the policy
//! the template gives it; keys nobody issued are refused everywhere.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::TestStack;
use serde_json::json;

/// An SDK configuration for the stack's endpoints with the given key pair.
fn sdk(key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new(local_stack::REGION))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::from_keys(key, secret, None),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// The credentials the stack gives one function.
fn function_keys(function: &str) -> (String, String) {
    shared::config::local_function_credentials(local_stack::ACCESS_KEY_ID, local_stack::SECRET_ACCESS_KEY, function)
}

fn table_client(conf: &aws_config::SdkConfig, url: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(aws_sdk_dynamodb::config::Builder::from(conf).endpoint_url(url).build())
}

/// A GetItem of an item that need not exist: what any table reader may do.
async fn get_one(
    ddb: &aws_sdk_dynamodb::Client,
) -> Result<
    aws_sdk_dynamodb::operation::get_item::GetItemOutput,
    aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::get_item::GetItemError>,
> {
    ddb.get_item()
        .table_name(local_stack::TABLE_NAME)
        .key("PK", AttributeValue::S("x".into()))
        .key("SK", AttributeValue::S("x".into()))
        .send()
        .await
}

fn code_of<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_local_aws_endpoint_refuses_keys_it_never_issued() {
    let t = TestStack::start().await;
    let s = &t.stack;
    for (key, secret, why) in [
        ("AKIAUNKNOWNKEY000000", "whatever", "an unknown key"),
        (&*format!("{}.no-such-function", local_stack::ACCESS_KEY_ID), "whatever", "a function that does not exist"),
        (&*function_keys("health").0, "not-the-secret", "a known key with the wrong secret"),
    ] {
        let conf = sdk(key, secret);
        let e = get_one(&table_client(&conf, &s.dynamodb_url)).await.expect_err(why);
        let code = code_of(&e.into_service_error());
        assert!(matches!(code.as_str(), "UnrecognizedClientException" | "InvalidSignatureException"), "{why}: {code}");

        let sqs =
            aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&conf).endpoint_url(&s.sqs_url).build());
        let e = sqs.send_message().queue_url(s.queues.url_of("mail")).message_body("{}").send().await.expect_err(why);
        let code = code_of(&e.into_service_error());
        assert!(matches!(code.as_str(), "InvalidClientTokenId" | "SignatureDoesNotMatch"), "{why}: {code}");

        let ses =
            aws_sdk_ses::Client::from_conf(aws_sdk_ses::config::Builder::from(&conf).endpoint_url(&s.ses_url).build());
        let e = ses
            .send_email()
            .source(local_stack::MAIL_FROM)
            .destination(aws_sdk_ses::types::Destination::builder().to_addresses("x@example.com").build())
            .message(
                aws_sdk_ses::types::Message::builder()
                    .subject(aws_sdk_ses::types::Content::builder().data("s").build().unwrap())
                    .body(
                        aws_sdk_ses::types::Body::builder()
                            .text(aws_sdk_ses::types::Content::builder().data("t").build().unwrap())
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect_err(why);
        let code = code_of(&e.into_service_error());
        assert!(matches!(code.as_str(), "InvalidClientTokenId" | "SignatureDoesNotMatch"), "{why}: {code}");

        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&conf).endpoint_url(&s.s3_url).force_path_style(true).build(),
        );
        let e = s3.get_object().bucket(local_stack::MEDIA_BUCKET).key("users/x/a.jpg").send().await.expect_err(why);
        let code = code_of(&e.into_service_error());
        assert!(matches!(code.as_str(), "InvalidAccessKeyId" | "SignatureDoesNotMatch"), "{why}: {code}");

        let ws = aws_sdk_apigatewaymanagement::Client::from_conf(
            aws_sdk_apigatewaymanagement::config::Builder::from(&conf)
                .endpoint_url(s.websocket_url.replacen("ws://", "http://", 1))
                .build(),
        );
        let e = ws
            .post_to_connection()
            .connection_id("abc")
            .data(aws_smithy_types::Blob::new("{}"))
            .send()
            .await
            .expect_err(why);
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(403), "{why}");

        let comprehend = aws_sdk_comprehend::Client::from_conf(
            aws_sdk_comprehend::config::Builder::from(&conf).endpoint_url(&s.comprehend_url).build(),
        );
        let e = comprehend
            .batch_detect_sentiment()
            .text_list("좋아요")
            .language_code(aws_sdk_comprehend::types::LanguageCode::Ko)
            .send()
            .await
            .expect_err(why);
        let code = code_of(&e.into_service_error());
        assert!(matches!(code.as_str(), "UnrecognizedClientException" | "InvalidSignatureException"), "{why}: {code}");
    }
    assert!(t.stack.iam.refusals().is_empty(), "unknown keys are refused before any policy is read");
    t.stop().await;
}

#[tokio::test]
async fn a_function_may_do_only_what_its_policy_allows_and_a_refusal_is_logged() {
    let t = TestStack::start().await;
    let s = &t.stack;
    // `health` may read the table, and nothing else.
    let (key, secret) = function_keys("health");
    let conf = sdk(&key, &secret);
    let ddb = table_client(&conf, &s.dynamodb_url);
    let read = get_one(&ddb).await;
    assert!(read.is_ok(), "a read its policy allows: {read:?}");
    let e = ddb
        .put_item()
        .table_name(local_stack::TABLE_NAME)
        .item("PK", AttributeValue::S("x".into()))
        .item("SK", AttributeValue::S("x".into()))
        .send()
        .await
        .expect_err("health may not write");
    let e = e.into_service_error();
    assert_eq!(code_of(&e), "AccessDeniedException");
    let message = aws_sdk_dynamodb::error::ProvideErrorMetadata::message(&e).unwrap_or_default().to_string();
    assert!(
        message.contains("petplatform-local-health/health is not authorized to perform: dynamodb:PutItem"),
        "{message}"
    );
    let sqs =
        aws_sdk_sqs::Client::from_conf(aws_sdk_sqs::config::Builder::from(&conf).endpoint_url(&s.sqs_url).build());
    let e = sqs.send_message().queue_url(s.queues.url_of("mail")).message_body("{}").send().await.expect_err("no send");
    assert_eq!(code_of(&e.into_service_error()), "AccessDenied");
    // A transaction asks for each of its items' actions, on the table.
    let refused = s.iam.refusals();
    let table = format!(
        "arn:aws:dynamodb:{}:{}:table/{}",
        local_stack::REGION,
        local_stack::iam::ACCOUNT_ID,
        local_stack::TABLE_NAME
    );
    assert_eq!(
        refused.iter().map(|r| (r.function.as_str(), r.action.as_str(), r.resource.as_str())).collect::<Vec<_>>(),
        vec![
            ("health", "dynamodb:PutItem", table.as_str()),
            (
                "health",
                "sqs:SendMessage",
                &*format!("arn:aws:sqs:{}:{}:mail", local_stack::REGION, local_stack::iam::ACCOUNT_ID)
            ),
        ]
    );
    // The console shows the same.
    let report = t.get("/_local/iam").await;
    assert_eq!(report.body["mode"], "Enforce");
    assert_eq!(report.body["refusals"][0]["action"], "dynamodb:PutItem");
    t.stop().await;
}

/// An administrator sends a notice to everyone; the one reader it should reach, and the answer.
async fn notice_to_all(t: &TestStack) -> (integration_tests::Session, integration_tests::Reply) {
    let root = t.admin("root@example.com", "root", "password-123!").await;
    let reader = t.user("reader@example.com", "reader", "password-123!").await;
    let notice = json!({"title": "점검 안내", "body": "새벽에 점검합니다.", "audience": "ALL"});
    let r = t.post("/admin/notices", notice, Some(&root.access)).await;
    (reader, r)
}

#[tokio::test]
async fn without_its_send_to_the_notices_queue_the_relay_is_refused_and_no_notice_arrives() {
    let t = TestStack::start().await;
    let notices = format!("arn:aws:sqs:{}:{}:notices", local_stack::REGION, local_stack::iam::ACCOUNT_ID);
    // A statement taken away, as a wrong template would have it.
    assert!(t.stack.iam.revoke("outbox-relay", "sqs:SendMessage", &notices), "the relay may send notices");
    let (reader, r) = notice_to_all(&t).await;
    assert_eq!(r.status, 202, "the API answers as if all were well: {:?}", r.body);
    let refusal = t
        .eventually(std::time::Duration::from_secs(20), "the relay's send refused", || async {
            t.stack.iam.refusals().into_iter().find(|r| r.function == "outbox-relay")
        })
        .await;
    assert_eq!((refusal.action.as_str(), refusal.resource.as_str()), ("sqs:SendMessage", notices.as_str()));
    // The mapping has moved past every refused message (each tried 11 times, then to the
    // failure destination): the notice had every chance to arrive.
    t.eventually(std::time::Duration::from_secs(90), "the relay to move past the refused messages", || async {
        t.stack.streams.caught_up().then_some(())
    })
    .await;
    let inbox = t.call(reqwest::Method::GET, "/notifications", None, Some(&reader.access)).await;
    assert!(
        !inbox.body["items"].as_array().unwrap().iter().any(|n| n["type"] == "NOTICE"),
        "no notice without the permission: {:?}",
        inbox.body
    );
    t.stop().await;

    // With the template's statement, the same journey delivers.
    let t = TestStack::start().await;
    let (reader, r) = notice_to_all(&t).await;
    assert_eq!(r.status, 202);
    t.eventually(std::time::Duration::from_secs(20), "the notice in the inbox", || async {
        let inbox = t.call(reqwest::Method::GET, "/notifications", None, Some(&reader.access)).await;
        inbox.body["items"].as_array().unwrap().iter().any(|n| n["type"] == "NOTICE").then_some(())
    })
    .await;
    assert!(t.stack.iam.refusals().is_empty(), "{:?}", t.stack.iam.refusals());
    t.stop().await;
}

#[test]
fn the_relay_may_send_to_every_queue_an_outbox_message_can_name() {
    let template: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string("../stacks/system.yaml").expect("the system stack")).unwrap();
    let relay = &template["Resources"]["OutboxRelayFunction"]["Properties"]["Policies"][0]["Statement"];
    let sends: Vec<String> = relay
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == "sqs:SendMessage"))
        .flat_map(|s| s["Resource"].as_array().cloned().unwrap_or_else(|| vec![s["Resource"].clone()]))
        .filter_map(|r| r["Ref"].as_str().map(str::to_string))
        .collect();
    for q in shared::outbox::targets(&local_stack::catalog::queues()) {
        let id = format!("{}QueueArn", local_stack::infra_gen::logical_id(q.name));
        assert!(sends.contains(&id), "the relay cannot send to {}: {sends:?}", q.name);
    }
    for name in ["post-index", "community-index", "notices", "ocr", "sns-sync", "mail", "notifications", "feed"] {
        assert!(
            shared::outbox::targets(&local_stack::catalog::queues()).any(|q| q.name == name),
            "{name} is an outbox target"
        );
    }
}

#[tokio::test]
async fn a_comment_answers_with_its_authors_avatar_and_the_avatar_url_opens() {
    let t = TestStack::start().await;
    let pw = "password-123!";
    let ann = t.user("ann@example.com", "ann", pw).await;
    let bob = t.user("bob@example.com", "bob", pw).await;
    let key = t.png(&ann, "profile").await;
    let me =
        t.call(reqwest::Method::PATCH, "/users/me", Some(json!({"profileImageKey": key})), Some(&ann.access)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    let post = t.post("/posts", json!({"content": "산책"}), Some(&bob.access)).await;
    let post_id = post.body["id"].as_str().unwrap().to_string();
    let board = t
        .post(
            "/community/posts",
            json!({"type": "QUESTION", "title": "질문", "content": "사료 추천"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(board.status, 201, "{:?}", board.body);
    let board_id = board.body["id"].as_str().unwrap().to_string();
    let diary = t.post(&format!("/posts/{post_id}/comments"), json!({"content": "귀여워요"}), Some(&ann.access)).await;
    let community =
        t.post(&format!("/community/posts/{board_id}/comments"), json!({"content": "저도요"}), Some(&ann.access)).await;
    let diary_edit = t
        .call(
            reqwest::Method::PATCH,
            &format!("/comments/{}", diary.body["id"].as_str().unwrap()),
            Some(json!({"content": "정말 귀여워요"})),
            Some(&ann.access),
        )
        .await;
    let community_edit = t
        .call(
            reqwest::Method::PATCH,
            &format!("/community/comments/{}", community.body["id"].as_str().unwrap()),
            Some(json!({"content": "저도 궁금해요"})),
            Some(&ann.access),
        )
        .await;
    for (what, r) in [
        ("diary comment", &diary),
        ("community comment", &community),
        ("diary edit", &diary_edit),
        ("community edit", &community_edit),
    ] {
        assert!((200..300).contains(&r.status), "{what}: {:?}", r.body);
        let urls = integration_tests::presigned_urls(&r.body);
        assert!(!urls.is_empty(), "{what} shows the author's avatar: {:?}", r.body);
        for url in urls {
            let got = t.http.get(url).send().await.unwrap();
            assert_eq!(got.status(), 200, "{what}: the avatar URL opens (its signer may read media): {url}");
        }
    }
    assert!(t.stack.iam.refusals().is_empty(), "{:?}", t.stack.iam.refusals());
    t.stop().await;
}

#[tokio::test]
async fn what_the_kernel_does_for_any_route_is_in_every_policy() {
    // Found by fuzzing under enforcement: a route whose own code never reads the table still
    // has its caller's session read when a token comes, and an `Idempotency-Key` is stored.
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", "password-123!").await;
    for path in ["/species?kind=DOG", "/health/activity-levels", "/health/schedule-types"] {
        let r = t.call(reqwest::Method::GET, path, None, Some(&ann.access)).await;
        assert_eq!(r.status, 200, "{path} with a token: {:?}", r.body);
    }
    let r = t
        .send(
            t.http
                .post(t.url("/auth/password/forgot"))
                .bearer_auth(&ann.access)
                .json(&json!({"email": "ann@example.com"})),
        )
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let upload = json!({"purpose": "profile", "contentType": "image/png", "contentLength": 100});
    for _ in 0..2 {
        let r = t
            .send(
                t.http.post(t.url("/uploads")).bearer_auth(&ann.access).header("idempotency-key", "k-1").json(&upload),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    assert!(t.stack.iam.refusals().is_empty(), "{:?}", t.stack.iam.refusals());
    t.stop().await;
}
