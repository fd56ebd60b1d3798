//! Influencer marketing over HTTP against the local stack: advertisers wait for approval and are
//! gated until then; PetStars are accepted by administrators; applications are counted exactly
//! under concurrency and refused with distinct codes; a whole campaign runs on an injected clock
//! through the lifecycle job; every advertiser and admin endpoint refuses those it is not for;
//! and the recommendation ranks a labelled set as expected.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use integration_tests::{Reply, Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

/// Valid business registration numbers (their check digits are right).
const BUSINESS_NUMBERS: [&str; 4] = ["220-81-62517", "124-81-00998", "107-81-55843", "120-81-47521"];

fn today(t: &TestStack) -> NaiveDate {
    campaigns::today(t.stack.ctx.now())
}

fn day(t: &TestStack, offset: i64) -> String {
    let d = today(t);
    let d = if offset >= 0 {
        d.checked_add_days(Days::new(offset as u64)).unwrap()
    } else {
        d.checked_sub_days(Days::new((-offset) as u64)).unwrap()
    };
    d.to_string()
}

fn ok(r: &Reply, status: u16, what: &str) {
    assert_eq!(r.status, status, "{what}: {:?}", r.body);
}

fn code(r: &Reply) -> (u16, &str) {
    (r.status, r.body["code"].as_str().unwrap_or_default())
}

/// An advertiser, signed up, verified and signed in (not approved yet).
async fn advertiser(t: &TestStack, email: &str, number: &str) -> Session {
    let body = json!({"email": email, "password": PW, "companyName": format!("{email} 주식회사"),
                      "businessNumber": number, "representative": "김대표", "phone": "02-1234-5678"});
    let r = t.post("/advertisers/signup", body, None).await;
    ok(&r, 201, "advertiser sign-up");
    let user_id = r.body["userId"].as_str().unwrap().to_string();
    t.verify(email).await;
    let r = t.login(email, PW).await;
    ok(&r, 200, "advertiser login");
    Session {
        user_id,
        email: email.into(),
        access: r.body["accessToken"].as_str().unwrap().into(),
        refresh: r.body["refreshToken"].as_str().unwrap().into(),
    }
}

async fn approved_advertiser(t: &TestStack, admin: &Session, email: &str, number: &str) -> Session {
    let who = advertiser(t, email, number).await;
    let path = format!("/admin/advertisers/{}/decision", who.user_id);
    ok(&t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&admin.access)).await, 200, "approve");
    who
}

async fn pet(t: &TestStack, owner: &Session, name: &str, species: &str) -> String {
    let body = json!({"name": name, "speciesId": species, "gender": "FEMALE"});
    let r = t.post("/pets", body, Some(&owner.access)).await;
    ok(&r, 201, "pet");
    r.body["id"].as_str().unwrap().to_string()
}

/// A pet accepted as a PetStar, with a portfolio.
async fn petstar(t: &TestStack, admin: &Session, owner: &Session, name: &str, species: &str, about: &str) -> String {
    let id = pet(t, owner, name, species).await;
    let portfolio = json!({"introduction": about, "strengths": [], "keywords": [], "mediaKeys": []});
    ok(
        &t.call(Method::PUT, &format!("/pets/{id}/portfolio"), Some(portfolio), Some(&owner.access)).await,
        200,
        "portfolio",
    );
    ok(
        &t.post(&format!("/pets/{id}/petstar-application"), json!({}), Some(&owner.access)).await,
        201,
        "petstar application",
    );
    let path = format!("/admin/petstar-applications/{id}/decision");
    ok(&t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&admin.access)).await, 200, "accept");
    id
}

fn ad_body(t: &TestStack, title: &str, content: &str, members: u32, offsets: [i64; 5]) -> Value {
    json!({"title": title, "content": content, "objective": "신제품 인지도",
           "announceStart": day(t, offsets[0]), "announceEnd": day(t, offsets[1]), "selectionDate": day(t, offsets[2]),
           "campaignStart": day(t, offsets[3]), "campaignEnd": day(t, offsets[4]), "membersCount": members,
           "missions": ["리뷰 영상 1개"], "keywords": ["간식"], "requirements": [], "fileKeys": []})
}

/// An approved ad, recruiting from today.
async fn live_ad(t: &TestStack, admin: &Session, adv: &Session, title: &str, members: u32) -> String {
    let r = t.post("/ads", ad_body(t, title, "강아지 간식 체험", members, [0, 3, 5, 6, 10]), Some(&adv.access)).await;
    ok(&r, 201, "ad");
    let id = r.body["id"].as_str().unwrap().to_string();
    approve_ad(t, admin, &id).await;
    id
}

async fn approve_ad(t: &TestStack, admin: &Session, id: &str) {
    let path = format!("/admin/ads/{id}/decision");
    ok(&t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&admin.access)).await, 200, "approve ad");
}

async fn get(t: &TestStack, path: &str, who: Option<&Session>) -> Reply {
    t.call(Method::GET, path, None, who.map(|w| w.access.as_str())).await
}

async fn inbox_texts(t: &TestStack, who: &Session) -> Vec<String> {
    get(t, "/notifications?limit=50", Some(who)).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| n["body"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn wait_for_notice(t: &TestStack, who: &Session, needle: &str) {
    t.eventually(Duration::from_secs(10), needle, || async {
        inbox_texts(t, who).await.iter().any(|b| b.contains(needle)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn advertisers_wait_for_approval_and_can_do_nothing_else_until_then() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let user = t.user("mina@example.com", "mina", PW).await;

    // A business number whose check digit is wrong is refused, with the field named.
    let bad = json!({"email": "x@corp.kr", "password": PW, "companyName": "멍푸드", "businessNumber": "220-81-62518",
                     "representative": "김대표", "phone": "02-1234-5678"});
    let r = t.post("/advertisers/signup", bad, None).await;
    assert_eq!(code(&r), (400, "VALIDATION_FAILED"), "{:?}", r.body);
    assert_eq!(r.body["errors"][0]["field"], "businessNumber");

    let adv = advertiser(&t, "ads@meongfood.kr", BUSINESS_NUMBERS[0]).await;
    let me = get(&t, "/advertisers/me", Some(&adv)).await;
    ok(&me, 200, "profile");
    assert_eq!(
        (me.body["status"].as_str(), me.body["businessNumber"].as_str()),
        (Some("PENDING_APPROVAL"), Some("2208162517"))
    );

    // Pending: profile and documents, nothing else.
    let ad = ad_body(&t, "간식 체험단", "간식", 3, [0, 2, 4, 5, 8]);
    assert_eq!(code(&t.post("/ads", ad.clone(), Some(&adv.access)).await), (403, "ADVERTISER_NOT_APPROVED"));
    assert_eq!(
        code(&t.post("/posts", json!({"title": "a", "content": "b"}), Some(&adv.access)).await),
        (403, "ADVERTISER_NOT_APPROVED")
    );
    assert_eq!(code(&get(&t, "/advertisers/me/ads", Some(&adv)).await), (403, "ADVERTISER_NOT_APPROVED"));
    let patched =
        t.call(Method::PATCH, "/advertisers/me", Some(json!({"phone": "031-987-6543"})), Some(&adv.access)).await;
    ok(&patched, 200, "profile edit");
    let pdf: Vec<u8> = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".iter().copied().chain(std::iter::repeat_n(b'x', 64)).collect();
    let up = t
        .post(
            "/uploads",
            json!({"purpose": "document", "contentType": "application/pdf", "contentLength": pdf.len()}),
            Some(&adv.access),
        )
        .await;
    ok(&up, 201, "upload");
    let put = t
        .http
        .put(up.body["uploadUrl"].as_str().unwrap())
        .header("content-type", "application/pdf")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let doc = t.post("/advertisers/me/documents", json!({"fileKey": up.body["key"]}), Some(&adv.access)).await;
    ok(&doc, 201, "document");
    assert_eq!(doc.body["documents"].as_array().unwrap().len(), 1);

    // The admin queue (an index: it lags a moment); a rejection needs a reason and tells the
    // advertiser by email and inbox.
    t.indexed().await;
    let queue = get(&t, "/admin/advertisers?status=PENDING_APPROVAL", Some(&root)).await;
    let queued = queue.body["items"].as_array().unwrap().iter().find(|a| a["userId"] == adv.user_id.as_str()).cloned();
    assert_eq!(queued.expect("in the queue")["email"], "ads@meongfood.kr", "with the account's email");
    assert_eq!(code(&get(&t, "/admin/advertisers", Some(&user)).await), (403, "ADMIN_ONLY"));
    let path = format!("/admin/advertisers/{}/decision", adv.user_id);
    let r = t.call(Method::PUT, &path, Some(json!({"decision": "REJECT"})), Some(&root.access)).await;
    assert_eq!(code(&r), (400, "VALIDATION_FAILED"));
    let r = t
        .call(Method::PUT, &path, Some(json!({"decision": "REJECT", "reason": "서류가 흐립니다"})), Some(&root.access))
        .await;
    ok(&r, 200, "reject");
    wait_for_notice(&t, &adv, "서류가 흐립니다").await;
    let mail = t.mail_to("ads@meongfood.kr").await;
    assert!(mail.iter().any(|m| m.to_string().contains("서류가 흐립니다")), "{mail:?}");
    let again = t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&root.access)).await;
    assert_eq!(code(&again), (409, "ADVERTISER_ALREADY_DECIDED"));
    assert_eq!(code(&t.post("/ads", ad.clone(), Some(&adv.access)).await), (403, "ADVERTISER_NOT_APPROVED"));

    // One business number, one advertiser: a second sign-up with it is refused while the first
    // holds it; a rejection frees it, and asking again finds it taken by the other.
    let twin = json!({"email": "twin@corp.kr", "password": PW, "companyName": "쌍둥이",
                      "businessNumber": BUSINESS_NUMBERS[1], "representative": "이대표", "phone": "02-1234-5678"});
    let first = advertiser(&t, "first@corp.kr", BUSINESS_NUMBERS[1]).await;
    let r = t.post("/advertisers/signup", twin.clone(), None).await;
    assert_eq!(code(&r), (409, "BUSINESS_NUMBER_TAKEN"), "{:?}", r.body);
    let first_path = format!("/admin/advertisers/{}/decision", first.user_id);
    let r = t
        .call(
            Method::PUT,
            &first_path,
            Some(json!({"decision": "REJECT", "reason": "번호 확인 불가"})),
            Some(&root.access),
        )
        .await;
    ok(&r, 200, "reject the first");
    let r = t.post("/advertisers/signup", twin, None).await;
    ok(&r, 201, "the number is free once its holder is rejected");
    let r =
        t.call(Method::PATCH, "/advertisers/me", Some(json!({"representative": "최대표"})), Some(&first.access)).await;
    assert_eq!(code(&r), (409, "BUSINESS_NUMBER_TAKEN"), "{:?}", r.body);

    // A rejected advertiser that edits its profile asks again; approved, it publishes.
    let r =
        t.call(Method::PATCH, "/advertisers/me", Some(json!({"representative": "박대표"})), Some(&adv.access)).await;
    assert_eq!(r.body["status"], "PENDING_APPROVAL");
    ok(&t.call(Method::PUT, &path, Some(json!({"decision": "APPROVE"})), Some(&root.access)).await, 200, "approve");
    wait_for_notice(&t, &adv, "승인").await;
    let r = t.post("/ads", ad.clone(), Some(&adv.access)).await;
    ok(&r, 201, "ad of an approved advertiser");
    assert_eq!(r.body["status"], "PENDING");

    // Users are not advertisers; anonymous callers are asked to sign in.
    assert_eq!(code(&t.post("/ads", ad.clone(), Some(&user.access)).await), (403, "ADVERTISERS_ONLY"));
    assert_eq!(t.post("/ads", ad, None).await.status, 401);

    // An approved advertiser is in the advertisers' notice audience; users are not.
    let notice = json!({"title": "광고주 정책 안내", "body": "광고 심사 기준이 바뀝니다", "audience": "ADVERTISERS"});
    ok(&t.post("/admin/notices", notice, Some(&root.access)).await, 202, "notice");
    wait_for_notice(&t, &adv, "광고 심사 기준").await;
    t.settle().await;
    assert!(!inbox_texts(&t, &user).await.iter().any(|b| b.contains("광고 심사 기준")));
    t.stop().await;
}

#[tokio::test]
async fn ads_check_their_dates_and_applications_are_refused_with_distinct_codes() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;

    // Dates out of order, or in the past, name their field.
    for (offsets, field) in [
        ([-1, 2, 4, 5, 8], "announceStart"),
        ([0, 4, 4, 5, 8], "selectionDate"),
        ([0, 2, 4, 3, 8], "campaignStart"),
        ([0, 2, 4, 5, 4], "campaignEnd"),
    ] {
        let r = t.post("/ads", ad_body(&t, "광고", "내용", 3, offsets), Some(&adv.access)).await;
        assert_eq!(code(&r), (400, "VALIDATION_FAILED"), "{offsets:?}");
        assert_eq!(r.body["errors"][0]["field"], field, "{offsets:?}: {:?}", r.body);
    }
    let r = t.post("/ads", ad_body(&t, "광고", "내용", 101, [0, 2, 4, 5, 8]), Some(&adv.access)).await;
    assert_eq!(r.body["errors"][0]["field"], "membersCount");

    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식 리뷰").await;
    let plain = pet(&t, &ann, "보리", "dog-jindo").await;
    let live = live_ad(&t, &root, &adv, "모집 중", 5).await;
    let upcoming = t.post("/ads", ad_body(&t, "곧", "내용", 3, [2, 3, 5, 6, 8]), Some(&adv.access)).await;
    let upcoming = upcoming.body["id"].as_str().unwrap().to_string();
    approve_ad(&t, &root, &upcoming).await;
    let unapproved = t.post("/ads", ad_body(&t, "심사 중", "내용", 3, [0, 2, 4, 5, 8]), Some(&adv.access)).await;
    let unapproved = unapproved.body["id"].as_str().unwrap().to_string();

    let apply = |ad: &str, pet: &str, who: &Session| {
        let (path, body, token) =
            (format!("/ads/{ad}/applications"), json!({"petId": pet, "content": "지원합니다"}), who.access.clone());
        let t = &t;
        async move { t.post(&path, body, Some(&token)).await }
    };
    assert_eq!(code(&apply(&live, &star, &bob).await), (403, "NOT_YOUR_PET"));
    assert_eq!(code(&apply(&live, &plain, &ann).await), (403, "NOT_A_PETSTAR"));
    assert_eq!(code(&apply(&upcoming, &star, &ann).await), (409, "APPLICATIONS_NOT_OPEN_YET"));
    assert_eq!(code(&apply(&unapproved, &star, &ann).await), (409, "AD_NOT_APPROVED"));
    ok(&apply(&live, &star, &ann).await, 201, "apply");
    assert_eq!(code(&apply(&live, &star, &ann).await), (409, "ALREADY_APPLIED"));
    // The public sees approved ads by phase (from an index); a pending ad only its advertiser
    // and admins.
    t.indexed().await;
    let recruiting = get(&t, "/ads", None).await;
    let ids: Vec<&str> =
        recruiting.body["items"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![live.as_str()]);
    assert_eq!(recruiting.body["items"][0]["applicantsCount"], 1);
    assert_eq!(get(&t, "/ads?status=UPCOMING", None).await.body["items"][0]["id"], upcoming.as_str());
    assert_eq!(get(&t, &format!("/ads/{unapproved}"), Some(&bob)).await.status, 404);
    ok(&get(&t, &format!("/ads/{unapproved}"), Some(&adv)).await, 200, "own pending ad");
    // An ad with applications is not deleted; a pending one is.
    assert_eq!(
        code(&t.call(Method::DELETE, &format!("/ads/{live}"), None, Some(&adv.access)).await),
        (409, "AD_HAS_APPLICATIONS")
    );
    assert_eq!(t.call(Method::DELETE, &format!("/ads/{unapproved}"), None, Some(&adv.access)).await.status, 204);
    assert_eq!(get(&t, &format!("/ads/{unapproved}"), Some(&adv)).await.status, 404);
    // A rejected pet does not apply again.
    let rejected = pet(&t, &bob, "냥이", "cat-persian").await;
    ok(&t.post(&format!("/pets/{rejected}/petstar-application"), json!({}), Some(&bob.access)).await, 201, "apply");
    let path = format!("/admin/petstar-applications/{rejected}/decision");
    ok(
        &t.call(Method::PUT, &path, Some(json!({"decision": "REJECT", "reason": "사진 부족"})), Some(&root.access))
            .await,
        200,
        "reject",
    );
    let again = t.post(&format!("/pets/{rejected}/petstar-application"), json!({}), Some(&bob.access)).await;
    assert_eq!(code(&again), (409, "PETSTAR_REJECTED"));
    wait_for_notice(&t, &bob, "사진 부족").await;
    t.stop().await;
}

/// An advertiser changes an ad while it waits for approval or after a rejection (a changed
/// rejected ad waits again), not once approved; a PetStar's owner changes an application while
/// it is open, not after cancelling it.
#[tokio::test]
async fn an_ad_changes_until_approved_and_an_application_while_open() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let r = t.post("/ads", ad_body(&t, "간식 체험", "강아지 간식 체험", 3, [0, 3, 5, 6, 10]), Some(&adv.access)).await;
    ok(&r, 201, "ad");
    let ad = r.body["id"].as_str().unwrap().to_string();
    let edit = |body: Value| {
        let (t, path, token) = (&t, format!("/ads/{ad}"), adv.access.clone());
        async move { t.call(Method::PATCH, &path, Some(body), Some(&token)).await }
    };
    let r = edit(json!({"title": "수제 간식 체험", "membersCount": 4})).await;
    ok(&r, 200, "pending ad");
    assert_eq!((r.body["title"].as_str(), r.body["membersCount"].as_i64()), (Some("수제 간식 체험"), Some(4)));
    let path = format!("/admin/ads/{ad}/decision");
    let decision = json!({"decision": "REJECT", "reason": "기간을 다시 적어 주세요"});
    ok(&t.call(Method::PUT, &path, Some(decision), Some(&root.access)).await, 200, "reject");
    let r = edit(json!({"content": "새로 나온 수제 간식을 먹어보고 리뷰해 주세요"})).await;
    ok(&r, 200, "rejected ad");
    assert_eq!(r.body["status"], "PENDING", "a changed rejected ad waits for approval again");
    let bob = t.user("bob@example.com", "bob", PW).await;
    let theirs = t.call(Method::PATCH, &format!("/ads/{ad}"), Some(json!({"title": "x"})), Some(&bob.access)).await;
    assert_eq!(theirs.status, 403, "{:?}", theirs.body);
    approve_ad(&t, &root, &ad).await;
    assert_eq!(code(&edit(json!({"title": "늦은 수정"})).await), (409, "AD_NOT_EDITABLE"));
    assert_eq!(get(&t, &format!("/ads/{ad}"), None).await.body["title"], "수제 간식 체험");

    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식 리뷰").await;
    let r = t
        .post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "지원합니다"}), Some(&ann.access))
        .await;
    ok(&r, 201, "apply");
    let app = r.body["id"].as_str().unwrap().to_string();
    let change = |text: &'static str| {
        let (t, path, token) = (&t, format!("/applications/{app}"), ann.access.clone());
        async move { t.call(Method::PATCH, &path, Some(json!({"content": text})), Some(&token)).await }
    };
    let r = change("간식 리뷰 영상 두 편을 올릴게요").await;
    ok(&r, 200, "open application");
    assert_eq!(r.body["content"], "간식 리뷰 영상 두 편을 올릴게요");
    assert_eq!(t.call(Method::DELETE, &format!("/applications/{app}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(code(&change("취소 후 수정").await), (409, "APPLICATION_NOT_EDITABLE"));
    t.stop().await;
}

#[tokio::test]
async fn application_counts_stay_exact_under_concurrent_applies_and_cancels() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let owner = t.user("ann@example.com", "ann", PW).await;
    let mut stars = Vec::new();
    for i in 0..30 {
        stars.push(petstar(&t, &root, &owner, &format!("별{i}"), "dog-maltese", "산책").await);
    }
    let ad = live_ad(&t, &root, &adv, "동시 지원", 5).await;
    let count = || async { get(&t, &format!("/ads/{ad}"), None).await.body["applicantsCount"].as_i64().unwrap() };

    // 30 distinct PetStars at once: 30.
    let body = |pet: &str| json!({"petId": pet, "content": "지원"});
    let path = format!("/ads/{ad}/applications");
    let all = futures::future::join_all(stars.iter().map(|p| t.post(&path, body(p), Some(&owner.access)))).await;
    assert!(all.iter().all(|r| r.status == 201), "{:?}", all.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(count().await, 30);

    // One pet ten times at once (on a second ad): one application.
    let ad2 = live_ad(&t, &root, &adv, "중복 지원", 5).await;
    let path2 = format!("/ads/{ad2}/applications");
    let tries = futures::future::join_all((0..10).map(|_| t.post(&path2, body(&stars[0]), Some(&owner.access)))).await;
    assert_eq!(tries.iter().filter(|r| r.status == 201).count(), 1);
    assert!(tries.iter().filter(|r| r.status != 201).all(|r| r.body["code"] == "ALREADY_APPLIED"), "{tries:?}");
    assert_eq!(get(&t, &format!("/ads/{ad2}"), None).await.body["applicantsCount"], 1);

    // Cancelling ten while ten others apply again after their own cancel: exact.
    let mine = get(&t, "/users/me/applications?limit=50", Some(&owner)).await;
    let of_ad: Vec<(String, String)> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["adId"] == ad.as_str())
        .map(|a| (a["id"].as_str().unwrap().to_string(), a["petId"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(of_ad.len(), 30);
    for (id, _) in &of_ad[10..20] {
        assert_eq!(t.call(Method::DELETE, &format!("/applications/{id}"), None, Some(&owner.access)).await.status, 204);
    }
    assert_eq!(count().await, 20);
    let cancels = of_ad[..10].iter().map(|(id, _)| {
        let p = format!("/applications/{id}");
        let t = &t;
        let token = owner.access.clone();
        async move { t.call(Method::DELETE, &p, None, Some(&token)).await.status }
    });
    let reapplies = of_ad[10..20].iter().map(|(_, pet)| {
        let t = &t;
        let (path, b, token) = (path.clone(), body(pet), owner.access.clone());
        async move { t.post(&path, b, Some(&token)).await.status }
    });
    let (c, r) = tokio::join!(futures::future::join_all(cancels), futures::future::join_all(reapplies));
    assert!(c.iter().all(|s| *s == 204) && r.iter().all(|s| *s == 201), "{c:?} {r:?}");
    assert_eq!(count().await, 20);
    // Cancelling twice at once cancels once.
    let (id, _) = &of_ad[25];
    let p = format!("/applications/{id}");
    let twice = futures::future::join_all((0..2).map(|_| t.call(Method::DELETE, &p, None, Some(&owner.access)))).await;
    assert_eq!(twice.iter().filter(|r| r.status == 204).count(), 1);
    assert_eq!(count().await, 19);
    t.indexed().await; // the advertiser's list is an index
    let listed = get(&t, &format!("/ads/{ad}/applications?status=APPLIED&limit=100"), Some(&adv)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 19);
    t.stop().await;
}

/// An approved ad for two members from day `d0`: announced d0–d2, selection on d4, the
/// campaign d5–d7.
async fn dated_ad(t: &TestStack, root: &Session, adv: &Session, title: &str, d0: NaiveDate) -> String {
    let d = |n: u64| d0.checked_add_days(Days::new(n)).unwrap();
    let body = json!({"title": title, "content": "강아지 간식", "objective": "인지도",
        "announceStart": d(0), "announceEnd": d(2), "selectionDate": d(4), "campaignStart": d(5), "campaignEnd": d(7),
        "membersCount": 2, "missions": [], "keywords": [], "requirements": [], "fileKeys": []});
    let ad = t.post("/ads", body, Some(&adv.access)).await;
    ok(&ad, 201, "ad");
    let ad = ad.body["id"].as_str().unwrap().to_string();
    approve_ad(t, root, &ad).await;
    ad
}

/// Moves `clock` forward to midnight plus five minutes (Seoul) of `date`.
fn set_day(clock: &shared::clock::OffsetClock, date: NaiveDate) {
    use shared::clock::Clock;
    let target =
        date.and_hms_opt(0, 5, 0).unwrap().and_local_timezone(campaigns::seoul()).unwrap().with_timezone(&chrono::Utc);
    let by = target - clock.now();
    assert!(by > chrono::Duration::zero(), "the clock only moves forward");
    clock.advance(by);
}

#[tokio::test]
async fn a_whole_campaign_runs_on_the_clock_through_selection_trial_reviews_and_end() {
    let (t, clock) = TestStack::start_with_clock().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let owners = [
        t.user("ann@example.com", "ann", PW).await,
        t.user("bob@example.com", "bob", PW).await,
        t.user("cat@example.com", "cat", PW).await,
    ];
    let mut stars = Vec::new();
    for (i, o) in owners.iter().enumerate() {
        stars.push(petstar(&t, &root, o, &format!("별{i}"), "dog-maltese", "간식 리뷰").await);
    }
    // The first PetStar's Instagram account is linked and synced: the report shows its figures.
    let linked = t.link_instagram(&owners[0], &stars[0], "meongmeong_daily").await;
    assert_eq!(linked.status, 201, "{:?}", linked.body);
    let newest = t
        .eventually(Duration::from_secs(60), "the first sync", || async {
            let r = get(&t, &format!("/pets/{}/instagram/media?limit=1", stars[0]), Some(&owners[0])).await;
            r.body["items"].as_array().and_then(|a| a.first().cloned())
        })
        .await;
    let permalink = newest["permalink"].as_str().unwrap().to_string();
    let start = today(&t).checked_add_days(Days::new(1)).unwrap();
    let d = |n: u64| start.checked_add_days(Days::new(n)).unwrap();
    let ad = dated_ad(&t, &root, &adv, "간식 체험단", start).await;
    wait_for_notice(&t, &adv, "승인되었습니다").await;
    // The job finds the ads due through an index, which shows a change a moment after it.
    let run = || async {
        t.indexed().await;
        let r = t.post("/_local/jobs/ads-lifecycle/run", json!({}), None).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    };
    let status =
        || async { get(&t, &format!("/ads/{ad}"), Some(&adv)).await.body["status"].as_str().unwrap().to_string() };

    set_day(&clock, d(0));
    run().await;
    assert_eq!(status().await, "APPROVED");
    let mut apps = Vec::new();
    for (o, s) in owners.iter().zip(&stars) {
        let r =
            t.post(&format!("/ads/{ad}/applications"), json!({"petId": s, "content": "지원"}), Some(&o.access)).await;
        ok(&r, 201, "apply");
        apps.push(r.body["id"].as_str().unwrap().to_string());
    }
    // Selecting is for the selection period only.
    let select = |app: &str, yes: bool| {
        let path = format!("/applications/{app}/selection");
        let t = &t;
        let token = adv.access.clone();
        async move { t.call(Method::PUT, &path, Some(json!({"selected": yes})), Some(&token)).await }
    };
    assert_eq!(code(&select(&apps[0], true).await), (409, "NOT_IN_SELECTION"));

    // The announcement ends: CLOSED, applications in selection. Running twice changes nothing.
    set_day(&clock, d(3));
    run().await;
    run().await;
    assert_eq!(status().await, "CLOSED");
    t.indexed().await;
    let listed = get(&t, &format!("/ads/{ad}/applications?status=PENDING"), Some(&adv)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 3);
    ok(&select(&apps[0], true).await, 200, "select");
    ok(&select(&apps[1], true).await, 200, "select");
    assert_eq!(code(&select(&apps[2], true).await), (409, "SELECTION_FULL"));
    ok(&select(&apps[1], false).await, 200, "unselect");
    ok(&select(&apps[2], true).await, 200, "select another");
    assert_eq!(get(&t, &format!("/ads/{ad}"), None).await.body["selectedCount"], 2);

    // The selection date: the unselected is rejected and told; the selected get reviews and
    // are told the campaign dates. Then the campaign starts.
    set_day(&clock, d(4));
    run().await;
    assert_eq!(status().await, "SELECTED");
    wait_for_notice(&t, &owners[0], &format!("{} ~ {}", d(5), d(7))).await;
    wait_for_notice(&t, &owners[2], "선정되었습니다").await;
    wait_for_notice(&t, &owners[1], "선정되지 않았습니다").await;
    let mine = get(&t, "/users/me/applications", Some(&owners[1])).await;
    assert_eq!(mine.body["items"][0]["status"], "REJECTED");
    // Too early for reviews.
    let review = |app: &str, who: &Session, url: &str| {
        let path = format!("/applications/{app}/review");
        let t = &t;
        let (token, body) = (who.access.clone(), json!({"url": url}));
        async move { t.call(Method::PUT, &path, Some(body), Some(&token)).await }
    };
    assert_eq!(code(&review(&apps[0], &owners[0], "https://instagram.com/p/1").await), (409, "CAMPAIGN_NOT_RUNNING"));
    set_day(&clock, d(5));
    run().await;
    assert_eq!(status().await, "TRIAL");

    // Reviews: submitted, rejected with a reason, resubmitted, approved.
    let r = review(&apps[0], &owners[0], "https://instagram.com/p/first").await;
    ok(&r, 200, "submit");
    assert_eq!(r.body["status"], "SUBMITTED");
    assert_eq!(code(&review(&apps[1], &owners[1], "https://instagram.com/p/x").await), (409, "REVIEW_NOT_EXPECTED"));
    assert_eq!(code(&review(&apps[0], &owners[1], "https://instagram.com/p/x").await), (403, "NOT_YOUR_APPLICATION"));
    wait_for_notice(&t, &adv, "리뷰가 제출되었습니다").await;
    let decide = |body: Value| {
        let path = format!("/reviews/{}/decision", apps[0]);
        let t = &t;
        let token = adv.access.clone();
        async move { t.call(Method::PUT, &path, Some(body), Some(&token)).await }
    };
    ok(&decide(json!({"decision": "REJECTED", "reason": "해시태그 누락"})).await, 200, "reject review");
    wait_for_notice(&t, &owners[0], "해시태그 누락").await;
    assert_eq!(code(&decide(json!({"decision": "APPROVED"})).await), (409, "REVIEW_NOT_SUBMITTED"));
    ok(&review(&apps[0], &owners[0], &permalink).await, 200, "resubmit");
    let r = decide(json!({"decision": "APPROVED"})).await;
    ok(&r, 200, "approve review");
    wait_for_notice(&t, &owners[0], "캠페인 완료").await;
    let mine = get(&t, "/users/me/applications", Some(&owners[0])).await;
    assert_eq!(mine.body["items"][0]["status"], "COMPLETED");
    assert_eq!(mine.body["items"][0]["review"]["url"], permalink.as_str());
    ok(&review(&apps[2], &owners[2], "https://www.instagram.com/p/notsynced1/").await, 200, "the other submits");

    // The advertiser's report: counts, the approved post's figures as synced, totals, CSV.
    t.indexed().await;
    let report = get(&t, &format!("/ads/{ad}/report"), Some(&adv)).await;
    ok(&report, 200, "report");
    let b = &report.body;
    assert_eq!((b["applicants"].as_u64(), b["selected"].as_u64()), (Some(3), Some(2)), "{b:?}");
    assert_eq!(b["reviews"], json!({"pending": 0, "submitted": 1, "approved": 1, "rejected": 0}));
    let likes = newest["likeCount"].as_i64().unwrap();
    let comments = newest["commentsCount"].as_i64().unwrap();
    // The sandbox's reach of a post: four accounts a like, ten a comment, fifty more.
    let reach = likes * 4 + comments * 10 + 50;
    let approved: Vec<&Value> =
        b["posts"].as_array().unwrap().iter().filter(|p| p["reviewStatus"] == "APPROVED").collect();
    assert_eq!(approved.len(), 1);
    let ig = &approved[0]["instagram"];
    assert_eq!(
        (ig["likeCount"].as_i64(), ig["commentsCount"].as_i64(), ig["reach"].as_i64()),
        (Some(likes), Some(comments), Some(reach)),
        "{ig:?}"
    );
    assert_eq!(b["totals"], json!({"postsMeasured": 1, "likes": likes, "comments": comments, "reach": reach}));
    let submitted = b["posts"].as_array().unwrap().iter().find(|p| p["reviewStatus"] == "SUBMITTED").unwrap();
    assert!(submitted["instagram"].is_null(), "figures only for approved posts");
    let csv = t
        .send(t.http.get(t.url(&format!("/ads/{ad}/report"))).bearer_auth(&adv.access).header("accept", "text/csv"))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").is_some_and(|c| c.starts_with("text/csv")), "{:?}", csv.header("content-type"));
    let text = csv.body.as_str().unwrap_or_default().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "header, the approved post, the total: {text}");
    assert!(
        lines[1].starts_with(&format!("{},{},{permalink},APPROVED,{likes},{comments},{reach},", apps[0], stars[0])),
        "{text}"
    );
    assert_eq!(lines[2], format!("TOTAL,,,1 measured,{likes},{comments},{reach},"));
    // Only the ad's advertiser and administrators.
    let other = approved_advertiser(&t, &root, "other@corp.kr", BUSINESS_NUMBERS[1]).await;
    assert_eq!(code(&get(&t, &format!("/ads/{ad}/report"), Some(&other)).await), (403, "NOT_YOUR_AD"));
    assert_eq!(code(&get(&t, &format!("/ads/{ad}/report"), Some(&owners[0])).await), (403, "ADVERTISERS_ONLY"));
    assert_eq!(get(&t, &format!("/ads/{ad}/report"), None).await.status, 401);
    ok(&get(&t, &format!("/ads/{ad}/report"), Some(&root)).await, 200, "an administrator");

    // After the campaign: ENDED, and every later run leaves it there.
    set_day(&clock, d(8));
    run().await;
    run().await;
    assert_eq!(status().await, "ENDED");
    t.stop().await;
}

#[tokio::test]
async fn a_job_that_did_not_run_catches_up_through_every_step_in_order() {
    let (t, clock) = TestStack::start_with_clock().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식").await;
    let ad = live_ad(&t, &root, &adv, "밀린 광고", 2).await;
    let r =
        t.post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "지원"}), Some(&ann.access)).await;
    ok(&r, 201, "apply");
    // Weeks later (the session has ended: sign in again), applying after the window is refused
    // even before the job has closed the ad.
    set_day(&clock, today(&t).checked_add_days(Days::new(30)).unwrap());
    let ann =
        Session { access: t.login("ann@example.com", PW).await.body["accessToken"].as_str().unwrap().into(), ..ann };
    let late = t
        .post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "늦은 지원"}), Some(&ann.access))
        .await;
    assert_eq!(code(&late), (409, "APPLICATIONS_CLOSED"));
    // The job runs for the first time: closed, settled (not selected), run, ended. It finds
    // the ads due through an index.
    t.indexed().await;
    let r = t.post("/_local/jobs/ads-lifecycle/run", json!({}), None).await;
    assert_eq!(get(&t, &format!("/ads/{ad}"), None).await.body["status"], "ENDED", "{:?}", r.body);
    let mine = get(&t, "/users/me/applications", Some(&ann)).await;
    assert_eq!(mine.body["items"][0]["status"], "REJECTED", "{:?}", mine.body);
    wait_for_notice(&t, &ann, "선정되지 않았습니다").await;
    t.stop().await;
}

#[tokio::test]
async fn every_advertiser_and_admin_endpoint_refuses_users_unapproved_advertisers_others_and_anonymous() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let rival = approved_advertiser(&t, &root, "rival@corp.kr", BUSINESS_NUMBERS[1]).await;
    let pending = advertiser(&t, "new@corp.kr", BUSINESS_NUMBERS[2]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식").await;
    let ad = live_ad(&t, &root, &adv, "내 광고", 2).await;
    let app =
        t.post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "지원"}), Some(&ann.access)).await;
    let app = app.body["id"].as_str().unwrap().to_string();

    let advertiser_calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PATCH, format!("/ads/{ad}"), Some(json!({"membersCount": 3}))),
        (Method::DELETE, format!("/ads/{ad}"), None),
        (Method::GET, format!("/ads/{ad}/applications"), None),
        (Method::PUT, format!("/applications/{app}/selection"), Some(json!({"selected": true}))),
        (Method::PUT, format!("/reviews/{app}/decision"), Some(json!({"decision": "APPROVED"}))),
        (Method::GET, format!("/ads/{ad}/recommended-petstars"), None),
    ];
    for (m, path, body) in &advertiser_calls {
        let as_ = |who: Option<&Session>| {
            let token = who.map(|w| w.access.clone());
            let (m, path, body, t) = (m.clone(), path.to_string(), body.clone(), &t);
            async move { t.call(m, &path, body, token.as_deref()).await }
        };
        assert_eq!(as_(None).await.status, 401, "{m} {path} anonymous");
        assert_eq!(code(&as_(Some(&ann)).await), (403, "ADVERTISERS_ONLY"), "{m} {path} as a user");
        assert_eq!(code(&as_(Some(&pending)).await), (403, "ADVERTISER_NOT_APPROVED"), "{m} {path} unapproved");
        // Another advertiser's: refused, or (a review not yet made) not there.
        let theirs = as_(Some(&rival)).await.status;
        assert!(
            theirs == 403 || (theirs == 404 && path.starts_with("/reviews/")),
            "{m} {path} another advertiser: {theirs}"
        );
    }
    for (m, path) in [(Method::POST, "/ads".to_string()), (Method::GET, "/advertisers/me/ads".to_string())] {
        let body = (m == Method::POST).then(|| ad_body(&t, "광고", "내용", 2, [0, 2, 4, 5, 8]));
        let as_ = |who: Option<&Session>| {
            let token = who.map(|w| w.access.clone());
            let (m, path, body, t) = (m.clone(), path.to_string(), body.clone(), &t);
            async move { t.call(m, &path, body, token.as_deref()).await }
        };
        assert_eq!(as_(None).await.status, 401);
        assert_eq!(code(&as_(Some(&ann)).await), (403, "ADVERTISERS_ONLY"));
        assert_eq!(code(&as_(Some(&pending)).await), (403, "ADVERTISER_NOT_APPROVED"));
    }
    let admin_calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/admin/advertisers".into(), None),
        (Method::PUT, format!("/admin/advertisers/{}/decision", pending.user_id), Some(json!({"decision": "APPROVE"}))),
        (Method::GET, "/admin/petstar-applications".into(), None),
        (Method::PUT, format!("/admin/petstar-applications/{star}/decision"), Some(json!({"decision": "APPROVE"}))),
        (Method::GET, "/admin/ads".into(), None),
        (Method::PUT, format!("/admin/ads/{ad}/decision"), Some(json!({"decision": "APPROVE"}))),
    ];
    for (m, path, body) in &admin_calls {
        let as_ = |who: Option<&Session>| {
            let token = who.map(|w| w.access.clone());
            let (m, path, body, t) = (m.clone(), path.to_string(), body.clone(), &t);
            async move { t.call(m, &path, body, token.as_deref()).await }
        };
        assert_eq!(as_(None).await.status, 401, "{m} {path}");
        for who in [&ann, &adv, &pending] {
            assert_eq!(as_(Some(who)).await.status, 403, "{m} {path} as {}", who.email);
        }
    }
    // The owner's own things: other users' applications and pets are not theirs.
    let bob = t.user("bob@example.com", "bob", PW).await;
    let r =
        t.call(Method::PATCH, &format!("/applications/{app}"), Some(json!({"content": "x"})), Some(&bob.access)).await;
    assert_eq!(code(&r), (403, "NOT_YOUR_APPLICATION"));
    assert_eq!(
        code(&t.call(Method::DELETE, &format!("/applications/{app}"), None, Some(&bob.access)).await),
        (403, "NOT_YOUR_APPLICATION")
    );
    assert_eq!(code(&get(&t, &format!("/pets/{star}/applications"), Some(&bob)).await), (403, "NOT_YOUR_PET"));
    let r = t
        .call(Method::PUT, &format!("/pets/{star}/portfolio"), Some(json!({"introduction": "x"})), Some(&bob.access))
        .await;
    assert_eq!(code(&r), (403, "NOT_YOUR_PET"));
    // The administrator may see an ad's applications and recommendations.
    ok(&get(&t, &format!("/ads/{ad}/applications"), Some(&root)).await, 200, "admin sees applications");
    ok(&get(&t, &format!("/ads/{ad}/recommended-petstars"), Some(&root)).await, 200, "admin sees recommendations");
    t.stop().await;
}

#[tokio::test]
async fn the_recommendation_ranks_a_labelled_set_as_expected() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let treats = petstar(
        &t,
        &root,
        &ann,
        "초코",
        "dog-maltese",
        "수제 간식을 정말 좋아하는 말티즈예요. 간식 리뷰 영상을 올려요",
    )
    .await;
    let snacks = petstar(&t, &root, &bob, "두부", "dog-pomeranian", "강아지 간식 먹방과 솔직한 리뷰").await;
    let walker = petstar(&t, &root, &ann, "보리", "dog-jindo", "매일 한강 산책하는 진돗개").await;
    let cat = petstar(&t, &root, &bob, "나비", "cat-persian", "고양이 장난감 리뷰를 해요").await;
    let travel = petstar(&t, &root, &ann, "하늘", "cat-munchkin", "여행 사진을 찍어요").await;
    // A history counts too: the walker once reviewed treats on a shoot.
    let h = json!({"title": "간식 브랜드 촬영", "date": day(&t, -10), "description": "간식 광고 촬영"});
    ok(&t.post(&format!("/pets/{walker}/histories"), h, Some(&ann.access)).await, 201, "history");
    // A pet that is not a PetStar is never recommended.
    let outsider = pet(&t, &bob, "몰래", "dog-maltese").await;
    let p =
        json!({"introduction": "강아지 간식 리뷰 간식 리뷰", "strengths": [], "keywords": ["간식"], "mediaKeys": []});
    ok(
        &t.call(Method::PUT, &format!("/pets/{outsider}/portfolio"), Some(p), Some(&bob.access)).await,
        200,
        "portfolio",
    );

    let r = t
        .post(
            "/ads",
            ad_body(&t, "강아지 간식 리뷰", "새로 나온 강아지 간식을 먹어보고 리뷰해 주세요", 3, [0, 2, 4, 5, 8]),
            Some(&adv.access),
        )
        .await;
    let ad = r.body["id"].as_str().unwrap().to_string();
    t.indexed().await; // the recommendation reads the active PetStars through an index
    let r = get(&t, &format!("/ads/{ad}/recommended-petstars?limit=10"), Some(&adv)).await;
    ok(&r, 200, "recommend");
    let ranked: Vec<&str> =
        r.body["items"].as_array().unwrap().iter().map(|i| i["pet"]["id"].as_str().unwrap()).collect();
    let at = |id: &str| ranked.iter().position(|x| *x == id);
    // The dogs whose portfolios talk about treats first, in either order; then the walker
    // (a dog with one treat shoot); cats after every dog; the unrelated cat and the
    // non-PetStar not at all or last.
    let (a, b) = (at(&treats).expect("treats ranked"), at(&snacks).expect("snacks ranked"));
    assert!(a < 2 && b < 2, "{ranked:?}");
    let w = at(&walker).expect("walker ranked");
    assert_eq!(w, 2, "{ranked:?}");
    // The cat that reviews toys shares only "리뷰": ranked, after every dog.
    let c = at(&cat).expect("the cat reviewer matches 리뷰");
    assert!(c > w, "{ranked:?}");
    assert!(at(&outsider).is_none(), "not a PetStar: {ranked:?}");
    assert!(at(&travel).is_none_or(|x| x == ranked.len() - 1), "{ranked:?}");
    assert!(
        r.body["items"][0]["matchedTerms"].as_array().unwrap().iter().any(|m| m == "간식"),
        "{:?}",
        r.body["items"][0]
    );
    let s0 = r.body["items"][0]["score"].as_f64().unwrap();
    let s2 = r.body["items"][2]["score"].as_f64().unwrap();
    assert!(s0 > s2);
    // The public PetStar pages and lists (indexes).
    t.indexed().await;
    let page = get(&t, &format!("/petstars/{treats}"), None).await;
    ok(&page, 200, "petstar page");
    assert!(page.body["portfolio"]["introduction"].as_str().unwrap().contains("수제 간식"));
    let cats = get(&t, "/petstars?species=CAT", None).await;
    assert_eq!(cats.body["items"].as_array().unwrap().len(), 2);
    let found = get(&t, "/petstars?q=진돗개", None).await;
    assert_eq!(found.body["items"][0]["pet"]["id"], walker.as_str());
    assert_eq!(get(&t, &format!("/petstars/{outsider}"), None).await.status, 404);
    t.stop().await;
}

/// A PetStar's portfolio and histories are its search document: reading them back, editing
/// two histories at the same moment (each edit refreshes the one document, so the later one is
/// tried again, not refused), and removing one, the search finds what the pages say now.
#[tokio::test]
async fn a_petstars_histories_keep_its_search_document_under_concurrent_edits() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "보리", "dog-jindo", "매일 한강 산책하는 진돗개").await;
    let portfolio = get(&t, &format!("/pets/{star}/portfolio"), None).await;
    ok(&portfolio, 200, "portfolio");
    assert_eq!(portfolio.body["introduction"], "매일 한강 산책하는 진돗개");
    let mut ids = Vec::new();
    for title in ["간식 브랜드 촬영", "장난감 광고"] {
        let h = json!({"title": title, "date": day(&t, -3), "description": ""});
        let r = t.post(&format!("/pets/{star}/histories"), h, Some(&ann.access)).await;
        ok(&r, 201, "history");
        ids.push(r.body["id"].as_str().unwrap().to_string());
    }
    let one = get(&t, &format!("/pets/{star}/histories/{}", ids[0]), None).await;
    ok(&one, 200, "one history");
    assert_eq!(one.body["title"], "간식 브랜드 촬영");
    // Two edits at once, of the two histories: both land.
    let edit = |id: String, text: &'static str| {
        let (t, star, ann) = (&t, &star, &ann);
        async move {
            let path = format!("/pets/{star}/histories/{id}");
            t.call(Method::PATCH, &path, Some(json!({"description": text})), Some(&ann.access)).await
        }
    };
    let (a, b) = tokio::join!(edit(ids[0].clone(), "수영 대회 우승"), edit(ids[1].clone(), "캠핑 여행 브이로그"));
    ok(&a, 200, "first edit");
    ok(&b, 200, "second edit");
    assert_eq!(a.body["description"], "수영 대회 우승");
    let found = |q: &'static str| {
        let t = &t;
        async move {
            t.indexed().await;
            let r = get(t, &format!("/petstars?q={q}"), None).await;
            ok(&r, 200, q);
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["pet"]["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("수영").await, vec![star.clone()], "the first edit is in the document");
    assert_eq!(found("캠핑").await, vec![star.clone()], "the second edit is in the document");
    // An edit by someone else is refused; a removal takes the history out of the document.
    let bob = t.user("bob@example.com", "bob", PW).await;
    let r = t
        .call(
            Method::PATCH,
            &format!("/pets/{star}/histories/{}", ids[1]),
            Some(json!({"title": "x"})),
            Some(&bob.access),
        )
        .await;
    assert_eq!(code(&r), (403, "NOT_YOUR_PET"));
    let r = t.call(Method::DELETE, &format!("/pets/{star}/histories/{}", ids[1]), None, Some(&ann.access)).await;
    assert_eq!(r.status, 204);
    assert_eq!(get(&t, &format!("/pets/{star}/histories/{}", ids[1]), None).await.status, 404);
    let r = t.call(Method::DELETE, &format!("/pets/{star}/histories/{}", ids[1]), None, Some(&ann.access)).await;
    assert_eq!(code(&r), (404, "HISTORY_NOT_FOUND"), "removed once");
    assert!(found("캠핑").await.is_empty(), "the removed history is gone from the document");
    assert_eq!(found("수영").await, vec![star.clone()]);
    let left = get(&t, &format!("/pets/{star}/histories"), None).await;
    assert_eq!(left.body["items"].as_array().unwrap().len(), 1);
    t.stop().await;
}

#[tokio::test]
async fn every_admin_endpoint_refuses_an_advertiser_and_approvals_are_in_the_audit_trail() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let mut refused = 0;
    for route in local_stack::catalog::routes().into_iter().filter(|r| r.access == shared::routes::Access::Admin) {
        let path = route
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { adv.user_id.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let body = route.method.is_write().then(|| json!({}));
        let r = t.call(method, &path, body, Some(&adv.access)).await;
        assert_eq!(code(&r), (403, "ADMIN_ONLY"), "{} as an advertiser", route.route_key());
        refused += 1;
    }
    assert!(refused >= 20, "every admin route: {refused}");

    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식").await;
    let ad = live_ad(&t, &root, &adv, "감사 기록", 2).await;
    t.indexed().await; // the audit trail is an index
    for (target, action) in
        [(adv.user_id.as_str(), "ADVERTISER_APPROVE"), (star.as_str(), "PETSTAR_APPROVE"), (ad.as_str(), "AD_APPROVE")]
    {
        let trail = get(&t, &format!("/admin/audit?targetId={target}"), Some(&root)).await;
        let actions: Vec<&str> =
            trail.body["items"].as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap()).collect();
        assert_eq!(actions, vec![action], "{target}");
        assert_eq!(trail.body["items"][0]["actorId"], root.user_id.as_str());
    }
    t.stop().await;
}

#[tokio::test]
async fn an_application_made_a_moment_before_the_announcement_closes_is_settled() {
    let clock = shared::clock::OffsetClock::new();
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.clock = clock.clone();
    opts.index_lag = Some(std::time::Duration::from_secs(3));
    let t = TestStack::start_with(opts).await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let star = petstar(&t, &root, &ann, "초코", "dog-maltese", "간식").await;
    let start = today(&t).checked_add_days(Days::new(1)).unwrap();
    let d = |n: u64| start.checked_add_days(Days::new(n)).unwrap();
    let ad = dated_ad(&t, &root, &adv, "막차 체험단", start).await;
    set_day(&clock, d(2));
    // The ad is in the due index; the application is committed just before the job runs.
    t.indexed().await;
    let app =
        t.post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "막차"}), Some(&ann.access)).await;
    ok(&app, 201, "apply");
    let app = app.body["id"].as_str().unwrap().to_string();
    set_day(&clock, d(3));
    let r = t.post("/_local/jobs/ads-lifecycle/run", json!({}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(get(&t, &format!("/ads/{ad}"), None).await.body["status"], "CLOSED");
    let mine = get(&t, "/users/me/applications", Some(&ann)).await;
    assert_eq!(mine.body["items"][0]["id"], app.as_str());
    assert_eq!(mine.body["items"][0]["status"], "PENDING", "in selection, not left APPLIED: {:?}", mine.body);
    t.stop().await;
}

#[tokio::test]
async fn a_moderator_removes_a_live_ad_and_its_advertiser_and_applicants_are_told() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let ad = live_ad(&t, &root, &adv, "수상한 간식 체험단", 3).await;
    let mut apps = Vec::new();
    for (who, name) in [(&ann, "별이"), (&bob, "달이")] {
        let star = petstar(&t, &root, who, name, "dog-maltese", "간식 리뷰").await;
        let r = t
            .post(&format!("/ads/{ad}/applications"), json!({"petId": star, "content": "지원"}), Some(&who.access))
            .await;
        ok(&r, 201, "apply");
        apps.push(r.body["id"].as_str().unwrap().to_string());
    }
    // Bob changes his mind: a cancelled application is not told.
    ok(&t.call(Method::DELETE, &format!("/applications/{}", apps[1]), None, Some(&bob.access)).await, 204, "cancel");

    // Anyone can report an ad; a moderator removes it, live as it is.
    let report =
        t.post("/reports", json!({"targetType": "AD", "targetId": ad, "category": "SPAM"}), Some(&ann.access)).await;
    ok(&report, 201, "report an ad");
    assert_eq!(
        code(&t.call(Method::DELETE, &format!("/admin/ads/{ad}?reason=x"), None, Some(&ann.access)).await),
        (403, "ADMIN_ONLY")
    );
    let removed =
        t.call(Method::DELETE, &format!("/admin/ads/{ad}?reason=허위%20광고"), None, Some(&root.access)).await;
    ok(&removed, 202, "removal ordered");
    t.eventually(Duration::from_secs(10), "the ad gone", || async {
        (get(&t, &format!("/ads/{ad}"), Some(&ann)).await.status == 404).then_some(())
    })
    .await;
    assert_eq!(get(&t, &format!("/ads/{ad}"), Some(&adv)).await.status, 404, "for its advertiser too");
    wait_for_notice(&t, &ann, "캠페인이 취소되었습니다").await;
    wait_for_notice(&t, &adv, "허위 광고").await;
    t.settle().await;
    assert!(
        !inbox_texts(&t, &bob).await.iter().any(|n| n.contains("캠페인이 취소되었습니다")),
        "a cancelled application is not told"
    );
    t.indexed().await;
    let listed = get(&t, "/ads", None).await;
    assert!(!listed.body["items"].as_array().unwrap().iter().any(|a| a["id"] == ad.as_str()), "gone from the list");
    t.stop().await;
}

/// Meanings, not only words: an ad that says "사료" where a PetStar says "간식" and "츄르" finds
/// it first once the vectors are blended in, though words alone put a PetStar first that only
/// shares "후기". Editing the pet's profile remakes its document and its vector.
#[tokio::test]
async fn a_synonym_only_ad_finds_its_petstar_with_the_blend_and_a_profile_edit_remakes_the_vector() {
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let adv = approved_advertiser(&t, &root, "ads@corp.kr", BUSINESS_NUMBERS[0]).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let foodie = petstar(&t, &root, &ann, "초코", "dog-maltese", "수제 간식과 츄르를 제일 좋아하는 먹보").await;
    let walker = petstar(&t, &root, &ann, "보리", "dog-jindo", "매일 한강 산책 후기를 올려요").await;
    let groomed = petstar(&t, &root, &ann, "두부", "dog-pomeranian", "미용 목욕 브이로그").await;
    let mut body = ad_body(&t, "강아지 사료 체험단", "새 사료를 먹어 보고 후기를 남겨 주세요", 3, [0, 2, 4, 5, 8]);
    body["keywords"] = json!(["사료"]);
    body["missions"] = json!(["사료 후기"]);
    body["objective"] = json!("신제품 체험");
    let r = t.post("/ads", body, Some(&adv.access)).await;
    ok(&r, 201, "ad");
    let ad = r.body["id"].as_str().unwrap().to_string();
    t.settle().await; // the worker makes the ad's and the PetStars' vectors
    let embedded = t.get("/_local/bedrock/requests").await.body.as_array().unwrap().clone();
    assert_eq!(embedded.iter().filter(|r| r["operation"] == "InvokeModel").count(), 4, "three PetStars and the ad");

    let ranking = |query: &str| {
        let path = format!("/ads/{ad}/recommended-petstars{query}");
        let t = &t;
        let adv = &adv;
        async move {
            let r = get(t, &path, Some(adv)).await;
            ok(&r, 200, "recommend");
            r.body["items"].as_array().unwrap().clone()
        }
    };
    let words = ranking("?semantic=false").await;
    assert_eq!(words[0]["pet"]["id"], walker.as_str(), "words alone: the one sharing 후기 {words:?}");
    assert!(words.iter().all(|i| i["similarity"].is_null()));
    let blended = ranking("").await;
    assert_eq!(blended[0]["pet"]["id"], foodie.as_str(), "{blended:?}");
    let of = |items: &[Value], id: &str| items.iter().find(|i| i["pet"]["id"] == id).cloned().unwrap();
    let (f, w) = (of(&blended, &foodie), of(&blended, &walker));
    assert!(f["similarity"].as_f64().unwrap() > w["similarity"].as_f64().unwrap() + 0.2, "{f:?} {w:?}");
    assert!(f["textScore"].as_f64().unwrap() < w["textScore"].as_f64().unwrap(), "its words match less: {f:?} {w:?}");
    assert!(w["matchedTerms"].as_array().unwrap().iter().any(|m| m == "후기를"), "{w:?}");
    let _ = groomed;

    // The owner rewrites the pet's introduction: its PetStar document and vector follow.
    let intro = "공원 외출과 하이킹을 즐기는 모험가";
    let r = t
        .call(Method::PATCH, &format!("/pets/{foodie}"), Some(json!({"introduction": intro})), Some(&ann.access))
        .await;
    ok(&r, 200, "pet edit");
    t.settle().await;
    t.indexed().await;
    let found = get(&t, "/petstars?q=하이킹을", None).await;
    assert_eq!(
        found.body["items"][0]["pet"]["id"],
        foodie.as_str(),
        "the document has the new words: {:?}",
        found.body
    );
    let embedded = t.get("/_local/bedrock/requests").await.body.as_array().unwrap().clone();
    let last = embedded.iter().rev().find(|r| r["operation"] == "InvokeModel").unwrap();
    assert!(last["inputText"].as_str().unwrap().contains("하이킹을"), "{last:?}");
    let after = of(&ranking("").await, &foodie);
    assert!(after["similarity"].as_f64().unwrap() < f["similarity"].as_f64().unwrap(), "{after:?} was {f:?}");
    t.stop().await;
}
