//! What a hostile probe found, each reproduced: races and inputs that used to break a rule.

use std::time::Duration;

use integration_tests::{Session, TestStack};
use reqwest::Method;
use serde_json::{Value, json};

const PW: &str = "walks4ever";

async fn inbox(t: &TestStack, who: &Session) -> Vec<Value> {
    t.call(Method::GET, "/notifications?limit=50", None, Some(&who.access)).await.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn deleting_all_notifications_while_deleting_single_ones_keeps_the_unread_count_exact() {
    let t = TestStack::start().await;
    let ann = t.user("ann@example.com", "ann", PW).await;
    let bob = t.user("bob@example.com", "bob", PW).await;
    let post = t.post("/posts", json!({"content": "좋아요 실험"}), Some(&ann.access)).await;
    let like = format!("/posts/{}/like", post.body["id"].as_str().unwrap());
    let unread = || async {
        t.call(Method::GET, "/notifications/unread-count", None, Some(&ann.access)).await.body["count"].clone()
    };
    for trial in 0..=30 {
        // Four unread notifications (each like after an unlike is a new one); the counter must
        // say four, whatever the races before left behind (it shows 0 when it drifted below).
        for _ in 0..4 {
            t.call(Method::PUT, &like, None, Some(&bob.access)).await;
            t.call(Method::DELETE, &like, None, Some(&bob.access)).await;
        }
        let items = t
            .eventually(Duration::from_secs(10), "four notifications", || async {
                let items = inbox(&t, &ann).await;
                (items.len() == 4).then_some(items)
            })
            .await;
        assert_eq!(unread().await, 4, "trial {trial}: the counter drifted");
        if trial == 30 {
            break;
        }
        let singles = items.iter().take(3).map(|n| {
            let path = format!("/notifications/{}", n["id"].as_str().unwrap());
            let t = &t;
            let token = ann.access.clone();
            async move { t.call(Method::DELETE, &path, None, Some(&token)).await.status }
        });
        let all = t.call(Method::DELETE, "/notifications", None, Some(&ann.access));
        let (statuses, all) = futures::join!(futures::future::join_all(singles), all);
        assert!(statuses.iter().all(|s| [204, 404, 409].contains(s)), "trial {trial}: {statuses:?}");
        if all.status == 409 {
            t.call(Method::DELETE, "/notifications", None, Some(&ann.access)).await;
        }
        assert!(inbox(&t, &ann).await.is_empty(), "trial {trial}");
    }
    t.stop().await;
}
