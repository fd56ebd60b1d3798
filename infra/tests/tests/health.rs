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
        levels.body.as_array().unwrap().iter().map(|l| l["factor"].as_f64().unwrap()).collect::<Vec<_>>(),
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
