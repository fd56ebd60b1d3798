//! CHAT notifications: a member who is not in a room (no live connection of theirs has it open)
//! gets one CHAT item per room in their inbox, never more. It shows the latest message's sender
//! and first characters, and how many messages they have not read; each new message replaces
//! the item (so it stays at the top of the inbox) and counts it again. It is pushed, over the
//! WebSocket or by Web Push, at most once per room every [`PUSH_EVERY_SECS`]. It follows the
//! recipient's `chat` switch and blocks, and reading the room clears it.
//!
//! Which item stands for a room is kept on a small item of the member's
//! ([`notifications_contract::keys::chat_notice_key`]): the notification's id, the last message
//! it counts, when it was last pushed. Each change is one transaction conditional on that item
//! as read, so messages handled side by side, twice, or out of order leave the newest one.

use chrono::{DateTime, Utc};
use notifications_contract::keys::chat_notice_key;
use notifications_contract::{ChatNotice, ChatRoomRead, NotificationKind};
use serde::Deserialize;
use shared::table::{Item, Write, b, n, s};
use shared::{ApiResult, AppContext};

use crate::error::NotificationError;
use crate::model::{Actor, Notification, Settings, counter_key, notification_key, settings_key};
use crate::push_worker::{PushJob, WEB_PUSH, has_subscriptions};

/// A room's CHAT item is pushed at most once in this many seconds.
pub const PUSH_EVERY_SECS: i64 = 30;
/// Members told side by side.
const AT_ONCE: usize = 8;
/// Tries of one member's change against others made meanwhile.
const TRIES: usize = 5;

/// What the member's item for the room says.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pointer {
    notification_id: String,
    last_seq: i64,
    #[serde(default)]
    pushed_at: Option<DateTime<Utc>>,
}

fn notice_of(item: Option<&Item>) -> ApiResult<Option<Pointer>> {
    Ok(item.cloned().map(serde_dynamo::from_item).transpose()?)
}

/// What one absent member's change depends on, read for all of them together.
struct Recipient {
    user: String,
    unread: i64,
    pushable: bool,
}

/// Tells the members of the room who are not in it (as chat found them) of a message.
pub async fn message_sent(ctx: &AppContext, sent: &ChatNotice) -> ApiResult<()> {
    let absent = &sent.recipients;
    if absent.is_empty() {
        return Ok(());
    }
    let users: Vec<String> = absent.iter().map(|a| a.user_id.clone()).collect();
    let mut people = vec![sent.sender_id.clone()];
    people.extend(users.iter().cloned());
    let blocks: Vec<_> = users.iter().flat_map(|u| social_contract::block_keys(&sent.sender_id, u)).collect();
    let settings: Vec<_> = users.iter().map(|u| settings_key(u)).collect();
    let counts: Vec<_> = users.iter().map(|u| crate::keys::push_count_key(u)).collect();
    // Who the sender is and whether each can be told (active, no block, chat on), in one batch.
    let [accounts, blocks, settings, counts] =
        ctx.table.batch_get_groups([&identity_contract::person_keys(&people), &blocks, &settings, &counts]).await?;
    let sender_account = accounts.first().cloned().flatten();
    let nickname = identity_contract::people_from(ctx, &people[..1], vec![sender_account])
        .await?
        .remove(&sent.sender_id)
        .map(|p| p.nickname)
        .unwrap_or_default();
    let mut told = Vec::new();
    for (i, a) in absent.iter().enumerate() {
        let active = identity_contract::account_from(accounts[i + 1].clone())?.is_some_and(|a| a.is_active());
        let blocked = blocks[2 * i].is_some() || blocks[2 * i + 1].is_some();
        let settings = match settings[i].clone() {
            Some(item) => crate::model::settings_of_item(item)?,
            None => Settings::default(),
        };
        if active && !blocked && a.user_id != sent.sender_id && settings.app().allows(NotificationKind::Chat) {
            let pushable = has_subscriptions(counts.get(i)) && settings.push.allows(NotificationKind::Chat);
            told.push(Recipient { user: a.user_id.clone(), unread: a.unread, pushable });
        }
    }
    let (title, body) = crate::tell::text(NotificationKind::Chat, &nickname, Some(&sent.excerpt));
    let actor = Actor { id: sent.sender_id.clone(), nickname };
    // Each one's item for the room, then the notifications they point at: two batch reads for
    // everyone (a member's change that loses a race reads again, alone).
    let pointers: Vec<_> = told.iter().map(|r| chat_notice_key(&r.user, &sent.room_id)).collect();
    let pointers = ctx
        .table
        .batch_get_items(&pointers)
        .await?
        .iter()
        .map(|p| notice_of(p.as_ref()))
        .collect::<ApiResult<Vec<_>>>()?;
    let olds: Vec<_> = told
        .iter()
        .zip(&pointers)
        .filter_map(|(r, p)| p.as_ref().map(|p| notification_key(&r.user, &p.notification_id)))
        .collect();
    let mut olds = ctx.table.batch_get_items(&olds).await?.into_iter();
    let mut first = Vec::new();
    for p in pointers {
        let old = match &p {
            Some(_) => olds.next().flatten().map(serde_dynamo::from_item::<_, Notification>).transpose()?,
            None => None,
        };
        first.push(Some((p, old)));
    }
    futures::future::try_join_all(told.chunks(AT_ONCE).zip(first.chunks_mut(AT_ONCE)).map(|(chunk, seen)| {
        let (title, body, actor) = (&title, &body, &actor);
        async move {
            for (r, seen) in chunk.iter().zip(seen) {
                replace(ctx, sent, r, seen.take(), title, body, actor).await?;
            }
            ApiResult::Ok(())
        }
    }))
    .await?;
    Ok(())
}

/// A member's item for a room and the notification it points at, as read.
type Seen = (Option<Pointer>, Option<Notification>);

/// Makes `r`'s CHAT item of the room say `sent`, unless it counts a later message already.
async fn replace(
    ctx: &AppContext,
    sent: &ChatNotice,
    r: &Recipient,
    mut seen: Option<Seen>,
    title: &str,
    body: &str,
    actor: &Actor,
) -> ApiResult<()> {
    let key = chat_notice_key(&r.user, &sent.room_id);
    for _ in 0..TRIES {
        let (notice, old) = match seen.take() {
            Some(seen) => seen,
            None => {
                let notice = notice_of(ctx.table.get_item(&key).await?.as_ref())?;
                let old = match &notice {
                    Some(n) => ctx.table.get::<Notification>(&notification_key(&r.user, &n.notification_id)).await?,
                    None => None,
                };
                (notice, old)
            }
        };
        if notice.as_ref().is_some_and(|n| n.last_seq >= sent.seq) {
            return Ok(()); // a later message is shown (or this one, delivered again)
        }
        let now = ctx.now();
        let due =
            notice.as_ref().and_then(|n| n.pushed_at).is_none_or(|at| (now - at).num_seconds() >= PUSH_EVERY_SECS);
        let notification = Notification {
            id: shared::ids::new_id(now),
            recipient_id: r.user.clone(),
            kind: NotificationKind::Chat,
            title: title.to_string(),
            body: body.to_string(),
            target_type: "CHAT_ROOM".into(),
            target_id: sent.room_id.clone(),
            actor: actor.clone(),
            read: false,
            created_at: now,
            count: Some(r.unread),
        };
        let mut item = key.to_item();
        item.insert(shared::table::ENTITY_TYPE.into(), s("ChatNotice"));
        item.insert("notificationId".into(), s(&notification.id));
        item.insert("lastSeq".into(), n(sent.seq));
        if let Some(at) = if due { Some(now) } else { notice.as_ref().and_then(|n| n.pushed_at) } {
            item.insert("pushedAt".into(), s(at.to_rfc3339()));
        }
        let pointer = match &notice {
            None => Write::put_item(item).if_absent(NotificationError::NotificationsChanged),
            Some(n) => Write::put_item(item)
                .value(":id", s(&n.notification_id))
                .when("notificationId = :id", NotificationError::NotificationsChanged),
        };
        let mut writes = vec![pointer, Write::put(&notification)?];
        match &old {
            // The unread item it replaces counted already; a read one is one more unread.
            Some(o) => {
                writes.push(
                    Write::delete(notification_key(&r.user, &o.id))
                        .name("#r", "read")
                        .value(":r", b(o.read))
                        .when("#r = :r", NotificationError::NotificationsChanged),
                );
                if o.read {
                    writes.push(Write::update(counter_key(&r.user), "ADD unread :one").value(":one", n(1)));
                }
            }
            None => writes.push(Write::update(counter_key(&r.user), "ADD unread :one").value(":one", n(1))),
        }
        if due && r.pushable {
            let job = PushJob {
                notification_id: notification.id.clone(),
                recipient_id: r.user.clone(),
                kind: NotificationKind::Chat,
                title: notification.title.clone(),
                body: notification.body.clone(),
                target_type: notification.target_type.clone(),
                target_id: notification.target_id.clone(),
                // A newer push of the room replaces one the device has not fetched yet.
                topic: Some(topic_of(&sent.room_id)),
            };
            writes.push(shared::outbox::message(ctx, &WEB_PUSH, &job)?);
        }
        match ctx.table.transact(writes).await {
            Ok(()) => {}
            Err(e) if e.is(&NotificationError::NotificationsChanged) => continue,
            Err(e) => return Err(e),
        }
        if due {
            crate::tell::push_live(ctx, &notification).await;
        }
        return Ok(());
    }
    Err(NotificationError::NotificationsChanged.into())
}

/// A room's Web Push topic (RFC 8030 §5.4: at most 32 base64url characters).
fn topic_of(room: &str) -> String {
    format!("chat-{}", room.chars().filter(char::is_ascii_alphanumeric).take(27).collect::<String>())
}

/// The member read the room: their CHAT item of it goes, unless it counts a later message.
pub async fn room_read(ctx: &AppContext, read: &ChatRoomRead) -> ApiResult<()> {
    let key = chat_notice_key(&read.reader_id, &read.room_id);
    for _ in 0..TRIES {
        let Some(notice) = notice_of(ctx.table.get_item(&key).await?.as_ref())? else { return Ok(()) };
        if notice.last_seq > read.read_seq {
            return Ok(());
        }
        let old = ctx.table.get::<Notification>(&notification_key(&read.reader_id, &notice.notification_id)).await?;
        let mut writes = vec![
            Write::delete(key.clone())
                .value(":id", s(&notice.notification_id))
                .when("notificationId = :id", NotificationError::NotificationsChanged),
        ];
        if let Some(o) = &old {
            writes.push(
                Write::delete(notification_key(&read.reader_id, &o.id))
                    .name("#r", "read")
                    .value(":r", b(o.read))
                    .when("#r = :r", NotificationError::NotificationsChanged),
            );
            if !o.read {
                writes.push(Write::update(counter_key(&read.reader_id), "ADD unread :m").value(":m", n(-1)));
            }
        }
        match ctx.table.transact(writes).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is(&NotificationError::NotificationsChanged) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(NotificationError::NotificationsChanged.into())
}
