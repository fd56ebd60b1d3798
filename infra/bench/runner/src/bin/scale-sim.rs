//! The scale model's simulation: replays one peak second of a 1,000,000-daily-active-user day
//! (the rates of the README's "Scale and cost", × 10 for the peak) through the domains' own key
//! functions, and prints the partitions and items that take the most read and write units per second against
//! DynamoDB's limits (1,000 WCU and 3,000 RCU per partition; an item can never be split, so its
//! own rate must stay under them too). It prints figures; nothing here passes or fails.
//!
//! `cargo run --release -p bench --bin scale-sim [daily-active-users] [peak-factor] [viral-share]`
//!
//! Unit rules (DynamoDB's): a write is 1 WCU per KB, ×2 in a transaction; a read is 1 RCU per
//! 4 KB strongly consistent, ½ eventually consistent, ×2 in a transaction. Popularity of posts
//! and authors is Zipf-distributed (s = 1.05) over the day's posts and the users; `viral-share`
//! of all likes and post views go to one post on top of that.

use std::collections::HashMap;

use rand::{Rng, SeedableRng, rngs::StdRng};

const SECONDS: u32 = 10;
/// How often Lambda reads a stream shard: the counter consumer's batches a second, at most.
const BATCHES_PER_SECOND: f64 = 4.0;
const PARTITION_WCU: f64 = 1000.0;
const PARTITION_RCU: f64 = 3000.0;

/// Daily actions per active user (the model of the README's "Scale and cost").
pub const MODEL: &[(&str, f64)] = &[
    ("GET /posts (global list)", 4.0),
    ("GET /feed", 10.0),
    ("GET /posts/{id}", 15.0),
    ("PUT /posts/{id}/like", 8.0),
    ("POST /posts/{id}/comments", 1.0),
    ("POST /posts", 0.3),
    ("chat message", 10.0),
    ("GET /notifications", 3.0),
];

#[derive(Default)]
struct Load {
    wcu: f64,
    rcu: f64,
}

#[derive(Default)]
struct Tally {
    partitions: HashMap<String, Load>,
    items: HashMap<(String, String), Load>,
}

impl Tally {
    fn write(&mut self, pk: &str, sk: &str, kb: f64, transaction: bool) {
        let units = kb.ceil().max(1.0) * if transaction { 2.0 } else { 1.0 };
        self.partitions.entry(pk.to_string()).or_default().wcu += units;
        self.items.entry((pk.to_string(), sk.to_string())).or_default().wcu += units;
    }
    fn read(&mut self, pk: &str, sk: &str, kb: f64, consistent: bool) {
        let units = (kb / 4.0).ceil().max(1.0) * if consistent { 1.0 } else { 0.5 };
        self.partitions.entry(pk.to_string()).or_default().rcu += units;
        self.items.entry((pk.to_string(), sk.to_string())).or_default().rcu += units;
    }
}

/// Zipf(s) over `n` ranks, sampled by inverse CDF.
struct Zipf(Vec<f64>);

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut acc = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                acc += 1.0 / (k as f64).powf(s);
                acc
            })
            .collect();
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf(cdf)
    }
    fn sample(&self, rng: &mut StdRng) -> usize {
        let u: f64 = rng.random();
        self.0.partition_point(|c| *c < u).min(self.0.len() - 1)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dau: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1_000_000.0);
    let peak: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10.0);
    let viral: f64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0.10);
    let mut rng = StdRng::seed_from_u64(14);
    let users = dau as usize;
    let live_posts = ((dau * 0.3) as usize).max(1000); // a day of posts
    let post_pop = Zipf::new(live_posts, 1.05);
    let author_pop = Zipf::new(users, 1.05);
    let year = 2026;
    let day = chrono::NaiveDate::from_ymd_opt(year, 11, 23).expect("a date");
    let mut t = Tally::default();
    let user = |n: usize| format!("U{n:07}");
    let post = |n: usize| format!("P{n:07}");
    let newest: Vec<String> = (0..20).map(post).collect();

    // One item key each domain's functions give.
    // The guard's batch read: the account, the session and whom the caller does not see.
    let session = |t: &mut Tally, me: &str| {
        let k = shared::keys::user_key(me);
        t.read(&k.pk, &k.sk, 1.0, true);
        t.read(&k.pk, "SESSION", 0.5, true);
        let h = shared::account::hidden_key(me);
        t.read(&h.pk, &h.sk, 0.1, true);
    };
    // An HTTP write's per-user, per-route counter, carried in the write's transaction.
    let charge = |t: &mut Tally, me: &str, route: &str| {
        let k = shared::keys::rate_key("write", &format!("{me}|{route}"), 0);
        t.write(&k.pk, &k.sk, 0.1, true);
    };
    let pick_post = |rng: &mut StdRng| {
        if rng.random::<f64>() < viral { post(0) } else { post(post_pop.sample(rng)) }
    };

    // What the stream consumer counts, by counter item: it applies each shard's records in
    // batches, one `UpdateItem ADD` per counter per batch, at most `BATCHES_PER_SECOND` a
    // second per counter (Lambda reads a shard four times a second).
    let mut counted: HashMap<(String, String), Vec<f64>> = HashMap::new();
    // A statistics tally: a put of its own in one of the day's shard partitions, counted onto
    // the shard's day counters from the stream.
    let tally = |t: &mut Tally, counted: &mut HashMap<(String, String), Vec<f64>>, rng: &mut StdRng| {
        let s = moderation_contract::keys::stats_key(day, rng.random_range(0..moderation_contract::stats::SHARDS));
        t.write(&s.pk, &format!("TALLY#{}", ulid::Ulid::new()), 0.1, true);
        counted.entry((s.pk.clone(), s.sk.clone())).or_default().push(1.0);
    };
    for (action, per_day) in MODEL {
        let per_second = per_day * dau / 86_400.0 * peak;
        let events = (per_second * SECONDS as f64).round() as usize;
        for _ in 0..events {
            let me = user(rng.random_range(0..users));
            session(&mut t, &me);
            match *action {
                "GET /posts (global list)" => {
                    t.read(diary::keys::ALL_POSTS, "GSI1 page", 20.0, false);
                    for p in &newest {
                        let k = diary::keys::like_key(p, &me);
                        t.read(&k.pk, &k.sk, 0.1, false);
                    }
                }
                "GET /feed" => {
                    t.read(&diary_contract::keys::feed_partition(&me), "page", 2.0, false);
                    for _ in 0..20 {
                        let k = diary_contract::keys::post_key(&post(post_pop.sample(&mut rng)));
                        t.read(&k.pk, &k.sk, 1.0, false);
                    }
                }
                "GET /posts/{id}" => {
                    let p = pick_post(&mut rng);
                    let k = diary_contract::keys::post_key(&p);
                    t.read(&k.pk, &k.sk, 1.0, false);
                    let l = diary::keys::like_key(&p, &me);
                    t.read(&l.pk, &l.sk, 0.1, false);
                }
                "PUT /posts/{id}/like" => {
                    charge(&mut t, &me, "PUT /posts/{id}/like");
                    let p = pick_post(&mut rng);
                    let k = diary_contract::keys::post_key(&p);
                    t.read(&k.pk, &k.sk, 1.0, false);
                    let l = diary::keys::like_key(&p, &me);
                    // The like alone in the transaction; the post's count follows from the stream.
                    t.write(&l.pk, &l.sk, 0.2, true);
                    counted.entry((k.pk.clone(), k.sk.clone())).or_default().push(1.0);
                    t.write(&diary::keys::likers_partition(&p), &me, 0.2, false);
                    t.write(&shared::keys::outbox_partition(&ulid::Ulid::new().to_string()), "MSG", 0.5, true);
                    // The notification worker: the author's inbox and unread counter.
                    let author = user(author_pop.sample(&mut rng));
                    let n = shared::keys::user_partition(&author);
                    t.write(&n, "NOTIF", 0.5, true);
                    t.write(&n, "NOTIFCOUNT", 0.1, true);
                }
                "POST /posts/{id}/comments" => {
                    charge(&mut t, &me, "POST /posts/{id}/comments");
                    let p = pick_post(&mut rng);
                    let k = diary_contract::keys::post_key(&p);
                    t.read(&k.pk, &k.sk, 1.0, false);
                    t.write(&k.pk, "C#new", 0.5, true);
                    // The comment's ticket (counted onto the post from the stream) and a tally.
                    t.write(&k.pk, "CC#new", 0.1, true);
                    counted.entry((k.pk.clone(), k.sk.clone())).or_default().push(1.0);
                    tally(&mut t, &mut counted, &mut rng);
                }
                "POST /posts" => {
                    charge(&mut t, &me, "POST /posts");
                    let id = ulid::Ulid::new().to_string();
                    let k = diary_contract::keys::post_key(&id);
                    t.write(&k.pk, &k.sk, 1.0, true);
                    t.write(diary::keys::ALL_POSTS, &id, 1.0, false);
                    t.write(&diary_contract::keys::author_partition(&me), &id, 1.0, false);
                    tally(&mut t, &mut counted, &mut rng);
                    // Trending: the hour's hashtag counters, two tags a post.
                    for tag in 0..2 {
                        t.write(
                            &diary::keys::tag_stats_partition("2026-11-23T21"),
                            &format!("tag{}", rng.random_range(0..50) + tag),
                            0.1,
                            false,
                        );
                    }
                    // The feed fan-out, for an ordinary author (≈ 150 followers).
                    let followers = shared::keys::user_partition(&me);
                    t.read(&followers, "FOLLOWER#", 150.0 * 0.1, false);
                    for _ in 0..150 {
                        let f = user(rng.random_range(0..users));
                        t.write(&diary_contract::keys::feed_partition(&f), &id, 0.1, false);
                    }
                }
                "chat message" => {
                    // A busy room takes 1% of all messages; the rest spread over many rooms.
                    let room = if rng.random::<f64>() < 0.01 {
                        "BUSY".to_string()
                    } else {
                        format!("R{}", rng.random_range(0..200_000))
                    };
                    let r = chat_contract::keys::room_key(&room);
                    t.write(&r.pk, &r.sk, 0.5, true);
                    t.write(&r.pk, "MSG#new", 0.5, true);
                    t.write(&r.pk, "CLIENTMSG#", 0.1, true);
                    tally(&mut t, &mut counted, &mut rng);
                }
                "GET /notifications" => {
                    t.read(&shared::keys::user_partition(&me), "NOTIF#", 8.0, false);
                }
                other => unreachable!("{other}"),
            }
        }
    }

    for ((pk, sk), moves) in &counted {
        let batches = (moves.len() as f64).min(BATCHES_PER_SECOND * SECONDS as f64).round() as usize;
        for _ in 0..batches {
            t.write(pk, sk, 1.0, false);
        }
    }
    let secs = SECONDS as f64;
    let total_w: f64 = t.partitions.values().map(|l| l.wcu).sum::<f64>() / secs;
    let total_r: f64 = t.partitions.values().map(|l| l.rcu).sum::<f64>() / secs;
    println!(
        "{dau} daily active users, peak = {peak}× the average, viral post share {viral}; {SECONDS} simulated seconds\n"
    );
    println!("| action | per day per user | requests/s at average | at peak |");
    println!("|---|---|---|---|");
    for (action, per_day) in MODEL {
        let avg = per_day * dau / 86_400.0;
        println!("| {action} | {per_day} | {avg:.0} | {:.0} |", avg * peak);
    }
    println!("\ntable total at peak: {total_w:.0} WCU/s, {total_r:.0} RCU/s\n");
    let show = |title: &str, rows: Vec<(String, f64, f64)>| {
        println!("{title}\n\n| key | WCU/s | % of 1,000 | RCU/s | % of 3,000 |\n|---|---|---|---|---|");
        for (key, w, r) in rows {
            println!(
                "| `{key}` | {w:.0} | {:.0}% | {r:.0} | {:.0}% |",
                w / PARTITION_WCU * 100.0,
                r / PARTITION_RCU * 100.0
            );
        }
        println!();
    };
    let mut parts: Vec<(String, f64, f64)> =
        t.partitions.iter().map(|(k, l)| (k.clone(), l.wcu / secs, l.rcu / secs)).collect();
    parts.sort_by(|a, b| {
        (b.1 / PARTITION_WCU).max(b.2 / PARTITION_RCU).total_cmp(&(a.1 / PARTITION_WCU).max(a.2 / PARTITION_RCU))
    });
    show("Hottest partitions (partition key)", parts.into_iter().take(8).collect());
    let mut items: Vec<(String, f64, f64)> =
        t.items.iter().map(|((pk, sk), l)| (format!("{pk} / {sk}"), l.wcu / secs, l.rcu / secs)).collect();
    items.sort_by(|a, b| {
        (b.1 / PARTITION_WCU).max(b.2 / PARTITION_RCU).total_cmp(&(a.1 / PARTITION_WCU).max(a.2 / PARTITION_RCU))
    });
    show("Hottest items (an item is never split)", items.into_iter().take(8).collect());
}
