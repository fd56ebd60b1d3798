//! The recommendation benchmark (prints figures; nothing here can fail on timing).
//!
//! Quality: the labelled set `data/matching.json` (PetStars in their own words, ads that often
//! say the same in other words, graded relevance) is seeded, each ad is ranked through
//! `GET /ads/{id}/recommended-petstars` by words alone (`?semantic=false`) and by the blend, and
//! nDCG@10 of both is printed. The vectors come from the product's own path: the worker, through
//! the Bedrock stand-in (whose embeddings are a stand-in: see `local_stack::bedrock`).
//!
//! Speed: an in-memory stack with N active PetStars (default 1,000) whose portfolios and
//! histories are drawn from a fixed vocabulary, an approved advertiser's ad, then the same
//! request timed end to end, with the DynamoDB calls it made and the ranking's own share.
//!
//! `cargo run --release -p bench --bin recommend-bench [petstars] [requests]`

use std::time::{Duration, Instant};

use bench::{call, percentile, user};
use campaigns::model::{History, Portfolio};
use campaigns::petstars::{PetPages, PetStar, PetStarStatus, document_of};
use campaigns::rank::{Candidate, Weights, rank};
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

    let now = ctx.now();
    // The labelled set first, on an empty stack: its rankings are over its own PetStars.
    let set: serde_json::Value =
        serde_json::from_str(include_str!("../../data/matching.json")).expect("the labelled set is JSON");
    let mut keys_of = std::collections::HashMap::new();
    for p in set["petstars"].as_array().unwrap() {
        let (key, species, about) =
            (p["key"].as_str().unwrap(), p["species"].as_str().unwrap(), p["about"].as_str().unwrap());
        let id = seed_petstar(&ctx, &owner, key, species, about, &[about], None).await;
        keys_of.insert(id, key.to_string());
    }
    let mut quality = Vec::new();
    let mut ad_ids = Vec::new();
    for ad in set["ads"].as_array().unwrap() {
        let mut body = ad_body(now);
        body["title"] = ad["title"].clone();
        body["content"] = ad["content"].clone();
        body["keywords"] = ad["keywords"].clone();
        body["missions"] = json!([]);
        body["requirements"] = json!([]);
        body["objective"] = json!("홍보");
        let (s, b) = call(&http, reqwest::Method::POST, format!("{base}/ads"), Some(&token), Some(body)).await;
        assert_eq!(s, 201, "{b}");
        ad_ids.push(b["id"].as_str().unwrap().to_string());
    }
    settle(&stack).await;
    for (ad, id) in set["ads"].as_array().unwrap().iter().zip(&ad_ids) {
        let labels = &ad["relevant"];
        let mut figures = Vec::new();
        for query in ["?semantic=false", ""] {
            let url = format!("{base}/ads/{id}/recommended-petstars?limit=10{}", query.replacen('?', "&", 1));
            let (s, b) = call(&http, reqwest::Method::GET, url, Some(&token), None).await;
            assert_eq!(s, 200, "{b}");
            let gains: Vec<f64> = b["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| keys_of.get(i["pet"]["id"].as_str().unwrap()).and_then(|k| labels[k].as_f64()).unwrap_or(0.0))
                .collect();
            let ideal: Vec<f64> = {
                let mut g: Vec<f64> = labels.as_object().unwrap().values().filter_map(|v| v.as_f64()).collect();
                g.sort_by(|a, b| b.total_cmp(a));
                g
            };
            figures.push(ndcg(&gains, &ideal, 10));
        }
        quality.push((ad["title"].as_str().unwrap().to_string(), figures[0], figures[1]));
    }

    // N PetStars, written straight into the table as the product stores them.
    let seeded = Instant::now();
    let mut rng = Lcg(7);
    for i in 0..count {
        let topics: Vec<&str> = (0..3).map(|_| TOPICS[rng.next(TOPICS.len())]).collect();
        let species = BREEDS[rng.next(BREEDS.len())];
        let intro = format!("{} 좋아하는 별{i}", topics[0]);
        let texts = [intro.as_str(), topics[1], topics[0], topics[1], topics[2]];
        let history = (format!("{} 촬영", topics[2]), format!("{} 협찬", topics[2]));
        seed_petstar(&ctx, &owner, &format!("별{i}"), species, &intro, &texts, Some(history)).await;
    }
    settle(&stack).await;
    let seeded = seeded.elapsed();

    let (s, b) = call(&http, reqwest::Method::POST, format!("{base}/ads"), Some(&token), Some(ad_body(now))).await;
    assert_eq!(s, 201, "{b}");
    settle(&stack).await;
    let ad_vector = ctx
        .table
        .get::<campaigns::vectors::AdVector>(&campaigns::keys::ad_vector_key(b["id"].as_str().unwrap()))
        .await
        .unwrap()
        .expect("the ad's vector is made");
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
    let candidates: Vec<Candidate> = stars
        .iter()
        .map(|p| Candidate { id: &p.pet_id, document: &p.document, vector: p.vector(), engagement: p.engagement })
        .collect();
    let text = "강아지 간식 리뷰 새로 나온 수제 간식을 먹어보고 리뷰 영상을 올려 주세요 신제품 인지도 간식 리뷰 먹방 영상 소형견";
    let weights = Weights { query_vector: Some(&ad_vector.vector.0), semantic: 0.5, engagement: true };
    let started = Instant::now();
    for _ in 0..requests {
        std::hint::black_box(rank(text, &candidates, 10, weights));
    }
    let ranking = started.elapsed() / requests as u32;

    let (words, blend) = quality.iter().fold((0.0, 0.0), |(w, b), (_, x, y)| (w + x, b + y));
    let n = quality.len() as f64;
    println!("ranking quality on the labelled set ({} ads, {} PetStars), nDCG@10", quality.len(), keys_of.len());
    println!("  words alone (BM25) {:.3}   blend (BM25 + embeddings) {:.3}", words / n, blend / n);
    for (title, w, b) in &quality {
        println!("    {title:<24} {w:.3} → {b:.3}");
    }
    println!(
        "recommendation over {count} active PetStars ({requests} requests, seeded in {:.1} s)",
        seeded.as_secs_f64()
    );
    println!("  end to end   p50 {:.1} ms   p99 {:.1} ms", percentile(&times, 0.5), percentile(&times, 0.99));
    println!(
        "  ranking only {:.2} ms per request (BM25 and cosine over {} documents and vectors)",
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

/// An ad recruiting from today.
fn ad_body(now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let today = campaigns::today(now);
    json!({"title": "강아지 간식 리뷰", "content": "새로 나온 수제 간식을 먹어보고 리뷰 영상을 올려 주세요",
        "objective": "신제품 인지도", "announceStart": today.to_string(), "announceEnd": today.to_string(),
        "selectionDate": (today + chrono::Days::new(2)).to_string(),
        "campaignStart": (today + chrono::Days::new(3)).to_string(),
        "campaignEnd": (today + chrono::Days::new(9)).to_string(),
        "membersCount": 10, "missions": ["먹방 영상"], "keywords": ["간식", "리뷰"], "requirements": ["소형견"], "fileKeys": []})
}

/// Waits until the workers are done (the vectors made).
async fn settle(stack: &LocalStack) {
    assert!(stack.settle(Duration::from_secs(300)).await, "the workers went idle");
}

/// nDCG@k of the gains in ranked order against the ideal gains.
fn ndcg(gains: &[f64], ideal: &[f64], k: usize) -> f64 {
    let dcg = |g: &[f64]| -> f64 {
        g.iter().take(k).enumerate().map(|(i, rel)| (2f64.powf(*rel) - 1.0) / ((i + 2) as f64).log2()).sum()
    };
    let best = dcg(ideal);
    if best == 0.0 { 0.0 } else { dcg(gains) / best }
}

/// One active PetStar written as the product stores it (pet, portfolio, a history, the PetStar
/// item), with the outbox message that has the worker make its vector. Returns the pet's id.
async fn seed_petstar(
    ctx: &shared::AppContext,
    owner: &str,
    name: &str,
    species_id: &str,
    intro: &str,
    keywords: &[&str],
    history: Option<(String, String)>,
) -> String {
    let now = ctx.now();
    let pet = pets::pets::Pet {
        id: shared::ids::new_id(now),
        owner_id: owner.to_string(),
        name: name.to_string(),
        species_id: species_id.into(),
        gender: pets::pets::Gender::Female,
        birthday: None,
        weight_kg: None,
        neutered: None,
        introduction: String::new(),
        photo_key: None,
        created_at: now,
        updated_at: now,
    };
    let portfolio = Portfolio {
        pet_id: pet.id.clone(),
        introduction: intro.to_string(),
        strengths: keywords.get(1).map(|s| vec![s.to_string()]).unwrap_or_default(),
        keywords: keywords.iter().skip(2).map(|t| t.to_string()).collect(),
        ..Portfolio::default()
    };
    let history = history.map(|(title, description)| History {
        id: shared::ids::new_id(now),
        pet_id: pet.id.clone(),
        title,
        date: now.date_naive(),
        description,
        image_keys: Vec::new(),
        created_at: now,
        updated_at: now,
    });
    let species = pets_contract::species::by_id(&pet.species_id).expect("a catalogue breed");
    let profile = pets_contract::PetProfile {
        id: pet.id.clone(),
        owner_id: owner.to_string(),
        name: pet.name.clone(),
        species_id: pet.species_id.clone(),
        kind: species.kind,
        breed: species.name_ko.into(),
        size: species.size,
        introduction: String::new(),
        photo_url: None,
    };
    let pages =
        PetPages { petstar: None, portfolio: Some(portfolio.clone()), histories: history.iter().cloned().collect() };
    let (document, search_text) = document_of(&profile, &pages);
    let star = PetStar {
        pet_id: pet.id.clone(),
        owner_id: owner.to_string(),
        status: PetStarStatus::Active,
        kind: campaigns::petstars::kind_of(&profile).into(),
        species_id: pet.species_id.clone(),
        applied_at: now,
        decided_at: Some(now),
        reason: None,
        document,
        search_text,
        engagement: Some((pet.id.bytes().map(u64::from).sum::<u64>() % 1000) as f64),
        doc_rev: 1,
        vector: None,
        vector_rev: 0,
    };
    let mut writes = vec![Write::put(&pet).unwrap(), Write::put(&portfolio).unwrap(), Write::put(&star).unwrap()];
    writes.extend(history.iter().map(|h| Write::put(h).unwrap()));
    writes.push(campaigns::vectors::petstar_vector_wanted(ctx, &star.pet_id, star.doc_rev).unwrap());
    ctx.table.transact(writes).await.unwrap();
    pet.id
}
