//! The authorization matrix: every HTTP endpoint of the route table, run as each kind of caller —
//! anonymous, a signed-out session, a withdrawn account's old token, a blocked (suspended)
//! account, another user, an administrator, and the owner of what the path names — and checked
//! against the endpoint's rule. The rules are listed here for every route: a route without an
//! entry (or an entry without a route) fails the test.

use std::collections::BTreeMap;
use std::time::Duration;

use integration_tests::{Reply, Session, TestStack};
use local_stack::catalog;
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

/// What `{id}` names in a route's path, made fresh for the route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fixture {
    /// Nothing: the path has no id, or any id will do.
    None,
    /// The owner's user id.
    User,
    Post,
    Comment,
    Pet,
    /// One pet of the owner's, shared by the routes that leave the pet itself as it is (its
    /// Instagram link and settings): an owner has at most 30 pets.
    SharedPet,
    Listing,
    /// A group room the owner is in (with two others).
    Room,
    /// A room about the owner's listing, with another buyer (the owner is its seller).
    SellersRoom,
    /// Someone else's listing the owner was approved to buy.
    ApprovedListing,
    /// An order of the owner's.
    Order,
    /// An order of the owner's, paid.
    PaidOrder,
    /// A refund request to the owner, who sold a listing to a third user.
    RefundToOwner,
    /// A refund request of the owner's, refused by the seller (a third user).
    RefusedRefundOfOwner,
    /// A notification of the owner's.
    Notification,
    /// A push subscription of the owner's (a browser of the local push service).
    PushSubscription,
    /// A care schedule of the owner's pet.
    Schedule,
    /// A prescription of the owner's pet.
    Prescription,
    /// A report by a third user on a post of the owner's.
    Report,
    /// A community post of the owner's.
    CommunityPost,
    /// The owner's comment on a third user's community post.
    CommunityComment,
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// Anyone, signed in or not.
    Open,
    /// Any signed-in user; the fixture is someone else's thing a user may act on.
    Signed(Fixture),
    /// Only the owner of the fixture; anyone else is refused (403) or told it is not there (404).
    Owner(Fixture),
    /// Any signed-in user but the owner of the fixture (one's own listing cannot be wished for).
    Others(Fixture),
    /// Administrators only (the fixture names the user acted on).
    Admin(Fixture),
    /// Approved advertisers (and administrators): every user is refused. Whose ad it is, and
    /// unapproved advertisers, are checked in the campaigns tests.
    AdvertiserOnly,
}

const MATRIX: &[(&str, Rule)] = &[
    ("GET /health", Rule::Open),
    ("POST /auth/signup", Rule::Open),
    ("POST /auth/email/verify", Rule::Open),
    ("POST /auth/email/resend", Rule::Open),
    ("GET /auth/availability", Rule::Open),
    ("POST /auth/login", Rule::Open),
    ("POST /auth/refresh", Rule::Open),
    ("POST /auth/logout", Rule::Open),
    ("POST /auth/password/forgot", Rule::Open),
    ("POST /auth/password/reset", Rule::Open),
    ("POST /auth/password/temporary", Rule::Open),
    ("GET /users/me", Rule::Signed(Fixture::None)),
    ("PATCH /users/me", Rule::Signed(Fixture::None)),
    ("PUT /users/me/password", Rule::Signed(Fixture::None)),
    ("DELETE /users/me", Rule::Signed(Fixture::None)),
    ("GET /users/{id}", Rule::Open),
    ("POST /auth/oauth/{provider}", Rule::Open),
    ("POST /auth/oauth/link", Rule::Open),
    ("POST /auth/oauth/signup", Rule::Open),
    ("POST /uploads", Rule::Signed(Fixture::None)),
    ("GET /species", Rule::Open),
    ("POST /pets", Rule::Signed(Fixture::None)),
    ("GET /pets", Rule::Signed(Fixture::None)),
    ("GET /users/{id}/pets", Rule::Open),
    ("GET /pets/{id}", Rule::Open),
    ("PATCH /pets/{id}", Rule::Owner(Fixture::Pet)),
    ("DELETE /pets/{id}", Rule::Owner(Fixture::Pet)),
    ("PUT /users/me/main-pet", Rule::Signed(Fixture::None)),
    ("POST /posts", Rule::Signed(Fixture::None)),
    ("GET /posts/{id}", Rule::Open),
    ("PATCH /posts/{id}", Rule::Owner(Fixture::Post)),
    ("DELETE /posts/{id}", Rule::Owner(Fixture::Post)),
    ("GET /posts", Rule::Open),
    ("GET /users/{id}/posts", Rule::Open),
    ("GET /feed", Rule::Signed(Fixture::None)),
    ("PUT /posts/{id}/like", Rule::Signed(Fixture::Post)),
    ("DELETE /posts/{id}/like", Rule::Signed(Fixture::Post)),
    ("GET /posts/{id}/likes", Rule::Open),
    ("POST /posts/{id}/comments", Rule::Signed(Fixture::Post)),
    ("GET /posts/{id}/comments", Rule::Open),
    ("PATCH /comments/{id}", Rule::Owner(Fixture::Comment)),
    ("DELETE /comments/{id}", Rule::Owner(Fixture::Comment)),
    ("GET /search/posts", Rule::Open),
    ("GET /search/users", Rule::Open),
    ("GET /hashtags/trending", Rule::Open),
    ("PUT /users/{id}/follow", Rule::Signed(Fixture::User)),
    ("DELETE /users/{id}/follow", Rule::Signed(Fixture::User)),
    ("GET /users/{id}/follow-status", Rule::Signed(Fixture::User)),
    ("GET /users/{id}/followers", Rule::Open),
    ("GET /users/{id}/following", Rule::Open),
    ("PUT /users/{id}/block", Rule::Signed(Fixture::User)),
    ("DELETE /users/{id}/block", Rule::Signed(Fixture::User)),
    ("GET /users/me/blocks", Rule::Signed(Fixture::None)),
    ("POST /reports", Rule::Signed(Fixture::None)),
    ("GET /notifications", Rule::Signed(Fixture::None)),
    ("GET /notifications/unread-count", Rule::Signed(Fixture::None)),
    ("PATCH /notifications/{id}/read", Rule::Owner(Fixture::Notification)),
    ("POST /notifications/read-all", Rule::Signed(Fixture::None)),
    ("DELETE /notifications/{id}", Rule::Owner(Fixture::Notification)),
    ("DELETE /notifications", Rule::Signed(Fixture::None)),
    ("GET /notifications/settings", Rule::Signed(Fixture::None)),
    ("PUT /notifications/settings", Rule::Signed(Fixture::None)),
    ("GET /notifications/push-key", Rule::Open),
    ("GET /market/banks", Rule::Open),
    ("PUT /users/me/payout-account", Rule::Signed(Fixture::None)),
    ("GET /users/me/payout-account", Rule::Signed(Fixture::None)),
    ("POST /notifications/push-subscriptions", Rule::Signed(Fixture::None)),
    ("GET /notifications/push-subscriptions", Rule::Signed(Fixture::None)),
    ("DELETE /notifications/push-subscriptions/{id}", Rule::Owner(Fixture::PushSubscription)),
    ("DELETE /notifications/push-subscriptions", Rule::Signed(Fixture::None)),
    ("POST /realtime/tickets", Rule::Signed(Fixture::None)),
    ("POST /chat/rooms", Rule::Signed(Fixture::None)),
    ("GET /chat/rooms", Rule::Signed(Fixture::None)),
    ("GET /chat/rooms/{id}", Rule::Owner(Fixture::Room)),
    ("GET /chat/rooms/{id}/participants", Rule::Owner(Fixture::Room)),
    ("POST /chat/rooms/{id}/participants", Rule::Owner(Fixture::Room)),
    ("DELETE /chat/rooms/{id}/participants/me", Rule::Owner(Fixture::Room)),
    ("PUT /chat/rooms/{id}/purchase-approval", Rule::Owner(Fixture::SellersRoom)),
    ("POST /chat/rooms/{id}/messages", Rule::Owner(Fixture::Room)),
    ("GET /chat/rooms/{id}/messages", Rule::Owner(Fixture::Room)),
    ("PUT /chat/rooms/{id}/read", Rule::Owner(Fixture::Room)),
    ("POST /market/posts", Rule::Signed(Fixture::None)),
    ("GET /market/posts/{id}", Rule::Open),
    ("PATCH /market/posts/{id}", Rule::Owner(Fixture::Listing)),
    ("DELETE /market/posts/{id}", Rule::Owner(Fixture::Listing)),
    ("GET /market/posts", Rule::Open),
    ("GET /users/{id}/market/posts", Rule::Open),
    ("GET /market/posts/nearby", Rule::Open),
    ("PUT /market/posts/{id}/wish", Rule::Others(Fixture::Listing)),
    ("DELETE /market/posts/{id}/wish", Rule::Signed(Fixture::Listing)),
    ("GET /users/me/wishlist", Rule::Signed(Fixture::None)),
    ("GET /users/me/points", Rule::Signed(Fixture::None)),
    ("POST /users/me/payouts", Rule::Signed(Fixture::None)),
    ("GET /users/me/payouts", Rule::Signed(Fixture::None)),
    ("GET /admin/payouts", Rule::Admin(Fixture::None)),
    ("PUT /admin/payouts/{id}/decision", Rule::Admin(Fixture::None)),
    ("POST /market/posts/{id}/orders", Rule::Owner(Fixture::ApprovedListing)),
    ("GET /market/orders/{id}", Rule::Owner(Fixture::Order)),
    ("POST /payments/confirm", Rule::Signed(Fixture::None)),
    ("POST /payments/webhooks/toss", Rule::Open),
    ("GET /ads/{id}/report", Rule::AdvertiserOnly),
    ("POST /market/orders/{id}/refund-requests", Rule::Owner(Fixture::PaidOrder)),
    ("GET /market/refund-requests/{id}", Rule::Owner(Fixture::RefundToOwner)),
    ("GET /users/me/market/refund-requests", Rule::Signed(Fixture::None)),
    ("PUT /market/refund-requests/{id}/decision", Rule::Owner(Fixture::RefundToOwner)),
    ("POST /market/refund-requests/{id}/escalation", Rule::Owner(Fixture::RefusedRefundOfOwner)),
    ("GET /admin/refund-requests", Rule::Admin(Fixture::None)),
    ("GET /admin/market/posts", Rule::Admin(Fixture::None)),
    ("PUT /admin/refund-requests/{id}/decision", Rule::Admin(Fixture::None)),
    ("GET /users/me/market/purchases", Rule::Signed(Fixture::None)),
    ("GET /users/me/market/sales", Rule::Signed(Fixture::None)),
    ("GET /search/market", Rule::Open),
    ("PUT /pets/{id}/activities/{date}", Rule::Owner(Fixture::Pet)),
    ("GET /pets/{id}/activities/{date}", Rule::Owner(Fixture::Pet)),
    ("GET /pets/{id}/activities", Rule::Owner(Fixture::Pet)),
    ("GET /health/activity-levels", Rule::Open),
    ("POST /pets/{id}/schedules", Rule::Owner(Fixture::Pet)),
    ("GET /pets/{id}/schedules", Rule::Owner(Fixture::Pet)),
    ("GET /schedules/{id}", Rule::Owner(Fixture::Schedule)),
    ("PATCH /schedules/{id}", Rule::Owner(Fixture::Schedule)),
    ("DELETE /schedules/{id}", Rule::Owner(Fixture::Schedule)),
    ("PUT /schedules/{id}/alarm", Rule::Owner(Fixture::Schedule)),
    ("GET /health/schedule-types", Rule::Open),
    ("POST /pets/{id}/prescriptions", Rule::Owner(Fixture::Pet)),
    ("GET /prescriptions/{id}", Rule::Owner(Fixture::Prescription)),
    ("GET /pets/{id}/prescriptions", Rule::Owner(Fixture::Pet)),
    ("PUT /admin/users/{id}/block", Rule::Admin(Fixture::User)),
    ("PUT /admin/users/{id}/role", Rule::Admin(Fixture::User)),
    ("PATCH /admin/users/{id}", Rule::Admin(Fixture::User)),
    ("POST /pets/{id}/tips", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/tips", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/activity-reports", Rule::Owner(Fixture::SharedPet)),
    ("DELETE /admin/users/{id}/block", Rule::Admin(Fixture::User)),
    ("GET /admin/audit", Rule::Admin(Fixture::None)),
    ("GET /admin/users", Rule::Admin(Fixture::None)),
    ("GET /admin/users/{id}", Rule::Admin(Fixture::User)),
    ("GET /admin/reports", Rule::Admin(Fixture::None)),
    ("GET /admin/reports/{id}", Rule::Admin(Fixture::Report)),
    ("POST /admin/reports/{id}/decision", Rule::Admin(Fixture::Report)),
    ("DELETE /admin/posts/{id}", Rule::Admin(Fixture::Post)),
    ("DELETE /admin/comments/{id}", Rule::Admin(Fixture::Comment)),
    ("DELETE /admin/market/posts/{id}", Rule::Admin(Fixture::Listing)),
    ("GET /admin/stats/signups", Rule::Admin(Fixture::None)),
    ("GET /admin/stats/overview", Rule::Admin(Fixture::None)),
    ("POST /admin/notices", Rule::Admin(Fixture::None)),
    ("GET /admin/notices", Rule::Admin(Fixture::None)),
    ("GET /admin/notices/{id}", Rule::Admin(Fixture::None)),
    ("POST /advertisers/signup", Rule::Open),
    ("GET /advertisers/me", Rule::AdvertiserOnly),
    ("PATCH /advertisers/me", Rule::AdvertiserOnly),
    ("POST /advertisers/me/documents", Rule::AdvertiserOnly),
    ("GET /admin/advertisers", Rule::Admin(Fixture::None)),
    ("PUT /admin/advertisers/{id}/decision", Rule::Admin(Fixture::None)),
    ("POST /pets/{id}/petstar-application", Rule::Owner(Fixture::Pet)),
    ("GET /admin/petstar-applications", Rule::Admin(Fixture::None)),
    ("PUT /admin/petstar-applications/{petId}/decision", Rule::Admin(Fixture::None)),
    ("GET /petstars", Rule::Open),
    ("GET /petstars/{petId}", Rule::Open),
    ("PUT /pets/{id}/portfolio", Rule::Owner(Fixture::Pet)),
    ("GET /pets/{id}/portfolio", Rule::Open),
    ("POST /pets/{id}/histories", Rule::Owner(Fixture::Pet)),
    ("GET /pets/{id}/histories", Rule::Open),
    ("GET /pets/{id}/histories/{historyId}", Rule::Open),
    ("PATCH /pets/{id}/histories/{historyId}", Rule::Owner(Fixture::Pet)),
    ("DELETE /pets/{id}/histories/{historyId}", Rule::Owner(Fixture::Pet)),
    ("POST /ads", Rule::AdvertiserOnly),
    ("PATCH /ads/{id}", Rule::AdvertiserOnly),
    ("DELETE /ads/{id}", Rule::AdvertiserOnly),
    ("GET /ads/{id}", Rule::Open),
    ("GET /ads", Rule::Open),
    ("GET /advertisers/me/ads", Rule::AdvertiserOnly),
    ("GET /admin/ads", Rule::Admin(Fixture::None)),
    ("PUT /admin/ads/{id}/decision", Rule::Admin(Fixture::None)),
    ("POST /ads/{id}/applications", Rule::Signed(Fixture::None)),
    ("PATCH /applications/{id}", Rule::Owner(Fixture::None)),
    ("DELETE /applications/{id}", Rule::Owner(Fixture::None)),
    ("GET /users/me/applications", Rule::Signed(Fixture::None)),
    ("GET /pets/{id}/applications", Rule::Owner(Fixture::Pet)),
    ("GET /ads/{id}/applications", Rule::AdvertiserOnly),
    ("PUT /applications/{id}/selection", Rule::AdvertiserOnly),
    ("PUT /applications/{id}/review", Rule::Owner(Fixture::None)),
    ("PUT /reviews/{id}/decision", Rule::AdvertiserOnly),
    ("GET /ads/{id}/recommended-petstars", Rule::AdvertiserOnly),
    ("POST /community/posts", Rule::Signed(Fixture::None)),
    ("GET /community/posts", Rule::Open),
    ("GET /users/me/community/posts", Rule::Signed(Fixture::None)),
    ("GET /community/posts/{id}", Rule::Open),
    ("PATCH /community/posts/{id}", Rule::Owner(Fixture::CommunityPost)),
    ("DELETE /community/posts/{id}", Rule::Owner(Fixture::CommunityPost)),
    ("POST /community/posts/{id}/comments", Rule::Signed(Fixture::CommunityPost)),
    ("GET /community/posts/{id}/comments", Rule::Open),
    ("PUT /community/posts/{id}/like", Rule::Signed(Fixture::CommunityPost)),
    ("DELETE /community/posts/{id}/like", Rule::Signed(Fixture::CommunityPost)),
    ("PATCH /community/comments/{id}", Rule::Owner(Fixture::CommunityComment)),
    ("DELETE /community/comments/{id}", Rule::Owner(Fixture::CommunityComment)),
    ("GET /search/community", Rule::Open),
    ("DELETE /admin/community/posts/{id}", Rule::Admin(Fixture::CommunityPost)),
    ("DELETE /admin/ads/{id}", Rule::Admin(Fixture::None)),
    ("DELETE /admin/community/comments/{id}", Rule::Admin(Fixture::CommunityComment)),
    ("POST /pets/{id}/instagram/connect", Rule::Owner(Fixture::SharedPet)),
    ("DELETE /pets/{id}/instagram", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram", Rule::Owner(Fixture::SharedPet)),
    ("PUT /pets/{id}/instagram/settings", Rule::Owner(Fixture::SharedPet)),
    ("POST /pets/{id}/instagram/sync", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/banned-words", Rule::Owner(Fixture::SharedPet)),
    ("POST /pets/{id}/instagram/banned-words", Rule::Owner(Fixture::SharedPet)),
    ("DELETE /pets/{id}/instagram/banned-words", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/media", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/media/top", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/analysis/media", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/analysis/insights", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/followers/history", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/comments", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/comments/stats", Rule::Owner(Fixture::SharedPet)),
    ("DELETE /pets/{id}/instagram/comments/{commentId}", Rule::Owner(Fixture::SharedPet)),
    ("GET /pets/{id}/instagram/deletions", Rule::Owner(Fixture::SharedPet)),
    ("POST /instagram/callback", Rule::Signed(Fixture::None)),
];

const SELF_ONLY: &[&str] = &["DELETE /users/me", "PUT /users/me/password"];

const SOME_ID: &str = "01JD3K4Q5R6S7T8V9W0XYZABCD";

struct Cast {
    owner: Session,
    other: Session,
    third: Session,
    fourth: Session,
    admin: Session,
    blocked: Session,
    signed_out: Session,
    withdrawn: Session,
    shared_pet: tokio::sync::OnceCell<String>,
}

async fn created(r: Reply, what: &str) -> String {
    assert!((200..=202).contains(&r.status), "{what}: {:?}", r.body);
    r.body["id"].as_str().or(r.body["orderId"].as_str()).unwrap_or_else(|| panic!("{what}: {:?}", r.body)).to_string()
}

async fn listing(t: &TestStack, seller: &Session) -> String {
    let key = t.png(seller, "market").await;
    let body = json!({"title": "장난감", "description": "새것", "price": 1000, "category": "TOY", "imageKeys": [key],
                      "location": {"lat": 37.5, "lng": 127.0, "address": "서울"}});
    created(t.post("/market/posts", body, Some(&seller.access)).await, "listing").await
}

async fn approved_room(t: &TestStack, seller: &Session, buyer: &Session, listing: &str) -> String {
    let room =
        created(t.post("/chat/rooms", json!({"marketPostId": listing}), Some(&buyer.access)).await, "room").await;
    let path = format!("/chat/rooms/{room}/purchase-approval");
    assert_eq!(t.call(Method::PUT, &path, Some(json!({"approved": true})), Some(&seller.access)).await.status, 200);
    room
}

/// An order of `buyer`'s for a listing of `seller`'s, paid in the Toss sandbox.
async fn paid_order(t: &TestStack, seller: &Session, buyer: &Session) -> String {
    let l = listing(t, seller).await;
    approved_room(t, seller, buyer, &l).await;
    let order =
        created(t.post(&format!("/market/posts/{l}/orders"), json!({}), Some(&buyer.access)).await, "order").await;
    let key = t.post("/_local/toss/checkout", json!({"orderId": order, "amount": 1000}), None).await.body["paymentKey"]
        .as_str()
        .unwrap()
        .to_string();
    let paid = json!({"paymentKey": key, "orderId": order, "amount": 1000});
    assert_eq!(t.post("/payments/confirm", paid, Some(&buyer.access)).await.status, 200);
    order
}

async fn refund_request(t: &TestStack, buyer: &Session, order: &str) -> String {
    let body = json!({"reason": "파손되어 왔어요"});
    created(t.post(&format!("/market/orders/{order}/refund-requests"), body, Some(&buyer.access)).await, "refund").await
}

async fn make(t: &TestStack, c: &Cast, f: Fixture) -> String {
    let (o, third) = (&c.owner, &c.third);
    match f {
        Fixture::None => SOME_ID.to_string(),
        Fixture::User => o.user_id.clone(),
        Fixture::Post => {
            created(t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&o.access)).await, "post").await
        }
        Fixture::Comment => {
            let p = created(
                t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&third.access)).await,
                "post",
            )
            .await;
            created(
                t.post(&format!("/posts/{p}/comments"), json!({"content": "귀여워요"}), Some(&o.access)).await,
                "comment",
            )
            .await
        }
        Fixture::SharedPet => c.shared_pet.get_or_init(|| Box::pin(make(t, c, Fixture::Pet))).await.clone(),
        Fixture::Pet => {
            // Names are unique per owner.
            static PETS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            let n = PETS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let body = json!({"name": format!("콩이{n}"), "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14"});
            created(t.post("/pets", body, Some(&o.access)).await, "pet").await
        }
        Fixture::Listing => listing(t, o).await,
        Fixture::CommunityPost => {
            let body = json!({"type": "QUESTION", "title": "산책", "content": "몇 번?"});
            created(t.post("/community/posts", body, Some(&o.access)).await, "community post").await
        }
        Fixture::CommunityComment => {
            let body = json!({"type": "QUESTION", "title": "산책", "content": "몇 번?"});
            let p = created(t.post("/community/posts", body, Some(&third.access)).await, "community post").await;
            let path = format!("/community/posts/{p}/comments");
            created(t.post(&path, json!({"content": "두 번"}), Some(&o.access)).await, "community comment").await
        }
        Fixture::Report => {
            let post = Box::pin(make(t, c, Fixture::Post)).await;
            let body = json!({"targetType": "POST", "targetId": post, "category": "SPAM", "detail": "광고"});
            created(t.post("/reports", body, Some(&third.access)).await, "report").await
        }
        Fixture::Prescription => {
            let pet = Box::pin(make(t, c, Fixture::Pet)).await;
            let key =
                t.upload_png(o, "prescription", local_stack::clova_sandbox::fixture_image("blurred").to_vec()).await;
            let r = t.post(&format!("/pets/{pet}/prescriptions"), json!({"imageKey": key}), Some(&o.access)).await;
            created(r, "prescription").await
        }
        Fixture::Schedule => {
            let pet = Box::pin(make(t, c, Fixture::Pet)).await;
            let body = json!({"title": "산책", "type": "CARE", "startDate": "2031-01-01", "recurrence": "WEEKLY", "times": ["08:00"], "alarmEnabled": true});
            created(t.post(&format!("/pets/{pet}/schedules"), body, Some(&o.access)).await, "schedule").await
        }
        Fixture::Room => {
            let body = json!({"participantIds": [third.user_id, c.fourth.user_id], "name": "산책 모임"});
            created(t.post("/chat/rooms", body, Some(&o.access)).await, "room").await
        }
        Fixture::SellersRoom => {
            let l = listing(t, o).await;
            approved_room(t, o, third, &l).await
        }
        Fixture::ApprovedListing => {
            let l = listing(t, third).await;
            approved_room(t, third, o, &l).await;
            l
        }
        Fixture::Order => {
            let l = listing(t, third).await;
            approved_room(t, third, o, &l).await;
            created(t.post(&format!("/market/posts/{l}/orders"), json!({}), Some(&o.access)).await, "order").await
        }
        Fixture::PaidOrder => paid_order(t, third, o).await,
        Fixture::RefundToOwner => {
            let order = paid_order(t, o, third).await;
            refund_request(t, third, &order).await
        }
        Fixture::RefusedRefundOfOwner => {
            let order = paid_order(t, third, o).await;
            let id = refund_request(t, o, &order).await;
            let refuse = json!({"decision": "REFUSE", "reason": "정상 제품이었어요"});
            let path = format!("/market/refund-requests/{id}/decision");
            assert_eq!(t.call(Method::PUT, &path, Some(refuse), Some(&third.access)).await.status, 200);
            id
        }
        Fixture::PushSubscription => {
            let browser = t.post("/_local/push/subscriptions", json!({}), None).await.body;
            created(t.post("/notifications/push-subscriptions", browser, Some(&o.access)).await, "subscription").await
        }
        Fixture::Notification => {
            let before = inbox(t, o).await.len();
            let p =
                created(t.post("/posts", json!({"title": "산책", "content": "한강"}), Some(&o.access)).await, "post")
                    .await;
            created(
                t.post(&format!("/posts/{p}/comments"), json!({"content": "좋아요"}), Some(&third.access)).await,
                "c",
            )
            .await;
            t.eventually(Duration::from_secs(10), "a notification", || async {
                let now = inbox(t, o).await;
                (now.len() > before).then(|| now[0]["id"].as_str().unwrap().to_string())
            })
            .await
        }
    }
}

async fn inbox(t: &TestStack, who: &Session) -> Vec<Value> {
    t.call(Method::GET, "/notifications", None, Some(&who.access)).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    SignedOut,
    Withdrawn,
    Blocked,
    Other,
    Admin,
    Owner,
}

/// What a caller must get: refused with this status, refused with one of these, or let through
/// (then any answer but 401 and 403 — a 400 for the empty body is fine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Refused(u16),
    NotTheirs,
    Through,
    /// An open route: never asked to sign in (its own 401s, like a wrong password, are answers).
    Open,
    /// Signed in and past the route's access rule: any answer but 401 and 5xx.
    Checked,
}

fn expect(rule: Rule, caller: Caller, write: bool) -> Expect {
    if rule == Rule::AdvertiserOnly {
        return match caller {
            Caller::Anonymous | Caller::SignedOut | Caller::Withdrawn => Expect::Refused(401),
            // An administrator is let through to the route, which may still find it is not theirs.
            Caller::Admin => Expect::Checked,
            _ => Expect::Refused(403),
        };
    }
    if let Rule::Admin(_) = rule {
        return match caller {
            Caller::Anonymous | Caller::SignedOut | Caller::Withdrawn => Expect::Refused(401),
            Caller::Admin => Expect::Through,
            _ => Expect::Refused(403),
        };
    }
    match caller {
        Caller::Anonymous => match rule {
            Rule::Open => Expect::Open,
            _ => Expect::Refused(401),
        },
        // A token of a session that ended, or of an account that is gone, is refused everywhere.
        Caller::SignedOut | Caller::Withdrawn => Expect::Refused(401),
        Caller::Blocked if write => Expect::Refused(403),
        Caller::Blocked | Caller::Other | Caller::Admin => match rule {
            Rule::Owner(_) => Expect::NotTheirs,
            _ => Expect::Through,
        },
        Caller::Owner => match rule {
            Rule::Others(_) => Expect::NotTheirs,
            _ => Expect::Through,
        },
    }
}

#[tokio::test]
async fn every_endpoint_answers_every_kind_of_caller_as_its_rule_says() {
    let t = TestStack::start().await;
    let routes: BTreeMap<String, &shared::routes::Route> =
        catalog::routes().into_iter().map(|r| (r.route_key(), r)).collect();
    let listed: BTreeMap<String, Rule> = MATRIX.iter().map(|(k, r)| (k.to_string(), *r)).collect();
    let missing: Vec<&String> = routes.keys().filter(|k| !listed.contains_key(*k)).collect();
    let stale: Vec<&String> = listed.keys().filter(|k| !routes.contains_key(*k)).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "routes without a rule: {missing:?}; rules without a route: {stale:?}"
    );

    let admin = t.user("admin@example.com", "admin", PW).await;
    identity::admin::promote_to_admin(&t.stack.ctx, "admin@example.com").await.unwrap();
    let cast = Cast {
        owner: t.user("owner@example.com", "owner", PW).await,
        other: t.user("other@example.com", "other", PW).await,
        third: t.user("third@example.com", "third", PW).await,
        fourth: t.user("fourth@example.com", "fourth", PW).await,
        admin: Session {
            access: t.login("admin@example.com", PW).await.body["accessToken"].as_str().unwrap().into(),
            ..admin
        },
        blocked: t.user("blocked@example.com", "blocked", PW).await,
        signed_out: t.user("out@example.com", "signedout", PW).await,
        withdrawn: t.user("gone@example.com", "gone", PW).await,
        shared_pet: tokio::sync::OnceCell::new(),
    };
    let until = chrono::Utc::now() + chrono::Duration::days(1);
    t.stack
        .ctx
        .table
        .write(
            shared::table::Write::update(shared::account::user_key(&cast.blocked.user_id), "SET blockedUntil = :u")
                .value(":u", shared::table::s(until.to_rfc3339())),
        )
        .await
        .unwrap();
    assert_eq!(t.post("/auth/logout", json!({"refreshToken": cast.signed_out.refresh}), None).await.status, 204);
    let gone = t.call(Method::DELETE, "/users/me", Some(json!({"password": PW})), Some(&cast.withdrawn.access)).await;
    assert!(gone.status / 100 == 2, "{:?}", gone.body);

    let mut checked = 0;
    let mut wrong = Vec::new();
    for (key, route) in &routes {
        let rule = listed[key];
        // Public routes need no owner's thing; the rest get a fresh one each.
        let fixture = match rule {
            Rule::Open | Rule::AdvertiserOnly => Fixture::None,
            Rule::Signed(f) | Rule::Owner(f) | Rule::Others(f) | Rule::Admin(f) => f,
        };
        let id = make(&t, &cast, fixture).await;
        let path = route
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { id.as_str() } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let method = Method::from_bytes(route.method.as_str().as_bytes()).unwrap();
        let write = route.method.is_write();
        let callers = [
            (Caller::Anonymous, None),
            (Caller::SignedOut, Some(&cast.signed_out)),
            (Caller::Withdrawn, Some(&cast.withdrawn)),
            (Caller::Blocked, Some(&cast.blocked)),
            (Caller::Other, Some(&cast.other)),
            (Caller::Admin, Some(&cast.admin)),
            // Last: the owner may delete the thing.
            (Caller::Owner, Some(&cast.owner)),
        ];
        for (caller, who) in callers {
            // Sign-in endpoints answer a token-bearing caller like anyone else; only their own
            // rules (body, codes) apply, and the owner's session must survive the run.
            if rule == Rule::Open && caller != Caller::Anonymous {
                continue;
            }
            // Withdrawing and changing one's password act on the caller's own account whoever
            // calls: only the refusals are checked (and the owner's session survives the run).
            if SELF_ONLY.contains(&key.as_str()) && matches!(caller, Caller::Other | Caller::Admin | Caller::Owner) {
                continue;
            }
            // The documented example, so that what is checked is the rule, not the body.
            let body = write.then(|| {
                route.doc.example.and_then(|e| serde_json::from_str::<Value>(e).ok()).unwrap_or_else(|| json!({}))
            });
            let r = t.call(method.clone(), &path, body, who.map(|w| w.access.as_str())).await;
            let ok = match expect(rule, caller, write) {
                Expect::Refused(s) => r.status == s,
                Expect::NotTheirs => r.status == 403 || r.status == 404,
                Expect::Through => r.status != 401 && r.status != 403 && r.status < 500,
                Expect::Open => r.body["code"] != "AUTHENTICATION_REQUIRED" && r.status < 500,
                Expect::Checked => r.status != 401 && r.status < 500,
            };
            if !ok {
                wrong.push(format!("{key} as {caller:?}: {} {}", r.status, r.body["code"]));
            }
            checked += 1;
        }
        // A block stands between the two afterwards: lift it, so later routes meet no block.
        if key == "PUT /users/{id}/block" {
            for who in [&cast.blocked, &cast.other, &cast.admin] {
                t.call(Method::DELETE, &path, None, Some(&who.access)).await;
            }
        }
        // The administrator blocked the owner: lifted, for the same reason.
        if key == "PUT /admin/users/{id}/block" {
            let lifted = t.call(Method::DELETE, &path, None, Some(&cast.admin.access)).await;
            assert_eq!(lifted.status, 200, "{:?}", lifted.body);
        }
        // The documented example made the owner an administrator: a user again.
        if key == "PUT /admin/users/{id}/role" {
            let back = t.call(Method::PUT, &path, Some(json!({"role": "USER"})), Some(&cast.admin.access)).await;
            assert_eq!(back.status, 200, "{:?}", back.body);
        }
        // The documented decision blocks the reported owner for a week: lifted likewise.
        if key == "POST /admin/reports/{id}/decision" {
            let owner_block = format!("/admin/users/{}/block", cast.owner.user_id);
            let lifted = t.call(Method::DELETE, &owner_block, None, Some(&cast.admin.access)).await;
            assert_eq!(lifted.status, 200, "{:?}", lifted.body);
        }
    }
    println!("authorization matrix: {} endpoints, {checked} calls checked", routes.len());
    assert!(wrong.is_empty(), "{} answers break their rule:\n{}", wrong.len(), wrong.join("\n"));
    t.stop().await;
}
