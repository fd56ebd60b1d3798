//! The recommendation benchmark (prints figures; nothing here can fail on timing): an in-memory
//! stack with N active PetStars (default 1,000) whose portfolios and histories are drawn from a
//! fixed vocabulary, an approved advertiser's ad, then `GET /ads/{id}/recommended-petstars`
//! timed end to end, with the DynamoDB calls it made and the ranking's own share.
//!
//! `cargo run --release -p bench --bin recommend-bench [petstars] [requests]`

use std::time::{Duration, Instant};

use bench::{call, percentile, user};
use campaigns::model::{History, Portfolio};
use campaigns::petstars::{PetPages, PetStar, PetStarStatus, document_of};
use campaigns::rank::{Candidate, rank};
use local_stack::{LocalStack, StackOptions};
use serde_json::json;
use shared::table::Write;

const TOPICS: &[&str] = &[
    "수제 간식 리뷰",
    "간식 먹방",
    "한강 산책",
    "장난감 리뷰",
    "여행 사진",
    "미용 일상",
    "훈련 영상",
    "캠핑",
    "사료 비교",
    "영양제 후기",
    "실내 놀이",
    "수영",
    "어질리티",
    "카페 탐방",
    "패션 옷",
    "목욕 용품",
];
const BREEDS: &[&str] = &[
    "dog-maltese",
    "dog-pomeranian",
    "dog-jindo",
    "dog-welsh-corgi",
    "dog-golden-retriever",
    "cat-persian",
    "cat-munchkin",
    "cat-korean-shorthair",
];

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let requests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    let stack = LocalStack::start(StackOptions::bench()).await.expect("the stack starts");
    let http = reqwest::Client::new();
    let base = stack.http_url.clone();
    let ctx = stack.ctx.clone();

    // An approved advertiser.
    let (adv_id, _) = user(&stack, &http, 0).await;
    let advertiser = identity_contract::keys::user_key(&adv_id);
    ctx.table
        .write(
            Write::update(advertiser, "SET #r = :r, advertiserStatus = :a")
                .name("#r", "role")
                .value(":r", shared::table::s("ADVERTISER"))
                .value(":a", shared::table::s("APPROVED")),
        )
        .await
        .unwrap();
    let (_, token) = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/auth/login"),
        None,
        Some(json!({"email": "bench0@example.com", "password": "walks4ever"})),
    )
    .await;
    let token = token["accessToken"].as_str().unwrap().to_string();
    let (owner, _) = user(&stack, &http, 1).await;

    // N PetStars, written straight into the table as the product stores them.
    let seeded = Instant::now();
    let mut rng = Lcg(7);
    let now = ctx.now();
    for i in 0..count {
        let pet = pets::pets::Pet {
            id: shared::ids::new_id(now),
            owner_id: owner.clone(),
            name: format!("별{i}"),
            species_id: BREEDS[rng.next(BREEDS.len())].into(),
            gender: pets::pets::Gender::Female,
            birthday: None,
            weight_kg: None,
            neutered: None,
            introduction: String::new(),
            photo_key: None,
            created_at: now,
            updated_at: now,
        };
        let topics: Vec<&str> = (0..3).map(|_| TOPICS[rng.next(TOPICS.len())]).collect();
        let portfolio = Portfolio {
            pet_id: pet.id.clone(),
            introduction: format!("{} 좋아하는 {}", topics[0], pet.name),
            strengths: vec![topics[1].into()],
            keywords: topics.iter().map(|t| t.to_string()).collect(),
            ..Portfolio::default()
        };
        let history = History {
            id: shared::ids::new_id(now),
            pet_id: pet.id.clone(),
            title: format!("{} 촬영", topics[2]),
            date: now.date_naive(),
            description: format!("{} 협찬", topics[2]),
            image_keys: Vec::new(),
            created_at: now,
            updated_at: now,
        };
        let species = pets_contract::species::by_id(&pet.species_id).expect("a catalogue breed");
        let profile = pets_contract::PetProfile {
            id: pet.id.clone(),
            owner_id: owner.clone(),
            name: pet.name.clone(),
            species_id: pet.species_id.clone(),
            kind: species.kind,
            breed: species.name_ko.into(),
            size: species.size,
            introduction: String::new(),
            photo_url: None,
        };
        let pages = PetPages { petstar: None, portfolio: Some(portfolio.clone()), histories: vec![history.clone()] };
        let (document, search_text) = document_of(&profile, &pages);
        let star = PetStar {
            pet_id: pet.id.clone(),
            owner_id: owner.clone(),
            status: PetStarStatus::Active,
            kind: campaigns::petstars::kind_of(&profile).into(),
            species_id: pet.species_id.clone(),
            applied_at: now,
            decided_at: Some(now),
            reason: None,
            document,
            search_text,
            engagement: Some(rng.next(1000) as f64),
            doc_rev: 1,
        };
        ctx.table
            .transact(vec![
                Write::put(&pet).unwrap(),
                Write::put(&portfolio).unwrap(),
                Write::put(&history).unwrap(),
                Write::put(&star).unwrap(),
            ])
            .await
            .unwrap();
    }
    let seeded = seeded.elapsed();

    let ad = json!({"title": "강아지 간식 리뷰", "content": "새로 나온 수제 간식을 먹어보고 리뷰 영상을 올려 주세요",
        "objective": "신제품 인지도", "announceStart": campaigns::today(now).to_string(),
        "announceEnd": campaigns::today(now).to_string(),
        "selectionDate": (campaigns::today(now) + chrono::Days::new(2)).to_string(),
        "campaignStart": (campaigns::today(now) + chrono::Days::new(3)).to_string(),
        "campaignEnd": (campaigns::today(now) + chrono::Days::new(9)).to_string(),
        "membersCount": 10, "missions": ["먹방 영상"], "keywords": ["간식", "리뷰"], "requirements": ["소형견"], "fileKeys": []});
    let (s, b) = call(&http, reqwest::Method::POST, format!("{base}/ads"), Some(&token), Some(ad)).await;
    assert_eq!(s, 201, "{b}");
    let url = format!("{base}/ads/{}/recommended-petstars?limit=10", b["id"].as_str().unwrap());

    let mut times: Vec<Duration> = Vec::new();
    let calls_before = ctx.dynamodb_calls.get();
    let mut top = serde_json::Value::Null;
    for _ in 0..requests {
        let started = Instant::now();
        let (s, b) = call(&http, reqwest::Method::GET, url.clone(), Some(&token), None).await;
        times.push(started.elapsed());
        assert_eq!(s, 200, "{b}");
        top = b["items"][0].clone();
    }
    let calls = (ctx.dynamodb_calls.get() - calls_before) as f64 / requests as f64;
    times.sort();

    // The ranking alone, over the same documents.
    let stars = campaigns::petstars::active(&ctx, 20_000).await.unwrap();
    let candidates: Vec<Candidate> =
        stars.iter().map(|p| Candidate { id: &p.pet_id, document: &p.document, engagement: p.engagement }).collect();
    let text = "강아지 간식 리뷰 새로 나온 수제 간식을 먹어보고 리뷰 영상을 올려 주세요 신제품 인지도 간식 리뷰 먹방 영상 소형견";
    let started = Instant::now();
    for _ in 0..requests {
        std::hint::black_box(rank(text, &candidates, 10, true));
    }
    let ranking = started.elapsed() / requests as u32;

    println!(
        "recommendation over {count} active PetStars ({requests} requests, seeded in {:.1} s)",
        seeded.as_secs_f64()
    );
    println!("  end to end   p50 {:.1} ms   p99 {:.1} ms", percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "  ranking only {:.2} ms per request (BM25 over {} documents)",
        ranking.as_secs_f64() * 1000.0,
        candidates.len()
    );
    println!("  DynamoDB calls per request {calls:.1}");
    println!(
        "  best match: {} ({}), score {}, matched {}",
        top["pet"]["name"], top["pet"]["breed"], top["score"], top["matchedTerms"]
    );
    stack.stop().await;
}
