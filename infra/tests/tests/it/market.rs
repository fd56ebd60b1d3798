//! The market over HTTP: listings and who may change them, nearby search at known distances,
//! exact wish counts under concurrency, blocks hiding listings.

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";
const CITY_HALL: (f64, f64) = (37.5665, 126.9780);

async fn picture(t: &TestStack, who: &Session) -> String {
    t.png(who, "market").await
}

/// A point `meters` from `from` towards `bearing_deg`.
fn offset(from: (f64, f64), meters: f64, bearing_deg: f64) -> (f64, f64) {
    let b = bearing_deg.to_radians();
    let lat = from.0 + meters * b.cos() / 111_320.0;
    let lng = from.1 + meters * b.sin() / (111_320.0 * from.0.to_radians().cos());
    (lat, lng)
}

async fn list_at(t: &TestStack, who: &Session, key: &str, title: &str, at: (f64, f64), category: &str) -> Value {
    let r = t
        .post(
            "/market/posts",
            json!({"title": title, "description": "상태 좋아요", "price": 5000, "category": category, "imageKeys": [key],
                   "location": {"lat": at.0, "lng": at.1, "address": "서울"}}),
            Some(&who.access),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn a_listing_is_the_sellers_to_change_while_for_sale() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let key = picture(&t, &ann).await;
    // Bad input: each a 400 naming its field.
    for (field, bad) in [
        ("price", json!(-1)),
        ("price", json!(100_000_001)),
        ("price", json!(1.5)),
        ("title", json!("")),
        ("imageKeys", json!([])),
        ("location", json!({"lat": 91, "lng": 0, "address": "x"})),
        ("category", json!("CAR")),
    ] {
        let mut body = json!({"title": "공", "description": "새것", "price": 1000, "category": "TOY", "imageKeys": [key],
                              "location": {"lat": 37.5, "lng": 127.0, "address": "서울"}});
        body[field] = bad.clone();
        let r = t.post("/market/posts", body, Some(&ann.access)).await;
        assert_eq!(r.status, 400, "{field} = {bad}: {:?}", r.body);
    }
    let other = picture(&t, &bob).await;
    let r = t
        .post(
            "/market/posts",
            json!({"title": "공", "description": "새것", "price": 1000, "category": "TOY", "imageKeys": [other],
                                      "location": {"lat": 37.5, "lng": 127.0, "address": "서울"}}),
            Some(&ann.access),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (400, Some("INVALID_MEDIA")), "only one's own pictures");

    let listing = list_at(&t, &ann, &key, "강아지 공", CITY_HALL, "TOY").await;
    let id = listing["id"].as_str().unwrap().to_string();
    assert_eq!(
        (listing["status"].as_str(), listing["seller"]["id"].as_str()),
        (Some("SALE"), Some(ann.user_id.as_str()))
    );
    assert!(listing["imageUrls"][0].as_str().unwrap().starts_with("http"));
    let path = format!("/market/posts/{id}");
    assert_eq!(t.call(Method::PATCH, &path, Some(json!({"price": 1})), Some(&bob.access)).await.status, 403);
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&bob.access)).await.status, 403);
    let r = t.call(Method::PATCH, &path, Some(json!({"price": 4000, "category": "FEED"})), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["price"].as_i64()), (200, Some(4000)), "{:?}", r.body);
    // Lists: newest first, by category (indexes, a moment behind), by seller (at once).
    t.indexed().await;
    let all = t.get("/market/posts").await;
    assert_eq!(all.body["items"][0]["id"], id.as_str());
    let feed = t.get("/market/posts?category=FEED").await;
    assert_eq!(feed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(t.get("/market/posts?category=TOY").await.body["items"].as_array().unwrap().len(), 0, "moved category");
    assert_eq!(t.get(&format!("/users/{}/market/posts", ann.user_id)).await.body["items"][0]["id"], id.as_str());
    // Deleted: gone from every list and from its place.
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&ann.access)).await.status, 204);
    assert_eq!(t.get(&path).await.status, 404);
    assert!(t.get(&format!("/users/{}/market/posts", ann.user_id)).await.body["items"].as_array().unwrap().is_empty());
    t.indexed().await;
    assert!(t.get("/market/posts").await.body["items"].as_array().unwrap().is_empty());
    let near = t.get(&format!("/market/posts/nearby?lat={}&lng={}&radiusKm=1", CITY_HALL.0, CITY_HALL.1)).await;
    assert!(near.body["items"].as_array().unwrap().is_empty(), "{:?}", near.body);
    t.stop().await;
}

#[tokio::test]
async fn nearby_finds_exactly_what_is_inside_the_radius_nearest_first() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let key = picture(&t, &ann).await;
    // Known distances from City Hall, in several directions (crossing cell edges on the way).
    let placed = [
        (300.0, 10.0, "TOY"),
        (950.0, 200.0, "FEED"),
        (600.0, 95.0, "TOY"),
        (1_050.0, 45.0, "TOY"),
        (5_000.0, 300.0, "TOY"),
        (19_000.0, 135.0, "CLOTH"),
    ];
    let mut ids = Vec::new();
    for (i, (m, bearing, category)) in placed.iter().enumerate() {
        let l = list_at(&t, &ann, &key, &format!("물건 {i}"), offset(CITY_HALL, *m, *bearing), category).await;
        ids.push(l["id"].as_str().unwrap().to_string());
    }
    let near = |radius: f64, extra: &str| {
        let t = &t;
        let url = format!("/market/posts/nearby?lat={}&lng={}&radiusKm={radius}{extra}", CITY_HALL.0, CITY_HALL.1);
        async move {
            t.settle().await;
            let before = t.stack.ctx.dynamodb_calls.get();
            let r = t.get(&url).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            let calls = t.stack.ctx.dynamodb_calls.get() - before;
            (r.body["items"].as_array().unwrap().clone(), calls, r.body["nextCursor"].clone())
        }
    };
    let (items, calls, _) = near(1.0, "").await;
    let got: Vec<&str> = items.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(got, vec![ids[0].as_str(), ids[2].as_str(), ids[1].as_str()], "inside 1 km, nearest first");
    for (l, want) in items.iter().zip([300.0, 600.0, 950.0]) {
        let d = l["distanceM"].as_f64().unwrap();
        assert!((d - want).abs() < want * 0.01, "{d} for {want}");
    }
    println!("nearby within 1 km: {calls} table calls");
    assert!(calls <= 20, "a bounded number of cell queries, no Scan: {calls}");
    let (items, _, _) = near(1.0, "&category=TOY").await;
    assert_eq!(items.len(), 2);
    let (items, calls, _) = near(20.0, "").await;
    assert_eq!(items.len(), 6, "all within 20 km");
    assert_eq!(items[5]["id"], ids[5].as_str());
    println!("nearby within 20 km: {calls} table calls");
    // Pages walk the same order.
    let (first, _, cursor) = near(20.0, "&limit=4").await;
    assert_eq!(first.len(), 4);
    let (rest, _, _) = near(20.0, &format!("&limit=4&cursor={}", cursor.as_str().unwrap())).await;
    let paged: Vec<&str> = first.iter().chain(rest.iter()).map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(
        paged,
        vec![ids[0].as_str(), ids[2].as_str(), ids[1].as_str(), ids[3].as_str(), ids[4].as_str(), ids[5].as_str()]
    );
    // Out of range questions are 400s.
    for bad in ["lat=91&lng=0", "lat=37&lng=127&radiusKm=0.1", "lat=37&lng=127&radiusKm=21", "lng=127", "lat=x&lng=127"]
    {
        assert_eq!(t.get(&format!("/market/posts/nearby?{bad}")).await.status, 400, "{bad}");
    }
    t.stop().await;
}

#[tokio::test]
async fn wish_counts_are_exact_under_concurrency_and_blocks_hide_listings() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let key = picture(&t, &ann).await;
    let listing = list_at(&t, &ann, &key, "고양이 캣타워", CITY_HALL, "OTHER").await;
    let id = listing["id"].as_str().unwrap().to_string();
    let wish = format!("/market/posts/{id}/wish");
    assert_eq!(t.call(Method::PUT, &wish, None, Some(&ann.access)).await.status, 403, "not one's own");
    let mut buyers = Vec::new();
    for i in 0..10 {
        buyers.push(t.user(&format!("b{i}@example.com"), &format!("buyer{i}"), PW).await);
    }
    // Each buyer wishes twice at once: ten wishes.
    let calls = buyers.iter().flat_map(|b| [b, b]).map(|b| t.call(Method::PUT, &wish, None, Some(&b.access)));
    for r in futures::future::join_all(calls).await {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    t.settle().await; // the count follows from the stream
    assert_eq!(t.get(&format!("/market/posts/{id}")).await.body["wishCount"], 10);
    let calls = buyers[..4].iter().flat_map(|b| [b, b]).map(|b| t.call(Method::DELETE, &wish, None, Some(&b.access)));
    futures::future::join_all(calls).await;
    t.settle().await;
    let seen = t.call(Method::GET, &format!("/market/posts/{id}"), None, Some(&buyers[5].access)).await;
    assert_eq!((seen.body["wishCount"].as_i64(), seen.body["wished"].as_bool()), (Some(6), Some(true)));
    let mine = t.call(Method::GET, "/users/me/wishlist", None, Some(&buyers[5].access)).await;
    assert_eq!(mine.body["items"][0]["id"], id.as_str());
    let none = t.call(Method::GET, "/users/me/wishlist", None, Some(&buyers[0].access)).await;
    assert!(none.body["items"].as_array().unwrap().is_empty());
    // A block hides the listing both ways.
    let b = &buyers[6];
    assert_eq!(t.call(Method::PUT, &format!("/users/{}/block", b.user_id), None, Some(&ann.access)).await.status, 200);
    assert_eq!(t.call(Method::GET, &format!("/market/posts/{id}"), None, Some(&b.access)).await.status, 404);
    let list = t.call(Method::GET, "/market/posts", None, Some(&b.access)).await;
    assert!(list.body["items"].as_array().unwrap().is_empty());
    let near = t
        .call(
            Method::GET,
            &format!("/market/posts/nearby?lat={}&lng={}", CITY_HALL.0, CITY_HALL.1),
            None,
            Some(&b.access),
        )
        .await;
    assert!(near.body["items"].as_array().unwrap().is_empty());
    assert!(
        t.call(Method::GET, "/users/me/wishlist", None, Some(&b.access)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    t.stop().await;
}

#[tokio::test]
async fn a_buyer_talks_to_the_seller_in_one_room_per_listing_and_the_seller_approves() {
    use integration_tests::ws::{connect, frame_of};
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let key = picture(&t, &ann).await;
    let listing = list_at(&t, &ann, &key, "고양이 캣타워 판매", CITY_HALL, "OTHER").await;
    let id = listing["id"].as_str().unwrap().to_string();

    let own = t.post("/chat/rooms", json!({"marketPostId": id}), Some(&ann.access)).await;
    assert_eq!((own.status, own.body["code"].as_str()), (403, Some("OWN_LISTING")));
    let none = t.post("/chat/rooms", json!({"marketPostId": "01JD3K4Q5R6S7T8V9W0XYZABCD"}), Some(&bob.access)).await;
    assert_eq!(none.status, 404);
    let first = t.post("/chat/rooms", json!({"marketPostId": id}), Some(&bob.access)).await;
    assert_eq!(first.status, 201, "{:?}", first.body);
    let room = first.body["id"].as_str().unwrap().to_string();
    let post = &first.body["marketPost"];
    assert_eq!(
        (post["id"].as_str(), post["price"].as_i64(), post["status"].as_str()),
        (Some(id.as_str()), Some(5000), Some("SALE"))
    );
    assert!(post["thumbnailUrl"].as_str().is_some_and(|u| u.starts_with("http")));
    let again = t.post("/chat/rooms", json!({"marketPostId": id}), Some(&bob.access)).await;
    assert_eq!((again.status, again.body["id"].as_str()), (200, Some(room.as_str())), "one room per buyer and listing");
    let other = t.post("/chat/rooms", json!({"marketPostId": id}), Some(&cat.access)).await;
    assert_eq!(other.status, 201);
    assert_ne!(other.body["id"], room.as_str(), "another buyer, another room");
    assert_eq!(t.get(&format!("/market/posts/{id}")).await.body["chatRoomCount"], 2);
    // The direct room of the two, outside any listing, is another room.
    let direct = t.post("/chat/rooms", json!({"participantIds": [ann.user_id]}), Some(&bob.access)).await;
    assert_ne!(direct.body["id"], room.as_str());
    // The seller's room list shows what the room is about.
    let anns = t.call(Method::GET, "/chat/rooms", None, Some(&ann.access)).await;
    let entry = anns.body["items"].as_array().unwrap().iter().find(|r| r["id"] == room.as_str()).unwrap().clone();
    assert_eq!(entry["marketPost"]["title"], "고양이 캣타워 판매");

    // Approval: the seller only; both members hear of it.
    let mut bob_s = connect(&t, &bob).await;
    let approval = format!("/chat/rooms/{room}/purchase-approval");
    let r = t.call(Method::PUT, &approval, Some(json!({"approved": true})), Some(&bob.access)).await;
    assert_eq!((r.status, r.body["code"].as_str()), (403, Some("NOT_THE_SELLER")));
    let r = t.call(Method::PUT, &approval, Some(json!({"approved": true})), Some(&cat.access)).await;
    assert_eq!(r.status, 403, "not a member");
    let r = t.call(Method::PUT, &approval, Some(json!({"approved": true})), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["purchaseApproved"].as_bool()), (200, Some(true)), "{:?}", r.body);
    let f = frame_of(&mut bob_s, "market.approval").await;
    assert_eq!((f["roomId"].as_str(), f["approved"].as_bool()), (Some(room.as_str()), Some(true)));
    let r = t.call(Method::PUT, &approval, Some(json!({"approved": false})), Some(&ann.access)).await;
    assert_eq!(r.body["purchaseApproved"], false);
    assert_eq!(frame_of(&mut bob_s, "market.approval").await["approved"], false);
    let d = direct.body["id"].as_str().unwrap();
    let r = t
        .call(
            Method::PUT,
            &format!("/chat/rooms/{d}/purchase-approval"),
            Some(json!({"approved": true})),
            Some(&ann.access),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (409, Some("NOT_ABOUT_A_LISTING")));
    t.stop().await;
}

#[tokio::test]
async fn racing_payout_requests_never_overdraw_and_an_administrator_pays_or_rejects_each_once() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let root = t.admin("root@example.com", "root", PW).await;
    let ask = |amount: Value| t.post("/users/me/payouts", json!({"amount": amount}), Some(&ann.access));
    let none = ask(json!(1)).await;
    assert_eq!((none.status, none.body["code"].as_str()), (404, Some("PAYOUT_ACCOUNT_NOT_FOUND")), "an account first");
    let account = json!({"bankCode": "090", "accountNumber": "3333-01-2345678", "holderName": "김앤"});
    assert_eq!(t.call(Method::PUT, "/users/me/payout-account", Some(account), Some(&ann.access)).await.status, 200);
    let broke = ask(json!(1)).await;
    assert_eq!((broke.status, broke.body["code"].as_str()), (409, Some("INSUFFICIENT_POINTS")));
    for bad in [json!(0), json!(-5), json!(1.5)] {
        assert_eq!(ask(bad).await.status, 400);
    }
    // A sale credits 1,000 points (as the payment flow does).
    let earn = market::points::earn(&t.stack.ctx, &ann.user_id, 1000, "판매: 고양이 캣타워").unwrap();
    t.stack.ctx.table.transact(earn).await.unwrap();

    // Twenty at once, 100 each: exactly ten are held, the balance never below zero.
    let answers = futures::future::join_all((0..20).map(|_| ask(json!(100)))).await;
    let ok: Vec<&integration_tests::Reply> = answers.iter().filter(|r| r.status == 201).collect();
    let refused = answers.iter().filter(|r| r.status == 409 && r.body["code"] == "INSUFFICIENT_POINTS").count();
    assert_eq!((ok.len(), refused), (10, 10), "{:?}", answers.iter().map(|r| r.status).collect::<Vec<_>>());
    assert_eq!(ok[0].body["payout"]["status"], "REQUESTED");
    assert_eq!(ok[0].body["payout"]["account"]["accountNumber"], "*********5678");
    let points = t.call(Method::GET, "/users/me/points?limit=50", None, Some(&ann.access)).await;
    assert_eq!(points.body["balance"], 0);
    let entries = points.body["entries"].as_array().unwrap();
    assert_eq!(entries.iter().filter(|e| e["kind"] == "HOLD").count(), 10);
    // My list is an index: a moment behind the requests.
    t.indexed().await;
    let mine = t.call(Method::GET, "/users/me/payouts?limit=50", None, Some(&ann.access)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 10);

    // The administrators' queue shows whom to pay, and where (the whole number).
    let queue = t.call(Method::GET, "/admin/payouts?limit=50", None, Some(&root.access)).await;
    assert_eq!(queue.status, 200, "{:?}", queue.body);
    let waiting = queue.body["items"].as_array().unwrap();
    assert_eq!(waiting.len(), 10);
    assert_eq!(
        (waiting[0]["accountNumber"].as_str(), waiting[0]["bankName"].as_str(), waiting[0]["userId"].as_str()),
        (Some("3333012345678"), Some("카카오뱅크"), Some(ann.user_id.as_str()))
    );
    assert_eq!(t.call(Method::GET, "/admin/payouts", None, Some(&ann.access)).await.status, 403, "administrators only");
    let (first, second) = (waiting[0]["id"].as_str().unwrap(), waiting[1]["id"].as_str().unwrap());
    let (ts, root_) = (&t, &root);
    let decide = |id: &str, body: Value| {
        let path = format!("/admin/payouts/{id}/decision");
        async move { ts.call(Method::PUT, &path, Some(body), Some(&root_.access)).await }
    };
    assert_eq!(decide(first, json!({"decision": "PAID"})).await.status, 400, "a reference is needed");
    let paid = decide(first, json!({"decision": "PAID", "reference": "카카오 1207-0001"})).await;
    assert_eq!((paid.status, paid.body["status"].as_str()), (200, Some("PAID")), "{:?}", paid.body);
    let again = decide(first, json!({"decision": "REJECTED", "reason": "중복"})).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("PAYOUT_DECIDED")), "decided once");
    // Rejecting gives the points back.
    let rejected = decide(second, json!({"decision": "REJECTED", "reason": "예금주 불일치"})).await;
    assert_eq!(rejected.body["status"], "REJECTED");
    let points = t.call(Method::GET, "/users/me/points?limit=50", None, Some(&ann.access)).await;
    assert_eq!(points.body["balance"], 100);
    assert_eq!(points.body["entries"][0]["kind"], "RELEASE");
    let told = t
        .eventually(std::time::Duration::from_secs(10), "both decisions in the inbox", || async {
            let r = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
            let payouts: Vec<Value> =
                r.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "PAYOUT").cloned().collect();
            (payouts.len() == 2).then_some(payouts)
        })
        .await;
    assert!(told.iter().any(|n| n["body"].as_str().unwrap().contains("예금주 불일치")));
    t.indexed().await;
    let left = t.call(Method::GET, "/admin/payouts?limit=50", None, Some(&root.access)).await;
    assert_eq!(left.body["items"].as_array().unwrap().len(), 8);
    let done = t.call(Method::GET, "/admin/payouts?status=PAID", None, Some(&root.access)).await;
    assert_eq!(done.body["items"][0]["reference"], "카카오 1207-0001");
    // The balance agrees with its ledger.
    let report = market::audit::run(&t.stack.ctx, false).await.unwrap();
    assert!(report.drift.is_empty(), "{:?}", report.drift);
    t.stop().await;
}

#[tokio::test]
async fn wishes_racing_edits_are_all_counted() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let key = picture(&t, &ann).await;
    let listing = list_at(&t, &ann, &key, "강아지 방석", CITY_HALL, "OTHER").await;
    let id = listing["id"].as_str().unwrap().to_string();
    let mut buyers = Vec::new();
    for i in 0..12 {
        buyers.push(t.user(&format!("w{i}@example.com"), &format!("wisher{i}"), PW).await);
    }
    // Twelve wishes while the seller edits twelve times: an edit writes only what it changes,
    // so no wish is written over.
    let wish = format!("/market/posts/{id}/wish");
    let path = format!("/market/posts/{id}");
    let wishes = buyers.iter().map(|b| t.call(Method::PUT, &wish, None, Some(&b.access)));
    let edits = (0..12).map(|i| {
        let body = json!({"description": format!("설명 {i}"), "price": 1000 + i});
        t.call(Method::PATCH, &path, Some(body), Some(&ann.access))
    });
    let (wished, edited) = tokio::join!(futures::future::join_all(wishes), futures::future::join_all(edits));
    assert!(wished.iter().all(|r| r.status == 200), "{:?}", wished.iter().map(|r| r.status).collect::<Vec<_>>());
    assert!(edited.iter().all(|r| r.status == 200 || r.status == 409));
    assert!(edited.iter().any(|r| r.status == 200));
    t.settle().await;
    assert_eq!(t.get(&path).await.body["wishCount"], 12);
    let drift: Vec<_> = local_stack::catalog::audit_all(&t.stack.ctx, false)
        .await
        .unwrap()
        .into_iter()
        .flat_map(|(_, r)| r.drift)
        .collect();
    assert!(drift.is_empty(), "{drift:?}");
    t.stop().await;
}

#[tokio::test]
async fn nearby_search_costs_a_bounded_number_of_calls_anywhere_it_serves() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    t.settle().await;
    let calls = |lat: f64, lng: f64, km: f64| {
        let t = &t;
        let token = ann.access.clone();
        async move {
            let before = t.stack.ctx.dynamodb_calls.get();
            let path = format!("/market/posts/nearby?lat={lat}&lng={lng}&radiusKm={km}");
            let r = t.call(Method::GET, &path, None, Some(&token)).await;
            assert_eq!(r.status, 200, "{path}: {:?}", r.body);
            t.stack.ctx.dynamodb_calls.get() - before
        }
    };
    let mut worst = 0;
    for (lat, lng, km) in [
        (37.5665, 126.978, 3.0),
        (37.5665, 126.978, 20.0),
        (80.0, 0.0, 20.0),
        (-80.0, 0.0, 2.0),
        (79.9, 179.99, 20.0),
        (0.0, -180.0, 20.0),
        (-80.0, -179.99, 0.5),
    ] {
        let n = calls(lat, lng, km).await;
        println!("nearby at ({lat}, {lng}) within {km} km: {n} table calls");
        worst = worst.max(n);
    }
    assert!(worst <= 20, "the worst case is bounded: {worst}");
    // Beyond the service area: refused, not hundreds of queries.
    for lat in ["89.99", "-85", "80.01"] {
        let r = t
            .call(Method::GET, &format!("/market/posts/nearby?lat={lat}&lng=0&radiusKm=20"), None, Some(&ann.access))
            .await;
        assert_eq!((r.status, r.body["errors"][0]["field"].as_str()), (400, Some("lat")), "{lat}: {:?}", r.body);
    }
    t.stop().await;
}

#[tokio::test]
async fn a_payout_account_is_sealed_at_rest_and_shown_masked() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let banks = t.get("/market/banks").await;
    assert!(banks.body["items"].as_array().unwrap().iter().any(|b| b["code"] == "088" && b["name"] == "신한은행"));
    let path = "/users/me/payout-account";
    assert_eq!(t.call(Method::GET, path, None, Some(&ann.access)).await.body["code"], "PAYOUT_ACCOUNT_NOT_FOUND");
    for (body, field) in [
        (json!({"bankCode": "999", "accountNumber": "110123456789", "holderName": "김앤"}), "bankCode"),
        (json!({"bankCode": "088", "accountNumber": "12-34", "holderName": "김앤"}), "accountNumber"),
        (json!({"bankCode": "088", "accountNumber": "1101234567ab", "holderName": "김앤"}), "accountNumber"),
        (json!({"bankCode": "088", "accountNumber": "110123456789", "holderName": ""}), "holderName"),
    ] {
        let r = t.call(Method::PUT, path, Some(body), Some(&ann.access)).await;
        assert_eq!(r.status, 400, "{:?}", r.body);
        assert!(r.body.to_string().contains(field), "{field}: {:?}", r.body);
    }
    let put = json!({"bankCode": "088", "accountNumber": "110-123-456789", "holderName": "김앤"});
    let r = t.call(Method::PUT, path, Some(put), Some(&ann.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["bankName"].as_str(), r.body["accountNumber"].as_str(), r.body["holderName"].as_str()),
        (Some("신한은행"), Some("********6789"), Some("김앤"))
    );
    assert_eq!(t.call(Method::GET, path, None, Some(&ann.access)).await.body["accountNumber"], "********6789");
    // At rest the number is sealed: the item holds no digits of it but the last four.
    let item = t.stack.ctx.table.get_item(&market::payouts::payout_account_key(&ann.user_id)).await.unwrap().unwrap();
    let raw = format!("{item:?}");
    assert!(!raw.contains("110123456789") && !raw.contains("123456"), "{raw}");
    // Each sees their own only.
    assert_eq!(t.call(Method::GET, path, None, Some(&bob.access)).await.status, 404);
    assert_eq!(t.call(Method::GET, path, None, None).await.status, 401);
    t.stop().await;
}

#[tokio::test]
async fn administrators_list_listings_by_status_by_seller_and_by_open_reports() {
    use crate::payments::{checkout, confirm, listing, order, room};
    let t = TestStack::start().await;
    let root = t.admin("root@example.com", "root", PW).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let cat = t.user("cat@example.com", "cat", PW).await;
    let dan = t.user("dan@example.com", "dan", PW).await;
    let first = listing(&t, &ann, "강아지 하네스", 9_000).await;
    let sold = listing(&t, &ann, "고양이 캣타워", 30_000).await;
    room(&t, &ann, &bob, &sold, true).await;
    let o = order(&t, &bob, &sold).await.body["orderId"].as_str().unwrap().to_string();
    let key = checkout(&t, &o, 30_000, "APPROVE").await;
    assert_eq!(confirm(&t, &bob, &key, &o, 30_000).await.status, 200);
    let bobs = listing(&t, &bob, "강아지 유모차", 50_000).await;
    for (who, target) in [(&cat, &bobs), (&dan, &bobs), (&cat, &first)] {
        let report = json!({"targetType": "MARKET_POST", "targetId": target, "category": "SPAM"});
        assert_eq!(t.post("/reports", report, Some(&who.access)).await.status, 201);
    }
    t.indexed().await;
    let list = |q: &str| {
        let path = format!("/admin/market/posts{q}");
        let t = &t;
        let token = root.access.clone();
        async move { t.call(Method::GET, &path, None, Some(&token)).await }
    };
    let ids = |r: &integration_tests::Reply| -> Vec<String> {
        r.body["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids(&list("").await), vec![bobs.clone(), sold.clone(), first.clone()], "newest first");
    assert_eq!(ids(&list(&format!("?sellerId={}", ann.user_id)).await), vec![sold.clone(), first.clone()]);
    let sold_only = list("?status=SOLD").await;
    assert_eq!(ids(&sold_only), vec![sold.clone()]);
    assert_eq!(sold_only.body["items"][0]["sellerId"], ann.user_id.as_str());
    let reported = list("?reported=true").await;
    assert_eq!(ids(&reported), vec![first.clone(), bobs.clone()], "newest report first");
    let counts: Vec<i64> =
        reported.body["items"].as_array().unwrap().iter().map(|i| i["openReports"].as_i64().unwrap()).collect();
    assert_eq!(counts, vec![1, 2]);
    assert_eq!(ids(&list(&format!("?reported=true&sellerId={}", bob.user_id)).await), vec![bobs.clone()]);
    assert_eq!(list("?status=GONE").await.status, 400);
    assert_eq!(t.call(Method::GET, "/admin/market/posts", None, Some(&ann.access)).await.status, 403);
    t.stop().await;
}
