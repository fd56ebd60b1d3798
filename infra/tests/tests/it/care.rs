//! The AI's pet care over HTTP, against the Bedrock stand-in: tips that know the pet, kept and
//! counted against a daily quota that a busy model does not spend; weekly reports whose figures
//! match hand-computed ones, with a summary the job writes once per pet and week.

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn pet(t: &TestStack, who: &Session) -> String {
    let body = json!({"name": "콩이", "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14", "weightKg": 3.2});
    let r = t.post("/pets", body, Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn seoul_today(t: &TestStack) -> chrono::NaiveDate {
    shared::clock::seoul_day(t.stack.ctx.now())
}

async fn record(t: &TestStack, who: &Session, pet: &str, day: chrono::NaiveDate, body: Value) {
    let r = t.call(Method::PUT, &format!("/pets/{pet}/activities/{day}"), Some(body), Some(&who.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

fn activity(distance: f64, level: u8, sleep: f64, meals: Value) -> Value {
    json!({"distanceKm": distance, "activityLevel": level, "weightKg": 4, "sleepHours": sleep, "poopCount": 2,
           "peeCount": 4, "meals": meals})
}

async fn asked(t: &TestStack, operation: &str) -> Vec<Value> {
    let all = t.get("/_local/bedrock/requests").await.body.as_array().unwrap().clone();
    all.into_iter().filter(|a| a["operation"] == operation).collect()
}

async fn ask(t: &TestStack, who: &Session, pet: &str, question: &str) -> integration_tests::Reply {
    t.post(&format!("/pets/{pet}/tips"), json!({"question": question}), Some(&who.access)).await
}

#[tokio::test]
async fn a_tip_knows_the_pet_says_it_is_not_veterinary_advice_and_only_the_owner_asks() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = pet(&t, &ann).await;
    let today = seoul_today(&t);
    record(&t, &ann, &p, today, activity(3.0, 2, 12.0, json!([]))).await;

    let r = ask(&t, &ann, &p, "  요즘 산책을 싫어하는데 어떻게 하면 좋을까요?  ").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["question"], "요즘 산책을 싫어하는데 어떻게 하면 좋을까요?");
    let answer = r.body["answer"].as_str().unwrap();
    assert!(answer.contains("수의사의 진단이나 처방을 대신하지 않습니다"), "{answer}");
    assert!(r.body["disclaimer"].as_str().unwrap().contains("수의사"));
    assert_eq!(r.body["modelId"], "anthropic.claude-3-haiku-20240307-v1:0");
    assert_eq!((r.body["quota"]["used"].as_i64(), r.body["quota"]["limit"].as_i64()), (Some(1), Some(20)));

    // What the model was told: the pet, its age and weight (today's, not the profile's), its
    // week; and to send the owner to a vet for symptoms.
    let calls = asked(&t, "Converse").await;
    assert_eq!(calls.len(), 1);
    let prompt = calls[0]["prompt"].as_str().unwrap();
    for fact in [
        "- 이름: 콩이",
        "- 종류: 강아지 (말티즈)",
        "- 몸무게: 4kg",
        "기록 1일, 하루 평균 산책 3.0km, 평균 활동 수준 보통(2)",
    ] {
        assert!(prompt.contains(fact), "{fact} missing from {prompt}");
    }
    let age = r#"- 나이: "#;
    assert!(prompt.contains(age) && prompt.contains("(2021-03-14 출생)"), "{prompt}");
    assert!(prompt.ends_with("질문: 요즘 산책을 싫어하는데 어떻게 하면 좋을까요?"), "{prompt}");
    assert!(calls[0]["system"].as_str().unwrap().contains("수의사의 진료를 받으라고"));

    // Kept, newest first, for the owner only.
    let second = ask(&t, &ann, &p, "간식은 하루에 얼마나 줘도 되나요?").await;
    assert_eq!(second.status, 201);
    let list = t.call(Method::GET, &format!("/pets/{p}/tips"), None, Some(&ann.access)).await;
    let questions: Vec<&str> =
        list.body["items"].as_array().unwrap().iter().map(|t| t["question"].as_str().unwrap()).collect();
    assert_eq!(questions, vec!["간식은 하루에 얼마나 줘도 되나요?", "요즘 산책을 싫어하는데 어떻게 하면 좋을까요?"]);
    assert_eq!(ask(&t, &bob, &p, "우리 애도 그런가요?").await.status, 403);
    assert_eq!(t.call(Method::GET, &format!("/pets/{p}/tips"), None, Some(&bob.access)).await.status, 403);
    assert_eq!(ask(&t, &ann, "01JD3K4Q5R6S7T8V9W0XYZABCD", "안녕하세요").await.status, 404);
    assert_eq!(t.post(&format!("/pets/{p}/tips"), json!({"question": "산책"}), None).await.status, 401);
    // Questions are checked before the model is asked.
    let long = ask(&t, &ann, &p, &"가".repeat(501)).await;
    assert_eq!((long.status, long.body["errors"][0]["field"].as_str()), (400, Some("question")), "{:?}", long.body);
    assert_eq!(ask(&t, &ann, &p, "   ").await.status, 400);
    assert_eq!(asked(&t, "Converse").await.len(), 2, "refused questions reach no model");
    t.stop().await;
}

#[tokio::test]
async fn the_daily_quota_is_exact_under_racing_questions_and_a_busy_model_charges_nothing() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;

    // A throttled model (every try the SDK makes) or one that times out: 503 with Retry-After.
    let rule = json!({"service": "bedrock", "operation": "Converse", "error": "ThrottlingException"});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let busy = ask(&t, &ann, &p, "산책은 얼마나 시켜야 하나요?").await;
    assert_eq!((busy.status, busy.body["code"].as_str()), (503, Some("MODEL_BUSY")), "{:?}", busy.body);
    assert!(busy.headers.get("retry-after").is_some(), "{:?}", busy.headers);
    t.call(Method::DELETE, "/_local/faults", None, None).await;
    let rule = json!({"service": "bedrock", "operation": "Converse", "error": "ModelTimeoutException", "times": 1});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let slow = ask(&t, &ann, &p, "산책은 얼마나 시켜야 하나요?").await;
    assert_eq!((slow.status, slow.body["code"].as_str()), (503, Some("MODEL_TIMEOUT")), "{:?}", slow.body);
    assert_eq!(t.call(Method::GET, &format!("/pets/{p}/tips"), None, Some(&ann.access)).await.body["items"], json!([]));

    // 24 questions at once against a quota of 20: exactly 20 answered, the rest told when to
    // come back, and none of the failures above counted.
    let questions: Vec<String> = (0..24).map(|i| format!("산책 질문 {i}번")).collect();
    let answers = futures::future::join_all(questions.iter().map(|q| ask(&t, &ann, &p, q))).await;
    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for a in &answers {
        *by_status.entry(a.status).or_default() += 1;
    }
    assert_eq!(by_status, std::collections::BTreeMap::from([(201, 20), (429, 4)]), "{answers:?}");
    let refused = answers.iter().find(|a| a.status == 429).unwrap();
    assert_eq!(refused.body["code"], "TIP_QUOTA_EXCEEDED");
    let wait: u64 = refused.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "until midnight in Seoul: {wait}");
    let kept = t.call(Method::GET, &format!("/pets/{p}/tips?limit=50"), None, Some(&ann.access)).await;
    assert_eq!(kept.body["items"].as_array().unwrap().len(), 20);
    // Asked again later in the day: still refused, before any model call.
    let before = asked(&t, "Converse").await.len();
    assert_eq!(ask(&t, &ann, &p, "하나만 더요").await.status, 429);
    assert_eq!(asked(&t, "Converse").await.len(), before);
    t.stop().await;
}

#[tokio::test]
async fn a_weekly_report_matches_hand_computed_figures_and_its_summary_is_written_once_by_the_job() {
    let (t, clock) = TestStack::start_with_clock().await;
    // A Wednesday in Seoul: weeks 2026-W49 (11-30 … 12-06) and W50 (12-07 … 12-13) have ended.
    let target = chrono::NaiveDate::from_ymd_opt(2026, 12, 16).unwrap().and_hms_opt(10, 0, 0).unwrap().and_utc()
        - chrono::Duration::hours(9);
    clock.advance(target - t.stack.ctx.now());
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = pet(&t, &ann).await;
    let d = |m: u32, day: u32| chrono::NaiveDate::from_ymd_opt(2026, m, day).unwrap();
    let meal = |kcal: f64, grams: f64, eaten: f64| json!({"type": "DINNER", "totalCalories": kcal, "totalGrams": grams, "consumedGrams": eaten});
    // The week before: 2 km at level 2 (15 kcal) with one meal (150 kcal), and a day at home.
    record(&t, &ann, &p, d(12, 1), activity(2.0, 2, 10.0, json!([meal(300.0, 100.0, 50.0)]))).await;
    record(&t, &ann, &p, d(12, 3), activity(0.0, 1, 14.0, json!([]))).await;
    // The week: 3 km at level 2 (22.5), 1.5 km at 3 (12.75), 2.5 km at 4 (23.75); meals of
    // 280 + 0 and 200 kcal.
    record(&t, &ann, &p, d(12, 7), activity(3.0, 2, 12.0, json!([meal(350.0, 100.0, 80.0), meal(50.0, 0.0, 0.0)])))
        .await;
    record(&t, &ann, &p, d(12, 9), activity(1.5, 3, 11.0, json!([meal(200.0, 100.0, 100.0)]))).await;
    record(&t, &ann, &p, d(12, 13), activity(2.5, 4, 13.0, json!([]))).await;

    let report = |week: &str| {
        let (path, token) = (format!("/pets/{p}/activity-reports?week={week}"), ann.access.clone());
        let t = &t;
        async move { t.call(Method::GET, &path, None, Some(&token)).await }
    };
    let r = report("2026-W50").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!((r.body["from"].as_str(), r.body["to"].as_str()), (Some("2026-12-07"), Some("2026-12-13")));
    assert_eq!(
        r.body["figures"],
        json!({"daysRecorded": 3, "walkDays": 3, "distanceKm": 7.0, "caloriesBurned": 59.0,
               "caloriesConsumed": 480.0, "meals": 3, "averageSleepHours": 12.0})
    );
    assert_eq!(
        r.body["previous"],
        json!({"daysRecorded": 2, "walkDays": 1, "distanceKm": 2.0, "caloriesBurned": 15.0,
               "caloriesConsumed": 150.0, "meals": 1, "averageSleepHours": 12.0})
    );
    assert_eq!(
        r.body["changes"],
        json!({"walkDays": 200.0, "distanceKm": 250.0, "caloriesBurned": 293.3, "caloriesConsumed": 220.0, "meals": 200.0})
    );
    assert_eq!(r.body["summary"], Value::Null, "the model writes after the week, in the job");
    // This week so far: nothing yet, down 100 % on each; from nothing, no change at all.
    let now = report("2026-W51").await;
    assert_eq!(now.body["figures"]["daysRecorded"], 0);
    assert_eq!(now.body["changes"]["distanceKm"], -100.0);
    assert_eq!(report("2026-W49").await.body["changes"]["distanceKm"], Value::Null);
    let default = t.call(Method::GET, &format!("/pets/{p}/activity-reports"), None, Some(&ann.access)).await;
    assert_eq!(default.body["week"], "2026-W51");
    for (week, code) in [("2026-W52", "IN_THE_FUTURE"), ("2026-50", "INVALID_FORMAT"), ("2026-W54", "INVALID_FORMAT")] {
        let bad = report(week).await;
        assert_eq!((bad.status, bad.body["errors"][0]["code"].as_str()), (400, Some(code)), "{week}: {:?}", bad.body);
    }
    let theirs =
        t.call(Method::GET, &format!("/pets/{p}/activity-reports?week=2026-W50"), None, Some(&bob.access)).await;
    assert_eq!(theirs.status, 403);
    assert!(asked(&t, "Converse").await.is_empty(), "no model call on the request path");

    // The job: one summary per pet and ended week, with the week's figures in the prompt.
    let run = t.post("/_local/jobs/health-weekly-summaries/run", json!({}), None).await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    assert_eq!(run.body["result"]["written"], 2, "{:?}", run.body);
    let calls = asked(&t, "Converse").await;
    let w50 =
        calls.iter().map(|c| c["prompt"].as_str().unwrap()).find(|p| p.contains("2026-12-07 ~ 2026-12-13")).unwrap();
    for fact in [
        "- 기록한 날: 3일",
        "- 산책한 날: 3일 (지난주보다 +200.0%), 총 7km (지난주보다 +250.0%)",
        "- 소모 칼로리: 59kcal (지난주보다 +293.3%)",
        "- 식사: 3회",
    ] {
        assert!(w50.contains(fact), "{fact} missing from {w50}");
    }
    let r = report("2026-W50").await;
    let summary = &r.body["summary"];
    assert_eq!(summary["week"], "2026-W50");
    assert!(summary["text"].as_str().unwrap().contains("위 기록을 요약해 주세요."), "{summary:?}");
    // Once: a second run finds nothing left to write, and the model is not asked again.
    let again = t.post("/_local/jobs/health-weekly-summaries/run", json!({}), None).await;
    assert_eq!(again.body["result"]["written"], 0, "{:?}", again.body);
    assert_eq!(asked(&t, "Converse").await.len(), 2);
    t.stop().await;
}

#[tokio::test]
async fn a_busy_model_leaves_the_weeks_summaries_to_the_next_run() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    let today = seoul_today(&t);
    record(&t, &ann, &p, today, activity(1.0, 2, 12.0, json!([]))).await;
    clock.advance(chrono::Duration::days(8));
    let rule = json!({"service": "bedrock", "operation": "Converse", "error": "ThrottlingException"});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let run = t.post("/_local/jobs/health-weekly-summaries/run", json!({}), None).await;
    assert_eq!(
        (run.body["result"]["written"].as_u64(), run.body["result"]["stopped"].as_str()),
        (Some(0), Some("MODEL_BUSY"))
    );
    t.call(Method::DELETE, "/_local/faults", None, None).await;
    let run = t.post("/_local/jobs/health-weekly-summaries/run", json!({}), None).await;
    assert_eq!(run.body["result"]["written"], 1, "{:?}", run.body);
    let week = health::weekly::week_of(today);
    let r = t.call(Method::GET, &format!("/pets/{p}/activity-reports?week={week}"), None, Some(&ann.access)).await;
    assert!(r.body["summary"]["text"].is_string(), "{:?}", r.body);
    t.stop().await;
}
