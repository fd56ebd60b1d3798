//! The notification worker: stores each event as a notification — once, whatever SQS redelivers —
//! unless it is the recipient's own action, crosses a block, or the recipient turned that type
//! off; and emails it when the recipient asked for email.

use std::sync::Arc;

use notifications_contract::{NotificationEvent, NotificationKind};
use shared::error::Tolerate;
use shared::mail::Email;
use shared::routes::{Function, Permission, Worker};
use shared::table::{Write, n, s};
use shared::worker::MessageError;
use shared::{AppContext, queues};

use crate::error::NotificationError;
use crate::model::{Actor, Notification, counter_key};

pub static NOTIFICATION_WORKER: Function = Function::worker(
    "notifications-worker",
    crate::PKG,
    Worker {
        name: "notifications",
        queue: &notifications_contract::NOTIFICATIONS,
        batch_size: 10,
        handler: shared::consumer!(handle),
        summary: "Stores notifications from domain events, pushes them to the recipient's live connections, and queues the Web Push and email the recipient asked for",
        example: r#"{"eventId":"like:01JD3K4Q5R6S7T8V9W0XYZABCD:01JD3K4Q5R6S7T8V9W0XYZABCE:01JD3K4Q5R6S7T8V9W0XYZABCF","kind":"LIKE","actorId":"01JD3K4Q5R6S7T8V9W0XYZABCE","recipientId":"01JD3K4Q5R6S7T8V9W0XYZABCG","targetType":"POST","targetId":"01JD3K4Q5R6S7T8V9W0XYZABCD"}"#,
    },
)
.permissions(&[Permission::TableRead, Permission::TableWrite, Permission::ManageConnections])
.subscribes(&[&social_contract::FOLLOWS, &identity_contract::ADVERTISER_DECIDED]);

/// What the notifications queue carries: events sent to it by name, and the events of the
/// topics it takes, each made into the notification it means.
#[derive(Debug, serde::Deserialize)]
#[serde(untagged)]
pub enum Incoming {
    Event(NotificationEvent),
    Follow(social_contract::FollowEvent),
    AdvertiserDecided(identity_contract::AdvertiserDecided),
}

impl Incoming {
    /// The notification an incoming message means, if any (an unfollow means none).
    fn into_event(self) -> Option<NotificationEvent> {
        match self {
            Incoming::Event(e) => Some(e),
            Incoming::Follow(f) => f.following.then(|| NotificationEvent {
                event_id: format!("follow:{}:{}:{}", f.follower_id, f.followed_id, f.at.timestamp_millis()),
                kind: NotificationKind::Follow,
                actor_id: f.follower_id.clone(),
                recipient_id: f.followed_id,
                target_type: "USER".into(),
                target_id: f.follower_id,
                excerpt: None,
            }),
            Incoming::AdvertiserDecided(d) => Some(NotificationEvent {
                event_id: format!("advertiser-{}-{}", d.advertiser_id, d.at.timestamp_millis()),
                kind: NotificationKind::Campaign,
                actor_id: d.admin_id,
                recipient_id: d.advertiser_id.clone(),
                target_type: "ADVERTISER".into(),
                target_id: d.advertiser_id,
                excerpt: Some(d.message),
            }),
        }
    }
}

const SEEN_SECS: i64 = 7 * 24 * 3600;
/// A like or a follow by the same person of the same thing notifies once in this window.
const REPEAT_WINDOW_SECS: i64 = 3600;

fn text(kind: NotificationKind, nickname: &str, excerpt: Option<&str>) -> (String, String) {
    let ex = excerpt.unwrap_or_default();
    match kind {
        NotificationKind::Like => ("좋아요".into(), format!("{nickname}님이 회원님의 게시물을 좋아합니다.")),
        NotificationKind::Comment => ("새 댓글".into(), format!("{nickname}님이 댓글을 남겼습니다: {ex}")),
        NotificationKind::Reply => {
            ("새 답글".into(), format!("{nickname}님이 회원님의 댓글에 답글을 남겼습니다: {ex}"))
        }
        NotificationKind::Mention => ("언급".into(), format!("{nickname}님이 회원님을 언급했습니다: {ex}")),
        NotificationKind::Follow => ("새 팔로워".into(), format!("{nickname}님이 회원님을 팔로우하기 시작했습니다.")),
        NotificationKind::Chat => ("새 메시지".into(), format!("{nickname}: {ex}")),
        NotificationKind::TradeSold => ("판매 완료".into(), format!("{ex}…이 판매되었습니다!")),
        NotificationKind::HealthReminder => ("건강 알림".into(), ex.to_string()),
        NotificationKind::PrescriptionRead => ("처방전 인식".into(), ex.to_string()),
        NotificationKind::AccountUnblocked => {
            ("이용 제한 해제".into(), "이용 제한 기간이 끝나 다시 모든 기능을 이용할 수 있습니다.".into())
        }
        NotificationKind::ContentRemoved => {
            ("게시물 삭제".into(), format!("운영 정책에 따라 회원님의 게시물이 삭제되었습니다. 사유: {ex}"))
        }
        NotificationKind::ReportDecided => ("신고 처리 결과".into(), format!("회원님의 신고가 처리되었습니다: {ex}")),
        NotificationKind::Notice => ("공지사항".into(), ex.to_string()),
        NotificationKind::Campaign => ("캠페인".into(), ex.to_string()),
        NotificationKind::Community => {
            ("커뮤니티 댓글".into(), format!("{nickname}님이 커뮤니티 글에 댓글을 남겼습니다: {ex}"))
        }
    }
}

pub async fn handle(ctx: Arc<AppContext>, incoming: Incoming) -> Result<(), MessageError> {
    let Some(event) = incoming.into_event() else { return Ok(()) };
    if event.event_id.is_empty() || event.event_id.len() > 300 {
        return Err(MessageError::Permanent("an event needs an id".into()));
    }
    if event.actor_id == event.recipient_id {
        return Ok(());
    }
    if !shared::ids::is_valid_id(&event.recipient_id) {
        return Ok(()); // no such account: nobody to tell
    }
    // Who is told, whether a block stands between the two, what the recipient asked for and who
    // acted: one batch read.
    let actors = std::slice::from_ref(&event.actor_id);
    let [account, blocks, settings, actor, pushable] = ctx
        .table
        .batch_get_groups([
            &[shared::keys::user_key(&event.recipient_id)],
            &social_contract::block_keys(&event.actor_id, &event.recipient_id),
            &[crate::model::settings_key(&event.recipient_id)],
            &identity_contract::person_keys(actors),
            &[crate::keys::push_count_key(&event.recipient_id)],
        ])
        .await?;
    let email = match identity_contract::account_from(account.into_iter().next().flatten())? {
        Some(account) if account.is_active() => account.email,
        // Gone or not active: nobody to tell.
        _ => return Ok(()),
    };
    if blocks.iter().any(Option::is_some) {
        return Ok(());
    }
    let settings = match settings.into_iter().next().flatten() {
        Some(item) => crate::model::settings_of_item(item)?,
        None => crate::model::Settings::default(),
    };
    if !settings.app().allows(event.kind) {
        return Ok(());
    }
    let actor = identity_contract::people_from(&ctx, actors, actor).await?.remove(&event.actor_id);
    let nickname = actor.map(|a| a.nickname).unwrap_or_default();
    let (title, body) = text(event.kind, &nickname, event.excerpt.as_deref());
    let now = ctx.now();
    let notification = Notification {
        id: shared::ids::new_id(now),
        recipient_id: event.recipient_id.clone(),
        kind: event.kind,
        title: title.clone(),
        body: body.clone(),
        target_type: event.target_type.clone(),
        target_id: event.target_id.clone(),
        actor: Actor { id: event.actor_id.clone(), nickname },
        read: false,
        created_at: now,
    };
    let mut seen = crate::keys::event_seen_key(&event.event_id).to_item();
    seen.insert(shared::table::TTL_ATTRIBUTE.into(), n(now.timestamp() + SEEN_SECS));
    seen.insert("notificationId".into(), s(&notification.id));
    let mut writes = vec![Write::put_item(seen).if_absent(NotificationError::DuplicateEvent)];
    // Like/unlike and follow/unfollow cycles tell the recipient once an hour, not once a cycle.
    if matches!(event.kind, NotificationKind::Like | NotificationKind::Follow) {
        let kind = format!("{:?}", event.kind);
        let mut once = crate::keys::repeat_guard_key(
            &event.recipient_id,
            &kind,
            &event.actor_id,
            &event.target_type,
            &event.target_id,
        )
        .to_item();
        once.insert(shared::table::TTL_ATTRIBUTE.into(), n(now.timestamp() + REPEAT_WINDOW_SECS));
        writes.push(
            Write::put_item(once)
                .name("#exp", shared::table::TTL_ATTRIBUTE)
                .value(":now", n(now.timestamp()))
                .when("attribute_not_exists(PK) OR #exp <= :now", NotificationError::DuplicateEvent),
        );
    }
    writes.extend([
        Write::put(&notification)?,
        Write::update(counter_key(&event.recipient_id), "ADD unread :one").value(":one", n(1)),
    ]);
    // The email is queued in the same transaction that marks the event seen (through the
    // outbox): a failed send is retried by the relay, never lost behind the "seen" mark.
    if settings.email.allows(event.kind) {
        let email = Email {
            to: email,
            subject: format!("[펫플랫폼] {title}"),
            text: body,
            dedup_key: format!("notification:{}", notification.id),
        };
        writes.push(shared::outbox::message(&ctx, &queues::MAIL, &email)?);
    }
    // To the recipient's browsers too, while they have subscriptions and want this type pushed
    // (the push worker skips it if a connection of theirs is live).
    if settings.push.allows(event.kind) && crate::push_worker::has_subscriptions(pushable.first()) {
        let job = crate::push_worker::PushJob {
            notification_id: notification.id.clone(),
            recipient_id: event.recipient_id.clone(),
            kind: event.kind,
            title: notification.title.clone(),
            body: notification.body.clone(),
            target_type: notification.target_type.clone(),
            target_id: notification.target_id.clone(),
            topic: None,
        };
        writes.push(shared::outbox::message(&ctx, &crate::push_worker::WEB_PUSH, &job)?);
    }
    // Handled before (a redelivery), or the same notification within the hour: nothing to do.
    if ctx.table.transact(writes).await.tolerate(&NotificationError::DuplicateEvent)?.is_none() {
        return Ok(());
    }
    // Live: to every open connection of the recipient. The inbox has it whatever happens here,
    // so a failed push is logged, not retried.
    // The unread count and the live connections, in one read.
    let keys = [counter_key(&event.recipient_id), shared::push::user_connections_key(&event.recipient_id)];
    let [counter, listed] = <[_; 2]>::try_from(ctx.table.batch_get_items(&keys).await?)
        .map_err(|_| shared::ApiError::internal("a batch read answers each key"))?;
    let unread_count = crate::inbox::unread_in(counter)?;
    let connections = shared::push::live_in(listed.as_ref(), now.timestamp());
    let frame = NotificationFrame { kind: "notification", notification: &notification, unread_count };
    if let Err(e) = shared::push::to_connections(&ctx, &connections, &frame).await {
        tracing::warn!(error = %e, "a notification was stored but not pushed");
    }
    Ok(())
}

/// The frame a live connection gets for a new notification.
#[derive(Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationFrame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    notification: &'a Notification,
    unread_count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_says_who_did_what() {
        let (title, body) = text(NotificationKind::Comment, "산책왕", Some("귀여워요"));
        assert_eq!(title, "새 댓글");
        assert!(body.starts_with("산책왕님이") && body.ends_with("귀여워요"), "{body}");
        let (_, body) = text(NotificationKind::Follow, "산책왕", None);
        assert!(body.contains("팔로우"), "{body}");
        for kind in [NotificationKind::Like, NotificationKind::Reply, NotificationKind::Mention] {
            assert!(text(kind, "a", Some("b")).1.starts_with("a님이"));
        }
    }
}
