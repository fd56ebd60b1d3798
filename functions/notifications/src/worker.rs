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
    /// Chat's: collapsed per room ([`crate::chat_notices`]).
    ChatMessage(notifications_contract::ChatNotice),
    ChatRead(notifications_contract::ChatRoomRead),
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
            Incoming::ChatMessage(_) | Incoming::ChatRead(_) => None,
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

pub async fn handle(ctx: Arc<AppContext>, incoming: Incoming) -> Result<(), MessageError> {
    let incoming = match incoming {
        Incoming::ChatMessage(notice) => return Ok(crate::chat_notices::message_sent(&ctx, &notice).await?),
        Incoming::ChatRead(read) => return Ok(crate::chat_notices::room_read(&ctx, &read).await?),
        other => other,
    };
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
    let (title, body) = crate::tell::text(event.kind, &nickname, event.excerpt.as_deref());
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
        count: None,
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
    crate::tell::push_live(&ctx, &notification).await;
    Ok(())
}
