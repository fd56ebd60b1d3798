//! Health care over HTTP: a pet's days of activity with the calorie maths, the owner's alone.

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn pet(t: &TestStack, who: &Session) -> String {
    let body = json!({"name": "콩이", "speciesId": "dog-maltese", "gender": "FEMALE", "birthday": "2021-03-14"});
    let r = t.post("/pets", body, Some(&who.access)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn seoul_today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(9)).date_naive()
}

fn day() -> Value {
    json!({"distanceKm": 3, "activityLevel": 2, "weightKg": 4, "sleepHours": 12, "poopCount": 2, "peeCount": 4,
           "memo": "한강 산책", "meals": [
               {"type": "BREAKFAST", "totalCalories": 350, "totalGrams": 100, "consumedGrams": 80},
               {"type": "SNACK", "totalCalories": 50, "totalGrams": 0, "consumedGrams": 0}]})
}

#[tokio::test]
async fn a_day_of_activity_is_recorded_with_its_calorie_maths_and_charted_by_week() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    let today = seoul_today();
    let r = t.call(Method::PUT, &format!("/pets/{p}/activities/{today}"), Some(day()), Some(&ann.access)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let a = &r.body;
    assert_eq!(
        (a["caloriesBurned"].as_f64(), a["recommendedBurn"].as_f64(), a["recommendedIntake"].as_f64()),
        (Some(22.5), Some(420.0), Some(600.0))
    );
    assert_eq!(a["meals"][0]["consumedCalories"], 280.0);
    assert_eq!(a["meals"][1]["consumedCalories"], 0.0, "zero grams: zero, not a division by zero");
    assert_eq!(a["consumedCalories"], 280.0);
    // Writing the day again replaces it.
    let mut lazy = day();
    lazy["activityLevel"] = json!(1);
    lazy["meals"] = json!([]);
    let r = t.call(Method::PUT, &format!("/pets/{p}/activities/{today}"), Some(lazy), Some(&ann.access)).await;
    assert_eq!((r.body["caloriesBurned"].as_f64(), r.body["consumedCalories"].as_f64()), (Some(18.0), Some(0.0)));
    let got = t.call(Method::GET, &format!("/pets/{p}/activities/{today}"), None, Some(&ann.access)).await;
    assert_eq!(got.body["activityLevel"], 1);
    let two_days_ago = today - chrono::Duration::days(2);
    t.call(Method::PUT, &format!("/pets/{p}/activities/{two_days_ago}"), Some(day()), Some(&ann.access)).await;

    // A week's chart: one point per day, null where nothing was recorded.
    let from = today - chrono::Duration::days(6);
    let week =
        t.call(Method::GET, &format!("/pets/{p}/activities?from={from}&to={today}"), None, Some(&ann.access)).await;
    assert_eq!(week.status, 200, "{:?}", week.body);
    let days = week.body["days"].as_array().unwrap();
    assert_eq!(days.len(), 7);
    let recorded: Vec<bool> = days.iter().map(|d| !d["activity"].is_null()).collect();
    assert_eq!(recorded, vec![false, false, false, false, true, false, true]);
    assert_eq!(days[6]["date"], today.to_string());
    let long = t
        .call(
            Method::GET,
            &format!("/pets/{p}/activities?from={}&to={today}", today - chrono::Duration::days(7)),
            None,
            Some(&ann.access),
        )
        .await;
    assert_eq!(long.status, 400, "at most 7 days");

    // Bad input is a 400 naming the field; the future is refused; a missing day is a 404.
    for (field, value) in [
        ("distanceKm", json!(-1)),
        ("weightKg", json!(0)),
        ("weightKg", json!(151)),
        ("sleepHours", json!(25)),
        ("activityLevel", json!(5)),
    ] {
        let mut bad = day();
        bad[field] = value;
        let r = t.call(Method::PUT, &format!("/pets/{p}/activities/{today}"), Some(bad), Some(&ann.access)).await;
        assert_eq!(r.status, 400, "{field}");
        assert_eq!(r.body["errors"][0]["field"], field);
    }
    let mut greedy = day();
    greedy["meals"][0]["consumedGrams"] = json!(101);
    let r = t.call(Method::PUT, &format!("/pets/{p}/activities/{today}"), Some(greedy), Some(&ann.access)).await;
    assert_eq!(r.body["errors"][0]["code"], "MORE_THAN_SERVED");
    let tomorrow = today + chrono::Duration::days(1);
    let r = t.call(Method::PUT, &format!("/pets/{p}/activities/{tomorrow}"), Some(day()), Some(&ann.access)).await;
    assert_eq!((r.status, r.body["errors"][0]["code"].as_str()), (400, Some("IN_THE_FUTURE")));
    let r = t
        .call(
            Method::GET,
            &format!("/pets/{p}/activities/{}", today - chrono::Duration::days(1)),
            None,
            Some(&ann.access),
        )
        .await;
    assert_eq!((r.status, r.body["code"].as_str()), (404, Some("ACTIVITY_NOT_FOUND")));
    let levels = t.get("/health/activity-levels").await;
    assert_eq!(
        levels.body["levels"].as_array().unwrap().iter().map(|l| l["factor"].as_f64().unwrap()).collect::<Vec<_>>(),
        vec![1.2, 1.5, 1.7, 1.9]
    );
    t.stop().await;
}

#[tokio::test]
async fn health_records_are_the_owners_alone() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = pet(&t, &ann).await;
    let today = seoul_today();
    let path = format!("/pets/{p}/activities/{today}");
    assert_eq!(t.call(Method::PUT, &path, Some(day()), Some(&ann.access)).await.status, 200);
    for (m, body) in [(Method::PUT, Some(day())), (Method::GET, None)] {
        let r = t.call(m.clone(), &path, body.clone(), Some(&bob.access)).await;
        assert_eq!((r.status, r.body["code"].as_str()), (403, Some("NOT_YOUR_PET")), "{m}");
        assert_eq!(t.call(m, &path, body, None).await.status, 401);
    }
    let week =
        t.call(Method::GET, &format!("/pets/{p}/activities?from={today}&to={today}"), None, Some(&bob.access)).await;
    assert_eq!(week.status, 403);
    let none = t
        .call(Method::GET, &format!("/pets/01JD3K4Q5R6S7T8V9W0XYZABCD/activities/{today}"), None, Some(&ann.access))
        .await;
    assert_eq!((none.status, none.body["code"].as_str()), (404, Some("PET_NOT_FOUND")));
    // Bob's copy of the day never replaced Ann's.
    assert_eq!(t.call(Method::GET, &path, None, Some(&ann.access)).await.body["activityLevel"], 2);
    t.stop().await;
}

async fn schedule(t: &TestStack, who: &Session, pet: &str, body: Value) -> integration_tests::Reply {
    t.post(&format!("/pets/{pet}/schedules"), body, Some(&who.access)).await
}

#[tokio::test]
async fn schedules_keep_the_rules_and_the_calendar_lists_their_occurrences() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = pet(&t, &ann).await;
    let yesterday = seoul_today() - chrono::Duration::days(1);

    // The rules.
    let past =
        schedule(&t, &ann, &p, json!({"title": "산책", "type": "CARE", "startDate": yesterday.to_string()})).await;
    assert_eq!((past.status, past.body["errors"][0]["code"].as_str()), (400, Some("IN_THE_PAST")));
    let backwards = schedule(
        &t,
        &ann,
        &p,
        json!({"title": "산책", "type": "CARE", "startDate": "2031-01-10", "endDate": "2031-01-09"}),
    )
    .await;
    assert_eq!(backwards.body["errors"][0]["code"], "BEFORE_START");
    let odd = schedule(
        &t,
        &ann,
        &p,
        json!({"title": "산책", "type": "VACCINATION", "subType": "WALK", "startDate": "2031-01-10"}),
    )
    .await;
    assert_eq!(odd.body["errors"][0]["code"], "NOT_OF_TYPE");
    let once = schedule(
        &t,
        &ann,
        &p,
        json!({"title": "미용", "type": "CARE", "subType": "GROOMING", "startDate": "2031-01-10", "times": ["14:00"]}),
    )
    .await;
    assert_eq!(once.status, 201, "{:?}", once.body);
    assert_eq!(
        (once.body["endDate"].as_str(), once.body["recurrence"].as_str()),
        (Some("2031-01-10"), Some("NONE")),
        "no end: the start day"
    );
    let pill = schedule(
        &t,
        &ann,
        &p,
        json!({"title": "항생제", "type": "MEDICATION", "startDate": "2031-01-01", "endDate": "2031-01-03", "recurrence": "DAILY",
               "times": ["07:00"], "medication": {"drugName": "아목시실린", "dosage": "1정", "durationDays": 3, "frequencyPerDay": 2}}),
    )
    .await;
    assert_eq!(pill.status, 201, "{:?}", pill.body);
    assert_eq!(pill.body["subType"], "PILL");
    assert_eq!(pill.body["times"], json!(["08:00", "20:00"]), "twice a day: the usual times");

    // Recurrences in a calendar window (62 days at most).
    for body in [
        json!({"title": "격일 산책", "type": "EXERCISE", "startDate": "2031-01-01", "recurrence": "DAILY", "interval": 2, "endDate": "2031-01-09"}),
        json!({"title": "주간 목욕", "type": "CARE", "startDate": "2031-01-01", "recurrence": "WEEKLY", "endDate": "2031-01-31"}),
        json!({"title": "심장사상충", "type": "MEDICATION", "subType": "SUPPLEMENT", "startDate": "2031-01-31", "recurrence": "MONTHLY",
               "medication": {"drugName": "하트가드", "frequencyPerDay": 1}}),
    ] {
        assert_eq!(schedule(&t, &ann, &p, body).await.status, 201);
    }
    // The calendar reads the pet's schedules through an index, a moment behind a change (the
    // answer to each create holds the schedule).
    t.indexed().await;
    let cal = t
        .call(Method::GET, &format!("/pets/{p}/schedules?from=2031-01-01&to=2031-03-03"), None, Some(&ann.access))
        .await;
    assert_eq!(cal.status, 200, "{:?}", cal.body);
    let got: Vec<(String, String)> = cal.body["occurrences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["date"].as_str().unwrap().to_string(), title_of(&cal.body, o).to_string()))
        .collect();
    // Each schedule once (the five in the window), the days referring to it.
    assert_eq!(cal.body["schedules"].as_array().unwrap().len(), 5, "{}", cal.body);
    let want: Vec<(String, String)> = [
        ("2031-01-01", "주간 목욕"),
        ("2031-01-01", "격일 산책"),
        ("2031-01-01", "항생제"),
        ("2031-01-02", "항생제"),
        ("2031-01-03", "격일 산책"),
        ("2031-01-03", "항생제"),
        ("2031-01-05", "격일 산책"),
        ("2031-01-07", "격일 산책"),
        ("2031-01-08", "주간 목욕"),
        ("2031-01-09", "격일 산책"),
        ("2031-01-10", "미용"),
        ("2031-01-15", "주간 목욕"),
        ("2031-01-22", "주간 목욕"),
        ("2031-01-29", "주간 목욕"),
        ("2031-01-31", "심장사상충"),
        ("2031-02-28", "심장사상충"),
    ]
    .iter()
    .map(|(d, n)| (d.to_string(), n.to_string()))
    .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    let wide = t
        .call(Method::GET, &format!("/pets/{p}/schedules?from=2031-01-01&to=2031-03-04"), None, Some(&ann.access))
        .await;
    assert_eq!(wide.status, 400, "62 days at most");

    // The owner's alone; the alarm keeps its days-before setting.
    let id = once.body["id"].as_str().unwrap();
    for (m, path, body) in [
        (Method::GET, format!("/schedules/{id}"), None),
        (Method::PATCH, format!("/schedules/{id}"), Some(json!({"title": "x"}))),
        (Method::DELETE, format!("/schedules/{id}"), None),
        (Method::GET, format!("/pets/{p}/schedules?from=2031-01-01&to=2031-01-02"), None),
    ] {
        let r = t.call(m.clone(), &path, body.clone(), Some(&bob.access)).await;
        assert!(r.status == 403 || r.status == 404, "{m} {path}: {}", r.status);
        assert_eq!(t.call(m, &path, body, None).await.status, 401);
    }
    let alarm = format!("/schedules/{id}/alarm");
    let set = t
        .call(Method::PATCH, &format!("/schedules/{id}"), Some(json!({"reminderDaysBefore": 3})), Some(&ann.access))
        .await;
    assert_eq!(set.status, 200, "{:?}", set.body);
    let on = t.call(Method::PUT, &alarm, Some(json!({"enabled": true})), Some(&ann.access)).await;
    assert_eq!(
        (on.body["alarmEnabled"].as_bool(), on.body["reminderDaysBefore"].as_u64()),
        (Some(true), Some(1)),
        "default 1"
    );
    t.call(Method::PATCH, &format!("/schedules/{id}"), Some(json!({"reminderDaysBefore": 2})), Some(&ann.access)).await;
    t.call(Method::PUT, &alarm, Some(json!({"enabled": false})), Some(&ann.access)).await;
    let back = t.call(Method::PUT, &alarm, Some(json!({"enabled": true})), Some(&ann.access)).await;
    assert_eq!(back.body["reminderDaysBefore"], 2, "restored");
    assert_eq!(t.call(Method::DELETE, &format!("/schedules/{id}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(t.call(Method::GET, &format!("/schedules/{id}"), None, Some(&ann.access)).await.status, 404);
    let types = t.get("/health/schedule-types").await;
    assert_eq!(types.body["types"].as_array().unwrap().len(), 5);
    t.stop().await;
}

/// Moves the stack's clock to `hh:mm` (Seoul) on `day`.
fn advance_to(t: &TestStack, clock: &shared::clock::OffsetClock, day: chrono::NaiveDate, hh: u32, mm: u32) {
    let target = day.and_hms_opt(hh, mm, 1).unwrap().and_utc() - chrono::Duration::hours(9);
    clock.advance(target - t.stack.ctx.now());
}

async fn run_reminders(t: &TestStack) -> Value {
    let r = t.post("/_local/jobs/health-reminders/run", json!({}), None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["result"].clone()
}

async fn reminders_in_inbox(t: &TestStack, who: &Session) -> Vec<String> {
    t.settle().await;
    let r = t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await;
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "HEALTH_REMINDER")
        .map(|n| n["body"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn reminders_come_on_time_exactly_once_and_catch_up_after_an_outage() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    let today = seoul_today();
    let (d1, d3) = (today + chrono::Duration::days(1), today + chrono::Duration::days(3));
    let walk = json!({"title": "산책", "type": "CARE", "subType": "WALK", "startDate": d1.to_string(), "times": ["08:00"],
                      "reminderDaysBefore": 0, "alarmEnabled": true});
    assert_eq!(schedule(&t, &ann, &p, walk).await.status, 201);
    let pill = json!({"title": "심장사상충 약", "type": "MEDICATION", "startDate": d3.to_string(), "times": ["08:00"],
                      "reminderDaysBefore": 2, "alarmEnabled": true, "medication": {"drugName": "하트가드", "frequencyPerDay": 1}});
    let r = schedule(&t, &ann, &p, pill).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["times"], json!(["08:00"]));
    let gone =
        json!({"title": "미용", "type": "CARE", "startDate": d1.to_string(), "times": ["10:00"], "alarmEnabled": true});
    let gone_id = schedule(&t, &ann, &p, gone).await.body["id"].as_str().unwrap().to_string();
    assert_eq!(t.call(Method::DELETE, &format!("/schedules/{gone_id}"), None, Some(&ann.access)).await.status, 204);
    run_reminders(&t).await;

    // 2 days before the pill: at 00:00 of day 1 (Seoul).
    advance_to(&t, &clock, d1, 0, 0);
    assert_eq!(run_reminders(&t).await["sent"], 1);
    assert_eq!(reminders_in_inbox(&t, &ann).await, vec!["2일후 08:00에 심장사상충 약 복용 예정입니다.".to_string()]);
    // Nothing before 08:00; at 08:00, the walk.
    advance_to(&t, &clock, d1, 7, 59);
    assert_eq!(run_reminders(&t).await["sent"], 0);
    advance_to(&t, &clock, d1, 8, 0);
    assert_eq!(run_reminders(&t).await["sent"], 1);
    // The same minute again: nothing more.
    assert_eq!(run_reminders(&t).await["sent"], 0);
    let inbox = reminders_in_inbox(&t, &ann).await;
    assert_eq!(inbox.iter().filter(|b| *b == "지금 08:00 산책 시간입니다").count(), 1, "{inbox:?}");
    // The deleted schedule's 10:00 passes without a word.
    advance_to(&t, &clock, d1, 10, 30);
    assert_eq!(run_reminders(&t).await["sent"], 0);

    // A job down for ten minutes catches up without duplicates.
    let d2 = today + chrono::Duration::days(2);
    let twice = json!({"title": "물 주기", "type": "CARE", "startDate": d2.to_string(), "times": ["09:00", "09:05"], "alarmEnabled": true});
    assert_eq!(schedule(&t, &ann, &p, twice).await.status, 201);
    advance_to(&t, &clock, d2, 8, 59);
    run_reminders(&t).await;
    advance_to(&t, &clock, d2, 9, 10);
    assert_eq!(run_reminders(&t).await["sent"], 2);
    assert_eq!(run_reminders(&t).await["sent"], 0);
    let inbox = reminders_in_inbox(&t, &ann).await;
    assert_eq!(inbox.len(), 4, "{inbox:?}");
    assert!(inbox.contains(&"지금 09:05 물 주기 시간입니다".to_string()));

    // Moving a schedule moves its reminders; turning its alarm off silences it.
    let d4 = today + chrono::Duration::days(4);
    let brush =
        json!({"title": "양치", "type": "CARE", "startDate": d4.to_string(), "times": ["08:00"], "alarmEnabled": true});
    let brush = schedule(&t, &ann, &p, brush).await.body["id"].as_str().unwrap().to_string();
    let moved = t
        .call(Method::PATCH, &format!("/schedules/{brush}"), Some(json!({"times": ["08:30"]})), Some(&ann.access))
        .await;
    assert_eq!(moved.status, 200, "{:?}", moved.body);
    let bath =
        json!({"title": "목욕", "type": "CARE", "startDate": d4.to_string(), "times": ["08:10"], "alarmEnabled": true});
    let bath = schedule(&t, &ann, &p, bath).await.body["id"].as_str().unwrap().to_string();
    let off = t
        .call(Method::PUT, &format!("/schedules/{bath}/alarm"), Some(json!({"enabled": false})), Some(&ann.access))
        .await;
    assert_eq!(off.body["alarmEnabled"], false);
    advance_to(&t, &clock, d4, 7, 50);
    run_reminders(&t).await;
    advance_to(&t, &clock, d4, 8, 20);
    assert_eq!(run_reminders(&t).await["sent"], 0, "not at 08:00 any more, and not the bath");
    advance_to(&t, &clock, d4, 8, 30);
    assert_eq!(run_reminders(&t).await["sent"], 1);
    assert!(reminders_in_inbox(&t, &ann).await.contains(&"지금 08:30 양치 시간입니다".to_string()));
    t.stop().await;
}

#[tokio::test]
async fn the_daily_job_carries_the_reminders_of_ongoing_schedules_forward() {
    let (t, clock) = TestStack::start_with_clock().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    let start = seoul_today() + chrono::Duration::days(1);
    let walk = json!({"title": "산책", "type": "CARE", "startDate": start.to_string(), "recurrence": "DAILY", "times": ["09:00"], "alarmEnabled": true});
    let r = schedule(&t, &ann, &p, walk).await;
    assert_eq!(r.status, 201);
    let filed = |day: chrono::NaiveDate| {
        let minute =
            (day.and_hms_opt(9, 0, 0).unwrap() - chrono::Duration::hours(9)).format("%Y-%m-%dT%H:%M").to_string();
        let query = shared::table::Query::partition(health::keys::reminders_partition(&minute));
        let table = t.stack.ctx.table.clone();
        async move { table.query_items(&query).await.unwrap().items.len() }
    };
    let today = seoul_today();
    assert_eq!(filed(today + chrono::Duration::days(14)).await, 1, "filed 14 days ahead");
    assert_eq!(filed(today + chrono::Duration::days(20)).await, 0, "not yet further");
    // Ten days on, the daily job files the days that entered the window.
    clock.advance(chrono::Duration::days(10));
    t.indexed().await; // the job finds the schedules to carry forward through an index
    let run = t.post("/_local/jobs/health-reminders-forward/run", json!({}), None).await;
    assert_eq!(run.body["result"]["carried"], 1, "{:?}", run.body);
    assert_eq!(filed(today + chrono::Duration::days(20)).await, 1);
    let again = t.post("/_local/jobs/health-reminders-forward/run", json!({}), None).await;
    assert_eq!(again.body["result"]["carried"], 0, "nothing new the same day");
    t.stop().await;
}

/// The title of the calendar's schedule an occurrence refers to.
fn title_of<'a>(calendar: &'a Value, occurrence: &Value) -> &'a str {
    calendar["schedules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == occurrence["scheduleId"])
        .and_then(|s| s["title"].as_str())
        .expect("the occurrence's schedule is in the calendar")
}

async fn prescription(t: &TestStack, who: &Session, pet: &str, fixture: &str) -> String {
    let key = t.upload_png(who, "prescription", local_stack::clova_sandbox::fixture_image(fixture).to_vec()).await;
    let r = t.post(&format!("/pets/{pet}/prescriptions"), json!({"imageKey": key}), Some(&who.access)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (202, Some("PENDING")), "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

async fn read(t: &TestStack, who: &Session, id: &str) -> Value {
    t.eventually(std::time::Duration::from_secs(15), "the prescription read", || async {
        let r = t.call(Method::GET, &format!("/prescriptions/{id}"), None, Some(&who.access)).await;
        matches!(r.body["status"].as_str(), Some("DONE" | "FAILED")).then_some(r.body)
    })
    .await
}

#[tokio::test]
async fn a_prescription_photo_becomes_medication_schedules_once() {
    use integration_tests::ws::{connect, frame_of};
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let p = pet(&t, &ann).await;
    let mut socket = connect(&t, &ann).await;
    let id = prescription(&t, &ann, &p, "envelope-two-drugs").await;
    let rx = read(&t, &ann, &id).await;
    assert_eq!(rx["status"], "DONE", "{rx:?}");
    let drugs: Vec<(String, u64, u64)> = rx["drugs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (d["name"].as_str().unwrap().to_string(), d["days"].as_u64().unwrap(), d["timesPerDay"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(drugs, vec![("아목시실린캡슐500mg".to_string(), 5, 2), ("메트로니다졸정250mg".to_string(), 3, 3)]);
    assert!(rx["text"].as_str().unwrap().contains("행복약국 복약안내"));
    let frame = frame_of(&mut socket, "prescription.done").await;
    assert_eq!(frame["prescriptionId"], id.as_str());

    // One medication schedule per drug: from today, for its days, reminders on the day.
    let ids: Vec<String> =
        rx["scheduleIds"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 2);
    let today = seoul_today();
    let first = t.call(Method::GET, &format!("/schedules/{}", ids[0]), None, Some(&ann.access)).await.body;
    assert_eq!(
        (first["type"].as_str(), first["startDate"].as_str(), first["endDate"].as_str()),
        (
            Some("MEDICATION"),
            Some(today.to_string().as_str()),
            Some((today + chrono::Duration::days(4)).to_string().as_str())
        )
    );
    assert_eq!(first["times"], json!(["08:00", "20:00"]));
    assert_eq!(
        (first["reminderDaysBefore"].as_u64(), first["medication"]["prescription"].as_bool()),
        (Some(0), Some(true))
    );
    let third = t.call(Method::GET, &format!("/schedules/{}", ids[1]), None, Some(&ann.access)).await.body;
    assert_eq!(third["times"], json!(["08:00", "12:00", "20:00"]));

    // The same message again: nothing is made twice.
    let queue = t.stack.ctx.config.queue_url(&health::prescriptions::OCR).to_string();
    t.stack
        .ctx
        .sqs
        .send_message()
        .queue_url(queue)
        .message_body(json!({"prescriptionId": id}).to_string())
        .send()
        .await
        .unwrap();
    t.settle().await;
    let cal = t
        .call(
            Method::GET,
            &format!("/pets/{p}/schedules?from={today}&to={}", today + chrono::Duration::days(10)),
            None,
            Some(&ann.access),
        )
        .await;
    let titles: Vec<&str> =
        cal.body["occurrences"].as_array().unwrap().iter().map(|o| title_of(&cal.body, o)).collect();
    assert_eq!(titles.iter().filter(|t| **t == "아목시실린캡슐500mg").count(), 5, "five days, one schedule");
    assert_eq!(titles.len(), 8);
    let notes = t.call(Method::GET, "/notifications", None, Some(&ann.access)).await;
    let read_notes =
        notes.body["items"].as_array().unwrap().iter().filter(|n| n["type"] == "PRESCRIPTION_READ").count();
    assert_eq!(read_notes, 1);

    // The owner's alone; only a prescription photo of theirs.
    assert_eq!(t.call(Method::GET, &format!("/prescriptions/{id}"), None, Some(&bob.access)).await.status, 403);
    assert_eq!(t.call(Method::GET, &format!("/pets/{p}/prescriptions"), None, Some(&bob.access)).await.status, 403);
    let theirs =
        t.upload_png(&bob, "prescription", local_stack::clova_sandbox::fixture_image("blurred").to_vec()).await;
    let r = t.post(&format!("/pets/{p}/prescriptions"), json!({"imageKey": theirs}), Some(&ann.access)).await;
    assert_eq!(r.status, 400, "someone else's photo");
    let mine = t.call(Method::GET, &format!("/pets/{p}/prescriptions"), None, Some(&ann.access)).await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 1);

    // A blurred photo: nothing to make, and the owner is told.
    let blurred = prescription(&t, &ann, &p, "blurred").await;
    let rx = read(&t, &ann, &blurred).await;
    assert_eq!(rx["status"], "FAILED");
    assert!(rx["failureReason"].as_str().unwrap().starts_with("NO_DRUGS_FOUND"));
    t.stop().await;
}

#[tokio::test]
async fn an_ocr_provider_that_keeps_failing_ends_the_prescription_failed_and_the_message_dead() {
    let mut opts = local_stack::StackOptions::ephemeral();
    opts.visibility_timeout = Some(std::time::Duration::from_secs(1));
    let t = TestStack::start_with(opts).await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    let rule = json!({"service": "clova", "operation": "/general", "error": "ServerError"});
    assert_eq!(t.post("/_local/faults", rule, None).await.status, 201);
    let started = std::time::Instant::now();
    let id = prescription(&t, &ann, &p, "hospital-table").await;
    let rx = read(&t, &ann, &id).await;
    assert_eq!(rx["status"], "FAILED");
    // It backed off between tries (1 s, then 2 s: the base delay doubling), not hammered CLOVA.
    assert!(started.elapsed() >= std::time::Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(rx["attempts"], 3, "retried until the last try");
    assert!(rx["failureReason"].as_str().unwrap().starts_with("OCR_FAILED"), "{rx:?}");
    assert!(rx["scheduleIds"].as_array().unwrap().is_empty());
    let dlq = t
        .eventually(std::time::Duration::from_secs(10), "the message in the dead-letter queue", || async {
            let q = t.get("/_local/queues").await.body;
            (q["ocr-dlq"]["visible"].as_u64() == Some(1)).then_some(q)
        })
        .await;
    assert_eq!(dlq["ocr"]["visible"], 0);
    t.call(Method::DELETE, "/_local/faults", None, None).await;
    // Another photo, with the provider back: read.
    let ok = prescription(&t, &ann, &p, "hospital-table").await;
    assert_eq!(read(&t, &ann, &ok).await["drugs"].as_array().unwrap().len(), 2);
    t.stop().await;
}

#[tokio::test]
async fn a_pet_has_at_most_fifty_schedules_and_its_calendar_stays_small() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let p = pet(&t, &ann).await;
    // Twenty daily schedules with six times and a long memo: the calendar names each once.
    let memo = "약은 밥을 먹은 뒤에 주세요. ".repeat(28).trim().to_string();
    let busy = |i: usize| {
        json!({"title": format!("하루 여섯 번 {i}"), "type": "CARE", "startDate": "2031-01-01", "recurrence": "DAILY",
               "times": ["06:00", "09:00", "12:00", "15:00", "18:00", "21:00"], "memo": memo.clone(), "alarmEnabled": true})
    };
    for i in 0..20 {
        let r = schedule(&t, &ann, &p, busy(i)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    t.indexed().await;
    let path = format!("/pets/{p}/schedules?from=2031-01-01&to=2031-03-03");
    let cal = t.send(t.http.get(t.url(&path)).bearer_auth(&ann.access)).await;
    assert_eq!(cal.status, 200);
    let size = cal.body.to_string().len();
    assert_eq!(cal.body["occurrences"].as_array().unwrap().len(), 20 * 62);
    assert_eq!(cal.body["schedules"].as_array().unwrap().len(), 20);
    assert!(size < 400_000, "a 62-day calendar of 20 busy schedules is {size} bytes");

    // Up to fifty; at the edge, concurrent creates take exactly the slots left.
    let once = |i: usize| json!({"title": format!("한 번 {i}"), "type": "CARE", "startDate": "2031-02-01"});
    for i in 20..47 {
        assert_eq!(schedule(&t, &ann, &p, once(i)).await.status, 201);
    }
    let racing = futures::future::join_all((47..53).map(|i| schedule(&t, &ann, &p, once(i)))).await;
    let made = racing.iter().filter(|r| r.status == 201).count();
    let refused: Vec<_> =
        racing.iter().filter(|r| r.status != 201).map(|r| (r.status, r.body["code"].clone())).collect();
    assert_eq!(made, 3, "{refused:?}");
    assert!(refused.iter().all(|(s, c)| *s == 409 && c == "TOO_MANY_SCHEDULES"), "{refused:?}");
    let one_more = schedule(&t, &ann, &p, once(99)).await;
    assert_eq!((one_more.status, one_more.body["code"].as_str()), (409, Some("TOO_MANY_SCHEDULES")));
    // A deleted schedule frees its slot.
    let first = racing.iter().find(|r| r.status == 201).unwrap().body["id"].as_str().unwrap().to_string();
    assert_eq!(t.call(Method::DELETE, &format!("/schedules/{first}"), None, Some(&ann.access)).await.status, 204);
    assert_eq!(schedule(&t, &ann, &p, once(100)).await.status, 201);
    t.stop().await;
}
