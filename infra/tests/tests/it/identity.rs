//! Identity, end to end over HTTP: sign-up and verification, sign-in and lockout, tokens and
//! their rotation, recovery, profiles, social sign-in, uploads — and the races and attacks.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use integration_tests::TestStack;
use local_stack::StackOptions;
use reqwest::Method;
use serde_json::json;
use shared::auth::{Role, TokenScope};
use shared::clock::OffsetClock;
use shared::table::{Write, b, s};

const PW: &str = "walks4ever";

fn bearer(t: &str) -> Option<&str> {
    Some(t)
}

#[tokio::test]
async fn sign_up_verify_and_sign_in() {
    let t = TestStack::start().await;
    let r = t
        .post(
            "/auth/signup",
            json!({"email": "Mina@Example.com", "password": PW, "name": "김민아", "nickname": "mina"}),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["status"], "PENDING_VERIFICATION");

    // Not yet verified: the right password is refused.
    let r = t.login("mina@example.com", PW).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("EMAIL_NOT_VERIFIED")));

    t.verify("mina@example.com").await;
    let r = t.login("MINA@example.com", PW).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["tokenType"], "Bearer");
    assert_eq!(r.body["expiresIn"], 900);
    assert_eq!(r.body["user"]["email"], "mina@example.com");
    assert_eq!(r.body["user"]["role"], "USER");
    assert_eq!(r.body["user"]["status"], "ACTIVE");
    let access = r.body["accessToken"].as_str().unwrap();

    let me = t.call(Method::GET, "/users/me", None, bearer(access)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["nickname"], "mina");
    assert_eq!(me.body["name"], "김민아");

    // Verifying again is no second activation, and answers as an unknown address does: the
    // endpoint does not tell which addresses have accounts.
    let again = t.post("/auth/email/verify", json!({"email": "mina@example.com", "code": "000000"}), None).await;
    let unknown = t.post("/auth/email/verify", json!({"email": "nobody@example.com", "code": "000000"}), None).await;
    assert_eq!((again.status, &again.body["code"]), (400, &json!("INVALID_CODE")));
    assert_eq!((again.status, &again.body), (unknown.status, &unknown.body));
    t.stop().await;
}

#[tokio::test]
async fn bad_sign_ups_are_clear_400s() {
    let t = TestStack::start().await;
    let r = t
        .post("/auth/signup", json!({"email": "nope", "password": "short", "name": "", "nickname": "a b"}), None)
        .await;
    assert_eq!(r.status, 400);
    let fields: Vec<&str> = r.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["email", "password", "name", "nickname"]);
    // A client cannot make itself an admin.
    let r = t
        .post(
            "/auth/signup",
            json!({"email": "x@example.com", "password": PW, "name": "x", "nickname": "xx", "role": "ADMIN"}),
            None,
        )
        .await;
    assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (400, Some("role")));
    let r = t
        .post(
            "/auth/signup",
            json!({"email": "x@example.com", "password": "onlyletters", "name": "x", "nickname": "xx"}),
            None,
        )
        .await;
    assert_eq!(r.body["errors"][0]["code"], "TOO_WEAK");
    let r = t.send(t.http.post(t.url("/auth/signup")).header("content-type", "application/json").body("{oops")).await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("MALFORMED_JSON")));
    t.stop().await;
}

#[tokio::test]
async fn emails_and_nicknames_are_unique_and_checkable() {
    let t = TestStack::start().await;
    t.sign_up("a@example.com", "alpha", PW).await;
    let r = t
        .post("/auth/signup", json!({"email": "A@example.com", "password": PW, "name": "a", "nickname": "other"}), None)
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("EMAIL_TAKEN")));
    let r = t
        .post("/auth/signup", json!({"email": "b@example.com", "password": PW, "name": "b", "nickname": "ALPHA"}), None)
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("NICKNAME_TAKEN")));

    let r = t.get("/auth/availability?email=a@example.com&nickname=beta").await;
    assert_eq!(r.body, json!({"emailAvailable": false, "nicknameAvailable": true}));
    let r = t.get("/auth/availability?nickname=Alpha").await;
    assert_eq!(r.body, json!({"nicknameAvailable": false}));
    assert_eq!(t.get("/auth/availability").await.status, 400);
    t.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_sign_ups_with_one_email_make_one_account() {
    let t = TestStack::start().await;
    let attempts = (0..20).map(|i| {
        t.post(
            "/auth/signup",
            json!({"email": "race@example.com", "password": PW, "name": "r", "nickname": format!("racer{i}")}),
            None,
        )
    });
    let replies = futures::future::join_all(attempts).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().all(|r| r.status == 201 || r.status == 409 || r.status == 429));
    assert!(replies.iter().filter(|r| r.status == 409).all(|r| r.body["code"] == "EMAIL_TAKEN"));
    t.stop().await;
}

#[tokio::test]
async fn codes_expire_tries_are_limited_per_source_and_resend_has_a_cooldown() {
    let clock = OffsetClock::new();
    let mut opts = StackOptions::ephemeral();
    opts.clock = clock.clone();
    let t = TestStack::start_with(opts).await;

    // A stranger's five wrong tries use up the stranger's tries, not the code: the owner, from
    // another address, can still use it.
    t.sign_up("five@example.com", "five", PW).await;
    let code = t.code_from_mail("five@example.com", "인증 코드").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r =
            t.post_from("127.0.0.2", "/auth/email/verify", json!({"email": "five@example.com", "code": wrong})).await;
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("INVALID_CODE")));
    }
    let r = t.post_from("127.0.0.2", "/auth/email/verify", json!({"email": "five@example.com", "code": code})).await;
    assert_eq!((r.status, r.body["code"].as_str()), (429, Some("RATE_LIMITED")), "the guesser's tries are used up");
    assert!(r.header("retry-after").is_some());
    let r = t.post("/auth/email/verify", json!({"email": "five@example.com", "code": code}), None).await;
    assert_eq!(r.status, 200, "the owner's code still works: {:?}", r.body);

    // Codes of a pending account: a wrong one is refused; a resend keeps the older code usable.
    t.sign_up("resend@example.com", "resender", PW).await;
    let first = t.code_from_mail("resend@example.com", "인증 코드").await;
    let wrong = if first == "000000" { "111111" } else { "000000" };
    let r = t.post("/auth/email/verify", json!({"email": "resend@example.com", "code": wrong}), None).await;
    assert_eq!(r.body["code"], "INVALID_CODE");

    // Resend: at once → 429 with Retry-After; after a minute → a new code that works.
    // Resend at once: the same 202 as for any address, and no second code within the minute.
    let r = t.post("/auth/email/resend", json!({"email": "resend@example.com"}), None).await;
    assert_eq!(r.status, 202);
    t.settle().await;
    assert_eq!(t.mail_to("resend@example.com").await.len(), 1, "one code a minute");
    clock.advance(chrono::Duration::seconds(61));
    let r = t.post("/auth/email/resend", json!({"email": "resend@example.com"}), None).await;
    assert_eq!(r.status, 202);
    t.eventually(Duration::from_secs(10), "a second code", || async {
        (t.mail_to("resend@example.com").await.len() == 2).then_some(())
    })
    .await;
    let r = t.post("/auth/email/verify", json!({"email": "resend@example.com", "code": first}), None).await;
    assert_eq!(r.status, 200, "the first code lives on beside the second: {:?}", r.body);

    // A code older than five minutes is refused.
    t.sign_up("late@example.com", "late", PW).await;
    let code = t.code_from_mail("late@example.com", "인증 코드").await;
    clock.advance(chrono::Duration::minutes(6));
    let r = t.post("/auth/email/verify", json!({"email": "late@example.com", "code": code}), None).await;
    assert_eq!(r.body["code"], "INVALID_CODE");

    // Resend for an unknown address answers the same as for a known one.
    let r = t.post("/auth/email/resend", json!({"email": "nobody@example.com"}), None).await;
    assert_eq!(r.status, 202);
    t.stop().await;
}

#[tokio::test]
async fn wrong_credentials_look_the_same_and_concurrent_guesses_lock_after_exactly_five() {
    let t = TestStack::start().await;
    t.user("lock@example.com", "locky", PW).await;
    let unknown = t.login("nobody@example.com", PW).await;
    let wrong = t.login("lock@example.com", "wrong-pass1").await;
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert_eq!(unknown.body["code"], "INVALID_CREDENTIALS");
    assert_eq!(unknown.body["detail"], wrong.body["detail"]);

    // One wrong try above; twelve more at once: exactly four more 401s, then the lock.
    let guesses = (0..12).map(|i| t.login("lock@example.com", if i % 2 == 0 { "guess-one1" } else { "guess-two2" }));
    let replies = futures::future::join_all(guesses).await;
    let unauthorized = replies.iter().filter(|r| r.status == 401).count();
    let locked = replies.iter().filter(|r| r.status == 423).count();
    assert_eq!((unauthorized, locked), (4, 8), "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());

    let r = t.login("lock@example.com", PW).await;
    assert_eq!((r.status, r.body["code"].as_str()), (423, Some("ACCOUNT_LOCKED")));
    t.stop().await;
}

#[tokio::test]
async fn a_lock_ends_by_itself_and_grows_while_the_guessing_goes_on() {
    let clock = OffsetClock::new();
    let mut opts = StackOptions::ephemeral();
    opts.clock = clock.clone();
    let t = TestStack::start_with(opts).await;
    t.user("backoff@example.com", "backoff", PW).await;
    let lock = || async {
        for _ in 0..5 {
            assert_eq!(t.login("backoff@example.com", "wrong-pass1").await.status, 401);
        }
        assert_eq!(t.login("backoff@example.com", PW).await.status, 423);
    };
    // First lock: one minute.
    lock().await;
    clock.advance(chrono::Duration::seconds(59));
    assert_eq!(t.login("backoff@example.com", PW).await.status, 423);
    clock.advance(chrono::Duration::seconds(2));
    // Expired: the guessing may go on, and the second lock lasts five minutes.
    lock().await;
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(t.login("backoff@example.com", PW).await.status, 423, "the second lock is longer");
    clock.advance(chrono::Duration::minutes(4));
    // The owner signs in once it ends; that starts the back-off again from one minute.
    assert_eq!(t.login("backoff@example.com", PW).await.status, 200);
    clock.advance(chrono::Duration::minutes(10)); // a fresh window of the per-address sign-in quota
    lock().await;
    clock.advance(chrono::Duration::seconds(61));
    assert_eq!(t.login("backoff@example.com", PW).await.status, 200);
    t.stop().await;
}

#[tokio::test]
async fn strangers_cannot_use_up_the_owners_recovery() {
    let t = TestStack::start().await;
    t.user("victim@example.com", "victim", PW).await;
    let stranger = "127.0.0.2";
    // A stranger asks for resets and temporary passwords until refused, and guesses codes.
    for _ in 0..5 {
        assert_eq!(
            t.post_from(stranger, "/auth/password/forgot", json!({"email": "victim@example.com"})).await.status,
            202
        );
        let r = t
            .post_from(stranger, "/auth/password/temporary", json!({"email": "victim@example.com", "name": "테스트"}))
            .await;
        assert_eq!(r.status, 202);
    }
    let r = t.post_from(stranger, "/auth/password/forgot", json!({"email": "victim@example.com"})).await;
    assert_eq!(r.status, 429, "the stranger's quota is used up");
    let code = t.code_from_mail("victim@example.com", "재설정 코드").await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = t
            .post_from(
                stranger,
                "/auth/password/reset",
                json!({"email": "victim@example.com", "code": wrong, "newPassword": "stolen123"}),
            )
            .await;
        assert_eq!(r.body["code"], "INVALID_CODE");
    }
    // The owner's own requests still go through, and the mailed code still works.
    assert_eq!(t.post("/auth/password/forgot", json!({"email": "victim@example.com"}), None).await.status, 202);
    let r = t.post("/auth/password/temporary", json!({"email": "victim@example.com", "name": "테스트"}), None).await;
    assert_eq!(r.status, 202);
    let r = t
        .post(
            "/auth/password/reset",
            json!({"email": "victim@example.com", "code": code, "newPassword": "mine4ever"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(t.login("victim@example.com", "mine4ever").await.status, 200);
    // Guessing the password from elsewhere is refused once the stranger's quota is spent, and
    // never costs the owner their own sign-in quota.
    for _ in 0..20 {
        let _ = t
            .post_from(stranger, "/auth/login", json!({"email": "victim@example.com", "password": "nope-nope1"}))
            .await;
    }
    let r =
        t.post_from(stranger, "/auth/login", json!({"email": "victim@example.com", "password": "nope-nope1"})).await;
    assert_eq!(r.status, 429);
    t.stop().await;
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reuse_revokes_the_family() {
    let t = TestStack::start().await;
    let u = t.user("rot@example.com", "rotor", PW).await;

    let r1 = t.post("/auth/refresh", json!({"refreshToken": u.refresh}), None).await;
    assert_eq!(r1.status, 200, "{:?}", r1.body);
    let second = r1.body["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(second, u.refresh);
    assert_eq!(t.call(Method::GET, "/users/me", None, r1.body["accessToken"].as_str()).await.status, 200);

    // The old token again: reuse. The whole family dies, including the newer token.
    let again = t.post("/auth/refresh", json!({"refreshToken": u.refresh}), None).await;
    assert_eq!((again.status, again.body["code"].as_str()), (401, Some("REFRESH_TOKEN_REUSED")));
    let newer = t.post("/auth/refresh", json!({"refreshToken": second}), None).await;
    assert_eq!((newer.status, newer.body["code"].as_str()), (401, Some("INVALID_REFRESH_TOKEN")));

    // Another session is untouched by that, and logout ends it.
    let r = t.login("rot@example.com", PW).await;
    let other = r.body["refreshToken"].as_str().unwrap().to_string();
    assert_eq!(t.post("/auth/logout", json!({"refreshToken": other}), None).await.status, 204);
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": other}), None).await.status, 401);
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": "made-up"}), None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_refreshes_succeed_once_and_revoke_the_family() {
    let t = TestStack::start().await;
    let u = t.user("twenty@example.com", "twenty", PW).await;
    let tries = (0..20).map(|_| t.post("/auth/refresh", json!({"refreshToken": u.refresh}), None));
    let replies = futures::future::join_all(tries).await;
    let winners: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(replies.iter().filter(|r| r.status != 200).all(|r| r.status == 401));
    assert!(replies.iter().any(|r| r.body["code"] == "REFRESH_TOKEN_REUSED"));
    // The family is revoked: even the winner's new token is dead.
    let won = winners[0].body["refreshToken"].as_str().unwrap();
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": won}), None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn forged_tampered_and_expired_tokens_are_401() {
    let t = TestStack::start().await;
    let u = t.user("jwt@example.com", "jwtuser", PW).await;
    let parts: Vec<&str> = u.access.split('.').collect();

    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap().replace("\"USER\"", "\"ADMIN\"");
    let tampered = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims), parts[2]);
    // The right secret, another algorithm.
    let secret = t.stack.env["JWT_SECRET"].clone();
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let hs512 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS512),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let expired = t
        .stack
        .ctx
        .tokens
        .issue(&u.user_id, Role::USER, TokenScope::Full, "s", chrono::Utc::now().timestamp() - 3600)
        .unwrap();

    for (what, token) in
        [("alg none", none), ("tampered", tampered), ("HS512", hs512), ("expired", expired), ("junk", "junk".into())]
    {
        let r = t.call(Method::GET, "/users/me", None, bearer(&token)).await;
        assert_eq!(r.status, 401, "{what}: {:?}", r.body);
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    }
    let r = t.call(Method::GET, "/users/me", None, None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (401, Some("AUTHENTICATION_REQUIRED")));
    assert_eq!(t.call(Method::GET, "/users/me", None, bearer(&u.access)).await.status, 200);
    t.stop().await;
}

#[tokio::test]
async fn forgot_and_reset_unlock_and_sign_out_everywhere() {
    let t = TestStack::start().await;
    let u = t.user("reset@example.com", "resetter", PW).await;
    for _ in 0..5 {
        t.login("reset@example.com", "wrong-pass1").await;
    }
    assert_eq!(t.login("reset@example.com", PW).await.status, 423);

    // Unknown addresses get the same answer.
    assert_eq!(t.post("/auth/password/forgot", json!({"email": "ghost@example.com"}), None).await.status, 202);
    assert_eq!(t.post("/auth/password/forgot", json!({"email": "reset@example.com"}), None).await.status, 202);
    let code = t.code_from_mail("reset@example.com", "재설정 코드").await;
    let r = t
        .post(
            "/auth/password/reset",
            json!({"email": "reset@example.com", "code": code, "newPassword": "brandnew9"}),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    // The code is single use.
    let r = t
        .post(
            "/auth/password/reset",
            json!({"email": "reset@example.com", "code": code, "newPassword": "brandnew10"}),
            None,
        )
        .await;
    assert_eq!(r.body["code"], "INVALID_CODE");

    assert_eq!(t.login("reset@example.com", PW).await.status, 401);
    assert_eq!(t.login("reset@example.com", "brandnew9").await.status, 200);
    assert_eq!(
        t.post("/auth/refresh", json!({"refreshToken": u.refresh}), None).await.status,
        401,
        "sessions were revoked"
    );
    t.stop().await;
}

#[tokio::test]
async fn temporary_passwords_unlock_once_and_only_allow_a_password_change() {
    let t = TestStack::start().await;
    t.user("temp@example.com", "tempo", PW).await;
    for _ in 0..5 {
        t.login("temp@example.com", "wrong-pass1").await;
    }
    // A wrong name: the same 202, and no mail.
    assert_eq!(
        t.post("/auth/password/temporary", json!({"email": "temp@example.com", "name": "someone"}), None).await.status,
        202
    );
    assert_eq!(
        t.post("/auth/password/temporary", json!({"email": "temp@example.com", "name": "테스트"}), None).await.status,
        202
    );
    let temp = t
        .eventually(Duration::from_secs(10), "the temporary password", || async {
            let mails = t.mail_to("temp@example.com").await;
            let text =
                mails.iter().find(|m| m["subject"].as_str().is_some_and(|s| s.contains("임시 비밀번호")))?["text"]
                    .as_str()?
                    .to_string();
            Some(text.lines().next()?.split(": ").nth(1)?.trim().to_string())
        })
        .await;
    assert_eq!(temp.chars().count(), 10);
    assert_eq!(
        t.mail_to("temp@example.com").await.iter().filter(|m| m["subject"].as_str().unwrap().contains("임시")).count(),
        1
    );

    let r = t.login("temp@example.com", &temp).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["passwordChangeRequired"], true);
    assert!(r.body.get("refreshToken").is_none());
    let limited = r.body["accessToken"].as_str().unwrap().to_string();
    let r = t.call(Method::GET, "/users/me", None, bearer(&limited)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("PASSWORD_CHANGE_REQUIRED")));
    let r = t
        .call(
            Method::POST,
            "/uploads",
            Some(json!({"purpose": "profile", "contentType": "image/png", "contentLength": 10})),
            bearer(&limited),
        )
        .await;
    assert_eq!(r.status, 403);
    // Single use.
    assert_eq!(t.login("temp@example.com", &temp).await.status, 401);

    let r =
        t.call(Method::PUT, "/users/me/password", Some(json!({"newPassword": "fresh4now"})), bearer(&limited)).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(t.login("temp@example.com", "fresh4now").await.status, 200);
    t.stop().await;
}

#[tokio::test]
async fn the_old_password_keeps_working_after_a_temporary_one_is_sent() {
    let t = TestStack::start().await;
    t.user("keep@example.com", "keeper", PW).await;
    assert_eq!(
        t.post("/auth/password/temporary", json!({"email": "keep@example.com", "name": "테스트"}), None).await.status,
        202
    );
    assert_eq!(t.login("keep@example.com", PW).await.status, 200);
    t.stop().await;
}

#[tokio::test]
async fn profiles_nicknames_password_change_and_withdrawal() {
    let t = TestStack::start().await;
    let u = t.user("prof@example.com", "profiler", PW).await;
    let other = t.user("other@example.com", "taken", PW).await;

    let r = t.call(Method::PATCH, "/users/me", Some(json!({"nickname": "taken"})), bearer(&u.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("NICKNAME_TAKEN")));
    let r = t
        .call(
            Method::PATCH,
            "/users/me",
            Some(json!({"nickname": "newname", "bio": "산책 좋아해요", "name": "박프로"})),
            bearer(&u.access),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["nickname"].as_str(), r.body["bio"].as_str(), r.body["name"].as_str()),
        (Some("newname"), Some("산책 좋아해요"), Some("박프로"))
    );
    assert_eq!(t.get("/auth/availability?nickname=profiler").await.body["nicknameAvailable"], true);
    assert_eq!(t.get("/auth/availability?nickname=newname").await.body["nicknameAvailable"], false);

    // Public profile: never the email.
    let r = t.get(&format!("/users/{}", u.user_id)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["nickname"], "newname");
    assert!(r.body.get("email").is_none());
    assert_eq!(t.get("/users/01JD3K4Q5R6S7T8V9W0XYZABCD").await.status, 404);
    assert_eq!(t.get("/users/not-an-id").await.status, 404);

    // Password change: the current password is required; other sessions end.
    let second = t.login("prof@example.com", PW).await.body["refreshToken"].as_str().unwrap().to_string();
    let r = t
        .call(
            Method::PUT,
            "/users/me/password",
            Some(json!({"currentPassword": "wrong-pass1", "newPassword": "changed12"})),
            bearer(&u.access),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("WRONG_PASSWORD")));
    let r = t
        .call(
            Method::PUT,
            "/users/me/password",
            Some(json!({"currentPassword": PW, "newPassword": "changed12"})),
            bearer(&u.access),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": second}), None).await.status, 401);
    assert_eq!(
        t.post("/auth/refresh", json!({"refreshToken": u.refresh}), None).await.status,
        200,
        "this session stays"
    );

    // Withdrawal.
    let r = t.call(Method::DELETE, "/users/me", Some(json!({"password": "wrong-pass1"})), bearer(&other.access)).await;
    assert_eq!(r.status, 403);
    let r = t.call(Method::DELETE, "/users/me", Some(json!({"password": PW})), bearer(&other.access)).await;
    assert_eq!(r.status, 204);
    let r = t.login("other@example.com", PW).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ACCOUNT_WITHDRAWN")));
    assert_eq!(t.get("/auth/availability?nickname=taken").await.body["nicknameAvailable"], true);
    assert_eq!(t.get(&format!("/users/{}", other.user_id)).await.status, 404);
    assert_eq!(t.post("/auth/refresh", json!({"refreshToken": other.refresh}), None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn blocked_accounts_read_but_cannot_write_from_the_next_request() {
    let t = TestStack::start().await;
    let u = t.user("block@example.com", "blocky", PW).await;
    let until = chrono::Utc::now() + chrono::Duration::hours(3);
    t.stack
        .ctx
        .table
        .write(
            Write::update(shared::account::user_key(&u.user_id), "SET blockedUntil = :u")
                .value(":u", s(until.to_rfc3339())),
        )
        .await
        .unwrap();
    assert_eq!(t.call(Method::GET, "/users/me", None, bearer(&u.access)).await.body["status"], "BLOCKED_TEMPORARILY");
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"bio": "hi"})), bearer(&u.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("ACCOUNT_BLOCKED")));
    let got = chrono::DateTime::parse_from_rfc3339(r.body["until"].as_str().unwrap()).unwrap();
    assert_eq!(got.timestamp(), until.timestamp());
    let r = t
        .call(
            Method::POST,
            "/uploads",
            Some(json!({"purpose": "post", "contentType": "image/png", "contentLength": 5})),
            bearer(&u.access),
        )
        .await;
    assert_eq!(r.status, 403);
    // Blocked users still sign in.
    assert_eq!(t.login("block@example.com", PW).await.status, 200);

    t.stack
        .ctx
        .table
        .write(
            Write::update(shared::account::user_key(&u.user_id), "SET blockedPermanently = :y REMOVE blockedUntil")
                .value(":y", b(true)),
        )
        .await
        .unwrap();
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"bio": "hi"})), bearer(&u.access)).await;
    assert_eq!((r.status, r.body["until"].clone()), (403, serde_json::Value::Null));
    t.stop().await;
}

#[tokio::test]
async fn uploads_are_presigned_owned_and_checked() {
    let t = TestStack::start().await;
    let u = t.user("up@example.com", "uploader", PW).await;
    let v = t.user("vic@example.com", "victim", PW).await;
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n".iter().copied().chain((0..5000u32).map(|i| (i % 251) as u8)).collect();

    let r = t
        .post(
            "/uploads",
            json!({"purpose": "profile", "contentType": "image/png", "contentLength": png.len()}),
            bearer(&u.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["method"], "PUT");
    let key = r.body["key"].as_str().unwrap().to_string();
    assert!(key.starts_with(&format!("users/{}/profile/", u.user_id)));
    let put = t
        .http
        .put(r.body["uploadUrl"].as_str().unwrap())
        .header("content-type", "image/png")
        .body(png.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{}", put.status());

    // Someone else's key, a key never uploaded, a key for another purpose: INVALID_MEDIA.
    for (who, k) in [
        (&v.access, key.clone()),
        (&u.access, format!("users/{}/profile/01JD3K4Q5R6S7T8V9W0XYZABCD.png", u.user_id)),
        (&u.access, "elsewhere/file.png".to_string()),
        // A file part S3 would refuse as too long, and ones that walk: never a 500.
        (&u.access, format!("users/{}/profile/{}.png", u.user_id, "a".repeat(2000))),
        (&u.access, format!("users/{}/profile/..", u.user_id)),
        (&u.access, format!("users/{}/profile/../profile/x.png", u.user_id)),
        (&u.access, format!("users/{}/profile/01JD3K4Q5R6S7T8V9W0XYZABCD.p%2Fng", u.user_id)),
    ] {
        let r = t.call(Method::PATCH, "/users/me", Some(json!({"profileImageKey": k})), bearer(who)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (400, Some("INVALID_MEDIA")), "{k}");
    }
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"profileImageKey": key})), bearer(&u.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let url = r.body["profileImageUrl"].as_str().unwrap().to_string();
    assert_eq!(t.http.get(&url).send().await.unwrap().bytes().await.unwrap().to_vec(), png);
    let r = t.call(Method::PATCH, "/users/me", Some(json!({"profileImageKey": null})), bearer(&u.access)).await;
    assert!(r.body["profileImageUrl"].is_null());

    for body in [
        json!({"purpose": "profile", "contentType": "application/x-msdownload", "contentLength": 10}),
        json!({"purpose": "profile", "contentType": "image/png", "contentLength": 10 * 1024 * 1024 + 1}),
        json!({"purpose": "document", "contentType": "video/mp4", "contentLength": 10}),
        json!({"purpose": "selfie", "contentType": "image/png", "contentLength": 10}),
    ] {
        assert_eq!(t.post("/uploads", body.clone(), bearer(&u.access)).await.status, 400, "{body}");
    }
    let r = t
        .post(
            "/uploads",
            json!({"purpose": "chat", "contentType": "video/mp4", "contentLength": 40 * 1024 * 1024}),
            bearer(&u.access),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        t.post("/uploads", json!({"purpose": "profile", "contentType": "image/png", "contentLength": 1}), None)
            .await
            .status,
        401
    );
    t.stop().await;
}

#[tokio::test]
async fn google_sign_up_then_sign_in() {
    let t = TestStack::start().await;
    let cb = "https://app.example.com/oauth/google";
    let code = t.provider_code("google", "gina@gmail.com", "Gina", cb).await;
    let r = t.post("/auth/oauth/google", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let ticket = r.body["signupTicket"].as_str().unwrap().to_string();
    // A code is single use at the provider too.
    let r = t.post("/auth/oauth/google", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("OAUTH_CODE_INVALID")));

    t.sign_up("someone@example.com", "gina", PW).await;
    let r =
        t.post("/auth/oauth/signup", json!({"signupTicket": ticket, "name": "지나", "nickname": "gina"}), None).await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("NICKNAME_TAKEN")));
    let r =
        t.post("/auth/oauth/signup", json!({"signupTicket": ticket, "name": "지나", "nickname": "gina_g"}), None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["user"]["email"], "gina@gmail.com");
    assert_eq!(r.body["user"]["hasPassword"], false);
    let r =
        t.post("/auth/oauth/signup", json!({"signupTicket": ticket, "name": "지나", "nickname": "gina_h"}), None).await;
    assert_eq!(r.body["code"], "INVALID_TICKET", "tickets are single use");

    let code = t.provider_code("google", "gina@gmail.com", "Gina", cb).await;
    let r = t.post("/auth/oauth/google", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.body["accessToken"].is_string() && r.body["refreshToken"].is_string());

    // A password sign-in to a Google-only account answers as an unknown address does.
    let r = t.login("gina@gmail.com", PW).await;
    let unknown = t.login("nobody-here@gmail.com", PW).await;
    assert_eq!((r.status, r.body["code"].as_str()), (401, Some("INVALID_CREDENTIALS")));
    assert_eq!(r.body, unknown.body);
    assert_eq!(t.post("/auth/oauth/naver", json!({"code": "x", "redirectUri": cb}), None).await.status, 404);
    t.stop().await;
}

#[tokio::test]
async fn kakao_links_to_the_password_account_with_its_email() {
    let t = TestStack::start().await;
    t.user("kim@example.com", "kimmy", PW).await;
    let cb = "https://app.example.com/oauth/kakao";
    let code = t.provider_code("kakao", "kim@example.com", "김", cb).await;
    let r = t.post("/auth/oauth/kakao", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["needLink"], true);
    let ticket = r.body["linkTicket"].as_str().unwrap().to_string();

    let r = t.post("/auth/oauth/link", json!({"linkTicket": ticket, "password": "wrong-pass1"}), None).await;
    assert_eq!(r.status, 401);
    let r = t.post("/auth/oauth/link", json!({"linkTicket": ticket, "password": PW}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["user"]["linkedProviders"], json!(["kakao"]));
    let r = t.post("/auth/oauth/link", json!({"linkTicket": ticket, "password": PW}), None).await;
    assert_eq!(r.body["code"], "INVALID_TICKET");

    let code = t.provider_code("kakao", "kim@example.com", "김", cb).await;
    let r = t.post("/auth/oauth/kakao", json!({"code": code, "redirectUri": cb}), None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["user"]["email"], "kim@example.com");
    // A redirect URI other than the one the code was issued for is refused by the provider.
    let code = t.provider_code("kakao", "kim@example.com", "김", cb).await;
    let r = t.post("/auth/oauth/kakao", json!({"code": code, "redirectUri": "https://evil.example/cb"}), None).await;
    assert_eq!(r.body["code"], "OAUTH_CODE_INVALID");
    t.stop().await;
}

#[tokio::test]
async fn advertisers_wait_for_approval_and_admins_are_promoted_by_an_operator() {
    let t = TestStack::start().await;
    let r = t
        .post("/auth/signup", json!({"email": "ad@example.com", "password": PW, "name": "광고주", "nickname": "adco", "role": "ADVERTISER"}), None)
        .await;
    assert_eq!(r.status, 400, "a business number is required");
    let r = t
        .post("/auth/signup", json!({"email": "ad@example.com", "password": PW, "name": "광고주", "nickname": "adco", "role": "ADVERTISER", "businessNumber": "123-45-67890"}), None)
        .await;
    assert_eq!(r.body["errors"][0]["code"], "INVALID_BUSINESS_NUMBER", "its check digit is wrong");
    let r = t
        .post("/auth/signup", json!({"email": "ad@example.com", "password": PW, "name": "광고주", "nickname": "adco", "role": "ADVERTISER", "businessNumber": "220-81-62517"}), None)
        .await;
    assert_eq!(r.status, 201);
    t.verify("ad@example.com").await;
    let r = t.login("ad@example.com", PW).await;
    assert_eq!(r.body["user"]["role"], "ADVERTISER");
    assert_eq!(r.body["user"]["advertiserStatus"], "PENDING_APPROVAL");

    let admin = t.user("root@example.com", "rooty", PW).await;
    identity::admin::promote_to_admin(&t.stack.ctx, "root@example.com").await.unwrap();
    let r = t.login("root@example.com", PW).await;
    assert_eq!(r.body["user"]["role"], "ADMIN");
    let token = r.body["accessToken"].as_str().unwrap();
    assert!(t.stack.ctx.tokens.verify(token).unwrap().is_admin());
    assert!(!t.stack.ctx.tokens.verify(&admin.access).unwrap().is_admin(), "old tokens keep their old role");
    t.stop().await;
}

#[tokio::test]
async fn sensitive_actions_are_rate_limited_per_address() {
    let mut opts = StackOptions::ephemeral();
    opts.env.insert("RATE_LIMIT_PER_IP".into(), "3".into());
    let t = TestStack::start_with(opts).await;
    for _ in 0..3 {
        assert_eq!(t.login("who@example.com", PW).await.status, 401);
    }
    let r = t.login("who@example.com", PW).await;
    assert_eq!((r.status, r.body["code"].as_str()), (429, Some("RATE_LIMITED")));
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    t.stop().await;
}

#[tokio::test]
async fn the_openapi_document_describes_identity() {
    let t = TestStack::start().await;
    let doc = t.get("/openapi.json").await.body;
    let signup = &doc["paths"]["/auth/signup"]["post"];
    assert!(
        signup["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .ends_with("SignUpRequest")
    );
    assert!(signup["responses"]["409"].is_object());
    assert!(doc["paths"]["/users/me"]["get"]["security"].is_array());
    assert!(doc["paths"]["/users/me"]["patch"].is_object());
    assert!(doc["components"]["schemas"]["TokenPair"]["properties"]["accessToken"].is_object());
    t.stop().await;
}

#[tokio::test]
async fn phone_birth_date_and_home_region_are_private_and_the_region_centres_nearby_search() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let root = t.admin("root@example.com", "root", PW).await;
    let patch = |body: serde_json::Value| t.call(Method::PATCH, "/users/me", Some(body), Some(&ann.access));

    for (body, field) in [
        (json!({"phone": "12345"}), "phone"),
        (json!({"phone": "010-123-456"}), "phone"),
        (json!({"birthDate": "1990-02-30"}), "birthDate"),
        (json!({"birthDate": "2999-01-01"}), "birthDate"),
        (json!({"homeRegion": {"address": "서울", "lat": 91.0, "lng": 0.0}}), "homeRegion.lat"),
    ] {
        let r = patch(body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.body["errors"][0]["field"], field, "{body}: {:?}", r.body);
    }
    let region = json!({"address": "서울 중구 태평로", "lat": 37.5665, "lng": 126.978});
    let r = patch(json!({"phone": "+82 10 1234 5678", "birthDate": "1990-05-17", "homeRegion": region})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["phone"].as_str(), r.body["birthDate"].as_str()), (Some("010-1234-5678"), Some("1990-05-17")));
    assert_eq!(r.body["homeRegion"], region);

    // Private: not on the public profile, visible to administrators.
    let public = t.get(&format!("/users/{}", ann.user_id)).await;
    for field in ["phone", "birthDate", "homeRegion", "email"] {
        assert!(public.body.get(field).is_none(), "{field} is private: {:?}", public.body);
    }
    let admin_view = t.call(Method::GET, &format!("/admin/users/{}", ann.user_id), None, Some(&root.access)).await;
    assert_eq!(admin_view.body["account"]["phone"], "010-1234-5678", "{:?}", admin_view.body);

    // Nearby search without a position starts at the home region.
    let listing = crate::payments::listing(&t, &bob, "강아지 장난감", 3_000).await;
    let near = t.call(Method::GET, "/market/posts/nearby?radiusKm=1", None, Some(&ann.access)).await;
    assert_eq!(near.status, 200, "{:?}", near.body);
    assert_eq!(near.body["items"][0]["id"], listing.as_str());
    let nowhere = t.get("/market/posts/nearby?radiusKm=1").await;
    assert_eq!(nowhere.status, 400, "anonymous: a position is needed");
    let bobs = t.call(Method::GET, "/market/posts/nearby", None, Some(&bob.access)).await;
    assert_eq!(bobs.status, 400, "no home region: a position is needed");

    // null removes.
    let r = patch(json!({"phone": null, "homeRegion": null})).await;
    assert!(r.body["phone"].is_null() && r.body["homeRegion"].is_null(), "{:?}", r.body);
    assert_eq!(r.body["birthDate"], "1990-05-17");
    t.stop().await;
}
